//! The files engine of `socle data test`: each contract object's files (CSV, JSON Lines, a JSON
//! array, Parquet) are read off the async workers; the checks `stream.rs` reproduces exactly are
//! counted while the rows go by, and the columns the other checks read are loaded into a private
//! in-memory SQLite database, then made read-only (`PRAGMA query_only`). Those checks run as SQL
//! there, planned and written by `socle_data::quality` like the PostgreSQL engine's (one
//! aggregation per table for the counting checks and the `sql` rules that are one aggregate of
//! the table, one `GROUP BY` per duplicate key set, the other `sql` rules as the contract writes
//! them), each statement under a time limit (SQLite's progress handler).
//! SQLite is already in the binary (the store): files cost no new engine (ARCHITECTURE.md).

mod load;
mod parquet_batch;
mod parquet_read;
mod stage;
pub mod stored;
mod stream;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use socle_data::quality::evaluate::{MAX_SAMPLES, Measured, evaluate, not_run};
use socle_data::quality::fold::{self, fold, value_of_text};
use socle_data::quality::plan::{Check, Metric};
use socle_data::quality::prepare::{Column, Prepared, SampleColumns, prepare};
use socle_data::quality::spec::ObjectSpec;
use socle_data::quality::sql::{self, Aggregate, Dialect};
use socle_data::quality::{CheckResult, ServerSpec, TestSpec, Verdict};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sqlx::{Connection, Row, ValueRef};

pub use load::{Affinity, Format};

const LITE: Dialect = Dialect::Sqlite;

/// The engine could not start (the checks' own failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("server {server:?}: format {format:?} is not read yet (csv, json and parquet are)")]
    Format { server: String, format: String },
    #[error("in-memory database: {0}")]
    Database(String),
}

/// How a run behaves.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Longest a single statement may run.
    pub statement_timeout: Duration,
    /// Collect up to five failing rows per failed counting check.
    pub samples: bool,
    /// Now, in seconds since the epoch (freshness and retention ages).
    pub now: f64,
    /// Most rows read per object (the files are held in memory).
    pub max_rows: usize,
}

/// Default bound on rows read per object.
pub const MAX_ROWS: usize = 5_000_000;

impl RunOptions {
    /// A 60 s statement limit, no samples, at most [`MAX_ROWS`] rows, at `now`.
    pub fn at(now: f64) -> Self {
        Self {
            statement_timeout: Duration::from_secs(60),
            samples: false,
            now,
            max_rows: MAX_ROWS,
        }
    }
}

/// Runs `checks` (planned from `spec` for the file server `server`); relative paths are read
/// from `base` (the contract's directory).
pub async fn run(
    base: &Path,
    server: &ServerSpec,
    spec: &TestSpec,
    checks: &[Check],
    opts: &RunOptions,
) -> Result<Vec<CheckResult>, EngineError> {
    let format = Format::of(server).ok_or_else(|| EngineError::Format {
        server: server.server.clone(),
        format: server.format.clone().unwrap_or_default(),
    })?;
    let options = SqliteConnectOptions::from_str("sqlite::memory:")
        .map_err(db_error)?
        .with_regexp();
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(db_error)?;
    let mut results: HashMap<String, CheckResult> = HashMap::new();
    let mut tables: Vec<&str> = Vec::new();
    for c in checks {
        if let Some(r) = not_run(c) {
            results.insert(c.key.clone(), r);
        } else if !tables.contains(&c.table.as_str()) {
            tables.push(&c.table);
        }
    }
    // Every object's files first, then no more writing: a rule's query reads only.
    let mut loaded: Vec<Table> = Vec::new();
    for table in &tables {
        let object = spec.schema.iter().find(|o| o.table() == *table);
        let on_table: Vec<&Check> = checks
            .iter()
            .filter(|c| c.table == *table && !results.contains_key(&c.key))
            .collect();
        let plan = plan_load(&on_table, object, opts.samples);
        let source = Source {
            base,
            server,
            format,
        };
        loaded.push(Table::load(&mut conn, &source, object, table, opts, plan).await);
    }
    sqlx::raw_sql("PRAGMA query_only = ON")
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
    for t in &mut loaded {
        let on_table: Vec<&Check> = checks
            .iter()
            .filter(|c| c.table == t.name && !results.contains_key(&c.key))
            .collect();
        let columns = SampleColumns::of(spec, &t.name);
        for (key, r) in t.run(&mut conn, &on_table, opts, &columns).await {
            results.insert(key, r);
        }
    }
    Ok(checks
        .iter()
        .filter_map(|c| results.remove(&c.key))
        .collect())
}

