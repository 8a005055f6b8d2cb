//! Delivery events (DORA): upserted by `(source, id)`, loaded whole for the metrics read model.

use std::collections::HashMap;

use socle_dora::{Change, Deployment, Event, Incident};
use sqlx::{QueryBuilder, Row};

use crate::{Backend, BeginWrite, Result, Store, StoreError, with_pool};

/// Rows per INSERT statement (at most 11 binds a row stays under SQLite's 32,766 variables).
const BATCH: usize = 2_000;
/// Events after which an import counts as large (see `dora_large_import` and `Target::merge_stage`).
const LARGE_IMPORT: u64 = 100_000;
/// Services per incident query (a bind each).
const SERVICES_PER_QUERY: usize = 500;

/// What an upsert did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DoraWritten {
    /// Events received (after collapsing repeats of one key within the batch: the last wins).
    pub received: u64,
    /// Rows inserted or changed; a re-sent identical event counts for nothing.
    pub changed: u64,
}

/// Change ids are joined with a newline (ids cannot hold control characters).
fn join(ids: &[String]) -> String {
    ids.join("\n")
}

pub(crate) fn split(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split('\n').map(str::to_owned).collect()
    }
}

/// The last version of each key within a batch (PostgreSQL refuses to touch one row twice in a
/// statement), split by type.
#[allow(clippy::type_complexity)]
fn last_of_each_key(events: &[Event]) -> (Vec<&Deployment>, Vec<&Change>, Vec<&Incident>) {
    let mut last: HashMap<(u8, &str, &str), usize> = HashMap::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let kind = match e {
            Event::Deployment(_) => 0,
            Event::Change(_) => 1,
            Event::Incident(_) => 2,
        };
        let (s, id) = e.key();
        last.insert((kind, s, id), i);
    }
    let mut deployments = Vec::new();
    let mut changes = Vec::new();
    let mut incidents = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let kind = match e {
            Event::Deployment(_) => 0,
            Event::Change(_) => 1,
            Event::Incident(_) => 2,
        };
        let (s, id) = e.key();
        if last.get(&(kind, s, id)) != Some(&i) {
            continue;
        }
        match e {
            Event::Deployment(d) => deployments.push(d),
            Event::Change(c) => changes.push(c),
            Event::Incident(x) => incidents.push(x),
        }
    }
    (deployments, changes, incidents)
}

/// The columns each table is written with, in the order of the binds (`seq` last).
const DEPLOYMENT_COLUMNS: &str =
    "source, id, service, environment, status, finished_at, changes, commit_sha, seq";
const CHANGE_COLUMNS: &str = "source, id, service, committed_at, parent, seq";
const INCIDENT_COLUMNS: &str =
    "source, id, service, started_at, resolved_at, deployment, title, severity, url, labels, seq";

/// What a newer version of a stored event changes; a re-sent identical one changes nothing.
const DEPLOYMENT_UPSERT: &str = " ON CONFLICT (source, id) DO UPDATE SET service = excluded.service, environment = excluded.environment, \
    status = excluded.status, finished_at = excluded.finished_at, changes = excluded.changes, commit_sha = excluded.commit_sha, seq = excluded.seq \
    WHERE dora_deployments.service <> excluded.service OR dora_deployments.environment <> excluded.environment \
    OR dora_deployments.status <> excluded.status OR dora_deployments.finished_at <> excluded.finished_at \
    OR dora_deployments.changes <> excluded.changes OR dora_deployments.commit_sha IS DISTINCT FROM excluded.commit_sha";
const CHANGE_UPSERT: &str = " ON CONFLICT (source, id) DO UPDATE SET service = excluded.service, committed_at = excluded.committed_at, parent = excluded.parent, seq = excluded.seq \
    WHERE dora_changes.service <> excluded.service OR dora_changes.committed_at <> excluded.committed_at \
    OR dora_changes.parent IS DISTINCT FROM excluded.parent";
