//! What a provisioner may add to a deployment's Kubernetes output: only the object types its
//! definition declares (`spec.manifestKinds`), and only in the environment's namespace (or one the
//! definition names in `spec.manifestNamespaces`). A crafted
//! resource param that smuggles an extra document into a template's output (a cluster-admin
//! `ClusterRoleBinding`, a `Namespace`, a webhook) is refused here, before anything is rendered.

use serde_json::Value;

use crate::config::{Environment, ManifestKind, ResourceDefinition};

/// Checks every manifest against the definition and places the ones without a namespace in the
/// environment's. The error message names the offending manifest (index, kind, name).
pub fn check_manifests(
    def: &ResourceDefinition,
    env: &Environment,
    manifests: Vec<Value>,
) -> Result<Vec<Value>, String> {
    let namespace = env.namespace();
    manifests
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let obj = m
                .as_object_mut()
                .ok_or_else(|| format!("manifests[{i}] is not a mapping"))?;
            let field = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
            let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
                return Err(format!("manifests[{i}] needs apiVersion and kind"));
            };
            let this = ManifestKind::new(&api_version, &kind);
            let md = obj
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| format!("manifests[{i}] ({this}) needs a metadata mapping"))?;
            let name = md
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("manifests[{i}] ({this}) needs metadata.name"))?
                .to_owned();
            if !def.manifest_kinds.contains(&this) {
                let declared: Vec<String> =
                    def.manifest_kinds.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "manifests[{i}] is a {this} ({kind}/{name}), which this definition does not declare; \
                     it may produce only {} (spec.manifestKinds)",
                    declared.join(", ")
                ));
            }
            match md.get("namespace") {
                None | Some(Value::Null) => {
                    md.insert("namespace".into(), Value::String(namespace.to_owned()));
                }
                Some(Value::String(ns))
                    if ns == namespace || def.manifest_namespaces.contains(ns) => {}
                Some(other) => {
                    let declared = if def.manifest_namespaces.is_empty() {
                        String::new()
                    } else {
                        format!(" or in {} (spec.manifestNamespaces)", def.manifest_namespaces.join(", "))
                    };
                    return Err(format!(
                        "manifests[{i}] ({kind}/{name}) is in namespace {other}; a definition's \
                         objects belong in the environment's namespace \"{namespace}\"{declared} \
                         (or leave metadata.namespace out)"
                    ));
                }
            }
            Ok(m)
        })
        .collect()
}