fn db_error(e: sqlx::Error) -> EngineError {
    EngineError::Database(e.to_string())
}

/// What the load of a table's files keeps and counts: with samples, every column and no
/// streaming (samples are read from the table); otherwise the checks [`stream::Streamed`]
/// counts exactly are counted while reading, and the table keeps only the columns the other
/// checks read in SQL (none when nothing is left for SQL).
fn plan_load(checks: &[&Check], object: Option<&ObjectSpec>, samples: bool) -> load::Plan {
    if samples {
        return load::Plan::default();
    }
    let declared = object.map(load::Columns::declared).unwrap_or_default();
    let stream = stream::Streamed::of(checks, |f| {
        declared
            .position(f)
            .map_or(Affinity::Text, |i| declared.affinity[i])
    });
    let mut keep: Option<Vec<String>> = Some(Vec::new());
    let mut sql = false;
    for c in checks.iter().filter(|c| !stream.has(&c.key)) {
        let read: Option<Vec<String>> = match &c.metric {
            Metric::CustomSql { query } => fold::columns_read(LITE, query),
            Metric::FieldPresent | Metric::FieldType { .. } | Metric::FieldPhysicalType { .. } => {
                continue;
            }
            Metric::DuplicateCount { columns } => Some(columns.clone()),
            _ => Some(c.field.clone().into_iter().collect()),
        };
        sql = true;
        match (read, &mut keep) {
            (None, _) => keep = None,
            (Some(names), Some(k)) => k.extend(names),
            (Some(_), None) => {}
        }
    }
    if sql && keep.as_ref().is_some_and(Vec::is_empty) {
        // A rule that reads no column still counts the rows: keep one column.
        keep = object
            .and_then(|o| o.properties.first())
            .map(|p| vec![p.column().to_owned()]);
    }
    load::Plan {
        keep,
        stream: (!stream.is_empty()).then_some(stream),
    }
}

/// The checks counted while a table's files were read, being finished (duplicate keys sorted)
/// on a blocking thread while the table's SQL runs.
struct Counted {
    keys: Vec<String>,
    task: tokio::task::JoinHandle<Vec<(String, stream::Outcome)>>,
}

impl Counted {
    /// Each check's measurement, by key, once finished (a timestamp extreme completed by
    /// SQLite's reading of the values Rust did not read).
    async fn measure(
        self,
        conn: &mut SqliteConnection,
        opts: &RunOptions,
    ) -> HashMap<String, Measured> {
        let outcomes = match self.task.await {
            Ok(o) => o,
            Err(e) => {
                let failed = Measured::Failed(format!("Error evaluating check: {e}"));
                return self.keys.into_iter().map(|k| (k, failed.clone())).collect();
            }
        };
        let mut measured = HashMap::new();
        for (key, outcome) in outcomes {
            let m = match outcome {
                stream::Outcome::Count(m) => m,
                stream::Outcome::Extreme(x) => extreme(conn, &x, opts).await,
            };
            measured.insert(key, m);
        }
        measured
    }
}

/// Where a server's files are and how they are written.
struct Source<'a> {
    /// Relative paths are read from here (the contract's directory).
    base: &'a Path,
    server: &'a ServerSpec,
    format: Format,
}

