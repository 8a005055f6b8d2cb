//! Data quality history (migration 0056): each recorded `socle data test` run of a data product
//! — its verdict, counts, freshness and checks — kept per product, newest first. A product keeps
//! its last [`MAX_QUALITY_RUNS_KEPT`] runs; older ones are dropped as new ones arrive.

use serde::Serialize;
use sqlx::Row;

use crate::data_runs::CheckCounts;
use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Runs kept per product.
pub const MAX_QUALITY_RUNS_KEPT: i64 = 1_000;
/// Most runs one read returns.
pub const MAX_QUALITY_LIST: i64 = 1_000;
/// Most bytes of a run's checks, as JSON.
pub const MAX_QUALITY_CHECKS_BYTES: usize = 512 * 1024;
/// Most products whose latest run one read returns.
pub const MAX_QUALITY_PRODUCTS: i64 = 10_000;
const MAX_TEXT: usize = 1_024;

/// A run's overall verdict, as datacontract-cli words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityVerdict {
    Passed,
    Warning,
    Failed,
    Error,
}

impl QualityVerdict {
    pub const ALL: [Self; 4] = [Self::Passed, Self::Warning, Self::Failed, Self::Error];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a recorded run came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityOrigin {
    /// `socle data test --record`, on a machine with the store.
    Cli,
    /// A model's contract checked by `socle data run`.
    Pipeline,
    /// Posted to the API (by CI, with a token).
    Api,
}

impl QualityOrigin {
    pub const ALL: [Self; 3] = [Self::Cli, Self::Pipeline, Self::Api];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Pipeline => "pipeline",
            Self::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A run to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewQualityRun {
    /// The data product (a `datacontract:` entity ref).
    pub product: String,
    pub server: String,
    pub origin: QualityOrigin,
    /// Who recorded it (a user or token principal).
    pub recorded_by: String,
    /// When it ran, milliseconds since the epoch.
    pub ran_at: i64,
    pub duration_ms: i64,
    pub result: QualityVerdict,
    pub counts: CheckCounts,
    /// Seconds since the newest value of the first freshness check, when one measured a value.
    pub freshness_s: Option<i64>,
    /// The checks, as a JSON array (at most [`MAX_QUALITY_CHECKS_BYTES`] serialized).
    pub checks: serde_json::Value,
}

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityRunRecord {
    pub id: String,
    pub product: String,
    pub server: String,
    pub origin: QualityOrigin,
    pub recorded_by: String,
    pub ran_at: i64,
    pub duration_ms: i64,
    pub result: QualityVerdict,
    pub counts: CheckCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness_s: Option<i64>,
    /// Its checks; `null` in a history list.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub checks: serde_json::Value,
}

fn validate(run: &NewQualityRun) -> Result<String> {
    for (what, s) in [
        ("product", &run.product),
        ("server", &run.server),
        ("recorder", &run.recorded_by),
    ] {
        if s.is_empty() || s.len() > MAX_TEXT {
            return Err(StoreError::Invalid(format!(
                "a quality run's {what} is 1 to {MAX_TEXT} bytes"
            )));
        }
    }
    let c = run.counts;
    if [c.passed, c.warning, c.failed, c.error, run.duration_ms]
        .iter()
        .any(|n| *n < 0)
        || run.freshness_s.is_some_and(|f| f < 0)
    {
        return Err(StoreError::Invalid(
            "a quality run's counts, duration and freshness are not negative".into(),
        ));
    }
    if !run.checks.is_array() {
        return Err(StoreError::Invalid(
            "a quality run's checks are a JSON array".into(),
        ));
    }
    let checks = run.checks.to_string();
    if checks.len() > MAX_QUALITY_CHECKS_BYTES {
        return Err(StoreError::Invalid(format!(
            "a quality run's checks are at most {MAX_QUALITY_CHECKS_BYTES} bytes of JSON"
        )));
    }
    Ok(checks)
}

const COLUMNS: &str = "id, product, server, origin, recorded_by, ran_at, duration_ms, result, \
                       passed, warning, failed, error, freshness_s";

macro_rules! quality_row {
    ($r:expr, $checks:expr) => {{
        let r = &$r;
        let origin: String = r.try_get("origin")?;
        let result: String = r.try_get("result")?;
        QualityRunRecord {
            id: r.try_get("id")?,
            product: r.try_get("product")?,
            server: r.try_get("server")?,
            origin: QualityOrigin::parse(&origin)
                .ok_or_else(|| StoreError::Corrupt(format!("quality run origin {origin:?}")))?,
            recorded_by: r.try_get("recorded_by")?,
            ran_at: r.try_get("ran_at")?,
            duration_ms: r.try_get("duration_ms")?,
            result: QualityVerdict::parse(&result)
                .ok_or_else(|| StoreError::Corrupt(format!("quality run result {result:?}")))?,
            counts: CheckCounts {
                passed: r.try_get("passed")?,
                warning: r.try_get("warning")?,
                failed: r.try_get("failed")?,
                error: r.try_get("error")?,
            },
            freshness_s: r.try_get("freshness_s")?,
            checks: $checks,
        }
    }};
}

fn parse_checks(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("quality run checks: {e}")))
}

