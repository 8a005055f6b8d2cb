//! Home: my teams' services, recent deployments, failing guardrails, my teams' delivery.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use maud::{Markup, html};
use socle_api::AppState;
use socle_app::dora::Scope;
use socle_catalog::RelationType;

use crate::error::PageError;
use crate::layout::{self, ago, entity_href, short};
use crate::session::Viewer;

pub async fn home(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    let snap = viewer.read_model(&state)?;
    // My teams: the groups I am a member of (directly).
    let teams: Vec<String> = viewer
        .subject()
        .map(|s| {
            socle_app::teams::groups_of(&snap, s)
                .into_iter()
                .map(|g| snap.name(g).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let team_set: BTreeSet<&str> = teams.iter().map(String::as_str).collect();
    let services: Vec<(String, Option<String>)> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .filter(|e| e.owner.is_some_and(|o| team_set.contains(snap.name(o))))
        .take(100)
        .map(|e| {
            (
                e.entity_ref.to_string(),
                e.spec_type.as_deref().map(str::to_owned),
            )
        })
        .collect();
    let names: BTreeSet<String> = services.iter().map(|(r, _)| short(r).to_owned()).collect();
    let recent_all = state.store.list_deployments(None, None, 200).await?;
    let recent: Vec<_> = if names.is_empty() {
        recent_all.iter().take(10).collect()
    } else {
        recent_all
            .iter()
            .filter(|d| names.contains(&d.service))
            .take(10)
            .collect()
    };
    // Failing guardrails: the latest evaluation per environment of my services (or of the
    // recently deployed ones when signed out), when it blocked.
    let watched: Vec<String> = if names.is_empty() {
        recent_all
            .iter()
            .map(|d| format!("component:default/{}", d.service))
            .collect()
    } else {
        names
            .iter()
            .map(|n| format!("component:default/{n}"))
            .collect()
    };
    let failing = state.store.latest_blocked(&watched).await?;
    // Each of my teams (the first five), or the organisation when I have none.
    let scopes: Vec<Scope> = if teams.is_empty() {
        vec![Scope::Org]
    } else {
        teams
            .iter()
            .take(5)
            .map(|t| Scope::Team(t.clone()))
            .collect()
    };
    let mut reports = Vec::with_capacity(scopes.len());
    for scope in &scopes {
        reports.push((
            scope.label(),
            super::dora::report(&state, scope, "90d").await?,
        ));
    }
    let now = state.now_ms();
    let members_of = |t: &str| {
        snap.get(t).map_or(0, |g| {
            g.relations
                .iter()
                .filter(|(rt, _)| *rt == RelationType::HasMember)
                .count()
        })
    };
    Ok(layout::page(
        &viewer,
        "Home",
        "/",
        html! {
            @match viewer.subject() {
                Some(s) => { h1 { "Welcome, " (short(s)) } },
                None => {
                    h1 { "Socle" }
                    p class="sub" { "The catalog, golden paths, deployments, guardrails and delivery metrics of " (snap.len()) " entities. " a href="/signin" { "Sign in" } " to see your teams and to deploy." }
                },
            }
            @if !teams.is_empty() {
                p class="sub" { "Your teams: " @for (i, t) in teams.iter().enumerate() { @if i > 0 { ", " } a href=(entity_href(t)) { (short(t)) } " (" (members_of(t)) " members)" } }
            }
            div class="grid" {
                section class="card" aria-labelledby="my-services" {
                    h2 id="my-services" { @if teams.is_empty() { "Start here" } @else { "Your teams' services (" (services.len()) ")" } }
                    @if teams.is_empty() {
                        ul {
                            li { a href="/catalog" { "Search the catalog" } }
                            li { a href="/create" { "Create a service from a golden path" } }
                            li { a href="/dora" { "See delivery performance" } }
                        }
                    } @else {
                        ul { @for (r, t) in &services { li { a href=(entity_href(r)) { (short(r)) } " " @if let Some(t) = t { span class="tag" { (t) } } } } }
                    }
                }
                section class="card" aria-labelledby="recent" {
                    h2 id="recent" { "Recent deployments" }
                    @if recent.is_empty() { p class="muted" { "None yet." } }
                    ul { @for d in &recent { li { a href=(entity_href(&format!("component:default/{}", d.service))) { (d.service) } " → " strong { (d.environment) } " " (d.version) " " span class="muted" { (ago(d.created_at, now)) } @if d.status != socle_store::DeploymentStatus::Success { " " span class="status-failed" { (d.status) } } } } }
                    p { a href="/deployments" { "All deployments" } }
                }
                section class="card" aria-labelledby="failing" {
                    h2 id="failing" { "Failing guardrails" }
                    @if failing.is_empty() { p class="outcome-pass" { "Nothing blocked." } }
                    ul { @for f in &failing { li { a href={ (entity_href(&f.entity)) "#guardrails" } { (short(&f.entity)) } " in " (f.environment) " " span class="muted" { (ago(f.evaluated_at, now)) } } } }
                }
            }
            @for (i, (label, r)) in reports.iter().enumerate() {
                section aria-labelledby={ "delivery-" (i) } {
                    h2 id={ "delivery-" (i) } { "Delivery, last 90 days: " (label) }
                    (super::dora::tiles(r))
                }
            }
            p { a href="/dora" { "DORA dashboard" } }
        },
    ))
}
