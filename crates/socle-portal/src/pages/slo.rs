//! An entity's SLO page: per SLO its objective, the SLI now, the remaining error budget, a
//! burn-down chart over the period, the burn rate per alert window and the alerts that would
//! fire — in one environment, beside the service's change failure rate (DORA).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::dora::Scope;
use socle_app::slo::{alert_anchor, rule_anchor};
use socle_slo::budget::{Budget, Severity};
use socle_ui::chart::{self, Chart, Point};

use crate::error::PageError;
use crate::layout::{self, date, enc, entity_href};
use crate::session::Viewer;

#[derive(Deserialize, Default)]
pub struct SloQuery {
    environment: Option<String>,
}

fn pct(v: Option<f64>, digits: usize) -> Markup {
    match v {
        Some(v) => html! { (format!("{:.*}%", digits, v * 100.0)) },
        None => html! { span class="muted" { "no data" } },
    }
}

fn duration(seconds: Option<f64>) -> Markup {
    match seconds {
        Some(s) if s <= 0.0 => html! { strong { "spent" } },
        Some(s) if s < 3600.0 => html! { (format!("{:.0} min", s / 60.0)) },
        Some(s) if s < 2.0 * 86_400.0 => html! { (format!("{:.1} h", s / 3600.0)) },
        Some(s) => html! { (format!("{:.1} days", s / 86_400.0)) },
        None => html! { span class="muted" { "not burning" } },
    }
}

fn state_badge(b: &Budget) -> Markup {
    match b.remaining {
        Some(r) if r <= 0.0 => html! { span class="level level-low" { "budget spent" } },
        Some(r) if r < 0.25 => html! { span class="level level-medium" { "low budget" } },
        Some(_) => html! { span class="level level-elite" { "within budget" } },
        None => html! { span class="level level-none" { "no data" } },
    }
}

fn one_slo(b: &Budget, burn: Option<&socle_app::slo::BurnDown>, rules: &str) -> Markup {
    let points: Vec<Point> = burn
        .map(|d| {
            d.points
                .iter()
                .map(|(t, r)| Point {
                    label: date(*t).get(..10).unwrap_or_default().to_owned(),
                    value: r.map(|r| r * 100.0),
                })
                .collect()
        })
        .unwrap_or_default();
    let title = format!("Error budget left, {} (over {})", b.slo, b.period);
    html! {
        section class="card wide" aria-labelledby={ "slo-" (b.slo) } {
            h2 id={ "slo-" (b.slo) } { (b.slo) " " (state_badge(b)) }
            dl class="kv" {
                dt { "Objective" } dd { (format!("{}%", b.objective)) " over " (b.period) }
                dt { "SLI over the period" } dd { (pct(b.sli, 3)) }
                dt { "Error budget left" } dd { (pct(b.remaining, 1)) }
                dt { "Spent at the current rate in" } dd { (duration(b.seconds_to_exhaustion)) }
                dt { "Alerts firing" } dd {
                    @if b.firing.is_empty() { span class="muted" { "none" } }
                    @for s in &b.firing {
                        @let href = format!("{rules}#{}", alert_anchor(&b.id, *s));
                        @match s {
                            Severity::Page => a class="level level-low" href=(href) { "page" },
                            Severity::Ticket => a class="level level-medium" href=(href) { "ticket" },
                        }
                        " "
                    }
                    " " span class="muted" { "(Sloth's multi-window multi-burn-rate alerts: " a href={ (rules) "#" (alert_anchor(&b.id, Severity::Page)) } { "page rule" } ", " a href={ (rules) "#" (alert_anchor(&b.id, Severity::Ticket)) } { "ticket rule" } ")" }
                }
            }
            @if !points.is_empty() {
                figure { (chart::line_chart(&Chart { title: &title, unit: "%", points: &points, width: 640, height: 220 })) }
            }
            table {
                caption { "Burn rate per window (1 spends the budget exactly over the period)" }
                thead { tr { th scope="col" { "Window" } th scope="col" { "Error ratio" } th scope="col" { "Burn rate" } } }
                tbody {
                    @for w in &b.windows {
                        tr {
                            td { (w.window) }
                            td { (pct(w.error_ratio, 4)) }
                            td { @match w.burn_rate { Some(r) => (format!("{r:.2}×")), None => span class="muted" { "no data" } } }
                        }
                    }
                }
            }
        }
    }
}

