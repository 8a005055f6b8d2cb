//! Kubernetes manifests built from typed objects (k8s-openapi): per workload a Deployment, a
//! Service when it has ports, a ConfigMap for its files; every resource's manifests; and for every
//! secret output an `ExternalSecret` that External Secrets Operator fills from the environment's
//! secret store — the manifests only ever refer to secrets (`secretKeyRef`), never carry them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
    ExecAction, HTTPGetAction, KeyToPath, PersistentVolumeClaimVolumeSource, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecretKeySelector, SecurityContext,
    Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use socle_platform::{Environment, Part, Resolution, Resolved};

use crate::RenderError;

/// Catalog identity of a workload, for labels linking objects to the catalog.
#[derive(Clone, Debug, Default)]
pub struct Ownership {
    /// `component:default/payments`.
    pub entity: Option<String>,
    /// `group:default/team-a`.
    pub team: Option<String>,
}

#[derive(Clone, Debug)]
pub struct KubernetesOptions {
    /// The ESO `ClusterSecretStore` holding this environment's secrets.
    pub secret_store: String,
    /// Catalog identity by workload name.
    pub ownership: BTreeMap<String, Ownership>,
}

/// Label values must be ≤ 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(s: &str) -> String {
    let v: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '.'
            }
        })
        .collect();
    let v = &v[..v.len().min(63)];
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// The container security context Socle renders: no privilege escalation, non-root, all
/// capabilities dropped, read-only root filesystem (unless the workload opts out).
fn secure_container(writable_root: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(!writable_root),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Kubernetes expands `$(VAR)` in command, args and env values; a literal `$(` is written `$$(`.
fn k8s_escape(s: &str) -> String {
    s.replace("$(", "$$(")
}

fn meta(name: &str, ns: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(ns.to_owned()),
        labels: Some(labels.clone()),
        ..Default::default()
    }
}

fn probe(p: &Value) -> Option<Probe> {
    let mut out = Probe {
        initial_delay_seconds: p
            .get("initialDelaySeconds")
            .and_then(Value::as_i64)
            .map(|x| x as i32),
        period_seconds: p
            .get("periodSeconds")
            .and_then(Value::as_i64)
            .map(|x| x as i32),
        timeout_seconds: p
            .get("timeoutSeconds")
            .and_then(Value::as_i64)
            .map(|x| x as i32),
        ..Default::default()
    };
    if let Some(cmd) = p
        .get("exec")
        .and_then(|e| e.get("command"))
        .and_then(Value::as_array)
    {
        out.exec = Some(ExecAction {
            command: Some(
                cmd.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect(),
            ),
        });
    } else if let Some(h) = p.get("httpGet") {
        out.http_get = Some(HTTPGetAction {
            path: h.get("path").and_then(Value::as_str).map(str::to_owned),
            port: IntOrString::Int(h.get("port").and_then(Value::as_i64).unwrap_or(80) as i32),
            host: h.get("host").and_then(Value::as_str).map(str::to_owned),
            scheme: h.get("scheme").and_then(Value::as_str).map(str::to_owned),
            ..Default::default()
        });
    } else {
        return None;
    }
    Some(out)
}

fn quantities(v: Option<&Value>) -> Option<BTreeMap<String, Quantity>> {
    let m = v?.as_object()?;
    let out: BTreeMap<String, Quantity> = m
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), Quantity(s.to_owned()))))
        .collect();
    (!out.is_empty()).then_some(out)
}

/// An ESO template: secret parts become `{{ .key }}` (Go template), text is quoted for it.
fn eso_template(v: &Resolved, data: &mut BTreeMap<String, (String, String)>) -> String {
    let mut out = String::new();
    for part in &v.0 {
        match part {
            Part::Text(t) | Part::Raw(t) => out.push_str(&t.replace("{{", "{{ \"{{\" }}")),
            Part::Secret { uid, output, .. } => {
                let key = format!("{}_{}", uid.replace('-', "_"), output);
                out.push_str(&format!("{{{{ .{key} }}}}"));
                data.insert(key, (uid.clone(), output.clone()));
            }
        }
    }
    out
}

fn external_secret(
    name: &str,
    ns: &str,
    env: &Environment,
    store: &str,
    labels: &BTreeMap<String, String>,
    data: &BTreeMap<String, (String, String)>,
    template: Option<BTreeMap<String, String>>,
) -> Value {
    let data: Vec<Value> = data
        .iter()
        .map(|(key, (uid, output))| json!({"secretKey": key, "remoteRef": {"key": format!("{}/{}", env.name, uid), "property": output}}))
        .collect();
    let mut target = json!({"name": name, "creationPolicy": "Owner"});
    if let Some(t) = template {
        target["template"] = json!({"engineVersion": "v2", "data": t});
    }
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
            "target": target,
            "data": data,
        }
    })
}

