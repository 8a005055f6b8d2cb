//! Deployment records.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    pub id: String,
    pub seq: i64,
    pub service: String,
    pub environment: String,
    pub version: String,
    /// Container images, `container=image`.
    pub images: Vec<String>,
    /// The GitOps commit that holds this deployment.
    pub gitops_commit: String,
    /// The commit of the service's own repository that was deployed (when known).
    #[serde(default)]
    pub source_commit: String,
    /// False when the rendered files were already in Git (nothing new was committed).
    pub changed: bool,
    /// `success` or `failed`.
    pub status: crate::DeploymentStatus,
    pub actor: String,
    /// `deploy`, `rollback` or `promote`.
    pub kind: String,
    /// The workload as deployed (Score, as JSON), for rollback and promotion.
    pub spec: String,
    pub created_at: i64,
}

macro_rules! deployment_row {
    ($r:expr) => {{
        let images: String = $r.try_get("images")?;
        DeploymentRecord {
            id: $r.try_get("id")?,
            seq: $r.try_get("seq")?,
            service: $r.try_get("service")?,
            environment: $r.try_get("environment")?,
            version: $r.try_get("version")?,
            images: serde_json::from_str(&images)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            gitops_commit: $r.try_get("gitops_commit")?,
            source_commit: $r.try_get("source_commit")?,
            changed: $r.try_get::<i64, _>("changed")? != 0,
            status: crate::DeploymentStatus::parse(&$r.try_get::<String, _>("status")?)
                .ok_or_else(|| StoreError::Corrupt("unknown deployment status".into()))?,
            actor: $r.try_get("actor")?,
            kind: $r.try_get("kind")?,
            spec: $r.try_get("spec")?,
            created_at: $r.try_get("created_at")?,
        }
    }};
}

/// Inserts deployment record `$d` (a `mut DeploymentRecord`) in the open transaction `$tx`,
/// numbering it from the `deployment_seq` counter (a macro: the transaction is SQLite's or
/// PostgreSQL's, the SQL text the same).
macro_rules! insert_deployment {
    ($tx:ident, $d:ident) => {{
        let images = serde_json::to_string(&$d.images)
            .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        let seq: i64 = sqlx::query_scalar("UPDATE meta SET value = value + 1 WHERE key = 'deployment_seq' RETURNING value").fetch_one(&mut *$tx).await?;
        $d.seq = seq;
        $d.id = format!("d{seq:06}");
        sqlx::query("INSERT INTO deployments (id, seq, service, environment, version, images, gitops_commit, source_commit, changed, status, actor, kind, spec, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
            .bind(&$d.id).bind($d.seq).bind(&$d.service).bind(&$d.environment).bind(&$d.version).bind(&images).bind(&$d.gitops_commit).bind(&$d.source_commit)
            .bind(i64::from($d.changed)).bind($d.status.as_str()).bind(&$d.actor).bind(&$d.kind).bind(&$d.spec).bind($d.created_at)
            .execute(&mut *$tx).await?;
    }};
}
pub(crate) use insert_deployment;

const COLUMNS: &str = "SELECT id, seq, service, environment, version, images, gitops_commit, source_commit, changed, status, actor, kind, spec, created_at FROM deployments";

impl Store {
    /// Records a deployment; `seq` and `id` are assigned here.
    pub async fn record_deployment(&self, mut d: DeploymentRecord) -> Result<DeploymentRecord> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            insert_deployment!(tx, d);
            tx.commit().await?;
        });
        Ok(d)
    }

    /// Deployments, newest first, optionally of one service and/or environment.
    pub async fn list_deployments(
        &self,
        service: Option<&str>,
        environment: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeploymentRecord>> {
        Ok(with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE ($1 IS NULL OR service = $1) AND ($2 IS NULL OR environment = $2) ORDER BY seq DESC LIMIT $3"));
            let rows = sqlx::query(sql).bind(service).bind(environment).bind(i64::from(limit.clamp(1, 10_000))).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(deployment_row!(r)); }
            out
        }))
    }
}
