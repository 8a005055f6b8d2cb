//! Resolution: for each workload, in dependency order, match and provision every resource
//! (shared resources — same `uid` — once), substitute placeholders in resource params and in the
//! containers' variables, files and volumes. Secret outputs are kept apart so that renderers can
//! refer to them instead of writing them out.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use socle_catalog::Limits;
use socle_score::{Reference, Workload};

use crate::config::{Environment, PlatformConfig};
use crate::matching::{ResourceRequest, match_definition};
use crate::provision::{ComposeFragment, ProvisionRequest, resource_uid};

/// One provisioned resource (shared ones appear once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedResource {
    pub uid: String,
    pub kind: String,
    pub class: Option<String>,
    pub id: Option<String>,
    /// The definition that provided it.
    pub definition: String,
    /// The params it was provisioned with (placeholders substituted).
    #[serde(default)]
    pub params: Value,
    pub outputs: Map<String, Value>,
    pub secrets: BTreeSet<String>,
    pub state: Map<String, Value>,
    pub compose: ComposeFragment,
    pub manifests: Vec<Value>,
    /// Workloads using it, by name.
    pub used_by: BTreeSet<String>,
    /// Outputs are run-time expressions of the target, written verbatim.
    pub raw: bool,
    /// Namespaces besides the environment's its manifests may name (the definition's
    /// `manifestNamespaces`).
    #[serde(default)]
    pub namespaces: BTreeSet<String>,
}

/// A piece of a resolved string: plain text, or a secret output of a resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    Text(String),
    /// A run-time expression of the target (e.g. Compose's `${NAME}`), written verbatim.
    Raw(String),
    Secret {
        uid: String,
        output: String,
        value: String,
    },
}

/// A resolved string value (variable, file content, volume source).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved(pub Vec<Part>);

impl Resolved {
    /// The value with secrets written out (for Compose and local use).
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) | Part::Raw(t) => t.as_str(),
                Part::Secret { value, .. } => value.as_str(),
            })
            .collect()
    }
    pub fn has_secret(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Part::Secret { .. }))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedContainer {
    pub variables: BTreeMap<String, Resolved>,
    /// File contents by target (None for `source`/`binaryContent` files, handled by renderers).
    pub files: BTreeMap<String, Option<Resolved>>,
    /// Volume sources by target.
    pub volumes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedWorkload {
    pub workload: Workload,
    pub containers: BTreeMap<String, ResolvedContainer>,
    /// Resource name → uid.
    pub resources: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    pub workloads: Vec<ResolvedWorkload>,
    pub resources: BTreeMap<String, ResolvedResource>,
}

/// A resolution failure, naming the workload and resource or field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveError {
    pub workload: String,
    /// The field, its keys joined with dots (`containers.web.variables.DB_HOST`).
    pub path: String,
    /// The field's keys one by one (a key may hold a dot: `files./etc/app.conf`), to find the
    /// field in the workload's file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "workload {}: {}: {} [{}]",
            self.workload, self.path, self.message, self.rule
        )
    }
}

pub struct ResolveInput<'a> {
    pub workloads: &'a [Workload],
    pub env: &'a Environment,
    pub config: &'a PlatformConfig,
    /// Previous state by resource uid.
    pub state: &'a BTreeMap<String, Map<String, Value>>,
    pub seed: u64,
    pub limits: &'a Limits,
    /// Runs command provisioners (None: definitions with `spec.command` fail clearly).
    pub runner: Option<&'a dyn crate::provision::CommandRunner>,
}

fn output_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn lookup<'v>(outputs: &'v Map<String, Value>, path: &[String]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = outputs.get(first)?;
    for p in rest {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// Why a placeholder of a workload does not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum Unresolved {
    #[error(transparent)]
    Placeholder(#[from] socle_score::PlaceholderError),
    #[error("{reference}: the workload has no such metadata")]
    NoMetadata { reference: Reference },
    #[error("{reference}: resource \"{name}\" is not provisioned")]
    NotProvisioned { reference: Reference, name: String },
    #[error(transparent)]
    NoOutput(Box<NoOutput>),
}

/// A reference to an output its resource does not have; `known`: the outputs it has, sorted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{reference}: resource \"{name}\" ({kind}, definition {definition}) has no output \"{output}\"; its outputs are: {}",
    .known.join(", ")
)]
struct NoOutput {
    reference: Reference,
    name: String,
    kind: String,
    definition: String,
    output: String,
    known: Vec<String>,
}

