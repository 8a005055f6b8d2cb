//! Data contracts: a generated table in PostgreSQL (10 columns, 10 M rows by default) checked
//! against one contract (15 quality rules plus the schema checks its columns imply) by Socle's
//! engine and by datacontract-cli (`datacontract test`, PyPI) when it is installed, end to end,
//! side by side; with the table's sequential scans per Socle run and the verdicts compared.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use socle_app::data_test::{DataTestRequest, test_contract};

use crate::output::{self, Format};

#[derive(Args)]
pub struct DataBench {
    /// Rows in the generated table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// PostgreSQL to generate the table in (schema `socle_bench_dq`).
    #[arg(
        long,
        env = "SOCLE_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    url: String,
    /// datacontract-cli's executable (skipped when absent).
    #[arg(long, default_value = "datacontract")]
    datacontract: PathBuf,
    /// Runs of each tool (the best is reported, with all of them).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Keep the generated table from an earlier run with the same row count.
    #[arg(long)]
    reuse: bool,
    /// Also export the table to a CSV file and check it with both tools (the files engine).
    #[arg(long)]
    files: bool,
    /// Also write the table as Parquet (DuckDB, from the Python beside datacontract-cli) and
    /// check it with both tools.
    #[arg(long)]
    parquet: bool,
    /// Keep the exported files in this directory (and reuse them on the next run) instead of a
    /// temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Check only the files (`--files`, `--parquet`), not the PostgreSQL table.
    #[arg(long)]
    files_only: bool,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

const SCHEMA: &str = "socle_bench_dq";

/// 10 columns; 15 `quality[]` rules (library metrics of every kind, percent units, a composite
/// duplicate check, two SQL rules) plus required, unique and pattern options.
const CONTRACT: &str = r#"apiVersion: v3.1.0
kind: DataContract
id: bench-orders
name: orders
version: 1.0.0
status: active
servers:
  - server: bench
    type: postgres
    host: 127.0.0.1
    port: 5432
    database: test
    schema: socle_bench_dq
schema:
  - name: orders
    physicalType: table
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
      - metric: duplicateValues
        arguments: {properties: [customer_id, placed_at]}
        mustBeLessOrEqualTo: 100000
      - type: sql
        description: no negative amounts
        query: SELECT count(*) FROM {object} WHERE amount < 0
        mustBe: 0
      - type: sql
        description: average amount is plausible
        query: SELECT avg(amount) FROM {object}
        mustBeBetween: [1, 10000]
    properties:
      - {name: order_id, logicalType: integer, physicalType: bigint, required: true, unique: true}
      - name: customer_id
        logicalType: integer
        required: true
        quality:
          - {metric: nullValues, mustBe: 0}
      - name: email
        logicalType: string
        classification: pii
        logicalTypeOptions: {pattern: '@'}
        quality:
          - {metric: nullValues, mustBeLessOrEqualTo: 1, unit: percent}
          - {metric: duplicateValues, mustBeGreaterOrEqualTo: 0}
      - name: status
        logicalType: string
        quality:
          - metric: invalidValues
            arguments: {validValues: [placed, paid, shipped, delivered]}
            mustBe: 0
          - metric: missingValues
            arguments: {missingValues: ['', 'n/a']}
            mustBe: 0
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0, maximum: 100000}
        quality:
          - {metric: nullValues, mustBe: 0}
      - {name: qty, logicalType: integer, logicalTypeOptions: {minimum: 1, maximum: 50}}
      - name: country
        logicalType: string
        logicalTypeOptions: {maxLength: 2}
        quality:
          - metric: invalidValues
            arguments: {pattern: '^[A-Z]{2}$'}
            mustBe: 0
      - {name: placed_at, logicalType: timestamp, required: true}
      - name: sku
        logicalType: string
        quality:
          - metric: invalidValues
            arguments: {pattern: '^SKU-[0-9]+$'}
            mustBeLessThan: 5
            unit: percent
          - metric: missingValues
            arguments: {missingValues: ['']}
            mustBe: 0
      - name: discount
        logicalType: number
        quality:
          - {metric: nullValues, mustBeLessOrEqualTo: 15, unit: percent}