const INCIDENT_UPSERT: &str = " ON CONFLICT (source, id) DO UPDATE SET service = excluded.service, started_at = excluded.started_at, \
    resolved_at = excluded.resolved_at, deployment = excluded.deployment, title = excluded.title, \
    severity = excluded.severity, url = excluded.url, labels = excluded.labels, seq = excluded.seq \
    WHERE dora_incidents.service <> excluded.service OR dora_incidents.started_at <> excluded.started_at \
    OR dora_incidents.resolved_at IS DISTINCT FROM excluded.resolved_at OR dora_incidents.deployment IS DISTINCT FROM excluded.deployment \
    OR dora_incidents.title IS DISTINCT FROM excluded.title OR dora_incidents.severity IS DISTINCT FROM excluded.severity \
    OR dora_incidents.url IS DISTINCT FROM excluded.url OR dora_incidents.labels <> excluded.labels";

/// One of the three tables, as an import writes it.
struct Target {
    table: &'static str,
    columns: &'static str,
    upsert: &'static str,
}

const TARGETS: [Target; 3] = [
    Target {
        table: "dora_deployments",
        columns: DEPLOYMENT_COLUMNS,
        upsert: DEPLOYMENT_UPSERT,
    },
    Target {
        table: "dora_changes",
        columns: CHANGE_COLUMNS,
        upsert: CHANGE_UPSERT,
    },
    Target {
        table: "dora_incidents",
        columns: INCIDENT_COLUMNS,
        upsert: INCIDENT_UPSERT,
    },
];

impl Target {
    /// The start of a batch's INSERT: into the table itself, or into its staging table.
    fn insert(&self, staged: bool) -> String {
        if staged {
            format!("INSERT INTO temp.stage_{} ({}) ", self.table, self.columns)
        } else {
            format!("INSERT INTO {} ({}) ", self.table, self.columns)
        }
    }

    /// What follows a batch's VALUES: the upsert clause, or nothing for the staging table.
    fn after_values(&self, staged: bool) -> &'static str {
        if staged { "" } else { self.upsert }
    }

    /// The staging table (no key, no index: rows are appended as they come).
    fn create_stage(&self) -> [String; 2] {
        [
            format!("DROP TABLE IF EXISTS temp.stage_{}", self.table),
            format!(
                "CREATE TEMP TABLE stage_{} AS SELECT {} FROM {} WHERE false",
                self.table, self.columns, self.table
            ),
        ]
    }

    /// The staged rows upserted into the table in key order (and, within a key, in the order
    /// they came: the last version wins, as it does batch by batch), then the staging dropped.
    /// In key order, every insert lands next to the previous one in the key's index, instead of
    /// on a random page of it (commit ids are SHAs).
    fn merge_stage(&self) -> [String; 2] {
        [
            format!(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM temp.stage_{table} WHERE true \
                 ORDER BY source, id, rowid{upsert}",
                table = self.table,
                columns = self.columns,
                upsert = self.upsert
            ),
            format!("DROP TABLE temp.stage_{}", self.table),
        ]
    }
}

/// The columns [`incident`] reads, in its order (a macro, so that queries stay literals).
macro_rules! incident_columns {
    () => {
        "source, id, service, started_at, resolved_at, deployment, title, severity, url, labels"
    };
}

/// The rows of the three tables with `seq >= from`, in one transaction (a macro: the same
/// text for both databases' transactions).
macro_rules! read_log {
    ($tx:expr, $from:expr, $out:expr) => {{
        let rows = sqlx::query("SELECT source, id, service, environment, status, finished_at, changes, commit_sha FROM dora_deployments WHERE seq >= $1")
            .bind($from)
            .fetch_all(&mut *$tx)
            .await?;
        for r in rows {
            let changes: String = r.try_get(6)?;
            $out.push(Event::Deployment(Deployment {
                source: r.try_get(0)?,
                id: r.try_get(1)?,
                service: r.try_get(2)?,
                environment: r.try_get(3)?,
                status: r.try_get(4)?,
                finished_at: r.try_get(5)?,
                changes: split(&changes),
                commit: r.try_get(7)?,
            }));
        }
        let rows = sqlx::query("SELECT source, id, service, committed_at, parent FROM dora_changes WHERE seq >= $1")
            .bind($from)
            .fetch_all(&mut *$tx)
            .await?;
        for r in rows {
            $out.push(Event::Change(Change {
                source: r.try_get(0)?,
                id: r.try_get(1)?,
                service: r.try_get(2)?,
                committed_at: r.try_get(3)?,
                parent: r.try_get(4)?,
            }));
        }
        let rows = sqlx::query(concat!("SELECT ", incident_columns!(), " FROM dora_incidents WHERE seq >= $1"))
            .bind($from)
            .fetch_all(&mut *$tx)
            .await?;
        for r in rows {
            $out.push(Event::Incident(incident(&r)?));
        }
    }};
}

