//! `kind: Platform` (environments) and `kind: ResourceDefinition` documents.

use std::collections::BTreeMap;

use include_dir::{Dir, include_dir};
use serde::{Deserialize, Serialize};
use socle_catalog::Limits;
use socle_catalog::yaml::{self, Node, Seg};

use crate::ConfigError;
use crate::grants::{GrantDoc, ResourceGrant, SharedResource, grant_from_doc};

pub const API_VERSION: &str = "socle.dev/v1alpha1";

/// Where an environment's workloads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Compose,
    Kubernetes,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Compose => "compose",
            Target::Kubernetes => "kubernetes",
        }
    }
}

/// The GitOps repository an environment's rendered files are committed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitOps {
    pub repository: String,
    #[serde(default = "main_branch")]
    pub branch: String,
    #[serde(default)]
    pub path: String,
}

fn main_branch() -> String {
    "main".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub name: String,
    /// `development`, `staging`, `production`, … (free text; used by matching and guardrails).
    #[serde(rename = "type")]
    pub env_type: String,
    pub target: Target,
    /// Kubernetes namespace (default: the environment's name).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub gitops: Option<GitOps>,
    /// Where the environment's SLIs are measured and how its deploys regard error budgets.
    #[serde(default)]
    pub slo: EnvironmentSlo,
}

impl Environment {
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(&self.name)
    }

    /// What a deploy of a service whose error budget is spent meets here: the configured gate,
    /// else a warning in `production` environments and nothing elsewhere.
    pub fn slo_gate(&self) -> SloGate {
        self.slo.gate.unwrap_or(if self.env_type == "production" {
            SloGate::Warn
        } else {
            SloGate::Off
        })
    }
}

/// How deploys regard a spent error budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloGate {
    /// Not checked.
    Off,
    /// The deploy goes through with a guardrail warning.
    Warn,
    /// The deploy is refused unless it is a rollback or a waiver of `slo-budget-exhausted` is in
    /// force.
    Deny,
}

/// An environment's SLO settings (`environments[].slo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSlo {
    /// The Prometheus HTTP API measuring this environment's SLIs (e.g.
    /// `http://prometheus.monitoring:9090`); without one, budgets come from counts pushed to
    /// Socle (`POST /api/v1/slo/events`).
    #[serde(default)]
    pub prometheus_url: Option<String>,
    /// Default: `warn` in `production` environments, `off` elsewhere.
    #[serde(default)]
    pub gate: Option<SloGate>,
}

/// When a definition applies. Every field given must match; an empty criteria list matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Criteria {
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub environment_type: Option<String>,
    #[serde(default)]
    pub app: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Provisioner {
    /// A minijinja template that renders YAML with `outputs`, `state`, `compose`, `manifests`.
    Template(String),
    /// An external program speaking JSON on stdin/stdout.
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
    },
}

/// A Kubernetes object type a definition may produce: `apiVersion` and `kind`, written
/// `<apiVersion>/<kind>` in `spec.manifestKinds` (`v1/Service`, `apps/v1/StatefulSet`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ManifestKind {
    pub api_version: String,
    pub kind: String,
}

impl ManifestKind {
    pub fn new(api_version: &str, kind: &str) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// Parses `<apiVersion>/<kind>`: the kind is the last segment (`apps/v1/StatefulSet`).
    pub fn parse(text: &str) -> Option<Self> {
        let (api_version, kind) = text.rsplit_once('/')?;
        let word = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        };
        (word(kind) && api_version.split('/').all(word) && api_version.split('/').count() <= 2)
            .then(|| Self::new(api_version, kind))
    }
}

impl std::fmt::Display for ManifestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version, self.kind)
    }
}

/// The kinds a definition produces when it declares none: the namespaced workload kinds the
/// shipped definitions use. Anything else (another group's objects, cluster-scoped kinds, RBAC)
/// must be declared in `spec.manifestKinds`.
pub const DEFAULT_MANIFEST_KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
];

