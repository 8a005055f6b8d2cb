//! `socle data …`: data contracts (ODCS v3.0/v3.1) checked against the official JSON Schema of
//! their apiVersion and turned into the catalog entity of their data product. Needs no store.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use socle_catalog::Limits;
use socle_data::ContractError;

use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum DataCmd {
    /// Check data contracts (`*.odcs.yaml`): the official ODCS JSON Schema of each file's
    /// apiVersion (v3.0.x or v3.1.0), then what the catalog needs (an owner group, a tier of
    /// bronze, silver or gold, producer and consumer references). Prints each contract's catalog
    /// entity; errors go to stderr as `file:line:column path: message [rule]`; exits 1 on any.
    #[command(
        after_help = "Example:\n  socle data validate orders.odcs.yaml\n  socle data validate -o json contracts/*.odcs.yaml"
    )]
    Validate {
        /// ODCS files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run a contract's checks on one of its servers (PostgreSQL, or local CSV / JSON Lines / Parquet
    /// files, read from the contract's directory when relative): the schema checks its columns
    /// imply (present, type, required, unique, primary key, lengths, bounds, pattern), its
    /// `quality[]` rules (rowCount, nullValues, missingValues, invalidValues, duplicateValues,
    /// sql) and its freshness and retention SLAs, with datacontract-cli's verdicts. Read-only:
    /// one transaction that cannot write (files: a private in-memory database made read-only),
    /// each statement time-limited. Credentials come from PGUSER/PGPASSWORD (or --url). Exits 1
    /// when a check fails or errs.
    #[command(
        after_help = "Examples:\n  PGUSER=reader PGPASSWORD=... socle data test orders.odcs.yaml --server production\n  socle data test orders.odcs.yaml --url postgres://reader@127.0.0.1/shop --schema staging --samples --junit report.xml\n  socle data test exports.odcs.yaml --server csv --max-rows 2000000"
    )]
    Test {
        /// The ODCS file.
        contract: PathBuf,
        /// The server to test (its `server` name); the contract's first server by default.
        #[arg(long)]
        server: Option<String>,
        /// A postgres:// URL replacing the server's host, port and database.
        #[arg(long, env = "SOCLE_DATA_URL")]
        url: Option<String>,
        /// A schema replacing the server's (e.g. a staging copy of the data).
        #[arg(long)]
        schema: Option<String>,
        /// Show up to five failing rows per failed check (columns classified as personal or
        /// restricted are never shown).
        #[arg(long)]
        samples: bool,
        /// Longest a single statement may run, in seconds.
        #[arg(long, default_value_t = 60)]
        timeout_seconds: u64,
        /// Files: most rows read per object (they are held in memory while tested).
        #[arg(long, default_value_t = socle_app::data_test::MAX_FILE_ROWS)]
        max_rows: usize,
        /// Also write the results as JUnit XML to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Record the run in the data product's quality history in Socle's store (its page
        /// charts it; scorecards read it). Samples are never recorded.
        #[arg(long)]
        record: bool,
        #[command(flatten)]
        store: super::setup::StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run a pipeline of SQL models (DIR/models/**/*.sql, dbt-like: `{{ ref('model') }}`,
    /// `{{ source('src', 'table') }}`, `{{ config(materialized='table', tier='gold',
    /// contract='contracts/x.odcs.yaml') }}`) on PostgreSQL in dependency order, each model's
    /// contract checked right after it builds. A model that fails to build stops the models
    /// downstream of it; a gold model whose checks fail (any model, with --fail-fast) stops
    /// them too; other branches go on. The run is recorded in Socle's store. Exits 1 when a
    /// model failed or was skipped.
    #[command(
        after_help = "Examples:\n  socle data run shop-pipeline --url postgres://etl@db/warehouse --schema analytics --source shop=landing\n  socle data run shop-pipeline --url postgres://etl@db/warehouse --select +revenue_by_day -o json"
    )]
    Run {
        /// The pipeline's directory (its models under models/).
        dir: PathBuf,
        /// postgres:// URL of the database models are built in and checked on (credentials
        /// from PGUSER/PGPASSWORD when the URL has none).
        #[arg(long, env = "SOCLE_DATA_URL")]
        url: String,
        /// The schema models are built in (created if missing).
        #[arg(long, default_value = "public")]
        schema: String,
        /// Where a source's tables are: SOURCE=SCHEMA (repeatable; a source's own name
        /// otherwise).
        #[arg(long = "source", value_name = "SOURCE=SCHEMA", value_parser = source_schema)]
        sources: Vec<(String, String)>,
        /// Models to run, dbt's way: `model`, `+model` (and what it depends on), `model+`
        /// (and what depends on it); several separated by commas.
        #[arg(long)]
        select: Option<String>,
        /// Any failing check stops the models downstream (not only a gold model's).
        #[arg(long)]
        fail_fast: bool,
        /// The contract server checked (its name); each contract's first postgres server by
        /// default. Its host and database are replaced by --url, its schema by --schema.
        #[arg(long)]
        server: Option<String>,
        /// Longest a single statement may run, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
        #[command(flatten)]
        store: super::setup::StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List the pipeline runs `socle data run` recorded, newest first; with a run id, that run
    /// with each model's status, tier, duration, check counts and reason. Exits 1 when the
    /// run named failed.
    #[command(
        after_help = "Examples:\n  socle data runs\n  socle data runs --pipeline shop-pipeline --limit 5 -o json\n  socle data runs 5b0fb3a6cedba075a41e684f97feed52"
    )]
    Runs {
        /// A run's id: show that run and its models.
        id: Option<String>,
        /// Only the runs of this pipeline directory (as it was given to `socle data run`).
        #[arg(long)]
        pipeline: Option<String>,
        /// Most runs listed.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        store: super::setup::StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Show a pipeline's models in dependency order with their lineage, read from the SQL: the
    /// models, sources and other tables each reads (CTEs left out), and for plain selects
    /// where each column comes from. Needs no database. Exits 1 when the pipeline cannot be
    /// read (unknown ref, cycle, bad SQL — each as file:line).
    #[command(
        after_help = "Examples:\n  socle data lineage shop-pipeline\n  socle data lineage shop-pipeline --schema analytics -o json"
    )]
    Lineage {
        /// The pipeline's directory (its models under models/).
        dir: PathBuf,
        /// The schema models are built in (as `socle data run --schema`).
        #[arg(long, default_value = "public")]
        schema: String,
        /// Where a source's tables are: SOURCE=SCHEMA (repeatable).
        #[arg(long = "source", value_name = "SOURCE=SCHEMA", value_parser = source_schema)]
        sources: Vec<(String, String)>,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

fn source_schema(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected SOURCE=SCHEMA, got {s:?}")),
    }
}

