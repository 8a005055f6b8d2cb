//! Data access grants: a person asks to read a data product's columns of one classification
//! for a purpose and a number of days; the product's owner team approves or denies; the
//! requester, the owners or an admin revoke. A decision is one conditional update (`pending`
//! to `approved`/`denied`, `approved` to `revoked`), so two deciders racing cannot both win.
//! Expiry is not a write: an approved grant past `expires_at` reads as expired.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Result, Store, StoreError, with_pool};

/// Most grants one read returns.
pub const MAX_GRANT_LIST: i64 = 1000;

/// Where a grant stands, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantStatus {
    Pending,
    Approved,
    Denied,
    Revoked,
}

impl GrantStatus {
    pub const ALL: [GrantStatus; 4] = [Self::Pending, Self::Approved, Self::Denied, Self::Revoked];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A request as it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGrant {
    /// The data product (a `datacontract:` entity ref).
    pub product: String,
    /// Its owner team when asked.
    pub owner: String,
    pub requester: String,
    /// The requester's team the access is for (a group ref).
    pub team: String,
    pub purpose: String,
    /// The classification whose columns the grant covers (`pii`, `confidential`, …).
    pub classification: String,
    /// `table.column` of each column covered.
    pub columns: Vec<String>,
    pub days: i64,
    pub requested_at: i64,
}

/// A stored grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: String,
    pub product: String,
    pub owner: String,
    pub requester: String,
    pub team: String,
    pub purpose: String,
    pub classification: String,
    pub columns: Vec<String>,
    pub days: i64,
    pub status: GrantStatus,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub note: Option<String>,
    /// Set when approved: `decided_at + days`.
    pub expires_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<i64>,
}

/// Which grants to list (every filter given must hold), newest first.
#[derive(Clone, Debug, Default)]
pub struct GrantQuery<'a> {
    pub product: Option<&'a str>,
    pub requester: Option<&'a str>,
    pub status: Option<GrantStatus>,
    pub limit: i64,
}

const COLUMNS: &str = "id, product, owner, requester, team, purpose, classification, columns, days, status, \
                       requested_at, decided_by, decided_at, note, expires_at, revoked_by, revoked_at";

macro_rules! grant_record {
    ($r:expr) => {{
        let r = &$r;
        let status: String = r.try_get("status")?;
        let columns: String = r.try_get("columns")?;
        GrantRecord {
            id: r.try_get("id")?,
            product: r.try_get("product")?,
            owner: r.try_get("owner")?,
            requester: r.try_get("requester")?,
            team: r.try_get("team")?,
            purpose: r.try_get("purpose")?,
            classification: r.try_get("classification")?,
            columns: serde_json::from_str(&columns)
                .map_err(|e| StoreError::Corrupt(format!("grant columns: {e}")))?,
            days: r.try_get("days")?,
            status: GrantStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("grant status {status:?}")))?,
            requested_at: r.try_get("requested_at")?,
            decided_by: r.try_get("decided_by")?,
            decided_at: r.try_get("decided_at")?,
            note: r.try_get("note")?,
            expires_at: r.try_get("expires_at")?,
            revoked_by: r.try_get("revoked_by")?,
            revoked_at: r.try_get("revoked_at")?,
        }
    }};
}

/// A decision on a pending grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantDecision<'a> {
    pub approve: bool,
    pub by: &'a str,
    pub at: i64,
    pub note: Option<&'a str>,
}

impl Store {
    /// Stores a pending request and returns it.
    pub async fn create_grant(&self, g: &NewGrant) -> Result<GrantRecord> {
        let mut id = [0u8; 12];
        rand::Rng::fill(&mut rand::rng(), &mut id);
        let id = hex::encode(id);
        let columns = serde_json::to_string(&g.columns)
            .map_err(|e| StoreError::Invalid(format!("grant columns: {e}")))?;
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO data_access_grants (id, product, owner, requester, team, purpose, classification, columns, days, status, requested_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10)")
                .bind(&id).bind(&g.product).bind(&g.owner).bind(&g.requester).bind(&g.team)
                .bind(&g.purpose).bind(&g.classification).bind(&columns).bind(g.days).bind(g.requested_at)
                .execute(pool).await?;
        });
        self.grant(&id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("grant {id} not found after insert")))
    }

    /// One grant.
    pub async fn grant(&self, id: &str) -> Result<Option<GrantRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM data_access_grants WHERE id = $1");
        Ok(with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await? {
                Some(r) => Some(grant_record!(r)),
                None => None,
            }
        }))
    }

    /// Grants matching `q`, newest first, at most `q.limit` (and [`MAX_GRANT_LIST`]). Only the
    /// filters given are in the SQL, so each is served by its index.
    pub async fn grants(&self, q: &GrantQuery<'_>) -> Result<Vec<GrantRecord>> {
        let limit = q.limit.clamp(1, MAX_GRANT_LIST);
        let status = q.status.map(GrantStatus::as_str);
        Ok(with_pool!(self, pool => {
            let mut qb = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM data_access_grants WHERE 1 = 1"));
            if let Some(p) = q.product {
                qb.push(" AND product = ").push_bind(p);
            }
            if let Some(r) = q.requester {
                qb.push(" AND requester = ").push_bind(r);
            }
            if let Some(s) = status {
                qb.push(" AND status = ").push_bind(s);
            }
            qb.push(" ORDER BY requested_at DESC, id LIMIT ").push_bind(limit);
            let rows = qb.build().fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(grant_record!(r));
            }
            out
        }))
    }

    /// How many of `requester`'s requests are pending.
    pub async fn pending_grants_of(&self, requester: &str) -> Result<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM data_access_grants WHERE requester = $1 AND status = 'pending'")
                .bind(requester).fetch_one(pool).await?
        }))
    }

    /// Approves or denies a pending grant; false when it is no longer pending (another
    /// decision won). An approval expires `days` after it.
    pub async fn decide_grant(&self, id: &str, d: &GrantDecision<'_>) -> Result<bool> {
        let status = if d.approve {
            GrantStatus::Approved
        } else {
            GrantStatus::Denied
        };
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE data_access_grants SET status = $2, decided_by = $3, decided_at = $4, note = $5, \
                         expires_at = CASE WHEN $2 = 'approved' THEN $4 + days * 86400000 ELSE NULL END \
                         WHERE id = $1 AND status = 'pending'")
                .bind(id).bind(status.as_str()).bind(d.by).bind(d.at).bind(d.note)
                .execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Revokes an approved grant; false when it is not approved (pending, decided against or
    /// revoked already).
    pub async fn revoke_grant(&self, id: &str, by: &str, at: i64) -> Result<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE data_access_grants SET status = 'revoked', revoked_by = $2, revoked_at = $3 \
                         WHERE id = $1 AND status = 'approved'")
                .bind(id).bind(by).bind(at)
                .execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }
}
