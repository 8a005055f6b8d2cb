//! Provisioned resources per environment, with their state and outputs sealed at rest.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::crypto::SecretKey;
use crate::deployments::insert_deployment;
use crate::{BeginWrite, DeploymentRecord, Result, Store, StoreError, with_pool};

/// A provisioned resource as saved after a deploy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub uid: String,
    pub kind: String,
    pub definition: String,
    pub used_by: BTreeSet<String>,
    pub state: Map<String, Value>,
    pub outputs: Map<String, Value>,
    /// Which outputs are secrets.
    pub secrets: BTreeSet<String>,
    /// The team that owns it (a group reference), as the deploy saw it: the stored owner when
    /// there is one, else the deploying team. Saved the first time only — an owner is never
    /// replaced — and a save that names another owner than the stored one is refused (two teams
    /// racing for the same new shared resource). None: no owning team.
    pub owner: Option<String>,
    /// A fingerprint of the params it was provisioned with.
    pub params_hash: Option<String>,
}

/// Who owns a resource, and how it was asked for (see [`Store::resource_ownership`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceOwnership {
    pub owner: Option<String>,
    pub params_hash: Option<String>,
    pub used_by: BTreeSet<String>,
}

/// A resource's outputs and which of them are secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceOutputs {
    pub outputs: Map<String, Value>,
    pub secrets: BTreeSet<String>,
}

/// A resource as listed (no state, no outputs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRow {
    pub environment: String,
    pub uid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub definition: String,
    pub used_by: BTreeSet<String>,
    /// The owning team (None: no owning team recorded).
    pub owner: Option<String>,
    pub updated_at: i64,
}

/// What saving a deploy's resources changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcesApplied {
    pub saved: Vec<String>,
    /// Resources the deployed workloads no longer use and nobody else does: de-provisioned.
    pub removed: Vec<String>,
}

fn key(k: Option<&SecretKey>) -> Result<&SecretKey> {
    k.ok_or_else(|| StoreError::User("no secret key is configured for this store (SOCLE_SECRET_KEY or <data-dir>/secret.key)".into()))
}

fn open_map(k: &SecretKey, sealed: &str) -> Result<Map<String, Value>> {
    serde_json::from_slice(&k.open(sealed)?)
        .map_err(|e| StoreError::Corrupt(format!("sealed resource data: {e}")))
}

