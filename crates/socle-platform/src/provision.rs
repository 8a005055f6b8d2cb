//! Template provisioners: a minijinja template renders a YAML document with the resource's
//! `outputs`, the `state` to keep for next time, and what to add to the deployment (`compose`
//! services/volumes, Kubernetes `manifests`). Rendering is bounded (fuel) and deterministic: the
//! only randomness comes from the caller's seed, and templates keep generated values in `state`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use socle_catalog::Limits;

use crate::config::{Environment, Provisioner, ResourceDefinition};

/// What to add to a Compose file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComposeFragment {
    #[serde(default)]
    pub services: Map<String, Value>,
    #[serde(default)]
    pub volumes: Map<String, Value>,
}

/// The result of provisioning one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provisioned {
    pub outputs: Map<String, Value>,
    /// Output keys that are secrets.
    pub secrets: BTreeSet<String>,
    pub state: Map<String, Value>,
    pub compose: ComposeFragment,
    pub manifests: Vec<Value>,
}

pub struct ProvisionRequest<'a> {
    pub workload: &'a str,
    /// The resource's name in the workload.
    pub name: &'a str,
    pub resource: &'a socle_score::Resource,
    /// `params` with placeholders already substituted.
    pub params: Value,
    pub env: &'a Environment,
    /// Stable, DNS-safe unique name of the provisioned resource (see [`resource_uid`]).
    pub uid: &'a str,
    /// The state this resource was left with last time (empty the first time).
    pub state: Map<String, Value>,
    /// Seed for `random_*` functions; generated values must be kept in `state` by the template.
    pub seed: u64,
    /// The outputs the workloads refer to (`${resources.<name>.<output>}`), for definitions whose
    /// outputs are whatever is asked for (`environment`).
    pub requested: Vec<String>,
    /// Every workload being deployed with its service ports (`workloads.<name>.ports.<port>`),
    /// for resources that point at another workload (`service-port`).
    pub workloads: &'a WorkloadsContext,
}

/// The `workloads` template variable, converted once per resolution (not once per resource).
#[derive(Clone, Debug, Default)]
pub struct WorkloadsContext(minijinja::Value);

impl WorkloadsContext {
    pub fn new(workloads: &Map<String, Value>) -> Self {
        Self(minijinja::Value::from(minijinja::value::Serde(workloads)))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    #[error("resource definition {definition} ({source_file}): template error: {message}")]
    Template {
        definition: String,
        source_file: String,
        message: String,
    },
    #[error(
        "resource definition {definition} ({source_file}): the template's result is not valid: {message}"
    )]
    Output {
        definition: String,
        source_file: String,
        message: String,
    },
    #[error(
        "resource definition {definition} uses a command provisioner, which this caller does not run"
    )]
    CommandUnsupported { definition: String },
}

/// A stable unique name for a provisioned resource: shared resources (with an `id`) are named by
/// type, class and id; others by workload and resource name. DNS-label safe, ≤ 40 characters.
pub fn resource_uid(workload: &str, name: &str, r: &socle_score::Resource) -> String {
    let key = match &r.id {
        Some(id) => format!(
            "{}#{}#{}",
            r.kind,
            r.class.as_deref().unwrap_or("default"),
            id
        ),
        None => format!("{}#{}#{}", r.kind, workload, name),
    };
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..4]);
    let base: String = match &r.id {
        Some(id) => id.clone(),
        None => format!("{workload}-{name}"),
    }
    .to_ascii_lowercase()
    .chars()
    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
    .collect();
    let base = base.trim_matches('-');
    let base = &base[..base.len().min(30)];
    format!("{}-{hash}", base.trim_end_matches('-'))
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const FUEL: u64 = 200_000;

/// Runs the definition's provisioner.
pub fn provision(
    def: &ResourceDefinition,
    req: &ProvisionRequest<'_>,
    limits: &Limits,
) -> Result<Provisioned, ProvisionError> {
    provision_with(def, req, limits, None)
}

/// Runs an external provisioner program (IO lives with the caller).
pub trait CommandRunner: Sync {
    /// Runs `program args…` with `input` as JSON on stdin and returns the JSON it prints.
    fn run(&self, program: &str, args: &[String], input: &Value) -> Result<Value, CommandError>;
}

