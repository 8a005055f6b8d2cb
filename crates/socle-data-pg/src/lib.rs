//! The PostgreSQL engine of `socle data test`: connects to the server a contract names, and in
//! one read-only transaction (with a statement time limit) reads each table's columns from the
//! catalog, runs every counting check of the table in one aggregation (with every `sql` rule
//! that is one aggregate of the table folded in: `quality::fold`) and every duplicate check in
//! one `GROUPING SETS` query (two scans, side by side: the duplicate query on a second
//! connection sharing the first one's snapshot), then each other `sql` rule as its own query,
//! then (if asked) samples of failing rows without sensitive columns. The SQL text comes from
//! `socle_data::quality::sql`.

pub mod build;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};
use socle_data::quality::evaluate::{MAX_SAMPLES, Measured, evaluate, not_run};
use socle_data::quality::fold::{fold, value_of_text};
use socle_data::quality::plan::{Check, Metric};
use socle_data::quality::prepare::{Prepared, SampleColumns, prepare};
use socle_data::quality::sql::{self, Aggregate, Dialect};

const PG: Dialect = Dialect::Postgres;
use socle_data::quality::{CheckResult, ServerSpec, TestSpec, Verdict};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

/// The engine could not start (the checks' own failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot connect to PostgreSQL at {at}: {message}")]
    Connect { at: String, message: String },
    #[error("PostgreSQL: {0}")]
    Query(String),
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
}

impl RunOptions {
    /// A 60 s statement limit, no samples, at `now`.
    pub fn at(now: f64) -> Self {
        Self {
            statement_timeout: Duration::from_secs(60),
            samples: false,
            now,
        }
    }
}

/// Where the engine connects.
#[derive(Clone, Debug)]
pub struct Target {
    options: PgConnectOptions,
}

impl Target {
    /// The contract server's host, port and database, with credentials (and whatever else is
    /// unset: TLS mode, …) from libpq's environment (`PGUSER`, `PGPASSWORD`, `PGSSLMODE`, …).
    /// A `postgres://` URL, when given, replaces the server's fields.
    pub fn of(server: &ServerSpec, url: Option<&str>) -> Result<Self, EngineError> {
        let options = match url {
            Some(u) => u
                .parse::<PgConnectOptions>()
                .map_err(|e| EngineError::Connect {
                    at: "the given URL".into(),
                    message: e.to_string(),
                })?,
            None => {
                let mut o = PgConnectOptions::new();
                if let Some(h) = &server.host {
                    o = o.host(h);
                }
                if let Some(p) = server.port {
                    o = o.port(p);
                }
                if let Some(d) = &server.database {
                    o = o.database(d);
                }
                o
            }
        };
        Ok(Self {
            options: options.application_name("socle data test"),
        })
    }
}

/// Runs `checks` (planned from `spec` for one PostgreSQL server whose default schema is
/// `schema`).
pub async fn run(
    target: &Target,
    schema: Option<&str>,
    spec: &TestSpec,
    checks: &[Check],
    run: &RunOptions,
) -> Result<Vec<CheckResult>, EngineError> {
    let options = &target.options;
    let mut conn = connect(options).await?;
    let mut tx = begin(&mut conn, schema, run, None).await?;
    // A second connection on the first one's snapshot, so that the duplicate scan runs beside
    // the counting scan (PostgreSQL does not run GROUPING SETS in parallel).
    let duplicates = checks
        .iter()
        .any(|c| matches!(c.metric, Metric::DuplicateCount { .. }));
    let mut side_conn: Option<(PgConnection, String)> = None;
    if duplicates {
        let snapshot = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await
            .map_err(query_error)?;
        side_conn = Some((connect(options).await?, snapshot));
        // Each scan on a core of its own: the counting scan without parallel workers.
        sqlx::raw_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await
            .map_err(query_error)?;
    }
    let mut side = match side_conn.as_mut() {
        Some((c, snapshot)) => Some(begin(c, schema, run, Some(snapshot)).await?),
        None => None,
    };
    let mut results: HashMap<String, CheckResult> = HashMap::new();
    let mut tables: Vec<&str> = Vec::new();
    for c in checks {
        if let Some(r) = not_run(c) {
            results.insert(c.key.clone(), r);
        } else if !tables.contains(&c.table.as_str()) {
            tables.push(&c.table);
        }
    }
    for table in tables {
        let on_table: Vec<&Check> = checks
            .iter()
            .filter(|c| c.table == table && !results.contains_key(&c.key))
            .collect();
        let mut t = Table::open(&mut tx, schema, table).await;
        let columns = SampleColumns::of(spec, table);
        for (key, r) in t
            .run(&mut tx, side.as_mut(), &on_table, run, &columns)
            .await
        {
            results.insert(key, r);
        }
    }
    if let Some(s) = side {
        s.rollback().await.map_err(query_error)?;
    }
    tx.rollback().await.map_err(query_error)?;
    Ok(checks
        .iter()
        .filter_map(|c| results.remove(&c.key))
        .collect())
}

