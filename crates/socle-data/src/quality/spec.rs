//! The parts of an ODCS contract that `socle data test` reads: servers with their connection
//! fields, schema objects with their properties, logical-type options and quality rules, and the
//! SLA properties. Decoded from the validated document, so the official schema already holds.

use serde::Deserialize;
use serde_json::{Map, Value};

/// What the checks are planned from.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSpec {
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    #[serde(default)]
    pub schema: Vec<ObjectSpec>,
    #[serde(default)]
    pub sla_properties: Vec<SlaSpec>,
}

/// A server entry with the connection fields the engines use.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSpec {
    pub server: String,
    #[serde(rename = "type")]
    pub server_type: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    /// Files: `csv`, `parquet`, `json`, …
    #[serde(default)]
    pub format: Option<String>,
    /// Files: a path or glob.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// Files: `new_line` or `array` (JSON), or a CSV separator.
    #[serde(default)]
    pub delimiter: Option<String>,
}

impl ServerSpec {
    /// Whether the server holds typed data (type checks are planned; not for text formats).
    pub fn carries_types(&self) -> bool {
        !matches!(
            self.format.as_deref(),
            Some("json" | "csv" | "avro" | "xml" | "xlsx")
        )
    }
}

/// A table (or view, or file) of the contract.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSpec {
    pub name: String,
    #[serde(default)]
    pub physical_name: Option<String>,
    #[serde(default)]
    pub properties: Vec<PropertySpec>,
    #[serde(default)]
    pub quality: Vec<QualitySpec>,
}

impl ObjectSpec {
    /// The table's name on the server (`physicalName`, else `name`).
    pub fn table(&self) -> &str {
        self.physical_name.as_deref().unwrap_or(&self.name)
    }
}

/// A column.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertySpec {
    pub name: String,
    #[serde(default)]
    pub physical_name: Option<String>,
    #[serde(default)]
    pub logical_type: Option<String>,
    #[serde(default)]
    pub physical_type: Option<String>,
    #[serde(default)]
    pub logical_type_options: Map<String, Value>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub primary_key: bool,
    #[serde(default)]
    pub primary_key_position: Option<i64>,
    #[serde(default)]
    pub classification: Option<String>,
    #[serde(default)]
    pub quality: Vec<QualitySpec>,
    /// Nested fields (objects): not checked yet, reported as such.
    #[serde(default)]
    pub properties: Vec<Value>,
    #[serde(default)]
    pub items: Option<Value>,
}

impl PropertySpec {
    /// The column's name on the server (`physicalName`, else `name`).
    pub fn column(&self) -> &str {
        self.physical_name.as_deref().unwrap_or(&self.name)
    }

    pub fn option(&self, key: &str) -> Option<&Value> {
        self.logical_type_options.get(key).filter(|v| !v.is_null())
    }
}

/// One `quality[]` rule.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualitySpec {
    #[serde(default, rename = "type")]
    pub rule_type: Option<String>,
    /// v3.1's `metric`; v3.0's `rule` is read as the same.
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub arguments: Map<String, Value>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub dimension: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub must_be: Option<Value>,
    #[serde(default)]
    pub must_not_be: Option<Value>,
    #[serde(default)]
    pub must_be_greater_than: Option<Value>,
    #[serde(default)]
    pub must_be_greater_or_equal_to: Option<Value>,
    #[serde(default)]
    pub must_be_less_than: Option<Value>,
    #[serde(default)]
    pub must_be_less_or_equal_to: Option<Value>,
    #[serde(default)]
    pub must_be_between: Option<Vec<Value>>,
    #[serde(default)]
    pub must_not_be_between: Option<Vec<Value>>,
}

impl QualitySpec {
    pub fn metric_name(&self) -> Option<&str> {
        self.metric.as_deref().or(self.rule.as_deref())
    }

    /// `unit: percent` (or `percentage`, `%`).
    pub fn is_percent(&self) -> bool {
        self.unit
            .as_deref()
            .map(|u| u.trim().to_ascii_lowercase())
            .is_some_and(|u| matches!(u.as_str(), "percent" | "percentage" | "%"))
    }

    /// A list argument (`validValues`, `missingValues`, `properties`) without its nulls.
    pub fn list_argument(&self, key: &str) -> Option<Vec<Value>> {
        let list = self.arguments.get(key)?.as_array()?;
        Some(list.iter().filter(|v| !v.is_null()).cloned().collect())
    }
}

/// One `slaProperties[]` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaSpec {
    pub property: String,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub element: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}
