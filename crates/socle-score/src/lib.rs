//! Score workloads (`score.dev/v1b1`): parsing with positions, validation against the official
//! JSON Schema, the typed model, placeholders (`${metadata.x}`, `${resources.r.out}`, `$$`), and
//! the graph of resources that refer to each other.
//!
//! Pure: works on loaded text; reading files, resolving resources and rendering are elsewhere.

pub mod graph;
pub mod model;
pub mod placeholder;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use socle_catalog::Limits;
use socle_catalog::yaml::{self, Node, Seg, path_string};

pub use graph::{CycleError, ResourceGraph, resource_graph};
pub use model::{
    Container, ContainerFile, ContainerVolume, ModelError, Resource, ServicePort, Workload,
};
pub use placeholder::{PlaceholderError, Reference, references, substitute};

/// The API version this crate reads.
pub const API_VERSION: &str = "score.dev/v1b1";

static SCHEMA_TEXT: &str = include_str!("../schema/score-v1b1.json");

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA_TEXT).expect("embedded Score schema is JSON");
        jsonschema::validator_for(&schema).expect("embedded Score schema compiles")
    })
}

/// A problem in a Score file, located and explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Field path, e.g. `containers.web.variables.DB_HOST`.
    pub path: String,
    /// Stable rule id, e.g. `schema`, `placeholder.unknown-resource`, `resources.cycle`.
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.message, self.rule)
    }
}

pub(crate) struct Locator<'a> {
    pub file: &'a str,
    pub node: Option<&'a Node>,
}

impl Locator<'_> {
    pub fn error(&self, path: &[Seg], rule: &str, message: impl Into<String>) -> ScoreError {
        let (line, column) = self.node.map(|n| n.locate(path)).unwrap_or((0, 0));
        ScoreError {
            file: self.file.to_owned(),
            line: Some(line).filter(|l| *l > 0),
            column: Some(column).filter(|c| *c > 0),
            path: path_string(path),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

/// Parses and validates one Score file (one workload). Every problem found is returned.
pub fn parse_workload(
    text: &str,
    file: &str,
    limits: &Limits,
) -> Result<Workload, Vec<ScoreError>> {
    parse_workload_with_overrides(text, file, limits, &[])
}

/// Why a property override is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("\"{text}\" is not PATH=VALUE")]
    NotPathValue { text: String },
    #[error("\"{path}\" is not a property path like containers.web.variables.DEBUG")]
    BadPath { path: String },
}

/// An override `containers.web.variables.DEBUG=true` (`\.` for a dot in a key; an empty value
/// removes the property), applied before validation.
pub fn parse_override(
    text: &str,
) -> Result<(Vec<String>, Option<serde_json::Value>), OverrideError> {
    let (path, value) = text
        .split_once('=')
        .ok_or_else(|| OverrideError::NotPathValue {
            text: text.to_owned(),
        })?;
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                parts.last_mut().expect("non-empty").push('.');
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().expect("non-empty").push(c),
        }
    }
    if parts.iter().any(String::is_empty) {
        return Err(OverrideError::BadPath {
            path: path.to_owned(),
        });
    }
    if value.is_empty() {
        return Ok((parts, None));
    }
    let parsed = yaml::parse_documents(value, &Limits::default())
        .ok()
        .and_then(|d| d.first().map(Node::to_json))
        .unwrap_or_else(|| serde_json::Value::String(value.to_owned()));
    Ok((parts, Some(parsed)))
}

fn apply_override(root: &mut serde_json::Value, path: &[String], value: Option<serde_json::Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for p in parents {
        if !cur.is_object() {
            *cur = serde_json::Value::Object(Default::default());
        }
        cur = cur
            .as_object_mut()
            .expect("object")
            .entry(p.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    if let Some(obj) = cur.as_object_mut() {
        match value {
            Some(v) => {
                obj.insert(last.clone(), v);
            }
            None => {
                obj.remove(last);
            }
        }
    }
}

/// [`parse_workload`], with property overrides applied first (see [`parse_override`]).
pub fn parse_workload_with_overrides(
    text: &str,
    file: &str,
    limits: &Limits,
    overrides: &[(Vec<String>, Option<serde_json::Value>)],
) -> Result<Workload, Vec<ScoreError>> {
    let loc = Locator { file, node: None };
    if text.len() > limits.max_file_bytes {
        return Err(vec![loc.error(
            &[],
            "file.too-large",
            format!(
                "file is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        )]);
    }
    let docs = yaml::parse_documents(text, limits).map_err(|e| {
        vec![ScoreError {
            file: file.to_owned(),
            line: e.line,
            column: e.column,
            path: String::new(),
            rule: if e.limit {
                "yaml.limits"
            } else {
                "yaml.syntax"
            }
            .to_owned(),
            message: if e.limit {
                e.message
            } else {
                format!("invalid YAML: {}", e.message)
            },
        }]
    })?;
    let node = match docs.as_slice() {
        [one] => one,
        [] => {
            return Err(vec![loc.error(
                &[],
                "document.empty",
                "the file holds no Score workload",
            )]);
        }
        _ => {
            return Err(vec![loc.error(
                &[],
                "document.multiple",
                format!(
                    "expected one Score workload per file, found {} documents",
                    docs.len()
                ),
            )]);
        }
    };
    let loc = Locator {
        file,
        node: Some(node),
    };
    let mut value = node.to_json();
    for (path, v) in overrides {
        apply_override(&mut value, path, v.clone());
    }
    if let Some(v) = value.get("apiVersion").and_then(|v| v.as_str())
        && v != API_VERSION
    {
        return Err(vec![loc.error(
            &[Seg::Key("apiVersion".into())],
            "apiVersion.unsupported",
            format!("apiVersion \"{v}\" is not supported; expected {API_VERSION}"),
        )]);
    }
    let mut errors: Vec<ScoreError> = validator()
        .iter_errors(&value)
        .map(|e| {
            let path = node.pointer_path(e.instance_path().as_str());
            loc.error(&path, "schema", e.to_string())
        })
        .collect();
    errors.sort_by(|a, b| (a.line, a.column, &a.path).cmp(&(b.line, b.column, &b.path)));
    errors.dedup();
    if !errors.is_empty() {
        return Err(errors);
    }
    let workload =
        model::from_json(&value).map_err(|e| vec![loc.error(&[], "schema", e.to_string())])?;
    let mut errors = Vec::new();
    placeholder::check_references(&workload, &loc, &mut errors);
    if let Err(e) = resource_graph(&workload) {
        errors.push(loc.error(
            &[Seg::Key("resources".into())],
            "resources.cycle",
            e.to_string(),
        ));
    }
    if errors.is_empty() {
        Ok(workload)
    } else {
        Err(errors)
    }
}

/// A problem found after parsing (while resolving or rendering the workload), placed at the
/// field `keys` of the workload's file `text`: the line and column of that field, or of its
/// nearest ancestor written there (a field an override added, a file of the deprecated list form).
pub fn locate_error(
    text: &str,
    file: &str,
    keys: &[String],
    rule: &str,
    message: impl Into<String>,
    limits: &Limits,
) -> ScoreError {
    let docs = yaml::parse_documents(text, limits).unwrap_or_default();
    let path: Vec<Seg> = keys.iter().map(|k| Seg::Key(k.clone())).collect();
    Locator {
        file,
        node: docs.first(),
    }
    .error(&path, rule, message)
}
