//! `kind: ResourceGrant`: who besides its owner may use a shared resource.
//!
//! A shared resource (a Score resource with an `id`) belongs to the team whose workload first
//! provisioned it in an environment. A workload of another team that names the same `type`/`id`
//! is refused — it would get the resource's outputs (its password included) — unless a grant in
//! the platform configuration lets that team use it:
//!
//! ```yaml
//! apiVersion: socle.dev/v1alpha1
//! kind: ResourceGrant
//! metadata:
//!   name: orders-db-for-billing
//!   description: Billing reads the orders database (ticket OPS-42).
//! spec:
//!   type: postgres            # the resource's type
//!   id: orders-db             # its id
//!   class: default            # optional: only that class (default: any class)
//!   teams: [team-billing]     # group references (kind and namespace default to group:default/)
//!   environments: [dev, staging]   # optional: only these environments (default: all)
//! ```
//!
//! A grant lets a team use the resource as its owner provisioned it: a granted workload whose
//! params for it differ from the owner's is refused (the owner's team changes params).

use serde::{Deserialize, Serialize};
use socle_catalog::EntityRef;
use socle_catalog::yaml::{Node, Seg};

use crate::ConfigError;

/// One grant, with its teams as full references (`group:default/team-b`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGrant {
    /// `metadata.name`, unique.
    pub name: String,
    pub description: Option<String>,
    /// The resource type (`postgres`, …).
    pub kind: String,
    /// Only resources of this class (None: any class).
    pub class: Option<String>,
    /// The shared resource's `id`.
    pub id: String,
    /// The teams allowed to use it.
    pub teams: Vec<String>,
    /// The environments it applies in (empty: all).
    pub environments: Vec<String>,
    /// Where it was defined (file:line), for messages.
    pub source: String,
}

/// The shared resource a deploy asks for.
#[derive(Clone, Copy, Debug)]
pub struct SharedResource<'a> {
    pub environment: &'a str,
    pub kind: &'a str,
    pub class: Option<&'a str>,
    pub id: &'a str,
}

impl ResourceGrant {
    /// Whether this grant lets `team` (a full group reference) use `r`.
    pub fn allows(&self, r: &SharedResource<'_>, team: &str) -> bool {
        self.kind == r.kind
            && self.id == r.id
            && self
                .class
                .as_deref()
                .is_none_or(|c| c == r.class.unwrap_or("default"))
            && (self.environments.is_empty()
                || self.environments.iter().any(|e| e == r.environment))
            && self.teams.iter().any(|t| t == team)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantDoc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: GrantMeta,
    spec: GrantSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantMeta {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantSpec {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    class: Option<String>,
    teams: Vec<String>,
    #[serde(default)]
    environments: Vec<String>,
}

/// A typed grant document → a grant (teams as full group references), or a located error.
pub(crate) fn grant_from_doc(
    file: &str,
    node: &Node,
    doc: GrantDoc,
    err: impl Fn(&[Seg], &str, String) -> ConfigError,
) -> Result<ResourceGrant, ConfigError> {
    let spec = doc.spec;
    if spec.id.trim().is_empty() {
        return Err(err(
            &[Seg::Key("spec".into()), Seg::Key("id".into())],
            "grant.id",
            "a grant names the shared resource's id".into(),
        ));
    }
    if spec.teams.is_empty() {
        return Err(err(
            &[Seg::Key("spec".into()), Seg::Key("teams".into())],
            "grant.teams",
            "a grant names at least one team".into(),
        ));
    }
    let mut teams = Vec::with_capacity(spec.teams.len());
    for (i, t) in spec.teams.iter().enumerate() {
        let path = [
            Seg::Key("spec".into()),
            Seg::Key("teams".into()),
            Seg::Index(i),
        ];
        match EntityRef::parse(t, Some("group"), "default") {
            Ok(r) if r.kind() == "group" => teams.push(r.to_string()),
            Ok(r) => {
                return Err(err(
                    &path,
                    "grant.teams",
                    format!("{r} is not a group: grants are to teams"),
                ));
            }
            Err(e) => return Err(err(&path, "grant.teams", e.to_string())),
        }
    }
    Ok(ResourceGrant {
        name: doc.metadata.name,
        description: doc.metadata.description,
        kind: spec.kind,
        class: spec.class,
        id: spec.id,
        teams,
        environments: spec.environments,
        source: format!("{file}:{}", node.line.max(1)),
    })
}
