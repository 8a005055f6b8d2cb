//! Sign-in with an API token, sign-out.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use socle_api::AppState;
use socle_app::{AuditAction, AuditOutcome};

use crate::error::PageError;
use crate::layout;
use crate::session::{self, Viewer};

#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// Only local paths: never redirect to another site.
pub(crate) fn safe_next(next: Option<&str>) -> &str {
    match next {
        // Browsers drop tabs and line breaks from a URL (`/\t/evil.example` is
        // `//evil.example`, another site) and read `\` as `/`: printable ASCII only.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n
        }
        _ => "/",
    }
}

fn signin_page(
    viewer: &Viewer,
    provider: Option<&str>,
    next: &str,
    error: Option<&str>,
) -> maud::Markup {
    layout::page(
        viewer,
        "Sign in",
        "",
        html! {
            h1 { "Sign in" }
            @if let Some(name) = provider {
                p {
                    a class="button" href={ "/auth/oidc/start?next=" (percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)) } {
                        "Sign in with " (name)
                    }
                }
                h2 { "Or with an API token" }
            }
            p class="sub" { "Use an API token (" code { "socle token create" } " or your platform team gives you one). The portal keeps a session cookie; the token itself is not stored in the browser." }
            @if let Some(e) = error { p class="notice error" role="alert" { (e) } }
            form method="post" action="/signin" {
                input type="hidden" name="next" value=(next);
                div class="field" {
                    label for="token" { "API token" }
                    input type="password" id="token" name="token" required autocomplete="current-password" autofocus;
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub async fn form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<Next>,
) -> maud::Markup {
    signin_page(
        &viewer,
        state.oidc_provider_name(),
        safe_next(q.next.as_deref()),
        None,
    )
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Result<Response, PageError> {
    session::same_origin(&headers)?;
    let next = safe_next(f.next.as_deref()).to_owned();
    let now = state.now_ms();
    let opened = state
        .store
        .open_session(f.token.trim(), now, session::TTL_MS)
        .await?;
    let Some(s) = opened else {
        let _ = state
            .record(
                "invalid-token",
                AuditAction::SessionOpen,
                "portal",
                AuditOutcome::Denied,
                "",
            )
            .await;
        return Ok((
            StatusCode::UNAUTHORIZED,
            signin_page(
                &viewer,
                state.oidc_provider_name(),
                &next,
                Some("That token is unknown, revoked or malformed."),
            ),
        )
            .into_response());
    };
    state
        .record(
            &s.principal.subject,
            AuditAction::SessionOpen,
            "portal",
            AuditOutcome::Ok,
            "",
        )
        .await?;
    let cookie = session::set_cookie(
        &s.secret,
        session::TTL_MS / 1000,
        state.config.cookie_secure || session::over_tls(&headers),
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

#[derive(Deserialize)]
pub struct SignOut {
    csrf: Option<String>,
}

pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<SignOut>,
) -> Result<Response, PageError> {
    let p = viewer.check_form(&headers, f.csrf.as_deref())?;
    let sso = p.token_id == socle_store::SSO_TOKEN_ID;
    if let Some(secret) = session::cookie(&headers, session::COOKIE) {
        state.store.close_session(secret).await?;
    }
    let cookie = session::set_cookie(
        "",
        0,
        state.config.cookie_secure || session::over_tls(&headers),
    );
    // A session from the identity provider: offer to end the provider's too (RP-initiated
    // logout), when it has an end-session endpoint. A link, not a redirect: the portal's
    // `form-action 'self'` policy stops a form's redirect to another site.
    let provider_logout = match sso {
        true => state.oidc_logout_url().await,
        false => None,
    };
    let Some(to) = provider_logout else {
        return Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response());
    };
    let signed_out = Viewer {
        principal: None,
        csrf: None,
    };
    let name = state
        .oidc_provider_name()
        .unwrap_or("the identity provider");
    let body = layout::page(
        &signed_out,
        "Signed out",
        "",
        html! {
            h1 { "Signed out" }
            p { "You are signed out of Socle." }
            p { a class="button" href=(to) { "Sign out of " (name) " too" } }
            p { a href="/" { "Back to the home page" } }
        },
    );
    Ok(([(header::SET_COOKIE, cookie)], body).into_response())
}
