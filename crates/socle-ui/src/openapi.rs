//! An API entity's OpenAPI definition, shown as a list of operations.
//!
//! [`parse`] reads an OpenAPI 3.0/3.1 or Swagger 2.0 document (YAML or JSON) into the
//! small [`ApiDoc`] model: header information and one [`Operation`] per path and method,
//! with path-level parameters merged in and local `$ref`s to parameters, request bodies
//! and responses resolved. [`render`] turns it into collapsible HTML, grouped by tag.
//!
//! Parsing is bounded: inputs over [`MAX_INPUT_BYTES`] are refused, the YAML parser runs
//! with a node budget of [`MAX_NODES`], and `$ref` chains are followed at most
//! [`MAX_REF_DEPTH`] times (so reference cycles cannot hang). A reference that cannot be
//! resolved does not fail the parse; the name of the reference is shown instead.
//! Descriptions are shown as plain escaped text, never rendered as Markdown.

use maud::{Markup, html};
use serde_json::{Map, Value};

/// The largest definition [`parse`] accepts, in bytes (5 MB).
pub const MAX_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// The YAML node budget of [`parse`].
pub const MAX_NODES: usize = 200_000;
/// How many `$ref` hops are followed before a reference is considered unresolvable.
pub const MAX_REF_DEPTH: usize = 16;

/// Why a definition cannot be shown as operations.
#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    /// Larger than [`MAX_INPUT_BYTES`].
    #[error("definition too large: {bytes} bytes (the limit is {MAX_INPUT_BYTES} bytes)")]
    TooLarge { bytes: usize },
    /// Not YAML or JSON, or over the parser's budget.
    #[error("invalid YAML or JSON: {0}")]
    Syntax(serde_saphyr::Error),
    /// Neither OpenAPI 3.x nor Swagger 2.0.
    #[error("not an OpenAPI document: expected an `openapi: 3.x` or `swagger: 2.0` field")]
    NotOpenApi,
}

/// A `$ref` that cannot be followed (external, missing, too deep or a cycle), by its name.
#[derive(Debug, thiserror::Error)]
#[error("unresolved reference {0}")]
struct UnresolvedRef(String);

/// The HTTP methods of a path item, in the order operations are listed.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A parsed API definition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiDoc {
    /// `info.title`.
    pub title: Option<String>,
    /// `info.version`.
    pub version: Option<String>,
    /// `info.description` (plain text).
    pub description: Option<String>,
    /// Server URLs (`servers[].url`, or built from Swagger's `schemes`/`host`/`basePath`).
    pub servers: Vec<String>,
    /// The operations, in document path order, then in the order get, put, post, delete,
    /// options, head, patch, trace.
    pub operations: Vec<Operation>,
}