struct Ctx<'a> {
    w: &'a Workload,
    uids: &'a BTreeMap<String, String>,
    resources: &'a BTreeMap<String, ResolvedResource>,
}

impl Ctx<'_> {
    /// Resolves one string into parts.
    fn resolve(&self, text: &str) -> Result<Resolved, Unresolved> {
        let mut parts: Vec<Part> = Vec::new();
        let mut err = None;
        // Substitute once to find the pieces: placeholders become markers we split on.
        let marked = socle_score::substitute(text, &mut |r| {
            let idx = parts.len();
            match r {
                Reference::Metadata(p) => {
                    let mut cur: Option<&Value> = p.first().and_then(|k| self.w.metadata.get(k));
                    for k in p.iter().skip(1) {
                        cur = cur.and_then(|v| v.get(k));
                    }
                    match cur {
                        Some(v) => parts.push(Part::Text(output_text(v))),
                        None => {
                            err = Some(Unresolved::NoMetadata {
                                reference: r.clone(),
                            })
                        }
                    }
                }
                Reference::Resource { name, path } => {
                    let Some(res) = self.uids.get(name).and_then(|u| self.resources.get(u)) else {
                        err = Some(Unresolved::NotProvisioned {
                            reference: r.clone(),
                            name: name.clone(),
                        });
                        return Ok(String::new());
                    };
                    if path.is_empty() {
                        parts.push(Part::Text(
                            res.outputs
                                .get("source")
                                .map(output_text)
                                .unwrap_or_else(|| res.uid.clone()),
                        ));
                    } else {
                        match lookup(&res.outputs, path) {
                            Some(v) if path.len() == 1 && res.secrets.contains(&path[0]) => parts
                                .push(Part::Secret {
                                    uid: res.uid.clone(),
                                    output: path[0].clone(),
                                    value: output_text(v),
                                }),
                            Some(v) if res.raw => parts.push(Part::Raw(output_text(v))),
                            Some(v) => parts.push(Part::Text(output_text(v))),
                            None => {
                                let mut known: Vec<String> = res.outputs.keys().cloned().collect();
                                known.sort();
                                err = Some(Unresolved::NoOutput(Box::new(NoOutput {
                                    reference: r.clone(),
                                    name: name.clone(),
                                    kind: res.kind.clone(),
                                    definition: res.definition.clone(),
                                    output: path.join("."),
                                    known,
                                })));
                            }
                        }
                    }
                }
            }
            Ok(format!("\u{0}{idx}\u{0}"))
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        let mut out = Vec::new();
        for (i, chunk) in marked.split('\u{0}').enumerate() {
            if i % 2 == 0 {
                if !chunk.is_empty() {
                    out.push(Part::Text(chunk.to_owned()));
                }
            } else if let Ok(idx) = chunk.parse::<usize>() {
                out.push(parts[idx].clone());
            }
        }
        // Merge adjacent text.
        let mut merged: Vec<Part> = Vec::new();
        for p in out {
            match (merged.last_mut(), p) {
                (Some(Part::Text(a)), Part::Text(b)) => a.push_str(&b),
                (_, p) => merged.push(p),
            }
        }
        Ok(Resolved(merged))
    }
}

fn substitute_json(v: &Value, ctx: &Ctx<'_>) -> Result<Value, Unresolved> {
    Ok(match v {
        Value::String(s) => Value::String(ctx.resolve(s)?.plain()),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_json(x, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), substitute_json(x, ctx)?)))
                .collect::<Result<_, Unresolved>>()?,
        ),
        other => other.clone(),
    })
}

/// A stable fingerprint of a resource's params (SHA-256 of their JSON with keys sorted), to tell
/// whether two workloads ask for a shared resource in the same way without keeping the values.
pub fn params_fingerprint(params: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(params, &mut text);
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    )
}

