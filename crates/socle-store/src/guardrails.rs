//! Guardrail waivers (exceptions with an expiry) and evaluation results.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub id: String,
    pub rule: String,
    /// `component:default/shop`.
    pub entity: String,
    /// Empty: every environment.
    pub environment: String,
    pub reason: String,
    pub owner: String,
    pub expires_at: i64,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResult {
    pub seq: i64,
    pub entity: String,
    pub environment: String,
    pub evaluated_at: i64,
    /// `pass`, `warn` or `blocked`.
    pub outcome: String,
    /// The findings as JSON.
    pub findings: serde_json::Value,
}

macro_rules! result_row {
    ($r:expr) => {{
        let f: String = $r.try_get("findings")?;
        PolicyResult {
            seq: $r.try_get("seq")?,
            entity: $r.try_get("entity")?,
            environment: $r.try_get("environment")?,
            evaluated_at: $r.try_get("evaluated_at")?,
            outcome: $r.try_get("outcome")?,
            findings: serde_json::from_str(&f).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        }
    }};
}

macro_rules! waiver_row {
    ($r:expr) => {
        Waiver {
            id: $r.try_get("id")?,
            rule: $r.try_get("rule")?,
            entity: $r.try_get("entity")?,
            environment: $r.try_get("environment")?,
            reason: $r.try_get("reason")?,
            owner: $r.try_get("owner")?,
            expires_at: $r.try_get("expires_at")?,
            created_by: $r.try_get("created_by")?,
            created_at: $r.try_get("created_at")?,
            revoked_at: $r.try_get("revoked_at")?,
        }
    };
}

impl Store {
    /// Records a waiver; `id` is assigned here.
    pub async fn create_waiver(&self, mut w: Waiver) -> Result<Waiver> {
        for (field, v) in [
            ("rule", &w.rule),
            ("entity", &w.entity),
            ("reason", &w.reason),
            ("owner", &w.owner),
        ] {
            if v.trim().is_empty() || v.len() > 1000 {
                return Err(StoreError::Invalid(format!(
                    "a waiver needs a {field} (1-1000 characters)"
                )));
            }
        }
        if w.expires_at <= w.created_at {
            return Err(StoreError::Invalid(
                "a waiver must expire in the future".into(),
            ));
        }
        let mut id = [0u8; 6];
        rand::Rng::fill(&mut rand::rng(), &mut id);
        w.id = format!("w-{}", hex::encode(id));
        w.revoked_at = None;
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO waivers (id, rule, entity, environment, reason, owner, expires_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&w.id).bind(&w.rule).bind(&w.entity).bind(&w.environment).bind(&w.reason).bind(&w.owner).bind(w.expires_at).bind(&w.created_by).bind(w.created_at)
                .execute(pool).await?;
        });
        Ok(w)
    }

    /// Waivers in force for an entity in an environment at `now` (expired ones stop by themselves).
    pub async fn active_waivers(
        &self,
        entity: &str,
        environment: &str,
        now_ms: i64,
    ) -> Result<Vec<Waiver>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM waivers WHERE entity = $1 AND (environment = '' OR environment = $2) AND expires_at > $3 AND revoked_at IS NULL ORDER BY id")
                .bind(entity).bind(environment).bind(now_ms).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(waiver_row!(r)); }
            out
        }))
    }

    pub async fn list_waivers(&self) -> Result<Vec<Waiver>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT * FROM waivers ORDER BY created_at, id").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(waiver_row!(r)); }
            out
        }))
    }

    pub async fn revoke_waiver(&self, id: &str, now_ms: i64) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE waivers SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now_ms).bind(id).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("active waiver {id}")));
        }
        Ok(())
    }

    /// Records a guardrail evaluation.
    pub async fn record_policy_result(
        &self,
        entity: &str,
        environment: &str,
        now_ms: i64,
        outcome: &str,
        findings: &serde_json::Value,
    ) -> Result<()> {
        let text = findings.to_string();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let seq: i64 = sqlx::query_scalar("UPDATE meta SET value = value + 1 WHERE key = 'policy_result_seq' RETURNING value").fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO policy_results (seq, entity, environment, evaluated_at, outcome, findings) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(seq).bind(entity).bind(environment).bind(now_ms).bind(outcome).bind(&text).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Evaluation history, newest first (the first is the latest evaluation).
    pub async fn policy_results(
        &self,
        entity: &str,
        environment: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PolicyResult>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, entity, environment, evaluated_at, outcome, findings FROM policy_results WHERE entity = $1 AND ($2 IS NULL OR environment = $2) ORDER BY seq DESC LIMIT $3")
                .bind(entity).bind(environment).bind(i64::from(limit.clamp(1, 1000))).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(result_row!(r)); }
            out
        }))
    }

    /// The entities (at most 500) whose latest evaluation in some environment blocked a
    /// deploy: one query, newest first.
    pub async fn latest_blocked(&self, entities: &[String]) -> Result<Vec<PolicyResult>> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let entities = &entities[..entities.len().min(500)];
        let marks = (1..=entities.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT seq, entity, environment, evaluated_at, outcome, findings FROM policy_results p WHERE entity IN ({marks}) AND outcome = 'blocked' AND seq = (SELECT MAX(seq) FROM policy_results q WHERE q.entity = p.entity AND q.environment = p.environment) ORDER BY seq DESC"
        );
        Ok(with_pool!(self, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for e in entities { q = q.bind(e); }
            let rows = q.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push(result_row!(r)); }
            out
        }))
    }
}
