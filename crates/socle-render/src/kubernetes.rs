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
use socle_platform::{
    Environment, Part, Resolution, Resolved, ResolvedContainer, ResolvedResource, ResolvedWorkload,
};
use socle_score::PlaceholderError;

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

/// Why a resource's manifest is not written out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum ManifestError {
    #[error("not a mapping")]
    NotAMapping,
    #[error("metadata is not a mapping")]
    MetadataNotAMapping,
    #[error("namespace {namespace} is not the environment's namespace \"{environment}\"")]
    ForeignNamespace {
        namespace: Value,
        environment: String,
    },
}

/// A resource's manifest placed in the environment's namespace (one it names must be that one,
/// or one its definition declares: provisioning checks this, and the renderer holds the line
/// too), with Socle's labels added.
fn resource_manifest(
    m: &Value,
    ns: &str,
    declared: &std::collections::BTreeSet<String>,
    labels: &BTreeMap<String, String>,
) -> Result<Value, ManifestError> {
    let mut m = m.clone();
    let obj = m.as_object_mut().ok_or(ManifestError::NotAMapping)?;
    let md = obj
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or(ManifestError::MetadataNotAMapping)?;
    match md.get("namespace") {
        None | Some(Value::Null) => {
            md.insert("namespace".into(), json!(ns));
        }
        Some(Value::String(n)) if n == ns || declared.contains(n) => {}
        Some(other) => {
            return Err(ManifestError::ForeignNamespace {
                namespace: other.clone(),
                environment: ns.to_owned(),
            });
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

/// Socle's labels for an object of this environment, plus `extra` (values made label-safe).
fn base_labels(env: &Environment, extra: &[(&str, String)]) -> BTreeMap<String, String> {
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
}

/// The environment's manifests: `(relative file path, object)` in a stable order.
pub fn render_kubernetes(
    res: &Resolution,
    env: &Environment,
    opts: &KubernetesOptions,
) -> Result<Vec<(String, Value)>, RenderError> {
    let ns = env.namespace().to_owned();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for r in res.resources.values() {
        render_resource(r, env, opts, &ns, &mut out)?;
    }
    for rw in &res.workloads {
        render_workload(rw, env, opts, &ns, &mut out)?;
    }
    Ok(out.into_iter().collect())
}

/// A resource's manifests, and an ExternalSecret when it has secret outputs.
fn render_resource(
    r: &ResolvedResource,
    env: &Environment,
    opts: &KubernetesOptions,
    ns: &str,
    out: &mut BTreeMap<String, Value>,
) -> Result<(), RenderError> {
    let labels = base_labels(
        env,
        &[
            ("socle.dev/resource", r.uid.clone()),
            ("socle.dev/resource-type", r.kind.clone()),
        ],
    );
    for (i, m) in r.manifests.iter().enumerate() {
        let m = resource_manifest(m, ns, &r.namespaces, &labels).map_err(|message| {
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
            external_secret(&r.uid, ns, env, &opts.secret_store, &labels, &data, None),
        );
    }
    Ok(())
}

/// What a workload's containers gather while they are rendered: the pod's volumes, the files
/// ConfigMap's data, and the templated environment Secret's template and data.
#[derive(Default)]
struct PodParts {
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    files_cm: BTreeMap<String, String>,
    env_template: BTreeMap<String, String>,
    env_data: BTreeMap<String, (String, String)>,
}

/// A workload's Deployment, its Service when it has ports, its files ConfigMap and its
/// environment ExternalSecret when needed.
fn render_workload(
    rw: &ResolvedWorkload,
    env: &Environment,
    opts: &KubernetesOptions,
    ns: &str,
    out: &mut BTreeMap<String, Value>,
) -> Result<(), RenderError> {
    let w = &rw.workload;
    let wname = w.name().to_owned();
    let labels = workload_labels(env, opts, &wname);
    let selector = BTreeMap::from([("app.kubernetes.io/name".to_owned(), wname.clone())]);
    let env_secret = format!("{wname}-env");
    // Secure by default; a workload that must write to its root filesystem says so.
    let writable_root = w
        .metadata
        .get("annotations")
        .and_then(|a| a.get("socle.dev/writable-root-filesystem"))
        .and_then(Value::as_str)
        == Some("true");
    let mut pod = PodParts::default();
    for cname in w.containers.keys() {
        let container = render_container(rw, cname, &env_secret, writable_root, &mut pod)?;
        pod.containers.push(container);
    }
    if !writable_root {
        add_tmp_volume(&mut pod);
    }
    let PodParts {
        containers,
        mut volumes,
        files_cm,
        env_template,
        env_data,
    } = pod;
    if !files_cm.is_empty() {
        let cm_name = format!("{wname}-files");
        volumes.push(files_volume(&cm_name, &files_cm));
        let cm = ConfigMap {
            metadata: meta(&cm_name, ns, &labels),
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
                ns,
                env,
                &opts.secret_store,
                &labels,
                &env_data,
                Some(env_template),
            ),
        );
    }
    let deployment = deployment(rw, env, ns, &labels, &selector, containers, volumes);
    out.insert(
        format!("workloads/{wname}/deployment-{wname}.yaml"),
        to_value("Deployment", "apps/v1", &deployment)?,
    );
    if !w.ports.is_empty() {
        let svc = service(rw, ns, &labels, selector);
        out.insert(
            format!("workloads/{wname}/service-{wname}.yaml"),
            to_value("Service", "v1", &svc)?,
        );
    }
    Ok(())
}

/// A workload's labels: Socle's, its name, and its catalog entity and team when known.
fn workload_labels(
    env: &Environment,
    opts: &KubernetesOptions,
    wname: &str,
) -> BTreeMap<String, String> {
    let own = opts.ownership.get(wname).cloned().unwrap_or_default();
    let mut extra = vec![("app.kubernetes.io/name", wname.to_owned())];
    if let Some(e) = &own.entity {
        extra.push(("socle.dev/entity", e.replace([':', '/'], ".")));
    }
    if let Some(t) = &own.team {
        extra.push(("socle.dev/team", t.replace([':', '/'], ".")));
    }
    base_labels(env, &extra)
}

/// One container of a workload; its files, volumes and templated variables go into `pod`.
fn render_container(
    rw: &ResolvedWorkload,
    cname: &str,
    env_secret: &str,
    writable_root: bool,
    pod: &mut PodParts,
) -> Result<Container, RenderError> {
    let w = &rw.workload;
    let wname = w.name();
    let c = &w.containers[cname];
    let rc = &rw.containers[cname];
    let envs: Vec<EnvVar> = rc
        .variables
        .iter()
        .map(|(k, v)| env_var(cname, k, v, env_secret, pod))
        .collect();
    let mut mounts = file_mounts(wname, cname, c, rc, &mut pod.files_cm)?;
    mounts.extend(volume_mounts(c, rc, &mut pod.volumes));
    let ports: Vec<ContainerPort> = if pod.containers.is_empty() {
        container_ports(w)
    } else {
        Vec::new()
    };
    let literal = |s: &String| literal(rw, cname, s);
    let command: Vec<String> = c.command.iter().map(literal).collect::<Result<_, _>>()?;
    let args: Vec<String> = c.args.iter().map(literal).collect::<Result<_, _>>()?;
    Ok(Container {
        name: cname.to_owned(),
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
    })
}

/// An environment variable referring to a key of a Secret.
fn secret_env_var(name: &str, secret: String, key: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret,
                key,
                optional: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A container variable: a plain value, a reference to a resource's Secret when the value is
/// just one secret output, or else a key of the workload's templated environment Secret.
fn env_var(cname: &str, k: &str, v: &Resolved, env_secret: &str, pod: &mut PodParts) -> EnvVar {
    let has_secret = v.0.iter().any(|p| matches!(p, Part::Secret { .. }));
    match (v.0.as_slice(), has_secret) {
        (_, false) => EnvVar {
            name: k.to_owned(),
            value: Some(k8s_escape(&v.plain())),
            ..Default::default()
        },
        ([Part::Secret { uid, output, .. }], true) => {
            secret_env_var(k, uid.clone(), output.clone())
        }
        _ => {
            // A value mixing text and secrets: ESO renders it into the workload's Secret.
            let key = format!("{cname}_{k}");
            pod.env_template
                .insert(key.clone(), eso_template(v, &mut pod.env_data));
            secret_env_var(k, env_secret.to_owned(), key)
        }
    }
}

/// Mounts of a container's files from the workload's files ConfigMap (their content added to
/// `files_cm`); a file holding a secret is refused.
fn file_mounts(
    wname: &str,
    cname: &str,
    c: &socle_score::Container,
    rc: &ResolvedContainer,
    files_cm: &mut BTreeMap<String, String>,
) -> Result<Vec<VolumeMount>, RenderError> {
    let mut mounts = Vec::new();
    for (i, (target, f)) in c.files.iter().enumerate() {
        let key = format!("{cname}-{i}");
        let content = match &rc.files[target] {
            Some(r) if r.has_secret() => {
                return Err(RenderError::Workload {
                    workload: wname.to_owned(),
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
    Ok(mounts)
}

/// Mounts of a container's volumes, each claim added once to the pod's `volumes`.
fn volume_mounts(
    c: &socle_score::Container,
    rc: &ResolvedContainer,
    volumes: &mut Vec<Volume>,
) -> Vec<VolumeMount> {
    let mut mounts = Vec::new();
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
    mounts
}

/// The workload's ports (each target port and protocol once), declared on its first container.
fn container_ports(w: &socle_score::Workload) -> Vec<ContainerPort> {
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
}

/// A command or args item: Score's `$$` → `$` (and `${metadata.…}`), then Kubernetes' own
/// escaping.
fn literal(rw: &ResolvedWorkload, cname: &str, s: &str) -> Result<String, RenderError> {
    let w = &rw.workload;
    let v = socle_score::substitute(s, &mut |r| match r {
        socle_score::Reference::Metadata(p) => w
            .metadata
            .get(&p[0])
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PlaceholderError::Unresolved(format!("{r}: no such metadata"))),
        other => Err(PlaceholderError::Unresolved(format!(
            "{other}: resource placeholders are not supported in command or args"
        ))),
    })
    .map_err(|e| RenderError::Workload {
        workload: w.name().to_owned(),
        message: format!("container {cname}: {e}"),
    })?;
    Ok(k8s_escape(&v))
}

/// A read-only root filesystem still needs somewhere to write temporary files: an `emptyDir`
/// on `/tmp` in every container.
fn add_tmp_volume(pod: &mut PodParts) {
    pod.volumes.push(Volume {
        name: "tmp".into(),
        empty_dir: Some(Default::default()),
        ..Default::default()
    });
    for c in &mut pod.containers {
        c.volume_mounts
            .get_or_insert_with(Vec::new)
            .push(VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            });
    }
}

/// The pod volume holding the workload's files ConfigMap, every key at its own path.
fn files_volume(cm_name: &str, files_cm: &BTreeMap<String, String>) -> Volume {
    Volume {
        name: "files".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: cm_name.to_owned(),
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
    }
}

/// The workload's Deployment: replicas from `socle.dev/replicas`, else 2 in production and 1
/// elsewhere; the pod runs as non-root.
fn deployment(
    rw: &ResolvedWorkload,
    env: &Environment,
    ns: &str,
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
) -> Deployment {
    let w = &rw.workload;
    let replicas = w
        .metadata
        .get("annotations")
        .and_then(|a| a.get("socle.dev/replicas"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Deployment {
        metadata: meta(w.name(), ns, labels),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas.unwrap_or(if env.env_type == "production" { 2 } else { 1 })),
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
    }
}

/// The workload's Service, one port per Score port.
fn service(
    rw: &ResolvedWorkload,
    ns: &str,
    labels: &BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
) -> Service {
    let w = &rw.workload;
    Service {
        metadata: meta(w.name(), ns, labels),
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
    }
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
