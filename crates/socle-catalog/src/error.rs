//! Errors a catalog user can act on: where (file, line, column, field path), which rule, what was
//! expected and what was found.

use serde::{Deserialize, Serialize};

/// A rejected entity, file or location, reported with everything needed to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityError {
    /// The file (or location target) the problem is in.
    pub file: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The entity concerned, when it could be identified (`component:default/x`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The field path inside the document, e.g. `spec.providesApis[1]` (empty for the whole file).
    pub path: String,
    /// A stable rule identifier, e.g. `metadata.name.format`, `yaml.syntax`, `location.conflict`.
    pub rule: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The offending value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl std::fmt::Display for EntityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(e) = &self.entity {
            write!(f, " {e}")?;
        }
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.message, self.rule)
    }
}

impl EntityError {
    /// An error about a whole file (no field path).
    pub fn file(file: &str, rule: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            entity: None,
            path: String::new(),
            rule: rule.to_owned(),
            message: message.into(),
            value: None,
        }
    }
}