/// An object's files as a table: its columns (those the files carry) or why it could not be read.
struct Table {
    name: String,
    reference: String,
    columns: Result<Vec<Column>, String>,
    /// The checks counted while the files were read.
    counted: Option<Counted>,
}

impl Table {
    async fn load(
        conn: &mut SqliteConnection,
        source: &Source<'_>,
        object: Option<&ObjectSpec>,
        table: &str,
        opts: &RunOptions,
        plan: load::Plan,
    ) -> Self {
        let mut t = Table {
            name: table.to_owned(),
            reference: sql::ident(table),
            columns: Err(format!(
                "Could not read model '{table}': not in the contract"
            )),
            counted: None,
        };
        let Some(object) = object.cloned() else {
            return t;
        };
        let files = match load::files_of(source.base, source.server, &object) {
            Ok(f) => f,
            Err(e) => {
                t.columns = Err(format!("Could not read model '{table}': {e}"));
                return t;
            }
        };
        let loaded = match load::load(
            conn,
            table,
            files,
            source.format,
            &object,
            opts.max_rows,
            plan,
        )
        .await
        {
            Ok(l) => l,
            Err(e) => {
                t.columns = Err(e);
                return t;
            }
        };
        let declared = load::Columns::declared(&object);
        if let Some(stream) = loaded.stream {
            // Duplicate keys are sorted on a blocking thread while the table's SQL runs.
            t.counted = Some(Counted {
                keys: stream.keys(),
                task: tokio::task::spawn_blocking(move || stream.finish()),
            });
        }
        t.columns = Ok(loaded
            .present
            .iter()
            .map(|n| {
                if let Some((_, native)) = loaded.native.iter().find(|(c, _)| c == n) {
                    return (n.clone(), native.clone());
                }
                let a = declared
                    .position(n)
                    .map_or(Affinity::Text, |i| declared.affinity[i]);
                (n.clone(), format!("{a:?}").to_ascii_uppercase())
            })
            .collect());
        t
    }

    /// The column a contract names: exactly, else case-insensitively (quoted, and its type).
    fn column(&self, name: &str) -> Option<Column> {
        let cols = self.columns.as_ref().ok()?;
        cols.iter()
            .find(|(n, _)| n == name)
            .or_else(|| cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(n, t)| (sql::ident(n), t.clone()))
    }

    async fn run(
        &mut self,
        conn: &mut SqliteConnection,
        checks: &[&Check],
        opts: &RunOptions,
        columns: &SampleColumns,
    ) -> Vec<(String, CheckResult)> {
        let mut out = Vec::new();
        if let Err(reason) = &self.columns {
            for c in checks {
                out.push((c.key.clone(), evaluate(c, Measured::Failed(reason.clone()))));
            }
            return out;
        }
        let limit = opts.statement_timeout;
        let mut aggregated: Vec<(&Check, Aggregate)> = Vec::new();
        let mut counted: Vec<&Check> = Vec::new();
        for &c in checks {
            match prepare(LITE, c, |f| self.column(f)) {
                Prepared::Done(m) => out.push((c.key.clone(), evaluate(c, m))),
                Prepared::Aggregate(_) | Prepared::Duplicate(_)
                    if self
                        .counted
                        .as_ref()
                        .is_some_and(|n| n.keys.contains(&c.key)) =>
                {
                    counted.push(c);
                }
                Prepared::Aggregate(a) => aggregated.push((c, a)),
                Prepared::Duplicate(keys) => {
                    let q = sql::duplicate_count(&self.reference, &keys);
                    let m = match fetch_one(conn, &q, limit).await {
                        Ok(row) => Measured::Count {
                            value: row.try_get(0).unwrap_or_default(),
                            rows: self.rows(conn, limit).await,
                        },
                        Err(e) => Measured::Failed(format!("Error evaluating check: {e}")),
                    };
                    out.push((c.key.clone(), evaluate(c, m)));
                }
                Prepared::Sql(q) => match fold(LITE, &q, |n, _| n.eq_ignore_ascii_case(&self.name))
                {
                    Some(e) => aggregated.push((c, Aggregate::Rule(e))),
                    None => {
                        let m = custom(conn, &q, limit).await;
                        out.push((c.key.clone(), evaluate(c, m)));
                    }
                },
            }
        }
        let measured = self.aggregate(conn, &aggregated, opts).await;
        for ((c, _), m) in aggregated.iter().zip(measured) {
            out.push((c.key.clone(), evaluate(c, m)));
        }
        let mut streamed = match self.counted.take() {
            Some(counted) => counted.measure(conn, opts).await,
            None => HashMap::new(),
        };
        for c in counted {
            let m = streamed.remove(&c.key).unwrap_or_else(|| {
                Measured::Failed("Error evaluating check: not counted".to_owned())
            });
            out.push((c.key.clone(), evaluate(c, m)));
        }
        if opts.samples {
            for (key, result) in out.iter_mut() {
                if !matches!(result.result, Verdict::Failed | Verdict::Warning) {
                    continue;
                }
                let Some(c) = checks.iter().find(|c| &c.key == key) else {
                    continue;
                };
                let column = |f: &str| self.column(f);
                if let Some(q) = columns.sample_query(LITE, &self.reference, c, column, MAX_SAMPLES)
                {
                    result.samples = sample_rows(conn, &q, limit).await;
                }
            }
        }
        out
    }

