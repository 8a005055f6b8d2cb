//! Scanner findings from SARIF 2.1.0 (Checkov, Semgrep, Bandit, Trivy, CodeQL, …): each result
//! becomes a [`Finding`] with its tool, rule, severity, message, location and a key that says
//! whether the next import reports the same finding.
//!
//! Severity: the result's or its rule's `security-severity` property (GitHub code scanning's
//! CVSS convention: ≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low), else the SARIF `level`
//! (the result's, else its rule's `defaultConfiguration`): `error` high, `warning` medium,
//! `note` low, `none` info.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most results one import takes, and the longest text kept of a field.
pub const MAX_FINDINGS: usize = 10_000;
pub const MAX_FIELD: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Self::Info,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    fn from_score(score: f64) -> Self {
        if score >= 9.0 {
            Self::Critical
        } else if score >= 7.0 {
            Self::High
        } else if score >= 4.0 {
            Self::Medium
        } else if score > 0.0 {
            Self::Low
        } else {
            Self::Info
        }
    }

    fn from_level(level: &str) -> Self {
        match level {
            "error" => Self::High,
            "warning" => Self::Medium,
            "note" => Self::Low,
            _ => Self::Info,
        }
    }
}

/// One finding of one import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub tool: String,
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// `path` or `path:line`, empty when the result names no location.
    pub location: String,
    /// What identifies it from one import to the next: a partial fingerprint when the tool
    /// gives one, else rule, location and message.
    pub key: String,
}

/// Why a SARIF document was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SarifError {
    #[error("not a SARIF document: {0}")]
    Invalid(String),
    #[error("SARIF version {0:?} is not supported: expected 2.1.0")]
    Version(String),
    #[error("the document has more than {MAX_FINDINGS} results")]
    TooMany,
}

#[derive(Deserialize)]
struct Log {
    version: String,
    #[serde(default)]
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    tool: Tool,
    #[serde(default)]
    results: Vec<SarifResult>,
}

#[derive(Deserialize)]
struct Tool {
    driver: Driver,
}

#[derive(Deserialize)]
struct Driver {
    name: String,
    #[serde(default)]
    rules: Vec<RuleDescriptor>,
}

#[derive(Deserialize)]
struct RuleDescriptor {
    id: String,
    #[serde(default, rename = "defaultConfiguration")]
    default_configuration: Option<Configuration>,
    #[serde(default)]
    properties: Option<Properties>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    level: Option<String>,
}

#[derive(Default, Deserialize)]
struct Properties {
    #[serde(default, rename = "security-severity")]
    security_severity: Option<serde_json::Value>,
}

impl Properties {
    fn score(&self) -> Option<f64> {
        match self.security_severity.as_ref()? {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct SarifResult {
    #[serde(default, rename = "ruleId")]
    rule_id: Option<String>,
    #[serde(default, rename = "ruleIndex")]
    rule_index: Option<usize>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    message: Message,
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default, rename = "partialFingerprints")]
    partial_fingerprints: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    properties: Option<Properties>,
}

#[derive(Default, Deserialize)]
struct Message {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(default, rename = "physicalLocation")]
    physical: Option<Physical>,
}

#[derive(Deserialize)]
struct Physical {
    #[serde(default, rename = "artifactLocation")]
    artifact: Option<Artifact>,
    #[serde(default)]
    region: Option<Region>,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    uri: Option<String>,
}

#[derive(Deserialize)]
struct Region {
    #[serde(default, rename = "startLine")]
    start_line: Option<u64>,
}

fn cut(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_FIELD).collect();
    out.retain(|c| !c.is_control() || c == '\n');
    out
}

/// What one SARIF log reports: the tools that ran (a tool with no result still ran: its
/// earlier findings are fixed) and their findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub tools: Vec<String>,
    pub findings: Vec<Finding>,
}

/// Reads a SARIF 2.1.0 log into findings (every run, every result), deduplicated by tool and
/// key. Results without a rule id are named `unknown`.
pub fn parse(text: &str) -> Result<Report, SarifError> {
    let log: Log = serde_json::from_str(text).map_err(|e| SarifError::Invalid(e.to_string()))?;
    if log.version != "2.1.0" {
        return Err(SarifError::Version(cut(&log.version)));
    }
    let total: usize = log.runs.iter().map(|r| r.results.len()).sum();
    if total > MAX_FINDINGS {
        return Err(SarifError::TooMany);
    }
    let mut out: BTreeMap<(String, String), Finding> = BTreeMap::new();
    let mut tools: Vec<String> = log.runs.iter().map(|r| cut(&r.tool.driver.name)).collect();
    tools.sort();
    tools.dedup();
    for run in &log.runs {
        let rules: BTreeMap<&str, &RuleDescriptor> = run
            .tool
            .driver
            .rules
            .iter()
            .map(|r| (r.id.as_str(), r))
            .collect();
        for r in &run.results {
            let descriptor = r
                .rule_index
                .and_then(|i| run.tool.driver.rules.get(i))
                .filter(|d| r.rule_id.as_deref().is_none_or(|id| id == d.id))
                .or_else(|| r.rule_id.as_deref().and_then(|id| rules.get(id).copied()));
            let rule = r
                .rule_id
                .clone()
                .or_else(|| descriptor.map(|d| d.id.clone()))
                .unwrap_or_else(|| "unknown".into());
            let score = r
                .properties
                .as_ref()
                .and_then(Properties::score)
                .or_else(|| descriptor.and_then(|d| d.properties.as_ref()?.score()));
            let level = r.level.clone().or_else(|| {
                descriptor.and_then(|d| d.default_configuration.as_ref()?.level.clone())
            });
            let severity = match score {
                Some(s) => Severity::from_score(s),
                None => Severity::from_level(level.as_deref().unwrap_or("warning")),
            };
            let location = r
                .locations
                .iter()
                .find_map(|l| {
                    let p = l.physical.as_ref()?;
                    let uri = p.artifact.as_ref()?.uri.clone()?;
                    Some(match p.region.as_ref().and_then(|g| g.start_line) {
                        Some(line) => format!("{uri}:{line}"),
                        None => uri,
                    })
                })
                .unwrap_or_default();
            let message = r.message.text.clone().unwrap_or_default();
            let key = r
                .partial_fingerprints
                .iter()
                .next()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .unwrap_or_else(|| format!("{rule}|{location}|{message}"));
            let f = Finding {
                tool: cut(&run.tool.driver.name),
                rule: cut(&rule),
                severity,
                message: cut(&message),
                location: cut(&location),
                key: cut(&key),
            };
            out.entry((f.tool.clone(), f.key.clone())).or_insert(f);
        }
    }
    Ok(Report {
        tools,
        findings: out.into_values().collect(),
    })
}
