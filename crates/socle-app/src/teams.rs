//! The team tree, walked in one way with one bound. Hierarchy and membership come only from
//! organisation locations (the read model drops them from the others), so every walk here is
//! over the trusted tree.

use std::collections::BTreeSet;

use socle_catalog::RelationType;

use crate::snapshot::{EntityId, Snapshot};

/// At most this many groups are visited by one walk of the tree (a cycle or a huge
/// organisation cannot make a walk unbounded). Larger than any real organisation's team count.
pub const MAX_TEAM_TREE: usize = 10_000;

/// The annotation by which a Group lists the service accounts that act for it (CI tokens):
/// `socle.dev/service-accounts: ci, release-bot`. Groups come only from locations an admin
/// registered, so only the organisation's catalog can give a service account a team.
pub const SERVICE_ACCOUNTS_ANNOTATION: &str = "socle.dev/service-accounts";

/// Groups a user belongs to directly, or a service account (`serviceaccount:NAME`) is listed
/// by (ids in the snapshot).
pub fn groups_of(snap: &Snapshot, user: &str) -> Vec<EntityId> {
    if let Some(account) = user.strip_prefix("serviceaccount:") {
        return groups_listing(snap, account);
    }
    snap.get(user)
        .map(|u| {
            u.relations
                .iter()
                .filter(|(t, _)| *t == RelationType::MemberOf)
                .map(|(_, g)| *g)
                .collect()
        })
        .unwrap_or_default()
}

/// Groups whose [`SERVICE_ACCOUNTS_ANNOTATION`] names `account` (`ci` or `serviceaccount:ci`).
fn groups_listing(snap: &Snapshot, account: &str) -> Vec<EntityId> {
    let mut out = Vec::new();
    for g in &snap.entities {
        // Cheap test first: most groups have no such annotation.
        if g.kind() != "group" || !g.body.contains(SERVICE_ACCOUNTS_ANNOTATION) {
            continue;
        }
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&g.body) else {
            continue;
        };
        let listed = body
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(SERVICE_ACCOUNTS_ANNOTATION))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let names = listed.split(',').map(str::trim);
        if names
            .into_iter()
            .any(|n| n.strip_prefix("serviceaccount:").unwrap_or(n) == account)
        {
            out.push(g.id);
        }
    }
    out
}

/// Walks from `start` along `relation` (ChildOf: up to the parents; ParentOf: down to the
/// children), `start` included, each group once, at most [`MAX_TEAM_TREE`] groups.
pub fn walk(snap: &Snapshot, start: &str, relation: RelationType) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![start.to_owned()];
    while let Some(g) = stack.pop() {
        if out.len() >= MAX_TEAM_TREE || !out.insert(g.clone()) {
            continue;
        }
        if let Some(v) = snap.get(&g) {
            stack.extend(
                v.relations
                    .iter()
                    .filter(|(t, _)| *t == relation)
                    .map(|(_, p)| snap.name(*p).to_owned()),
            );
        }
    }
    out
}

/// The owner group of `component:default/<service>` and all its ancestors; None when the
/// component is not in the catalog or has no owner.
pub fn owning_teams(snap: &Snapshot, service: &str) -> Option<BTreeSet<String>> {
    Some(walk(
        snap,
        &owner_team(snap, service)?,
        RelationType::ChildOf,
    ))
}

/// The team that owns `component:default/<service>` directly (a group reference). None: no
/// catalog owner.
pub fn owner_team(snap: &Snapshot, service: &str) -> Option<String> {
    let entity = snap.get(&format!(
        "component:default/{}",
        service.to_ascii_lowercase()
    ))?;
    entity.owner.map(|o| snap.name(o).to_owned())
}
