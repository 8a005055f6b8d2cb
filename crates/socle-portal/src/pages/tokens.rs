//! `/tokens`: a signed-in person's own API tokens — listed, created (a role at most their own;
//! the secret shown once) and revoked. Another person's tokens are neither shown nor revocable.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_store::{Role, TokenRecord};

use crate::error::PageError;
use crate::layout;
use crate::session::Viewer;

fn page(
    viewer: &Viewer,
    tokens: &[TokenRecord],
    now: i64,
    created: Option<(&str, &str)>,
) -> Markup {
    let own_role = viewer.principal.as_ref().map_or(Role::Viewer, |p| p.role);
    let roles = [Role::Viewer, Role::Member, Role::Admin]
        .into_iter()
        .filter(|r| *r <= own_role);
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    layout::page(
        viewer,
        "Your API tokens",
        "",
        html! {
            h1 { "Your API tokens" }
            p class="sub" { "Tokens let scripts and the CLI act as you, with at most your role (" (own_role.as_str()) ")." }
            @if let Some((name, secret)) = created {
                div class="notice" role="status" {
                    p { "Token " strong { (name) } " created. Copy it now: it is not shown again." }
                    p { code id="new-token" { (secret) } }
                }
            }
            @if tokens.is_empty() {
                p class="muted" { "You have no tokens." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "Last used" } th { "State" } } }
                    tbody {
                        @for t in tokens {
                            tr {
                                td { (t.name) }
                                td { (t.role.as_str()) }
                                td { (layout::ago(t.created_at, now)) }
                                td { @if let Some(u) = t.last_used_at { (layout::ago(u, now)) } @else { "never" } }
                                td {
                                    @if t.revoked_at.is_some() { "revoked" } @else {
                                        form method="post" action="/tokens/revoke" class="inline" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="id" value=(t.id);
                                            button type="submit" class="link" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "New token" }
            form method="post" action="/tokens" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="name" { "Name" }
                    input type="text" id="name" name="name" required maxlength="100";
                }
                div class="field" {
                    label for="role" { "Role" }
                    select id="role" name="role" {
                        @for r in roles { option value=(r.as_str()) selected[r == Role::Member || own_role < Role::Member] { (r.as_str()) } }
                    }
                }
                button type="submit" { "Create token" }
            }
        },
    )
}

pub async fn list(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    if viewer.principal.is_none() {
        return Err(PageError::sign_in("Sign in to see your API tokens."));
    }
    let tokens = state.list_own_tokens(&viewer.caller()).await?;
    Ok(page(&viewer, &tokens, state.now_ms(), None))
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: Option<String>,
    name: String,
    role: String,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Result<Markup, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    let created = state
        .create_own_token(&viewer.caller(), &f.name, &f.role)
        .await?;
    let tokens = state.list_own_tokens(&viewer.caller()).await?;
    Ok(page(
        &viewer,
        &tokens,
        state.now_ms(),
        Some((&created.token.name, &created.secret)),
    ))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: Option<String>,
    id: String,
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    state.revoke_own_token(&viewer.caller(), &f.id).await?;
    Ok(Redirect::to("/tokens").into_response())
}