    async fn rows(&self, conn: &mut SqliteConnection, limit: Duration) -> i64 {
        let q = format!("SELECT count(*) FROM {}", self.reference);
        match fetch_one(conn, &q, limit).await {
            Ok(r) => r.try_get(0).unwrap_or_default(),
            Err(_) => 0,
        }
    }

    /// Every aggregate in one query; if it fails, each alone so one bad check does not take
    /// the others down.
    async fn aggregate(
        &self,
        conn: &mut SqliteConnection,
        items: &[(&Check, Aggregate)],
        opts: &RunOptions,
    ) -> Vec<Measured> {
        if items.is_empty() {
            return vec![];
        }
        let limit = opts.statement_timeout;
        let all: Vec<Aggregate> = items.iter().map(|(_, a)| a.clone()).collect();
        let q = sql::aggregation(LITE, &self.reference, &all);
        if let Ok(row) = fetch_one(conn, &q, limit).await {
            let rows: i64 = row.try_get(0).unwrap_or_default();
            let mut at = 1;
            return all
                .iter()
                .map(|a| read_aggregate(&row, &mut at, a, rows, opts.now))
                .collect();
        }
        let mut measured = Vec::new();
        for a in &all {
            let q = sql::aggregation(LITE, &self.reference, std::slice::from_ref(a));
            measured.push(match fetch_one(conn, &q, limit).await {
                Ok(row) => {
                    let n: i64 = row.try_get(0).unwrap_or_default();
                    read_aggregate(&row, &mut 1, a, n, opts.now)
                }
                Err(e) => Measured::Failed(format!("Error evaluating check: {e}")),
            });
        }
        measured
    }
}

fn read_aggregate(row: &SqliteRow, at: &mut usize, a: &Aggregate, rows: i64, now: f64) -> Measured {
    match a {
        Aggregate::CountWhere(_) => {
            let v: i64 = row.try_get(*at).unwrap_or_default();
            *at += 1;
            Measured::Count { value: v, rows }
        }
        Aggregate::Newest(_) | Aggregate::Oldest(_) => {
            let epoch: Option<f64> = row.try_get(*at).unwrap_or_default();
            let text: Option<String> = row.try_get(*at + 1).unwrap_or_default();
            *at += 2;
            Measured::Age(epoch.map(|e| ((now - e) as i64, text.unwrap_or_default())))
        }
        Aggregate::Rule(_) => {
            *at += 1;
            Measured::Scalar(scalar(row, *at - 1))
        }
    }
}

