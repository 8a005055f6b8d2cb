//! Recorded golden-path runs.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// One run of a template: who ran what with which (redacted) parameters, every step and log
/// line, and the outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TemplateRun {
    /// `run-<seq>`, assigned by the store.
    pub id: String,
    pub seq: i64,
    pub template: String,
    pub actor: String,
    pub status: crate::RunStatus,
    pub dry_run: bool,
    pub parameters: serde_json::Value,
    pub steps: serde_json::Value,
    pub log: serde_json::Value,
    pub output: serde_json::Value,
    pub error: Option<serde_json::Value>,
    /// When the run finished (it is recorded then).
    pub created_at: i64,
    /// When it started (runs recorded before migration 0042: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// The catalog entity it registered (`component:default/orders-api`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}

fn json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

macro_rules! run_row {
    ($r:expr) => {{
        let error: Option<String> = $r.try_get("error")?;
        TemplateRun {
            id: $r.try_get("id")?,
            seq: $r.try_get("seq")?,
            template: $r.try_get("template")?,
            actor: $r.try_get("actor")?,
            status: crate::RunStatus::parse(&$r.try_get::<String, _>("status")?)
                .ok_or_else(|| StoreError::Corrupt("unknown run status".into()))?,
            dry_run: $r.try_get::<i64, _>("dry_run")? != 0,
            parameters: json(&$r.try_get::<String, _>("parameters")?)?,
            steps: json(&$r.try_get::<String, _>("steps")?)?,
            log: json(&$r.try_get::<String, _>("log")?)?,
            output: json(&$r.try_get::<String, _>("output")?)?,
            error: error.as_deref().map(json).transpose()?,
            created_at: $r.try_get("created_at")?,
            started_at: $r.try_get("started_at")?,
            entity: $r.try_get("entity")?,
        }
    }};
}

const COLUMNS: &str = "SELECT id, seq, template, actor, status, dry_run, parameters, steps, log, output, error, created_at, started_at, entity FROM template_runs";

impl Store {
    /// Records a run; `id` and `seq` are assigned here.
    pub async fn record_template_run(&self, mut run: TemplateRun) -> Result<TemplateRun> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let seq: i64 = sqlx::query_scalar("UPDATE meta SET value = value + 1 WHERE key = 'template_run_seq' RETURNING value").fetch_one(&mut *tx).await?;
            run.seq = seq;
            run.id = format!("run-{seq}");
            sqlx::query("INSERT INTO template_runs (id, seq, template, actor, status, dry_run, parameters, steps, log, output, error, created_at, started_at, entity) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
                .bind(&run.id).bind(seq).bind(&run.template).bind(&run.actor).bind(run.status.as_str()).bind(i64::from(run.dry_run))
                .bind(run.parameters.to_string()).bind(run.steps.to_string()).bind(run.log.to_string()).bind(run.output.to_string())
                .bind(run.error.as_ref().map(|e| e.to_string())).bind(run.created_at).bind(run.started_at).bind(&run.entity)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(run)
    }

    pub async fn get_template_run(&self, id: &str) -> Result<Option<TemplateRun>> {
        with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1"));
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(r) => Ok(Some(run_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// Runs, newest first.
    pub async fn list_template_runs(
        &self,
        template: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TemplateRun>> {
        with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE ($1 IS NULL OR template = $1) ORDER BY seq DESC LIMIT $2"));
            let rows = sqlx::query(sql).bind(template).bind(i64::from(limit.clamp(1, 1000))).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(run_row!(r));
            }
            Ok(out)
        })
    }
}
