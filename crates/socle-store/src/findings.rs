//! Scanner findings per entity: imported (SARIF, parsed by the caller), kept with first and
//! last seen, closed when an import of the same tool for the same entity no longer reports
//! them, reopened when reported again.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, with_pool};

/// A finding as one import reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFinding {
    pub tool: String,
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub message: String,
    pub location: String,
}

/// A stored finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRecord {
    pub entity: String,
    pub tool: String,
    pub key: String,
    pub rule: String,
    pub severity: String,
    pub message: String,
    pub location: String,
    /// Milliseconds since the epoch.
    pub first_seen: i64,
    pub last_seen: i64,
    /// None while open.
    pub closed_at: Option<i64>,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsImported {
    /// Reported for the first time (or again after being closed).
    pub opened: u64,
    /// Open before and reported again.
    pub still_open: u64,
    /// Open before and not reported by this import of their tool.
    pub closed: u64,
}

macro_rules! finding_row {
    ($r:expr) => {
        FindingRecord {
            entity: $r.try_get("entity")?,
            tool: $r.try_get("tool")?,
            key: $r.try_get("fkey")?,
            rule: $r.try_get("rule")?,
            severity: $r.try_get("severity")?,
            message: $r.try_get("message")?,
            location: $r.try_get("location")?,
            first_seen: $r.try_get("first_seen")?,
            last_seen: $r.try_get("last_seen")?,
            closed_at: $r.try_get("closed_at")?,
        }
    };
}

impl Store {
    /// Applies one import for `entity` in one transaction: `tools` are the tools that ran (their
    /// open findings not in `findings` are closed), `findings` what they reported.
    pub async fn import_findings(
        &self,
        entity: &str,
        tools: &[String],
        findings: &[NewFinding],
        now_ms: i64,
    ) -> Result<FindingsImported> {
        let mut out = FindingsImported::default();
        let reported: std::collections::HashSet<(&str, &str)> = findings
            .iter()
            .map(|f| (f.tool.as_str(), f.key.as_str()))
            .collect();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for f in findings {
                let prev: Option<Option<i64>> = sqlx::query_scalar("SELECT closed_at FROM findings WHERE entity = $1 AND tool = $2 AND fkey = $3")
                    .bind(entity).bind(&f.tool).bind(&f.key).fetch_optional(&mut *tx).await?;
                match prev {
                    None => {
                        sqlx::query("INSERT INTO findings (entity, tool, fkey, rule, severity, message, location, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)")
                            .bind(entity).bind(&f.tool).bind(&f.key).bind(&f.rule).bind(&f.severity).bind(&f.message).bind(&f.location).bind(now_ms)
                            .execute(&mut *tx).await?;
                        out.opened += 1;
                    }
                    Some(closed) => {
                        // A finding reported again after it was closed is a new occurrence: its
                        // age starts again.
                        let reopened = closed.is_some();
                        sqlx::query("UPDATE findings SET rule = $4, severity = $5, message = $6, location = $7, last_seen = $8, closed_at = NULL, first_seen = CASE WHEN closed_at IS NULL THEN first_seen ELSE $8 END WHERE entity = $1 AND tool = $2 AND fkey = $3")
                            .bind(entity).bind(&f.tool).bind(&f.key).bind(&f.rule).bind(&f.severity).bind(&f.message).bind(&f.location).bind(now_ms)
                            .execute(&mut *tx).await?;
                        if reopened { out.opened += 1 } else { out.still_open += 1 }
                    }
                }
            }
            for tool in tools {
                let open: Vec<String> = sqlx::query_scalar("SELECT fkey FROM findings WHERE entity = $1 AND tool = $2 AND closed_at IS NULL")
                    .bind(entity).bind(tool).fetch_all(&mut *tx).await?;
                for key in open.iter().filter(|k| !reported.contains(&(tool.as_str(), k.as_str()))) {
                    sqlx::query("UPDATE findings SET closed_at = $4 WHERE entity = $1 AND tool = $2 AND fkey = $3")
                        .bind(entity).bind(tool).bind(key).bind(now_ms).execute(&mut *tx).await?;
                    out.closed += 1;
                }
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// An entity's findings, open ones first (most severe first within a tool order), closed
    /// ones too when asked.
    pub async fn entity_findings(
        &self,
        entity: &str,
        include_closed: bool,
    ) -> Result<Vec<FindingRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM findings WHERE entity = $1 AND ($2 OR closed_at IS NULL) ORDER BY closed_at IS NOT NULL, tool, rule, fkey LIMIT 10000")
                .bind(entity).bind(include_closed).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(finding_row!(r)); }
            out
        }))
    }

    /// Every open finding, by entity (for scoring many entities at once).
    pub async fn open_findings(&self) -> Result<Vec<FindingRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM findings WHERE closed_at IS NULL ORDER BY entity, tool, fkey")
                .fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(finding_row!(r)); }
            out
        }))
    }
}
