//! Parameters: each page of `spec.parameters` is a JSON Schema; values are checked against every
//! page before any step runs, and every error is listed with its path.

use serde::Serialize;
use serde_json::{Map, Value};

/// A parameter that does not satisfy its schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamError {
    /// JSON pointer into the values, e.g. `/name`.
    pub path: String,
    /// The page's title (or `page N`).
    pub page: String,
    pub message: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{p} ({}): {}", self.page, self.message)
    }
}

/// The pages of a template's parameters (one schema, or a list of them).
pub fn pages(parameters: &Value) -> Vec<&Value> {
    match parameters {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn page_title(page: &Value, i: usize) -> String {
    page.get("title")
        .and_then(Value::as_str)
        .map_or_else(|| format!("page {}", i + 1), str::to_owned)
}

/// Compiles every page (at load time): `(page index, message)` for those that are not valid
/// JSON Schemas.
pub fn check_schemas(parameters: &Value) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, page) in pages(parameters).into_iter().enumerate() {
        if !page.is_object() {
            out.push((
                i,
                "a parameters page must be an object (a JSON Schema)".into(),
            ));
            continue;
        }
        if let Err(e) = jsonschema::validator_for(page) {
            out.push((i, e.to_string()));
        }
    }
    out
}

/// Fills in the `default` of every top-level property that has no value.
pub fn apply_defaults(parameters: &Value, values: &mut Map<String, Value>) {
    for page in pages(parameters) {
        if let Some(props) = page.get("properties").and_then(Value::as_object) {
            for (k, schema) in props {
                if !values.contains_key(k)
                    && let Some(d) = schema.get("default")
                {
                    values.insert(k.clone(), d.clone());
                }
            }
        }
    }
}

/// Validates the values against every page; all errors of all pages.
pub fn validate(parameters: &Value, values: &Value) -> Vec<ParamError> {
    let mut out = Vec::new();
    for (i, page) in pages(parameters).into_iter().enumerate() {
        let Ok(v) = jsonschema::validator_for(page) else {
            continue; // refused at load time
        };
        for e in v.iter_errors(values) {
            out.push(ParamError {
                path: e.instance_path().to_string(),
                page: page_title(page, i),
                message: e.to_string(),
            });
        }
    }
    out.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
    out.dedup();
    out
}

/// Names of parameters that hold secrets (`ui:field: Secret`, `ui:widget: password`, or
/// `format: password`): they are redacted from recorded runs.
pub fn secret_names(parameters: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for page in pages(parameters) {
        if let Some(props) = page.get("properties").and_then(Value::as_object) {
            for (k, s) in props {
                let is = |key: &str, val: &str| s.get(key).and_then(Value::as_str) == Some(val);
                if is("ui:field", "Secret")
                    || is("ui:widget", "password")
                    || is("format", "password")
                {
                    out.push(k.clone());
                }
            }
        }
    }
    out
}

/// The parameter names a template declares (top-level properties of every page).
pub fn declared(parameters: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for page in pages(parameters) {
        collect_props(page, &mut out, 0);
    }
    out.sort();
    out.dedup();
    out
}

fn collect_props(schema: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    // Properties may also come from conditional parts (dependencies, allOf/oneOf/anyOf, then).
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            for s in list {
                collect_props(s, out, depth + 1);
            }
        }
    }
    for key in ["then", "else"] {
        if let Some(s) = schema.get(key) {
            collect_props(s, out, depth + 1);
        }
    }
    if let Some(deps) = schema.get("dependencies").and_then(Value::as_object) {
        for s in deps.values() {
            collect_props(s, out, depth + 1);
        }
    }
}