/// One operation: a method on a path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operation {
    /// The upper-case HTTP method, e.g. `"GET"`.
    pub method: String,
    /// The path template, e.g. `"/pets/{petId}"`.
    pub path: String,
    /// `operationId`.
    pub operation_id: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description` (plain text).
    pub description: Option<String>,
    /// `tags`; the first one groups the operation when rendered.
    pub tags: Vec<String>,
    /// Path-level and operation-level parameters (the operation's win by name and
    /// location). Swagger 2.0 `in: body` parameters are folded into `request_body`.
    pub parameters: Vec<Param>,
    /// The request body's content types, e.g. `["application/json"]`.
    pub request_body: Vec<String>,
    /// `(status code, description)` pairs, sorted by code, `default` last.
    pub responses: Vec<(String, String)>,
    /// Whether the operation is marked `deprecated`.
    pub deprecated: bool,
}

/// A parameter of an operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Param {
    /// The parameter name (or the name of an unresolvable `$ref`).
    pub name: String,
    /// Where it goes: `path`, `query`, `header`, `cookie` (or Swagger's `formData`).
    pub location: String,
    /// Whether it is required (path parameters always are).
    pub required: bool,
    /// A short type, e.g. `"integer (int32)"`, `"string[]"` or a schema name.
    pub schema_type: Option<String>,
    /// The description (plain text).
    pub description: Option<String>,
}

/// Which family of specification a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// OpenAPI 3.0 / 3.1.
    OpenApi3,
    /// Swagger 2.0.
    Swagger2,
}

/// Parses an OpenAPI 3.x or Swagger 2.0 definition given as YAML or JSON text.
///
/// # Errors
///
/// An [`OpenApiError`] when the input is larger than [`MAX_INPUT_BYTES`], is not valid
/// YAML/JSON (or exceeds the parser budget), or is not an OpenAPI/Swagger document.
pub fn parse(definition: &str) -> Result<ApiDoc, OpenApiError> {
    if definition.len() > MAX_INPUT_BYTES {
        return Err(OpenApiError::TooLarge {
            bytes: definition.len(),
        });
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_reader_input_bytes: Some(MAX_INPUT_BYTES),
        },
    };
    let root: Value =
        serde_saphyr::from_str_with_options(definition, options).map_err(OpenApiError::Syntax)?;
    let flavor = flavor(&root).ok_or(OpenApiError::NotOpenApi)?;

    let info = root.get("info");
    let info_str = |key: &str| info.and_then(|i| i.get(key)).and_then(scalar_string);
    let mut doc = ApiDoc {
        title: info_str("title"),
        version: info_str("version"),
        description: info_str("description"),
        servers: servers(&root, flavor),
        operations: Vec::new(),
    };

    let paths = root.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let Ok(item) = resolve(&root, item) else {
            continue;
        };
        let Some(item) = item.as_object() else {
            continue;
        };
        let shared = item.get("parameters");
        for method in METHODS {
            if let Some(op) = item.get(method).and_then(Value::as_object) {
                doc.operations
                    .push(operation(&root, flavor, path, method, op, shared));
            }
        }
    }
    Ok(doc)
}

/// Recognises the `openapi: 3.x` / `swagger: "2.0"` marker (as a string or a number).
fn flavor(root: &Value) -> Option<Flavor> {
    let version = |key: &str| -> Option<String> {
        match root.get(key)? {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    if version("openapi").is_some_and(|v| v == "3" || v.starts_with("3.")) {
        Some(Flavor::OpenApi3)
    } else if version("swagger").is_some_and(|v| v == "2" || v == "2.0") {
        Some(Flavor::Swagger2)
    } else {
        None
    }
}

/// Server URLs: `servers[].url` (3.x) or `scheme://host basePath` (2.0).
fn servers(root: &Value, flavor: Flavor) -> Vec<String> {
    match flavor {
        Flavor::OpenApi3 => root
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("url").and_then(scalar_string))
            .collect(),
        Flavor::Swagger2 => {
            let host = root.get("host").and_then(scalar_string);
            let base = root
                .get("basePath")
                .and_then(scalar_string)
                .unwrap_or_default();
            let Some(host) = host else {
                return if base.is_empty() {
                    Vec::new()
                } else {
                    vec![base]
                };
            };
            let mut schemes = strings(root.get("schemes"));
            if schemes.is_empty() {
                schemes.push("https".to_owned());
            }
            schemes
                .iter()
                .map(|scheme| format!("{scheme}://{host}{base}"))
                .collect()
        }
    }
}

