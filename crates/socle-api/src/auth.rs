//! Bearer-token authentication: the request's [`Actor`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use socle_app::{Actor, App};

use crate::error::ApiError;

pub use socle_store::Principal;

/// The caller of a request: the actor its `Authorization` header names (a valid token's
/// principal, an invalid token, or nobody).
#[derive(Clone, Debug)]
pub struct Caller(pub Actor);

impl std::ops::Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller(Actor::Anonymous));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        let actor = match token {
            Some(t) => match app.store.authenticate(t, app.now_ms()).await? {
                Some(p) => Actor::Principal(p),
                None => Actor::InvalidToken,
            },
            None => Actor::InvalidToken,
        };
        Ok(Caller(actor))
    }
}

impl Caller {
    /// Checks read access according to the application's settings.
    pub fn can_read(&self, app: &App) -> Result<(), ApiError> {
        Ok(app.can_read(&self.0)?)
    }

    /// The principal, who must hold at least `role`.
    pub fn require(&self, role: socle_store::Role) -> Result<&Principal, ApiError> {
        Ok(self.0.require(role)?)
    }

    /// The name written in the audit log.
    pub fn actor(&self) -> String {
        self.0.name()
    }
}
