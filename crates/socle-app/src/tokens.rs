//! API tokens: admins create, list and revoke them; a token names a catalog User or a service
//! account. Every creation and revocation is audited.

use socle_store::{Role, TokenRecord};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::AppError;

/// A token as an admin asks for it.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    /// `user:default/jane` (a User of the catalog) or `serviceaccount:<name>`.
    pub subject: String,
    /// `admin`, `member` or `viewer`.
    pub role: String,
}

/// A created token and its secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub token: TokenRecord,
    pub secret: String,
}

impl App {
    /// Tokens, never their secrets (admin).
    pub async fn list_tokens(&self, actor: &Actor) -> Result<Vec<TokenRecord>, AppError> {
        actor.require(Role::Admin)?;
        Ok(self.store.list_tokens().await?)
    }

    /// Creates a token for a catalog User or a named service account (admin). Audited.
    pub async fn create_token(
        &self,
        actor: &Actor,
        new: NewToken,
    ) -> Result<CreatedToken, AppError> {
        let result = async {
            actor.require(Role::Admin)?;
            let role = Role::parse(&new.role).ok_or_else(|| {
                AppError::bad_request("role must be one of admin, member, viewer")
            })?;
            let subject = self.token_subject(&new.subject)?;
            let (token, secret) = self
                .store
                .create_token(&new.name, &subject, role, self.now_ms())
                .await?;
            Ok(CreatedToken { token, secret })
        }
        .await;
        self.audited(actor, AuditAction::TokenCreate, "token", result)
            .await
    }

    /// A token's subject, checked: a valid service-account name, or a User of the catalog.
    fn token_subject(&self, subject: &str) -> Result<String, AppError> {
        if let Some(sa) = subject.strip_prefix("serviceaccount:") {
            if !socle_catalog::rules::is_object_name(sa) {
                return Err(AppError::bad_request(format!(
                    "service account name \"{sa}\" is not valid; expected {}",
                    socle_catalog::rules::NAME_EXPECTED
                )));
            }
            return Ok(subject.to_owned());
        }
        let r = socle_catalog::EntityRef::parse(subject, Some("User"), "default")
            .map_err(|e| AppError::bad_request(e.to_string()))?;
        if r.kind() != "user" {
            return Err(AppError::bad_request(
                "subject must be a User entity ref or serviceaccount:<name>",
            ));
        }
        if self.snapshot().get(&r.to_string()).is_none() {
            return Err(AppError::bad_request(format!(
                "user {r} is not in the catalog"
            )));
        }
        Ok(r.to_string())
    }

    /// Revokes a token (admin). Audited.
    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let result = async {
            actor.require(Role::Admin)?;
            self.store.revoke_token(id, self.now_ms()).await?;
            Ok(())
        }
        .await;
        self.audited(actor, AuditAction::TokenRevoke, id, result)
            .await
    }
}
