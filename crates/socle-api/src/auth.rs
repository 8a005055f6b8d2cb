//! Bearer-token authentication and role checks.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use socle_store::Role;

use crate::error::ApiError;
use crate::{AppState, now_ms};

pub use socle_store::Principal;

/// The caller, if a valid token was presented. A token that is present but invalid is refused.
pub struct Caller(pub Option<Principal>);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller(None));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(ApiError::unauthenticated)?;
        match state.store.authenticate(token, now_ms()).await? {
            Some(p) => Ok(Caller(Some(p))),
            None => Err(ApiError::unauthenticated()),
        }
    }
}

impl Caller {
    /// The principal, who must hold at least `role`.
    pub fn require(&self, role: Role) -> Result<&Principal, ApiError> {
        match &self.0 {
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
        if state.config.auth_reads {
            self.require(Role::Viewer)?;
        }
        Ok(())
    }

    pub fn actor(&self) -> String {
        self.0.as_ref().map_or_else(|| "anonymous".to_owned(), |p| p.subject.clone())
    }
}
