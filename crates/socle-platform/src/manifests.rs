//! What a provisioner may add to a deployment's Kubernetes output: only the object types its
//! definition declares (`spec.manifestKinds`), and only in the environment's namespace (or one the
//! definition names in `spec.manifestNamespaces`). A crafted
//! resource param that smuggles an extra document into a template's output (a cluster-admin
//! `ClusterRoleBinding`, a `Namespace`, a webhook) is refused here, before anything is rendered.

use serde_json::Value;

use crate::config::{Environment, ManifestKind, ResourceDefinition};

/// A manifest a definition may not produce, named by its `index` in the list (and its type and
/// name once known).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifests[{index}] is not a mapping")]
    NotAMapping { index: usize },
    #[error("manifests[{index}] needs apiVersion and kind")]
    NoKind { index: usize },
    #[error("manifests[{index}] ({kind}) needs a metadata mapping")]
    NoMetadata { index: usize, kind: ManifestKind },
    #[error("manifests[{index}] ({kind}) needs metadata.name")]
    NoName { index: usize, kind: ManifestKind },
    /// Its type is not among the definition's `spec.manifestKinds` (`declared`).
    #[error(
        "manifests[{index}] is a {kind} ({}/{name}), which this definition does not declare; \
         it may produce only {} (spec.manifestKinds)",
        .kind.kind,
        join(.declared)
    )]
    Undeclared {
        index: usize,
        kind: ManifestKind,
        name: String,
        declared: Vec<ManifestKind>,
    },
    #[error(transparent)]
    ForeignNamespace(Box<ForeignNamespace>),
}

/// A manifest in a namespace that is neither the environment's nor one of the definition's
/// `spec.manifestNamespaces` (`allowed`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "manifests[{index}] ({}/{name}) is in namespace {namespace}; a definition's \
     objects belong in the environment's namespace \"{environment}\"{} \
     (or leave metadata.namespace out)",
    .kind.kind,
    also_in(.allowed)
)]
pub struct ForeignNamespace {
    pub index: usize,
    pub kind: ManifestKind,
    pub name: String,
    pub namespace: Value,
    pub environment: String,
    pub allowed: Vec<String>,
}

fn join(kinds: &[ManifestKind]) -> String {
    kinds
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `" or in a, b (spec.manifestNamespaces)"`, or nothing when the definition names none.
fn also_in(namespaces: &[String]) -> String {
    if namespaces.is_empty() {
        String::new()
    } else {
        format!(" or in {} (spec.manifestNamespaces)", namespaces.join(", "))
    }
}

/// Checks every manifest against the definition and places the ones without a namespace in the
/// environment's. The error names the offending manifest (index, kind, name).
pub fn check_manifests(
    def: &ResourceDefinition,
    env: &Environment,
    manifests: Vec<Value>,
) -> Result<Vec<Value>, ManifestError> {
    let namespace = env.namespace();
    manifests
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let obj = m
                .as_object_mut()
                .ok_or(ManifestError::NotAMapping { index: i })?;
            let field = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
                return Err(ManifestError::NoKind { index: i });
            };
            let this = ManifestKind::new(&api_version, &kind);
            let md = obj
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| ManifestError::NoMetadata {
                    index: i,
                    kind: this.clone(),
                })?;
            let name = md
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| ManifestError::NoName {
                    index: i,
                    kind: this.clone(),
                })?
                .to_owned();
            if !def.manifest_kinds.contains(&this) {
                return Err(ManifestError::Undeclared {
                    index: i,
                    kind: this,
                    name,
                    declared: def.manifest_kinds.clone(),
                });
            }
            match md.get("namespace") {
                None | Some(Value::Null) => {
                    md.insert("namespace".into(), Value::String(namespace.to_owned()));
                }
                Some(Value::String(ns))
                    if ns == namespace || def.manifest_namespaces.contains(ns) => {}
                Some(other) => {
                    return Err(ManifestError::ForeignNamespace(Box::new(
                        ForeignNamespace {
                            index: i,
                            kind: this,
                            name,
                            namespace: other.clone(),
                            environment: namespace.to_owned(),
                            allowed: def.manifest_namespaces.clone(),
                        },
                    )));
                }
            }
            Ok(m)
        })
        .collect()
}