/// Why a command provisioner gave no result (what a [`CommandRunner`] reports).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started.
    #[error("cannot start {}: {source}", program.display())]
    Start {
        program: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The process lacks one of its pipes (`stdin`, `stdout`, `stderr`).
    #[error("no {0}")]
    MissingPipe(&'static str),
    /// The thread reading the program's output panicked.
    #[error("reader panicked")]
    ReaderPanicked,
    /// The request could not be written as JSON.
    #[error(transparent)]
    Input(serde_json::Error),
    /// Waiting for the process or reading its output failed.
    #[error(transparent)]
    Io(std::io::Error),
    /// The program ran longer than allowed (and was killed).
    #[error("timed out after {} s", .timeout.as_secs())]
    TimedOut { timeout: std::time::Duration },
    /// The program failed; `stderr` is what it wrote there (trimmed, possibly empty).
    #[error("exited with {status}{}", stderr_suffix(.stderr))]
    Exited {
        status: std::process::ExitStatus,
        stderr: String,
    },
    /// The program printed more than the runner reads.
    #[error("printed more than {max} bytes")]
    OutputTooLarge { max: usize },
    /// What the program printed is not JSON.
    #[error("did not print JSON: {0}")]
    NotJson(serde_json::Error),
}

/// `": <stderr>"`, or nothing when the program wrote nothing there.
fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// [`provision`], with a runner for command provisioners.
pub fn provision_with(
    def: &ResourceDefinition,
    req: &ProvisionRequest<'_>,
    limits: &Limits,
    runner: Option<&dyn CommandRunner>,
) -> Result<Provisioned, ProvisionError> {
    match &def.provisioner {
        Provisioner::Template(template) => render_template(def, req, template, limits),
        Provisioner::Command { program, args } => {
            let Some(runner) = runner else {
                return Err(ProvisionError::CommandUnsupported {
                    definition: def.name.clone(),
                });
            };
            run_command(def, req, program, args, runner)
        }
    }
}

/// A template error of `def` (rendering failed, or its command did).
fn template_error(def: &ResourceDefinition, message: String) -> ProvisionError {
    ProvisionError::Template {
        definition: def.name.clone(),
        source_file: def.source.clone(),
        message,
    }
}

/// An output error of `def` (what its template or command produced is not valid).
fn output_error(def: &ResourceDefinition, message: String) -> ProvisionError {
    ProvisionError::Output {
        definition: def.name.clone(),
        source_file: def.source.clone(),
        message,
    }
}

/// Runs a command provisioner and reads its result. In the spirit of score-compose's cmd://
/// protocol: JSON in, JSON out.
fn run_command(
    def: &ResourceDefinition,
    req: &ProvisionRequest<'_>,
    program: &str,
    args: &[String],
    runner: &dyn CommandRunner,
) -> Result<Provisioned, ProvisionError> {
    let input = serde_json::json!({
        "resource_uid": req.uid,
        "resource_type": req.resource.kind,
        "resource_class": req.resource.class.clone().unwrap_or_else(|| "default".into()),
        "resource_id": req.resource.id,
        "resource_params": req.params,
        "resource_metadata": req.resource.metadata.clone().unwrap_or(Value::Object(Map::new())),
        "requested_outputs": req.requested,
        "state": req.state,
        "workload": req.workload,
        "environment": {"name": req.env.name, "type": req.env.env_type, "target": req.env.target.as_str(), "namespace": req.env.namespace()},
    });
    let out = runner
        .run(program, args, &input)
        .map_err(|e| template_error(def, format!("command {program}: {e}")))?;
    let mut obj = out
        .as_object()
        .cloned()
        .ok_or_else(|| output_error(def, "the command must print a JSON object".into()))?;
    if let Some(o) = obj.remove("resource_outputs") {
        obj.insert("outputs".into(), o);
    }
    let services = obj.remove("compose_services");
    let volumes = obj.remove("compose_volumes");
    if services.is_some() || volumes.is_some() {
        obj.insert("compose".into(), serde_json::json!({"services": services.unwrap_or_default(), "volumes": volumes.unwrap_or_default()}));
    }
    obj.remove("shared_state");
    interpret(def, &obj, req.env)
}

/// Renders a template provisioner (bounded by fuel, escaped for YAML) and reads its result.
fn render_template(
    def: &ResourceDefinition,
    req: &ProvisionRequest<'_>,
    template: &str,
    limits: &Limits,
) -> Result<Provisioned, ProvisionError> {
    let env = template_environment(req.seed);
    let source = socle_escape::prepare(template, socle_escape::Format::Yaml, "{{", "}}");
    let rendered = env
        .template_from_named_str("definition.yaml", &source)
        .and_then(|t| t.render(template_context(req)))
        .map_err(|e| {
            let mut msg = e.to_string();
            if let Some(line) = e.line() {
                msg = format!("line {line} of the template: {msg}");
            }
            template_error(def, msg)
        })?;
    let docs = socle_catalog::yaml::parse_documents(&rendered, limits).map_err(|e| {
        output_error(
            def,
            format!("rendered YAML: {} (line {:?})", e.message, e.line),
        )
    })?;
    let value = docs
        .first()
        .map(|d| d.to_json())
        .unwrap_or(Value::Object(Map::new()));
    let obj = value
        .as_object()
        .ok_or_else(|| output_error(def, "the template must render a mapping".into()))?;
    interpret(def, obj, req.env)
}

/// The template environment: strict about undefined values, bounded by fuel, every value escaped
/// for YAML (a crafted parameter stays one value), `random_*` functions drawn from `seed`, and
/// `fail(message)` to refuse a request with a message of the template's own (as sprig's `fail` in
/// score-compose's and score-k8s's templates).
fn template_environment<'source>(seed: u64) -> minijinja::Environment<'source> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    socle_escape::install(&mut env);
    env.add_function(
        "fail",
        |message: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                message,
            ))
        },
    );
    let rng = Arc::new(Mutex::new(SplitMix(seed ^ 0x5EED)));
    let alphabet: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let r1 = rng.clone();
    env.add_function("random_password", move |len: Option<u32>| -> String {
        let mut g = r1.lock().expect("rng");
        (0..len.unwrap_or(24).clamp(8, 128))
            .map(|_| alphabet[(g.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    });
    let r2 = rng.clone();
    env.add_function("random_name", move |prefix: String| -> String {
        let mut g = r2.lock().expect("rng");
        format!("{prefix}{:08x}", g.next() as u32)
    });
    env
}

/// The variables a template sees: `resource`, `workload`, `env`, `state` and `workloads`.
fn template_context(req: &ProvisionRequest<'_>) -> minijinja::Value {
    let ctx = serde_json::json!({
        "resource": {
            "name": req.name,
            "type": req.resource.kind,
            "class": req.resource.class.clone().unwrap_or_else(|| "default".into()),
            "id": req.resource.id,
            "uid": req.uid,
            "requested": req.requested,
            "params": req.params,
            "metadata": req.resource.metadata.clone().unwrap_or(Value::Object(Map::new())),
        },
        "workload": {"name": req.workload},
        "env": {"name": req.env.name, "type": req.env.env_type, "target": req.env.target.as_str(), "namespace": req.env.namespace()},
        "state": req.state,
    });
    minijinja::context! { workloads => req.workloads.0.clone(), ..minijinja::Value::from(minijinja::value::Serde(&ctx)) }
}

/// Checks a provisioner's result and builds the provisioned resource.
fn interpret(
    def: &ResourceDefinition,
    obj: &Map<String, Value>,
    env: &Environment,
) -> Result<Provisioned, ProvisionError> {
    let oerr = |message: String| output_error(def, message);
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "outputs" | "secrets" | "state" | "compose" | "manifests"
        ) {
            return Err(oerr(format!(
                "unknown key \"{key}\"; expected outputs, secrets, state, compose, manifests"
            )));
        }
    }
    let map_of = |k: &str| -> Result<Map<String, Value>, ProvisionError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(oerr(format!("\"{k}\" must be a mapping"))),
        }
    };
    let compose = match obj.get("compose") {
        None | Some(Value::Null) => ComposeFragment::default(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| oerr(format!("compose: {e}")))?,
    };
    let manifests = match obj.get("manifests") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => crate::manifests::check_manifests(def, env, a.clone())
            .map_err(|e| oerr(e.to_string()))?,
        Some(_) => return Err(oerr("\"manifests\" must be a list".into())),
    };
    let outputs = map_of("outputs")?;
    let mut secrets: BTreeSet<String> = def
        .secrets
        .iter()
        .filter(|s| outputs.contains_key(*s))
        .cloned()
        .collect();
    // A template may also name secret outputs itself (when they depend on the request).
    match obj.get("secrets") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for s in a {
                let s = s
                    .as_str()
                    .ok_or_else(|| oerr("\"secrets\" must be a list of output names".into()))?;
                if !outputs.contains_key(s) {
                    return Err(oerr(format!(
                        "\"secrets\" names \"{s}\", which is not an output"
                    )));
                }
                secrets.insert(s.to_owned());
            }
        }
        Some(_) => return Err(oerr("\"secrets\" must be a list of output names".into())),
    }
    Ok(Provisioned {
        outputs,
        secrets,
        state: map_of("state")?,
        compose,
        manifests,
    })
}