/// A connection, or where it could not be made and why.
async fn connect(options: &PgConnectOptions) -> Result<PgConnection, EngineError> {
    PgConnection::connect_with(options)
        .await
        .map_err(|e| EngineError::Connect {
            at: format!(
                "{}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or_default()
            ),
            message: e.to_string(),
        })
}

/// A read-only transaction with one snapshot for all its statements (`snapshot`: another
/// transaction's, exported), the statement time limit and the schema.
async fn begin<'c>(
    conn: &'c mut PgConnection,
    schema: Option<&str>,
    run: &RunOptions,
    snapshot: Option<&str>,
) -> Result<Tx<'c>, EngineError> {
    let mut tx = conn.begin().await.map_err(query_error)?;
    let ms = run.statement_timeout.as_millis().max(1);
    let mut setup = vec!["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_owned()];
    if let Some(id) = snapshot {
        setup.push(format!(
            "SET TRANSACTION SNAPSHOT '{}'",
            id.replace('\'', "''")
        ));
    }
    setup.push(format!("SET LOCAL statement_timeout = {ms}"));
    if let Some(s) = schema {
        setup.push(format!("SET LOCAL search_path TO {}", sql::ident(s)));
    }
    for s in setup {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s))
            .execute(&mut *tx)
            .await
            .map_err(query_error)?;
    }
    Ok(tx)
}

