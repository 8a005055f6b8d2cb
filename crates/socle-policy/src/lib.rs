//! Guardrails as code: Rego v1 policies evaluated in-process with regorus, with conftest's
//! conventions — rules named `deny`, `warn` or `violation` (optionally `deny_<suffix>`) in package
//! `main`; a rule yields strings or objects (`msg`, and for the built-in pack `id`, `path`,
//! `object`). Pure: policies, data and documents are handed in.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use include_dir::{Dir, include_dir};

mod conftest;
mod parse;
pub mod report;

pub use conftest::{CheckResult, Message, TestOutcome};
pub use parse::{ConfigReader, NoFiles};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The built-in pack (Rego sources, their tests and rule metadata), embedded.
pub static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/policies");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `deny` / `violation`: blocks a deploy.
    Deny,
    /// `warn`: reported and recorded, does not block.
    Warn,
}

/// One failed rule on one object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub file: String,
    /// Index of the document in the file.
    pub document: usize,
    /// The rule id (built-in pack) or the Rego rule name (`deny_latest_tag`).
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// `Kind/name` of the object, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Field path inside the object, when the rule gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The container's name, for a rule about one container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Checkov check ids this rule corresponds to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checkov: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy does not parse or compile; the message carries file and line.
    #[error("policy {file}: {message}")]
    Compile { file: String, message: String },
    #[error("data file {file}: {message}")]
    Data { file: String, message: String },
    /// A rule failed at evaluation (including the time limit).
    #[error("evaluating {rule} on {file}: {message}")]
    Eval {
        rule: String,
        file: String,
        message: String,
    },
    #[error("{0}")]
    Input(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
struct RuleMeta {
    #[serde(default)]
    checkov: Vec<String>,
}

/// A loaded set of policies and data.
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    package: String,
    /// Rule names in the package that are deny/warn/violation rules.
    rules: Vec<String>,
    /// How many bodies define each of those rules (conftest counts one test per body).
    rule_bodies: BTreeMap<String, usize>,
    /// Whether the package declares `exception` rules.
    has_exceptions: bool,
    meta: BTreeMap<String, RuleMeta>,
    timeout: Duration,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("package", &self.package)
            .field("rules", &self.rules)
            .finish()
    }
}

/// conftest's rule names: `^(deny|violation)(_[a-zA-Z0-9]+)*$` and `^warn(_[a-zA-Z0-9]+)*$`.
fn severity_of(rule: &str) -> Option<Severity> {
    let mut parts = rule.split('_');
    let severity = match parts.next()? {
        "deny" | "violation" => Severity::Deny,
        "warn" => Severity::Warn,
        _ => return None,
    };
    parts
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(severity)
}

/// The name an `exception` rule lists to exempt `rule`: `deny_run_as_root` → `run_as_root`,
/// `deny` → `` (conftest's `removeRulePrefix`).
fn exception_name(rule: &str) -> &str {
    if matches!(rule, "deny" | "violation" | "warn") {
        return "";
    }
    ["violation_", "deny_", "warn_"]
        .iter()
        .find_map(|p| rule.strip_prefix(p))
        .unwrap_or(rule)
}

/// regorus names a builtin it lacks "could not find function X"; say it as conftest's users
/// expect to read it.
fn engine_message(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .replace("could not find function", "unknown function")
}

