//! Data pipelines (`socle data run`): a directory of SQL models as dbt writes them —
//! `models/**/*.sql`, one model per file named by its file name, `{{ ref('model') }}` to read
//! another model, `{{ source('src', 'table') }}` to read a raw table, and an optional
//! `{{ config(materialized='table', tier='silver', contract='contracts/orders.odcs.yaml') }}`.
//!
//! Pure: the caller reads the files ([`ModelFile`]) and gets back the models rendered
//! ([`render`], minijinja), their SQL checked as one read-only query and its lineage
//! ([`lineage`], sqlparser: the tables it reads, CTEs left out; column lineage for plain
//! selects), in dependency order ([`dag`]: unknown refs and cycles refused with `file:line`).
//! Bounded: [`MAX_MODELS`] models of at most [`MAX_MODEL_BYTES`] each, [`RENDER_FUEL`] per render.

pub mod dag;
pub mod lineage;
pub mod render;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

pub use lineage::{ColumnLineage, ColumnSource, Dataset};

/// Most models a pipeline may hold.
pub const MAX_MODELS: usize = 5_000;
/// Largest model file, and largest rendered model.
pub const MAX_MODEL_BYTES: usize = 256 * 1024;
/// minijinja fuel per model render (a loop cannot spin for ever).
pub const RENDER_FUEL: u64 = 200_000;
/// Longest model name (PostgreSQL's identifier limit).
pub const MAX_NAME: usize = 63;

/// How a model is built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Materialized {
    /// `CREATE OR REPLACE VIEW` (dbt's default).
    #[default]
    View,
    /// `CREATE TABLE … AS` into a temporary name, swapped in within one transaction.
    Table,
}

impl Materialized {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "view" => Some(Self::View),
            "table" => Some(Self::Table),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Table => "table",
        }
    }
}

/// The medallion tier of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Bronze,
    Silver,
    Gold,
}

impl Tier {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bronze" => Some(Self::Bronze),
            "silver" => Some(Self::Silver),
            "gold" => Some(Self::Gold),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bronze => "bronze",
            Self::Silver => "silver",
            Self::Gold => "gold",
        }
    }
}

/// One model file as read: its path relative to the pipeline's directory (`/`-separated) and
/// its text.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub path: String,
    pub text: String,
}

/// Where the rendered SQL points: the schema models are built in (`None`: the connection's
/// current schema) and the schema of each source (a source's own name when not listed).
#[derive(Clone, Debug, Default)]
pub struct RenderTarget {
    pub schema: Option<String>,
    pub sources: BTreeMap<String, String>,
}

impl RenderTarget {
    /// The quoted relation a model is built as.
    pub fn model_relation(&self, name: &str) -> String {
        relation(self.schema.as_deref(), name)
    }

    /// The schema a source's tables are read from.
    pub fn source_schema<'a>(&'a self, source: &'a str) -> &'a str {
        self.sources.get(source).map_or(source, String::as_str)
    }
}

/// `"schema"."name"` (or `"name"`), every part double-quoted with quotes doubled.
pub fn relation(schema: Option<&str>, name: &str) -> String {
    crate::quality::sql::table_ref(schema, name)
}

/// What a model's `config(...)` said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Config {
    pub materialized: Materialized,
    pub tier: Option<Tier>,
    /// The ODCS contract checked after the model builds, relative to the pipeline's directory.
    pub contract: Option<String>,
}

/// A `ref()` or `source()` call, with the line it is on (1-based; the first line when it
/// could not be found in the text, e.g. a name built by an expression).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Call {
    pub name: String,
    pub line: usize,
}

/// A model rendered and read.
#[derive(Clone, Debug, Serialize)]
pub struct Model {
    pub name: String,
    pub file: String,
    pub config: Config,
    /// The line of its `config(...)` call (1 without one).
    pub config_line: usize,
    /// The relation it is built as (quoted).
    pub relation: String,
    /// The SQL, rendered (one read-only query, no trailing `;`).
    pub sql: String,
    /// Models it refers to with `ref()`, in order of first use, each once.
    pub refs: Vec<Call>,
    /// Sources it reads with `source()`: `source.table`.
    pub sources: Vec<Call>,
    /// What its SQL reads, CTEs left out.
    pub reads: Vec<Dataset>,
    /// Column lineage when the query is a plain select; `None` otherwise.
    pub columns: Option<Vec<ColumnLineage>>,
}

/// A pipeline: its models in dependency order (a model after every model it refers to; ties
/// broken by name, so the order is deterministic).
#[derive(Clone, Debug, Serialize)]
pub struct Pipeline {
    pub models: Vec<Model>,
}

impl Pipeline {
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// Why a pipeline cannot be read: a file, a line when known, and a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipelineError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl PipelineError {
    fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for PipelineError {}

/// The model name of a file: its name without `.sql`, if it is a model file.
pub fn model_name(path: &str) -> Option<&str> {
    path.rsplit('/').next()?.strip_suffix(".sql")
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if !ok || name.len() > MAX_NAME {
        return Err(format!(
            "a model's file name must be a name of letters, digits and _ (not starting with a digit, at most {MAX_NAME} characters): {name:?}"
        ));
    }
    Ok(())
}

/// Reads a pipeline: every file rendered against `target`, its SQL read, the models ordered.
/// Every error found is returned (all files are read before giving up), sorted by file and line.
pub fn load(files: &[ModelFile], target: &RenderTarget) -> Result<Pipeline, Vec<PipelineError>> {
    if files.len() > MAX_MODELS {
        return Err(vec![PipelineError::new(
            "models",
            None,
            format!(
                "a pipeline may hold at most {MAX_MODELS} models; this one has {}",
                files.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for f in files {
        let Some(name) = model_name(&f.path) else {
            errors.push(PipelineError::new(&f.path, None, "not a .sql model file"));
            continue;
        };
        if let Err(e) = check_name(name) {
            errors.push(PipelineError::new(&f.path, None, e));
        } else if let Some(other) = names.insert(name, &f.path) {
            errors.push(PipelineError::new(
                &f.path,
                None,
                format!("model {name:?} is also defined by {other}: model names are file names and must be unique"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(sorted(errors));
    }
    let renderer = render::Renderer::new(target, names.keys().map(|s| s.to_string()).collect());
    let mut models = Vec::with_capacity(files.len());
    for f in files {
        match renderer
            .render(f)
            .and_then(|m| lineage::read_model(m, target, &names))
        {
            Ok(m) => models.push(m),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(sorted(errors));
    }
    dag::order(models)
        .map(|models| Pipeline { models })
        .map_err(sorted)
}

fn sorted(mut errors: Vec<PipelineError>) -> Vec<PipelineError> {
    errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    errors
}

/// The 1-based line of the first match of `needle` in `text` (1 when absent).
pub(crate) fn line_of(text: &str, needle: &regex::Regex) -> usize {
    needle
        .find(text)
        .map_or(1, |m| text[..m.start()].matches('\n').count() + 1)
}
