//! `/adoption`: the organisation's one-page adoption and impact report for leadership —
//! shares of services from golden paths, deployed through Socle, with docs and SLOs, weekly
//! trends (a line chart with its table), golden-path runs, time to first deploy, people active
//! per week (counted), the teams' impact tallied, and the teams the viewer may see in detail
//! with their DORA keys and survey results before and after adoption, caveats printed.
//! Printable (print CSS) and exportable as JSON (`/adoption.json`). Signed-in viewers only.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_adoption::{AdoptionReport, KeyChange, SurveyScore, TeamImpact};
use socle_api::AppState;
use socle_app::adoption::AdoptionOverview;
use socle_ui::chart::{self, Chart, Point, fmt_num};

use crate::error::PageError;
use crate::layout;
use crate::session::Viewer;

/// Teams shown in detail on the page (the JSON export has them all).
const MAX_TEAMS_SHOWN: usize = 200;

#[derive(Deserialize)]
pub struct AdoptionParams {
    since: Option<String>,
}

async fn overview(
    state: &AppState,
    viewer: &Viewer,
    since: Option<&str>,
) -> Result<AdoptionOverview, PageError> {
    if viewer.principal.is_none() {
        return Err(PageError::sign_in("Sign in to see the adoption report."));
    }
    Ok(state.adoption_overview(&viewer.caller(), since).await?)
}

/// The report as JSON, for the viewer's session (the API's `GET /api/v1/adoption`).
pub async fn export(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(p): Query<AdoptionParams>,
) -> Result<Response, PageError> {
    let r = overview(&state, &viewer, p.since.as_deref()).await?;
    let body = serde_json::to_string_pretty(&r).map_err(socle_app::AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"socle-adoption.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.0} %", v * 100.0))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "no data".into(), fmt_num)
}

fn shares(a: &AdoptionReport) -> Markup {
    let n = &a.now;
    let tiles = [
        ("From a golden path", n.golden_path, n.golden_path_share),
        (
            "Deployed through Socle",
            n.deployed_through_socle,
            n.deployed_share,
        ),
        ("With docs", n.with_docs, n.docs_share),
        ("With SLOs", n.with_slo, n.slo_share),
    ];
    html! {
        div class="grid tiles" {
            @for (label, count, share) in tiles {
                div class="card tile" {
                    div class="muted" { (label) }
                    div class="big" { (pct(share)) }
                    span class="muted" { (count) " of " (n.services) " services" }
                }
            }
            div class="card tile" {
                div class="muted" { "Time to first deploy" }
                div class="big" { (num(a.time_to_first_deploy.median_hours)) " h" }
                span class="muted" { "median; p90 " (num(a.time_to_first_deploy.p90_hours)) " h over " (a.time_to_first_deploy.services) " new services" }
            }
        }
    }
}