/// The newest (or oldest) timestamp of a column and its age: the streamed extreme of the
/// values read in Rust combined with SQLite's `unixepoch` of the others (passed as one JSON
/// array), then written as the SQL path writes it.
async fn extreme(conn: &mut SqliteConnection, x: &stream::Extreme, opts: &RunOptions) -> Measured {
    let f = if x.newest { "max" } else { "min" };
    let limit = opts.statement_timeout;
    let mut epoch = x.best;
    if !x.odd.is_empty() {
        let values: Vec<Value> = x
            .odd
            .iter()
            .map(|c| match c {
                load::Cell::Null => Value::Null,
                load::Cell::Int(i) => Value::from(*i),
                load::Cell::Real(r) => Value::from(*r),
                load::Cell::Text(t) => Value::from(t.as_str()),
            })
            .collect();
        let q = format!("SELECT {f}(unixepoch(value, 'subsec')) FROM json_each(?)");
        let array = Value::Array(values).to_string();
        if deadline(conn, limit).await.is_err() {
            return Measured::Failed("Error evaluating check: interrupted".into());
        }
        match sqlx::query_scalar::<_, Option<f64>>(sqlx::AssertSqlSafe(q))
            .bind(array)
            .fetch_one(&mut *conn)
            .await
        {
            Ok(Some(e)) if epoch.is_none_or(|b| x.beats(e, b)) => epoch = Some(e),
            Ok(_) => {}
            Err(e) => return Measured::Failed(format!("Error evaluating check: {e}")),
        }
    }
    let Some(e) = epoch else {
        return Measured::Age(None);
    };
    let text: Option<String> =
        sqlx::query_scalar("SELECT strftime('%Y-%m-%d %H:%M:%f+00', ?, 'unixepoch')")
            .bind(e)
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_default();
    Measured::Age(Some(((opts.now - e) as i64, text.unwrap_or_default())))
}

/// Interrupts the connection's statements once `limit` has passed from now.
async fn deadline(conn: &mut SqliteConnection, limit: Duration) -> Result<(), sqlx::Error> {
    let until = Instant::now() + limit;
    conn.lock_handle()
        .await?
        .set_progress_handler(10_000, move || Instant::now() < until);
    Ok(())
}

async fn fetch_one(
    conn: &mut SqliteConnection,
    q: &str,
    limit: Duration,
) -> Result<SqliteRow, sqlx::Error> {
    deadline(conn, limit).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(q.to_owned()))
        .fetch_one(&mut *conn)
        .await;
    if let Err(e) = &row {
        tracing::debug!(error = %e, "data test query failed");
    }
    row
}

/// A rule's query: the first column of its first row, as a number (booleans count as 0/1;
/// anything else is no value).
async fn custom(conn: &mut SqliteConnection, query: &str, limit: Duration) -> Measured {
    let body = query.trim().trim_end_matches(';');
    let q = format!("SELECT * FROM ({body}\n) LIMIT 1");
    match fetch_one(conn, &q, limit).await {
        Ok(row) => Measured::Scalar(scalar(&row, 0)),
        Err(sqlx::Error::RowNotFound) => Measured::Scalar(None),
        Err(e) => Measured::Failed(format!("Error evaluating check: {e}")),
    }
}

/// Column `at` of `row` as a number: an integer, a float, or text read as one.
fn scalar(row: &SqliteRow, at: usize) -> Option<f64> {
    let raw = row.try_get_raw(at).ok()?;
    if raw.is_null() {
        return None;
    }
    if let Ok(i) = row.try_get::<i64, _>(at) {
        return Some(i as f64);
    }
    if let Ok(f) = row.try_get::<f64, _>(at) {
        return Some(f);
    }
    let text: String = row.try_get(at).ok()?;
    value_of_text(&text)
}

async fn sample_rows(
    conn: &mut SqliteConnection,
    q: &str,
    limit: Duration,
) -> Vec<Map<String, Value>> {
    if deadline(conn, limit).await.is_err() {
        return vec![];
    }
    sqlx::query(sqlx::AssertSqlSafe(q.to_owned()))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .filter_map(|t| match serde_json::from_str(&t) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}
