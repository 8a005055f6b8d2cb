//! The typed Score workload, with the deprecated array forms of `files` and `volumes` folded
//! into the map form (target path → details).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `name` and any other metadata (annotations, …).
    pub metadata: serde_json::Map<String, Value>,
    /// Service ports by name.
    pub ports: BTreeMap<String, ServicePort>,
    pub containers: BTreeMap<String, Container>,
    pub resources: BTreeMap<String, Resource>,
}

impl Workload {
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePort {
    pub port: u16,
    pub protocol: String,
    #[serde(rename = "targetPort")]
    pub target_port: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub variables: BTreeMap<String, String>,
    /// Files by target path.
    pub files: BTreeMap<String, ContainerFile>,
    /// Volumes by target path.
    pub volumes: BTreeMap<String, ContainerVolume>,
    /// `limits` / `requests` as written.
    pub resources: Option<Value>,
    #[serde(rename = "livenessProbe")]
    pub liveness_probe: Option<Value>,
    #[serde(rename = "readinessProbe")]
    pub readiness_probe: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerFile {
    pub mode: Option<String>,
    pub source: Option<String>,
    pub content: Option<String>,
    #[serde(rename = "binaryContent")]
    pub binary_content: Option<String>,
    /// Content is used as written: no placeholder expansion.
    #[serde(rename = "noExpand")]
    pub no_expand: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerVolume {
    pub source: String,
    pub path: Option<String>,
    #[serde(rename = "readOnly")]
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    pub class: Option<String>,
    pub id: Option<String>,
    pub metadata: Option<Value>,
    pub params: Option<Value>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Items of a map form, or of the deprecated array form keyed by their `target`.
fn by_target(v: Option<&Value>) -> Vec<(String, &Value)> {
    match v {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| s(x, "target").map(|t| (t, x)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Why a JSON value does not make a [`Workload`] (one the schema let through).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("metadata is missing")]
    MissingMetadata,
    #[error("service port {name} has no port")]
    PortWithoutNumber { name: String },
}

/// Builds the model from a schema-valid JSON value.
pub fn from_json(v: &Value) -> Result<Workload, ModelError> {
    let metadata = v
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .ok_or(ModelError::MissingMetadata)?;
    let mut ports = BTreeMap::new();
    if let Some(p) = v
        .get("service")
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_object)
    {
        for (name, port) in p {
            let n = port
                .get("port")
                .and_then(Value::as_u64)
                .ok_or_else(|| ModelError::PortWithoutNumber { name: name.clone() })?
                as u16;
            let target = port
                .get("targetPort")
                .and_then(Value::as_u64)
                .map_or(n, |t| t as u16);
            ports.insert(
                name.clone(),
                ServicePort {
                    port: n,
                    protocol: s(port, "protocol").unwrap_or_else(|| "TCP".into()),
                    target_port: target,
                },
            );
        }
    }
    let mut containers = BTreeMap::new();
    for (name, c) in v
        .get("containers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let variables = c
            .get("variables")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let files = by_target(c.get("files"))
            .into_iter()
            .map(|(t, f)| {
                (
                    t,
                    ContainerFile {
                        mode: s(f, "mode"),
                        source: s(f, "source"),
                        content: s(f, "content"),
                        binary_content: s(f, "binaryContent"),
                        no_expand: f.get("noExpand").and_then(Value::as_bool).unwrap_or(false),
                    },
                )
            })
            .collect();
        let volumes = by_target(c.get("volumes"))
            .into_iter()
            .map(|(t, vol)| {
                (
                    t,
                    ContainerVolume {
                        source: s(vol, "source").unwrap_or_default(),
                        path: s(vol, "path"),
                        read_only: vol
                            .get("readOnly")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    },
                )
            })
            .collect();
        containers.insert(
            name.clone(),
            Container {
                image: s(c, "image").unwrap_or_default(),
                command: strings(c, "command"),
                args: strings(c, "args"),
                variables,
                files,
                volumes,
                resources: c.get("resources").cloned(),
                liveness_probe: c.get("livenessProbe").cloned(),
                readiness_probe: c.get("readinessProbe").cloned(),
            },
        );
    }
    let mut resources = BTreeMap::new();
    for (name, r) in v
        .get("resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        resources.insert(
            name.clone(),
            Resource {
                kind: s(r, "type").unwrap_or_default(),
                class: s(r, "class"),
                id: s(r, "id"),
                metadata: r.get("metadata").cloned(),
                params: r.get("params").cloned(),
            },
        );
    }
    Ok(Workload {
        api_version: s(v, "apiVersion").unwrap_or_default(),
        metadata,
        ports,
        containers,
        resources,
    })
}