impl Store {
    /// Records a run (and drops the product's runs beyond the newest
    /// [`MAX_QUALITY_RUNS_KEPT`]), in one transaction.
    pub async fn record_quality_run(&self, run: &NewQualityRun) -> Result<QualityRunRecord> {
        let checks = validate(run)?;
        let mut id = [0u8; 12];
        rand::Rng::fill(&mut rand::rng(), &mut id);
        let id = hex::encode(id);
        let c = run.counts;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO data_quality_runs (id, product, server, origin, recorded_by, ran_at, duration_ms, \
                         result, passed, warning, failed, error, freshness_s, checks) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                .bind(&id).bind(&run.product).bind(&run.server).bind(run.origin.as_str()).bind(&run.recorded_by)
                .bind(run.ran_at).bind(run.duration_ms).bind(run.result.as_str())
                .bind(c.passed).bind(c.warning).bind(c.failed).bind(c.error).bind(run.freshness_s).bind(&checks)
                .execute(&mut *tx).await?;
            // The oldest run kept: everything older (or as old, with a smaller id) goes.
            let cut: Option<(i64, String)> = sqlx::query_as(
                "SELECT ran_at, id FROM data_quality_runs WHERE product = $1 ORDER BY ran_at DESC, id DESC LIMIT 1 OFFSET $2")
                .bind(&run.product).bind(MAX_QUALITY_RUNS_KEPT)
                .fetch_optional(&mut *tx).await?;
            if let Some((at, cut_id)) = cut {
                sqlx::query("DELETE FROM data_quality_runs WHERE product = $1 AND (ran_at < $2 OR (ran_at = $2 AND id <= $3))")
                    .bind(&run.product).bind(at).bind(&cut_id)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(QualityRunRecord {
            id,
            product: run.product.clone(),
            server: run.server.clone(),
            origin: run.origin,
            recorded_by: run.recorded_by.clone(),
            ran_at: run.ran_at,
            duration_ms: run.duration_ms,
            result: run.result,
            counts: c,
            freshness_s: run.freshness_s,
            checks: run.checks.clone(),
        })
    }

    /// A product's runs, newest first, at most `limit` (and [`MAX_QUALITY_LIST`]), without
    /// their checks.
    pub async fn quality_history(
        &self,
        product: &str,
        limit: i64,
    ) -> Result<Vec<QualityRunRecord>> {
        let limit = limit.clamp(1, MAX_QUALITY_LIST);
        let sql = format!(
            "SELECT {COLUMNS} FROM data_quality_runs WHERE product = $1 ORDER BY ran_at DESC, id DESC LIMIT $2"
        );
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(product).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(quality_row!(r, serde_json::Value::Null));
            }
            out
        }))
    }

    /// The newest run of each product that has one (at most [`MAX_QUALITY_PRODUCTS`]), with
    /// its checks; of `products` only when given.
    pub async fn latest_quality(
        &self,
        products: Option<&[String]>,
    ) -> Result<Vec<QualityRunRecord>> {
        let mut out = Vec::new();
        let chunks: Vec<Option<&[String]>> = match products {
            None => vec![None],
            Some(p) => p.chunks(500).map(Some).collect(),
        };
        with_pool!(self, pool => {
            for chunk in chunks {
                let mut qb = sqlx::QueryBuilder::new(format!(
                    "SELECT {COLUMNS}, checks FROM data_quality_runs q WHERE id = (\
                     SELECT id FROM data_quality_runs l WHERE l.product = q.product ORDER BY ran_at DESC, id DESC LIMIT 1)"
                ));
                if let Some(list) = chunk {
                    qb.push(" AND product IN (");
                    let mut sep = qb.separated(", ");
                    for p in list {
                        sep.push_bind(p.as_str());
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY product LIMIT ").push_bind(MAX_QUALITY_PRODUCTS);
                for r in qb.build().fetch_all(pool).await? {
                    let checks: String = r.try_get("checks")?;
                    out.push(quality_row!(r, parse_checks(&checks)?));
                }
            }
        });
        out.truncate(MAX_QUALITY_PRODUCTS as usize);
        Ok(out)
    }

    /// One run, with its checks.
    pub async fn quality_run(&self, id: &str) -> Result<Option<QualityRunRecord>> {
        let sql = format!("SELECT {COLUMNS}, checks FROM data_quality_runs WHERE id = $1");
        Ok(with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => {
                    let checks: String = r.try_get("checks")?;
                    Some(quality_row!(r, parse_checks(&checks)?))
                }
                None => None,
            }
        }))
    }
}
