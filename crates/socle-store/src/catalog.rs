//! Catalog tables: locations, entities, relations and conflicts.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use socle_catalog::{Entity, EntityError};
use sqlx::{QueryBuilder, Row};

use crate::catalog_sort::{Provided, disappearing, sort_provided, unowned_refs};
use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Who may shape the organisation from a location.
///
/// Groups and users — team hierarchy (`parent`, `children`) and membership (`members`,
/// `memberOf`) — decide who may deploy what, so they are read only from locations the platform
/// team trusts: registered by an admin or by the operator's CLI. A location a member registered
/// provides everything else; a group or user in it is an error on that location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationTrust {
    /// Registered by an admin or the operator: may define groups and users.
    Organisation,
    /// Registered by a member: may not define groups or users.
    Team,
}

impl LocationTrust {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organisation => "organisation",
            Self::Team => "team",
        }
    }

    fn parse(s: &str) -> Self {
        // Anything unexpected is the least trusted value.
        if s == "organisation" {
            Self::Organisation
        } else {
            Self::Team
        }
    }
}

/// A registered location and the outcome of its last refresh.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LocationRecord {
    pub key: String,
    pub spec: serde_json::Value,
    pub created_at: i64,
    pub created_by: String,
    /// Whether it may shape the organisation (groups, users, membership).
    pub trust: LocationTrust,
    pub refreshed_at: Option<i64>,
    pub status: crate::RefreshStatus,
    pub errors: Vec<EntityError>,
    pub entity_count: i64,
    /// For Git locations, the commit last read.
    pub revision: Option<String>,
    /// Entities this location claims that another owns, or that another claims from it.
    pub conflicts: Vec<ConflictRecord>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConflictRecord {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub owner: String,
    pub claimant: String,
    pub detected_at: i64,
}

/// An entity row.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredEntity {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub location_key: String,
    pub file_key: String,
    pub etag: String,
    /// The entity as JSON text.
    pub body: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredRelation {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

/// Listing filter with keyset pagination (`after` is the last ref of the previous page).
#[derive(Clone, Debug, Default)]
pub struct EntityFilter {
    pub kind: Option<String>,
    pub namespace: Option<String>,
    pub location_key: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

/// What applying a location's read changed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// Previous entities kept because their file (or themselves) failed this time.
    pub kept: usize,
    pub errors: Vec<EntityError>,
    pub status: crate::RefreshStatus,
}

/// What a location read produced, as the store needs it.
pub struct ApplyInput<'a> {
    pub entities: &'a [Entity],
    pub errors: Vec<EntityError>,
    /// `managed-by-location` keys of files that failed: their previous entities are kept.
    pub files_failed: &'a BTreeSet<String>,
    /// Nothing could be read: keep everything.
    pub unreadable: bool,
    pub revision: Option<String>,
}