/// Builds one operation from its object and the path-level parameters.
fn operation(
    root: &Value,
    flavor: Flavor,
    path: &str,
    method: &str,
    op: &Map<String, Value>,
    shared: Option<&Value>,
) -> Operation {
    let mut parameters: Vec<Param> = Vec::new();
    let mut body_params = false;
    let mut form_types: Vec<&str> = Vec::new();
    let all = [shared, op.get("parameters")];
    for list in all.into_iter().flatten().filter_map(Value::as_array) {
        for raw in list {
            let param = match resolve(root, raw) {
                Ok(value) => {
                    let location = value.get("in").and_then(Value::as_str).unwrap_or("");
                    if flavor == Flavor::Swagger2 && location == "body" {
                        body_params = true;
                        continue;
                    }
                    if flavor == Flavor::Swagger2 && location == "formData" {
                        let is_file = value.get("type").and_then(Value::as_str) == Some("file");
                        form_types.push(if is_file {
                            "multipart/form-data"
                        } else {
                            "application/x-www-form-urlencoded"
                        });
                    }
                    param(value, flavor)
                }
                Err(UnresolvedRef(name)) => Param {
                    description: Some(format!("Unresolved reference {name}")),
                    name,
                    location: "unknown".to_owned(),
                    ..Param::default()
                },
            };
            // The operation's own parameters override the path's by name and location.
            match parameters
                .iter_mut()
                .find(|p| p.name == param.name && p.location == param.location)
            {
                Some(existing) => *existing = param,
                None => parameters.push(param),
            }
        }
    }

    let request_body = match flavor {
        Flavor::OpenApi3 => match op.get("requestBody").map(|b| resolve(root, b)) {
            None => Vec::new(),
            Some(Ok(body)) => body
                .get("content")
                .and_then(Value::as_object)
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default(),
            Some(Err(UnresolvedRef(name))) => vec![name],
        },
        Flavor::Swagger2 => {
            let mut types = Vec::new();
            if body_params {
                let consumes = strings(op.get("consumes").or_else(|| root.get("consumes")));
                if consumes.is_empty() {
                    types.push("application/json".to_owned());
                } else {
                    types = consumes;
                }
            }
            // A form has a single encoding: multipart wins when a file is uploaded.
            if let Some(form) = form_types.iter().max() {
                types.push((*form).to_owned());
            }
            types
        }
    };

    let mut responses: Vec<(String, String)> = op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(code, raw)| {
            let description = match resolve(root, raw) {
                Ok(r) => r
                    .get("description")
                    .and_then(scalar_string)
                    .unwrap_or_default(),
                Err(UnresolvedRef(name)) => name,
            };
            (code.clone(), description)
        })
        .collect();
    responses.sort_by(|(a, _), (b, _)| {
        let default_last = |c: &str| c.eq_ignore_ascii_case("default");
        (default_last(a), a).cmp(&(default_last(b), b))
    });

    Operation {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        operation_id: op.get("operationId").and_then(scalar_string),
        summary: op.get("summary").and_then(scalar_string),
        description: op.get("description").and_then(scalar_string),
        tags: strings(op.get("tags")),
        parameters,
        request_body,
        responses,
        deprecated: op.get("deprecated").and_then(Value::as_bool) == Some(true),
    }
}

/// Reads a (resolved) parameter object.
fn param(value: &Value, flavor: Flavor) -> Param {
    let location = value.get("in").and_then(scalar_string).unwrap_or_default();
    let schema_type = match flavor {
        // 2.0 non-body parameters carry their type inline.
        Flavor::Swagger2 => type_of(value),
        Flavor::OpenApi3 => value.get("schema").and_then(type_of).or_else(|| {
            // `content` instead of `schema`: use the first media type's schema.
            value
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
                .and_then(type_of)
        }),
    };
    Param {
        name: value
            .get("name")
            .and_then(scalar_string)
            .unwrap_or_default(),
        required: location == "path"
            || value.get("required").and_then(Value::as_bool) == Some(true),
        location,
        schema_type,
        description: value.get("description").and_then(scalar_string),
    }
}

/// A short description of a schema's type: `"integer (int32)"`, `"string[]"`,
/// `"string | null"`, or the name of a referenced schema.
fn type_of(schema: &Value) -> Option<String> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return Some(ref_name(reference));
    }
    let base = match schema.get("type")? {
        Value::String(t) => t.clone(),
        // OpenAPI 3.1 allows a list of types.
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => return None,
    };
    if base == "array" {
        let items = schema.get("items").and_then(type_of);
        return Some(items.map_or(base, |t| format!("{t}[]")));
    }
    Some(match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base} ({format})"),
        None => base,
    })
}

/// Follows local `$ref`s (`#/...`, JSON pointer with `~1`/`~0` unescaping) up to
/// [`MAX_REF_DEPTH`] hops. On failure (external ref, missing target, too deep or a
/// cycle), returns the reference's name.
fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> Result<&'a Value, UnresolvedRef> {
    for _ in 0..=MAX_REF_DEPTH {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        value = reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .ok_or_else(|| UnresolvedRef(ref_name(reference)))?;
    }
    let last = value.get("$ref").and_then(Value::as_str).unwrap_or("");
    Err(UnresolvedRef(ref_name(last)))
}

/// The last segment of a reference, unescaped: `#/components/parameters/Limit` → `Limit`.
fn ref_name(reference: &str) -> String {
    let last = reference.rsplit(['/', '#']).next().unwrap_or(reference);
    let name = last.replace("~1", "/").replace("~0", "~");
    if name.is_empty() {
        reference.to_owned()
    } else {
        name
    }
}

/// A scalar as text (YAML may type `version: 1.0` as a number).
fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of scalars as text; anything else is an empty list.
fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(scalar_string)
        .collect()
}

