//! The built-in checks evaluated in Rust, over the facts document as it is (no conversion to
//! Rego values, no copy): the same outcome and message as their Rego text in
//! [`crate::builtin::expand`] (a test runs both on the same facts), at a fraction of the cost —
//! a scorecard made of built-ins only never starts the Rego engine.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::builtin;

/// A built-in check with its parameters, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub enum Native {
    /// A string at the path, not blank.
    Text(Vec<String>),
    /// A non-empty string annotation.
    Annotation(String),
    /// `true` at the path.
    True(Vec<String>),
    /// A non-empty array, object or string at the path.
    NonEmpty(Vec<String>),
    /// `repository.matches[key] == true`.
    Matches(String),
    /// Deployed to `env` no more than `secs` ago.
    DeployedRecently {
        env: String,
        secs: f64,
        days: u32,
    },
    /// `deployments[env].field == true`, or every deployment's (at least one) when no env.
    Deployment {
        env: Option<String>,
        field: String,
    },
    /// No open finding of these severities older than `secs`.
    OldFindings {
        severities: Vec<String>,
        secs: f64,
        days: u32,
    },
    GuardrailsPassing,
    /// `dora.deployment_frequency.bucket` is one of these.
    Frequency(Vec<String>),
}

fn path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_owned).collect()
}

#[derive(Deserialize)]
struct P {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    days: Option<u32>,
    #[serde(default)]
    severity: Option<Vec<String>>,
    #[serde(default)]
    at_least: Option<String>,
}

impl Native {
    /// The native form of a built-in check whose parameters [`builtin::expand`] accepted.
    pub fn of(name: &str, params: &Value) -> Option<Self> {
        builtin::expand(name, params).ok()?;
        let p: P = if params.is_null() {
            serde_json::from_value(Value::Object(Map::new())).ok()?
        } else {
            serde_json::from_value(params.clone()).ok()?
        };
        Some(match name {
            "has-owner" => Self::Text(path("entity.spec.owner")),
            "has-system" => Self::Text(path("entity.spec.system")),
            "has-description" => Self::Text(path("entity.metadata.description")),
            "has-annotation" => Self::Annotation(p.key?),
            "has-docs" => Self::True(path("docs.techdocs")),
            "has-slo" => Self::True(path("slos.declared")),
            "has-readme" | "has-codeowners" | "has-dockerfile" | "has-renovate" => {
                Self::True(path(&format!(
                    "repository.present.{}",
                    name.trim_start_matches("has-")
                )))
            }
            "has-ci-workflow" => Self::NonEmpty(path("repository.workflows")),
            "file-matches" => Self::Matches(builtin::probe_key(&p.path?, &p.pattern?)),
            "deployed-recently" => {
                let days = p.days.unwrap_or(30);
                Self::DeployedRecently {
                    env: p.environment.unwrap_or_else(|| "production".into()),
                    secs: f64::from(days) * 86_400.0,
                    days,
                }
            }
            "has-probes" | "has-resources" => Self::Deployment {
                env: p.environment,
                field: name.trim_start_matches("has-").to_owned(),
            },
            "no-old-findings" => {
                let days = p.days.unwrap_or(7);
                Self::OldFindings {
                    severities: p
                        .severity
                        .unwrap_or_else(|| vec!["critical".into()])
                        .iter()
                        .map(|s| s.to_ascii_lowercase())
                        .collect(),
                    secs: f64::from(days) * 86_400.0,
                    days,
                }
            }
            "guardrails-passing" => Self::GuardrailsPassing,
            "dora-deploy-frequency" => {
                let order = ["daily", "weekly", "monthly"];
                let at_least = p.at_least.unwrap_or_else(|| "weekly".into());
                let upto = order.iter().position(|o| *o == at_least)?;
                Self::Frequency(order[..=upto].iter().map(|s| (*s).to_owned()).collect())
            }
            _ => return None,
        })
    }

