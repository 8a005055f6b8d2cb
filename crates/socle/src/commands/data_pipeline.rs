//! `socle data run` and `socle data lineage`: thin adapters over `socle_app::data_run`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use socle_app::data_run::{DataRunError, DataRunRequest, load_pipeline, record, run_pipeline};
use socle_data::pipeline::{ColumnSource, PipelineError, RenderTarget};

use super::setup::StoreArgs;
use crate::output::{self, Format, Outcome};

#[derive(Serialize)]
struct Refused {
    valid: bool,
    errors: Vec<PipelineError>,
}

/// The columns of a run's models, live or recorded.
const MODEL_COLUMNS: [&str; 7] = ["STATUS", "MODEL", "TIER", "AS", "CHECKS", "TIME", "REASON"];

/// A model's contract checks counted, as one cell.
fn checks_text(
    passed: impl std::fmt::Display,
    warning: impl std::fmt::Display,
    failed: impl std::fmt::Display,
    error: impl std::fmt::Display,
) -> String {
    format!("{passed} passed, {warning} warnings, {failed} failed, {error} errors")
}

/// A pipeline that cannot be read: every error as `file:line: message` on stderr, exit 1.
fn refused(errors: Vec<PipelineError>, output: Format) -> anyhow::Result<Outcome> {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let report = Refused {
        valid: false,
        errors,
    };
    Ok(Outcome::new(output, &report, |r| {
        format!("{} errors: the pipeline was not run\n", r.errors.len())
    })?
    .table_stderr(lines)
    .failed(true))
}

/// Who records from this command line: the user's login name, marked as the CLI.
pub fn recorder() -> String {
    let user: String = std::env::var("USER")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        "cli".into()
    } else {
        format!("cli:{user}")
    }
}

pub async fn run(
    req: &DataRunRequest,
    store: &StoreArgs,
    output: Format,
) -> anyhow::Result<Outcome> {
    let report = match run_pipeline(req).await {
        Ok(r) => r,
        Err(DataRunError::Pipeline(errors)) => return refused(errors, output),
        Err(e) => return Err(e.into()),
    };
    let store = store.open().await?;
    record(&store, &report, &recorder()).await?;
    let lines: Vec<String> = report
        .models
        .iter()
        .filter_map(|m| {
            m.reason
                .as_ref()
                .map(|r| format!("{}: {}: {r}", m.file, m.status.as_str()))
        })
        .chain(report.models.iter().flat_map(|m| {
            m.failures
                .iter()
                .map(move |f| format!("{}: {}: {f}", m.file, m.model))
        }))
        .collect();
    let failed = !report.passed;
    Ok(Outcome::new(output, &report, |r| {
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    m.status.as_str().to_owned(),
                    m.model.clone(),
                    m.tier.map(|t| t.as_str()).unwrap_or("").to_owned(),
                    m.materialized.as_str().to_owned(),
                    m.checks
                        .map(|c| checks_text(c.passed, c.warning, c.failed, c.error))
                        .unwrap_or_default(),
                    format!("{} ms", m.duration_ms),
                    m.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut t = output::table(&MODEL_COLUMNS, &rows);
        t.push_str(&format!(
            "run {} into {}: {} in {} ms\n",
            r.id,
            r.schema,
            if r.passed { "passed" } else { "failed" },
            r.finished_at_ms - r.started_at_ms
        ));
        t
    })?
    .table_stderr(lines)
    .failed(failed))
}

pub async fn lineage(
    dir: &Path,
    schema: String,
    sources: BTreeMap<String, String>,
    output: Format,
) -> anyhow::Result<Outcome> {
    let target = RenderTarget {
        schema: Some(schema),
        sources,
    };
    let pipeline = match load_pipeline(dir, target).await {
        Ok(p) => p,
        Err(DataRunError::Pipeline(errors)) => return refused(errors, output),
        Err(e) => return Err(e.into()),
    };
    Outcome::new(output, &pipeline, |p| {
        let mut rows = Vec::new();
        for m in &p.models {
            let reads: Vec<String> = m.reads.iter().map(|d| d.key()).collect();
            rows.push(vec![
                m.name.clone(),
                m.config.tier.map(|t| t.as_str()).unwrap_or("").to_owned(),
                m.config.materialized.as_str().to_owned(),
                reads.join(", "),
            ]);
            for c in m.columns.iter().flatten() {
                let from = match &c.source {
                    ColumnSource::Column { dataset, column } => {
                        format!("{}.{column}", dataset.key())
                    }
                    ColumnSource::Star { dataset: Some(d) } => format!("{}.*", d.key()),
                    ColumnSource::Star { dataset: None } => "* (every relation read)".into(),
                    ColumnSource::Expression { sql } => format!("expression {sql}"),
                    ColumnSource::Unresolved { reason } => format!("unresolved: {reason}"),
                };
                rows.push(vec![
                    format!("  .{}", c.output),
                    String::new(),
                    String::new(),
                    from,
                ]);
            }
        }
        let mut t = output::table(&["MODEL", "TIER", "AS", "READS"], &rows);
        t.push_str(&format!("{} models\n", p.models.len()));
        t
    })
}

pub async fn runs(
    id: Option<&str>,
    pipeline: Option<&str>,
    limit: i64,
    store: &StoreArgs,
    output: Format,
) -> anyhow::Result<Outcome> {
    let store = store.open_to_read().await?;
    let Some(id) = id else {
        let runs = store.list_data_runs(pipeline, limit).await?;
        return Outcome::list(output, &runs, |runs| {
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        if r.passed { "passed" } else { "failed" }.to_owned(),
                        r.pipeline.clone(),
                        r.target_schema.clone(),
                        format!(
                            "{} ({} failed, {} skipped)",
                            r.model_count, r.failed, r.skipped
                        ),
                        format!("{} ms", r.finished_at - r.started_at),
                    ]
                })
                .collect();
            output::table(
                &["RUN", "RESULT", "PIPELINE", "SCHEMA", "MODELS", "TIME"],
                &rows,
            )
        });
    };
    let run = store.data_run(id).await?;
    let failed = !run.passed;
    Ok(Outcome::new(output, &run, |r| {
        let rows: Vec<Vec<String>> = r
            .models
            .iter()
            .map(|m| {
                vec![
                    m.status.as_str().to_owned(),
                    m.model.clone(),
                    m.tier.clone().unwrap_or_default(),
                    m.materialized.clone(),
                    checks_text(
                        m.checks.passed,
                        m.checks.warning,
                        m.checks.failed,
                        m.checks.error,
                    ),
                    format!("{} ms", m.duration_ms),
                    m.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut t = output::table(&MODEL_COLUMNS, &rows);
        t.push_str(&format!(
            "run {} of {} into {}: {}\n",
            r.id,
            r.pipeline,
            r.target_schema,
            if r.passed { "passed" } else { "failed" }
        ));
        t
    })?
    .failed(failed))
}
