//! Compose (compose-spec) output, equivalent to score-compose's for the same workloads: one
//! service per container named `<workload>-<container>`, the workload's other containers sharing
//! the first one's network, resource services and volumes merged in, `$` escaped as `$$` except
//! where a value is meant for Compose to interpolate. Secret outputs go to a `.env` file (to be
//! git-ignored) and are referred to as `${VAR}`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};
use socle_platform::{Part, Resolution, Resolved, ResolvedContainer, ResolvedWorkload};
use socle_score::PlaceholderError;

use crate::RenderError;

/// `--publish HOST_PORT:WORKLOAD:CONTAINER_PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub host_port: u16,
    pub workload: String,
    pub container_port: u16,
}

/// Why a `--publish` value is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    #[error("\"{0}\" is not HOST_PORT:WORKLOAD:CONTAINER_PORT")]
    Shape(String),
    #[error("\"{0}\" is not a port number")]
    Port(String),
}

impl std::str::FromStr for Publish {
    type Err = PublishError;
    fn from_str(s: &str) -> Result<Self, PublishError> {
        let parts: Vec<&str> = s.split(':').collect();
        let [host, workload, port] = parts.as_slice() else {
            return Err(PublishError::Shape(s.to_owned()));
        };
        Ok(Publish {
            host_port: host
                .parse()
                .map_err(|_| PublishError::Port((*host).to_owned()))?,
            workload: (*workload).to_owned(),
            container_port: port
                .parse()
                .map_err(|_| PublishError::Port((*port).to_owned()))?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct ComposeOptions {
    /// The Compose project name.
    pub project: String,
    pub publish: Vec<Publish>,
    /// Directory (relative to the Compose file) where mounted files are written.
    pub mounts_dir: String,
}

/// The Compose file and the files it needs beside it (mounted files, `.env`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderedFiles {
    /// Relative path → content.
    pub files: BTreeMap<String, Vec<u8>>,
}

fn escape(s: &str) -> String {
    s.replace('$', "$$")
}

fn env_var_name(uid: &str, output: &str) -> String {
    let up = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("SOCLE_{}_{}", up(uid), up(output))
}

/// Writes a resolved value for Compose: text escaped, raw verbatim, secrets as `${VAR}` with the
/// value recorded for the `.env` file.
fn compose_value(v: &Resolved, env: &mut BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for part in &v.0 {
        match part {
            Part::Text(t) => out.push_str(&escape(t)),
            Part::Raw(t) => out.push_str(t),
            Part::Secret { uid, output, value } => {
                let name = env_var_name(uid, output);
                out.push_str(&format!("${{{name}}}"));
                env.insert(name, value.clone());
            }
        }
    }
    out
}

fn duration(seconds: Option<&Value>, default: &str) -> String {
    seconds
        .and_then(Value::as_u64)
        .map_or_else(|| default.to_owned(), |s| format!("{s}s"))
}

fn healthcheck(probe: &Value) -> Option<Value> {
    let test = if let Some(cmd) = probe
        .get("exec")
        .and_then(|e| e.get("command"))
        .and_then(Value::as_array)
    {
        let mut t = vec![json!("CMD")];
        t.extend(
            cmd.iter()
                .map(|c| json!(escape(c.as_str().unwrap_or_default()))),
        );
        t
    } else if let Some(http) = probe.get("httpGet") {
        let scheme = http
            .get("scheme")
            .and_then(Value::as_str)
            .unwrap_or("HTTP")
            .to_ascii_lowercase();
        let host = http
            .get("host")
            .and_then(Value::as_str)
            .unwrap_or("localhost");
        let port = http.get("port").and_then(Value::as_u64).unwrap_or(80);
        let path = http.get("path").and_then(Value::as_str).unwrap_or("/");
        vec![
            json!("CMD"),
            json!("curl"),
            json!("-f"),
            json!(format!("{scheme}://{host}:{port}{path}")),
        ]
    } else {
        return None;
    };
    Some(
        json!({"test": test, "timeout": duration(probe.get("timeoutSeconds"), "5s"), "interval": duration(probe.get("periodSeconds"), "5s")}),
    )
}

fn sanitize(s: &str) -> String {
    s.trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Reads the file a container file's `source` names: `(workload, source) → bytes`.
pub type SourceReader<'a> = &'a dyn Fn(&str, &str) -> Result<Vec<u8>, SourceReadError>;

/// A file a container file's `source` names could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct SourceReadError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

/// Renders the Compose project. `read_source` reads a file named by a container file's `source`
/// (relative to the workload's Score file).
pub fn render_compose(
    res: &Resolution,
    opts: &ComposeOptions,
    read_source: SourceReader<'_>,
) -> Result<(String, RenderedFiles), RenderError> {
    let mut env_file: BTreeMap<String, String> = BTreeMap::new();
    let (mut services, mut volumes) = resource_services(res, &mut env_file);
    let mut files = RenderedFiles::default();
    for rw in &res.workloads {
        let depends = depends_on(res, rw);
        let w = &rw.workload;
        let first = w.containers.keys().next().cloned().unwrap_or_default();
        for cname in w.containers.keys() {
            let ctx = ServiceContext {
                rw,
                cname,
                first: *cname == first,
                first_name: &first,
                depends: &depends,
                opts,
                read_source,
            };
            let svc = compose_service(&ctx, &mut files, &mut env_file)?;
            services.insert(format!("{}-{cname}", w.name()), svc);
        }
    }
    add_external_volumes(&services, &mut volumes);
    let mut doc = Map::new();
    doc.insert("name".into(), json!(opts.project));
    doc.insert(
        "services".into(),
        Value::Object(services.into_iter().collect()),
    );
    if !volumes.is_empty() {
        doc.insert(
            "volumes".into(),
            Value::Object(volumes.into_iter().collect()),
        );
    }
    if !env_file.is_empty() {
        let text: String = env_file
            .iter()
            .map(|(k, v)| format!("{k}={}\n", v.replace('\\', "\\\\").replace('\n', "\\n")))
            .collect();
        files.files.insert(".env".into(), text.into_bytes());
    }
    let yaml = serde_saphyr::to_string(&Value::Object(doc))
        .map_err(|e| RenderError::Other(format!("cannot write YAML: {e}")))?;
    Ok((yaml, files))
}

/// Services and volumes the resources' Compose fragments bring. A secret output's value in a
/// fragment (a database's password in its container's environment, its healthcheck) is written
/// as `${VAR}` and kept for the `.env` file, as the workloads' own secrets are: compose.yaml
/// holds no credential.
fn resource_services(
    res: &Resolution,
    env_file: &mut BTreeMap<String, String>,
) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let mut services: BTreeMap<String, Value> = BTreeMap::new();
    let mut volumes: BTreeMap<String, Value> = BTreeMap::new();
    for r in res.resources.values() {
        // Longest first, so that a secret containing another is replaced whole.
        let mut secrets: Vec<(String, &str)> = r
            .secrets
            .iter()
            .filter_map(|k| {
                let v = r.outputs.get(k)?.as_str().filter(|v| !v.is_empty())?;
                Some((env_var_name(&r.uid, k), v))
            })
            .collect();
        secrets.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        for (k, v) in &r.compose.services {
            let mut v = v.clone();
            for (name, secret) in &secrets {
                if hide_secret(&mut v, secret, name) {
                    env_file.insert(name.clone(), (*secret).to_owned());
                }
            }
            services.insert(k.clone(), v);
        }
        for (k, v) in &r.compose.volumes {
            volumes.insert(k.clone(), v.clone());
        }
    }
    (services, volumes)
}

/// Replaces `secret` by `${name}` in every string value (not key) under `v`; whether any was.
fn hide_secret(v: &mut Value, secret: &str, name: &str) -> bool {
    match v {
        Value::String(s) if s.contains(secret) => {
            *s = s.replace(secret, &format!("${{{name}}}"));
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |hit, x| hide_secret(x, secret, name) | hit),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |hit, x| hide_secret(x, secret, name) | hit),
        _ => false,
    }
}

/// Services the workload's resources run, to start first: healthy when they have a
/// healthcheck, completed when they are one-shot (restart "no"), else started.
fn depends_on(res: &Resolution, rw: &ResolvedWorkload) -> BTreeMap<String, Value> {
    let mut depends: BTreeMap<String, Value> = BTreeMap::new();
    for uid in rw.resources.values() {
        if let Some(r) = res.resources.get(uid) {
            for (svc, def) in &r.compose.services {
                let condition = if def.get("healthcheck").is_some() {
                    "service_healthy"
                } else {
                    "service_started"
                };
                // One-shot services (restart "no") must complete.
                let condition = if def.get("restart").and_then(Value::as_str) == Some("no") {
                    "service_completed_successfully"
                } else {
                    condition
                };
                depends.insert(
                    svc.clone(),
                    json!({"condition": condition, "required": true}),
                );
            }
        }
    }
    depends
}

/// What rendering one container's service needs to know.
struct ServiceContext<'a> {
    rw: &'a ResolvedWorkload,
    cname: &'a str,
    /// Whether this is the workload's first container (the one owning the network).
    first: bool,
    first_name: &'a str,
    depends: &'a BTreeMap<String, Value>,
    opts: &'a ComposeOptions,
    read_source: SourceReader<'a>,
}

impl ServiceContext<'_> {
    fn werr(&self, message: String) -> RenderError {
        RenderError::Workload {
            workload: self.rw.workload.name().to_owned(),
            message,
        }
    }

