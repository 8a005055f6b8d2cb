//! `/data/runs`: the pipeline runs `socle data run` recorded, newest first; `/data/runs/{id}`:
//! one run model by model (tier, materialisation, status, duration, checks, reason), with the
//! models' build times as a bar chart and the figures in the table.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_store::ModelStatus;
use socle_ui::chart::{Bar, bar_chart};

use crate::error::PageError;
use crate::layout::{self, date, enc};
use crate::session::Viewer;

/// Runs listed on the page.
const RUNS_SHOWN: i64 = 100;
/// Models drawn in the chart (the slowest).
const CHART_BARS: usize = 20;

#[derive(Deserialize, Default)]
pub struct RunsQuery {
    pipeline: Option<String>,
}

fn status_badge(s: ModelStatus) -> Markup {
    let class = match s {
        ModelStatus::Passed => "level level-elite",
        ModelStatus::Warning | ModelStatus::Skipped => "level level-medium",
        ModelStatus::Failed | ModelStatus::Error => "level level-low",
    };
    html! { span class=(class) { (s.as_str()) } }
}

fn passed_badge(passed: bool) -> Markup {
    if passed {
        html! { span class="level level-elite" { "passed" } }
    } else {
        html! { span class="level level-low" { "failed" } }
    }
}

/// `/data/runs`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<RunsQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let pipeline = q.pipeline.as_deref().filter(|p| !p.is_empty());
    let runs = state
        .data_runs(&viewer.caller(), pipeline, RUNS_SHOWN)
        .await?;
    Ok(layout::page(
        &viewer,
        "Pipeline runs",
        "/data",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/data" { "Data" } " / pipeline runs" }
            h1 { "Pipeline runs" }
            p class="sub" {
                "Runs of " code { "socle data run" } ", newest first"
                @if let Some(p) = pipeline { " — pipeline " strong { (p) } " (" a href="/data/runs" { "every pipeline" } ")" }
                "."
            }
            @if runs.is_empty() {
                p class="muted" { "No run recorded yet." }
            } @else {
                table {
                    caption { "The last " (runs.len()) " runs" }
                    thead { tr { th scope="col" { "Started" } th scope="col" { "Pipeline" } th scope="col" { "Schema" } th scope="col" { "Result" } th scope="col" { "Models" } th scope="col" { "Failed" } th scope="col" { "Skipped" } th scope="col" { "Took" } } }
                    tbody {
                        @for r in &runs {
                            tr {
                                td { a href={ "/data/runs/" (enc(&r.id)) } { (date(r.started_at)) } }
                                td { a href={ "/data/runs?pipeline=" (enc(&r.pipeline)) } { (r.pipeline) } }
                                td { (r.target_schema) }
                                td { (passed_badge(r.passed)) }
                                td { (r.model_count) }
                                td { (r.failed) }
                                td { (r.skipped) }
                                td { (r.finished_at - r.started_at) " ms" }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `/data/runs/{id}`.
pub async fn one(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let run = state.data_run(&viewer.caller(), &id).await?;
    let mut slowest: Vec<&socle_store::DataRunModelRecord> = run.models.iter().collect();
    slowest.sort_by(|a, b| {
        b.duration_ms
            .cmp(&a.duration_ms)
            .then(a.model.cmp(&b.model))
    });
    let bars: Vec<Bar> = slowest
        .iter()
        .take(CHART_BARS)
        .map(|m| Bar {
            label: m.model.clone(),
            value: m.duration_ms as f64,
        })
        .collect();
    let title = format!("Run of {}", run.pipeline);
    Ok(layout::page(
        &viewer,
        &title,
        "/data",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/data" { "Data" } " / " a href="/data/runs" { "pipeline runs" } " / " (run.id) }
            h1 { (title) }
            p class="sub" {
                (passed_badge(run.passed)) " into schema " code { (run.target_schema) } ", started " (date(run.started_at))
                ", took " (run.finished_at - run.started_at) " ms: " (run.model_count) " models, " (run.failed) " failed, " (run.skipped) " skipped."
            }
            @if !bars.is_empty() {
                figure class="card" { (bar_chart("Build and check time per model (ms), slowest first", &bars, 720)) }
            }
            table {
                caption { "Models in run order" }
                thead { tr { th scope="col" { "#" } th scope="col" { "Model" } th scope="col" { "Tier" } th scope="col" { "Materialised" } th scope="col" { "Status" } th scope="col" { "Checks (passed / warnings / failed / errors)" } th scope="col" { "Took" } th scope="col" { "Reason" } } }
                tbody {
                    @for (i, m) in run.models.iter().enumerate() {
                        tr {
                            td { (i + 1) }
                            td { (m.model) }
                            td { (m.tier.as_deref().unwrap_or("")) }
                            td { (m.materialized) }
                            td { (status_badge(m.status)) }
                            td { (m.checks.passed) " / " (m.checks.warning) " / " (m.checks.failed) " / " (m.checks.error) }
                            td { (m.duration_ms) " ms" }
                            td { (m.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    ))
}
