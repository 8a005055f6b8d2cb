//! Campaign reminders as sent: one row per campaign and team, claimed before a delivery
//! (`INSERT … ON CONFLICT … DO UPDATE … WHERE`, one statement on SQLite and PostgreSQL), so
//! that of two replicas — or a process and its restart — only one sends a period's reminder.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Result, Store, StoreError, with_pool};

/// Where a reminder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderStatus {
    /// Claimed, being delivered.
    Sending,
    Sent,
    Failed,
}

impl ReminderStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "sending" => Ok(Self::Sending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::Corrupt(format!("reminder status {other:?}"))),
        }
    }
}

/// The latest reminder of a campaign to a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRecord {
    pub team: String,
    /// The UTC day it is for (days since 1970-01-01).
    pub period: i64,
    pub status: ReminderStatus,
    /// Milliseconds since the epoch.
    pub claimed_at: i64,
    /// The last delivery that succeeded (milliseconds), whatever the period.
    pub sent_at: Option<i64>,
    /// Why the latest delivery failed.
    pub error: Option<String>,
}

/// A reminder to claim: a campaign, a team, a period, now.
#[derive(Clone, Copy, Debug)]
pub struct ReminderClaim<'a> {
    pub campaign: &'a str,
    pub team: &'a str,
    pub period: i64,
    pub now_ms: i64,
    /// A claim still `sending` older than this (milliseconds) was abandoned: it may be taken.
    pub stale_before_ms: i64,
}

impl Store {
    /// Claims a reminder before sending it: true when this caller is the one to send it — no
    /// reminder of this period was claimed yet, or its delivery failed or was abandoned.
    pub async fn claim_reminder(&self, c: ReminderClaim<'_>) -> Result<bool> {
        let claimed = with_pool!(self, pool => {
            sqlx::query("INSERT INTO campaign_reminders (campaign, team, period, status, claimed_at) VALUES ($1, $2, $3, 'sending', $4) \
                         ON CONFLICT (campaign, team) DO UPDATE SET period = excluded.period, status = 'sending', claimed_at = excluded.claimed_at, error = NULL \
                         WHERE excluded.period > campaign_reminders.period \
                            OR (excluded.period = campaign_reminders.period \
                                AND (campaign_reminders.status = 'failed' OR (campaign_reminders.status = 'sending' AND campaign_reminders.claimed_at < $5)))")
                .bind(c.campaign).bind(c.team).bind(c.period).bind(c.now_ms).bind(c.stale_before_ms)
                .execute(pool).await?.rows_affected()
        });
        Ok(claimed == 1)
    }

    /// Records how a claimed reminder's delivery ended (`error`: `None` when it was sent).
    pub async fn finish_reminder(
        &self,
        campaign: &str,
        team: &str,
        period: i64,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let status = match error {
            None => ReminderStatus::Sent,
            Some(_) => ReminderStatus::Failed,
        };
        let sent_at = error.is_none().then_some(now_ms);
        with_pool!(self, pool => {
            sqlx::query("UPDATE campaign_reminders SET status = $1, sent_at = COALESCE($2, sent_at), error = $3 \
                         WHERE campaign = $4 AND team = $5 AND period = $6")
                .bind(status.as_str()).bind(sent_at).bind(error).bind(campaign).bind(team).bind(period)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// The latest reminder of a campaign to each team, by team.
    pub async fn campaign_reminders(&self, campaign: &str) -> Result<Vec<ReminderRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT team, period, status, claimed_at, sent_at, error FROM campaign_reminders \
                                    WHERE campaign = $1 ORDER BY team LIMIT 10000")
                .bind(campaign).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let status: String = r.try_get("status")?;
                out.push(ReminderRecord {
                    team: r.try_get("team")?,
                    period: r.try_get("period")?,
                    status: ReminderStatus::parse(&status)?,
                    claimed_at: r.try_get("claimed_at")?,
                    sent_at: r.try_get("sent_at")?,
                    error: r.try_get("error")?,
                });
            }
            out
        }))
    }
}