pub async fn run(cmd: DataCmd) -> anyhow::Result<Outcome> {
    match cmd {
        DataCmd::Validate { files, output } => validate(&files, output),
        DataCmd::Test {
            contract,
            server,
            url,
            schema,
            samples,
            timeout_seconds,
            max_rows,
            junit,
            record,
            store,
            output,
        } => {
            let req = socle_app::data_test::DataTestRequest {
                server,
                url,
                schema,
                samples,
                statement_timeout: Some(std::time::Duration::from_secs(timeout_seconds.max(1))),
                max_rows: Some(max_rows),
            };
            let record = record.then_some(&store);
            test(&contract, &req, junit.as_deref(), record, output).await
        }
        DataCmd::Run {
            dir,
            url,
            schema,
            sources,
            select,
            fail_fast,
            server,
            timeout_seconds,
            store,
            output,
        } => {
            super::must_exist(&dir)?;
            let req = socle_app::data_run::DataRunRequest {
                dir,
                url,
                schema,
                sources: sources.into_iter().collect(),
                select,
                fail_fast,
                server,
                statement_timeout: std::time::Duration::from_secs(timeout_seconds.max(1)),
            };
            super::data_pipeline::run(&req, &store, output).await
        }
        DataCmd::Runs {
            id,
            pipeline,
            limit,
            store,
            output,
        } => {
            super::data_pipeline::runs(id.as_deref(), pipeline.as_deref(), limit, &store, output)
                .await
        }
        DataCmd::Lineage {
            dir,
            schema,
            sources,
            output,
        } => {
            super::must_exist(&dir)?;
            super::data_pipeline::lineage(&dir, schema, sources.into_iter().collect(), output).await
        }
    }
}