/// An entity's relations as `(source, type, target)` rows, sorted, each once, borrowed from it.
fn relation_rows(e: &Entity) -> impl Iterator<Item = (&str, &'static str, &str)> {
    let source = e.entity_ref.as_str();
    let mut own: Vec<(&'static str, &str)> = e
        .relations
        .iter()
        .map(|(t, target)| (t.as_str(), target))
        .collect();
    own.sort_unstable();
    own.dedup();
    own.into_iter().map(move |(t, d)| (source, t, d))
}

/// A location's status after a refresh: failed when unreadable, else ok or with errors.
fn refresh_status(unreadable: bool, errors: &[EntityError]) -> crate::RefreshStatus {
    if unreadable {
        crate::RefreshStatus::Failed
    } else if errors.is_empty() {
        crate::RefreshStatus::Ok
    } else {
        crate::RefreshStatus::Errors
    }
}

/// Binds `items` as a comma-separated list and closes the `IN (` the query ends with (a macro:
/// the builder is SQLite's or PostgreSQL's, the SQL text the same).
macro_rules! push_in_list {
    ($qb:ident, $items:expr) => {{
        let mut sep = $qb.separated(", ");
        for item in $items {
            sep.push_bind(item);
        }
        $qb.push(")");
    }};
}
pub(crate) use push_in_list;

// The steps of `Store::apply_location`, each a macro expanded inside `with_pool!` (the
// transaction is SQLite's or PostgreSQL's, the SQL text the same). `$tx` is the open transaction.

/// Of `$refs` (not owned by location `$key`), those another location provides, with their
/// owner; for a member's location (`$trust`), also those released by another location that is
/// still registered: not a member's to take. Evaluates to `(foreign, released_by)`.
macro_rules! claimed_elsewhere {
    ($tx:ident, $key:expr, $trust:expr, $refs:expr) => {{
        let mut foreign: HashMap<String, String> = HashMap::new();
        let mut released_by: HashSet<String> = HashSet::new();
        for chunk in $refs.chunks(KEY_BATCH) {
            let mut qb = QueryBuilder::new("SELECT ref, location_key FROM entities WHERE ref IN (");
            push_in_list!(qb, chunk.iter().copied());
            for row in qb.build().fetch_all(&mut *$tx).await? {
                foreign.insert(row.try_get("ref")?, row.try_get("location_key")?);
            }
            if $trust == LocationTrust::Team {
                let mut qb = QueryBuilder::new("SELECT r.ref, r.location_key FROM released r JOIN locations l ON l.key = r.location_key WHERE r.location_key <> ");
                qb.push_bind($key).push(" AND r.ref IN (");
                push_in_list!(qb, chunk.iter().copied());
                for row in qb.build().fetch_all(&mut *$tx).await? {
                    let (r, previous): (String, String) = (row.try_get("ref")?, row.try_get("location_key")?);
                    released_by.insert(r.clone());
                    foreign.entry(r).or_insert(previous);
                }
            }
        }
        (foreign, released_by)
    }};
}

/// Deletes the `$removed` refs (entities and their relations), remembering that location
/// `$key` released them.
macro_rules! release_and_delete {
    ($tx:ident, $key:expr, $removed:expr, $now_ms:expr) => {
        for chunk in $removed.chunks(KEY_BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO released (ref, location_key, released_at) ");
            qb.push_values(chunk, |mut b, r| { b.push_bind(r.as_str()).push_bind($key).push_bind($now_ms); });
            qb.push(" ON CONFLICT (ref) DO UPDATE SET location_key = excluded.location_key, released_at = excluded.released_at");
            qb.build().execute(&mut *$tx).await?;
            for table in ["DELETE FROM relations WHERE source_ref IN (", "DELETE FROM entities WHERE ref IN ("] {
                let mut qb = QueryBuilder::new(table);
                push_in_list!(qb, chunk.iter().map(String::as_str));
                qb.build().execute(&mut *$tx).await?;
            }
        }
    };
}

/// Writes the `$changed` `(entity, etag)` pairs as location `$key`'s, dropping their old
/// relations and any release of them.
macro_rules! upsert_entities {
    ($tx:ident, $key:expr, $changed:expr, $now_ms:expr) => {
        for chunk in $changed.chunks(ENTITY_BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO entities (ref, kind, namespace, name, location_key, file_key, etag, body, updated_at) ");
            qb.push_values(chunk, |mut b, (e, tag)| {
                b.push_bind(e.entity_ref.as_str())
                    .push_bind(e.entity_ref.kind())
                    .push_bind(e.entity_ref.namespace())
                    .push_bind(e.entity_ref.name())
                    .push_bind($key)
                    .push_bind(&*e.location)
                    .push_bind(tag.as_str())
                    .push_bind(e.body.as_str())
                    .push_bind($now_ms);
            });
            qb.push(" ON CONFLICT (ref) DO UPDATE SET kind = excluded.kind, namespace = excluded.namespace, name = excluded.name, \
                     location_key = excluded.location_key, file_key = excluded.file_key, etag = excluded.etag, body = excluded.body, updated_at = excluded.updated_at");
            qb.build().execute(&mut *$tx).await?;

            for table in ["DELETE FROM relations WHERE source_ref IN (", "DELETE FROM released WHERE ref IN ("] {
                let mut qb = QueryBuilder::new(table);
                push_in_list!(qb, chunk.iter().map(|(e, _)| e.entity_ref.as_str()));
                qb.build().execute(&mut *$tx).await?;
            }
        }
    };
}

/// Inserts the relations of the `$changed` `(entity, etag)` pairs in bounded batches (never all
/// at once).
macro_rules! insert_relations {
    ($tx:ident, $changed:expr) => {
        let mut batch: Vec<(&str, &'static str, &str)> = Vec::with_capacity(REL_BATCH);
        let mut pending = $changed.iter().peekable();
        while let Some((e, _)) = pending.next() {
            batch.extend(relation_rows(e));
            if !batch.is_empty() && (batch.len() >= REL_BATCH || pending.peek().is_none()) {
                let mut qb =
                    QueryBuilder::new("INSERT INTO relations (source_ref, type, target_ref) ");
                qb.push_values(batch.iter(), |mut b, (s, t, d)| {
                    b.push_bind(*s).push_bind(*t).push_bind(*d);
                });
                qb.build().execute(&mut *$tx).await?;
                batch.clear();
            }
        }
    };
}

/// Replaces the conflicts location `$key` claims with `$conflicts`, `(ref, owner)` pairs.
macro_rules! record_conflicts {
    ($tx:ident, $key:expr, $conflicts:expr, $now_ms:expr) => {
        sqlx::query("DELETE FROM conflicts WHERE claimant_key = $1").bind($key).execute(&mut *$tx).await?;
        for (r, owner) in &$conflicts {
            sqlx::query("INSERT INTO conflicts (ref, owner_key, claimant_key, detected_at) VALUES ($1, $2, $3, $4)")
                .bind(r).bind(owner).bind($key).bind($now_ms).execute(&mut *$tx).await?;
        }
    };
}

/// Records the refresh of location `$key`: when, its status and errors (from `$out`), how many
/// entities it now has, and the `$revision` read (kept when `None`).
macro_rules! record_refresh {
    ($tx:ident, $key:expr, $out:expr, $revision:expr, $now_ms:expr) => {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE location_key = $1").bind($key).fetch_one(&mut *$tx).await?;
        let errors_json = serde_json::to_string(&$out.errors).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE locations SET refreshed_at = $1, status = $2, errors = $3, entity_count = $4, revision = COALESCE($5, revision) WHERE key = $6")
            .bind($now_ms).bind($out.status.as_str()).bind(errors_json).bind(count).bind($revision.as_deref()).bind($key)
            .execute(&mut *$tx).await?;
    };
}

const ENTITY_BATCH: usize = 1000;
/// Changed entities from which an apply is large (see [`Store::catalog_large_apply`]).
pub(crate) const LARGE_APPLY: usize = 50_000;
const REL_BATCH: usize = 3000;
pub(crate) const KEY_BATCH: usize = 900;

fn parse_json<T: serde::de::DeserializeOwned>(key: &str, field: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("location {key} {field}: {e}")))
}