slaProperties:
  - {property: freshness, value: 1, unit: d, element: orders.placed_at}
"#;

#[derive(Serialize)]
struct Side {
    tool: String,
    seconds: Vec<f64>,
    best_seconds: f64,
    checks: usize,
    failed: usize,
}

#[derive(Serialize)]
struct Report {
    rows: u64,
    generate_seconds: Option<f64>,
    quality_rules: usize,
    /// The PostgreSQL table (absent with `--files-only`).
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres: Option<PgReport>,
    /// The same data as CSV (`--files`).
    #[serde(skip_serializing_if = "Option::is_none")]
    csv: Option<FilesReport>,
    /// The same data as Parquet (`--parquet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    parquet: Option<FilesReport>,
}

/// The table checked in PostgreSQL by both tools.
#[derive(Serialize)]
struct PgReport {
    socle: Side,
    /// Sequential scans of the table during one Socle run (PostgreSQL's own counter).
    socle_table_scans: i64,
    datacontract: Option<Side>,
    /// Checks whose verdicts both tools report, and how many of them agree.
    compared: usize,
    agreeing: usize,
    speedup: Option<f64>,
}

/// Which file the table is checked as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    Parquet,
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Parquet => "parquet",
        }
    }
}

#[derive(Serialize)]
struct FilesReport {
    format: &'static str,
    bytes: u64,
    socle: Side,
    datacontract: Option<Side>,
    compared: usize,
    agreeing: usize,
    speedup: Option<f64>,
}

/// The contract with its server replaced by a local file of `kind` beside it.
fn file_contract(kind: FileKind) -> String {
    let (head, rest) = CONTRACT.split_once("servers:\n").expect("servers");
    let (_, schema) = rest.split_once("schema:\n").expect("schema");
    let f = kind.name();
    format!(
        "{head}servers:\n  - server: bench\n    type: local\n    format: {f}\n    path: orders.{f}\nschema:\n{schema}"
    )
}

/// The table's columns with the DuckDB types of its Parquet copy.
const PARQUET_COLUMNS: &str = "{'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'email': 'VARCHAR', \
    'status': 'VARCHAR', 'amount': 'DOUBLE', 'qty': 'BIGINT', 'country': 'VARCHAR', \
    'placed_at': 'TIMESTAMPTZ', 'sku': 'VARCHAR', 'discount': 'DOUBLE'}";

/// Exports the table as CSV (timestamps in UTC ISO-8601) unless it is there already; for
/// Parquet, has DuckDB (the Python beside datacontract-cli) write it with typed columns.
fn export(args: &DataBench, dir: &std::path::Path, kind: FileKind) -> anyhow::Result<PathBuf> {
    let csv = dir.join("orders.csv");
    if !csv.exists() {
        psql(
            &args.url,
            &format!(
                "\\copy (SELECT order_id, customer_id, email, status, amount, qty, country, \
                   to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS placed_at, sku, discount \
                   FROM {SCHEMA}.orders) TO '{}' WITH (FORMAT csv, HEADER)",
                csv.display()
            ),
        )?;
    }
    if kind == FileKind::Csv {
        return Ok(csv);
    }
    let out = dir.join("orders.parquet");
    if out.exists() {
        return Ok(out);
    }
    let dc = which(&args.datacontract)
        .context("--parquet writes the file with datacontract-cli's DuckDB")?;
    let python = dc.with_file_name("python");
    let script = format!(
        "import duckdb\nduckdb.sql(\"SET TimeZone = 'UTC'\")\nduckdb.sql(\"COPY (SELECT * FROM read_csv('{}', header = true, columns = {PARQUET_COLUMNS})) TO '{}' (FORMAT parquet)\")\n",
        csv.display(),
        out.display()
    );
    let status = Command::new(&python).arg("-c").arg(&script).status()?;
    if !status.success() {
        bail!("{} could not write {}", python.display(), out.display());
    }
    Ok(out)
}