/// The built-in pack's files as `(name, text)`, as [`PolicySet::load`] and
/// [`PolicySet::run_tests`] take them.
pub fn builtin_files() -> Vec<(String, String)> {
    BUILTIN
        .files()
        .map(|f| {
            (
                format!("builtin/{}", f.path().display()),
                f.contents_utf8().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

impl PolicySet {
    /// The built-in pack, with optional extra data (e.g. `{"socle": {"allowed_registries": […]}}`).
    pub fn builtin(data: Option<Value>) -> Result<Self, PolicyError> {
        let files = builtin_files();
        let mut set = Self::load(&files, "main")?;
        if let Some(d) = data {
            set.add_data("socle-config", &d)?;
        }
        Ok(set)
    }

    /// Loads policies (`*.rego`) and data (`*.json`, `*.yaml`; `rules.json` is rule metadata),
    /// told apart by their names — for a platform directory that keeps both.
    pub fn load(files: &[(String, String)], package: &str) -> Result<Self, PolicyError> {
        let (policies, data): (Vec<_>, Vec<_>) = files
            .iter()
            .filter(|(n, _)| n.ends_with(".rego") || is_data_name(n))
            .cloned()
            .partition(|(n, _)| n.ends_with(".rego") || n.ends_with("rules.json"));
        Self::load_parts(&policies, &data, package, std::sync::Arc::new(NoFiles))
    }

    /// Loads `policies` (`*.rego`, and `rules.json` rule metadata) and, as `data`, exactly the
    /// `data` files (JSON or YAML, merged at the root) — like conftest's `--policy` and
    /// `--data`. `reader` serves `parse_config_file` and `parse_combined_config_files`.
    pub fn load_parts(
        policies: &[(String, String)],
        data: &[(String, String)],
        package: &str,
        reader: std::sync::Arc<dyn ConfigReader>,
    ) -> Result<Self, PolicyError> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        engine.set_strict_builtin_errors(false);
        parse::register(&mut engine, reader)?;
        let mut meta = BTreeMap::new();
        for (name, text) in policies {
            if name.ends_with(".rego") {
                engine.add_policy(name.clone(), text.clone()).map_err(|e| {
                    PolicyError::Compile {
                        file: name.clone(),
                        message: engine_message(&e),
                    }
                })?;
            } else if name.ends_with("rules.json") {
                meta = serde_json::from_str(text).map_err(|e| PolicyError::Data {
                    file: name.clone(),
                    message: e.to_string(),
                })?;
            }
        }
        let mut set = Self {
            engine,
            package: package.to_owned(),
            rules: Vec::new(),
            rule_bodies: BTreeMap::new(),
            has_exceptions: false,
            meta,
            timeout: Duration::from_secs(2),
        };
        for (name, text) in data {
            let value = parse::data_value(name, text)?;
            set.add_data(name, &value)?;
        }
        // The package's deny/warn/violation rules, read from the sources: rules that are
        // undefined for an empty input must be found too, and conftest counts every body.
        for (_, text) in policies.iter().filter(|(n, _)| n.ends_with(".rego")) {
            if declared_package(text).as_deref() == Some(package) {
                for rule in declared_rules(text) {
                    if severity_of(&rule).is_some() {
                        *set.rule_bodies.entry(rule).or_default() += 1;
                    } else if rule == "exception" {
                        set.has_exceptions = true;
                    }
                }
            }
        }
        set.rules = set.rule_bodies.keys().cloned().collect();
        Ok(set)
    }

    /// A copy of this set with `value` merged into its data at the root (`name` names it in
    /// errors): how a deploy hands its context (`data.socle.deploy`) to the policies.
    pub fn with_data(&self, name: &str, value: &Value) -> Result<Self, PolicyError> {
        let mut set = self.clone();
        set.add_data(name, value)?;
        Ok(set)
    }

    fn add_data(&mut self, name: &str, value: &Value) -> Result<(), PolicyError> {
        let v =
            regorus::Value::from_json_str(&value.to_string()).map_err(|e| PolicyError::Data {
                file: name.to_owned(),
                message: e.to_string(),
            })?;
        self.engine.add_data(v).map_err(|e| PolicyError::Data {
            file: name.to_owned(),
            message: e.to_string(),
        })
    }

    /// The ids of the rules the metadata (`rules.json`) describes: what waivers name.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.meta.keys().map(String::as_str)
    }

    /// The deny/warn/violation rules found.
    pub fn rules(&self) -> &[String] {
        &self.rules
    }

    /// Sets the evaluation time limit per document (default 2 s).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// An engine for one evaluation: the time limit armed, `input` set.
    fn engine_for(&self, input: &Value, file: &str) -> Result<regorus::Engine, PolicyError> {
        let mut engine = self.engine.clone();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: self.timeout,
            check_interval: NonZeroU32::new(1).expect("non-zero"),
        });
        let input_value = regorus::Value::from_json_str(&input.to_string())
            .map_err(|e| PolicyError::Input(format!("{file}: {e}")))?;
        engine.set_input(input_value);
        Ok(engine)
    }

    /// Evaluates every rule, and the exceptions that apply to it, against one input.
    fn evaluate(&self, input: &Value, file: &str) -> Result<Vec<RuleResult>, PolicyError> {
        let mut engine = self.engine_for(input, file)?;
        let eval_error = |rule: &str, e: &dyn std::fmt::Display| PolicyError::Eval {
            rule: rule.to_owned(),
            file: file.to_owned(),
            message: engine_message(&e),
        };
        let mut out = Vec::new();
        for rule in &self.rules {
            let exceptions = if self.has_exceptions {
                let query = exception_query(&self.package, rule);
                let r = engine
                    .eval_query(query.clone(), false)
                    .map_err(|e| eval_error(rule, &e))?;
                vec![query; r.result.len()]
            } else {
                Vec::new()
            };
            let value = engine
                .eval_rule(format!("data.{}.{rule}", self.package))
                .map_err(|e| eval_error(rule, &e))?;
            out.push(RuleResult {
                rule: rule.clone(),
                severity: severity_of(rule).expect("filtered"),
                bodies: self.rule_bodies.get(rule).copied().unwrap_or(1),
                items: rule_items(&value),
                exceptions,
            });
        }
        Ok(out)
    }

    /// Evaluates every rule against one input document. A rule an `exception` exempts for
    /// this input yields nothing here ([`PolicySet::check`] counts it as an exception).
    pub fn eval(
        &self,
        input: &Value,
        file: &str,
        document: usize,
    ) -> Result<Vec<Finding>, PolicyError> {
        let object = object_name(input);
        let mut out = Vec::new();
        for result in self.evaluate(input, file)? {
            if !result.exceptions.is_empty() {
                continue;
            }
            for item in &result.items {
                out.push(self.finding(&result, item, file, document, object.as_ref()));
            }
        }
        out.sort_by(|a, b| {
            (a.severity, &a.rule, &a.path, &a.message)
                .cmp(&(b.severity, &b.rule, &b.path, &b.message))
        });
        Ok(out)
    }

    fn finding(
        &self,
        result: &RuleResult,
        item: &Value,
        file: &str,
        document: usize,
        object: Option<&String>,
    ) -> Finding {
        let rule = &result.rule;
        let text = |o: &serde_json::Map<String, Value>, key: &str| {
            o.get(key).and_then(Value::as_str).map(str::to_owned)
        };
        let (id, message, path, obj, container) = match item {
            Value::Object(o) => (
                text(o, "id").unwrap_or_else(|| rule.clone()),
                text(o, "msg").unwrap_or_else(|| item.to_string()),
                text(o, "path"),
                text(o, "object").or_else(|| object.cloned()),
                text(o, "container"),
            ),
            Value::String(s) => (rule.clone(), s.clone(), None, object.cloned(), None),
            other => (rule.clone(), other.to_string(), None, object.cloned(), None),
        };
        let checkov = self
            .meta
            .get(&id)
            .map(|m| m.checkov.clone())
            .unwrap_or_default();
        Finding {
            file: file.to_owned(),
            document,
            rule: id,
            severity: result.severity,
            message,
            object: obj,
            path,
            container,
            checkov,
        }
    }
}