fn to_value<T: serde::Serialize>(
    kind: &str,
    api_version: &str,
    obj: &T,
) -> Result<Value, RenderError> {
    let mut v = serde_json::to_value(obj).map_err(|e| RenderError::Other(e.to_string()))?;
    v["apiVersion"] = json!(api_version);
    v["kind"] = json!(kind);
    Ok(v)
}

/// A resource's manifest placed in the environment's namespace (one it names must be that one,
/// or one its definition declares: provisioning checks this, and the renderer holds the line
/// too), with Socle's labels added.
fn resource_manifest(
    m: &Value,
    ns: &str,
    declared: &std::collections::BTreeSet<String>,
    labels: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let mut m = m.clone();
    let obj = m.as_object_mut().ok_or("not a mapping")?;
    let md = obj
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or("metadata is not a mapping")?;
    match md.get("namespace") {
        None | Some(Value::Null) => {
            md.insert("namespace".into(), json!(ns));
        }
        Some(Value::String(n)) if n == ns || declared.contains(n) => {}
        Some(other) => {
            return Err(format!(
                "namespace {other} is not the environment's namespace \"{ns}\""
            ));
        }
    }
    let mut merged = md
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in labels {
        merged.entry(k.clone()).or_insert(json!(v));
    }
    md.insert("labels".into(), Value::Object(merged));
    Ok(m)
}