fn weekly(a: &AdoptionReport) -> Markup {
    let points = |f: &dyn Fn(&socle_adoption::AdoptionWeek) -> Option<f64>| -> Vec<Point> {
        a.weekly
            .iter()
            .map(|w| Point {
                label: w.from.get(5..10).unwrap_or(&w.from).to_owned(),
                value: f(w),
            })
            .collect()
    };
    let gp = points(&|w| w.golden_path_share.map(|v| v * 100.0));
    let dep = points(&|w| w.deployed_share.map(|v| v * 100.0));
    let docs = points(&|w| w.docs_share.map(|v| v * 100.0));
    let slo = points(&|w| w.slo_share.map(|v| v * 100.0));
    let counted = |n: Option<usize>, share: Option<f64>| match n {
        Some(n) => format!("{n} ({})", pct(share)),
        None => "not recorded".to_owned(),
    };
    html! {
        section class="report-section" {
            h2 { "Week by week" }
            div class="grid" {
                figure class="card" { (chart::line_chart(&Chart { title: "Services from a golden path", unit: "%", points: &gp, width: 520, height: 200 })) }
                figure class="card" { (chart::line_chart(&Chart { title: "Services deployed through Socle", unit: "%", points: &dep, width: 520, height: 200 })) }
                figure class="card" { (chart::line_chart(&Chart { title: "Services with docs", unit: "%", points: &docs, width: 520, height: 200 })) }
                figure class="card" { (chart::line_chart(&Chart { title: "Services with SLOs", unit: "%", points: &slo, width: 520, height: 200 })) }
            }
            p class="muted" { "Past weeks are read from the weekly snapshots; a week without one is rebuilt from creation and deploy times, and its docs and SLOs are not recorded. The current week is the catalog now." }
            table id="adoption-weekly" {
                caption { "The charts' figures, and golden-path runs and people active each week (counted, never named)" }
                thead { tr { th { "Week of" } th { "Services" } th { "From a golden path" } th { "Deployed through Socle" } th { "With docs" } th { "With SLOs" } th { "Counted from" } th { "Runs (completed)" } th { "Portal users" } th { "CLI/API users" } } }
                tbody {
                    @for w in &a.weekly {
                        tr {
                            td { (w.from.get(..10).unwrap_or(&w.from)) }
                            td { (w.services) }
                            td { (w.golden_path) " (" (pct(w.golden_path_share)) ")" }
                            td { (w.deployed_through_socle) " (" (pct(w.deployed_share)) ")" }
                            td { (counted(w.with_docs, w.docs_share)) }
                            td { (counted(w.with_slo, w.slo_share)) }
                            td { (source(w.counted_from)) }
                            td { (w.runs) " (" (w.runs_completed) ")" }
                            td { (w.portal_users.unwrap_or(0)) }
                            td { (w.cli_api_users.unwrap_or(0)) }
                        }
                    }
                }
            }
        }
    }
}

fn source(s: socle_adoption::WeekSource) -> &'static str {
    match s {
        socle_adoption::WeekSource::Live => "the catalog now",
        socle_adoption::WeekSource::Snapshot => "weekly snapshot",
        socle_adoption::WeekSource::Rebuilt => "rebuilt",
    }
}

fn runs_and_levels(a: &AdoptionReport) -> Markup {
    html! {
        section class="report-section" {
            h2 { "Golden paths" }
            @if a.templates.is_empty() { p class="muted" { "No golden-path run in the period." } } @else {
                table id="adoption-templates" {
                    thead { tr { th { "Template" } th { "Runs" } th { "Success rate" } th { "Median duration" } th { "p90 duration" } } }
                    tbody {
                        @for t in &a.templates {
                            tr { td { (t.template) } td { (t.runs) } td { (pct(t.success_rate)) } td { (num(t.duration_median_seconds)) " s" } td { (num(t.duration_p90_seconds)) " s" } }
                        }
                    }
                }
            }
            @for c in &a.scorecards {
                h3 { "Scorecard " (c.scorecard) }
                p { @for (i, l) in c.levels.iter().enumerate() { @if i > 0 { " · " } (l.level.as_deref().unwrap_or("below the first level")) ": " (l.services) " (" (pct(l.share)) ")" } }
            }
        }
    }
}

fn key_name(k: &str) -> &'static str {
    match k {
        "deployment_frequency_per_day" => "Deployment frequency (per day)",
        "lead_time_median_hours" => "Lead time (median, h)",
        "change_failure_rate" => "Change failure rate",
        "recovery_time_median_hours" => "Time to restore (median, h)",
        _ => "",
    }
}

fn key_value(k: &KeyChange, v: Option<f64>) -> String {
    match (k.key, v) {
        ("change_failure_rate", Some(v)) => format!("{:.1} %", v * 100.0),
        (_, v) => num(v),
    }
}

