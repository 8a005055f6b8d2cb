//! Data pipeline runs (migration 0050): what `socle data run` built, model by model, with the
//! verdict counts of each model's contract checks. A run is written once, when it ends, in one
//! transaction; runs are listed newest first.

use serde::Serialize;
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Most models recorded for one run (a pipeline holds at most 5,000).
pub const MAX_DATA_RUN_MODELS: usize = 5_000;
/// Most runs listed at once.
pub const MAX_DATA_RUNS_LIST: i64 = 1_000;
const MAX_TEXT: usize = 4_096;

/// How a model fared in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelStatus {
    /// Built, and its contract's checks (if any) passed.
    Passed,
    /// Built; some checks only warned.
    Warning,
    /// Built, and some checks failed or could not run.
    Failed,
    /// Not built (the SQL failed, or its contract could not be read).
    Error,
    /// Not run: a model it depends on failed.
    Skipped,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Passed,
            Self::Warning,
            Self::Failed,
            Self::Error,
            Self::Skipped,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Verdict counts of a model's contract checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckCounts {
    pub passed: i64,
    pub warning: i64,
    pub failed: i64,
    pub error: i64,
}

/// One model of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataRunModelRecord {
    pub model: String,
    pub tier: Option<String>,
    pub materialized: String,
    pub status: ModelStatus,
    pub duration_ms: i64,
    pub checks: CheckCounts,
    pub reason: Option<String>,
}

/// A run as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataRunRecord {
    pub id: String,
    pub pipeline: String,
    pub target_schema: String,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub finished_at: i64,
    pub passed: bool,
    /// Its models in run order (empty when listed).
    pub models: Vec<DataRunModelRecord>,
    pub model_count: i64,
    pub failed: i64,
    pub skipped: i64,
}

fn bounded(what: &str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT {
        return Err(StoreError::Invalid(format!(
            "a data run's {what} is at most {MAX_TEXT} bytes"
        )));
    }
    Ok(())
}

fn check(run: &DataRunRecord) -> Result<()> {
    if run.models.len() > MAX_DATA_RUN_MODELS {
        return Err(StoreError::Invalid(format!(
            "a data run records at most {MAX_DATA_RUN_MODELS} models"
        )));
    }
    bounded("id", &run.id)?;
    bounded("pipeline", &run.pipeline)?;
    bounded("schema", &run.target_schema)?;
    for m in &run.models {
        bounded("model name", &m.model)?;
        bounded("reason", m.reason.as_deref().unwrap_or_default())?;
    }
    Ok(())
}

macro_rules! run_row {
    ($r:expr) => {{
        let r = $r;
        let result: String = r.try_get("result")?;
        DataRunRecord {
            id: r.try_get("id")?,
            pipeline: r.try_get("pipeline")?,
            target_schema: r.try_get("target_schema")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            passed: result == "passed",
            models: Vec::new(),
            model_count: r.try_get("models")?,
            failed: r.try_get("failed")?,
            skipped: r.try_get("skipped")?,
        }
    }};
}

macro_rules! model_row {
    ($r:expr) => {{
        let r = $r;
        let status: String = r.try_get("status")?;
        DataRunModelRecord {
            model: r.try_get("model")?,
            tier: r.try_get("tier")?,
            materialized: r.try_get("materialized")?,
            status: ModelStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("data run model status {status:?}")))?,
            duration_ms: r.try_get("duration_ms")?,
            checks: CheckCounts {
                passed: r.try_get("checks_passed")?,
                warning: r.try_get("checks_warning")?,
                failed: r.try_get("checks_failed")?,
                error: r.try_get("checks_error")?,
            },
            reason: r.try_get("reason")?,
        }
    }};
}

impl Store {
    /// Records a finished run and its models in one transaction.
    pub async fn record_data_run(&self, run: &DataRunRecord) -> Result<()> {
        check(run)?;
        let result = if run.passed { "passed" } else { "failed" };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO data_runs (id, pipeline, target_schema, started_at, finished_at, result, models, failed, skipped) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&run.id).bind(&run.pipeline).bind(&run.target_schema)
                .bind(run.started_at).bind(run.finished_at).bind(result)
                .bind(run.model_count).bind(run.failed).bind(run.skipped)
                .execute(&mut *tx).await?;
            for (i, m) in run.models.iter().enumerate() {
                sqlx::query("INSERT INTO data_run_models (run_id, position, model, tier, materialized, status, duration_ms, checks_passed, checks_warning, checks_failed, checks_error, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(&run.id).bind(i as i64).bind(&m.model).bind(&m.tier).bind(&m.materialized)
                    .bind(m.status.as_str()).bind(m.duration_ms)
                    .bind(m.checks.passed).bind(m.checks.warning).bind(m.checks.failed).bind(m.checks.error)
                    .bind(&m.reason)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Runs newest first (without their models), at most `limit` (bounded by
    /// [`MAX_DATA_RUNS_LIST`]); only those of `pipeline` when given.
    pub async fn list_data_runs(
        &self,
        pipeline: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DataRunRecord>> {
        let limit = limit.clamp(1, MAX_DATA_RUNS_LIST);
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM data_runs WHERE ($1 IS NULL OR pipeline = $1) ORDER BY started_at DESC, id DESC LIMIT $2")
                .bind(pipeline).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(run_row!(r));
            }
            Ok(out)
        })
    }

    /// One run with its models in run order; NotFound when there is none with this id.
    pub async fn data_run(&self, id: &str) -> Result<DataRunRecord> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT * FROM data_runs WHERE id = $1")
                .bind(id).fetch_optional(pool).await?
                .ok_or_else(|| StoreError::NotFound(format!("data run {id}")))?;
            let mut run = run_row!(&row);
            let rows = sqlx::query("SELECT * FROM data_run_models WHERE run_id = $1 ORDER BY position")
                .bind(id).fetch_all(pool).await?;
            for r in &rows {
                run.models.push(model_row!(r));
            }
            Ok(run)
        })
    }
}
