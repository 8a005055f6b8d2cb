//! Scorecards and campaigns: the list, one scorecard's page (the distribution per level as a bar chart, its
//! levels over the last days, the leaderboard by team, its rules with how many entities pass
//! each), an entity's section (its level per scorecard, failing rules with the fix-it text and
//! the fact that failed) and a team's section (its entities' levels). Read from the stored
//! results but for the entity's section, evaluated live for the entity. A campaign's page: its
//! brief, its burn-up (entities passing per day), its teams furthest behind first, its rules.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Path, State};
use maud::{Markup, html};
use socle_api::AppState;
use socle_app::scorecards::evaluate::ScorecardHistory;
use socle_app::scorecards::{LevelCount, ScoreState, ScorecardReport};
use socle_scorecard::CardResult;
use socle_ui::chart::{self, Bar, Chart, Point};

use crate::error::PageError;
use crate::layout::{self, enc, entity_href, short};
use crate::session::Viewer;

/// Days of history the scorecard page shows.
const HISTORY_DAYS: u32 = 30;
/// Most leaderboard lines and failing facts shown.
const MAX_TEAMS: usize = 200;
const MAX_FACT_CHARS: usize = 300;

fn level_text(l: Option<&str>) -> &str {
    l.unwrap_or("(none)")
}

pub async fn list(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    let cards = state.scorecard_list(&viewer.caller())?;
    Ok(layout::page(
        &viewer,
        "Scorecards",
        "/scorecards",
        html! {
            h1 { "Scorecards" }
            p class="sub" { "Standards to climb level by level. An entity holds the highest level whose rules, and those of every lower level, it passes. " a href="/campaigns" { "Campaigns" } }
            table {
                caption { (cards.len()) " scorecards" }
                thead { tr { th scope="col" { "Scorecard" } th scope="col" { "Levels" } th scope="col" { "Rules" } th scope="col" { "Defined in" } } }
                tbody {
                    @for c in &cards {
                        tr {
                            td { a href={ "/scorecards/" (enc(&c.name)) } { (c.title) } @if let Some(d) = &c.description { br; span class="muted" { (d) } } }
                            td { (c.levels.join(" < ")) }
                            td { (c.rules) }
                            td { code { (c.source) } }
                        }
                    }
                }
            }
        },
    ))
}

fn distribution_chart(title: &str, d: &[LevelCount]) -> Markup {
    let bars: Vec<Bar> = d
        .iter()
        .map(|l| Bar {
            label: level_text(l.level.as_deref()).to_owned(),
            value: l.entities as f64,
        })
        .collect();
    chart::bar_chart(title, &bars, 560)
}

fn history_section(r: &ScorecardReport, h: &ScorecardHistory) -> Markup {
    let top = h.levels.last().cloned().unwrap_or_default();
    let points: Vec<Point> = h
        .days
        .iter()
        .map(|d| Point {
            label: d.date.get(5..).unwrap_or_default().to_owned(),
            value: d.counts.last().map(|c| *c as f64),
        })
        .collect();
    let title = format!("Entities at {top} per day ({})", r.scorecard.title);
    html! {
        section aria-labelledby="history" {
            h2 id="history" { "Over the last " (HISTORY_DAYS) " days" }
            @if h.days.is_empty() {
                p class="muted" { "No history yet." }
            } @else {
                (chart::line_chart(&Chart { title: &title, unit: "entities", points: &points, width: 640, height: 200 }))
                table {
                    caption { "Entities per level and day" }
                    thead { tr { th scope="col" { "Day" } th scope="col" { "(none)" } @for l in &h.levels { th scope="col" { (l) } } } }
                    tbody {
                        @for d in h.days.iter().rev().take(14) {
                            tr { th scope="row" { (d.date) } @for c in &d.counts { td { (c) } } }
                        }
                    }
                }
            }
        }
    }
}

