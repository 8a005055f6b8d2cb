//! Bearer-token authentication and role checks.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use socle_store::Role;

use crate::error::ApiError;
use crate::{AppState, now_ms};

pub use socle_store::Principal;

/// The caller: the principal of a valid token, or nobody. A token that is present but invalid
/// (unknown, revoked, malformed) is remembered so that every use of it is refused — and audited.
#[derive(Clone)]
pub struct Caller(pub Option<Principal>, pub bool);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller(None, false));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        match token {
            Some(t) => match state.store.authenticate(t, now_ms()).await? {
                Some(p) => Ok(Caller(Some(p), false)),
                None => Ok(Caller(None, true)),
            },
            None => Ok(Caller(None, true)),
        }
    }
}

impl Caller {
    /// The principal, who must hold at least `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, ApiError> {
        match &self.0 {
            None if self.1 => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the API token is unknown, revoked or malformed",
            )),
            None => Err(ApiError::unauthenticated()),
            Some(p) if p.role >= role => Ok(p),
            Some(p) => Err(ApiError::forbidden(format!(
                "this needs the {} role; the token of {} has the {} role",
                role.as_str(),
                p.subject,
                p.role.as_str()
            ))),
        }
    }

    /// Checks read access according to the server's configuration.
    pub fn can_read(&self, state: &AppState) -> Result<(), ApiError> {
        if state.config.auth_reads || self.1 {
            self.require(Role::Viewer)?;
        }
        Ok(())
    }

    pub fn actor(&self) -> String {
        match &self.0 {
            Some(p) => p.subject.clone(),
            None if self.1 => "invalid-token".to_owned(),
            None => "anonymous".to_owned(),
        }
    }
}