async fn test(
    file: &std::path::Path,
    req: &socle_app::data_test::DataTestRequest,
    junit: Option<&std::path::Path>,
    record: Option<&super::setup::StoreArgs>,
    output: Format,
) -> anyhow::Result<Outcome> {
    use socle_data::quality::Verdict;
    super::must_exist(file)?;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64();
    let report = socle_app::data_test::test_contract(&text, &name, req, now).await?;
    if let Some(path) = junit {
        std::fs::write(path, report.junit())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(store) = record {
        record_run(&report, store).await?;
    }
    let failed = matches!(report.result, Verdict::Failed | Verdict::Error);
    let lines: Vec<String> = report
        .checks
        .iter()
        .filter(|c| matches!(c.result, Verdict::Failed | Verdict::Error))
        .map(|c| {
            format!(
                "{name}: {}: {}",
                c.key,
                c.reason.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    Ok(Outcome::new(output, &report, |r| {
        let rows: Vec<Vec<String>> = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    c.result.as_str().to_owned(),
                    c.table.clone(),
                    c.field.clone().unwrap_or_default(),
                    c.name.clone(),
                    c.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut t = output::table(&["RESULT", "TABLE", "FIELD", "CHECK", "DETAILS"], &rows);
        t.push_str(&format!(
            "{} on {} ({}): {} — {} passed, {} warnings, {} failed, {} errors in {} ms\n",
            r.contract,
            r.server,
            r.server_type,
            r.result.as_str(),
            r.counts.passed,
            r.counts.warning,
            r.counts.failed,
            r.counts.error,
            r.duration_ms
        ));
        t
    })?
    .table_stderr(lines)
    .failed(failed))
}

/// Records a test in its product's quality history.
async fn record_run(
    report: &socle_app::data_test::DataTestReport,
    store: &super::setup::StoreArgs,
) -> anyhow::Result<()> {
    use socle_app::data_quality::{Recording, run_of_report};
    let product = report.product.clone().with_context(|| {
        format!(
            "{}: the contract names no data product to record for",
            report.file
        )
    })?;
    let rec = Recording {
        product,
        origin: socle_store::QualityOrigin::Cli,
        recorded_by: super::data_pipeline::recorder(),
        ran_at: i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis(),
        )?,
    };
    let run = run_of_report(report, rec).map_err(|e| anyhow::anyhow!(e.message))?;
    store.open().await?.record_quality_run(&run).await?;
    Ok(())
}

#[derive(Serialize)]
struct Row {
    file: String,
    entity: String,
    odcs: String,
    owner: String,
    tier: String,
    objects: usize,
}

#[derive(Serialize)]
struct Report {
    valid: bool,
    contracts: Vec<Row>,
    errors: Vec<ContractError>,
}

fn text_of(v: &serde_json::Value, key: &str) -> String {
    v["spec"][key].as_str().unwrap_or_default().to_owned()
}

fn validate(files: &[PathBuf], output: Format) -> anyhow::Result<Outcome> {
    for f in files {
        super::must_exist(f)?;
    }
    let limits = Limits::default();
    let mut contracts = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let len = std::fs::metadata(f)
            .with_context(|| format!("cannot read {name}"))?
            .len();
        if len > limits.max_file_bytes as u64 {
            errors.push(ContractError {
                file: name,
                line: None,
                column: None,
                path: String::new(),
                rule: "file.too-large".into(),
                message: format!(
                    "the file is {len} bytes, more than the limit of {} bytes",
                    limits.max_file_bytes
                ),
            });
            continue;
        }
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        let entity = socle_data::load(&text, &name, &limits)
            .and_then(|c| socle_data::to_entity(&c).map(|e| (c, e)));
        match entity {
            Ok((c, e)) => contracts.push(Row {
                file: name,
                entity: format!(
                    "datacontract:default/{}",
                    e["metadata"]["name"].as_str().unwrap_or_default()
                ),
                odcs: c.api_version.clone(),
                owner: text_of(&e, "owner"),
                tier: text_of(&e, "tier"),
                objects: c.schema.len(),
            }),
            Err(e) => errors.extend(e),
        }
    }
    let report = Report {
        valid: errors.is_empty(),
        contracts,
        errors,
    };
    let lines: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    let failed = !report.valid;
    Ok(Outcome::new(output, &report, |r| {
        let rows: Vec<Vec<String>> = r
            .contracts
            .iter()
            .map(|c| {
                vec![
                    c.entity.clone(),
                    c.odcs.clone(),
                    c.owner.clone(),
                    c.tier.clone(),
                    c.objects.to_string(),
                    c.file.clone(),
                ]
            })
            .collect();
        let mut t = output::table(
            &["ENTITY", "ODCS", "OWNER", "TIER", "OBJECTS", "FILE"],
            &rows,
        );
        t.push_str(&format!(
            "{} contracts, {} errors\n",
            r.contracts.len(),
            r.errors.len()
        ));
        t
    })?
    .table_stderr(lines)
    .failed(failed))
}
