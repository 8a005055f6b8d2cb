//! The DORA dashboard (organisation, team or service) and the DORA tiles other pages show.

use std::sync::Arc;

use axum::extract::{Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::dora::Scope;
use socle_dora::Incident;
use socle_dora::metrics::Report;
use socle_ui::chart::{self, Chart, Point};

use crate::error::PageError;
use crate::layout::{self, date, entity_href, level_badge, short, web_url};
use crate::session::Viewer;

/// A report for a scope over the last `since` (e.g. `90d`), with weekly series.
pub async fn report(state: &AppState, scope: &Scope, since: &str) -> Result<Report, PageError> {
    let w = socle_app::dora::window(Some(since), None, None, state.now_ms())
        .map_err(|e| PageError::bad_request(e.message))?;
    Ok(state.dora_report(scope, w, true).await?)
}

/// The most incidents a page lists.
const INCIDENTS_SHOWN: u32 = 50;

/// The incidents of a scope open during the last `since`, newest first.
pub async fn incidents(
    state: &AppState,
    scope: &Scope,
    since: &str,
) -> Result<Vec<Incident>, PageError> {
    let w = socle_app::dora::window(Some(since), None, None, state.now_ms())
        .map_err(|e| PageError::bad_request(e.message))?;
    Ok(state.dora_incidents(scope, w, INCIDENTS_SHOWN).await?)
}

/// Incidents as a table: what their tool calls them (a link to it when the URL is a web
/// link), severity, service, when, time to restore, source, labels.
pub fn incidents_table(list: &[Incident], caption: &str, show_service: bool) -> Markup {
    if list.is_empty() {
        return html! { p class="muted" { "No incident in this window." } };
    }
    html! {
        table {
            caption { (caption) @if list.len() as u32 >= INCIDENTS_SHOWN { " — the latest " (INCIDENTS_SHOWN) } }
            thead {
                tr {
                    th scope="col" { "Incident" }
                    th scope="col" { "Severity" }
                    @if show_service { th scope="col" { "Service" } }
                    th scope="col" { "Started" }
                    th scope="col" { "Time to restore" }
                    th scope="col" { "Source" }
                    th scope="col" { "Labels" }
                }
            }
            tbody {
                @for i in list {
                    @let name = i.title.as_deref().unwrap_or(&i.id);
                    tr {
                        td {
                            @match i.url.as_deref().and_then(web_url) {
                                Some(u) => a href=(u) rel="noopener noreferrer" { (name) },
                                None => (name),
                            }
                            @if i.title.is_some() { " " span class="muted" { (i.id) } }
                        }
                        td { @match &i.severity { Some(s) => (s), None => span class="muted" { "none" } } }
                        @if show_service { td { a href={ "/dora?scope=service&name=" (layout::enc(&i.service)) } { (i.service) } } }
                        td { (date(i.started_at)) }
                        td {
                            @match i.resolved_at {
                                Some(r) => (num(Some((r - i.started_at) as f64 / 3_600_000.0), " h")),
                                None => strong { "open" },
                            }
                        }
                        td { (i.source) }
                        td { @for (k, v) in &i.labels { span class="tag" { (k) "=" (v) } } }
                    }
                }
            }
        }
    }
}

fn num(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(v) => format!("{}{unit}", chart::fmt_num(v)),
        None => "no data".into(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(
        || "no data".into(),
        |v| format!("{}%", chart::fmt_num(v * 100.0)),
    )
}

/// The four keys as tiles with their level and a sparkline of the weekly trend.
pub fn tiles(r: &Report) -> Markup {
    let spark = |f: fn(&socle_dora::metrics::WeekPoint) -> Option<f64>, label: &str| {
        let values: Vec<Option<f64>> = r.weekly.iter().map(f).collect();
        chart::sparkline(&values, 120, 28, label)
    };
    html! {
        div class="tiles" {
            div class="tile" {
                div class="name" { "Deployment frequency" }
                div class="value" { (num(r.deployment_frequency_per_day, "/day")) }
                (level_badge(r.levels.deployment_frequency)) " "
                span class="muted" { (r.deployments) " production deploys" }
                div { (spark(|w| w.deployment_frequency_per_day, "Deployments per day, weekly")) }
            }
            div class="tile" {
                div class="name" { "Lead time for changes (median)" }
                div class="value" { (num(r.lead_time_median_hours, " h")) }
                (level_badge(r.levels.lead_time)) " "
                span class="muted" { "p90 " (num(r.lead_time_p90_hours, " h")) }
                div { (spark(|w| w.lead_time_median_hours, "Median lead time in hours, weekly")) }
            }
            div class="tile" {
                div class="name" { "Change failure rate" }
                div class="value" { (pct(r.change_failure_rate)) }
                (level_badge(r.levels.change_failure_rate)) " "
                span class="muted" { (r.failed_deployments) " failed" }
                div { (spark(|w| w.change_failure_rate.map(|v| v * 100.0), "Change failure rate in percent, weekly")) }
            }
            div class="tile" {
                div class="name" { "Time to restore (median)" }
                div class="value" { (num(r.recovery_time_median_hours, " h")) }
                (level_badge(r.levels.recovery_time)) " "
                span class="muted" { (r.incidents_resolved) " incidents" }
                div { (spark(|w| w.recovery_time_median_hours, "Median time to restore in hours, weekly")) }
            }
        }
    }
}

/// The four weekly trend charts.
pub fn charts(r: &Report, scope_label: &str) -> Markup {
    let points = |f: fn(&socle_dora::metrics::WeekPoint) -> Option<f64>| -> Vec<Point> {
        r.weekly
            .iter()
            .map(|w| Point {
                label: w.from.get(5..10).unwrap_or(&w.from).to_owned(),
                value: f(w),
            })
            .collect()
    };
    let df = points(|w| w.deployment_frequency_per_day);
    let lt = points(|w| w.lead_time_median_hours);
    let cfr = points(|w| w.change_failure_rate.map(|v| v * 100.0));
    let mttr = points(|w| w.recovery_time_median_hours);
    let t1 = format!("Deployment frequency, {scope_label}");
    let t2 = format!("Lead time for changes, {scope_label}");
    let t3 = format!("Change failure rate, {scope_label}");
    let t4 = format!("Time to restore service, {scope_label}");
    html! {
        div class="grid" {
            figure class="card" { (chart::line_chart(&Chart { title: &t1, unit: "per day", points: &df, width: 520, height: 220 })) }
            figure class="card" { (chart::line_chart(&Chart { title: &t2, unit: "h", points: &lt, width: 520, height: 220 })) }
            figure class="card" { (chart::line_chart(&Chart { title: &t3, unit: "%", points: &cfr, width: 520, height: 220 })) }
            figure class="card" { (chart::line_chart(&Chart { title: &t4, unit: "h", points: &mttr, width: 520, height: 220 })) }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct DashQuery {
    /// `all`: every team in the table (default: the first 50).
    teams: Option<String>,
    scope: Option<String>,
    name: Option<String>,
    since: Option<String>,
}

pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<DashQuery>,
) -> Result<maud::Markup, PageError> {
    viewer.can_read(&state)?;
    let since = q
        .since
        .as_deref()
        .filter(|s| ["30d", "90d", "180d", "365d"].contains(s))
        .unwrap_or("90d");

    let scope = Scope::parse(q.scope.as_deref().unwrap_or("org"), q.name.as_deref())
        .map_err(|e| PageError::bad_request(e.to_string()))?;
    let r = report(&state, &scope, since).await?;
    let incident_list = incidents(&state, &scope, since).await?;
    let label = scope.label();
    let shown = if q.teams.as_deref() == Some("all") {
        usize::MAX
    } else {
        50
    };
    // The organisation view ranks the teams.
    let teams = if scope == Scope::Org {
        let w = socle_app::dora::window(Some(since), None, None, state.now_ms())
            .map_err(|e| PageError::bad_request(e.message))?;
        state
            .dora_ranking(w)
            .await?
            .into_iter()
            .map(|t| (t.team, t.report))
            .collect::<Vec<(String, Report)>>()
    } else {
        Vec::new()
    };
    Ok(layout::page(
        &viewer,
        "DORA",
        "/dora",
        html! {
            h1 { "Delivery performance" }
            p class="sub" { "The four DORA keys for " strong { (label) } ", " (r.from.get(..10).unwrap_or_default()) " to " (r.to.get(..10).unwrap_or_default()) ", classified against the 2024 DORA levels. " (r.services) " services." }
            form method="get" action="/dora" class="search-row" {
                label for="scope" { "Scope" }
                select id="scope" name="scope" {
                    @for s in ["org", "team", "service", "system", "domain"] {
                        option value=(s) selected[q.scope.as_deref().unwrap_or("org") == s] { (s) }
                    }
                }
                label for="name" { "Name" }
                input type="text" id="name" name="name" value=(q.name.as_deref().unwrap_or_default()) placeholder="e.g. team-checkout";
                label for="since" { "Window" }
                select id="since" name="since" {
                    @for s in ["30d", "90d", "180d", "365d"] { option value=(s) selected[since == s] { (s) } }
                }
                button type="submit" { "Show" }
            }
            (tiles(&r))
            h2 { "Weekly trends" }
            (charts(&r, &label))
            h2 { "Incidents" }
            (incidents_table(&incident_list, &format!("Incidents, {label} ({since})"), true))
            @if !teams.is_empty() {
                h2 { "Teams" }
                @if shown < teams.len() { p { "The " (shown) " most frequently deploying of " (teams.len()) " teams. " a href={ "/dora?teams=all&since=" (since) } { "Show all" } } }
                table {
                    caption { "Teams by deployment frequency (" (since) ")" }
                    thead { tr { th scope="col" { "Team" } th scope="col" { "Services" } th scope="col" { "Deploys/day" } th scope="col" { "Lead time (median)" } th scope="col" { "Change failure rate" } th scope="col" { "Time to restore" } } }
                    tbody {
                        @for (team, t) in teams.iter().take(shown) {
                            tr {
                                td { a href={ "/dora?scope=team&name=" (layout::enc(short(team))) "&since=" (since) } { (short(team)) } " " a class="muted" href=(entity_href(team)) { "(team page)" } }
                                td { (t.services) }
                                td { (num(t.deployment_frequency_per_day, "")) " " (level_badge(t.levels.deployment_frequency)) }
                                td { (num(t.lead_time_median_hours, " h")) " " (level_badge(t.levels.lead_time)) }
                                td { (pct(t.change_failure_rate)) " " (level_badge(t.levels.change_failure_rate)) }
                                td { (num(t.recovery_time_median_hours, " h")) " " (level_badge(t.levels.recovery_time)) }
                            }
                        }
                    }
                }
            }
            h2 { "How levels are set" }
            table {
                caption { "DORA 2024 performance levels" }
                thead { tr { th scope="col" { "Level" } th scope="col" { "Deployment frequency" } th scope="col" { "Lead time" } th scope="col" { "Change failure rate" } th scope="col" { "Time to restore" } } }
                tbody {
                    tr { td { (level_badge(Some(socle_dora::Level::Elite))) } td { "≥ 1 a day" } td { "< 1 day" } td { "≤ 5%" } td { "< 1 hour" } }
                    tr { td { (level_badge(Some(socle_dora::Level::High))) } td { "≥ 1 a week" } td { "< 1 week" } td { "≤ 20%" } td { "< 1 day" } }
                    tr { td { (level_badge(Some(socle_dora::Level::Medium))) } td { "≥ 1 a month" } td { "< 30 days" } td { "≤ 30%" } td { "< 1 week" } }
                    tr { td { (level_badge(Some(socle_dora::Level::Low))) } td { "less than monthly" } td { "≥ 30 days" } td { "> 30%" } td { "≥ 1 week" } }
                }
            }
        },
    ))
}
