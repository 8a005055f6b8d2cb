//! What adoption reports read: golden-path runs without their logs, each service's first
//! successful deployment through Socle, weekly counts of active people from the audit log
//! (numbers only: no name leaves the database), and the weekly snapshots of service counts
//! (migration 0043: one per ISO week, taken once whatever the replicas).

use serde::Serialize;
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Most runs one adoption read returns (the newest).
pub const MAX_ADOPTION_RUNS: i64 = 100_000;
/// Most services one first-deployments read returns.
const MAX_SERVICES: i64 = 200_000;
/// 1970-01-05T00:00:00Z, a Monday, and a week, in milliseconds: weeks start on Mondays, UTC.
const FIRST_MONDAY_MS: i64 = 4 * 86_400_000;
const WEEK_MS: i64 = 7 * 86_400_000;
/// Most scopes (the organisation and its teams) one week's snapshot holds.
pub const MAX_WEEK_SCOPES: usize = 20_000;
/// Most weeks one snapshot read returns (a report's window is at most 1,096 days).
const MAX_WEEKS: i64 = 160;

/// A golden-path run without its parameters, steps and log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub template: String,
    pub actor: String,
    pub status: crate::RunStatus,
    pub started_at: Option<i64>,
    /// When it finished (and was recorded).
    pub finished_at: i64,
    /// The catalog entity it registered.
    pub entity: Option<String>,
}

/// A service's first successful deployment through Socle (any environment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirstDeployment {
    pub service: String,
    pub at: i64,
}

/// How many people were active in one week (Monday 00:00 UTC, milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ActivityCount {
    pub week: i64,
    /// People (`user:` subjects) who opened a portal session that week.
    pub portal_users: i64,
    /// People who made an audited change that week without opening a portal session in it:
    /// through the CLI or the API.
    pub cli_api_users: i64,
}

impl Store {
    /// Real (not dry) golden-path runs, oldest first, at most [`MAX_ADOPTION_RUNS`] (the newest).
    pub async fn adoption_runs(&self) -> Result<Vec<RunSummary>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, seq, template, actor, status, started_at, created_at, entity FROM template_runs \
                                    WHERE dry_run = 0 ORDER BY seq DESC LIMIT $1")
                .bind(MAX_ADOPTION_RUNS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows.iter().rev() {
                out.push(RunSummary {
                    id: r.try_get("id")?,
                    template: r.try_get("template")?,
                    actor: r.try_get("actor")?,
                    status: crate::RunStatus::parse(&r.try_get::<String, _>("status")?)
                        .ok_or_else(|| crate::StoreError::Corrupt("unknown run status".into()))?,
                    started_at: r.try_get("started_at")?,
                    finished_at: r.try_get("created_at")?,
                    entity: r.try_get("entity")?,
                });
            }
            out
        }))
    }

    /// Every service's first successful deployment through Socle, by service.
    pub async fn first_deployments(&self) -> Result<Vec<FirstDeployment>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT service, MIN(created_at) AS first_at FROM deployments WHERE status = 'success' \
                                    GROUP BY service ORDER BY service LIMIT $1")
                .bind(MAX_SERVICES).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(FirstDeployment { service: r.try_get("service")?, at: r.try_get("first_at")? });
            }
            out
        }))
    }

    /// People active per week over `[from, to)`, counted in the database (only the counts are
    /// read), weeks without anyone left out. Service accounts and the operator are not people.
    pub async fn weekly_activity(&self, from: i64, to: i64) -> Result<Vec<ActivityCount>> {
        const WEEK: &str = "((at - 345600000) / 604800000)";
        let portal = format!(
            "SELECT {WEEK} AS w, COUNT(DISTINCT actor) AS n FROM audit_log \
             WHERE action = 'session.open' AND outcome = 'ok' AND actor LIKE 'user:%' AND at >= $1 AND at < $2 \
             GROUP BY {WEEK}"
        );
        let cli = format!(
            "SELECT {WEEK} AS w, COUNT(DISTINCT actor) AS n FROM audit_log a \
             WHERE action <> 'session.open' AND outcome = 'ok' AND actor LIKE 'user:%' AND at >= $1 AND at < $2 \
             AND NOT EXISTS (SELECT 1 FROM audit_log s WHERE s.action = 'session.open' AND s.outcome = 'ok' AND s.actor = a.actor \
                             AND s.at >= $1 - 604800000 AND s.at < $2 + 604800000 \
                             AND ((s.at - 345600000) / 604800000) = ((a.at - 345600000) / 604800000)) \
             GROUP BY {WEEK}"
        );
        let mut weeks: std::collections::BTreeMap<i64, ActivityCount> = Default::default();
        with_pool!(self, pool => {
            for (sql, portal_side) in [(portal, true), (cli, false)] {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(pool).await?;
                for r in rows {
                    let w: i64 = r.try_get("w")?;
                    let n: i64 = r.try_get("n")?;
                    let week = FIRST_MONDAY_MS + w * WEEK_MS;
                    let e = weeks.entry(week).or_insert(ActivityCount { week, portal_users: 0, cli_api_users: 0 });
                    if portal_side { e.portal_users = n } else { e.cli_api_users = n }
                }
            }
        });
        Ok(weeks.into_values().collect())
    }
}