/// An executable by path or on PATH.
fn which(exe: &std::path::Path) -> Option<PathBuf> {
    if exe.components().count() > 1 {
        return exe.exists().then(|| exe.to_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(exe))
            .find(|p| p.is_file())
    })
}

/// Checks the table as a file of `kind` with both tools.
async fn files(
    args: &DataBench,
    dir: &std::path::Path,
    kind: FileKind,
) -> anyhow::Result<FilesReport> {
    let data = export(args, dir, kind)?;
    let file = dir.join(format!("orders-{}.odcs.yaml", kind.name()));
    let text = file_contract(kind);
    std::fs::write(&file, &text)?;
    let req = DataTestRequest {
        statement_timeout: Some(std::time::Duration::from_secs(600)),
        max_rows: Some(usize::MAX),
        ..DataTestRequest::default()
    };
    let mut times = Vec::new();
    let mut ours = None;
    for _ in 0..args.runs.max(1) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
        let started = Instant::now();
        ours = Some(test_contract(&text, &file.display().to_string(), &req, now).await?);
        times.push(started.elapsed().as_secs_f64());
    }
    let ours = ours.expect("one run");
    let socle = Side {
        tool: format!("socle ({})", kind.name()),
        best_seconds: best(&times),
        seconds: times,
        checks: ours.checks.len(),
        failed: ours.counts.failed + ours.counts.error,
    };
    let peer = peer(args, &file)?;
    let (compared, agreeing) = agreement(&ours, peer.as_ref());
    let datacontract = peer.map(|p| Side {
        tool: format!("datacontract-cli ({})", kind.name()),
        ..p.side
    });
    Ok(FilesReport {
        format: kind.name(),
        bytes: std::fs::metadata(&data)?.len(),
        speedup: datacontract
            .as_ref()
            .map(|d| d.best_seconds / socle.best_seconds),
        socle,
        datacontract,
        compared,
        agreeing,
    })
}

/// Checks whose verdicts both tools report, and how many agree.
fn agreement(
    ours: &socle_app::data_test::DataTestReport,
    peer: Option<&PeerRun>,
) -> (usize, usize) {
    let (mut compared, mut agreeing) = (0, 0);
    if let Some(PeerRun { verdicts, .. }) = peer {
        for c in &ours.checks {
            if let Some(v) = verdicts.iter().find(|(k, _)| k == &c.key).map(|(_, v)| v) {
                compared += 1;
                agreeing += usize::from(v == c.result.as_str());
            }
        }
    }
    (compared, agreeing)
}

fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let o = Command::new("psql")
        .args([url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("psql (postgresql-client) runs")?;
    if !o.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&o.stderr));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn generate(url: &str, rows: u64, reuse: bool) -> anyhow::Result<Option<f64>> {
    let have = psql(
        url,
        &format!(
            "SELECT coalesce((SELECT reltuples::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{SCHEMA}' AND c.relname = 'orders'), -1)"
        ),
    )?;
    if reuse && have.parse::<i64>().ok() == Some(rows as i64) {
        return Ok(None);
    }
    let started = Instant::now();
    psql(
        url,
        &format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"),
    )?;
    psql(
        url,
        &format!(
            "CREATE UNLOGGED TABLE {SCHEMA}.orders AS SELECT \
               i::int8 AS order_id, (i % 500000)::int4 AS customer_id, \
               CASE WHEN i % 250 = 0 THEN NULL ELSE 'user' || (i % 500000) || '@example.com' END AS email, \
               (ARRAY['placed','paid','shipped','delivered'])[1 + i % 4] AS status, \
               round((i % 10000)::numeric / 7, 2)::numeric(12,2) AS amount, (1 + i % 50)::int4 AS qty, \
               (ARRAY['FR','DE','IT','ES','NL'])[1 + i % 5]::char(2) AS country, \
               now() - make_interval(secs => (i % 86000)) AS placed_at, \
               'SKU-' || (i % 9973) AS sku, \
               CASE WHEN i % 10 = 0 THEN NULL ELSE (i % 30)::numeric END AS discount \
             FROM generate_series(1, {rows}) AS i; ANALYZE {SCHEMA}.orders"
        ),
    )?;
    Ok(Some(started.elapsed().as_secs_f64()))
}