    /// A command or args item: Score `$$` → `$`, then Compose escaping: command and args
    /// carry no placeholders that resources must satisfy beyond metadata.
    fn literal(&self, s: &str) -> Result<Value, RenderError> {
        let w = &self.rw.workload;
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
        .map_err(|e| self.werr(format!("container {}: {e}", self.cname)))?;
        Ok(Value::String(escape(&v)))
    }

    fn literals(&self, items: &[String]) -> Result<Value, RenderError> {
        Ok(Value::Array(
            items
                .iter()
                .map(|a| self.literal(a))
                .collect::<Result<_, _>>()?,
        ))
    }
}

/// One container's Compose service (keys sorted); its mounted files go into `files`, its
/// secret values into `env_file`.
fn compose_service(
    ctx: &ServiceContext<'_>,
    files: &mut RenderedFiles,
    env_file: &mut BTreeMap<String, String>,
) -> Result<Value, RenderError> {
    let w = &ctx.rw.workload;
    let wname = w.name();
    let c = &w.containers[ctx.cname];
    let rc = &ctx.rw.containers[ctx.cname];
    let mut svc = Map::new();
    svc.insert("annotations".into(), service_annotations(w));
    if !c.args.is_empty() {
        svc.insert("command".into(), ctx.literals(&c.args)?);
    }
    if !c.command.is_empty() {
        svc.insert("entrypoint".into(), ctx.literals(&c.command)?);
    }
    if !rc.variables.is_empty() {
        let vars: Map<String, Value> = rc
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), json!(compose_value(v, env_file))))
            .collect();
        svc.insert("environment".into(), Value::Object(vars));
    }
    if let Some(probe) = c.readiness_probe.as_ref().or(c.liveness_probe.as_ref())
        && let Some(h) = healthcheck(probe)
    {
        svc.insert("healthcheck".into(), h);
    }
    if ctx.first {
        svc.insert("hostname".into(), json!(wname));
    } else {
        svc.insert(
            "network_mode".into(),
            json!(format!("service:{wname}-{}", ctx.first_name)),
        );
    }
    svc.insert("image".into(), json!(c.image));
    if ctx.first {
        let ports: Vec<Value> = ctx
            .opts
            .publish
            .iter()
            .filter(|p| p.workload == wname)
            .map(|p| json!({"target": p.container_port, "published": p.host_port.to_string()}))
            .collect();
        if !ports.is_empty() {
            svc.insert("ports".into(), Value::Array(ports));
        }
    }
    let mut mounts = file_mounts(ctx, files)?;
    mounts.extend(volume_mounts(c, rc));
    if !mounts.is_empty() {
        svc.insert("volumes".into(), Value::Array(mounts));
    }
    if ctx.first && !ctx.depends.is_empty() {
        svc.insert(
            "depends_on".into(),
            Value::Object(ctx.depends.clone().into_iter().collect()),
        );
    }
    let sorted: BTreeMap<String, Value> = svc.into_iter().collect();
    Ok(Value::Object(sorted.into_iter().collect()))
}

