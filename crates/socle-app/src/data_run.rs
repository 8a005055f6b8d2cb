//! `socle data run`: a pipeline of SQL models (`DIR/models/**/*.sql`, dbt-like) built on
//! PostgreSQL in dependency order, each model's contract checked right after it builds through
//! the same path as `socle data test`. A model that fails to build stops every model
//! downstream of it; one whose checks fail stops them when it is gold (or always, with
//! `fail_fast`); the others go on. The pipeline is read and rendered off the async workers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use socle_catalog::Limits;
use socle_data::pipeline::{
    self, MAX_MODEL_BYTES, MAX_MODELS, Materialized, Model, ModelFile, Pipeline, PipelineError,
    RenderTarget, Tier,
};
use socle_data::quality::Verdict;
use socle_store::{
    CheckCounts, DataRunModelRecord, DataRunRecord, ModelStatus, QualityOrigin, Store,
};

use crate::data_quality::{Recording, run_of_report};
use crate::data_test::{Counts, DataTestReport, DataTestRequest, test_contract};

/// Deepest directory nesting read under `models/`.
const MAX_DEPTH: usize = 16;
/// Most failed checks listed per model.
const MAX_FAILURES: usize = 20;

/// What to run, where.
#[derive(Clone, Debug)]
pub struct DataRunRequest {
    /// The pipeline's directory (holding `models/`).
    pub dir: PathBuf,
    /// The PostgreSQL database models are built in and checked on.
    pub url: String,
    /// The schema models are built in (created if missing).
    pub schema: String,
    /// A schema per source name (a source's own name otherwise).
    pub sources: BTreeMap<String, String>,
    /// dbt-style selector (`model`, `+model`, `model+`); every model when `None`.
    pub select: Option<String>,
    /// Any failing check stops the models downstream, not only a gold model's.
    pub fail_fast: bool,
    /// The contract server checked (its name); the contract's first PostgreSQL server otherwise.
    pub server: Option<String>,
    /// Longest a single statement may run.
    pub statement_timeout: Duration,
}

/// One model's part in a run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRun {
    pub model: String,
    pub file: String,
    pub tier: Option<Tier>,
    pub materialized: Materialized,
    pub status: ModelStatus,
    pub duration_ms: u64,
    pub contract: Option<String>,
    pub checks: Option<Counts>,
    /// `check: reason` of each failed check (at most 20).
    pub failures: Vec<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Its contract's test, kept for the product's quality history (not printed).
    #[serde(skip)]
    pub tested: Option<Box<DataTestReport>>,
}

/// A finished run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRunReport {
    pub id: String,
    pub pipeline: String,
    pub schema: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub passed: bool,
    pub models: Vec<ModelRun>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataRunError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Pipeline(Vec<PipelineError>),
    /// A request that cannot be run (a selector naming no model, a schema name too long).
    #[error("{0}")]
    Request(String),
    #[error("{0}")]
    Engine(#[from] socle_data_pg::EngineError),
    #[error("{0}")]
    Internal(String),
}

fn one(file: &str, message: String) -> DataRunError {
    DataRunError::Pipeline(vec![PipelineError {
        file: file.to_owned(),
        line: None,
        message,
    }])
}

/// The model files under `dir/models` (sorted by path; no symlinks followed; bounded in number,
/// size and depth). Blocking.
pub fn read_models(dir: &Path) -> Result<Vec<ModelFile>, DataRunError> {
    let root = dir.join("models");
    let shown = root.display().to_string();
    if !root.is_dir() {
        return Err(one(
            &shown,
            "no such directory: a pipeline's models are DIR/models/**/*.sql".into(),
        ));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&root)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| one(&shown, e.to_string()))?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "sql") {
            continue;
        }
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if files.len() == MAX_MODELS {
            return Err(one(
                &shown,
                format!("a pipeline may hold at most {MAX_MODELS} models"),
            ));
        }
        let len = entry
            .metadata()
            .map_err(|e| one(&rel, e.to_string()))?
            .len();
        if len > MAX_MODEL_BYTES as u64 {
            return Err(one(
                &rel,
                format!("the model is {len} bytes, more than the limit of {MAX_MODEL_BYTES}"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| one(&rel, e.to_string()))?;
        files.push(ModelFile { path: rel, text });
    }
    Ok(files)
}

/// Reads and renders the pipeline at `dir` against `target`, off the async workers.
pub async fn load_pipeline(dir: &Path, target: RenderTarget) -> Result<Pipeline, DataRunError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let files = read_models(&dir)?;
        pipeline::load(&files, &target).map_err(DataRunError::Pipeline)
    })
    .await
    .map_err(|e| DataRunError::Internal(format!("the pipeline reader stopped: {e}")))?
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What a model's contract checks said.
struct Checked {
    failures: Vec<String>,
    report: DataTestReport,
}

