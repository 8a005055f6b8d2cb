//! Every stored delivery event, read in batches for a start-up load.
//!
//! SQLite: the driver hands each row from its worker thread through a channel, which at
//! millions of rows costs more than reading them; so a page of rows (by rowid) comes back as
//! ONE value — each row's fields joined by the unit separator (U+001F), rows by the record
//! separator (U+001E) — checked here to split into its rows and fields, then handed on whole
//! ([`PackedPage`]): the live index reads each field where it lies, and no string is copied
//! out of the page. Ids and names cannot hold control characters (the import refuses them); a
//! page where a row does not split into its fields is read again row by row. PostgreSQL: the
//! rows stream from the socket, gathered into batches of events.

use futures_util::TryStreamExt;
use socle_dora::{Change, ChangeRef, Deployment, DeploymentRef, Event, EventRef, Ids};
use sqlx::Row;
use tokio::sync::mpsc::Sender;

use crate::dora::split;
use crate::{Backend, Result, Store};

/// Rows per batch.
const PAGE: i64 = 50_000;
const FIELD: char = '\u{1f}';
const ROW: char = '\u{1e}';

const DEPLOYMENTS_PACKED: &str = "SELECT max(r), count(*), group_concat(f, char(30)) FROM (SELECT rowid AS r, \
    source || char(31) || id || char(31) || service || char(31) || environment || char(31) || status || char(31) \
    || finished_at || char(31) || changes || char(31) || CASE WHEN commit_sha IS NULL THEN '' ELSE '=' || commit_sha END AS f \
    FROM dora_deployments WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)";
const DEPLOYMENTS_ROWS: &str = "SELECT source, id, service, environment, status, finished_at, changes, commit_sha \
    FROM dora_deployments WHERE rowid > ?1 AND rowid <= ?2";
const CHANGES_PACKED: &str = "SELECT max(r), count(*), group_concat(f, char(30)) FROM (SELECT rowid AS r, \
    source || char(31) || id || char(31) || service || char(31) || committed_at || char(31) \
    || CASE WHEN parent IS NULL THEN '' ELSE '=' || parent END AS f \
    FROM dora_changes WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)";
const CHANGES_ROWS: &str = "SELECT source, id, service, committed_at, parent FROM dora_changes WHERE rowid > ?1 AND rowid <= ?2";

/// An optional value as packed: empty for none, else `=` and the value.
fn opt(v: &str) -> Option<&str> {
    v.strip_prefix('=')
}

fn deployment(row: &str) -> Option<DeploymentRef<'_>> {
    let mut f = row.split(FIELD);
    let mut next = || f.next();
    let d = DeploymentRef {
        source: next()?,
        id: next()?,
        service: next()?,
        environment: next()?,
        status: next()?,
        finished_at: next()?.parse().ok()?,
        changes: Ids::Lines(next()?),
        commit: opt(next()?),
    };
    next().is_none().then_some(d)
}

fn change(row: &str) -> Option<ChangeRef<'_>> {
    let mut f = row.split(FIELD);
    let mut next = || f.next();
    let c = ChangeRef {
        source: next()?,
        id: next()?,
        service: next()?,
        committed_at: next()?.parse().ok()?,
        parent: opt(next()?),
    };
    next().is_none().then_some(c)
}

/// One row of a packed page, borrowed; `None` when it does not split as expected.
fn row(table: Table, text: &str) -> Option<EventRef<'_>> {
    match table {
        Table::Deployments => deployment(text).map(EventRef::Deployment),
        Table::Changes => change(text).map(EventRef::Change),
    }
}

/// A page of deployments or changes packed by SQLite into one text, every row checked to split
/// into its fields: its events are read from it without a copy of their strings.
pub struct PackedPage {
    table: Table,
    text: String,
    rows: usize,
}

impl PackedPage {
    /// The page, when each of its `rows` rows splits as expected.
    fn new(table: Table, text: String, rows: i64) -> Option<Self> {
        let mut n = 0i64;
        for r in text.split(ROW) {
            row(table, r)?;
            n += 1;
        }
        (n == rows).then_some(Self {
            table,
            text,
            rows: n as usize,
        })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Its events, borrowed from the page.
    pub fn events(&self) -> impl Iterator<Item = EventRef<'_>> {
        let table = self.table;
        // Every row was checked by `new`.
        self.text.split(ROW).filter_map(move |r| row(table, r))
    }
}

/// A batch of the start-up load ([`Store::dora_load_batches`]).
pub enum LoadBatch {
    /// Rows read one by one (PostgreSQL, incidents, a page that did not split).
    Events(Vec<Event>),
    Packed(PackedPage),
}

