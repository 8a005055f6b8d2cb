//! Sign-in sessions and CSRF protection.
//!
//! Signing in exchanges an API token for a session: the cookie carries a random secret (only its
//! SHA-256 is stored), `HttpOnly`, `SameSite=Lax`, `Secure` when the request came over TLS (a
//! proxy's `X-Forwarded-Proto: https`, or `--cookie-secure`). Every form carries a CSRF token
//! derived from the session secret; a POST without the right token is refused, and so is a POST
//! whose `Origin` names another site.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use socle_api::{AppState, Principal};
use socle_app::Actor;

use crate::error::PageError;

pub const COOKIE: &str = "socle_session";
/// Sessions last 12 hours.
pub const TTL_MS: i64 = 12 * 3600 * 1000;

/// Who is looking at the page.
#[derive(Clone)]
pub struct Viewer {
    pub principal: Option<Principal>,
    /// The CSRF token for forms (signed-in viewers only).
    pub csrf: Option<String>,
}

/// The CSRF token of a session: a hash of its secret, so it need not be stored.
pub fn csrf_of(secret: &str) -> String {
    let d = Sha256::digest(format!("socle-csrf\0{secret}").as_bytes());
    hex::encode(&d[..16])
}

/// The value of a cookie in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request reached us over TLS (directly or through a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a new session (or, with an empty secret and no age, its removal).
pub fn set_cookie(secret: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(secret) = cookie(&parts.headers, COOKIE) else {
            return Ok(Viewer {
                principal: None,
                csrf: None,
            });
        };
        let principal = state
            .store
            .session_principal(secret, state.now_ms())
            .await
            .map_err(PageError::internal)?;
        Ok(Viewer {
            csrf: principal.as_ref().map(|_| csrf_of(secret)),
            principal,
        })
    }
}

impl Viewer {
    /// The viewer as the API's caller (for the API's authorisation rules).
    /// Who is asking, for the application's services.
    pub fn caller(&self) -> Actor {
        self.principal
            .clone()
            .map_or(Actor::Anonymous, Actor::Principal)
    }

    pub fn subject(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.subject.as_str())
    }

    /// Reading: open, or signed-in only when the server is configured so.
    /// (The rule is the application's: `App::can_read`.)
    pub fn can_read(&self, state: &AppState) -> Result<(), PageError> {
        state
            .can_read(&self.caller())
            .map_err(|_| PageError::sign_in("Sign in to read the portal."))
    }

    /// The read model, for a viewer who may read ([`Viewer::can_read`]).
    pub fn read_model(&self, state: &AppState) -> Result<Arc<socle_app::Snapshot>, PageError> {
        self.can_read(state)?;
        Ok(state.snapshot())
    }

    /// A mutation: a signed-in viewer, the form's CSRF token, and no foreign `Origin`.
    pub fn check_form(
        &self,
        headers: &HeaderMap,
        form_token: Option<&str>,
    ) -> Result<&Principal, PageError> {
        same_origin(headers)?;
        let Some(p) = &self.principal else {
            return Err(PageError::sign_in(
                "Sign in to do that: changes need a signed-in user.",
            ));
        };
        let expected = self.csrf.as_deref().unwrap_or_default();
        let given = form_token.unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(PageError::new(
                axum::http::StatusCode::FORBIDDEN,
                "Form expired",
                "The form's security token is missing or does not match your session (CSRF protection). Reload the page and try again.",
            ));
        }
        Ok(p)
    }
}

/// Refuses a request whose `Origin` header names a different host than `Host`.
pub fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if origin == "null" || origin_host != host {
        return Err(PageError::new(
            axum::http::StatusCode::FORBIDDEN,
            "Cross-site request refused",
            "This form was sent from another site; Socle only accepts its own forms.",
        ));
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}
