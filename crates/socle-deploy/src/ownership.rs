//! Shared resources have an owner: the team whose workload first provisioned one (a resource with
//! an `id`) in an environment. Another team's workload that names the same resource gets it only
//! through a `kind: ResourceGrant` in the platform configuration, and only as its owner asked for
//! it (same params) — otherwise it would read the resource's outputs and secrets and re-render it.
//!
//! A deploy with no owning team (an admin's or the CLI's deploy of a service the catalog gives no
//! owner) may use only resources no team owns, and what it provisions stays unowned. A resource
//! saved before owners were recorded is unowned until a team deploys it while every other workload
//! using it belongs to that team in the catalog: then that team adopts it.

use std::collections::BTreeMap;

use socle_platform::{PlatformConfig, Resolution, SharedResource, resource_uid};
use socle_score::Workload;
use socle_store::ResourceOwnership;

use crate::DeployError;

/// How a deploy holds each of its shared resources, by uid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holding {
    /// Not provisioned yet, or the deploying team's (or unowned, for a deploy with no team).
    Owner,
    /// Another team's, used through the named grant: the params must be the owner's.
    Granted { owner: String, grant: String },
}

/// The owners the catalog gives other workloads (service name → group reference), for adoption.
pub type CatalogOwners = BTreeMap<String, Option<String>>;

/// Checks, before anything is provisioned, that `team` may use every shared resource `w` names.
pub fn check_access(
    config: &PlatformConfig,
    env: &str,
    w: &Workload,
    team: Option<&str>,
    stored: &BTreeMap<String, ResourceOwnership>,
    catalog: &CatalogOwners,
) -> Result<BTreeMap<String, Holding>, DeployError> {
    let mut out = BTreeMap::new();
    for (rname, r) in &w.resources {
        let Some(id) = r.id.as_deref() else { continue };
        let uid = resource_uid(w.name(), rname, r);
        let owner = stored.get(&uid).and_then(|s| s.owner.as_deref());
        let holding = match (owner, team) {
            (None, None) => Holding::Owner,
            (Some(o), Some(t)) if o == t => Holding::Owner,
            (None, Some(t)) => {
                let others = stored.get(&uid).map(|s| &s.used_by);
                let strangers: Vec<&String> = others
                    .into_iter()
                    .flatten()
                    .filter(|u| *u != w.name())
                    .filter(|u| catalog.get(*u).and_then(Option::as_deref) != Some(t))
                    .collect();
                if !strangers.is_empty() {
                    return Err(DeployError::Forbidden(format!(
                        "resource {rname} (type {}, id {id}) in {env} has no recorded owner and is used by {}, which {t} does not own: \
                         the next deploy of those by their team makes that team its owner, and a `kind: ResourceGrant` in the platform \
                         configuration can then let {t} use it",
                        r.kind,
                        strangers
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Holding::Owner
            }
            (Some(o), t) => {
                let shared = SharedResource {
                    environment: env,
                    kind: &r.kind,
                    class: r.class.as_deref(),
                    id,
                };
                match t.and_then(|t| config.grant_for(&shared, t)) {
                    Some(g) => Holding::Granted {
                        owner: o.to_owned(),
                        grant: g.name.clone(),
                    },
                    None => {
                        let who = t.map_or_else(
                            || "a deploy with no owning team (the service has no owner in the catalog)".to_owned(),
                            |t| format!("{t}, the owner of {}", w.name()),
                        );
                        return Err(DeployError::Forbidden(format!(
                            "resource {rname} (type {}, id {id}) in {env} belongs to {o}; {who} may not use it. \
                             Pick another id, or ask the platform team for a grant: a `kind: ResourceGrant` \
                             document in the platform configuration with spec.type {}, spec.id {id} and {} in spec.teams",
                            r.kind,
                            r.kind,
                            t.unwrap_or("the team"),
                        )));
                    }
                }
            }
        };
        out.insert(uid, holding);
    }
    Ok(out)
}

/// Checks, after resolution, that granted resources are asked for with their owner's params.
pub fn check_params(
    env: &str,
    holdings: &BTreeMap<String, Holding>,
    resolution: &Resolution,
    stored: &BTreeMap<String, ResourceOwnership>,
) -> Result<(), DeployError> {
    for (uid, holding) in holdings {
        let Holding::Granted { owner, grant } = holding else {
            continue;
        };
        let Some(r) = resolution.resources.get(uid) else {
            continue;
        };
        let mine = socle_platform::params_fingerprint(&r.params);
        let theirs = stored.get(uid).and_then(|s| s.params_hash.as_deref());
        if theirs != Some(mine.as_str()) {
            return Err(DeployError::Forbidden(format!(
                "resource {} (type {}, id {}) in {env} belongs to {owner} and is shared through grant {grant}, \
                 but this workload asks for it with other params than its owner's: a granted team uses the \
                 resource as its owner provisioned it (give the same params, or none if the owner gave none); \
                 only {owner} changes them",
                uid,
                r.kind,
                r.id.as_deref().unwrap_or_default(),
            )));
        }
    }
    Ok(())
}

/// The owner a deploy saves for a resource: the stored one, else the deploying team.
pub fn owner_to_save(
    uid: &str,
    team: Option<&str>,
    stored: &BTreeMap<String, ResourceOwnership>,
) -> Option<String> {
    stored
        .get(uid)
        .and_then(|s| s.owner.clone())
        .or_else(|| team.map(str::to_owned))
}