/// The output names each provisioned resource is asked for, by resource uid (a shared resource
/// collects the requests of every workload that shares it). Computed once per resolution.
fn requested_outputs(all: &[Workload]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for w in all {
        for (_, text) in socle_score::placeholder::expandable_strings(w) {
            for reference in socle_score::references(text).unwrap_or_default() {
                if let Reference::Resource { name, path } = reference
                    && let (Some(r), Some(first)) = (w.resources.get(&name), path.first())
                {
                    out.entry(resource_uid(w.name(), &name, r))
                        .or_default()
                        .insert(first.clone());
                }
            }
        }
    }
    out
}

/// Resolves every workload for one environment.
pub fn resolve(input: &ResolveInput<'_>) -> Result<Resolution, Vec<ResolveError>> {
    let mut resolution = Resolution::default();
    let mut errors = Vec::new();
    let requested = requested_outputs(input.workloads);
    let workloads_ctx = workloads_context(input.workloads);
    let workloads_value = crate::provision::WorkloadsContext::new(&workloads_ctx);
    for (wi, w) in input.workloads.iter().enumerate() {
        let shared = Shared {
            input,
            requested: &requested,
            workloads: &workloads_value,
        };
        let Some(uids) = resolve_resources(&shared, wi, w, &mut resolution, &mut errors) else {
            continue;
        };
        let ctx = Ctx {
            w,
            uids: &uids,
            resources: &resolution.resources,
        };
        let containers = w
            .containers
            .iter()
            .map(|(cname, c)| {
                (
                    cname.clone(),
                    resolve_container(&ctx, cname, c, &mut errors),
                )
            })
            .collect();
        resolution.workloads.push(ResolvedWorkload {
            workload: w.clone(),
            containers,
            resources: uids,
        });
    }
    if errors.is_empty() {
        Ok(resolution)
    } else {
        Err(errors)
    }
}

/// What every workload's resources are provisioned with.
struct Shared<'a> {
    input: &'a ResolveInput<'a>,
    requested: &'a BTreeMap<String, BTreeSet<String>>,
    workloads: &'a crate::provision::WorkloadsContext,
}

/// The workloads' ports by workload name, for provisioners' templates.
fn workloads_context(workloads: &[Workload]) -> Map<String, Value> {
    let mut workloads_ctx = Map::new();
    for w in workloads {
        let ports: Map<String, Value> = w
            .ports
            .iter()
            .map(|(n, p)| (n.clone(), serde_json::json!({"port": p.port, "targetPort": p.target_port, "protocol": p.protocol})))
            .collect();
        workloads_ctx.insert(w.name().to_owned(), serde_json::json!({"ports": ports}));
    }
    workloads_ctx
}

fn resolve_error(workload: &str, keys: &[&str], rule: &str, message: String) -> ResolveError {
    ResolveError {
        workload: workload.to_owned(),
        path: keys.join("."),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        rule: rule.to_owned(),
        message,
    }
}

/// Provisions the workload's resources in dependency order (a resource another workload
/// already provisioned is shared), adding them to `resolution`. Returns resource name → uid,
/// or None when any failed (the errors pushed to `errors`).
fn resolve_resources(
    shared: &Shared<'_>,
    wi: usize,
    w: &Workload,
    resolution: &mut Resolution,
    errors: &mut Vec<ResolveError>,
) -> Option<BTreeMap<String, String>> {
    let name = w.name().to_owned();
    let graph = match socle_score::resource_graph(w) {
        Ok(g) => g,
        Err(e) => {
            errors.push(resolve_error(
                &name,
                &["resources"],
                "resources.cycle",
                e.to_string(),
            ));
            return None;
        }
    };
    let mut uids: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = false;
    for rname in &graph.order {
        let r = &w.resources[rname];
        let uid = resource_uid(&name, rname, r);
        uids.insert(rname.clone(), uid.clone());
        if let Some(existing) = resolution.resources.get_mut(&uid) {
            existing.used_by.insert(name.clone());
            continue;
        }
        match provision_resource(shared, wi, w, rname, &uid, &uids, resolution) {
            Ok(resolved) => {
                resolution.resources.insert(uid, resolved);
            }
            Err(e) => {
                errors.push(e);
                failed = true;
            }
        }
    }
    (!failed).then_some(uids)
}

