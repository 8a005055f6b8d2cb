//! API tokens (stored as SHA-256 hashes, never in plaintext) and the audit log.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Who is calling: the token's subject (a catalog User ref or `serviceaccount:<name>`) and role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub token_id: String,
    pub subject: String,
    pub role: Role,
}

/// A token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub subject: String,
    pub role: Role,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
}

/// A principal from a token row.
pub(crate) fn principal(token_id: String, subject: String, role: &str) -> Result<Principal> {
    Ok(Principal {
        token_id,
        subject,
        role: Role::parse(role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
    })
}

pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const TOKEN_PREFIX: &str = "socle_";

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

impl Store {
    /// Creates a token and returns its record and its secret (shown once, stored only hashed).
    pub async fn create_token(
        &self,
        name: &str,
        subject: &str,
        role: Role,
        now_ms: i64,
    ) -> Result<(TokenRecord, String)> {
        if name.is_empty() || name.len() > 100 || subject.is_empty() || subject.len() > 300 {
            return Err(StoreError::Invalid(
                "token name and subject must be 1-100 and 1-300 characters".into(),
            ));
        }
        let id = random_hex(8);
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(24));
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO tokens (id, name, subject, role, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id).bind(name).bind(subject).bind(role.as_str()).bind(hash(&secret)).bind(now_ms)
                .execute(pool).await?;
        });
        let rec = TokenRecord {
            id,
            name: name.to_owned(),
            subject: subject.to_owned(),
            role,
            created_at: now_ms,
            last_used_at: None,
            revoked_at: None,
        };
        Ok((rec, secret))
    }

    /// Number of tokens ever created (0 on a fresh store: time to bootstrap an admin).
    pub async fn token_count(&self) -> Result<i64> {
        Ok(
            with_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM tokens").fetch_one(pool).await?),
        )
    }

    /// Resolves a presented secret to its principal, if the token exists and is not revoked.
    pub async fn authenticate(&self, secret: &str, now_ms: i64) -> Result<Option<Principal>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
            return Ok(None);
        }
        let h = hash(secret);
        let row = with_pool!(self, pool => {
            let row = sqlx::query("SELECT id, subject, role FROM tokens WHERE hash = $1 AND revoked_at IS NULL").bind(&h).fetch_optional(pool).await?;
            match row {
                Some(row) => {
                    let id: String = row.try_get("id")?;
                    sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2").bind(now_ms).bind(&id).execute(pool).await?;
                    Some((id, row.try_get::<String, _>("subject")?, row.try_get::<String, _>("role")?))
                }
                None => None,
            }
        });
        row.map(|(token_id, subject, role)| principal(token_id, subject, &role))
            .transpose()
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.tokens_where(None).await
    }

    async fn tokens_where(&self, subject: Option<&str>) -> Result<Vec<TokenRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, name, subject, role, created_at, last_used_at, revoked_at FROM tokens WHERE $1 IS NULL OR subject = $1 ORDER BY created_at, id").bind(subject).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let role: String = row.try_get("role")?;
                out.push(TokenRecord {
                    id: row.try_get("id")?, name: row.try_get("name")?, subject: row.try_get("subject")?,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
                    created_at: row.try_get("created_at")?, last_used_at: row.try_get("last_used_at")?, revoked_at: row.try_get("revoked_at")?,
                });
            }
            out
        }))
    }

    /// The tokens of one subject (a person's own tokens), never their secrets.
    pub async fn list_tokens_of(&self, subject: &str) -> Result<Vec<TokenRecord>> {
        self.tokens_where(Some(subject)).await
    }

    /// Revokes a token only if it belongs to `subject` (one statement: no check-then-act race).
    pub async fn revoke_token_of(&self, id: &str, subject: &str, now_ms: i64) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND subject = $3 AND revoked_at IS NULL").bind(now_ms).bind(id).bind(subject).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "active token {id} of {subject}"
            )));
        }
        Ok(())
    }

    pub async fn revoke_token(&self, id: &str, now_ms: i64) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now_ms).bind(id).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("active token {id}")));
        }
        Ok(())
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: &str,
        detail: &str,
        now_ms: i64,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let seq: i64 = sqlx::query_scalar("UPDATE meta SET value = value + 1 WHERE key = 'audit_seq' RETURNING value").fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO audit_log (seq, at, actor, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(seq).bind(now_ms).bind(actor).bind(action).bind(target).bind(outcome).bind(detail)
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The most recent audit entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, at, actor, action, target, outcome, detail FROM audit_log ORDER BY seq DESC LIMIT $1")
                .bind(i64::from(limit.clamp(1, 1000))).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(AuditEntry { seq: row.try_get("seq")?, at: row.try_get("at")?, actor: row.try_get("actor")?, action: row.try_get("action")?,
                    target: row.try_get("target")?, outcome: row.try_get("outcome")?, detail: row.try_get("detail")? });
            }
            out
        }))
    }
}

/// A portal session as opened: the secret for the cookie (stored only hashed) and its expiry.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub secret: String,
    pub principal: Principal,
    pub expires_at: i64,
}

const SESSION_PREFIX: &str = "sess_";

impl Store {
    /// Opens a portal session for the holder of an API token. None when the token is not valid.
    pub async fn open_session(
        &self,
        token: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<NewSession>> {
        let Some(principal) = self.authenticate(token, now_ms).await? else {
            return Ok(None);
        };
        let secret = format!("{SESSION_PREFIX}{}", random_hex(32));
        let expires_at = now_ms + ttl_ms;
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_ms).execute(pool).await?;
            sqlx::query("INSERT INTO sessions (hash, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(hash(&secret)).bind(&principal.token_id).bind(now_ms).bind(expires_at)
                .execute(pool).await?;
        });
        Ok(Some(NewSession {
            secret,
            principal,
            expires_at,
        }))
    }

    /// The principal of a session cookie: the session must not have expired and its token must
    /// not have been revoked since.
    pub async fn session_principal(&self, secret: &str, now_ms: i64) -> Result<Option<Principal>> {
        if secret.starts_with(crate::sso::SSO_SESSION_PREFIX) {
            return self.sso_session_principal(secret, now_ms).await;
        }
        if !secret.starts_with(SESSION_PREFIX) || secret.len() > 200 {
            return Ok(None);
        }
        let h = hash(secret);
        let row = with_pool!(self, pool => {
            let row = sqlx::query("SELECT t.id, t.subject, t.role FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL")
                .bind(&h).bind(now_ms).fetch_optional(pool).await?;
            match row {
                Some(row) => Some((row.try_get::<String, _>("id")?, row.try_get::<String, _>("subject")?, row.try_get::<String, _>("role")?)),
                None => None,
            }
        });
        row.map(|(token_id, subject, role)| principal(token_id, subject, &role))
            .transpose()
    }

    /// Ends a session (signing out). Unknown secrets are ignored.
    pub async fn close_session(&self, secret: &str) -> Result<()> {
        let h = hash(secret);
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(&h).execute(pool).await?;
            sqlx::query("DELETE FROM sso_sessions WHERE hash = $1").bind(&h).execute(pool).await?;
        });
        Ok(())
    }
}