/// Renders the API's operations as `<section class="api-ops">`.
///
/// A header shows the title, version, description and servers. Operations are grouped
/// by their first tag (in order of first appearance; untagged operations last, under
/// "Other"), each a `<details class="op op-get">` whose `<summary>` shows the method
/// badge, the path and the summary, and whose body lists the description, the
/// parameters, the request body types and the responses. Deprecated operations get the
/// `deprecated` class and badge.
pub fn render(doc: &ApiDoc) -> Markup {
    let mut groups: Vec<(Option<&str>, Vec<&Operation>)> = Vec::new();
    for op in &doc.operations {
        let tag = op.tags.first().map(String::as_str);
        match groups.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, ops)) => ops.push(op),
            None => groups.push((tag, vec![op])),
        }
    }
    // Stable: tagged groups keep their order, the untagged group moves last.
    groups.sort_by_key(|(tag, _)| tag.is_none());

    html! {
        section class="api-ops" {
            header class="api-header" {
                h2 class="api-title" {
                    (doc.title.as_deref().unwrap_or("API"))
                    @if let Some(version) = &doc.version {
                        " " span class="api-version badge" { (version) }
                    }
                }
                @if let Some(description) = &doc.description {
                    (paragraphs(description, "api-description"))
                }
                @if !doc.servers.is_empty() {
                    ul class="api-servers" aria-label="Servers" {
                        @for server in &doc.servers {
                            li { code { (server) } }
                        }
                    }
                }
            }
            @if doc.operations.is_empty() {
                p class="api-empty" { "This definition has no operations." }
            }
            @for (tag, ops) in &groups {
                section class="op-group" {
                    h3 class="op-group-title" { (tag.unwrap_or("Other")) }
                    @for op in ops {
                        (operation_html(op))
                    }
                }
            }
        }
    }
}

/// One operation as a `<details>` element.
fn operation_html(op: &Operation) -> Markup {
    let method = op.method.to_ascii_lowercase();
    let method_class: String = method.chars().filter(char::is_ascii_alphanumeric).collect();
    let class = if op.deprecated {
        format!("op op-{method_class} deprecated")
    } else {
        format!("op op-{method_class}")
    };
    html! {
        details class=(class) {
            summary {
                span class=(format!("op-method method-{method_class}")) { (op.method) }
                " "
                code class="op-path" { (op.path) }
                @if let Some(summary) = &op.summary {
                    " " span class="op-summary" { (summary) }
                }
                @if op.deprecated {
                    " " span class="badge badge-deprecated" { "deprecated" }
                }
            }
            div class="op-body" {
                @if let Some(id) = &op.operation_id {
                    p class="op-id" { "Operation ID: " code { (id) } }
                }
                @if let Some(description) = &op.description {
                    (paragraphs(description, "op-description"))
                }
                @if !op.parameters.is_empty() {
                    table class="op-params" {
                        caption { "Parameters" }
                        thead {
                            tr {
                                th scope="col" { "Name" }
                                th scope="col" { "In" }
                                th scope="col" { "Type" }
                                th scope="col" { "Required" }
                                th scope="col" { "Description" }
                            }
                        }
                        tbody {
                            @for p in &op.parameters {
                                tr {
                                    td { code { (p.name) } }
                                    td { (p.location) }
                                    td { (p.schema_type.as_deref().unwrap_or("—")) }
                                    td { @if p.required { "yes" } @else { "no" } }
                                    td { (p.description.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
                @if !op.request_body.is_empty() {
                    div class="op-request" {
                        h4 { "Request body" }
                        ul {
                            @for content_type in &op.request_body {
                                li { code { (content_type) } }
                            }
                        }
                    }
                }
                @if !op.responses.is_empty() {
                    table class="op-responses" {
                        caption { "Responses" }
                        thead {
                            tr {
                                th scope="col" { "Code" }
                                th scope="col" { "Description" }
                            }
                        }
                        tbody {
                            @for (status, description) in &op.responses {
                                tr {
                                    td { code { (status) } }
                                    td { (description) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Plain text split into escaped `<p>`s at blank lines.
fn paragraphs(text: &str, class: &str) -> Markup {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                parts.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line.trim_end());
        }
    }
    if !current.is_empty() {
        parts.push(current.join("\n"));
    }
    html! {
        div class=(class) {
            @for part in &parts {
                p { (part) }
            }
        }
    }
}
