//! Every stored delivery event, read in batches for a start-up load.
//!
//! SQLite: the driver hands each row from its worker thread through a channel, which at
//! millions of rows costs more than reading them; so a page of rows (by rowid) comes back as
//! ONE value — each row's fields joined by the unit separator (U+001F), rows by the record
//! separator (U+001E) — split here without a copy per field. Ids and names cannot hold control
//! characters (the import refuses them); a page where a row does not split into its fields is
//! read again row by row. PostgreSQL: the rows stream from the socket, gathered into batches.

use futures_util::TryStreamExt;
use socle_dora::{Change, Deployment, Event};
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
fn opt(v: &str) -> Option<String> {
    v.strip_prefix('=').map(str::to_owned)
}

fn deployment(row: &str) -> Option<Deployment> {
    let mut f = row.split(FIELD);
    let mut next = || f.next();
    let d = Deployment {
        source: next()?.to_owned(),
        id: next()?.to_owned(),
        service: next()?.to_owned(),
        environment: next()?.to_owned(),
        status: next()?.to_owned(),
        finished_at: next()?.parse().ok()?,
        changes: split(next()?),
        commit: opt(next()?),
    };
    next().is_none().then_some(d)
}

fn change(row: &str) -> Option<Change> {
    let mut f = row.split(FIELD);
    let mut next = || f.next();
    let c = Change {
        source: next()?.to_owned(),
        id: next()?.to_owned(),
        service: next()?.to_owned(),
        committed_at: next()?.parse().ok()?,
        parent: opt(next()?),
    };
    next().is_none().then_some(c)
}

/// Splits a packed page; `None` when a row does not split as expected.
fn unpack<T>(text: &str, rows: i64, one: fn(&str) -> Option<T>) -> Option<Vec<T>> {
    let out: Vec<T> = text.split(ROW).map(one).collect::<Option<_>>()?;
    (out.len() as i64 == rows).then_some(out)
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
    pub async fn dora_load_batches(&self, sink: &Sender<Vec<Event>>) -> Result<u64> {
        let mut sent = 0u64;
        // Sends a batch; a receiver gone ends the load.
        macro_rules! send {
            ($batch:expr) => {{
                let batch: Vec<Event> = $batch;
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
                        let batch: Option<Vec<Event>> = match table {
                            Table::Deployments => unpack(&text, count, deployment)
                                .map(|v| v.into_iter().map(Event::Deployment).collect()),
                            Table::Changes => unpack(&text, count, change)
                                .map(|v| v.into_iter().map(Event::Change).collect()),
                        };
                        drop(text);
                        let batch = match batch {
                            Some(b) => b,
                            None => {
                                let rows = sqlx::query(rows)
                                    .bind(after)
                                    .bind(last)
                                    .fetch_all(pool)
                                    .await?;
                                rows.iter()
                                    .map(|r| row_event(table, r))
                                    .collect::<Result<_>>()?
                            }
                        };
                        send!(batch);
                        after = last;
                    }
                }
                send!(
                    self.dora_all_incidents()
                        .await?
                        .into_iter()
                        .map(Event::Incident)
                        .collect()
                );
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
                            send!(std::mem::take(&mut batch));
                        }
                    }
                    if !batch.is_empty() {
                        send!(batch);
                    }
                }
                send!(
                    self.dora_all_incidents()
                        .await?
                        .into_iter()
                        .map(Event::Incident)
                        .collect()
                );
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