fn default_manifest_kinds() -> Vec<ManifestKind> {
    DEFAULT_MANIFEST_KINDS
        .iter()
        .map(|(a, k)| ManifestKind::new(a, k))
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDefinition {
    /// `metadata.name`, unique.
    pub name: String,
    pub description: Option<String>,
    /// The resource type it provides (`postgres`, `redis`, …).
    pub kind: String,
    /// Only for resources of this class (none: resources of any class, as score-compose's
    /// provisioners; a definition for the resource's own class is preferred).
    pub class: Option<String>,
    /// Only for the resource with this `id` (shared resources).
    pub id: Option<String>,
    pub target: Target,
    pub criteria: Vec<Criteria>,
    /// Outputs that are secrets (never rendered in plaintext for Kubernetes).
    pub secrets: Vec<String>,
    pub provisioner: Provisioner,
    /// Outputs are expressions for the target to interpolate at run time (e.g. Compose's
    /// `${NAME}`), written out verbatim rather than escaped.
    pub raw_outputs: bool,
    /// The only Kubernetes objects its provisioner may return (`spec.manifestKinds`, default
    /// [`DEFAULT_MANIFEST_KINDS`]); every one of them lands in the environment's namespace.
    pub manifest_kinds: Vec<ManifestKind>,
    /// Namespaces besides the environment's that its manifests may name explicitly
    /// (`spec.manifestNamespaces`, e.g. the shared Kafka cluster's for Strimzi topics).
    pub manifest_namespaces: Vec<String>,
    /// Where it was defined (file:line), for messages.
    pub source: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformConfig {
    pub environments: BTreeMap<String, Environment>,
    pub definitions: Vec<ResourceDefinition>,
    /// `kind: ResourceGrant` documents: which other teams may use a team's shared resource
    /// (see [`crate::grants`]).
    #[serde(default)]
    pub grants: Vec<ResourceGrant>,
}

impl PlatformConfig {
    /// The grant that lets `team` (a full group reference) use the shared resource, if any.
    pub fn grant_for(&self, r: &SharedResource<'_>, team: &str) -> Option<&ResourceGrant> {
        self.grants.iter().find(|g| g.allows(r, team))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformDoc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(default, rename = "metadata")]
    _metadata: Option<serde_json::Value>,
    environments: Vec<Environment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionDoc {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    metadata: DefinitionMeta,
    spec: DefinitionSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionMeta {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionSpec {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    id: Option<String>,
    target: Target,
    #[serde(default)]
    criteria: Vec<Criteria>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    template: Option<String>,
    #[serde(default)]
    command: Option<CommandSpec>,
    #[serde(default, rename = "rawOutputs")]
    raw_outputs: bool,
    #[serde(default, rename = "manifestKinds")]
    manifest_kinds: Option<Vec<String>>,
    #[serde(default, rename = "manifestNamespaces")]
    manifest_namespaces: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandSpec {
    program: String,
    #[serde(default)]
    args: Vec<String>,
}

fn err(
    file: &str,
    node: Option<&Node>,
    path: &[Seg],
    rule: &str,
    message: impl Into<String>,
) -> ConfigError {
    let line = node.map(|n| n.locate(path).0).filter(|l| *l > 0);
    ConfigError {
        file: file.to_owned(),
        line,
        path: yaml::path_string(path),
        rule: rule.to_owned(),
        message: message.into(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(file: &str, node: &Node) -> Result<T, ConfigError> {
    node.decode()
        .map_err(|e| err(file, Some(node), &e.path, "config.schema", e.message))
}

/// `spec.manifestKinds` parsed (absent: the defaults).
fn manifest_kinds(
    file: &str,
    node: &Node,
    declared: Option<Vec<String>>,
) -> Result<Vec<ManifestKind>, ConfigError> {
    let Some(declared) = declared else {
        return Ok(default_manifest_kinds());
    };
    let mut out = Vec::with_capacity(declared.len());
    for (i, text) in declared.iter().enumerate() {
        let kind = ManifestKind::parse(text).ok_or_else(|| {
            let path = [
                Seg::Key("spec".into()),
                Seg::Key("manifestKinds".into()),
                Seg::Index(i),
            ];
            err(
                file,
                Some(node),
                &path,
                "definition.manifestKinds",
                format!(
                    "\"{text}\" is not <apiVersion>/<kind> (e.g. v1/Service, apps/v1/StatefulSet)"
                ),
            )
        })?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// Loads platform configuration from `(file name, text)` pairs. Documents are told apart by
/// `kind`; every problem is returned, located.
pub fn load_config(
    files: &[(String, String)],
    limits: &Limits,
) -> Result<PlatformConfig, Vec<ConfigError>> {
    let mut config = PlatformConfig::default();
    let mut errors = Vec::new();
    for (file, text) in files {
        let docs = match yaml::parse_documents(text, limits) {
            Ok(d) => d,
            Err(e) => {
                errors.push(ConfigError {
                    file: file.clone(),
                    line: e.line,
                    path: String::new(),
                    rule: "yaml".into(),
                    message: e.message,
                });
                continue;
            }
        };
        for node in &docs {
            load_document(&mut config, file, node, &mut errors);
        }
    }
    check_grant_environments(&config, &mut errors);
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Adds one document to `config` by its `kind`, or reports why it cannot.
fn load_document(
    config: &mut PlatformConfig,
    file: &str,
    node: &Node,
    errors: &mut Vec<ConfigError>,
) {
    let v = node.to_json();
    let api = v
        .get("apiVersion")
        .and_then(|x| x.as_str())
        .unwrap_or_default();
    if api != API_VERSION {
        errors.push(err(
            file,
            Some(node),
            &[Seg::Key("apiVersion".into())],
            "config.apiVersion",
            format!("expected apiVersion {API_VERSION}, found \"{api}\""),
        ));
        return;
    }
    match v.get("kind").and_then(|k| k.as_str()) {
        Some("Platform") => match typed::<PlatformDoc>(file, node) {
            Ok(p) => add_environments(config, file, node, p, errors),
            Err(e) => errors.push(e),
        },
        Some("ResourceDefinition") => {
            match typed::<DefinitionDoc>(file, node)
                .and_then(|d| definition_from_doc(config, file, node, d))
            {
                Ok(d) => config.definitions.push(d),
                Err(e) => errors.push(e),
            }
        }
        Some("ResourceGrant") => match grant(config, file, node) {
            Ok(g) => config.grants.push(g),
            Err(e) => errors.push(e),
        },
        other => errors.push(err(
            file,
            Some(node),
            &[Seg::Key("kind".into())],
            "config.kind",
            format!(
                "unknown kind {other:?}; expected Platform, ResourceDefinition or ResourceGrant"
            ),
        )),
    }
}

/// Adds a Platform document's environments: each named by a DNS label, and only once.
fn add_environments(
    config: &mut PlatformConfig,
    file: &str,
    node: &Node,
    p: PlatformDoc,
    errors: &mut Vec<ConfigError>,
) {
    for (i, env) in p.environments.into_iter().enumerate() {
        let path = [
            Seg::Key("environments".into()),
            Seg::Index(i),
            Seg::Key("name".into()),
        ];
        if !socle_catalog::rules::is_dns_label(&env.name) {
            errors.push(err(
                file,
                Some(node),
                &path,
                "environment.name",
                format!(
                    "environment name \"{}\" must be a DNS label (a-z, 0-9, -)",
                    env.name
                ),
            ));
        } else if config.environments.contains_key(&env.name) {
            errors.push(err(
                file,
                Some(node),
                &path,
                "environment.duplicate",
                format!("environment \"{}\" is defined twice", env.name),
            ));
        } else {
            config.environments.insert(env.name.clone(), env);
        }
    }
}

/// A resource definition from its document: exactly one provisioner, valid manifest kinds and
/// namespaces, a name not already defined.
fn definition_from_doc(
    config: &PlatformConfig,
    file: &str,
    node: &Node,
    d: DefinitionDoc,
) -> Result<ResourceDefinition, ConfigError> {
    let provisioner = match (d.spec.template, d.spec.command) {
        (Some(t), None) => Provisioner::Template(t),
        (None, Some(c)) => Provisioner::Command {
            program: c.program,
            args: c.args,
        },
        _ => {
            return Err(err(
                file,
                Some(node),
                &[Seg::Key("spec".into())],
                "definition.provisioner",
                "a resource definition needs exactly one of spec.template or spec.command",
            ));
        }
    };
    let manifest_kinds = manifest_kinds(file, node, d.spec.manifest_kinds)?;
    if let Some((i, ns)) = d
        .spec
        .manifest_namespaces
        .iter()
        .enumerate()
        .find(|(_, ns)| !socle_catalog::rules::is_dns_label(ns))
    {
        let path = [
            Seg::Key("spec".into()),
            Seg::Key("manifestNamespaces".into()),
            Seg::Index(i),
        ];
        return Err(err(
            file,
            Some(node),
            &path,
            "definition.manifestNamespaces",
            format!("namespace \"{ns}\" must be a DNS label (a-z, 0-9, -)"),
        ));
    }
    if config.definitions.iter().any(|x| x.name == d.metadata.name) {
        return Err(err(
            file,
            Some(node),
            &[Seg::Key("metadata".into()), Seg::Key("name".into())],
            "definition.duplicate",
            format!(
                "resource definition \"{}\" is defined twice",
                d.metadata.name
            ),
        ));
    }
    Ok(ResourceDefinition {
        name: d.metadata.name,
        description: d.metadata.description,
        kind: d.spec.kind,
        class: d.spec.class.filter(|c| c != "default"),
        id: d.spec.id,
        target: d.spec.target,
        criteria: d.spec.criteria,
        secrets: d.spec.secrets,
        provisioner,
        raw_outputs: d.spec.raw_outputs,
        manifest_kinds,
        manifest_namespaces: d.spec.manifest_namespaces,
        source: format!("{file}:{}", node.line.max(1)),
    })
}

/// A resource grant from its document, its name not already defined.
fn grant(config: &PlatformConfig, file: &str, node: &Node) -> Result<ResourceGrant, ConfigError> {
    let located =
        |path: &[Seg], rule: &str, message: String| err(file, Some(node), path, rule, message);
    let g = typed::<GrantDoc>(file, node).and_then(|d| grant_from_doc(file, node, d, located))?;
    if config.grants.iter().any(|x| x.name == g.name) {
        return Err(located(
            &[Seg::Key("metadata".into()), Seg::Key("name".into())],
            "grant.duplicate",
            format!("resource grant \"{}\" is defined twice", g.name),
        ));
    }
    Ok(g)
}

/// Every environment a grant names must be one this platform defines.
fn check_grant_environments(config: &PlatformConfig, errors: &mut Vec<ConfigError>) {
    for g in &config.grants {
        for e in g
            .environments
            .iter()
            .filter(|e| !config.environments.contains_key(*e))
        {
            let (file, line) = g.source.rsplit_once(':').unwrap_or((&g.source, ""));
            errors.push(ConfigError {
                file: file.to_owned(),
                line: line.parse().ok(),
                path: "spec.environments".into(),
                rule: "grant.environment".into(),
                message: format!("resource grant \"{}\" names environment \"{e}\", which this platform does not define", g.name),
            });
        }
    }
}

/// The configuration Socle ships: environments `local` (Compose), `dev`, `staging`, `prod`
/// (Kubernetes) and resource definitions for the common types on both targets.
pub static DEFAULTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/defaults");

fn collect(d: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for f in d.files() {
        if f.path().extension().is_some_and(|e| e == "yaml") {
            out.push((
                format!("defaults/{}", f.path().display()),
                f.contents_utf8().unwrap_or_default().to_owned(),
            ));
        }
    }
    for sub in d.dirs() {
        collect(sub, out);
    }
}

/// The files of the shipped default configuration.
pub fn default_files() -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(&DEFAULTS, &mut out);
    out.sort();
    out
}

/// The shipped default configuration, parsed.
pub fn default_config() -> PlatformConfig {
    load_config(&default_files(), &Limits::default())
        .unwrap_or_else(|e| panic!("the shipped platform configuration is invalid: {e:?}"))
}
