//! Teams: the list of groups and the team view of a group's page (members, what it owns, its
//! delivery metrics with weekly trends).

use std::sync::Arc;

use axum::extract::State;
use maud::{Markup, html};
use socle_api::AppState;
use socle_app::dora::Scope;
use socle_app::snapshot::{EntityView, Snapshot};
use socle_catalog::RelationType;

use crate::error::PageError;
use crate::layout::{self, entity_href, short};
use crate::session::Viewer;

pub async fn teams(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Markup, PageError> {
    let snap = viewer.read_model(&state)?;
    let groups: Vec<&EntityView> = snap
        .entities
        .iter()
        .map(|e| &**e)
        .filter(|e| e.kind() == "group")
        .take(2000)
        .collect();
    let count =
        |g: &EntityView, t: RelationType| g.relations.iter().filter(|(rt, _)| *rt == t).count();
    Ok(layout::page(
        &viewer,
        "Teams",
        "/teams",
        html! {
            h1 { "Teams" }
            table {
                caption { (groups.len()) " groups" }
                thead { tr { th scope="col" { "Team" } th scope="col" { "Type" } th scope="col" { "Members" } th scope="col" { "Owns" } th scope="col" { "Parent" } } }
                tbody {
                    @for g in &groups {
                        @let parent: Vec<String> = g.relations.iter().filter(|(t, _)| *t == RelationType::ChildOf).map(|(_, p)| snap.name(*p).to_owned()).collect();
                        tr {
                            td { a href=(entity_href(&g.entity_ref)) { (short(&g.entity_ref)) } }
                            td { (g.spec_type.as_deref().unwrap_or_default()) }
                            td { (count(g, RelationType::HasMember)) }
                            td { (count(g, RelationType::OwnerOf)) }
                            td { @for p in &parent { a href=(entity_href(p)) { (short(p)) } } }
                        }
                    }
                }
            }
        },
    ))
}

/// The team view on a group's page.
pub async fn team_section(
    state: &AppState,
    viewer: &Viewer,
    snap: &Snapshot,
    g: &EntityView,
) -> Result<Markup, PageError> {
    let of = |t: RelationType| -> Vec<String> {
        let mut v: Vec<String> = g
            .relations
            .iter()
            .filter(|(rt, _)| *rt == t)
            .map(|(_, i)| snap.name(*i).to_owned())
            .collect();
        v.sort();
        v
    };
    let members = of(RelationType::HasMember);
    let owned = of(RelationType::OwnerOf);
    let children = of(RelationType::ParentOf);
    let r = super::dora::report(state, &Scope::Team(g.entity_ref.to_string()), "90d").await?;
    let label = short(&g.entity_ref).to_owned();
    // The team's SLOs as last measured (the store: no Prometheus query while the page renders).
    let slos = state
        .team_slo_overview(&viewer.caller(), &g.entity_ref, None)
        .await
        .ok()
        .filter(|o| !o.items.is_empty());
    Ok(html! {
        div class="grid" {
            section class="card" aria-labelledby="members" {
                h2 id="members" { "Members (" (members.len()) ")" }
                @if members.is_empty() { p class="muted" { "No members listed." } }
                ul { @for m in &members { li { a href=(entity_href(m)) { (short(m)) } } } }
                @if !children.is_empty() { h3 { "Sub-teams" } ul { @for c in &children { li { a href=(entity_href(c)) { (short(c)) } } } } }
            }
            section class="card" aria-labelledby="owns" {
                h2 id="owns" { "Owns (" (owned.len()) ")" }
                ul { @for o in owned.iter().take(200) { li { a href=(entity_href(o)) { (short(o)) } " " span class="tag" { (o.split(':').next().unwrap_or_default()) } } } }
                @if owned.len() > 200 { p { a href={ "/catalog?owner=" (layout::enc(&g.entity_ref)) } { "All " (owned.len()) " in the catalog" } } }
            }
        }
        @if let Some(o) = &slos {
            section aria-labelledby="team-slos" {
                h2 id="team-slos" { "Reliability: error budgets in " (o.environment) }
                (super::slo::tiles(&o.summary))
                (super::slo::status_table(&o.items[..o.items.len().min(50)], &format!("The team's SLOs, least budget left first ({} in all)", o.items.len()), state.now_ms()))
                p { a href={ "/slos?environment=" (layout::enc(&o.environment)) } { "Every SLO of the organisation" } }
            }
        }
        section aria-labelledby="team-dora" {
            h2 id="team-dora" { "Delivery (90 days, with sub-teams)" }
            (super::dora::tiles(&r))
            (super::dora::charts(&r, &label))
        }
    })
}