fn query_error(e: sqlx::Error) -> EngineError {
    EngineError::Query(e.to_string())
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// A table as the catalog describes it: its quoted name and its columns with native types, or
/// why it could not be read.
struct Table {
    reference: String,
    /// The table's name as the catalog holds it.
    relname: String,
    columns: Result<Vec<(String, String)>, String>,
}

impl Table {
    async fn open(tx: &mut Tx<'_>, schema: Option<&str>, table: &str) -> Self {
        let found = sqlx::query(
            "SELECT c.oid::int8, c.relname::text, n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE lower(c.relname) = lower($1) AND c.relkind IN ('r','v','m','p','f') \
             AND n.nspname = coalesce($2, current_schema()) ORDER BY (c.relname = $1) DESC LIMIT 1",
        )
        .bind(table)
        .bind(schema)
        .fetch_optional(&mut **tx)
        .await;
        let mut t = Table {
            reference: sql::table_ref(schema, table),
            relname: String::new(),
            columns: Err(format!(
                "Could not read model '{table}': no such table or view"
            )),
        };
        let row = match found {
            Ok(Some(row)) => row,
            Ok(None) => return t,
            Err(e) => {
                t.columns = Err(format!("Could not read model '{table}': {e}"));
                return t;
            }
        };
        let (oid, relname, nspname): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        t.reference = sql::table_ref(Some(&nspname), &relname);
        t.relname = relname;
        t.columns = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(oid)
        .fetch_all(&mut **tx)
        .await
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .map_err(|e| format!("Could not read model '{table}': {e}"));
        t
    }

    /// The column a contract names: exactly, else case-insensitively (quoted, and its type).
    fn column(&self, name: &str) -> Option<(String, String)> {
        let cols = self.columns.as_ref().ok()?;
        cols.iter()
            .find(|(n, _)| n == name)
            .or_else(|| cols.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(n, t)| (sql::ident(n), t.clone()))
    }

    async fn run(
        &mut self,
        tx: &mut Tx<'_>,
        side: Option<&mut Tx<'_>>,
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
        let mut aggregated: Vec<(&Check, Aggregate)> = Vec::new();
        let mut duplicates: Vec<(&Check, Vec<String>)> = Vec::new();
        for &c in checks {
            match self.prepare(c) {
                Prepared::Done(m) => out.push((c.key.clone(), evaluate(c, m))),
                Prepared::Aggregate(a) => aggregated.push((c, a)),
                Prepared::Duplicate(cols) => duplicates.push((c, cols)),
                Prepared::Sql(q) => match fold(PG, &q, |n, quoted| self.named(n, quoted)) {
                    Some(e) => aggregated.push((c, Aggregate::Rule(e))),
                    None => {
                        let m = custom(tx, &q).await;
                        out.push((c.key.clone(), evaluate(c, m)));
                    }
                },
            }
        }
        // The two scans at once when a second connection shares the snapshot.
        let ((rows, measured), counts) = match side {
            Some(side) if !aggregated.is_empty() && !duplicates.is_empty() => {
                tokio::join!(
                    self.aggregate(tx, &aggregated, opts.now),
                    self.duplicate_counts(side, &duplicates)
                )
            }
            _ => (
                self.aggregate(tx, &aggregated, opts.now).await,
                self.duplicate_counts(tx, &duplicates).await,
            ),
        };
        for ((c, _), m) in aggregated.iter().zip(measured) {
            out.push((c.key.clone(), evaluate(c, m)));
        }
        let measured = self.duplicates(tx, counts, duplicates.len(), rows).await;
        for ((c, _), m) in duplicates.iter().zip(measured) {
            out.push((c.key.clone(), evaluate(c, m)));
        }
        if opts.samples {
            self.add_samples(tx, &mut out, checks, columns).await;
        }
        out
    }

    /// Whether a rule's unqualified `FROM` name is this table (unquoted names fold to lower
    /// case, as PostgreSQL reads them; the rule runs with the same `search_path`).
    fn named(&self, name: &str, quoted: bool) -> bool {
        if quoted {
            name == self.relname
        } else {
            name.to_lowercase() == self.relname
        }
    }

    fn prepare(&self, c: &Check) -> Prepared {
        prepare(PG, c, |f| self.column(f))
    }

    /// Every aggregate in one query; if it fails, each alone so one bad check does not take
    /// the others down. Returns the row count (if read) and one measurement per aggregate.
    async fn aggregate(
        &self,
        tx: &mut Tx<'_>,
        items: &[(&Check, Aggregate)],
        now: f64,
    ) -> (Option<i64>, Vec<Measured>) {
        if items.is_empty() {
            return (None, vec![]);
        }
        let all: Vec<Aggregate> = items.iter().map(|(_, a)| a.clone()).collect();
        let q = sql::aggregation(PG, &self.reference, &all);
        if let Ok(row) = fetch_one(tx, &q).await {
            let rows: i64 = row.try_get(0).unwrap_or_default();
            let mut at = 1;
            let measured = all
                .iter()
                .map(|a| read_aggregate(&row, &mut at, a, rows, now))
                .collect();
            return (Some(rows), measured);
        }
        let mut rows = None;
        let mut measured = Vec::new();
        for a in &all {
            let q = sql::aggregation(PG, &self.reference, std::slice::from_ref(a));
            match fetch_one(tx, &q).await {
                Ok(row) => {
                    let n: i64 = row.try_get(0).unwrap_or_default();
                    rows = Some(n);
                    measured.push(read_aggregate(&row, &mut 1, a, n, now));
                }
                Err(e) => measured.push(Measured::Failed(format!("Error evaluating check: {e}"))),
            }
        }
        (rows, measured)
    }

    /// Each duplicate check's number of keys occurring more than once: every key set of the
    /// table in one `GROUPING SETS` query (one scan).
    async fn duplicate_counts(
        &self,
        tx: &mut Tx<'_>,
        checks: &[(&Check, Vec<String>)],
    ) -> Result<Vec<i64>, sqlx::Error> {
        if checks.is_empty() {
            return Ok(vec![]);
        }
        let mut columns: Vec<String> = Vec::new();
        let mut sets: Vec<Vec<usize>> = Vec::new();
        let mut set_of_check = Vec::new();
        for (_, cols) in checks {
            let set: Vec<usize> = cols
                .iter()
                .map(|c| match columns.iter().position(|x| x == c) {
                    Some(i) => i,
                    None => {
                        columns.push(c.clone());
                        columns.len() - 1
                    }
                })
                .collect();
            let i = sets.iter().position(|s| *s == set).unwrap_or_else(|| {
                sets.push(set);
                sets.len() - 1
            });
            set_of_check.push(i);
        }
        let counts = if columns.len() <= 31 {
            grouping(tx, &self.reference, &columns, &sets).await
        } else {
            let mut all = Ok(vec![0; sets.len()]);
            for (i, s) in sets.iter().enumerate() {
                let cols: Vec<String> = s.iter().map(|&j| columns[j].clone()).collect();
                let one = grouping(tx, &self.reference, &cols, &[(0..cols.len()).collect()]).await;
                all = all.and_then(|mut v: Vec<i64>| {
                    v[i] = one?[0];
                    Ok(v)
                });
            }
            all
        };
        let counts = counts?;
        Ok(set_of_check.iter().map(|&i| counts[i]).collect())
    }

    /// The duplicate checks' measurements from their counts and the table's rows (counted here
    /// when no aggregation counted them).
    async fn duplicates(
        &self,
        tx: &mut Tx<'_>,
        counts: Result<Vec<i64>, sqlx::Error>,
        checks: usize,
        rows: Option<i64>,
    ) -> Vec<Measured> {
        let failed = |e: &dyn std::fmt::Display| {
            vec![Measured::Failed(format!("Error evaluating check: {e}")); checks]
        };
        let counts = match counts {
            Ok(c) => c,
            Err(e) => return failed(&e),
        };
        let rows = match rows {
            Some(n) => n,
            None if checks == 0 => 0,
            None => {
                match fetch_one(tx, &format!("SELECT count(*) FROM {}", self.reference)).await {
                    Ok(r) => r.try_get(0).unwrap_or_default(),
                    Err(e) => return failed(&e),
                }
            }
        };
        counts
            .into_iter()
            .map(|value| Measured::Count { value, rows })
            .collect()
    }

    async fn add_samples(
        &self,
        tx: &mut Tx<'_>,
        out: &mut [(String, CheckResult)],
        checks: &[&Check],
        columns: &SampleColumns,
    ) {
        for (key, result) in out.iter_mut() {
            if !matches!(result.result, Verdict::Failed | Verdict::Warning) {
                continue;
            }
            let Some(c) = checks.iter().find(|c| &c.key == key) else {
                continue;
            };
            let column = |f: &str| self.column(f);
            if let Some(q) = columns.sample_query(PG, &self.reference, c, column, MAX_SAMPLES) {
                result.samples = sample_rows(tx, &q).await;
            }
        }
    }
}

fn read_aggregate(
    row: &sqlx::postgres::PgRow,
    at: &mut usize,
    a: &Aggregate,
    rows: i64,
    now: f64,
) -> Measured {
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
            let text: Option<String> = row.try_get(*at).unwrap_or_default();
            *at += 1;
            Measured::Scalar(text.as_deref().and_then(value_of_text))
        }
    }
}