/// The `package` a Rego source declares.
fn declared_package(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("package "))
        .map(|p| p.trim().to_owned())
}

/// Names of rules defined at the start of a line (`deny_x contains … if {`, `test_y if {`):
/// enough to discover conftest-style rule and test names; the Rego itself is parsed by regorus.
fn declared_rules(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty() && !matches!(name.as_str(), "package" | "import" | "default"))
                .then_some(name)
        })
        .collect()
}

fn is_data_name(name: &str) -> bool {
    [".json", ".yaml", ".yml"].iter().any(|e| name.ends_with(e))
}

/// `Kind/name` of a Kubernetes-like object.
fn object_name(input: &Value) -> Option<String> {
    match (
        input.get("kind").and_then(Value::as_str),
        input.pointer("/metadata/name").and_then(Value::as_str),
    ) {
        (Some(k), Some(n)) => Some(format!("{k}/{n}")),
        _ => None,
    }
}

/// conftest's exception query for `rule`.
fn exception_query(package: &str, rule: &str) -> String {
    format!(
        "data.{package}.exception[_][_] == {}",
        Value::String(exception_name(rule).to_owned())
    )
}

/// What one deny/warn/violation rule gave for one input.
struct RuleResult {
    rule: String,
    severity: Severity,
    /// How many bodies define the rule.
    bodies: usize,
    /// Its messages: strings, or objects with `msg`.
    items: Vec<Value>,
    /// The exception queries that matched (then `items` do not count).
    exceptions: Vec<String>,
}

/// The results of a rule's value, as conftest reads them: a set or array of strings or objects;
/// an undefined rule (a complete rule whose body does not hold), `false`, or any other value
/// yields none.
fn rule_items(value: &regorus::Value) -> Vec<Value> {
    let items: Vec<&regorus::Value> = match value {
        regorus::Value::Set(s) => s.iter().collect(),
        regorus::Value::Array(a) => a.iter().collect(),
        _ => return Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|v| match v {
            regorus::Value::String(s) => Some(Value::String(s.to_string())),
            regorus::Value::Object(_) => v
                .to_json_str()
                .ok()
                .and_then(|j| serde_json::from_str(&j).ok()),
            _ => None,
        })
        .collect()
}