/// `/catalog/{kind}/{namespace}/{name}/slos?environment=prod`
pub async fn entity_slos(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name)): Path<(String, String, String)>,
    Query(q): Query<SloQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let entity = format!("{kind}:{ns}/{name}").to_ascii_lowercase();
    let slos = state
        .entity_slos(&viewer.caller(), &entity, q.environment.as_deref())
        .await?;
    let burn = state
        .burn_downs(&slos.entity, &slos.groups, &slos.environment)
        .await?;
    let dora = super::dora::report(&state, &Scope::Service(name.clone()), "30d").await?;
    let href = entity_href(&slos.entity);
    let rules = format!("{href}/slos/rules");
    let envs = super::environments(&state);
    let source = match &slos.source {
        socle_app::slo::BudgetSource::Prometheus { url } => {
            format!("measured by Prometheus at {url}")
        }
        socle_app::slo::BudgetSource::Pushed => {
            "from counts pushed to Socle (POST /api/v1/slo/events)".to_owned()
        }
    };
    Ok(layout::page(
        &viewer,
        &format!("SLOs of {name}"),
        "/catalog",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/catalog" { "Catalog" } " / " a href=(href) { (name) } " / SLOs" }
            h1 { "Service level objectives of " (name) }
            p class="sub" { "From " code { (slos.file) } ", " (slos.environment) ", " (source) ". " a href=(rules) { "Generated Prometheus rules" } }
            form method="get" class="search-row" {
                label for="environment" { "Environment" }
                select id="environment" name="environment" {
                    @for e in &envs { option value=(e) selected[*e == slos.environment] { (e) } }
                }
                button type="submit" { "Show" }
            }
            div class="grid" {
                section class="card" aria-labelledby="delivery" {
                    h2 id="delivery" { "Delivery beside reliability (30 days)" }
                    dl class="kv" {
                        dt { "Change failure rate" } dd { (pct(dora.change_failure_rate, 1)) }
                        dt { "Deploys a day" } dd { @match dora.deployment_frequency_per_day { Some(d) => (format!("{d:.2}")), None => span class="muted" { "no data" } } }
                    }
                    p { a href={ "/dora?scope=service&name=" (enc(&name)) } { "Delivery trends" } }
                }
                @for b in &slos.budgets {
                    (one_slo(b, burn.iter().find(|d| d.slo == b.slo), &rules))
                }
            }
        },
    ))
}

/// Tiles counting kept budgets by state: within budget, low (under 25% left), spent, no data.
pub fn tiles(s: &socle_store::SloSummary) -> Markup {
    let within = s.total - s.spent - s.low - s.no_data;
    html! {
        div class="tiles" {
            div class="tile" { div class="name" { "Within budget" } div class="value" { (within) } span class="level level-elite" { "25% or more left" } }
            div class="tile" { div class="name" { "Low budget" } div class="value" { (s.low) } span class="level level-medium" { "under 25% left" } }
            div class="tile" { div class="name" { "Budget spent" } div class="value" { (s.spent) } span class="level level-low" { "production deploys flagged" } }
            div class="tile" { div class="name" { "No data" } div class="value" { (s.no_data) } span class="muted" { "nothing measured in the period" } }
        }
    }
}

/// Kept budgets as a table: entity (with a link to its SLO page), SLO, budget left, SLI, when.
pub fn status_table(items: &[socle_store::SloStatus], caption: &str, now: i64) -> Markup {
    if items.is_empty() {
        return html! { p class="muted" { "No SLO measured yet." } };
    }
    html! {
        table {
            caption { (caption) }
            thead { tr { th scope="col" { "Service" } th scope="col" { "SLO" } th scope="col" { "Error budget left" } th scope="col" { "SLI" } th scope="col" { "Objective" } th scope="col" { "Measured" } } }
            tbody {
                @for s in items {
                    @let short = layout::short(&s.entity);
                    tr {
                        td { a href={ (entity_href(&s.entity)) "/slos?environment=" (enc(&s.environment)) } { (short) } }
                        td { (s.slo) }
                        td {
                            @match s.remaining {
                                Some(r) if r <= 0.0 => span class="level level-low" { (format!("{:.1}%", r * 100.0)) " spent" },
                                Some(r) if r < 0.25 => span class="level level-medium" { (format!("{:.1}%", r * 100.0)) },
                                Some(r) => (format!("{:.1}%", r * 100.0)),
                                None => span class="muted" { "no data" },
                            }
                        }
                        td { (pct(s.budget["sli"].as_f64(), 3)) }
                        td { @if let Some(o) = s.budget["objective"].as_f64() { (format!("{o}%")) } }
                        td { (layout::ago(s.measured_at, now)) }
                    }
                }
            }
        }
    }
}

