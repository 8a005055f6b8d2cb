//! Personal API tokens: a signed-in person lists, creates and revokes their OWN tokens. A token
//! names its creator and holds at most the creator's role; nobody revokes another's token here
//! (admins do that through `tokens.rs`). Audited like admin token changes.

use socle_store::{Role, TokenRecord};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::AppError;
use crate::tokens::CreatedToken;

/// At most this many active personal tokens per person.
pub const MAX_PERSONAL_TOKENS: usize = 20;

impl App {
    /// The caller's own tokens (a person: `user:` subjects), never their secrets.
    pub async fn list_own_tokens(&self, actor: &Actor) -> Result<Vec<TokenRecord>, AppError> {
        let p = own_subject(actor)?;
        Ok(self.store.list_tokens_of(&p.subject).await?)
    }

    /// A new token for the caller, with `role` at most the caller's own. Audited.
    pub async fn create_own_token(
        &self,
        actor: &Actor,
        name: &str,
        role: &str,
    ) -> Result<CreatedToken, AppError> {
        let result = async {
            let p = own_subject(actor)?;
            let role = Role::parse(role).ok_or_else(|| {
                AppError::bad_request("role must be one of admin, member, viewer")
            })?;
            if role > p.role {
                return Err(AppError::forbidden(format!(
                    "a personal token cannot have the {} role: yours is {}",
                    role.as_str(),
                    p.role.as_str()
                )));
            }
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(AppError::bad_request(
                    "a token name has 1 to 100 characters",
                ));
            }
            let active = self
                .store
                .list_tokens_of(&p.subject)
                .await?
                .iter()
                .filter(|t| t.revoked_at.is_none())
                .count();
            if active >= MAX_PERSONAL_TOKENS {
                return Err(AppError::bad_request(format!(
                    "at most {MAX_PERSONAL_TOKENS} active personal tokens: revoke one first"
                )));
            }
            let (token, secret) = self
                .store
                .create_token(name, &p.subject, role, self.now_ms())
                .await?;
            Ok(CreatedToken { token, secret })
        }
        .await;
        self.audited(actor, AuditAction::TokenCreate, "personal token", result)
            .await
    }

    /// Revokes one of the caller's own tokens (another's is "not found"). Audited.
    pub async fn revoke_own_token(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let result = async {
            let p = own_subject(actor)?;
            self.store
                .revoke_token_of(id, &p.subject, self.now_ms())
                .await?;
            Ok(())
        }
        .await;
        self.audited(actor, AuditAction::TokenRevoke, id, result)
            .await
    }
}

/// The caller, who must be a person (a catalog User), not a service account.
fn own_subject(actor: &Actor) -> Result<&socle_store::Principal, AppError> {
    let p = actor.require(Role::Viewer)?;
    if !p.subject.starts_with("user:") {
        return Err(AppError::forbidden(
            "personal tokens are for people; service accounts get theirs from an admin",
        ));
    }
    Ok(p)
}
