//! A data product's page, after its contract: its quality over time (the share of checks
//! passing and the freshness measured, run by run, as charts with the figures in a table
//! beside them), the newest run's checks, and its lineage as an SVG graph with the same nodes
//! listed for readers without images.

use maud::{Markup, html};
use socle_api::AppState;
use socle_app::data_lineage::Lineage;
use socle_app::data_quality::QualityHistory;
use socle_store::{QualityRunRecord, QualityVerdict};
use socle_ui::chart::{self, Chart, Point};
use socle_ui::graph::Node;
use socle_ui::lineage::{Placed, lineage_graph};

use crate::error::PageError;
use crate::layout::{date, entity_href, short};
use crate::session::Viewer;

/// Levels of lineage shown each way.
const LINEAGE_DEPTH: u32 = 3;

fn verdict_badge(v: QualityVerdict) -> Markup {
    let class = match v {
        QualityVerdict::Passed => "level level-elite",
        QualityVerdict::Warning => "level level-medium",
        QualityVerdict::Failed | QualityVerdict::Error => "level level-low",
    };
    html! { span class=(class) { (v.as_str()) } }
}

fn passing_share(r: &QualityRunRecord) -> Option<f64> {
    let c = r.counts;
    let total = c.passed + c.warning + c.failed + c.error;
    (total > 0).then(|| 100.0 * c.passed as f64 / total as f64)
}

fn hours(s: i64) -> String {
    if s < 3600 {
        format!("{} min", s / 60)
    } else {
        format!("{:.1} h", s as f64 / 3600.0)
    }
}

/// The quality section of a data product's page.
pub async fn quality_section(
    state: &AppState,
    viewer: &Viewer,
    product: &str,
) -> Result<Markup, PageError> {
    let h = state
        .data_quality_history(
            &viewer.caller(),
            product,
            socle_app::data_quality::DEFAULT_HISTORY,
        )
        .await?;
    Ok(render_quality(&h))
}