/// Most rows the organisation list shows: those with the least budget left (tiles count all).
const MAX_LISTED: usize = 500;

/// `/slos?environment=prod`: every SLO of the organisation, least budget left first.
pub async fn overview(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<SloQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let o = state
        .slo_overview(
            &viewer.caller(),
            q.environment.as_deref(),
            None,
            Some(MAX_LISTED),
        )
        .await?;
    let envs = super::environments(&state);
    let spent = o.summary.spent;
    Ok(layout::page(
        &viewer,
        "SLOs",
        "/slos",
        html! {
            h1 { "Service level objectives" }
            p class="sub" { (o.summary.total) " SLOs in " (o.environment) "; " strong { (spent) } " with their budget spent (their production deploys are flagged)." }
            (tiles(&o.summary))
            form method="get" action="/slos" class="search-row" {
                label for="environment" { "Environment" }
                select id="environment" name="environment" {
                    @for e in &envs { option value=(e) selected[*e == o.environment] { (e) } }
                }
                button type="submit" { "Show" }
            }
            (status_table(&o.items, &format!("The {} SLOs with the least error budget left in {} (every one: GET /api/v1/slos)", o.items.len(), o.environment), state.now_ms()))
        },
    ))
}

/// `/catalog/{kind}/{namespace}/{name}/slos/rules`: the Prometheus rules `socle slo generate`
/// writes for the entity's SLO file, each alert with an anchor the SLO page links to.
pub async fn entity_rules(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name)): Path<(String, String, String)>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let entity = format!("{kind}:{ns}/{name}").to_ascii_lowercase();
    let r = state.entity_slo_rules(&viewer.caller(), &entity).await?;
    let href = entity_href(&r.entity);
    Ok(layout::page(
        &viewer,
        &format!("SLO rules of {name}"),
        "/catalog",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/catalog" { "Catalog" } " / " a href=(href) { (name) } " / " a href={ (href) "/slos" } { "SLOs" } " / Rules" }
            h1 { "Prometheus rules of " (name) }
            p class="sub" { "Generated from " code { (r.file) } " as " code { "socle slo generate" } " writes them (Sloth-compatible). " a href={ (href) "/slos/rules.yaml" } download { "Download the YAML" } }
            @for g in &r.groups {
                section aria-labelledby={ "group-" (g.name) } {
                    h2 id={ "group-" (g.name) } { (g.name) }
                    table {
                        caption { (g.rules.len()) " rules" }
                        thead { tr { th scope="col" { "Rule" } th scope="col" { "Expression" } th scope="col" { "Labels" } } }
                        tbody {
                            @for rule in &g.rules {
                                tr id=[rule_anchor(g, rule)] {
                                    th scope="row" {
                                        @if let Some(a) = &rule.alert { "alert " strong { (a) } }
                                        @if let Some(rec) = &rule.record { "record " code { (rec) } }
                                    }
                                    td { pre { code { (rule.expr) } } }
                                    td { @for (k, v) in &rule.labels { code { (k) "=" (v) } br; } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `/catalog/{kind}/{namespace}/{name}/slos/rules.yaml`: the same rules as a YAML download.
pub async fn entity_rules_yaml(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    viewer.can_read(&state)?;
    let entity = format!("{kind}:{ns}/{name}").to_ascii_lowercase();
    let r = state.entity_slo_rules(&viewer.caller(), &entity).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        r.yaml,
    )
        .into_response())
}
