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

/// One step of the path to a secret value inside the parameter values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    /// Every item of an array (`items`, `prefixItems`, `additionalItems`).
    AnyIndex,
    /// Every entry of an object (`additionalProperties`, `patternProperties`).
    AnyKey,
}

/// Deepest schema nesting searched for secrets (combinators, conditionals, `$ref`s included).
pub const MAX_SCHEMA_DEPTH: usize = 32;
/// Most subschemas visited per template (a `$ref` graph can otherwise grow exponentially).
pub const MAX_SCHEMA_VISITS: usize = 10_000;

fn is_secret(schema: &Map<String, Value>) -> bool {
    let is = |key: &str, val: &str| schema.get(key).and_then(Value::as_str) == Some(val);
    is("ui:field", "Secret") || is("ui:widget", "password") || is("format", "password")
}

struct SecretWalk<'a> {
    page: &'a Value,
    at: Vec<Seg>,
    out: Vec<Vec<Seg>>,
    visits: usize,
    /// `$ref`s already followed for a value path: each is searched once per path.
    followed: std::collections::HashSet<(&'a str, Vec<Seg>)>,
}

impl<'a> SecretWalk<'a> {
    /// Subschemas that describe the same value as `schema`.
    fn same_value(schema: &'a Map<String, Value>) -> impl Iterator<Item = &'a Value> {
        let lists = ["allOf", "anyOf", "oneOf"]
            .into_iter()
            .filter_map(|k| schema.get(k).and_then(Value::as_array))
            .flatten();
        let single = ["if", "then", "else", "not"]
            .into_iter()
            .filter_map(|k| schema.get(k));
        // Schema dependencies (objects); property dependencies (arrays of names) hold no schema.
        let deps = ["dependencies", "dependentSchemas"]
            .into_iter()
            .filter_map(|k| schema.get(k).and_then(Value::as_object))
            .flat_map(|m| m.values())
            .filter(|d| d.is_object());
        lists.chain(single).chain(deps)
    }

    fn walk(&mut self, schema: &'a Value, depth: usize) {
        let Some(obj) = schema.as_object() else {
            return;
        };
        if is_secret(obj) || depth > MAX_SCHEMA_DEPTH || self.visits >= MAX_SCHEMA_VISITS {
            // Past the bounds, everything here is held secret: too much rather than too little.
            self.out.push(self.at.clone());
            return;
        }
        self.visits += 1;
        for s in Self::same_value(obj) {
            self.walk(s, depth + 1);
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str)
            && let Some(target) = r.strip_prefix('#').and_then(|p| self.page.pointer(p))
            && self.followed.insert((r, self.at.clone()))
        {
            self.walk(target, depth + 1);
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (k, s) in props {
                self.at.push(Seg::Key(k.clone()));
                self.walk(s, depth + 1);
                self.at.pop();
            }
        }
        let any_key = obj
            .get("patternProperties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .chain(obj.get("additionalProperties"));
        let any_index = ["items", "prefixItems", "additionalItems"]
            .into_iter()
            .filter_map(|k| obj.get(k))
            .flat_map(|s| match s {
                Value::Array(list) => list.iter().collect::<Vec<_>>(),
                other => vec![other],
            });
        let children: Vec<(Seg, &'a Value)> = any_key
            .map(|s| (Seg::AnyKey, s))
            .chain(any_index.map(|s| (Seg::AnyIndex, s)))
            .collect();
        for (seg, s) in children {
            self.at.push(seg);
            self.walk(s, depth + 1);
            self.at.pop();
        }
    }
}

/// Where the secret values are (`ui:field: Secret`, `ui:widget: password`, `format: password`),
/// wherever a page declares them: nested `properties`, `allOf`/`anyOf`/`oneOf`,
/// `if`/`then`/`else`, schema `dependencies`, array items, local `$ref`s. An empty path: the
/// whole values object (a page nested deeper than [`MAX_SCHEMA_DEPTH`] or larger than
/// [`MAX_SCHEMA_VISITS`] is held secret where the search stops).
pub fn secret_paths(parameters: &Value) -> Vec<Vec<Seg>> {
    let mut out = Vec::new();
    let mut visits = 0;
    for page in pages(parameters) {
        let mut w = SecretWalk {
            page,
            at: Vec::new(),
            out: Vec::new(),
            visits,
            followed: Default::default(),
        };
        w.walk(page, 0);
        visits = w.visits;
        out.extend(w.out);
    }
    out.sort();
    out.dedup();
    out
}

/// Names of the top-level parameters that hold a secret somewhere inside them (see
/// [`secret_paths`]): they are redacted from recorded runs.
pub fn secret_names(parameters: &Value) -> Vec<String> {
    let mut out: Vec<String> = secret_paths(parameters)
        .into_iter()
        .filter_map(|p| match p.into_iter().next() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every value at `path` (wildcards expanded), mutably.
fn values_at<'v>(v: &'v mut Value, path: &[Seg], out: &mut Vec<&'v mut Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match (first, v) {
        (Seg::Key(k), Value::Object(m)) => {
            if let Some(x) = m.get_mut(k) {
                values_at(x, rest, out);
            }
        }
        (Seg::AnyKey, Value::Object(m)) => m.values_mut().for_each(|x| values_at(x, rest, out)),
        (Seg::AnyIndex, Value::Array(a)) => a.iter_mut().for_each(|x| values_at(x, rest, out)),
        _ => {}
    }
}

/// Replaces every secret value in `values` with `"***"`; returns the values replaced.
pub fn redact_secrets(parameters: &Value, values: &mut Value) -> Vec<Value> {
    let mut taken = Vec::new();
    for path in secret_paths(parameters) {
        let mut found = Vec::new();
        values_at(values, &path, &mut found);
        for v in found {
            if !v.is_null() {
                taken.push(std::mem::replace(v, Value::String("***".into())));
            }
        }
    }
    taken
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
