//! An ODCS file: one `kind: DataContract` document, validated against the official JSON Schema
//! of its `apiVersion` (v3.0.x against v3.0.2's, v3.1.0 against v3.1.0's), every problem with
//! its file, line, column and field path; then the part Socle uses, typed.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_catalog::Limits;
use socle_catalog::yaml::{Node, Seg, parse_documents, path_string};

/// Most problems reported for one file.
pub const MAX_ERRORS: usize = 100;

/// The ODCS versions Socle reads, each with its official JSON Schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OdcsVersion {
    /// `v3.0.0`, `v3.0.1`, `v3.0.2`: validated against v3.0.2's schema (patch releases only
    /// relax it).
    #[serde(rename = "v3.0")]
    V3_0,
    #[serde(rename = "v3.1")]
    V3_1,
}

impl OdcsVersion {
    /// The version an `apiVersion` names.
    pub fn of(api_version: &str) -> Option<Self> {
        match api_version {
            "v3.0.0" | "v3.0.1" | "v3.0.2" => Some(Self::V3_0),
            "v3.1.0" => Some(Self::V3_1),
            _ => None,
        }
    }

    fn validator(self) -> &'static jsonschema::Validator {
        static V30: OnceLock<jsonschema::Validator> = OnceLock::new();
        static V31: OnceLock<jsonschema::Validator> = OnceLock::new();
        let (cell, text) = match self {
            Self::V3_0 => (&V30, include_str!("../schema/odcs-json-schema-v3.0.2.json")),
            Self::V3_1 => (&V31, include_str!("../schema/odcs-json-schema-v3.1.0.json")),
        };
        cell.get_or_init(|| {
            let schema: Value = serde_json::from_str(text).expect("embedded ODCS schema is JSON");
            jsonschema::validator_for(&schema).expect("embedded ODCS schema compiles")
        })
    }
}

/// A problem in an ODCS file, located and explained.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContractError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Field path, e.g. `schema[0].properties[3].logicalType`.
    pub path: String,
    /// Stable rule id: `yaml.syntax`, `odcs.documents`, `odcs.api-version`, `odcs.schema`,
    /// `odcs.decode`, `odcs.owner`, `odcs.custom-property`.
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for ContractError {
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

/// A server the contract's data lives on (the fields Socle uses; the rest stays in the file).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Server {
    pub server: String,
    #[serde(rename = "type")]
    pub server_type: String,
}

/// A column (or field) of a schema object.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_type: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub primary_key: bool,
    /// `public`, `internal`, `restricted`, `confidential`, `pii`, … as the contract says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
}

/// A table, view, topic or file the contract describes.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaObject {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub properties: Vec<Property>,
}

/// One `customProperties` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CustomProperty {
    pub property: String,
    #[serde(default)]
    pub value: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    api_version: String,
    id: String,
    #[serde(default)]
    name: Option<String>,
    version: String,
    status: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    data_product: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    description: Option<Value>,
    #[serde(default)]
    team: Option<Value>,
    #[serde(default)]
    servers: Vec<Server>,
    #[serde(default)]
    schema: Vec<SchemaObject>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    custom_properties: Vec<CustomProperty>,
}

/// A valid data contract: what Socle uses of it, and where each part was written.
#[derive(Clone, Debug)]
pub struct Contract {
    pub file: String,
    pub version: OdcsVersion,
    pub api_version: String,
    pub id: String,
    pub name: Option<String>,
    /// The contract's own version.
    pub contract_version: String,
    /// `proposed`, `draft`, `active`, `deprecated`, `retired`.
    pub status: String,
    pub domain: Option<String>,
    pub data_product: Option<String>,
    pub tenant: Option<String>,
    /// `description.purpose` (or a plain string description).
    pub purpose: Option<String>,
    /// The owning team's name (v3.1's `team.name`).
    pub team_name: Option<String>,
    pub servers: Vec<Server>,
    pub schema: Vec<SchemaObject>,
    pub tags: Vec<String>,
    pub custom_properties: Vec<CustomProperty>,
    root: Node,
}

impl Contract {
    /// A problem at `path` of this contract's file.
    pub fn error(&self, path: &[Seg], rule: &str, message: impl Into<String>) -> ContractError {
        located(&self.file, Some(&self.root), path, rule, message)
    }

