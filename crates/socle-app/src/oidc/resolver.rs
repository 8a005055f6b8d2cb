//! The sign-in resolver: the person an ID token names → a catalog User and a role.
//!
//! The User is found by `email` (its `spec.profile.email`, case-insensitively; exactly one User
//! of an organisation location must have it) or by another claim whose value is the User's
//! name. Nobody else signs in: an unknown person gets no session. The role is `member`; a
//! person in the configured admin group (read from the groups claim, when configured) is
//! `admin`. Groups never change the organisation: that is the catalog's.

use socle_store::Role;

use super::OidcError;
use super::config::{OidcConfig, UserClaim};
use super::id_token::IdClaims;
use crate::Snapshot;

/// Who signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `user:default/<name>`.
    pub user: String,
    pub role: Role,
}

/// At most this many groups are read from the groups claim.
const MAX_GROUPS: usize = 1000;

pub fn resolve(
    snapshot: &Snapshot,
    config: &OidcConfig,
    claims: &IdClaims,
) -> Result<Resolved, OidcError> {
    let user = match &config.user_claim {
        UserClaim::Email => by_email(snapshot, claims)?,
        UserClaim::Name(claim) => by_name(snapshot, claims, claim)?,
    };
    let role = match (&config.groups_claim, &config.admin_group) {
        (Some(claim), Some(admin)) if groups(claims, claim).any(|g| g == admin) => Role::Admin,
        _ => Role::Member,
    };
    Ok(Resolved { user, role })
}

fn groups<'a>(claims: &'a IdClaims, claim: &str) -> impl Iterator<Item = &'a str> {
    claims
        .other
        .get(claim)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .take(MAX_GROUPS)
        .filter_map(|g| g.as_str())
}

fn unknown(what: String) -> OidcError {
    OidcError::UnknownUser(what)
}

fn by_email(snapshot: &Snapshot, claims: &IdClaims) -> Result<String, OidcError> {
    let email = claims
        .other
        .get("email")
        .and_then(|v| v.as_str())
        .filter(|e| !e.is_empty() && e.len() <= 320)
        .ok_or_else(|| unknown("the identity provider did not give an email address".into()))?;
    if claims.other.get("email_verified") == Some(&serde_json::Value::Bool(false)) {
        return Err(unknown(format!(
            "the identity provider has not verified the address {email}"
        )));
    }
    // Users sort together in the snapshot ("user:…" refs).
    let start = snapshot
        .entities
        .partition_point(|e| *e.entity_ref < *"user:");
    let mut found = snapshot.entities[start..]
        .iter()
        .take_while(|e| e.entity_ref.starts_with("user:"))
        .filter(|e| e.shapes_org)
        .filter(|e| {
            serde_json::from_str::<serde_json::Value>(&e.body)
                .ok()
                .and_then(|b| {
                    b.pointer("/spec/profile/email")
                        .and_then(|v| v.as_str())
                        .map(|m| m.eq_ignore_ascii_case(email))
                })
                .unwrap_or(false)
        });
    let Some(first) = found.next() else {
        return Err(unknown(format!(
            "no User of the catalog has the address {email}"
        )));
    };
    if found.next().is_some() {
        return Err(unknown(format!(
            "several Users of the catalog have the address {email}"
        )));
    }
    Ok(first.entity_ref.to_string())
}

fn by_name(snapshot: &Snapshot, claims: &IdClaims, claim: &str) -> Result<String, OidcError> {
    let name = claims
        .other
        .get(claim)
        .and_then(|v| v.as_str())
        .or((claim == "sub").then_some(claims.sub.as_str()))
        .ok_or_else(|| unknown(format!("the ID token has no {claim} claim")))?;
    if !socle_catalog::rules::is_object_name(name) {
        return Err(unknown(format!("{name:?} is not a User name")));
    }
    let r = format!("user:default/{}", name.to_ascii_lowercase());
    match snapshot.get(&r) {
        Some(e) if e.shapes_org => Ok(r),
        _ => Err(unknown(format!("the catalog has no User {name}"))),
    }
}