/// The environment's manifests: `(relative file path, object)` in a stable order.
pub fn render_kubernetes(
    res: &Resolution,
    env: &Environment,
    opts: &KubernetesOptions,
) -> Result<Vec<(String, Value)>, RenderError> {
    let ns = env.namespace().to_owned();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let base_labels = |extra: &[(&str, String)]| -> BTreeMap<String, String> {
        let mut l = BTreeMap::from([
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "socle".to_owned(),
            ),
            ("socle.dev/environment".to_owned(), env.name.clone()),
        ]);
        for (k, v) in extra {
            l.insert((*k).to_owned(), label_value(v));
        }
        l
    };
    // Resources: their manifests, and an ExternalSecret per resource with secret outputs.
    for r in res.resources.values() {
        let labels = base_labels(&[
            ("socle.dev/resource", r.uid.clone()),
            ("socle.dev/resource-type", r.kind.clone()),
        ]);
        for (i, m) in r.manifests.iter().enumerate() {
            let m = resource_manifest(m, &ns, &r.namespaces, &labels).map_err(|message| {
                RenderError::Resource {
                    uid: r.uid.clone(),
                    definition: r.definition.clone(),
                    message: format!("manifests[{i}]: {message}"),
                }
            })?;
            // File names from what is safe in a path segment (the name is the provisioner's).
            let kind = label_value(m["kind"].as_str().unwrap_or("object")).to_ascii_lowercase();
            let name = label_value(m["metadata"]["name"].as_str().unwrap_or("unnamed"));
            out.insert(format!("resources/{}/{kind}-{name}-{i}.yaml", r.uid), m);
        }
        let secret_outputs: Vec<&String> = r
            .secrets
            .iter()
            .filter(|s| r.outputs.contains_key(*s))
            .collect();
        if !secret_outputs.is_empty() {
            let data: BTreeMap<String, (String, String)> = secret_outputs
                .iter()
                .map(|o| ((*o).clone(), (r.uid.clone(), (*o).clone())))
                .collect();
            out.insert(
                format!("resources/{}/externalsecret-{}.yaml", r.uid, r.uid),
                external_secret(&r.uid, &ns, env, &opts.secret_store, &labels, &data, None),
            );
        }
    }
    for rw in &res.workloads {
        let w = &rw.workload;
        let wname = w.name().to_owned();
        let own = opts.ownership.get(&wname).cloned().unwrap_or_default();
        let mut extra = vec![("app.kubernetes.io/name", wname.clone())];
        if let Some(e) = &own.entity {
            extra.push(("socle.dev/entity", e.replace([':', '/'], ".")));
        }
        if let Some(t) = &own.team {
            extra.push(("socle.dev/team", t.replace([':', '/'], ".")));
        }
        let labels = base_labels(&extra);
        let selector = BTreeMap::from([("app.kubernetes.io/name".to_owned(), wname.clone())]);
        let mut containers = Vec::new();
        let mut volumes: Vec<Volume> = Vec::new();
        let mut files_cm: BTreeMap<String, String> = BTreeMap::new();
        let mut env_template: BTreeMap<String, String> = BTreeMap::new();
        let mut env_data: BTreeMap<String, (String, String)> = BTreeMap::new();
        let env_secret = format!("{wname}-env");
        // Secure by default; a workload that must write to its root filesystem says so.
        let writable_root = w
            .metadata
            .get("annotations")
            .and_then(|a| a.get("socle.dev/writable-root-filesystem"))
            .and_then(Value::as_str)
            == Some("true");
        for (cname, c) in &w.containers {
            let rc = &rw.containers[cname];
            let mut envs = Vec::new();
            for (k, v) in &rc.variables {
                let secret_parts: Vec<&Part> =
                    v.0.iter()
                        .filter(|p| matches!(p, Part::Secret { .. }))
                        .collect();
                let var = match (v.0.as_slice(), secret_parts.is_empty()) {
                    (_, true) => EnvVar {
                        name: k.clone(),
                        value: Some(k8s_escape(&v.plain())),
                        ..Default::default()
                    },
                    ([Part::Secret { uid, output, .. }], false) => EnvVar {
                        name: k.clone(),
                        value_from: Some(EnvVarSource {
                            secret_key_ref: Some(SecretKeySelector {
                                name: uid.clone(),
                                key: output.clone(),
                                optional: None,
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    _ => {
                        // A value mixing text and secrets: ESO renders it into the workload's Secret.
                        let key = format!("{cname}_{k}");
                        env_template.insert(key.clone(), eso_template(v, &mut env_data));
                        EnvVar {
                            name: k.clone(),
                            value_from: Some(EnvVarSource {
                                secret_key_ref: Some(SecretKeySelector {
                                    name: env_secret.clone(),
                                    key,
                                    optional: None,
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }
                    }
                };
                envs.push(var);
            }
            let mut mounts = Vec::new();
            for (i, (target, f)) in c.files.iter().enumerate() {
                let key = format!("{cname}-{i}");
                let content = match &rc.files[target] {
                    Some(r) if r.has_secret() => {
                        return Err(RenderError::Workload {
                            workload: wname.clone(),
                            message: format!(
                                "file {target} of container {cname} contains a secret output; on Kubernetes pass secrets as variables"
                            ),
                        });
                    }
                    Some(r) => r.plain(),
                    None => match (&f.content, &f.binary_content) {
                        (_, Some(b)) => b.clone(),
                        _ => String::new(),
                    },
                };
                files_cm.insert(key.clone(), content);
                mounts.push(VolumeMount {
                    name: "files".into(),
                    mount_path: target.clone(),
                    sub_path: Some(key),
                    read_only: Some(true),
                    ..Default::default()
                });
            }
            for (target, v) in &c.volumes {
                let source = &rc.volumes[target];
                let vol_name = format!("vol-{}", label_value(source).to_ascii_lowercase());
                if !volumes.iter().any(|x| x.name == vol_name) {
                    volumes.push(Volume {
                        name: vol_name.clone(),
                        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                            claim_name: source.clone(),
                            read_only: Some(v.read_only),
                        }),
                        ..Default::default()
                    });
                }
                mounts.push(VolumeMount {
                    name: vol_name,
                    mount_path: target.clone(),
                    sub_path: v.path.clone(),
                    read_only: Some(v.read_only),
                    ..Default::default()
                });
            }
            let ports: Vec<ContainerPort> = if containers.is_empty() {
                let mut seen = std::collections::BTreeSet::new();
                w.ports
                    .values()
                    .filter(|p| seen.insert((p.target_port, p.protocol.clone())))
                    .map(|p| ContainerPort {
                        container_port: i32::from(p.target_port),
                        protocol: Some(p.protocol.clone()),
                        ..Default::default()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            // Score's `$$` → `$` (and `${metadata.…}`), then Kubernetes' own escaping.
            let literal = |s: &String| -> Result<String, RenderError> {
                let v = socle_score::substitute(s, &mut |r| match r {
                    socle_score::Reference::Metadata(p) => w
                        .metadata
                        .get(&p[0])
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{r}: no such metadata")),
                    other => Err(format!(
                        "{other}: resource placeholders are not supported in command or args"
                    )),
                })
                .map_err(|e| RenderError::Workload {
                    workload: wname.clone(),
                    message: format!("container {cname}: {e}"),
                })?;
                Ok(k8s_escape(&v))
            };
            let command: Vec<String> = c.command.iter().map(literal).collect::<Result<_, _>>()?;
            let args: Vec<String> = c.args.iter().map(literal).collect::<Result<_, _>>()?;
            containers.push(Container {
                name: cname.clone(),
                image: Some(c.image.clone()),
                command: (!command.is_empty()).then_some(command),
                args: (!args.is_empty()).then_some(args),
                env: (!envs.is_empty()).then_some(envs),
                ports: (!ports.is_empty()).then_some(ports),
                volume_mounts: (!mounts.is_empty()).then_some(mounts),
                liveness_probe: c.liveness_probe.as_ref().and_then(probe),
                readiness_probe: c.readiness_probe.as_ref().and_then(probe),
                resources: c.resources.as_ref().map(|r| ResourceRequirements {
                    limits: quantities(r.get("limits")),
                    requests: quantities(r.get("requests")),
                    ..Default::default()
                }),
                security_context: Some(secure_container(writable_root)),
                ..Default::default()
            });
        }
        if !writable_root {
            // A read-only root filesystem still needs somewhere to write temporary files.
            volumes.push(Volume {
                name: "tmp".into(),
                empty_dir: Some(Default::default()),
                ..Default::default()
            });
            for c in &mut containers {
                c.volume_mounts
                    .get_or_insert_with(Vec::new)
                    .push(VolumeMount {
                        name: "tmp".into(),
                        mount_path: "/tmp".into(),
                        ..Default::default()
                    });
            }
        }
        if !files_cm.is_empty() {
            let cm_name = format!("{wname}-files");
            volumes.push(Volume {
                name: "files".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: cm_name.clone(),
                    items: Some(
                        files_cm
                            .keys()
                            .map(|k| KeyToPath {
                                key: k.clone(),
                                path: k.clone(),
                                mode: None,
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            });
            let cm = ConfigMap {
                metadata: meta(&cm_name, &ns, &labels),
                data: Some(files_cm),
                ..Default::default()
            };
            out.insert(
                format!("workloads/{wname}/configmap-{cm_name}.yaml"),
                to_value("ConfigMap", "v1", &cm)?,
            );
        }
        if !env_template.is_empty() {
            out.insert(
                format!("workloads/{wname}/externalsecret-{env_secret}.yaml"),
                external_secret(
                    &env_secret,
                    &ns,
                    env,
                    &opts.secret_store,
                    &labels,
                    &env_data,
                    Some(env_template),
                ),
            );
        }
        let replicas = w
            .metadata
            .get("annotations")
            .and_then(|a| a.get("socle.dev/replicas"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        let deployment = Deployment {
            metadata: meta(&wname, &ns, &labels),
            spec: Some(DeploymentSpec {
                replicas: Some(replicas.unwrap_or(if env.env_type == "production" {
                    2
                } else {
                    1
                })),
                selector: LabelSelector {
                    match_labels: Some(selector.clone()),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels.clone()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers,
                        volumes: (!volumes.is_empty()).then_some(volumes),
                        security_context: Some(PodSecurityContext {
                            run_as_non_root: Some(true),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        out.insert(
            format!("workloads/{wname}/deployment-{wname}.yaml"),
            to_value("Deployment", "apps/v1", &deployment)?,
        );
        if !w.ports.is_empty() {
            let svc = Service {
                metadata: meta(&wname, &ns, &labels),
                spec: Some(ServiceSpec {
                    selector: Some(selector),
                    ports: Some(
                        w.ports
                            .iter()
                            .map(|(n, p)| ServicePort {
                                name: Some(n.clone()),
                                port: i32::from(p.port),
                                target_port: Some(IntOrString::Int(i32::from(p.target_port))),
                                protocol: Some(p.protocol.clone()),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            };
            out.insert(
                format!("workloads/{wname}/service-{wname}.yaml"),
                to_value("Service", "v1", &svc)?,
            );
        }
    }
    Ok(out.into_iter().collect())
}

/// Writes manifests as YAML text, one file per object.
pub fn to_yaml_files(manifests: &[(String, Value)]) -> Result<Vec<(String, String)>, RenderError> {
    manifests
        .iter()
        .map(|(p, v)| {
            serde_saphyr::to_string(v)
                .map(|t| (p.clone(), t))
                .map_err(|e| RenderError::Other(format!("{p}: {e}")))
        })
        .collect()
}