/// One scope's service counts in a week's snapshot: how many services, and how many of them
/// came from a golden path, were deployed through Socle, have docs, have an SLO.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AdoptionWeekCounts {
    /// `organisation` or an owning group's reference.
    pub scope: String,
    pub services: i64,
    pub golden_path: i64,
    pub deployed: i64,
    pub with_docs: i64,
    pub with_slo: i64,
}

/// A stored week: its Monday (00:00 UTC, milliseconds), when it was taken, the counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeekSnapshot {
    pub week: i64,
    pub taken_at: i64,
    pub counts: AdoptionWeekCounts,
}

impl Store {
    /// Stores the week's snapshot (the week holding `taken_at`): the organisation's counts
    /// first, then each team's, in one transaction. False, storing nothing, when the week
    /// already holds the organisation's row — taken earlier, or by another replica at the same
    /// moment (its insert waits for the first transaction, then does nothing).
    pub async fn save_adoption_week(
        &self,
        taken_at: i64,
        organisation: &AdoptionWeekCounts,
        teams: &[AdoptionWeekCounts],
    ) -> Result<bool> {
        if teams.len() > MAX_WEEK_SCOPES {
            return Err(StoreError::Invalid(format!(
                "an adoption snapshot holds at most {MAX_WEEK_SCOPES} teams, not {}",
                teams.len()
            )));
        }
        let week = FIRST_MONDAY_MS + (taken_at - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS;
        const INSERT: &str = "INSERT INTO adoption_weeks (week, scope, taken_at, services, golden_path, deployed, with_docs, with_slo) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (week, scope) DO NOTHING";
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut taken = false;
            for (i, c) in std::iter::once(organisation).chain(teams).enumerate() {
                let n = sqlx::query(INSERT)
                    .bind(week).bind(&c.scope).bind(taken_at).bind(c.services).bind(c.golden_path)
                    .bind(c.deployed).bind(c.with_docs).bind(c.with_slo)
                    .execute(&mut *tx).await?.rows_affected();
                if i == 0 && n == 0 {
                    break; // the week is taken: nothing to add
                }
                taken = true;
            }
            if taken { tx.commit().await?; } else { tx.rollback().await?; }
            taken
        }))
    }

    /// A scope's stored weeks whose Monday is in `[from, to)`, oldest first.
    pub async fn adoption_weeks(
        &self,
        scope: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<WeekSnapshot>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT week, scope, taken_at, services, golden_path, deployed, with_docs, with_slo FROM adoption_weeks \
                                    WHERE scope = $1 AND week >= $2 AND week < $3 ORDER BY week LIMIT $4")
                .bind(scope).bind(from).bind(to).bind(MAX_WEEKS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(WeekSnapshot {
                    week: r.try_get("week")?,
                    taken_at: r.try_get("taken_at")?,
                    counts: AdoptionWeekCounts {
                        scope: r.try_get("scope")?,
                        services: r.try_get("services")?,
                        golden_path: r.try_get("golden_path")?,
                        deployed: r.try_get("deployed")?,
                        with_docs: r.try_get("with_docs")?,
                        with_slo: r.try_get("with_slo")?,
                    },
                });
            }
            out
        }))
    }
}