fn scans(url: &str) -> anyhow::Result<i64> {
    Ok(psql(
        url,
        &format!("SELECT pg_stat_force_next_flush(); SELECT coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE schemaname = '{SCHEMA}' AND relname = 'orders'"),
    )?
    .lines()
    .last()
    .unwrap_or("0")
    .parse()?)
}

fn best(seconds: &[f64]) -> f64 {
    seconds.iter().copied().fold(f64::INFINITY, f64::min)
}

pub async fn data(args: DataBench) -> anyhow::Result<std::process::ExitCode> {
    let kept = |f: &str| args.dir.as_ref().is_some_and(|d| d.join(f).exists());
    let files_kept = kept("orders.csv") && (!args.parquet || kept("orders.parquet"));
    // Files kept from an earlier run (`--dir`, `--reuse`) need no table when it is not checked.
    let generated = if args.files_only && args.reuse && files_kept {
        None
    } else {
        generate(&args.url, args.rows, args.reuse)?
    };
    let temp = tempfile::tempdir()?;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            if generated.is_some() || !args.reuse {
                // Files of another table: exported again.
                for f in ["orders.csv", "orders.parquet"] {
                    let _ = std::fs::remove_file(d.join(f));
                }
            }
            d.clone()
        }
        None => temp.path().to_owned(),
    };
    let postgres = if args.files_only {
        None
    } else {
        Some(postgres(&args, &dir).await?)
    };
    let csv = if args.files {
        Some(files(&args, &dir, FileKind::Csv).await?)
    } else {
        None
    };
    let parquet = if args.parquet {
        Some(files(&args, &dir, FileKind::Parquet).await?)
    } else {
        None
    };
    let report = Report {
        rows: args.rows,
        generate_seconds: generated,
        quality_rules: 15,
        postgres,
        csv,
        parquet,
    };
    output::print(args.output, &report, |r| {
        let mut t = String::new();
        if let Some(pg) = &r.postgres {
            t.push_str(&sides(&pg.socle, pg.datacontract.as_ref()));
            t.push_str(&format!(
                "{} rows, {} quality rules; Socle scanned the table {} times per run; verdicts agree on {}/{} checks{}\n",
                r.rows,
                r.quality_rules,
                pg.socle_table_scans,
                pg.agreeing,
                pg.compared,
                pg.speedup.map(|s| format!("; Socle {s:.1}x faster")).unwrap_or_default()
            ));
        }
        for f in r.csv.iter().chain(&r.parquet) {
            t.push_str(&sides(&f.socle, f.datacontract.as_ref()));
            t.push_str(&format!(
                "the same rows as {} ({:.1} MB); verdicts agree on {}/{} checks{}\n",
                f.format,
                f.bytes as f64 / 1e6,
                f.agreeing,
                f.compared,
                f.speedup
                    .map(|s| format!("; Socle {s:.1}x faster"))
                    .unwrap_or_default()
            ));
        }
        t
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Both tools on the PostgreSQL table, with the table's scans per Socle run.
async fn postgres(args: &DataBench, dir: &std::path::Path) -> anyhow::Result<PgReport> {
    let file = dir.join("orders.odcs.yaml");
    std::fs::write(&file, CONTRACT)?;
    let req = DataTestRequest {
        url: Some(args.url.clone()),
        statement_timeout: Some(std::time::Duration::from_secs(600)),
        ..DataTestRequest::default()
    };
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
    };
    // Passes over the table, counted by PostgreSQL in one untimed run without parallel workers
    // (each worker's share of a parallel scan counts as a scan of its own).
    let serial = DataTestRequest {
        url: Some(format!(
            "{}{}options=-c%20max_parallel_workers_per_gather%3D0",
            args.url,
            if args.url.contains('?') { '&' } else { '?' }
        )),
        ..req.clone()
    };
    let before = scans(&args.url)?;
    test_contract(CONTRACT, &file.display().to_string(), &serial, now()?).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let table_scans = scans(&args.url)? - before;
    let mut times = Vec::new();
    let mut ours = None;
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        let report = test_contract(CONTRACT, &file.display().to_string(), &req, now()?).await?;
        times.push(started.elapsed().as_secs_f64());
        ours = Some(report);
    }
    let ours = ours.expect("one run");
    let socle = Side {
        tool: "socle".into(),
        best_seconds: best(&times),
        seconds: times,
        checks: ours.checks.len(),
        failed: ours.counts.failed + ours.counts.error,
    };
    let peer = peer(args, &file)?;
    let (compared, agreeing) = agreement(&ours, peer.as_ref());
    let datacontract = peer.map(|p| p.side);
    Ok(PgReport {
        speedup: datacontract
            .as_ref()
            .map(|d| d.best_seconds / socle.best_seconds),
        socle,
        socle_table_scans: table_scans,
        datacontract,
        compared,
        agreeing,
    })
}