macro_rules! location_row {
    ($row:expr) => {{
        let key: String = $row.try_get("key")?;
        let spec: String = $row.try_get("spec")?;
        let errors: String = $row.try_get("errors")?;
        LocationRecord {
            spec: parse_json(&key, "spec", &spec)?,
            errors: parse_json(&key, "errors", &errors)?,
            created_at: $row.try_get("created_at")?,
            created_by: $row.try_get("created_by")?,
            trust: LocationTrust::parse(&$row.try_get::<String, _>("trust")?),
            refreshed_at: $row.try_get("refreshed_at")?,
            status: crate::RefreshStatus::parse(&$row.try_get::<String, _>("status")?)
                .ok_or_else(|| StoreError::Corrupt("unknown refresh status".into()))?,
            entity_count: $row.try_get("entity_count")?,
            revision: $row.try_get("revision")?,
            conflicts: Vec::new(),
            key,
        }
    }};
}

macro_rules! entity_row {
    ($row:expr) => {
        StoredEntity {
            entity_ref: $row.try_get("ref")?,
            kind: $row.try_get("kind")?,
            namespace: $row.try_get("namespace")?,
            name: $row.try_get("name")?,
            location_key: $row.try_get("location_key")?,
            file_key: $row.try_get("file_key")?,
            etag: $row.try_get("etag")?,
            body: $row.try_get("body")?,
            updated_at: $row.try_get("updated_at")?,
        }
    };
}
pub(crate) use entity_row;

const LOCATION_COLUMNS: &str = "SELECT key, spec, created_at, created_by, trust, refreshed_at, status, errors, entity_count, revision FROM locations";
pub(crate) const ENTITY_COLUMNS: &str = "SELECT ref, kind, namespace, name, location_key, file_key, etag, body, updated_at FROM entities";