/// One statement in a savepoint, so an error leaves the transaction usable.
async fn fetch_one(tx: &mut Tx<'_>, q: &str) -> Result<sqlx::postgres::PgRow, sqlx::Error> {
    let mut sp = tx.begin().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(q.to_owned()))
        .fetch_one(&mut *sp)
        .await;
    match row {
        Ok(r) => {
            sp.commit().await?;
            Ok(r)
        }
        Err(e) => {
            tracing::debug!(error = %e, "data test query failed");
            sp.rollback().await?;
            Err(e)
        }
    }
}

async fn grouping(
    tx: &mut Tx<'_>,
    table: &str,
    columns: &[String],
    sets: &[Vec<usize>],
) -> Result<Vec<i64>, sqlx::Error> {
    let q = sql::duplicates(table, columns, sets);
    let mut sp = tx.begin().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(q))
        .fetch_all(&mut *sp)
        .await;
    sp.rollback().await?;
    let mut counts = vec![0; sets.len()];
    for r in rows? {
        let (k, n): (i32, i64) = (r.try_get(0)?, r.try_get(1)?);
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| counts.get_mut(k)) {
            *slot = n;
        }
    }
    Ok(counts)
}

/// A rule's query: the first column of its first row, as a number (booleans count as 0/1;
/// anything else is no value).
async fn custom(tx: &mut Tx<'_>, query: &str) -> Measured {
    let body = query.trim().trim_end_matches(';');
    let q = format!(
        "SELECT value FROM json_each_text((SELECT row_to_json(x) FROM ({body}\n) AS x LIMIT 1)) LIMIT 1"
    );
    match fetch_one(tx, &q).await {
        Ok(row) => {
            let text: Option<String> = row.try_get(0).unwrap_or_default();
            Measured::Scalar(text.as_deref().and_then(value_of_text))
        }
        Err(sqlx::Error::RowNotFound) => Measured::Scalar(None),
        Err(e) => Measured::Failed(format!("Error evaluating check: {e}")),
    }
}

