//! What a location's apply changes, worked out in memory before any write: which entities are
//! new, changed or unchanged (by their bodies' etags), which conflict with another location's,
//! and which disappear. Pure: the store's transaction (`catalog.rs`) reads what it needs first.

use std::collections::{BTreeSet, HashMap, HashSet};

use sha2::{Digest, Sha256};
use socle_catalog::{Entity, EntityError};

use crate::catalog::ApplyOutcome;

/// An entity body's tag: 24 hex digits of its SHA-256, held inline (a location's million changed
/// entities each keep theirs until the apply commits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Etag([u8; 24]);

impl Etag {
    fn of(body: &str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let mut out = [0u8; 24];
        hex::encode_to_slice(&digest[..12], &mut out).expect("24 hex digits for 12 bytes");
        Self(out)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// What a location provides, sorted by [`sort_provided`].
#[derive(Default)]
pub(crate) struct Provided<'e> {
    /// New or changed entities with their etags.
    pub(crate) changed: Vec<(&'e Entity, Etag)>,
    /// `(ref, owner)` of entities another location has.
    pub(crate) conflicts: Vec<(String, String)>,
    /// The refs provided (conflicts aside), borrowed from the entities.
    pub(crate) provided: HashSet<&'e str>,
}

/// Sorts a location's entities into conflicts (an entity another location provides, or
/// released by one still registered: reported in `out.errors`), unchanged, updated and added
/// ones (counted in `out`).
pub(crate) fn sort_provided<'e>(
    entities: &'e [Entity],
    owned: &HashMap<String, (String, String)>,
    foreign: &HashMap<String, String>,
    released_by: &HashSet<String>,
    out: &mut ApplyOutcome,
) -> Provided<'e> {
    let mut changed_entities: Vec<(&Entity, Etag)> = Vec::new();
    let mut conflicts: Vec<(String, String)> = Vec::new();
    let mut provided: HashSet<&'e str> = HashSet::with_capacity(entities.len());
    for e in entities {
        let r = e.entity_ref.as_str();
        if let Some(owner) = foreign.get(r) {
            let r = r.to_owned();
            let message = if released_by.contains(&r) {
                format!(
                    "entity {r} was provided by location {owner}, which is still registered; only that location or one an admin registered may provide it again (an admin can unregister {owner})"
                )
            } else {
                format!(
                    "entity {r} is already provided by location {owner}; it was not changed. Remove it from one of the two locations"
                )
            };
            out.errors.push(EntityError {
                line: Some(e.line),
                entity: Some(r.clone()),
                value: Some(r.clone()),
                ..EntityError::file(&e.file, "location.conflict", message)
            });
            conflicts.push((r, owner.clone()));
            continue;
        }
        if !provided.insert(r) {
            continue; // duplicates were reported by the reader
        }
        let tag = Etag::of(&e.body);
        match owned.get(r) {
            Some((_, old)) if old.as_str() == tag.as_str() => out.unchanged += 1,
            Some(_) => {
                out.updated += 1;
                changed_entities.push((e, tag));
            }
            None => {
                out.added += 1;
                changed_entities.push((e, tag));
            }
        }
    }
    Provided {
        changed: changed_entities,
        conflicts,
        provided,
    }
}

/// What disappears, sorted: owned, not provided, not protected by a failure (those are
/// counted as kept in `out`, and everything is when the location was unreadable).
pub(crate) fn disappearing(
    owned: &HashMap<String, (String, String)>,
    provided: &HashSet<&str>,
    unreadable: bool,
    files_failed: &BTreeSet<String>,
    rejected: &HashSet<String>,
    out: &mut ApplyOutcome,
) -> Vec<String> {
    let mut removed: Vec<String> = Vec::new();
    if !unreadable {
        for (r, (file_key, _)) in owned {
            if provided.contains(r.as_str()) {
                continue;
            }
            if files_failed.contains(file_key) || rejected.contains(r) {
                out.kept += 1;
            } else {
                removed.push(r.clone());
            }
        }
    } else {
        out.kept = owned.len();
    }
    removed.sort();
    out.removed = removed.len();
    removed
}

/// The refs of `entities` that location does not own yet (another location may).
pub(crate) fn unowned_refs<'e>(
    entities: &'e [Entity],
    owned: &HashMap<String, (String, String)>,
) -> Vec<&'e str> {
    entities
        .iter()
        .map(|e| e.entity_ref.as_str())
        .filter(|r| !owned.contains_key(*r))
        .collect()
}