/// The resources of a deploy of `$workloads` saved in the open transaction `$tx` (sealed with
/// key `$k`); evaluates to the [`ResourcesApplied`]. A macro: the transaction is SQLite's or
/// PostgreSQL's, the SQL text the same.
macro_rules! apply_resources_in {
    ($tx:ident, $k:ident, $environment:ident, $workloads:ident, $records:ident, $now_ms:ident) => {{
        let (tx, k, environment, workloads, records, now_ms) =
            (&mut $tx, $k, $environment, $workloads, $records, $now_ms);
        let mut out = ResourcesApplied::default();
        let new: BTreeMap<&str, &ResourceRecord> =
            records.iter().map(|r| (r.uid.as_str(), r)).collect();
        let rows = sqlx::query("SELECT uid, used_by, owner FROM resource_state WHERE environment = $1").bind(environment).fetch_all(&mut **tx).await?;
        let mut existing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        for r in rows {
            let used: String = r.try_get("used_by")?;
            let uid: String = r.try_get("uid")?;
            if let Some(owner) = r.try_get::<Option<String>, _>("owner")? {
                owners.insert(uid.clone(), owner);
            }
            existing.insert(uid, serde_json::from_str(&used).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
        if let Some((r, owner)) = records.iter().find_map(|r| match (&r.owner, owners.get(&r.uid)) {
            (Some(mine), Some(stored)) if mine != stored => Some((r, stored)),
            _ => None,
        }) {
            return Err(StoreError::User(format!(
                "resource {} in {environment} is owned by {owner}, not by {}: it was provisioned by that team meanwhile; deploy again",
                r.uid,
                r.owner.as_deref().unwrap_or_default()
            )));
        }
        for (uid, used_by) in &existing {
            if new.contains_key(uid.as_str()) {
                continue;
            }
            let others: BTreeSet<String> = used_by.difference(workloads).cloned().collect();
            if others.len() == used_by.len() {
                continue; // not used by the deployed workloads
            }
            if others.is_empty() {
                sqlx::query("DELETE FROM resource_state WHERE environment = $1 AND uid = $2").bind(environment).bind(uid).execute(&mut **tx).await?;
                out.removed.push(uid.clone());
            } else {
                let text = serde_json::to_string(&others).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("UPDATE resource_state SET used_by = $1, updated_at = $2 WHERE environment = $3 AND uid = $4")
                    .bind(text).bind(now_ms).bind(environment).bind(uid).execute(&mut **tx).await?;
            }
        }
        for r in records {
            let mut used: BTreeSet<String> = existing.get(&r.uid).map(|u| u.difference(workloads).cloned().collect()).unwrap_or_default();
            used.extend(r.used_by.iter().cloned());
            let used_text = serde_json::to_string(&used).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let state = k.seal(serde_json::to_string(&r.state).map_err(|e| StoreError::Corrupt(e.to_string()))?.as_bytes());
            let sealed = ResourceOutputs { outputs: r.outputs.clone(), secrets: r.secrets.clone() };
            let outputs = k.seal(serde_json::to_string(&sealed).map_err(|e| StoreError::Corrupt(e.to_string()))?.as_bytes());
            // The first owner stays: COALESCE keeps a stored one.
            sqlx::query(
                "INSERT INTO resource_state (environment, uid, kind, definition, used_by, state, outputs, updated_at, owner, params_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (environment, uid) DO UPDATE SET kind = excluded.kind, definition = excluded.definition, used_by = excluded.used_by, \
                 state = excluded.state, outputs = excluded.outputs, updated_at = excluded.updated_at, \
                 owner = COALESCE(resource_state.owner, excluded.owner), params_hash = excluded.params_hash",
            )
            .bind(environment).bind(&r.uid).bind(&r.kind).bind(&r.definition).bind(used_text).bind(state).bind(outputs).bind(now_ms)
            .bind(&r.owner).bind(&r.params_hash)
            .execute(&mut **tx).await?;
            out.saved.push(r.uid.clone());
        }
        out
    }};
}

impl Store {
    /// The saved state of every resource of an environment, by uid.
    pub async fn resource_state(
        &self,
        environment: &str,
    ) -> Result<BTreeMap<String, Map<String, Value>>> {
        let k = key(self.secret_key.as_ref())?;
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            let rows = sqlx::query("SELECT uid, state FROM resource_state WHERE environment = $1").bind(environment).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows { out.push((r.try_get("uid")?, r.try_get("state")?)); }
            out
        });
        rows.into_iter()
            .map(|(uid, s)| Ok((uid, open_map(k, &s)?)))
            .collect()
    }

    /// Saves the resources of a deploy of `workloads` in one transaction: upserts `records`, and
    /// removes resources that only these workloads used and that they no longer use.
    pub async fn apply_resources(
        &self,
        environment: &str,
        workloads: &BTreeSet<String>,
        records: &[ResourceRecord],
        now_ms: i64,
    ) -> Result<ResourcesApplied> {
        let k = key(self.secret_key.as_ref())?;
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let out = apply_resources_in!(tx, k, environment, workloads, records, now_ms);
            tx.commit().await?;
            out
        }))
    }

    /// Saves a deploy — its resources' state (as [`Store::apply_resources`]) and its record
    /// (as [`Store::record_deployment`], `record.created_at` the time of both) — in ONE
    /// transaction: a failure or a crash between the two cannot leave state without its record
    /// or a record without its state.
    pub async fn save_deploy(
        &self,
        environment: &str,
        workloads: &BTreeSet<String>,
        records: &[ResourceRecord],
        mut record: DeploymentRecord,
    ) -> Result<(ResourcesApplied, DeploymentRecord)> {
        let k = key(self.secret_key.as_ref())?;
        let now_ms = record.created_at;
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let out = apply_resources_in!(tx, k, environment, workloads, records, now_ms);
            insert_deployment!(tx, record);
            tx.commit().await?;
            (out, record)
        }))
    }

    /// Resources of an environment (or of all environments), without secrets.
    pub async fn list_resources(&self, environment: Option<&str>) -> Result<Vec<ResourceRow>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT environment, uid, kind, definition, used_by, owner, updated_at FROM resource_state WHERE $1 IS NULL OR environment = $1 ORDER BY environment, uid")
                .bind(environment).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let used: String = r.try_get("used_by")?;
                out.push(ResourceRow {
                    environment: r.try_get("environment")?, uid: r.try_get("uid")?, kind: r.try_get("kind")?, definition: r.try_get("definition")?,
                    used_by: serde_json::from_str(&used).map_err(|e| StoreError::Corrupt(e.to_string()))?, owner: r.try_get("owner")?, updated_at: r.try_get("updated_at")?,
                });
            }
            out
        }))
    }

    /// Who owns each resource of an environment and how it was asked for, by uid (nothing
    /// sealed is read: no secret key needed).
    pub async fn resource_ownership(
        &self,
        environment: &str,
    ) -> Result<BTreeMap<String, ResourceOwnership>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT uid, owner, params_hash, used_by FROM resource_state WHERE environment = $1")
                .bind(environment).fetch_all(pool).await?;
            let mut out = BTreeMap::new();
            for r in rows {
                let used: String = r.try_get("used_by")?;
                out.insert(r.try_get::<String, _>("uid")?, ResourceOwnership {
                    owner: r.try_get("owner")?,
                    params_hash: r.try_get("params_hash")?,
                    used_by: serde_json::from_str(&used).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                });
            }
            out
        }))
    }

    /// The outputs of one resource (opened with the secret key).
    pub async fn resource_outputs(&self, environment: &str, uid: &str) -> Result<ResourceOutputs> {
        let k = key(self.secret_key.as_ref())?;
        let sealed: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT outputs FROM resource_state WHERE environment = $1 AND uid = $2").bind(environment).bind(uid).fetch_optional(pool).await?
        });
        let sealed = sealed.ok_or_else(|| {
            StoreError::NotFound(format!("resource {uid} in environment {environment}"))
        })?;
        serde_json::from_slice(&k.open(&sealed)?)
            .map_err(|e| StoreError::Corrupt(format!("sealed resource outputs: {e}")))
    }
}