    /// The position of the document (its first key).
    pub fn position(&self) -> (u32, u32) {
        (self.root.line, self.root.column)
    }

    /// What `socle data test` reads of the contract: servers, schema with quality rules, SLAs.
    pub fn test_spec(&self) -> Result<crate::quality::TestSpec, ContractError> {
        self.root.decode().map_err(|e| {
            located(
                &self.file,
                Some(&self.root),
                &e.path,
                "odcs.decode",
                e.message,
            )
        })
    }

    /// The value of the custom property `name`, and its index in `customProperties`.
    pub fn custom(&self, name: &str) -> Option<(usize, &Value)> {
        self.custom_properties
            .iter()
            .enumerate()
            .find(|(_, p)| p.property == name)
            .map(|(i, p)| (i, &p.value))
    }
}

fn located(
    file: &str,
    node: Option<&Node>,
    path: &[Seg],
    rule: &str,
    message: impl Into<String>,
) -> ContractError {
    let (line, column) = node.map(|n| n.locate(path)).unwrap_or((0, 0));
    ContractError {
        file: file.to_owned(),
        line: Some(line).filter(|l| *l > 0),
        column: Some(column).filter(|c| *c > 0),
        path: path_string(path),
        rule: rule.to_owned(),
        message: message.into(),
    }
}

/// Reads and validates one ODCS file. Every problem found is returned (at most
/// [`MAX_ERRORS`]), sorted by position.
pub fn load(text: &str, file: &str, limits: &Limits) -> Result<Contract, Vec<ContractError>> {
    let docs = parse_documents(text, limits).map_err(|e| {
        vec![ContractError {
            file: file.to_owned(),
            line: e.line,
            column: e.column,
            path: String::new(),
            rule: "yaml.syntax".into(),
            message: format!("invalid YAML: {}", e.message),
        }]
    })?;
    let root = match docs.as_slice() {
        [one] => one,
        [] => {
            return Err(vec![located(
                file,
                None,
                &[],
                "odcs.documents",
                "the file holds no data contract",
            )]);
        }
        [_, second, ..] => {
            return Err(vec![located(
                file,
                Some(second),
                &[],
                "odcs.documents",
                "an ODCS file holds one data contract; this is a second document",
            )]);
        }
    };
    let value = root.to_json();
    let api_path = [Seg::Key("apiVersion".into())];
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    let Some(version) = api_version.and_then(OdcsVersion::of) else {
        let message = match api_version {
            Some(v) => format!(
                "apiVersion {v:?} is not an ODCS version Socle reads (v3.0.0, v3.0.1, v3.0.2, v3.1.0)"
            ),
            None => "apiVersion is missing: ODCS files say which version they follow (e.g. v3.1.0)"
                .into(),
        };
        return Err(vec![located(
            file,
            Some(root),
            &api_path,
            "odcs.api-version",
            message,
        )]);
    };
    let mut errors: Vec<ContractError> = version
        .validator()
        .iter_errors(&value)
        .take(MAX_ERRORS)
        .map(|e| {
            let path = root.pointer_path(e.instance_path().as_str());
            located(file, Some(root), &path, "odcs.schema", e.to_string())
        })
        .collect();
    errors.sort_by(|a, b| (a.line, a.column, &a.path).cmp(&(b.line, b.column, &b.path)));
    errors.dedup();
    if !errors.is_empty() {
        return Err(errors);
    }
    let raw: Raw = root
        .decode()
        .map_err(|e| vec![located(file, Some(root), &e.path, "odcs.decode", e.message)])?;
    Ok(contract(raw, version, file, root.clone()))
}

fn contract(raw: Raw, version: OdcsVersion, file: &str, root: Node) -> Contract {
    let purpose = match &raw.description {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("purpose").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let team_name = raw
        .team
        .as_ref()
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Contract {
        file: file.to_owned(),
        version,
        api_version: raw.api_version,
        id: raw.id,
        name: raw.name,
        contract_version: raw.version,
        status: raw.status,
        domain: raw.domain,
        data_product: raw.data_product,
        tenant: raw.tenant,
        purpose,
        team_name,
        servers: raw.servers,
        schema: raw.schema,
        tags: raw.tags,
        custom_properties: raw.custom_properties,
        root,
    }
}
