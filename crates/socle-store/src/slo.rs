//! SLI event counts pushed to Socle (for SLOs without a Prometheus): intervals of good and total
//! events per entity, SLO and environment, and the error ratio over a window read back from them.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Most intervals one push may carry.
pub const MAX_SLO_INTERVALS: usize = 10_000;
/// Longest interval (one day): counts are meant to be pushed as they are measured.
pub const MAX_SLO_INTERVAL_MS: i64 = 24 * 3600 * 1000;

/// Which SLO the counts belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SloKey {
    /// `component:default/shop` (lower case).
    pub entity: String,
    /// The SLO's name in its spec.
    pub slo: String,
    pub environment: String,
}

/// Good and total events over `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SloInterval {
    pub start_ms: i64,
    pub end_ms: i64,
    pub good: i64,
    pub total: i64,
}

/// Event counts summed over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SloCounts {
    pub good: i64,
    pub total: i64,
    /// Intervals summed.
    pub intervals: i64,
}

impl SloCounts {
    /// The error ratio (`None`: no events).
    pub fn error_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| (self.total - self.good) as f64 / self.total as f64)
    }
}

fn check(key: &SloKey, intervals: &[SloInterval]) -> Result<()> {
    for (field, v) in [
        ("entity", &key.entity),
        ("slo", &key.slo),
        ("environment", &key.environment),
    ] {
        if v.trim().is_empty() || v.len() > 253 {
            return Err(StoreError::Invalid(format!(
                "SLO events need a {field} (1-253 characters)"
            )));
        }
    }
    if intervals.is_empty() || intervals.len() > MAX_SLO_INTERVALS {
        return Err(StoreError::Invalid(format!(
            "SLO events carry 1 to {MAX_SLO_INTERVALS} intervals, not {}",
            intervals.len()
        )));
    }
    for (i, iv) in intervals.iter().enumerate() {
        let problem = if iv.start_ms < 0 || iv.end_ms <= iv.start_ms {
            Some("its end must come after its start")
        } else if iv.end_ms - iv.start_ms > MAX_SLO_INTERVAL_MS {
            Some("it is longer than one day")
        } else if iv.total < 0 || iv.good < 0 {
            Some("counts cannot be negative")
        } else if iv.good > iv.total {
            Some("good events cannot outnumber the total")
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(StoreError::Invalid(format!("interval {i}: {p}")));
        }
    }
    Ok(())
}

impl Store {
    /// Records intervals of SLI counts in one transaction; an interval with the same start as a
    /// recorded one replaces it. Returns how many were written.
    pub async fn record_slo_events(&self, key: &SloKey, intervals: &[SloInterval]) -> Result<u64> {
        check(key, intervals)?;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for iv in intervals {
                sqlx::query("INSERT INTO slo_events (entity, slo, environment, start_ms, end_ms, good, total) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (entity, slo, environment, start_ms) DO UPDATE SET end_ms = excluded.end_ms, good = excluded.good, total = excluded.total")
                    .bind(&key.entity).bind(&key.slo).bind(&key.environment)
                    .bind(iv.start_ms).bind(iv.end_ms).bind(iv.good).bind(iv.total)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(intervals.len() as u64)
    }

    /// The counts of the intervals that ended in `(from_ms, to_ms]`.
    pub async fn slo_counts(&self, key: &SloKey, from_ms: i64, to_ms: i64) -> Result<SloCounts> {
        Ok(with_pool!(self, pool => {
            let r = sqlx::query("SELECT CAST(COALESCE(SUM(good), 0) AS BIGINT) AS good, CAST(COALESCE(SUM(total), 0) AS BIGINT) AS total, COUNT(*) AS n \
                                 FROM slo_events WHERE entity = $1 AND slo = $2 AND environment = $3 AND end_ms > $4 AND end_ms <= $5")
                .bind(&key.entity).bind(&key.slo).bind(&key.environment).bind(from_ms).bind(to_ms)
                .fetch_one(pool).await?;
            SloCounts { good: r.try_get("good")?, total: r.try_get("total")?, intervals: r.try_get("n")? }
        }))
    }
}

/// How an environment's kept budgets stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloSummary {
    pub total: i64,
    /// No budget left.
    pub spent: i64,
    /// Under 25% left.
    pub low: i64,
    pub no_data: i64,
}

