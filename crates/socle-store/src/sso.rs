//! OpenID Connect sign-in: logins in progress (state, nonce, PKCE verifier — each good once)
//! and the portal sessions they open. Kept in the store so that any replica can finish a login
//! another one began, and serve its session.

use sqlx::Row;

use crate::security::{hash, principal, random_hex};
use crate::{Principal, Result, Role, Store, StoreError, with_pool};

/// The prefix of an SSO session's cookie secret (API-token sessions use `sess_`).
pub(crate) const SSO_SESSION_PREFIX: &str = "ssos_";
/// The `token_id` of a principal signed in through the identity provider: no token behind it.
pub const SSO_TOKEN_ID: &str = "sso";

/// A login in progress, as the callback takes it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcLogin {
    /// SHA-256 (hex) of the browser binding cookie's value.
    pub binding_hash: String,
    pub nonce: String,
    pub verifier: String,
    pub next_path: String,
    pub expires_at: i64,
}

/// An SSO session as opened: the cookie's secret (stored only hashed) and its expiry.
#[derive(Clone, Debug)]
pub struct SsoSession {
    pub secret: String,
    pub principal: Principal,
    pub expires_at: i64,
}

/// Bounds on what a login row may hold.
const MAX_FIELD: usize = 2048;

impl Store {
    /// Records a login in progress under its state (stored hashed). Expired logins go.
    pub async fn begin_oidc_login(
        &self,
        state: &str,
        login: &OidcLogin,
        now_ms: i64,
    ) -> Result<()> {
        if [
            &login.nonce,
            &login.verifier,
            &login.next_path,
            &login.binding_hash,
        ]
        .iter()
        .any(|f| f.len() > MAX_FIELD)
        {
            return Err(StoreError::Invalid("login fields are too long".into()));
        }
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1").bind(now_ms).execute(pool).await?;
            sqlx::query("INSERT INTO oidc_logins (state_hash, binding_hash, nonce, verifier, next_path, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(hash(state)).bind(&login.binding_hash).bind(&login.nonce).bind(&login.verifier)
                .bind(&login.next_path).bind(now_ms).bind(login.expires_at)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Takes a login by its state: deleted in the same statement, so a state is good once
    /// whichever replica sees it first. None when unknown, already taken or expired.
    pub async fn take_oidc_login(&self, state: &str, now_ms: i64) -> Result<Option<OidcLogin>> {
        if state.is_empty() || state.len() > 200 {
            return Ok(None);
        }
        let row = with_pool!(self, pool => {
            let row = sqlx::query("DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING binding_hash, nonce, verifier, next_path, expires_at")
                .bind(hash(state)).fetch_optional(pool).await?;
            match row {
                Some(r) => Some(OidcLogin {
                    binding_hash: r.try_get("binding_hash")?,
                    nonce: r.try_get("nonce")?,
                    verifier: r.try_get("verifier")?,
                    next_path: r.try_get("next_path")?,
                    expires_at: r.try_get("expires_at")?,
                }),
                None => None,
            }
        });
        Ok(row.filter(|l| l.expires_at > now_ms))
    }

    /// Opens a portal session for a person the identity provider vouched for.
    pub async fn open_sso_session(
        &self,
        subject: &str,
        role: Role,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<SsoSession> {
        if subject.is_empty() || subject.len() > 300 {
            return Err(StoreError::Invalid(
                "session subject must be 1-300 characters".into(),
            ));
        }
        let secret = format!("{SSO_SESSION_PREFIX}{}", random_hex(32));
        let expires_at = now_ms + ttl_ms;
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sso_sessions WHERE expires_at <= $1").bind(now_ms).execute(pool).await?;
            sqlx::query("INSERT INTO sso_sessions (hash, subject, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(hash(&secret)).bind(subject).bind(role.as_str()).bind(now_ms).bind(expires_at)
                .execute(pool).await?;
        });
        Ok(SsoSession {
            secret,
            principal: Principal {
                token_id: SSO_TOKEN_ID.to_owned(),
                subject: subject.to_owned(),
                role,
            },
            expires_at,
        })
    }

    pub(crate) async fn sso_session_principal(
        &self,
        secret: &str,
        now_ms: i64,
    ) -> Result<Option<Principal>> {
        if secret.len() > 200 {
            return Ok(None);
        }
        let row = with_pool!(self, pool => {
            let row = sqlx::query("SELECT subject, role FROM sso_sessions WHERE hash = $1 AND expires_at > $2")
                .bind(hash(secret)).bind(now_ms).fetch_optional(pool).await?;
            match row {
                Some(r) => Some((r.try_get::<String, _>("subject")?, r.try_get::<String, _>("role")?)),
                None => None,
            }
        });
        row.map(|(subject, role)| principal(SSO_TOKEN_ID.to_owned(), subject, &role))
            .transpose()
    }
}