    /// Whether the facts pass, and what failed (the Rego text's `message`, when it has one).
    pub fn eval(&self, doc: &Map<String, Value>, now: i64) -> (bool, Option<String>) {
        let at = |p: &[String]| -> Option<&Value> {
            let (first, rest) = p.split_first()?;
            rest.iter().try_fold(doc.get(first)?, |v, k| v.get(k))
        };
        let is_true = |v: Option<&Value>| matches!(v, Some(Value::Bool(true)));
        let now = now as f64;
        match self {
            Self::Text(p) => (
                at(p)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty()),
                None,
            ),
            Self::Annotation(k) => {
                let v = doc
                    .get("entity")
                    .and_then(|e| e.get("metadata")?.get("annotations")?.get(k));
                (
                    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty()),
                    None,
                )
            }
            Self::True(p) => (is_true(at(p)), None),
            Self::NonEmpty(p) => (
                match at(p) {
                    Some(Value::Array(a)) => !a.is_empty(),
                    Some(Value::Object(o)) => !o.is_empty(),
                    Some(Value::String(s)) => !s.is_empty(),
                    _ => false,
                },
                None,
            ),
            Self::Matches(key) => (
                is_true(
                    doc.get("repository")
                        .and_then(|r| r.get("matches")?.get(key)),
                ),
                None,
            ),
            Self::DeployedRecently { env, secs, days } => {
                let at = doc
                    .get("deployments")
                    .and_then(|d| d.get(env)?.get("at")?.as_f64());
                (
                    at.is_some_and(|t| now - t <= *secs),
                    Some(format!("no deploy to {env} in the last {days} days")),
                )
            }
            Self::Deployment { env, field } => {
                let deployments = doc.get("deployments");
                let ok = match env {
                    Some(e) => is_true(deployments.and_then(|d| d.get(e)?.get(field))),
                    None => {
                        let all: Vec<&Value> = match deployments {
                            Some(Value::Object(o)) => o.values().collect(),
                            Some(Value::Array(a)) => a.iter().collect(),
                            _ => Vec::new(),
                        };
                        !all.is_empty() && all.iter().all(|d| is_true(d.get(field)))
                    }
                };
                (ok, None)
            }
            Self::OldFindings {
                severities,
                secs,
                days,
            } => {
                let open: Vec<&Value> = match doc.get("findings").and_then(|f| f.get("open")) {
                    None => Vec::new(),
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(Value::Object(o)) => o.values().collect(),
                    // Rego cannot iterate it either (an error of the entity there).
                    Some(_) => return (false, Some("findings.open is not a list".into())),
                };
                let mut old: Vec<String> = open
                    .into_iter()
                    .filter(|f| {
                        f.get("severity")
                            .and_then(Value::as_str)
                            .is_some_and(|s| severities.contains(&s.to_lowercase()))
                            && f.get("first_seen")
                                .and_then(Value::as_f64)
                                .is_some_and(|t| now - t > *secs)
                    })
                    .filter_map(|f| {
                        Some(format!(
                            "{}: {}",
                            text(f.get("tool")?),
                            text(f.get("rule")?)
                        ))
                    })
                    .collect();
                old.sort();
                old.dedup();
                if old.is_empty() {
                    (true, None)
                } else {
                    (
                        false,
                        Some(format!(
                            "open for more than {days} days: {}",
                            old.join(", ")
                        )),
                    )
                }
            }
            Self::GuardrailsPassing => {
                let g = doc.get("guardrails");
                (
                    is_true(g.and_then(|g| g.get("evaluated")))
                        && g.and_then(|g| g.get("failures")?.as_f64()) == Some(0.0),
                    None,
                )
            }
            Self::Frequency(allowed) => (
                doc.get("dora")
                    .and_then(|d| d.get("deployment_frequency")?.get("bucket")?.as_str())
                    .is_some_and(|b| allowed.iter().any(|a| a == b)),
                None,
            ),
        }
    }
}

/// A value as Rego's `sprintf("%s")` prints it: strings bare, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
