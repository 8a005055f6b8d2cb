//! Access to a data product's classified columns on its page: the grants the viewer may see
//! (all of them for the owner team, one's own otherwise) with approve/deny/revoke where the
//! viewer may, and a form to ask. The forms post to `/data/access…` and come back to the page.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use socle_api::AppState;
use socle_app::data_access::{AccessRequest, Decision, GrantState, GrantView};
use socle_store::Role;

use crate::error::PageError;
use crate::layout::{self, entity_href, short};
use crate::session::Viewer;

/// The sensitive classifications a contract's columns carry (what one may ask for).
fn classifications(body: &Value) -> Vec<String> {
    socle_app::data_access::classified_columns(body)
        .filter(|(_, _, c)| socle_data::is_sensitive(c))
        .map(|(_, _, c)| c.to_ascii_lowercase())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn state_text(s: GrantState) -> Markup {
    let class = match s {
        GrantState::Active => "level level-elite",
        GrantState::Pending => "level level-medium",
        _ => "level level-low",
    };
    html! { span class=(class) { (s.as_str()) } }
}

/// The access section of a data product's page (None for a viewer who is not signed in).
pub async fn section(
    state: &AppState,
    viewer: &Viewer,
    product: &str,
    body: &Value,
) -> Result<Option<Markup>, PageError> {
    let Some(p) = &viewer.principal else {
        return Ok(None);
    };
    let caller = viewer.caller();
    let grants = state.data_access_grants(&caller, Some(product)).await?;
    let decider = state.may_decide_data_access(&caller, product);
    let kinds = classifications(body);
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    let now = state.now_ms();
    let back = entity_href(product);
    Ok(Some(html! {
        section aria-labelledby="access" {
            h2 id="access" { "Access to classified columns" }
            p class="sub" { @if decider { "Requests and grants for this product: your team decides." } @else { "Your requests and grants for this product." } }
            @if grants.is_empty() { p class="muted" { "No access requested." } } @else {
                table id="grants" {
                    caption { "Access grants, newest first" }
                    thead { tr { th scope="col" { "Who" } th scope="col" { "Columns" } th scope="col" { "Purpose" } th scope="col" { "Days" } th scope="col" { "State" } th scope="col" { "Asked" } th scope="col" { "Action" } } }
                    tbody { @for g in &grants { (grant_row(g, p.subject.as_str(), decider, csrf, &back, now)) } }
                }
            }
            @if p.role >= Role::Member && !kinds.is_empty() {
                form method="post" action="/data/access" class="stack" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="product" value=(product);
                    label for="access-class" { "Classification" }
                    select id="access-class" name="classification" { @for k in &kinds { option value=(k) { (k) } } }
                    label for="access-purpose" { "Purpose (what the data is for)" }
                    input id="access-purpose" name="purpose" required minlength="10" maxlength="500";
                    label for="access-days" { "Days" }
                    input id="access-days" name="days" type="number" min="1" max="365" value="30" required;
                    button type="submit" { "Ask for access" }
                }
            }
        }
    }))
}

fn grant_row(g: &GrantView, me: &str, decider: bool, csrf: &str, back: &str, now: i64) -> Markup {
    let r = &g.grant;
    let mine = r.requester == me;
    html! {
        tr {
            td { a href=(entity_href(&r.requester)) { (short(&r.requester)) } " (" (short(&r.team)) ")" }
            td { (r.classification) ": " (r.columns.join(", ")) }
            td class="comment" { (r.purpose) }
            td { (r.days) }
            td { (state_text(g.state)) @if let Some(e) = r.expires_at { @if g.state == GrantState::Active { " until " (layout::date(e)) } } }
            td { (layout::ago(r.requested_at, now)) }
            td {
                @if g.state == GrantState::Pending && decider && !mine {
                    @for (what, label) in [("approve", "Approve"), ("deny", "Deny")] {
                        form method="post" action="/data/access/decide" class="inline" {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="id" value=(r.id);
                            input type="hidden" name="decision" value=(what);
                            input type="hidden" name="back" value=(back);
                            button type="submit" class="link" { (label) }
                        }
                    }
                }
                @if g.state == GrantState::Active && (decider || mine) {
                    form method="post" action="/data/access/revoke" class="inline" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="id" value=(r.id);
                        input type="hidden" name="back" value=(back);
                        button type="submit" class="link" { "Revoke" }
                    }
                }
            }
        }
    }
}

/// Only a catalog page of this portal is a place to come back to.
fn back_to(back: &str) -> &str {
    if back.starts_with("/catalog/") && !back.contains("//") && !back.contains('\\') {
        back
    } else {
        "/data"
    }
}

#[derive(Deserialize)]
pub struct AskForm {
    csrf: Option<String>,
    product: String,
    classification: String,
    purpose: String,
    days: u32,
}

pub async fn ask(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<AskForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    let g = state
        .request_data_access(
            &viewer.caller(),
            AccessRequest {
                product: f.product,
                classification: f.classification,
                purpose: f.purpose,
                days: f.days,
                team: None,
            },
        )
        .await?;
    Ok(Redirect::to(&format!("{}#access", entity_href(&g.grant.product))).into_response())
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
    id: String,
    decision: String,
    back: String,
}

pub async fn decide(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    let decision = match f.decision.as_str() {
        "approve" => Decision::Approve,
        "deny" => Decision::Deny,
        _ => return Err(PageError::bad_request("the decision is approve or deny")),
    };
    state
        .decide_data_access(&viewer.caller(), &f.id, decision, None)
        .await?;
    Ok(Redirect::to(&format!("{}#access", back_to(&f.back))).into_response())
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: Option<String>,
    id: String,
    back: String,
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    state.revoke_data_access(&viewer.caller(), &f.id).await?;
    Ok(Redirect::to(&format!("{}#access", back_to(&f.back))).into_response())
}