impl LoadBatch {
    pub fn len(&self) -> usize {
        match self {
            LoadBatch::Events(v) => v.len(),
            LoadBatch::Packed(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch as owned events.
    pub fn into_events(self) -> Vec<Event> {
        match self {
            LoadBatch::Events(v) => v,
            LoadBatch::Packed(p) => p.events().map(|e| e.owned()).collect(),
        }
    }
}

impl Store {
    /// About how many deployments and changes are stored (SQLite: the largest rowids, read
    /// from the tables' ends; PostgreSQL: the planner's estimates) — to reserve room.
    pub async fn dora_sizes(&self) -> Result<(u64, u64)> {
        let (d, c): (i64, i64) = match &self.backend {
            Backend::Sqlite(pool) => sqlx::query_as(
                "SELECT (SELECT coalesce(max(rowid), 0) FROM dora_deployments), (SELECT coalesce(max(rowid), 0) FROM dora_changes)",
            )
            .fetch_one(pool)
            .await?,
            Backend::Postgres(pool) => sqlx::query_as(
                "SELECT (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'dora_deployments'::regclass), \
                 (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'dora_changes'::regclass)",
            )
            .fetch_one(pool)
            .await?,
        };
        Ok((d.max(0) as u64, c.max(0) as u64))
    }

    /// Sends every stored event to `sink` in batches (deployments, then changes, then
    /// incidents); returns how many. Stops early, without error, when the receiver is gone.
    pub async fn dora_load_batches(&self, sink: &Sender<LoadBatch>) -> Result<u64> {
        let mut sent = 0u64;
        // Sends a batch; a receiver gone ends the load.
        macro_rules! send {
            ($batch:expr) => {{
                let batch: LoadBatch = $batch;
                let n = batch.len() as u64;
                if sink.send(batch).await.is_err() {
                    return Ok(sent);
                }
                sent += n;
            }};
        }
        match &self.backend {
            Backend::Sqlite(pool) => {
                for table in [Table::Deployments, Table::Changes] {
                    let mut after = 0i64;
                    loop {
                        let (packed, rows) = match table {
                            Table::Deployments => (DEPLOYMENTS_PACKED, DEPLOYMENTS_ROWS),
                            Table::Changes => (CHANGES_PACKED, CHANGES_ROWS),
                        };
                        let page = sqlx::query(packed)
                            .bind(after)
                            .bind(PAGE)
                            .fetch_one(pool)
                            .await?;
                        let count: i64 = page.try_get(1)?;
                        if count == 0 {
                            break;
                        }
                        let last: i64 = page.try_get(0)?;
                        let text: String = page.try_get(2)?;
                        let batch = match PackedPage::new(table, text, count) {
                            Some(p) => LoadBatch::Packed(p),
                            None => {
                                let rows = sqlx::query(rows)
                                    .bind(after)
                                    .bind(last)
                                    .fetch_all(pool)
                                    .await?;
                                LoadBatch::Events(
                                    rows.iter()
                                        .map(|r| row_event(table, r))
                                        .collect::<Result<_>>()?,
                                )
                            }
                        };
                        send!(batch);
                        after = last;
                    }
                }
                send!(LoadBatch::Events(
                    self.dora_all_incidents()
                        .await?
                        .into_iter()
                        .map(Event::Incident)
                        .collect()
                ));
            }
            Backend::Postgres(pool) => {
                for table in [Table::Deployments, Table::Changes] {
                    let sql = match table {
                        Table::Deployments => {
                            "SELECT source, id, service, environment, status, finished_at, changes, commit_sha FROM dora_deployments"
                        }
                        Table::Changes => {
                            "SELECT source, id, service, committed_at, parent FROM dora_changes"
                        }
                    };
                    let mut rows = sqlx::query(sql).fetch(pool);
                    let mut batch = Vec::with_capacity(PAGE as usize);
                    while let Some(r) = rows.try_next().await? {
                        batch.push(row_event(table, &r)?);
                        if batch.len() == PAGE as usize {
                            send!(LoadBatch::Events(std::mem::take(&mut batch)));
                        }
                    }
                    if !batch.is_empty() {
                        send!(LoadBatch::Events(batch));
                    }
                }
                send!(LoadBatch::Events(
                    self.dora_all_incidents()
                        .await?
                        .into_iter()
                        .map(Event::Incident)
                        .collect()
                ));
            }
        }
        Ok(sent)
    }
}

#[derive(Clone, Copy)]
enum Table {
    Deployments,
    Changes,
}

/// A deployment or change from a row of `DEPLOYMENTS_ROWS` / `CHANGES_ROWS` (either database).
fn row_event<R: Row>(table: Table, r: &R) -> Result<Event>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match table {
        Table::Deployments => {
            let changes: String = r.try_get(6)?;
            Event::Deployment(Deployment {
                source: r.try_get(0)?,
                id: r.try_get(1)?,
                service: r.try_get(2)?,
                environment: r.try_get(3)?,
                status: r.try_get(4)?,
                finished_at: r.try_get(5)?,
                changes: split(&changes),
                commit: r.try_get(7)?,
            })
        }
        Table::Changes => Event::Change(Change {
            source: r.try_get(0)?,
            id: r.try_get(1)?,
            service: r.try_get(2)?,
            committed_at: r.try_get(3)?,
            parent: r.try_get(4)?,
        }),
    })
}