impl SloSummary {
    /// The summary of these budgets (the same buckets as [`Store::slo_status_summary`]).
    pub fn of(items: &[SloStatus]) -> Self {
        let mut s = Self::default();
        for i in items {
            s.total += 1;
            match i.remaining {
                None => s.no_data += 1,
                Some(r) if r <= 0.0 => s.spent += 1,
                Some(r) if r < 0.25 => s.low += 1,
                Some(_) => {}
            }
        }
        s
    }
}

/// The last measured budget of one SLO in one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloStatus {
    pub entity: String,
    pub environment: String,
    pub slo: String,
    pub measured_at: i64,
    /// Share of the budget left (`None`: no data).
    pub remaining: Option<f64>,
    /// The measured budget as JSON.
    pub budget: serde_json::Value,
}

impl Store {
    /// Replaces the stored budgets of `entity` in `environment` with `statuses` (SLOs no longer
    /// in its file go) in one transaction.
    pub async fn save_slo_status(
        &self,
        entity: &str,
        environment: &str,
        statuses: &[SloStatus],
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM slo_status WHERE entity = $1 AND environment = $2")
                .bind(entity).bind(environment).execute(&mut *tx).await?;
            for s in statuses {
                let budget = serde_json::to_string(&s.budget).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("INSERT INTO slo_status (entity, environment, slo, measured_at, remaining, budget) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (entity, environment, slo) DO UPDATE SET measured_at = excluded.measured_at, remaining = excluded.remaining, budget = excluded.budget")
                    .bind(entity).bind(environment).bind(&s.slo).bind(s.measured_at).bind(s.remaining).bind(budget)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// How the stored budgets in `environment` stand: all of them, spent (≤ 0 left), low
    /// (under 25% left), and without data.
    pub async fn slo_status_summary(&self, environment: &str) -> Result<SloSummary> {
        Ok(with_pool!(self, pool => {
            let r = sqlx::query("SELECT COUNT(*) AS total, \
                                 COALESCE(SUM(CASE WHEN remaining <= 0 THEN 1 ELSE 0 END), 0) AS spent, \
                                 COALESCE(SUM(CASE WHEN remaining > 0 AND remaining < 0.25 THEN 1 ELSE 0 END), 0) AS low, \
                                 COALESCE(SUM(CASE WHEN remaining IS NULL THEN 1 ELSE 0 END), 0) AS no_data \
                                 FROM slo_status WHERE environment = $1")
                .bind(environment).fetch_one(pool).await?;
            SloSummary {
                total: r.try_get("total")?,
                spent: r.try_get("spent")?,
                low: r.try_get("low")?,
                no_data: r.try_get("no_data")?,
            }
        }))
    }

    /// The stored budgets in `environment` (every environment: `None`), least budget left
    /// first (no data last), then by entity and SLO; at most `limit`.
    pub async fn list_slo_status(
        &self,
        environment: Option<&str>,
        entity: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SloStatus>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT entity, environment, slo, measured_at, remaining, budget FROM slo_status \
                                    WHERE ($1 IS NULL OR environment = $1) AND ($2 IS NULL OR entity = $2) \
                                    ORDER BY CASE WHEN remaining IS NULL THEN 1 ELSE 0 END, remaining, entity, slo LIMIT $3")
                .bind(environment).bind(entity).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let budget: String = r.try_get("budget")?;
                out.push(SloStatus {
                    entity: r.try_get("entity")?,
                    environment: r.try_get("environment")?,
                    slo: r.try_get("slo")?,
                    measured_at: r.try_get("measured_at")?,
                    remaining: r.try_get("remaining")?,
                    budget: serde_json::from_str(&budget).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                });
            }
            out
        }))
    }
}