impl Store {
    /// Writes events in one transaction. Identical re-deliveries change nothing (and do not
    /// move the generation); a newer version of an event (an incident now resolved) replaces it.
    pub async fn dora_upsert(&self, events: Vec<Event>) -> Result<DoraWritten> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(Ok(events))
            .await
            .map_err(|_| StoreError::Corrupt("channel closed".into()))?;
        drop(tx);
        self.dora_import(rx).await
    }

    /// Writes batches of events as they arrive, all in ONE transaction: an `Err` batch (say, a
    /// malformed line found by the producer) rolls everything back and is returned as a user
    /// error. Lets the caller parse the next batch while this one is written.
    pub async fn dora_import(
        &self,
        mut batches: tokio::sync::mpsc::Receiver<std::result::Result<Vec<Event>, String>>,
    ) -> Result<DoraWritten> {
        let mut received = 0u64;
        let mut changed = 0u64;
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let seq: i64 = sqlx::query_scalar(self.dora_seq_statement()).fetch_one(&mut *tx).await?;
            let mut large = false;
            let mut changed_before_staging = 0;
            while let Some(batch) = batches.recv().await {
                let events = match batch {
                    Ok(e) => e,
                    Err(message) => {
                        tx.rollback().await?;
                        return Err(StoreError::Invalid(message));
                    }
                };
                let (deployments, changes, incidents) = last_of_each_key(&events);
                received += (deployments.len() + changes.len() + incidents.len()) as u64;
                if !large && received >= LARGE_IMPORT && self.dora_stages_large_imports() {
                    for sql in self.dora_large_import(true) {
                        sqlx::query(*sql).execute(&mut *tx).await?;
                    }
                    for t in &TARGETS {
                        for sql in t.create_stage() {
                            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
                        }
                    }
                    changed_before_staging = changed;
                    large = true;
                }
                let [d, c, x] = &TARGETS;
                for chunk in deployments.chunks(BATCH) {
                    let mut qb = QueryBuilder::new(d.insert(large));
                    qb.push_values(chunk, |mut b, d| {
                        b.push_bind(d.source.as_str()).push_bind(d.id.as_str()).push_bind(d.service.as_str())
                            .push_bind(d.environment.as_str()).push_bind(d.status.as_str()).push_bind(d.finished_at)
                            .push_bind(join(&d.changes)).push_bind(d.commit.as_deref()).push_bind(seq);
                    });
                    qb.push(d.after_values(large));
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                for chunk in changes.chunks(BATCH) {
                    let mut qb = QueryBuilder::new(c.insert(large));
                    qb.push_values(chunk, |mut b, c| {
                        b.push_bind(c.source.as_str()).push_bind(c.id.as_str()).push_bind(c.service.as_str())
                            .push_bind(c.committed_at).push_bind(c.parent.as_deref()).push_bind(seq);
                    });
                    qb.push(c.after_values(large));
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                for chunk in incidents.chunks(BATCH) {
                    let mut qb = QueryBuilder::new(x.insert(large));
                    qb.push_values(chunk, |mut b, x| {
                        b.push_bind(x.source.as_str()).push_bind(x.id.as_str()).push_bind(x.service.as_str())
                            .push_bind(x.started_at).push_bind(x.resolved_at).push_bind(x.deployment.as_deref())
                            .push_bind(x.title.as_deref()).push_bind(x.severity.as_deref()).push_bind(x.url.as_deref())
                            .push_bind(labels_text(&x.labels)).push_bind(seq);
                    });
                    qb.push(x.after_values(large));
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            if large {
                // What the staged batches counted were appends; the merge counts the changes.
                changed = changed_before_staging;
                for t in &TARGETS {
                    let [merge, drop] = t.merge_stage();
                    changed += sqlx::query(sqlx::AssertSqlSafe(merge)).execute(&mut *tx).await?.rows_affected();
                    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *tx).await?;
                }
            }
            if changed > 0 {
                sqlx::query("UPDATE meta SET value = value + 1 WHERE key = 'dora_generation'").execute(&mut *tx).await?;
            }
            if large {
                for sql in self.dora_large_import(false) {
                    sqlx::query(*sql).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        });
        Ok(DoraWritten { received, changed })
    }

    /// The services that the stored events with these events' keys (same type, source and id)
    /// belong to today: what an upsert of `events` would take over.
    pub async fn dora_current_services(
        &self,
        events: &[Event],
    ) -> Result<std::collections::BTreeSet<String>> {
        let (deployments, changes, incidents) = last_of_each_key(events);
        let keys = [
            (
                "SELECT DISTINCT service FROM dora_deployments WHERE ",
                deployments
                    .iter()
                    .map(|d| (d.source.as_str(), d.id.as_str()))
                    .collect::<Vec<_>>(),
            ),
            (
                "SELECT DISTINCT service FROM dora_changes WHERE ",
                changes
                    .iter()
                    .map(|c| (c.source.as_str(), c.id.as_str()))
                    .collect(),
            ),
            (
                "SELECT DISTINCT service FROM dora_incidents WHERE ",
                incidents
                    .iter()
                    .map(|x| (x.source.as_str(), x.id.as_str()))
                    .collect(),
            ),
        ];
        let mut out = std::collections::BTreeSet::new();
        with_pool!(self, pool => {
            for (select, keys) in &keys {
                // 2 binds a key: 500 keys a statement stays far under every limit.
                for chunk in keys.chunks(500) {
                    let mut qb = QueryBuilder::new(*select);
                    let mut sep = qb.separated(" OR ");
                    for (source, id) in chunk {
                        sep.push("(source = ");
                        sep.push_bind_unseparated(*source);
                        sep.push_unseparated(" AND id = ");
                        sep.push_bind_unseparated(*id);
                        sep.push_unseparated(")");
                    }
                    let rows = qb.build().fetch_all(pool).await?;
                    for r in rows {
                        out.insert(r.try_get::<String, _>(0)?);
                    }
                }
            }
        });
        Ok(out)
    }

    /// Which of `ids` are ids of stored changes (from any source).
    pub async fn dora_known_changes(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        with_pool!(self, pool => {
            for chunk in ids.chunks(500) {
                let mut qb = QueryBuilder::new("SELECT DISTINCT id FROM dora_changes WHERE id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.as_str());
                }
                qb.push(")");
                for r in qb.build().fetch_all(pool).await? {
                    out.insert(r.try_get::<String, _>(0)?);
                }
            }
        });
        Ok(out)
    }

    /// The statement that numbers a write transaction in the change log (see [`DoraLog`]).
    fn dora_seq_statement(&self) -> &'static str {
        match self.backend {
            // Under the write lock (`BEGIN IMMEDIATE`): numbers follow commit order.
            Backend::Sqlite(_) => {
                "UPDATE meta SET value = value + 1 WHERE key = 'dora_seq' RETURNING value"
            }
            // The transaction's id: no lock shared by writers, but not in commit order.
            Backend::Postgres(_) => "SELECT pg_current_xact_id()::text::bigint",
        }
    }

    /// Whether a large import is staged, then merged in key order (SQLite). PostgreSQL upserts
    /// batch by batch (its B-trees take random keys with less pain, and a merge statement
    /// could not touch one row twice: re-deliveries in one import would need collapsing first).
    fn dora_stages_large_imports(&self) -> bool {
        matches!(self.backend, Backend::Sqlite(_))
    }

    /// On SQLite, once an import is large and then before it commits: a page cache of 512 MB
    /// and two sorting threads for the merge of the staged rows ([`Target::merge_stage`]), and
    /// the index of changes by id dropped, then built again in one sort (within the import's
    /// transaction: readers keep theirs; a rollback restores it). The connection goes back to
    /// the pool with the usual cache. PostgreSQL: nothing (a dropped index would lock the table
    /// for readers until the commit).
    fn dora_large_import(&self, start: bool) -> &'static [&'static str] {
        match (&self.backend, start) {
            (Backend::Sqlite(_), true) => &[
                "PRAGMA cache_size = -524288",
                // The staged rows' sort (and the index's) on two threads.
                "PRAGMA threads = 2",
                "DROP INDEX IF EXISTS dora_changes_by_id",
            ],
            (Backend::Sqlite(_), false) => &[
                "CREATE INDEX IF NOT EXISTS dora_changes_by_id ON dora_changes (id)",
                "PRAGMA cache_size = -2000",
                "PRAGMA threads = 0",
            ],
            (Backend::Postgres(_), _) => &[],
        }
    }

    /// The statement that gives the smallest number a row not yet visible can carry.
    fn dora_watermark_statement(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "SELECT value + 1 FROM meta WHERE key = 'dora_seq'",
            // Every transaction below the snapshot's xmin has ended (committed or not).
            Backend::Postgres(_) => "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        }
    }

    /// Where a reader that loads every event now should read the change log from next
    /// ([`Self::dora_log_since`]): take it BEFORE the full load; rows committed in between are
    /// read twice, which applying a version again tolerates.
    pub async fn dora_watermark(&self) -> Result<i64> {
        with_pool!(self, pool => {
            // A store opened read-only before the change log existed has no `dora_seq`: it
            // is never read from.
            Ok(sqlx::query_scalar(self.dora_watermark_statement()).fetch_optional(pool).await?.unwrap_or(0))
        })
    }

    /// The change log from `from` on: every stored event (its current version) whose row was
    /// inserted or changed by a transaction numbered `from` or more, and where to read from next
    /// time. One snapshot reads both (PostgreSQL: `REPEATABLE READ`), so nothing committed after
    /// the watermark was taken is missed: on PostgreSQL, a transaction that took its number
    /// before another but commits after it is still running at this snapshot, so the watermark
    /// stays at or below its number and the next read takes its rows.
    pub async fn dora_log_since(&self, from: i64) -> Result<DoraLog> {
        let mut events = Vec::new();
        let next: i64;
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                next = sqlx::query_scalar(self.dora_watermark_statement())
                    .fetch_one(&mut *tx)
                    .await?;
                read_log!(tx, from, events);
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                next = sqlx::query_scalar(self.dora_watermark_statement())
                    .fetch_one(&mut *tx)
                    .await?;
                read_log!(tx, from, events);
                tx.commit().await?;
            }
        }
        Ok(DoraLog { events, next })
    }

    /// Moves whenever stored delivery events change.
    pub async fn dora_generation(&self) -> Result<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = 'dora_generation'").fetch_one(pool).await?)
        })
    }

    /// Every stored event.
    pub async fn dora_load(&self) -> Result<(Vec<Deployment>, Vec<Change>, Vec<Incident>)> {
        use futures_util::TryStreamExt;
        with_pool!(self, pool => {
            let mut deployments = Vec::new();
            let mut rows = sqlx::query("SELECT source, id, service, environment, status, finished_at, changes, commit_sha FROM dora_deployments").fetch(pool);
            while let Some(r) = rows.try_next().await? {
                let changes: String = r.try_get(6)?;
                deployments.push(Deployment {
                    source: r.try_get(0)?, id: r.try_get(1)?, service: r.try_get(2)?, environment: r.try_get(3)?,
                    status: r.try_get(4)?, finished_at: r.try_get(5)?, changes: split(&changes), commit: r.try_get(7)?,
                });
            }
            drop(rows);
            let mut changes = Vec::new();
            let mut rows = sqlx::query("SELECT source, id, service, committed_at, parent FROM dora_changes").fetch(pool);
            while let Some(r) = rows.try_next().await? {
                changes.push(Change {
                    source: r.try_get(0)?, id: r.try_get(1)?, service: r.try_get(2)?, committed_at: r.try_get(3)?, parent: r.try_get(4)?,
                });
            }
            drop(rows);
            let mut incidents = Vec::new();
            let mut rows = sqlx::query(concat!("SELECT ", incident_columns!(), " FROM dora_incidents")).fetch(pool);
            while let Some(r) = rows.try_next().await? {
                incidents.push(incident(&r)?);
            }
            Ok((deployments, changes, incidents))
        })
    }

    /// Every stored incident.
    pub(crate) async fn dora_all_incidents(&self) -> Result<Vec<Incident>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(concat!("SELECT ", incident_columns!(), " FROM dora_incidents")).fetch_all(pool).await?;
            rows.iter().map(incident).collect()
        })
    }

    /// Incidents that were open at some time in `[from, to)` (started before `to`, not resolved
    /// before `from`), newest first (then by source and id), at most `limit`.
    pub async fn dora_incidents(&self, q: &IncidentQuery<'_>) -> Result<Vec<Incident>> {
        let limit = i64::from(q.limit);
        let mut out = Vec::new();
        let chunks: Vec<Option<&[String]>> = match q.services {
            None => vec![None],
            Some(s) => s.chunks(SERVICES_PER_QUERY).map(Some).collect(),
        };
        with_pool!(self, pool => {
            for services in chunks {
                let mut qb = QueryBuilder::new(concat!("SELECT ", incident_columns!(), " FROM dora_incidents WHERE started_at < "));
                qb.push_bind(q.to).push(" AND (resolved_at IS NULL OR resolved_at >= ").push_bind(q.from).push(")");
                if let Some(services) = services {
                    qb.push(" AND service IN (");
                    let mut sep = qb.separated(", ");
                    for s in services {
                        sep.push_bind(s.as_str());
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY started_at DESC, source, id LIMIT ").push_bind(limit);
                for r in qb.build().fetch_all(pool).await? {
                    out.push(incident(&r)?);
                }
            }
        });
        // Several chunks: the newest of all of them.
        out.sort_by(|a, b| (b.started_at, &a.source, &a.id).cmp(&(a.started_at, &b.source, &b.id)));
        out.truncate(q.limit as usize);
        Ok(out)
    }
}

/// A read of the change log: what changed, and where the next read starts.
///
/// Every row of `dora_deployments`, `dora_changes` and `dora_incidents` carries `seq`, the
/// number of the transaction that last inserted or changed it (an identical re-delivery
/// changes nothing, so it keeps its number). A reader that applied the log up to `next`
/// reads `seq >= next` again — an invariant every writer of those tables must keep.
#[derive(Debug, Default)]
pub struct DoraLog {
    /// The current version of every event changed since the read's `from`.
    pub events: Vec<Event>,
    /// Where the next read starts.
    pub next: i64,
}

/// What [`Store::dora_incidents`] lists.
#[derive(Debug, Clone, Copy)]
pub struct IncidentQuery<'a> {
    /// Only these services (none: every service; an empty list: none).
    pub services: Option<&'a [String]>,
    /// The window, `[from, to)` in milliseconds.
    pub from: i64,
    pub to: i64,
    pub limit: u32,
}

/// An incident from a row of `incident_columns!()`.
fn incident<R: Row>(r: &R) -> Result<Incident>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<i64>: sqlx::Decode<'a, R::Database>,
{
    let labels: String = r.try_get(9)?;
    Ok(Incident {
        source: r.try_get(0)?,
        id: r.try_get(1)?,
        service: r.try_get(2)?,
        started_at: r.try_get(3)?,
        resolved_at: r.try_get(4)?,
        deployment: r.try_get(5)?,
        title: r.try_get(6)?,
        severity: r.try_get(7)?,
        url: r.try_get(8)?,
        labels: serde_json::from_str(&labels)
            .map_err(|e| StoreError::Corrupt(format!("incident labels: {e}")))?,
    })
}

/// Labels as stored: a JSON object (keys in order, so an identical re-delivery compares equal).
fn labels_text(labels: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".into())
}
