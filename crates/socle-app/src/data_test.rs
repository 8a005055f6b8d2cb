//! `socle data test`: a data contract's checks run on one of its servers — the schema checks
//! its columns imply, its `quality[]` rules and its freshness and retention SLAs — with a
//! verdict per check (value, threshold, passed/warning/failed/error) as datacontract-cli 1.2
//! gives them. PostgreSQL servers run on `socle-data-pg`; file servers (`local`, CSV or JSON)
//! on `socle-data-files`, their relative paths read from the contract's directory; other server
//! types are refused by name until their engine lands.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use socle_catalog::Limits;
use socle_data::ContractError;
use socle_data::quality::{CheckResult, Verdict, overall, plan};

/// Default bound on rows read per object of a file server.
pub const MAX_FILE_ROWS: usize = socle_data_files::MAX_ROWS;

/// What to test, and how.
#[derive(Clone, Debug, Default)]
pub struct DataTestRequest {
    /// The server to test (its `server` name); the first one when `None`.
    pub server: Option<String>,
    /// A `postgres://` URL replacing the server's host, port and database (credentials
    /// otherwise come from `PGUSER`/`PGPASSWORD`).
    pub url: Option<String>,
    /// A schema replacing the server's (e.g. a staging copy of the data).
    pub schema: Option<String>,
    /// Collect up to five failing rows per failed counting check.
    pub samples: bool,
    /// Longest a single statement may run (default 60 s).
    pub statement_timeout: Option<Duration>,
    /// Files: most rows read per object (default `socle_data_files::MAX_ROWS`).
    pub max_rows: Option<usize>,
}

/// Counts of verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub warning: usize,
    pub failed: usize,
    pub error: usize,
}

/// A finished test run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTestReport {
    pub file: String,
    pub contract: String,
    /// The data product's catalog entity (`datacontract:default/<name>`), when it has a name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub server: String,
    pub server_type: String,
    pub result: Verdict,
    pub counts: Counts,
    pub duration_ms: u64,
    pub checks: Vec<CheckResult>,
}

impl DataTestReport {
    /// The run as JUnit XML.
    pub fn junit(&self) -> String {
        socle_data::quality::junit::render(
            &self.contract,
            &self.server,
            &self.checks,
            self.duration_ms as f64 / 1000.0,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataTestError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Contract(Vec<ContractError>),
    #[error("{file}: the contract has no server named {name:?} (it has: {known})")]
    NoSuchServer {
        file: String,
        name: String,
        known: String,
    },
    #[error("{file}: the contract names no server to test")]
    NoServer { file: String },
    #[error(
        "{file}: server {server:?} is of type {server_type:?}; `socle data test` runs on postgres servers and local csv, json or parquet files today"
    )]
    Unsupported {
        file: String,
        server: String,
        server_type: String,
    },
    #[error("{0}")]
    Engine(#[from] socle_data_pg::EngineError),
    #[error("{0}")]
    Files(#[from] socle_data_files::EngineError),
}

/// Tests the contract `text` (read from `file`) at `now` (seconds since the epoch).
pub async fn test_contract(
    text: &str,
    file: &str,
    req: &DataTestRequest,
    now: f64,
) -> Result<DataTestReport, DataTestError> {
    let started = Instant::now();
    let contract =
        socle_data::load(text, file, &Limits::default()).map_err(DataTestError::Contract)?;
    let spec = contract
        .test_spec()
        .map_err(|e| DataTestError::Contract(vec![e]))?;
    let server = match &req.server {
        Some(name) => spec
            .servers
            .iter()
            .find(|s| &s.server == name)
            .ok_or_else(|| DataTestError::NoSuchServer {
                file: file.into(),
                name: name.clone(),
                known: spec
                    .servers
                    .iter()
                    .map(|s| s.server.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        None => spec
            .servers
            .first()
            .ok_or_else(|| DataTestError::NoServer { file: file.into() })?,
    };
    let checks = plan(&spec, server);
    let timeout = req.statement_timeout;
    let results = match server.server_type.as_str() {
        "postgres" | "postgresql" => {
            let target = socle_data_pg::Target::of(server, req.url.as_deref())?;
            let mut opts = socle_data_pg::RunOptions::at(now);
            opts.samples = req.samples;
            if let Some(t) = timeout {
                opts.statement_timeout = t;
            }
            let schema = req.schema.as_deref().or(server.schema.as_deref());
            socle_data_pg::run(&target, schema, &spec, &checks, &opts).await?
        }
        "local" if socle_data_files::Format::of(server).is_some() => {
            let mut opts = socle_data_files::RunOptions::at(now);
            opts.samples = req.samples;
            if let Some(t) = timeout {
                opts.statement_timeout = t;
            }
            if let Some(n) = req.max_rows {
                opts.max_rows = n;
            }
            let base = Path::new(file).parent().unwrap_or(Path::new("."));
            socle_data_files::run(base, server, &spec, &checks, &opts).await?
        }
        _ => {
            return Err(DataTestError::Unsupported {
                file: file.into(),
                server: server.server.clone(),
                server_type: server.server_type.clone(),
            });
        }
    };
    let mut counts = Counts::default();
    for r in &results {
        match r.result {
            Verdict::Passed => counts.passed += 1,
            Verdict::Warning => counts.warning += 1,
            Verdict::Failed => counts.failed += 1,
            Verdict::Error => counts.error += 1,
        }
    }
    Ok(DataTestReport {
        file: file.into(),
        contract: contract.name.clone().unwrap_or_else(|| contract.id.clone()),
        product: socle_data::entity_ref(&contract),
        server: server.server.clone(),
        server_type: server.server_type.clone(),
        result: overall(&results),
        counts,
        duration_ms: started.elapsed().as_millis() as u64,
        checks: results,
    })
}