async fn sample_rows(tx: &mut Tx<'_>, q: &str) -> Vec<Map<String, Value>> {
    let mut sp = match tx.begin().await {
        Ok(sp) => sp,
        Err(_) => return vec![],
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(q.to_owned()))
        .fetch_all(&mut *sp)
        .await;
    let _ = sp.rollback().await;
    rows.unwrap_or_default()
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .filter_map(|t| match serde_json::from_str(&t) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The duplicate scan's transaction sees what the counting scan's sees: a row committed
    /// between the two transactions' starts is in neither.
    #[tokio::test]
    async fn the_side_transaction_shares_the_first_ones_snapshot() {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            return;
        };
        let options: PgConnectOptions = url.parse().expect("database URL");
        let table = format!("socle_dq_snapshot_{}", std::process::id());
        let mut writer = connect(&options).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (i int); INSERT INTO {table} VALUES (1)"
        )))
        .execute(&mut writer)
        .await
        .unwrap();
        let run = RunOptions::at(0.0);
        let mut first = connect(&options).await.unwrap();
        let mut tx = begin(&mut first, None, &run, None).await.unwrap();
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} VALUES (2)"
        )))
        .execute(&mut writer)
        .await
        .unwrap();
        let mut second = connect(&options).await.unwrap();
        let mut side = begin(&mut second, None, &run, Some(&snapshot))
            .await
            .unwrap();
        let count = format!("SELECT count(*) FROM {table}");
        let seen: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
            .fetch_one(&mut *side)
            .await
            .unwrap();
        let now: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
            .fetch_one(&mut writer)
            .await
            .unwrap();
        side.rollback().await.unwrap();
        tx.rollback().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
            .execute(&mut writer)
            .await
            .unwrap();
        assert_eq!((seen, now), (1, 2));
    }
}