fn score(s: &SurveyScore) -> Markup {
    html! {
        @match s {
            SurveyScore::Shown { respondents, likert_mean, enps } => {
                "mean " (num(*likert_mean)) ", eNPS " (num(*enps)) " (" (respondents) " people)"
            }
            SurveyScore::NotEnoughAnswers => span class="muted" { "not enough answers" },
            SurveyScore::NoRound => span class="muted" { "no round" },
        }
    }
}

fn team(t: &TeamImpact) -> Markup {
    html! {
        article class="card team-impact" {
            h3 { (t.team) }
            p {
                @match &t.adopted_at {
                    Some(at) => { "Adopted " (at.get(..10).unwrap_or(at)) " by its first "
                        @if t.adopted_by == Some(socle_adoption::AdoptionSource::GoldenPath) { "golden-path service" } @else { "deploy through Socle" } "." }
                    None => { "Not adopted yet." }
                }
                @if let (Some(b), Some(a)) = (&t.before, &t.after) {
                    " Compared: " (b.from.get(..10).unwrap_or(&b.from)) " – " (b.to.get(..10).unwrap_or(&b.to))
                    " with " (a.from.get(..10).unwrap_or(&a.from)) " – " (a.to.get(..10).unwrap_or(&a.to)) "."
                }
            }
            @if !t.keys.is_empty() {
                table {
                    thead { tr { th { "DORA key" } th { "Before" } th { "After" } th { "" } } }
                    tbody {
                        @for k in &t.keys {
                            tr {
                                td { (key_name(k.key)) }
                                td { (key_value(k, k.before)) }
                                td { (key_value(k, k.after)) }
                                td { @match k.better { Some(true) => { "better" }, Some(false) => { "worse" }, None => { "" } } }
                            }
                        }
                    }
                }
            }
            @for s in &t.surveys {
                p { "Survey " (s.survey) ": before " (score(&s.before.score)) "; after " (score(&s.after.score)) "." }
            }
            @if !t.caveats.is_empty() {
                ul class="caveats" {
                    @for c in &t.caveats { li { strong { "Caveat: " } (c.message) } }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(p): Query<AdoptionParams>,
) -> Result<Markup, PageError> {
    let r = overview(&state, &viewer, p.since.as_deref()).await?;
    let a = &r.adoption;
    let since = p.since.as_deref().unwrap_or("90d");
    Ok(layout::page(
        &viewer,
        "Adoption and impact",
        "/adoption",
        html! {
            div class="report" {
                h1 { "Adoption and impact" }
                p class="sub" { "Is the platform used, and does it help? " (a.from.get(..10).unwrap_or(&a.from)) " to " (a.to.get(..10).unwrap_or(&a.to)) ". "
                    a class="no-print" href={ "/adoption.json?since=" (since) } download { "Export as JSON" } }
                (shares(a))
                (weekly(a))
                (runs_and_levels(a))
                section class="report-section" {
                    h2 { "Impact" }
                    p { (r.impact.adopted) " of " (r.impact.teams) " teams have adopted Socle; " (r.impact.compared) " can be compared before and after." }
                    table id="impact-summary" {
                        thead { tr { th { "DORA key" } th { "Teams better" } th { "Teams worse" } th { "Not compared" } } }
                        tbody { @for k in &r.impact.keys { tr { td { (key_name(k.key)) } td { (k.improved) } td { (k.worsened) } td { (k.not_compared) } } } }
                    }
                    p class="muted" { "Each team is compared over two windows of equal length that meet at its adoption date (its first golden-path service or first deploy through Socle). Before-and-after figures are not proof of cause: read each team's caveats." }
                    @if r.teams.is_empty() { p class="muted" { "Teams' details are shown to their members and to admins." } }
                    @for t in r.teams.iter().take(MAX_TEAMS_SHOWN) { (team(t)) }
                    @if r.teams.len() > MAX_TEAMS_SHOWN {
                        p class="muted" { (r.teams.len() - MAX_TEAMS_SHOWN) " more teams in the JSON export." }
                    }
                }
            }
        },
    ))
}
