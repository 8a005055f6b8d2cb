//! Guardrails as code: Rego v1 policies evaluated in-process with regorus, with conftest's
//! conventions — rules named `deny`, `warn` or `violation` (optionally `deny_<suffix>`) in package
//! `main`; a rule yields strings or objects (`msg`, and for the built-in pack `id`, `path`,
//! `object`). Pure: policies, data and documents are handed in.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use include_dir::{Dir, include_dir};
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

fn severity_of(rule: &str) -> Option<Severity> {
    let base = rule.split('_').next().unwrap_or(rule);
    match base {
        "deny" | "violation" => Some(Severity::Deny),
        "warn" => Some(Severity::Warn),
        _ => None,
    }
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

    /// Loads policies (`*.rego`) and data (`*.json`, `*.yaml`; `rules.json` is rule metadata).
    pub fn load(files: &[(String, String)], package: &str) -> Result<Self, PolicyError> {
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(false);
        engine.set_strict_builtin_errors(false);
        let mut meta = BTreeMap::new();
        let mut set_files = Vec::new();
        for (name, text) in files {
            if name.ends_with(".rego") {
                engine.add_policy(name.clone(), text.clone()).map_err(|e| {
                    PolicyError::Compile {
                        file: name.clone(),
                        message: e.to_string(),
                    }
                })?;
            } else if name.ends_with("rules.json") {
                meta = serde_json::from_str(text).map_err(|e| PolicyError::Data {
                    file: name.clone(),
                    message: e.to_string(),
                })?;
            } else if name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml") {
                set_files.push((name.clone(), text.clone()));
            }
        }
        let mut set = Self {
            engine,
            package: package.to_owned(),
            rules: Vec::new(),
            meta,
            timeout: Duration::from_secs(2),
        };
        for (name, text) in set_files {
            let value: Value = if name.ends_with(".json") {
                serde_json::from_str(&text).map_err(|e| PolicyError::Data {
                    file: name.clone(),
                    message: e.to_string(),
                })?
            } else {
                let docs =
                    socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default())
                        .map_err(|e| PolicyError::Data {
                            file: name.clone(),
                            message: format!("{} (line {:?})", e.message, e.line),
                        })?;
                docs.first().map(|d| d.to_json()).unwrap_or(Value::Null)
            };
            set.add_data(&name, &value)?;
        }
        // The package's deny/warn/violation rules: the keys of `data.<package>` once evaluated
        // with an empty input (rules that are undefined then still need to be found, so the
        // declared names are read from the sources too).
        let mut rules: Vec<String> = Vec::new();
        for (_, text) in files.iter().filter(|(n, _)| n.ends_with(".rego")) {
            if declared_package(text).as_deref() == Some(package) {
                rules.extend(
                    declared_rules(text)
                        .into_iter()
                        .filter(|r| severity_of(r).is_some()),
                );
            }
        }
        rules.sort();
        rules.dedup();
        set.rules = rules;
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

    /// Evaluates every rule against one input document.
    pub fn eval(
        &self,
        input: &Value,
        file: &str,
        document: usize,
    ) -> Result<Vec<Finding>, PolicyError> {
        let mut engine = self.engine.clone();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: self.timeout,
            check_interval: NonZeroU32::new(1).expect("non-zero"),
        });
        let input_value = regorus::Value::from_json_str(&input.to_string())
            .map_err(|e| PolicyError::Input(format!("{file}: {e}")))?;
        engine.set_input(input_value);
        let object = match (
            input.get("kind").and_then(Value::as_str),
            input.pointer("/metadata/name").and_then(Value::as_str),
        ) {
            (Some(k), Some(n)) => Some(format!("{k}/{n}")),
            _ => None,
        };
        let mut out = Vec::new();
        for rule in &self.rules {
            let severity = severity_of(rule).expect("filtered");
            let value = engine
                .eval_rule(format!("data.{}.{rule}", self.package))
                .map_err(|e| PolicyError::Eval {
                    rule: rule.clone(),
                    file: file.to_owned(),
                    message: e.to_string(),
                })?;
            let json: Value =
                serde_json::from_str(&value.to_json_str().unwrap_or_else(|_| "null".into()))
                    .unwrap_or(Value::Null);
            let items: Vec<Value> = match json {
                Value::Array(a) => a,
                Value::Null => Vec::new(),
                Value::Bool(true) => vec![Value::String(format!("{rule} is true"))],
                Value::Bool(false) => Vec::new(),
                Value::String(s) => vec![Value::String(s)],
                other => vec![other],
            };
            for item in items {
                let (id, message, path, obj) = match &item {
                    Value::String(s) => (rule.clone(), s.clone(), None, object.clone()),
                    Value::Object(o) => (
                        o.get("id")
                            .and_then(Value::as_str)
                            .map_or_else(|| rule.clone(), str::to_owned),
                        o.get("msg")
                            .and_then(Value::as_str)
                            .map_or_else(|| item.to_string(), str::to_owned),
                        o.get("path").and_then(Value::as_str).map(str::to_owned),
                        o.get("object")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .or_else(|| object.clone()),
                    ),
                    other => (rule.clone(), other.to_string(), None, object.clone()),
                };
                let checkov = self
                    .meta
                    .get(&id)
                    .map(|m| m.checkov.clone())
                    .unwrap_or_default();
                out.push(Finding {
                    file: file.to_owned(),
                    document,
                    rule: id,
                    severity,
                    message,
                    object: obj,
                    path,
                    checkov,
                });
            }
        }
        out.sort_by(|a, b| {
            (a.severity, &a.rule, &a.path, &a.message)
                .cmp(&(b.severity, &b.rule, &b.path, &b.message))
        });
        Ok(out)
    }

    /// Runs every `test_*` rule of every package (like `conftest verify`): `(name, passed)`.
    pub fn run_tests(
        &self,
        files: &[(String, String)],
    ) -> Result<Vec<(String, bool)>, PolicyError> {
        let mut tests = Vec::new();
        for (_, text) in files.iter().filter(|(n, _)| n.ends_with(".rego")) {
            if let Some(package) = declared_package(text) {
                tests.extend(
                    declared_rules(text)
                        .into_iter()
                        .filter(|r| r.starts_with("test_"))
                        .map(|r| (package.clone(), r)),
                );
            }
        }
        tests.sort();
        tests.dedup();
        let mut out = Vec::new();
        for (package, name) in tests {
            let mut engine = self.engine.clone();
            engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
                limit: self.timeout,
                check_interval: NonZeroU32::new(1).expect("non-zero"),
            });
            let passed = matches!(engine.eval_rule(format!("data.{package}.{name}")), Ok(v) if v == regorus::Value::from(true));
            out.push((format!("data.{package}.{name}"), passed));
        }
        Ok(out)
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
