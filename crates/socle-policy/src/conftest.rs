//! conftest's results: per input, the count of rule bodies that passed and the failures,
//! warnings and exceptions (`conftest test`), the combined input (`--combine`), and the
//! policies' own tests (`conftest verify`).

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{PolicyError, PolicySet, Severity, declared_package, declared_rules, engine_message};

/// One result message, as conftest's JSON output has it: `msg` and the rule's other fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub msg: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// conftest's `CheckResult`: one input (a document, or the combined input) in one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub filename: String,
    pub namespace: String,
    pub successes: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Message>,
}

impl CheckResult {
    /// Every rule body counted: successes, warnings, failures and exceptions.
    pub fn tests(&self) -> usize {
        self.successes + self.warnings.len() + self.failures.len() + self.exceptions.len()
    }
}

/// One `test_*` rule's outcome; `error` says why it could not be evaluated (e.g.
/// `unknown function http.send`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub name: String,
    pub passed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PolicySet {
    /// Checks one input like `conftest test`: each deny/warn/violation rule's messages are
    /// failures or warnings; a rule an `exception` names (by its suffix: `exception contains
    /// ["run_as_root"]` exempts `deny_run_as_root`) counts as exceptions instead; every rule body
    /// that produced nothing (including an undefined complete rule) is a success.
    pub fn check(&self, input: &Value, filename: &str) -> Result<CheckResult, PolicyError> {
        let object = crate::object_name(input);
        let mut out = CheckResult {
            filename: filename.to_owned(),
            namespace: self.package.clone(),
            ..CheckResult::default()
        };
        let mut bodies = 0;
        for result in self.evaluate(input, filename)? {
            bodies += result.bodies;
            if !result.exceptions.is_empty() {
                out.exceptions
                    .extend(result.exceptions.iter().map(|q| Message {
                        msg: q.clone(),
                        metadata: Map::new(),
                    }));
                continue;
            }
            for item in &result.items {
                let f = self.finding(&result, item, filename, 0, object.as_ref());
                let mut metadata = match item {
                    Value::Object(o) => o.clone(),
                    _ => Map::new(),
                };
                metadata.remove("msg");
                metadata.insert(
                    "query".into(),
                    format!("data.{}.{}", self.package, result.rule).into(),
                );
                metadata.insert("rule".into(), f.rule.into());
                if let Some(o) = f.object {
                    metadata.entry("object").or_insert(o.into());
                }
                if !f.checkov.is_empty() {
                    metadata.insert("checkov".into(), f.checkov.into());
                }
                let message = Message {
                    msg: f.message,
                    metadata,
                };
                match result.severity {
                    Severity::Deny => out.failures.push(message),
                    Severity::Warn => out.warnings.push(message),
                }
            }
        }
        out.successes =
            bodies.saturating_sub(out.failures.len() + out.warnings.len() + out.exceptions.len());
        Ok(out)
    }

    /// Checks all inputs as one, like `conftest test --combine`: the input is an array of
    /// `{path, contents}` (a file of several documents gives one entry per document), sorted by
    /// path; the result is named `Combined`.
    pub fn check_combined(&self, inputs: &[(String, Value)]) -> Result<CheckResult, PolicyError> {
        self.check(&combine(inputs), "Combined")
    }

    /// Runs every `test_*` rule of every package (like `conftest verify`): `(name, passed)`.
    pub fn run_tests(
        &self,
        files: &[(String, String)],
    ) -> Result<Vec<(String, bool)>, PolicyError> {
        Ok(self
            .verify(files)?
            .into_iter()
            .map(|t| (t.name, t.passed))
            .collect())
    }

    /// Runs every `test_*` rule of every package in `files`, saying why a test that could not
    /// be evaluated failed.
    pub fn verify(&self, files: &[(String, String)]) -> Result<Vec<TestOutcome>, PolicyError> {
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
            let name = format!("data.{package}.{name}");
            let (passed, error) = match engine.eval_rule(name.clone()) {
                Ok(v) => (v == regorus::Value::from(true), None),
                Err(e) => (false, Some(engine_message(&e))),
            };
            out.push(TestOutcome {
                name,
                passed,
                error,
            });
        }
        Ok(out)
    }
}

/// conftest's combined input: `[{path, contents}]`, sorted by path (stable within a file).
pub(crate) fn combine(inputs: &[(String, Value)]) -> Value {
    let mut entries: Vec<&(String, Value)> = inputs.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Array(
        entries
            .into_iter()
            .map(|(path, contents)| serde_json::json!({"path": path, "contents": contents}))
            .collect(),
    )
}