/// Runs `model`'s contract on the database the run builds in.
async fn check_contract(
    req: &DataRunRequest,
    model: &Model,
    contract: &str,
) -> Result<Checked, String> {
    let at = model.config_line;
    let fail = |m: String| format!("{}:{at}: contract {contract}: {m}", model.file);
    let root = req.dir.canonicalize().map_err(|e| fail(e.to_string()))?;
    let path = root
        .join(contract)
        .canonicalize()
        .map_err(|e| fail(e.to_string()))?;
    if !path.starts_with(&root) {
        return Err(fail(
            "the contract is outside the pipeline's directory".into(),
        ));
    }
    let limits = Limits::default();
    let len = std::fs::metadata(&path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > limits.max_file_bytes as u64 {
        return Err(fail(format!("more than {} bytes", limits.max_file_bytes)));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
    let file = req.dir.join(contract).display().to_string();
    let server = match &req.server {
        Some(s) => s.clone(),
        None => {
            let c = socle_data::load(&text, &file, &limits).map_err(|e| {
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            let spec = c.test_spec().map_err(|e| e.to_string())?;
            spec.servers
                .iter()
                .find(|s| matches!(s.server_type.as_str(), "postgres" | "postgresql"))
                .map(|s| s.server.clone())
                .ok_or_else(|| fail("the contract has no postgres server to check".into()))?
        }
    };
    let test = DataTestRequest {
        server: Some(server),
        url: Some(req.url.clone()),
        schema: Some(req.schema.clone()),
        samples: false,
        statement_timeout: Some(req.statement_timeout),
        max_rows: None,
    };
    let now = now_ms() as f64 / 1000.0;
    let report = test_contract(&text, &file, &test, now)
        .await
        .map_err(|e| e.to_string())?;
    let failures = report
        .checks
        .iter()
        .filter(|c| matches!(c.result, Verdict::Failed | Verdict::Error))
        .take(MAX_FAILURES)
        .map(|c| format!("{}: {}", c.key, c.reason.as_deref().unwrap_or("failed")))
        .collect();
    Ok(Checked { failures, report })
}

/// Runs the pipeline: reads it, builds the selected models in order, checks their contracts.
pub async fn run_pipeline(req: &DataRunRequest) -> Result<DataRunReport, DataRunError> {
    let started_at_ms = now_ms();
    for schema in std::iter::once(&req.schema).chain(req.sources.values()) {
        if schema.is_empty() || schema.len() > pipeline::MAX_NAME {
            return Err(DataRunError::Request(format!(
                "schema {schema:?}: a schema name is 1 to {} bytes (PostgreSQL would cut it)",
                pipeline::MAX_NAME
            )));
        }
    }
    let target = RenderTarget {
        schema: Some(req.schema.clone()),
        sources: req.sources.clone(),
    };
    let pipeline = load_pipeline(&req.dir, target).await?;
    let selected: Option<BTreeSet<String>> = match &req.select {
        Some(s) => Some(
            socle_data::pipeline::dag::select(&pipeline.models, s)
                .map_err(DataRunError::Request)?,
        ),
        None => None,
    };
    let mut builder =
        socle_data_pg::build::Builder::connect(&req.url, req.statement_timeout).await?;
    let mut runs = Vec::new();
    let mut stopped: BTreeMap<String, String> = BTreeMap::new();
    let schema_ready = builder.ensure_schema(&req.schema).await;
    for m in &pipeline.models {
        if selected.as_ref().is_some_and(|s| !s.contains(&m.name)) {
            continue;
        }
        let run = run_model(req, &mut builder, m, &schema_ready, &mut stopped).await;
        runs.push(run);
    }
    let passed = runs
        .iter()
        .all(|r| matches!(r.status, ModelStatus::Passed | ModelStatus::Warning));
    Ok(DataRunReport {
        id: format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        ),
        pipeline: req.dir.display().to_string(),
        schema: req.schema.clone(),
        started_at_ms,
        finished_at_ms: now_ms(),
        passed,
        models: runs,
    })
}

async fn run_model(
    req: &DataRunRequest,
    builder: &mut socle_data_pg::build::Builder,
    m: &Model,
    schema_ready: &Result<(), String>,
    stopped: &mut BTreeMap<String, String>,
) -> ModelRun {
    let started = Instant::now();
    let mut run = ModelRun {
        model: m.name.clone(),
        file: m.file.clone(),
        tier: m.config.tier,
        materialized: m.config.materialized,
        status: ModelStatus::Skipped,
        duration_ms: 0,
        contract: m.config.contract.clone(),
        checks: None,
        failures: Vec::new(),
        reason: None,
        tested: None,
    };
    if let Some(reason) = m.refs.iter().find_map(|r| stopped.get(&r.name)) {
        run.reason = Some(reason.clone());
        stopped.insert(m.name.clone(), reason.clone());
        return run;
    }
    let built = match schema_ready {
        Ok(()) => {
            builder
                .build(&req.schema, &m.name, m.config.materialized, &m.sql)
                .await
        }
        Err(e) => Err(format!("cannot create schema {:?}: {e}", req.schema)),
    };
    if let Err(e) = built {
        run.status = ModelStatus::Error;
        run.reason = Some(format!("{}: the build failed: {e}", m.file));
        stopped.insert(
            m.name.clone(),
            format!("upstream model {} failed to build", m.name),
        );
        run.duration_ms = started.elapsed().as_millis() as u64;
        return run;
    }
    run.status = ModelStatus::Passed;
    if let Some(contract) = &m.config.contract {
        match check_contract(req, m, contract).await {
            Ok(c) => {
                run.status = match c.report.result {
                    Verdict::Passed => ModelStatus::Passed,
                    Verdict::Warning => ModelStatus::Warning,
                    Verdict::Failed | Verdict::Error => ModelStatus::Failed,
                };
                if run.status == ModelStatus::Failed {
                    run.reason = Some(format!(
                        "{} of its contract's checks failed",
                        c.report.counts.failed + c.report.counts.error
                    ));
                }
                run.checks = Some(c.report.counts);
                run.failures = c.failures;
                run.tested = Some(Box::new(c.report));
            }
            Err(e) => {
                run.status = ModelStatus::Failed;
                run.reason = Some(e);
            }
        }
    }
    if run.status == ModelStatus::Failed && (m.config.tier == Some(Tier::Gold) || req.fail_fast) {
        let why = if m.config.tier == Some(Tier::Gold) {
            "its gold checks"
        } else {
            "its checks (--fail-fast)"
        };
        stopped.insert(
            m.name.clone(),
            format!("upstream model {} failed {why}", m.name),
        );
    }
    run.duration_ms = started.elapsed().as_millis() as u64;
    run
}

/// Records a finished run in the store, and each checked model's contract test in its data
/// product's quality history (recorded by `by`).
pub async fn record(
    store: &Store,
    report: &DataRunReport,
    by: &str,
) -> Result<(), socle_store::StoreError> {
    for m in &report.models {
        let Some(tested) = &m.tested else { continue };
        let Some(product) = tested.product.clone() else {
            continue;
        };
        let rec = Recording {
            product,
            origin: QualityOrigin::Pipeline,
            recorded_by: by.to_owned(),
            ran_at: report.finished_at_ms,
        };
        let run =
            run_of_report(tested, rec).map_err(|e| socle_store::StoreError::Invalid(e.message))?;
        store.record_quality_run(&run).await?;
    }
    let count = |s: ModelStatus| report.models.iter().filter(|m| m.status == s).count() as i64;
    let record = DataRunRecord {
        id: report.id.clone(),
        pipeline: report.pipeline.clone(),
        target_schema: report.schema.clone(),
        started_at: report.started_at_ms,
        finished_at: report.finished_at_ms,
        passed: report.passed,
        model_count: report.models.len() as i64,
        failed: count(ModelStatus::Failed) + count(ModelStatus::Error),
        skipped: count(ModelStatus::Skipped),
        models: report
            .models
            .iter()
            .map(|m| {
                let c = m.checks.unwrap_or_default();
                DataRunModelRecord {
                    model: m.model.clone(),
                    tier: m.tier.map(|t| t.as_str().to_owned()),
                    materialized: m.materialized.as_str().to_owned(),
                    status: m.status,
                    duration_ms: m.duration_ms as i64,
                    checks: CheckCounts {
                        passed: c.passed as i64,
                        warning: c.warning as i64,
                        failed: c.failed as i64,
                        error: c.error as i64,
                    },
                    reason: m.reason.clone(),
                }
            })
            .collect(),
    };
    store.record_data_run(&record).await
}

impl crate::App {
    /// Recorded pipeline runs, newest first (without their models), for whoever may read the
    /// catalog; only those of `pipeline` when given.
    pub async fn data_runs(
        &self,
        actor: &crate::Actor,
        pipeline: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DataRunRecord>, crate::AppError> {
        self.can_read(actor)?;
        Ok(self.store.list_data_runs(pipeline, limit).await?)
    }

    /// One recorded run with its models, for whoever may read the catalog.
    pub async fn data_run(
        &self,
        actor: &crate::Actor,
        id: &str,
    ) -> Result<DataRunRecord, crate::AppError> {
        self.can_read(actor)?;
        if id.is_empty() || id.len() > 64 {
            return Err(crate::AppError::not_found(format!("no data run {id:?}")));
        }
        Ok(self.store.data_run(id).await?)
    }
}