impl Store {
    /// Registers a location. Fails with a user error when it is already registered.
    pub async fn add_location(
        &self,
        key: &str,
        spec: &serde_json::Value,
        by: &str,
        trust: LocationTrust,
        now_ms: i64,
    ) -> Result<LocationRecord> {
        let spec_text = spec.to_string();
        let res = with_pool!(self, pool => {
            sqlx::query("INSERT INTO locations (key, spec, created_at, created_by, trust) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING")
                .bind(key).bind(&spec_text).bind(now_ms).bind(by).bind(trust.as_str())
                .execute(pool).await?.rows_affected()
        });
        if res == 0 {
            return Err(StoreError::User(format!(
                "location {key} is already registered"
            )));
        }
        self.get_location(key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.to_owned()))
    }

    pub async fn get_location(&self, key: &str) -> Result<Option<LocationRecord>> {
        let rec = with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{LOCATION_COLUMNS} WHERE key = $1"));
            match sqlx::query(sql).bind(key).fetch_optional(pool).await? {
                Some(row) => Some(location_row!(row)),
                None => None,
            }
        });
        let Some(mut rec) = rec else { return Ok(None) };
        rec.conflicts = self.conflicts_of(key).await?;
        Ok(Some(rec))
    }

    /// Whether a location may shape the organisation (None: not registered).
    pub async fn location_trust(&self, key: &str) -> Result<Option<LocationTrust>> {
        let trust: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT trust FROM locations WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(trust.map(|t| LocationTrust::parse(&t)))
    }

    /// The keys of the locations that may shape the organisation.
    pub async fn organisation_locations(&self) -> Result<HashSet<String>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT key FROM locations WHERE trust = 'organisation'").fetch_all(pool).await?;
            let mut out = HashSet::with_capacity(rows.len());
            for row in rows { out.insert(row.try_get::<String, _>("key")?); }
            out
        }))
    }

    pub async fn list_locations(&self) -> Result<Vec<LocationRecord>> {
        let mut list = with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{LOCATION_COLUMNS} ORDER BY key"));
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows { out.push(location_row!(row)); }
            out
        });
        let conflicts = self.all_conflicts().await?;
        for loc in &mut list {
            loc.conflicts = conflicts
                .iter()
                .filter(|c| c.owner == loc.key || c.claimant == loc.key)
                .cloned()
                .collect();
        }
        Ok(list)
    }

    async fn all_conflicts(&self) -> Result<Vec<ConflictRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT ref, owner_key, claimant_key, detected_at FROM conflicts ORDER BY ref, claimant_key").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(ConflictRecord { entity_ref: row.try_get("ref")?, owner: row.try_get("owner_key")?, claimant: row.try_get("claimant_key")?, detected_at: row.try_get("detected_at")? });
            }
            out
        }))
    }

    async fn conflicts_of(&self, key: &str) -> Result<Vec<ConflictRecord>> {
        Ok(self
            .all_conflicts()
            .await?
            .into_iter()
            .filter(|c| c.owner == key || c.claimant == key)
            .collect())
    }

    /// Unregisters a location and removes every entity it owns, in one transaction.
    pub async fn delete_location(&self, key: &str) -> Result<usize> {
        let removed = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM locations WHERE key = $1").bind(key).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("location {key}")));
            }
            let refs: Vec<String> = sqlx::query_scalar("SELECT ref FROM entities WHERE location_key = $1 LIMIT $2")
                .bind(key).bind(crate::catalog_log::MAX_LOGGED_REFS as i64 + 1).fetch_all(&mut *tx).await?;
            sqlx::query("DELETE FROM relations WHERE source_ref IN (SELECT ref FROM entities WHERE location_key = $1)").bind(key).execute(&mut *tx).await?;
            let removed = sqlx::query("DELETE FROM entities WHERE location_key = $1").bind(key).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM conflicts WHERE owner_key = $1 OR claimant_key = $1").bind(key).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM released WHERE location_key = $1").bind(key).execute(&mut *tx).await?;
            crate::catalog_log::log_catalog_change!(tx, refs.iter().map(String::as_str));
            tx.commit().await?;
            removed as usize
        });
        Ok(removed)
    }

    /// Replaces exactly what location `key` owns with what it now provides, in one transaction.
    ///
    /// * entities no longer provided disappear — unless their file failed to read this time, or
    ///   they themselves were rejected (then the previous good version stays);
    /// * an entity already owned by another location is not touched: it is a conflict, recorded
    ///   for both locations;
    /// * when the location could not be read at all, nothing changes but its status;
    /// * an entity another location dropped while it stays registered is a conflict for a
    ///   member's location (`released`): a service cannot change hands the moment its file
    ///   disappears.
    pub async fn apply_location(
        &self,
        key: &str,
        input: ApplyInput<'_>,
        now_ms: i64,
    ) -> Result<ApplyOutcome> {
        let mut out = ApplyOutcome {
            errors: input.errors,
            ..Default::default()
        };
        let rejected: HashSet<String> =
            out.errors.iter().filter_map(|e| e.entity.clone()).collect();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let trust: Option<String> = sqlx::query_scalar("SELECT trust FROM locations WHERE key = $1").bind(key).fetch_optional(&mut *tx).await?;
            let Some(trust) = trust.map(|t| LocationTrust::parse(&t)) else {
                return Err(StoreError::NotFound(format!("location {key}")));
            };
            // What the location owns now.
            let rows = sqlx::query("SELECT ref, file_key, etag FROM entities WHERE location_key = $1").bind(key).fetch_all(&mut *tx).await?;
            let owned: HashMap<String, (String, String)> = rows.iter()
                .map(|row| Ok((row.try_get("ref")?, (row.try_get("file_key")?, row.try_get("etag")?))))
                .collect::<std::result::Result<_, sqlx::Error>>()?;

            let Provided { changed: mut changed_entities, conflicts, provided } = if input.unreadable {
                Default::default()
            } else {
                let new_refs = unowned_refs(input.entities, &owned);
                let (foreign, released_by) = claimed_elsewhere!(tx, key, trust, new_refs);
                sort_provided(input.entities, &owned, &foreign, &released_by, &mut out)
            };

            let removed = disappearing(&owned, &provided, input.unreadable, input.files_failed, &rejected, &mut out);
            drop(provided);
            // In key order: the inserts walk the indexes by ref and by source page after page.
            changed_entities.sort_unstable_by(|a, b| a.0.entity_ref.as_str().cmp(b.0.entity_ref.as_str()));

            let t = std::time::Instant::now();
            let large = changed_entities.len() >= self.large_apply;
            if large {
                for sql in self.catalog_large_apply(true) {
                    sqlx::query(*sql).execute(&mut *tx).await?;
                }
            }
            release_and_delete!(tx, key, removed, now_ms);
            let deleted = t.elapsed();
            upsert_entities!(tx, key, changed_entities, now_ms);
            let upserted = t.elapsed();
            insert_relations!(tx, changed_entities);
            let related = t.elapsed();
            record_conflicts!(tx, key, conflicts, now_ms);
            if out.added + out.updated + out.removed > 0 {
                let touched = removed.iter().map(String::as_str).chain(changed_entities.iter().map(|(e, _)| e.entity_ref.as_str()));
                crate::catalog_log::log_catalog_change!(tx, touched);
            }
            out.status = refresh_status(input.unreadable, &out.errors);
            record_refresh!(tx, key, out, input.revision, now_ms);
            if large {
                for sql in self.catalog_large_apply(false) {
                    sqlx::query(*sql).execute(&mut *tx).await?;
                }
            }
            let indexed = t.elapsed();
            tx.commit().await?;
            if large {
                self.checkpoint_later();
            }
            tracing::debug!(location = key, changed = changed_entities.len(), removed = removed.len(),
                delete_ms = deleted.as_millis() as u64, upsert_ms = (upserted - deleted).as_millis() as u64,
                relations_ms = (related - upserted).as_millis() as u64, rest_ms = (indexed - related).as_millis() as u64,
                commit_ms = (t.elapsed() - indexed).as_millis() as u64, "location applied");
        });
        Ok(out)
    }

    pub async fn get_entity(&self, entity_ref: &str) -> Result<Option<StoredEntity>> {
        Ok(with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{ENTITY_COLUMNS} WHERE ref = $1"));
            match sqlx::query(sql).bind(entity_ref).fetch_optional(pool).await? {
                Some(row) => Some(entity_row!(row)),
                None => None,
            }
        }))
    }

    /// The relations of one entity: its own and the inverses of those pointing at it, sorted.
    pub async fn relations_of(&self, entity_ref: &str) -> Result<Vec<StoredRelation>> {
        let mut out = with_pool!(self, pool => {
            let rows = sqlx::query("SELECT source_ref, type, target_ref FROM relations WHERE source_ref = $1 OR target_ref = $1")
                .bind(entity_ref).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let rel = StoredRelation { source: row.try_get("source_ref")?, kind: row.try_get("type")?, target: row.try_get("target_ref")? };
                if rel.source == entity_ref { out.push(rel.clone()); }
                if rel.target == entity_ref { out.push(invert(&rel)?); }
            }
            out
        });
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// On SQLite, for a large apply and then before it commits: the index by target dropped,
    /// then built again in one sort (within the apply's transaction: readers keep theirs; a
    /// rollback restores it); and the commit does not copy the write-ahead log into the
    /// database (`checkpoint_later` does, beside whatever comes next). PostgreSQL: nothing (a
    /// dropped index would lock the table for readers until the commit).
    fn catalog_large_apply(&self, start: bool) -> &'static [&'static str] {
        match (&self.backend, start) {
            (crate::Backend::Sqlite(_), true) => &["DROP INDEX IF EXISTS relations_target"],
            (crate::Backend::Sqlite(_), false) => &[
                "CREATE INDEX IF NOT EXISTS relations_target ON relations (target_ref)",
                "PRAGMA wal_autocheckpoint = 0",
            ],
            (crate::Backend::Postgres(_), _) => &[],
        }
    }

    /// This store with catalog applies counted as large from `changed` entities (default
    /// 50,000): tests take the large path with a few.
    #[doc(hidden)]
    pub fn with_large_apply(mut self, changed: usize) -> Self {
        self.large_apply = changed.max(1);
        self
    }

    /// SQLite only: the names of the catalog tables' indexes (a large apply drops one and must
    /// build it again).
    #[doc(hidden)]
    pub async fn sqlite_catalog_indexes_for_tests(&self) -> Result<Vec<String>> {
        let crate::Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::NotFound("a SQLite store".into()));
        };
        Ok(sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('entities', 'relations') ORDER BY name")
            .fetch_all(pool)
            .await?)
    }

    /// SQLite only: every pooled connection's `wal_autocheckpoint` (a large apply turns it off
    /// for its commit; the connection must come back with it on).
    #[doc(hidden)]
    pub async fn sqlite_autocheckpoints_for_tests(&self) -> Result<Vec<i64>> {
        let crate::Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::NotFound("a SQLite store".into()));
        };
        // Every connection the pool may hold, so one in use (a checkpoint) is waited for.
        let (mut held, mut out) = (Vec::new(), Vec::new());
        for _ in 0..pool.options().get_max_connections() {
            let mut conn = pool.acquire().await?;
            out.push(
                sqlx::query_scalar("PRAGMA wal_autocheckpoint")
                    .fetch_one(&mut *conn)
                    .await?,
            );
            held.push(conn);
        }
        Ok(out)
    }

    /// A page of entities ordered by ref.
    pub async fn list_entities(&self, f: &EntityFilter) -> Result<Vec<StoredEntity>> {
        Ok(with_pool!(self, pool => {
            let mut qb = QueryBuilder::new(ENTITY_COLUMNS);
            qb.push(" WHERE 1 = 1");
            if let Some(k) = &f.kind { qb.push(" AND kind = ").push_bind(k.to_ascii_lowercase()); }
            if let Some(n) = &f.namespace { qb.push(" AND namespace = ").push_bind(n.to_ascii_lowercase()); }
            if let Some(l) = &f.location_key { qb.push(" AND location_key = ").push_bind(l.clone()); }
            if let Some(a) = &f.after { qb.push(" AND ref > ").push_bind(a.clone()); }
            qb.push(" ORDER BY ref LIMIT ").push_bind(i64::from(f.limit.clamp(1, 10_000)));
            let rows = qb.build().fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows { out.push(entity_row!(row)); }
            out
        }))
    }

    pub async fn count_entities(&self) -> Result<i64> {
        Ok(
            with_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM entities").fetch_one(pool).await?),
        )
    }

    /// Relations whose target entity does not exist, sorted.
    pub async fn dangling_relations(&self) -> Result<Vec<StoredRelation>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT r.source_ref, r.type, r.target_ref FROM relations r LEFT JOIN entities e ON e.ref = r.target_ref \
                                    WHERE e.ref IS NULL ORDER BY r.source_ref, r.type, r.target_ref").fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(StoredRelation { source: row.try_get("source_ref")?, kind: row.try_get("type")?, target: row.try_get("target_ref")? });
            }
            out
        }))
    }
}

/// The same relation seen from its target.
pub fn invert(rel: &StoredRelation) -> Result<StoredRelation> {
    let t = socle_catalog::RelationType::parse(&rel.kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown relation type {}", rel.kind)))?;
    Ok(StoredRelation {
        source: rel.target.clone(),
        kind: t.inverse().as_str().to_owned(),
        target: rel.source.clone(),
    })
}
