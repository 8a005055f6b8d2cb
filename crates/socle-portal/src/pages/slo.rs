//! An entity's SLO page: per SLO its objective, the SLI now, the remaining error budget, a
//! burn-down chart over the period, the burn rate per alert window and the alerts that would
//! fire — in one environment, beside the service's change failure rate (DORA).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::dora::Scope;
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

fn one_slo(b: &Budget, burn: Option<&socle_app::slo::BurnDown>) -> Markup {
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
                        @match s {
                            Severity::Page => span class="level level-low" { "page" },
                            Severity::Ticket => span class="level level-medium" { "ticket" },
                        }
                        " "
                    }
                    " " span class="muted" { "(Sloth's multi-window multi-burn-rate alerts; " code { "socle slo generate" } " writes their rules)" }
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
            p class="sub" { "From " code { (slos.file) } ", " (slos.environment) ", " (source) "." }
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
                    (one_slo(b, burn.iter().find(|d| d.slo == b.slo)))
                }
            }
        },
    ))
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

/// `/slos?environment=prod`: every SLO of the organisation, least budget left first.
pub async fn overview(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<SloQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let o = state
        .slo_overview(&viewer.caller(), q.environment.as_deref(), None, Some(2000))
        .await?;
    let envs = super::environments(&state);
    let spent = o
        .items
        .iter()
        .filter(|s| s.remaining.is_some_and(|r| r <= 0.0))
        .count();
    Ok(layout::page(
        &viewer,
        "SLOs",
        "/slos",
        html! {
            h1 { "Service level objectives" }
            p class="sub" { (o.items.len()) " SLOs in " (o.environment) ", least error budget left first; " strong { (spent) } " with their budget spent (their production deploys are flagged)." }
            form method="get" action="/slos" class="search-row" {
                label for="environment" { "Environment" }
                select id="environment" name="environment" {
                    @for e in &envs { option value=(e) selected[*e == o.environment] { (e) } }
                }
                button type="submit" { "Show" }
            }
            (status_table(&o.items, &format!("SLOs in {}", o.environment), state.now_ms()))
        },
    ))
}