pub async fn scorecard(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    let caller = viewer.caller();
    let r = state.scorecard_report(&caller, &name).await?;
    let h = state
        .scorecard_history(&caller, &name, None, None, HISTORY_DAYS)
        .await?;
    let levels = &r.scorecard.levels;
    Ok(layout::page(
        &viewer,
        &r.scorecard.title,
        "/scorecards",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/scorecards" { "Scorecards" } " / " (r.scorecard.name) }
            h1 { (r.scorecard.title) }
            @if let Some(d) = &r.scorecard.description { p class="sub" { (d) } }
            @if r.state == ScoreState::Queued { (queued_notice()) }
            p { (r.entities) " entities scored"
                @if r.errors > 0 { ", " strong { (r.errors) " could not be evaluated" } }
                @if r.evaluated_at > 0 { " · last scored " (layout::date(r.evaluated_at)) } }
            section aria-labelledby="distribution" {
                h2 id="distribution" { "Levels held" }
                (distribution_chart(&format!("Entities per level ({})", r.scorecard.title), &r.distribution))
            }
            (history_section(&r, &h))
            section aria-labelledby="leaderboard" {
                h2 id="leaderboard" { "Leaderboard by team" }
                table {
                    caption { "Teams by score: 1 when every entity holds " (levels.last().map(String::as_str).unwrap_or_default()) }
                    thead { tr { th scope="col" { "Team" } th scope="col" { "Entities" } th scope="col" { "Score" } th scope="col" { "(none)" } @for l in levels { th scope="col" { (l) } } } }
                    tbody {
                        @for t in r.leaderboard.iter().take(MAX_TEAMS) {
                            tr {
                                td { @if t.team.contains(':') { a href=(entity_href(&t.team)) { (short(&t.team)) } } @else { (t.team) } }
                                td { (t.entities) }
                                td { (format!("{:.2}", t.score)) }
                                @for l in &t.levels { td { (l.entities) } }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="rules" {
                h2 id="rules" { "Rules" }
                table {
                    thead { tr { th scope="col" { "Level" } th scope="col" { "Rule" } th scope="col" { "Passing" } th scope="col" { "To fix" } } }
                    tbody {
                        @for rule in &r.rule_list {
                            tr { td { (rule.level) } td { (rule.title) } td { (rule.passing) " / " (r.entities - r.errors) } td { (rule.fixit) } }
                        }
                    }
                }
            }
        },
    ))
}

fn fact_value(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > MAX_FACT_CHARS {
        let cut: String = s.chars().take(MAX_FACT_CHARS).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn one_card(c: &CardResult, title: &str) -> Markup {
    let failing: Vec<_> = c.rules.iter().filter(|r| !r.passed).collect();
    html! {
        section class="card wide" aria-label=(title) {
            h3 { a href={ "/scorecards/" (enc(&c.scorecard)) } { (title) } ": "
                 span class="level" { (level_text(c.level.as_deref())) } }
            p class="muted" { (c.passed) " of " (c.total) " rules pass" }
            @if let Some(e) = &c.error { p class="notice error" { "Could not be evaluated: " (e) } }
            @if !failing.is_empty() {
                table {
                    caption { "Failing rules" }
                    thead { tr { th scope="col" { "Level" } th scope="col" { "Rule" } th scope="col" { "To fix" } th scope="col" { "Fact" } } }
                    tbody {
                        @for f in &failing {
                            tr {
                                td { (f.level) }
                                td { (f.title) @if let Some(m) = &f.message { br; span class="muted" { (m) } } }
                                td { (f.fixit.as_deref().unwrap_or_default()) }
                                td {
                                    @for fact in &f.facts {
                                        code { (fact.path) } " = " code { (fact_value(&fact.value)) }
                                        @if let Some(s) = &fact.source { br; span class="muted" { "from " (s.source) } }
                                        br;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// An entity's scorecards: its level in each, and what to fix.
pub async fn entity_section(
    state: &AppState,
    viewer: &Viewer,
    entity: &str,
) -> Result<Option<Markup>, PageError> {
    let results = state.entity_scorecards(&viewer.caller(), entity).await?;
    if results.is_empty() {
        return Ok(None);
    }
    let titles = state.scorecard_list(&viewer.caller())?;
    let title_of = |name: &str| {
        titles
            .iter()
            .find(|t| t.name == name)
            .map_or(name.to_owned(), |t| t.title.clone())
    };
    Ok(Some(html! {
        section aria-labelledby="scorecards" {
            h2 id="scorecards" { "Scorecards" }
            div class="grid" { @for c in &results { (one_card(c, &title_of(&c.scorecard))) } }
        }
    }))
}

/// A team's entities and their level in each scorecard (from the stored results).
pub async fn team_section(
    state: &AppState,
    viewer: &Viewer,
    team: &str,
) -> Result<Markup, PageError> {
    let scores = state.team_scores(&viewer.caller(), team).await?;
    let rows = &scores.results;
    let cards: Vec<&str> = rows
        .iter()
        .map(|r| r.scorecard.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let entities: Vec<&str> = rows
        .iter()
        .map(|r| r.entity.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let levels: HashMap<(&str, &str), &str> = rows
        .iter()
        .map(|r| {
            (
                (r.entity.as_str(), r.scorecard.as_str()),
                level_text(r.level.as_deref()),
            )
        })
        .collect();
    let level = |e: &str, c: &str| levels.get(&(e, c)).copied();
    Ok(html! {
        section aria-labelledby="team-scorecards" {
            h2 id="team-scorecards" { "Scorecards" }
            @if rows.is_empty() {
                p class="muted" { "No scorecard selects what this team owns." }
            } @else {
                table {
                    caption { "Levels of the team's entities" @if scores.entities > entities.len() { " (the first " (entities.len()) " of " (scores.entities) ")" } }
                    thead { tr { th scope="col" { "Entity" } @for c in &cards { th scope="col" { a href={ "/scorecards/" (enc(c)) } { (c) } } } } }
                    tbody {
                        @for e in &entities {
                            tr {
                                th scope="row" { a href=(entity_href(e)) { (short(e)) } }
                                @for c in &cards { td { @match level(e, c) { Some(l) => (l), None => span class="muted" { "—" } } } }
                            }
                        }
                    }
                }
            }
        }
    })
}

pub async fn campaigns(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Markup, PageError> {
    let list = state.campaign_list(&viewer.caller())?;
    Ok(layout::page(
        &viewer,
        "Campaigns",
        "/scorecards",
        html! {
            h1 { "Campaigns" }
            p class="sub" { "Rules every selected entity should pass by a target date." }
            table {
                caption { (list.len()) " campaigns" }
                thead { tr { th scope="col" { "Campaign" } th scope="col" { "Start" } th scope="col" { "Target" } th scope="col" { "Rules" } } }
                tbody {
                    @for c in &list {
                        tr {
                            td { a href={ "/campaigns/" (enc(&c.name)) } { (c.title) } }
                            td { (c.start) } td { (c.target) } td { (c.rules) }
                        }
                    }
                }
            }
        },
    ))
}

/// What a page of a scorecard or campaign never scored says instead of its figures.
fn queued_notice() -> Markup {
    html! {
        p class="notice" role="status" {
            "Not scored yet: a pass over the catalog is queued and runs in the background. "
            "Reload this page in a moment."
        }
    }
}

/// When a team was last reminded of a campaign, and how the latest reminder went.
fn reminder_text(r: Option<&socle_store::ReminderRecord>) -> Markup {
    let Some(r) = r else {
        return html! { span class="muted" { "never" } };
    };
    html! {
        @match r.sent_at { Some(at) => (layout::date(at)), None => span class="muted" { "never" } }
        @if r.status == socle_store::ReminderStatus::Failed {
            br; span class="muted" { "latest failed: " (r.error.as_deref().unwrap_or_default()) }
        }
    }
}

fn burnup_chart(title: &str, days: &[socle_app::scorecards::campaigns::BurnDay]) -> Markup {
    let points: Vec<Point> = days
        .iter()
        .map(|d| Point {
            label: d.date.get(5..).unwrap_or_default().to_owned(),
            value: Some(d.passing as f64),
        })
        .collect();
    chart::line_chart(&Chart {
        title,
        unit: "entities passing",
        points: &points,
        width: 640,
        height: 200,
    })
}

pub async fn campaign(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    let r = state.campaign_report(&viewer.caller(), &name).await?;
    let c = &r.campaign;
    Ok(layout::page(
        &viewer,
        &c.title,
        "/scorecards",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/campaigns" { "Campaigns" } " / " (c.name) }
            h1 { (c.title) }
            p class="sub" { (c.brief) }
            @if r.state == ScoreState::Queued { (queued_notice()) }
            p { (r.passing) " of " (r.entities) " entities pass · from " (c.start) " to " (c.target)
                " · " (format!("{:.0}%", r.expected * 100.0)) " of the time gone" }
            section aria-labelledby="burnup" {
                h2 id="burnup" { "Burn-up" }
                @if r.burnup.is_empty() { p class="muted" { "No progress recorded yet." } }
                @else { (burnup_chart(&format!("Entities passing ({})", c.title), &r.burnup)) }
            }
            section aria-labelledby="teams" {
                h2 id="teams" { "Teams" }
                table {
                    caption { "Furthest behind first" }
                    thead { tr { th scope="col" { "Team" } th scope="col" { "Passing" } th scope="col" { "Progress" } th scope="col" { "Status" } th scope="col" { "Still to do" } th scope="col" { "Last reminded" } } }
                    tbody {
                        @for t in r.teams.iter().take(MAX_TEAMS) {
                            tr {
                                td { @if t.team.contains(':') { a href=(entity_href(&t.team)) { (short(&t.team)) } } @else { (t.team) } }
                                td { (t.passing) " / " (t.entities) }
                                td { (format!("{:.0}%", t.progress * 100.0)) }
                                td { @if t.behind { strong { "behind" } } @else { "on track" } }
                                td { @for (e, _) in t.failing.iter().take(10) { a href=(entity_href(e)) { (short(e)) } " " } }
                                td { (reminder_text(t.reminder.as_ref())) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="rules" {
                h2 id="rules" { "Rules" }
                table {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Passing" } th scope="col" { "To fix" } } }
                    tbody { @for rule in &r.rule_list { tr { td { (rule.title) } td { (rule.passing) } td { (rule.fixit) } } } }
                }
            }
        },
    ))
}