fn render_quality(h: &QualityHistory) -> Markup {
    let oldest_first: Vec<&QualityRunRecord> = h.runs.iter().rev().collect();
    let label = |r: &QualityRunRecord| date(r.ran_at).get(5..16).unwrap_or_default().to_owned();
    let share: Vec<Point> = oldest_first
        .iter()
        .map(|r| Point {
            label: label(r),
            value: passing_share(r),
        })
        .collect();
    let fresh: Vec<Point> = oldest_first
        .iter()
        .map(|r| Point {
            label: label(r),
            value: r.freshness_s.map(|s| s as f64 / 3600.0),
        })
        .collect();
    let has_freshness = h.runs.iter().any(|r| r.freshness_s.is_some());
    html! {
        section aria-labelledby="quality" {
            h2 id="quality" { "Quality and freshness" }
            @if h.runs.is_empty() {
                p class="muted" {
                    "No checks recorded yet. Record a run with "
                    code { "socle data test CONTRACT --record" }
                    ", from a pipeline ("
                    code { "socle data run" }
                    "), or by posting "
                    code { "socle data test -o json" }
                    "'s output to "
                    code { "POST /api/v1/data/products/" (short(&h.product)) "/quality" }
                    "."
                }
            } @else {
                div class="grid" {
                    figure class="card" { (chart::line_chart(&Chart { title: "Checks passing", unit: "%", points: &share, width: 520, height: 200 })) }
                    @if has_freshness {
                        figure class="card" { (chart::line_chart(&Chart { title: "Age of the newest data", unit: "h", points: &fresh, width: 520, height: 200 })) }
                    }
                }
                @if let Some(latest) = &h.latest { (latest_checks(latest)) }
                table id="quality-runs" {
                    caption { "The last " (h.runs.len()) " runs, newest first (the charts' figures)" }
                    thead { tr { th scope="col" { "Ran" } th scope="col" { "Server" } th scope="col" { "Result" } th scope="col" { "Passed" } th scope="col" { "Warnings" } th scope="col" { "Failed" } th scope="col" { "Errors" } th scope="col" { "Freshness" } th scope="col" { "Recorded by" } } }
                    tbody {
                        @for r in &h.runs {
                            tr {
                                td { (date(r.ran_at)) }
                                td { (r.server) }
                                td { (verdict_badge(r.result)) }
                                td { (r.counts.passed) }
                                td { (r.counts.warning) }
                                td { (r.counts.failed) }
                                td { (r.counts.error) }
                                td { @if let Some(s) = r.freshness_s { (hours(s)) } @else { "—" } }
                                td { (r.recorded_by) " (" (r.origin.as_str()) ")" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The newest run's checks: what failed first, every check in a disclosure.
fn latest_checks(run: &QualityRunRecord) -> Markup {
    let checks: Vec<&serde_json::Value> = run.checks.as_array().into_iter().flatten().collect();
    let text = |c: &serde_json::Value, k: &str| -> String {
        match c.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    };
    let bad: Vec<&&serde_json::Value> = checks
        .iter()
        .filter(|c| text(c, "result") != "passed")
        .collect();
    html! {
        p {
            "Newest run: " (verdict_badge(run.result)) " on " (run.server) ", " (date(run.ran_at)) "."
            @if !bad.is_empty() { " " (bad.len()) " checks did not pass:" }
        }
        @if !bad.is_empty() {
            ul {
                @for c in &bad {
                    li { strong { (text(c, "result")) } " — " (text(c, "name")) @let r = text(c, "reason"); @if !r.is_empty() { ": " (r) } }
                }
            }
        }
        details {
            summary { "All " (checks.len()) " checks of the newest run" }
            table {
                thead { tr { th scope="col" { "Result" } th scope="col" { "Table" } th scope="col" { "Field" } th scope="col" { "Check" } th scope="col" { "Value" } th scope="col" { "Threshold" } } }
                tbody {
                    @for c in &checks {
                        tr {
                            td { (text(c, "result")) }
                            td { (text(c, "table")) }
                            td { (text(c, "field")) }
                            td { (text(c, "name")) }
                            td { (text(c, "value")) }
                            td { (text(c, "threshold")) }
                        }
                    }
                }
            }
        }
    }
}

/// The lineage section of a data product's page.
pub fn lineage_section(
    state: &AppState,
    viewer: &Viewer,
    product: &str,
) -> Result<Markup, PageError> {
    let l = state.data_lineage(&viewer.caller(), product, LINEAGE_DEPTH)?;
    Ok(render_lineage(&l))
}

fn render_lineage(l: &Lineage) -> Markup {
    let placed: Vec<Placed> = l
        .nodes
        .iter()
        .map(|n| Placed {
            node: Node {
                id: n.entity.clone(),
                label: match &n.tier {
                    Some(t) => format!("{} ({t})", short(&n.entity)),
                    None => short(&n.entity).to_owned(),
                },
                kind: n.kind.clone(),
                href: n.exists.then(|| entity_href(&n.entity)),
            },
            level: n.level,
        })
        .collect();
    let edges: Vec<(String, String)> = l
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let side = |up: bool| -> Vec<&socle_app::data_lineage::LineageNode> {
        l.nodes
            .iter()
            .filter(|n| if up { n.level < 0 } else { n.level > 0 })
            .collect()
    };
    let list = |nodes: Vec<&socle_app::data_lineage::LineageNode>| {
        html! {
            @if nodes.is_empty() { "none" } @else {
                @for (i, n) in nodes.iter().enumerate() {
                    @if i > 0 { ", " }
                    @if n.exists { a href=(entity_href(&n.entity)) { (short(&n.entity)) } } @else { (short(&n.entity)) }
                    " (" (n.kind) ", " (n.level.abs()) " away)"
                }
            }
        }
    };
    html! {
        section aria-labelledby="lineage" {
            h2 id="lineage" { "Lineage" }
            @if l.nodes.len() <= 1 {
                p class="muted" { "Nothing upstream or downstream in the catalog: a pipeline's models, or the contract's producedBy and consumedBy, add lineage." }
            } @else {
                figure class="lineage-figure" { (lineage_graph(&l.product, &placed, &edges, &l.more)) }
                p { strong { "Upstream: " } (list(side(true))) }
                p { strong { "Downstream: " } (list(side(false))) }
            }
        }
    }
}