/// Socle's and (when it ran) datacontract-cli's runs as a table.
fn sides(socle: &Side, peer: Option<&Side>) -> String {
    let mut rows = vec![side_row(socle)];
    rows.extend(peer.map(side_row));
    output::table(&["TOOL", "BEST (s)", "RUNS (s)", "CHECKS", "FAILED"], &rows)
}

fn side_row(s: &Side) -> Vec<String> {
    vec![
        s.tool.clone(),
        format!("{:.2}", s.best_seconds),
        s.seconds
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        s.checks.to_string(),
        s.failed.to_string(),
    ]
}

/// datacontract-cli's run: its time, and its verdicts as (check key, result).
struct PeerRun {
    side: Side,
    verdicts: Vec<(String, String)>,
}

/// datacontract-cli's time and verdicts, or `None` when it is not installed.
fn peer(args: &DataBench, file: &std::path::Path) -> anyhow::Result<Option<PeerRun>> {
    if Command::new(&args.datacontract)
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "datacontract-cli not found ({}): Socle alone",
            args.datacontract.display()
        );
        return Ok(None);
    }
    let out = file.with_extension("json");
    let mut times = Vec::new();
    for _ in 0..args.runs.max(1) {
        let started = Instant::now();
        // A file server's relative path is read from the working directory by the peer.
        let status = Command::new(&args.datacontract)
            .current_dir(file.parent().unwrap_or(std::path::Path::new(".")))
            .arg("test")
            .arg(file)
            .args([
                "--output",
                out.to_str().unwrap_or_default(),
                "--output-format",
                "json",
            ])
            .env("DATACONTRACT_POSTGRES_USERNAME", "postgres")
            .env("DATACONTRACT_POSTGRES_PASSWORD", "unused")
            .output()?;
        times.push(started.elapsed().as_secs_f64());
        if !out.exists() {
            bail!(
                "datacontract test wrote no report: {}",
                String::from_utf8_lossy(&status.stderr)
            );
        }
    }
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    let checks = run["checks"].as_array().cloned().unwrap_or_default();
    let verdicts: Vec<(String, String)> = checks
        .iter()
        .filter_map(|c| {
            Some((
                c["key"].as_str()?.to_owned(),
                c["result"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let failed = verdicts
        .iter()
        .filter(|(_, v)| v == "failed" || v == "error")
        .count();
    Ok(Some(PeerRun {
        side: Side {
            tool: "datacontract-cli".into(),
            best_seconds: best(&times),
            seconds: times,
            checks: checks.len(),
            failed,
        },
        verdicts,
    }))
}