/// Matches a resource to its definition, resolves its params and provisions it.
fn provision_resource(
    shared: &Shared<'_>,
    wi: usize,
    w: &Workload,
    rname: &str,
    uid: &str,
    uids: &BTreeMap<String, String>,
    resolution: &Resolution,
) -> Result<ResolvedResource, ResolveError> {
    let input = shared.input;
    let name = w.name();
    let r = &w.resources[rname];
    let path = ["resources", rname];
    let req = ResourceRequest {
        kind: &r.kind,
        class: r.class.as_deref(),
        id: r.id.as_deref(),
        app: name,
    };
    let def = match_definition(input.config, &req, input.env)
        .map_err(|e| resolve_error(name, &path, "resources.match", e.to_string()))?;
    let ctx = Ctx {
        w,
        uids,
        resources: &resolution.resources,
    };
    let params = r
        .params
        .as_ref()
        .map(|p| substitute_json(p, &ctx))
        .transpose()
        .map_err(|e| {
            resolve_error(
                name,
                &["resources", rname, "params"],
                "placeholder.unresolved",
                e.to_string(),
            )
        })?
        .unwrap_or(Value::Object(Map::new()));
    let req = ProvisionRequest {
        workload: name,
        name: rname,
        resource: r,
        params: params.clone(),
        env: input.env,
        uid,
        state: input.state.get(uid).cloned().unwrap_or_default(),
        seed: input
            .seed
            .wrapping_add((wi as u64) << 32)
            .wrapping_add(resolution.resources.len() as u64),
        workloads: shared.workloads,
        requested: shared
            .requested
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default(),
    };
    let p = crate::provision::provision_with(def, &req, input.limits, input.runner)
        .map_err(|e| resolve_error(name, &path, "resources.provision", e.to_string()))?;
    Ok(ResolvedResource {
        uid: uid.to_owned(),
        kind: r.kind.clone(),
        class: r.class.clone(),
        id: r.id.clone(),
        definition: def.name.clone(),
        params,
        outputs: p.outputs,
        secrets: p.secrets,
        state: p.state,
        compose: p.compose,
        manifests: p.manifests,
        used_by: BTreeSet::from([name.to_owned()]),
        raw: def.raw_outputs,
        namespaces: def.manifest_namespaces.iter().cloned().collect(),
    })
}

/// A container's variables, file contents and volume sources with placeholders resolved; what
/// does not resolve is left out and reported in `errors`.
fn resolve_container(
    ctx: &Ctx<'_>,
    cname: &str,
    c: &socle_score::Container,
    errors: &mut Vec<ResolveError>,
) -> ResolvedContainer {
    let name = ctx.w.name();
    let unresolved = |path: &[&str], e: Unresolved| {
        resolve_error(name, path, "placeholder.unresolved", e.to_string())
    };
    let mut rc = ResolvedContainer {
        variables: BTreeMap::new(),
        files: BTreeMap::new(),
        volumes: BTreeMap::new(),
    };
    for (k, v) in &c.variables {
        match ctx.resolve(v) {
            Ok(r) => {
                rc.variables.insert(k.clone(), r);
            }
            Err(e) => errors.push(unresolved(&["containers", cname, "variables", k], e)),
        }
    }
    for (target, f) in &c.files {
        let content = match (&f.content, f.no_expand) {
            (Some(text), true) => Some(Resolved(vec![Part::Text(text.clone())])),
            (Some(text), false) => match ctx.resolve(text) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(unresolved(&["containers", cname, "files", target], e));
                    None
                }
            },
            (None, _) => None,
        };
        rc.files.insert(target.clone(), content);
    }
    for (target, v) in &c.volumes {
        match ctx.resolve(&v.source) {
            Ok(r) => {
                rc.volumes.insert(target.clone(), r.plain());
            }
            Err(e) => errors.push(unresolved(&["containers", cname, "volumes", target], e)),
        }
    }
    rc
}