/// The workload's name and its Score annotations.
fn service_annotations(w: &socle_score::Workload) -> Value {
    let mut annotations = Map::new();
    annotations.insert("socle.dev/workload-name".into(), json!(w.name()));
    if let Some(Value::Object(a)) = w.metadata.get("annotations") {
        for (k, v) in a {
            annotations.insert(k.clone(), v.clone());
        }
    }
    Value::Object(annotations)
}

/// Bind mounts of the container's files, each written under `mounts_dir` into `files`.
fn file_mounts(
    ctx: &ServiceContext<'_>,
    files: &mut RenderedFiles,
) -> Result<Vec<Value>, RenderError> {
    let w = &ctx.rw.workload;
    let wname = w.name();
    let cname = ctx.cname;
    let c = &w.containers[cname];
    let rc = &ctx.rw.containers[cname];
    let mut mounts = Vec::new();
    for (target, f) in &c.files {
        let name = format!(
            "{}/files/{wname}-files-{}",
            ctx.opts.mounts_dir,
            sanitize(target)
        );
        let content = match (&rc.files[target], &f.source, &f.binary_content) {
            (Some(resolved), _, _) => resolved.plain().into_bytes(),
            (None, Some(src), _) => (ctx.read_source)(wname, src)
                .map_err(|e| ctx.werr(format!("container {cname} file {target}: {e}")))?,
            (None, None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| {
                    ctx.werr(format!(
                        "container {cname} file {target}: binaryContent is not base64: {e}"
                    ))
                })?,
            (None, None, None) => Vec::new(),
        };
        files.files.insert(name.clone(), content);
        mounts.push(json!({"type": "bind", "source": name, "target": target}));
    }
    Ok(mounts)
}

/// Volume mounts of the container's volumes.
fn volume_mounts(c: &socle_score::Container, rc: &ResolvedContainer) -> Vec<Value> {
    c.volumes
        .iter()
        .map(|(target, v)| {
            let source = &rc.volumes[target];
            let mut m = json!({"type": "volume", "source": source, "target": target});
            if v.read_only {
                m["read_only"] = json!(true);
            }
            m
        })
        .collect()
}

/// Volumes named literally in a Score file (not provided by a resource) must exist already.
fn add_external_volumes(services: &BTreeMap<String, Value>, volumes: &mut BTreeMap<String, Value>) {
    for svc in services.values() {
        for m in svc
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if m.get("type").and_then(Value::as_str) == Some("volume")
                && let Some(src) = m.get("source").and_then(Value::as_str)
                && !volumes.contains_key(src)
            {
                volumes.insert(src.to_owned(), json!({"external": true}));
            }
        }
    }
}
