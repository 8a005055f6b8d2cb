//! Single sign-on through an OpenID provider: `/auth/oidc/start` sends the browser to the
//! provider with a fresh login (state, nonce, PKCE) and a binding cookie; `/auth/oidc/callback`
//! finishes it (see `socle_app::oidc`) and opens a session, or shows why not — with no session.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use socle_api::AppState;
use socle_app::oidc::{Callback, OidcError};

use crate::error::PageError;
use crate::layout;
use crate::pages::signin::safe_next;
use crate::session::{self, Viewer};

/// The cookie binding a login in progress to the browser that began it.
pub const BINDING_COOKIE: &str = "socle_oidc";
const CALLBACK_PATH: &str = "/auth/oidc";

#[derive(Deserialize, Default)]
pub struct Start {
    next: Option<String>,
}

fn binding_cookie(value: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{BINDING_COOKIE}={value}; Path={CALLBACK_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

pub async fn start(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<Start>,
) -> Result<Response, PageError> {
    let next = safe_next(q.next.as_deref());
    match state.oidc_begin(next).await {
        Ok(login) => {
            let secure = state.config.cookie_secure || session::over_tls(&headers);
            let cookie = binding_cookie(&login.binding, login.max_age_s, secure);
            Ok((
                [(header::SET_COOKIE, cookie)],
                Redirect::to(&login.authorize_url),
            )
                .into_response())
        }
        Err(OidcError::NotConfigured) => Err(PageError::not_found(
            "Single sign-on is not configured on this Socle.",
        )),
        Err(e) => Ok(refused(&viewer, &e)),
    }
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

pub async fn callback(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, PageError> {
    let binding = session::cookie(&headers, BINDING_COOKIE);
    let cb = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
        iss: q.iss,
    };
    let secure = state.config.cookie_secure || session::over_tls(&headers);
    let clear = binding_cookie("", 0, secure);
    match state.oidc_complete(cb, binding, session::TTL_MS).await {
        Ok(done) => {
            let cookie = session::set_cookie(&done.session.secret, session::TTL_MS / 1000, secure);
            let mut resp = Redirect::to(safe_next(Some(&done.next))).into_response();
            let h = resp.headers_mut();
            for c in [cookie, clear] {
                if let Ok(v) = c.parse() {
                    h.append(header::SET_COOKIE, v);
                }
            }
            Ok(resp)
        }
        Err(OidcError::NotConfigured) => Err(PageError::not_found(
            "Single sign-on is not configured on this Socle.",
        )),
        Err(e) => {
            let mut resp = refused(&viewer, &e);
            if let Ok(v) = clear.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
    }
}

/// The page of a refused or failed sign-in: what went wrong, and a way to start again.
fn refused(viewer: &Viewer, e: &OidcError) -> Response {
    let status = if e.is_failure() {
        tracing::error!("single sign-on failed: {e}");
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::FORBIDDEN
    };
    let message = match e {
        OidcError::Store(_) => {
            "The server could not record the sign-in. The error was logged.".to_owned()
        }
        other => other.to_string(),
    };
    let body = layout::page(
        viewer,
        "Sign-in refused",
        "",
        html! {
            h1 { "Sign-in refused" }
            p class="notice error" role="alert" { (message) }
            p { "No session was opened. " a href="/signin" { "Back to sign-in" } }
        },
    );
    (status, body).into_response()
}
