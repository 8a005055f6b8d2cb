//! Turning one YAML document into a validated entity with its relations.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::emitted::Emitted;
use crate::entity_ref::{DEFAULT_NAMESPACE, EntityRef};
use crate::error::EntityError;
use crate::kinds::{self, KindSpec};
use crate::limits::Limits;
use crate::placeholder::{self, PlaceholderReader, Spent};
use crate::rules;
use crate::spec::{check_spec, emit_relations, spec_type};
use crate::yaml::{Node, Seg, path_string};

/// Annotation naming the location (file) an entity was read from.
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
/// Annotation naming the registered location that led to the entity.
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// A validated entity, kept compact: the body as JSON text (large catalogs hold many of these).
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub entity_ref: EntityRef,
    /// The entity as stored and served (placeholders resolved, namespace and annotations set).
    pub body: String,
    /// The relations this entity's own spec emits (`self --type--> target`); each implies its
    /// inverse on the target.
    pub relations: Emitted,
    /// Where it was read from (display name) and its `managed-by-location` key, shared by all
    /// the entities of a file.
    pub file: Arc<str>,
    pub location: Arc<str>,
    pub line: u32,
}

impl Entity {
    /// The body parsed (for the few callers that need fields, e.g. Location targets).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// For Location entities: `spec.type`, the targets (`target` and `targets`) and whether
    /// they must exist (`presence`).
    pub fn location_targets(&self) -> LocationTargets {
        let v = self.value();
        let spec = &v["spec"];
        let mut targets: Vec<String> = spec["target"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(list) = spec["targets"].as_array() {
            targets.extend(list.iter().filter_map(|t| t.as_str().map(str::to_owned)));
        }
        LocationTargets {
            kind: spec["type"].as_str().map(str::to_owned),
            targets,
            presence: match spec["presence"].as_str() {
                Some("optional") => Presence::Optional,
                _ => Presence::Required,
            },
        }
    }
}

/// What a Location entity points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationTargets {
    /// `spec.type` as written (`file`, `url`, …); none means the type of the location the entity
    /// was read from, as in Backstage.
    pub kind: Option<String>,
    pub targets: Vec<String>,
    pub presence: Presence,
}

/// `spec.presence` of a Location entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// A target that cannot be read is an error (the default).
    Required,
    /// A target that cannot be read yields nothing.
    Optional,
}

/// Where a document comes from and how to read what it refers to.
pub struct DocContext<'a> {
    /// Display name of the file (used in errors and `Entity::file`).
    pub file: Arc<str>,
    /// Value of `backstage.io/managed-by-location`, e.g. `file:/srv/repo/catalog-info.yaml`.
    pub location: Arc<str>,
    /// Value of `backstage.io/managed-by-origin-location`.
    pub origin: &'a str,
    pub reader: &'a dyn PlaceholderReader,
    pub limits: &'a Limits,
}

pub(crate) struct Issues<'a> {
    node: &'a Node,
    file: &'a str,
    entity: Option<String>,
    list: Vec<EntityError>,
}

impl Issues<'_> {
    pub(crate) fn push(
        &mut self,
        path: &[Seg],
        rule: &str,
        message: String,
        value: Option<&Value>,
    ) {
        let (line, column) = self.node.locate(path);
        self.list.push(EntityError {
            file: self.file.to_owned(),
            line: Some(line).filter(|l| *l > 0),
            column: Some(column).filter(|c| *c > 0),
            entity: self.entity.clone(),
            path: path_string(path),
            rule: rule.to_owned(),
            message,
            value: value.map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        });
    }
}

pub(crate) fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Validates and normalises one document. On failure, every problem found is returned.
pub fn process_document(node: &Node, ctx: &DocContext<'_>) -> Result<Entity, Vec<EntityError>> {
    process_file_document(node, ctx, &mut Spent::default())
}

/// [`process_document`] for one document of a file: `spent` carries what the placeholders of
/// the file's earlier documents substituted (the per-file budget).
pub fn process_file_document(
    node: &Node,
    ctx: &DocContext<'_>,
    spent: &mut Spent,
) -> Result<Entity, Vec<EntityError>> {
    *spent = spent.next_document();
    let mut issues = Issues {
        node,
        file: &ctx.file,
        entity: None,
        list: Vec::new(),
    };
    let mut value = node.to_json();
    let Some(root) = value.as_object() else {
        issues.push(
            &[],
            "document.type",
            format!(
                "expected an entity (a mapping) but found {}",
                type_name(&value)
            ),
            None,
        );
        return Err(issues.list);
    };

    // Identify the entity early so that every error can name it.
    let kind = root
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let namespace = root
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    if let Some(name) = &name {
        let k = if kind.is_empty() { "unknown" } else { &kind };
        issues.entity = Some(format!("{}:{}/{}", k, namespace, name).to_lowercase());
    }

    let mut path = Vec::new();
    if let Err(e) = placeholder::substitute(
        &mut value, &ctx.file, ctx.reader, ctx.limits, &mut path, spent,
    ) {
        let v = e.value.map(Value::String);
        issues.push(&e.path, e.rule, e.message, v.as_ref());
        return Err(issues.list);
    }
    let root = value.as_object_mut().expect("checked above");
    root.remove("relations");
    root.remove("status");

    check_envelope(root, &mut issues);
    let spec_kind = check_kind(root, &mut issues);
    check_metadata(root, &mut issues);
    let shape = spec_kind.map(|k| k.shape(spec_type(root)));
    if let (Some(spec_kind), Some(shape)) = (spec_kind, &shape) {
        check_spec(root, spec_kind, shape, &mut issues);
    }
    if !issues.list.is_empty() {
        return Err(issues.list);
    }
    let spec_kind = spec_kind.expect("no issues means a known kind");
    let shape = shape.expect("a known kind has a shape");
    let name = name.expect("no issues means a name");
    let self_ref = EntityRef::new(spec_kind.kind, &namespace, &name);

    let relations = emit_relations(root, &shape, &self_ref, &mut issues);
    if !issues.list.is_empty() {
        return Err(issues.list);
    }

    let metadata = root
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .expect("validated");
    metadata.insert("namespace".into(), Value::String(namespace));
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(
            MANAGED_BY_LOCATION.into(),
            Value::String(ctx.location.to_string()),
        );
        a.insert(
            MANAGED_BY_ORIGIN_LOCATION.into(),
            Value::String(ctx.origin.to_owned()),
        );
    }
    // Held until the store has them, a million at a time: no spare capacity (the JSON writer
    // doubles its buffer, so a 600-byte body had 1,024 bytes; relations grow the same way).
    let mut body = value.to_string();
    body.shrink_to_fit();
    Ok(Entity {
        entity_ref: self_ref,
        body,
        relations,
        file: ctx.file.clone(),
        location: ctx.location.clone(),
        line: node.line.max(1),
    })
}

const ROOT_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];

fn check_envelope(root: &Map<String, Value>, issues: &mut Issues<'_>) {
    for (k, v) in root {
        if !ROOT_FIELDS.contains(&k.as_str()) {
            issues.push(
                &[key(k)],
                "entity.unknown-field",
                format!("unknown top-level field \"{k}\"; an entity has only apiVersion, kind, metadata and spec"),
                Some(v),
            );
        }
    }
    match root.get("apiVersion") {
        None => issues.push(
            &[],
            "apiVersion.required",
            "\"apiVersion\" is required, e.g. backstage.io/v1alpha1".into(),
            None,
        ),
        Some(Value::String(s)) if !rules::is_api_version(s) => issues.push(
            &[key("apiVersion")],
            "apiVersion.format",
            format!(
                "\"apiVersion\" is not valid; expected {} but found \"{s}\"",
                rules::API_VERSION_EXPECTED
            ),
            None,
        ),
        Some(Value::String(_)) => {}
        Some(v) => issues.push(
            &[key("apiVersion")],
            "apiVersion.type",
            format!("\"apiVersion\" must be a string but is {}", type_name(v)),
            Some(v),
        ),
    }
    match root.get("spec") {
        None | Some(Value::Object(_)) => {}
        Some(v) => issues.push(
            &[key("spec")],
            "spec.type",
            format!("\"spec\" must be a mapping but is {}", type_name(v)),
            Some(v),
        ),
    }
}

fn check_kind(root: &Map<String, Value>, issues: &mut Issues<'_>) -> Option<&'static KindSpec> {
    let kind = match root.get("kind") {
        None => {
            issues.push(
                &[],
                "kind.required",
                "\"kind\" is required, e.g. Component".into(),
                None,
            );
            return None;
        }
        Some(Value::String(s)) => s,
        Some(v) => {
            issues.push(
                &[key("kind")],
                "kind.type",
                format!("\"kind\" must be a string but is {}", type_name(v)),
                Some(v),
            );
            return None;
        }
    };
    if !rules::is_kind(kind) {
        issues.push(
            &[key("kind")],
            "kind.format",
            format!(
                "\"kind\" is not valid; expected {} but found \"{kind}\"",
                rules::KIND_EXPECTED
            ),
            None,
        );
        return None;
    }
    let Some(spec) = kinds::kind_spec(kind) else {
        let hint = match kinds::canonical_kind(kind) {
            Some(c) => format!(" (kinds are case-sensitive: did you mean {c}?)"),
            None => String::new(),
        };
        let known: Vec<&str> = kinds::KINDS.iter().map(|k| k.kind).collect();
        issues.push(
            &[key("kind")],
            "kind.unknown",
            format!(
                "unknown kind \"{kind}\"{hint}; expected one of {}",
                known.join(", ")
            ),
            None,
        );
        return None;
    };
    if let Some(Value::String(v)) = root.get("apiVersion")
        && rules::is_api_version(v)
        && !kinds::api_versions(spec.kind).contains(&v.as_str())
    {
        issues.push(
            &[key("apiVersion")],
            "apiVersion.unsupported",
            format!(
                "apiVersion \"{v}\" is not supported for kind {kind}; expected one of {}",
                kinds::api_versions(spec.kind).join(", ")
            ),
            None,
        );
    }
    Some(spec)
}

fn check_string_field(meta: &Map<String, Value>, field: &str, issues: &mut Issues<'_>) {
    if let Some(v) = meta.get(field)
        && !v.is_string()
    {
        issues.push(
            &[key("metadata"), key(field)],
            &format!("metadata.{field}.type"),
            format!(
                "\"metadata.{field}\" must be a string but is {}",
                type_name(v)
            ),
            Some(v),
        );
    }
}

fn check_metadata(root: &Map<String, Value>, issues: &mut Issues<'_>) {
    let meta = match root.get("metadata") {
        Some(Value::Object(m)) => m,
        None => {
            issues.push(
                &[],
                "metadata.required",
                "\"metadata\" is required and must contain a name".into(),
                None,
            );
            return;
        }
        Some(v) => {
            issues.push(
                &[key("metadata")],
                "metadata.type",
                format!("\"metadata\" must be a mapping but is {}", type_name(v)),
                Some(v),
            );
            return;
        }
    };
    check_name(meta, issues);
    check_namespace(meta, issues);
    for field in ["title", "description", "uid", "etag"] {
        check_string_field(meta, field, issues);
    }
    for (field, is_label) in [("labels", true), ("annotations", false)] {
        check_string_map(meta, field, is_label, issues);
    }
    check_tags(meta, issues);
    check_links(meta, issues);
}

/// The path of a metadata field.
fn meta_path(field: &str) -> Vec<Seg> {
    vec![key("metadata"), key(field)]
}

fn check_name(meta: &Map<String, Value>, issues: &mut Issues<'_>) {
    match meta.get("name") {
        None => issues.push(
            &[key("metadata")],
            "metadata.name.required",
            "\"metadata.name\" is required".into(),
            None,
        ),
        Some(Value::String(n)) if !rules::is_object_name(n) => issues.push(
            &meta_path("name"),
            "metadata.name.format",
            format!(
                "\"metadata.name\" is not valid; expected {} but found \"{n}\"",
                rules::NAME_EXPECTED
            ),
            Some(&Value::String(n.clone())),
        ),
        Some(Value::String(_)) => {}
        Some(v) => issues.push(
            &meta_path("name"),
            "metadata.name.type",
            format!("\"metadata.name\" must be a string but is {}", type_name(v)),
            Some(v),
        ),
    }
}

fn check_namespace(meta: &Map<String, Value>, issues: &mut Issues<'_>) {
    match meta.get("namespace") {
        Some(Value::String(n)) if !rules::is_namespace(n) => issues.push(
            &meta_path("namespace"),
            "metadata.namespace.format",
            format!(
                "\"metadata.namespace\" is not valid; expected {} but found \"{n}\"",
                rules::NAMESPACE_EXPECTED
            ),
            Some(&Value::String(n.clone())),
        ),
        None | Some(Value::String(_)) => {}
        Some(v) => issues.push(
            &meta_path("namespace"),
            "metadata.namespace.type",
            format!(
                "\"metadata.namespace\" must be a string but is {}",
                type_name(v)
            ),
            Some(v),
        ),
    }
}

/// `metadata.labels` or `metadata.annotations`: label keys, string values (label values in
/// label form).
fn check_string_map(
    meta: &Map<String, Value>,
    field: &str,
    is_label: bool,
    issues: &mut Issues<'_>,
) {
    match meta.get(field) {
        None => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let p = vec![key("metadata"), key(field), key(k)];
                if !rules::is_label_key(k) {
                    issues.push(
                        &p,
                        &format!("metadata.{field}.key"),
                        format!(
                            "key \"{k}\" in \"metadata.{field}\" is not valid; expected {}",
                            rules::LABEL_KEY_EXPECTED
                        ),
                        Some(&Value::String(k.clone())),
                    );
                }
                match v {
                    Value::String(s) if is_label && !rules::is_label_value(s) => issues.push(
                        &p,
                        "metadata.labels.value",
                        format!("value of label \"{k}\" is not valid; expected an empty string or {} but found \"{s}\"", rules::NAME_EXPECTED),
                        Some(v),
                    ),
                    Value::String(_) => {}
                    other => issues.push(
                        &p,
                        &format!("metadata.{field}.type"),
                        format!("value of \"metadata.{field}.{k}\" must be a string but is {}", type_name(other)),
                        Some(other),
                    ),
                }
            }
        }
        Some(v) => issues.push(
            &meta_path(field),
            &format!("metadata.{field}.type"),
            format!(
                "\"metadata.{field}\" must be a mapping but is {}",
                type_name(v)
            ),
            Some(v),
        ),
    }
}

fn check_tags(meta: &Map<String, Value>, issues: &mut Issues<'_>) {
    match meta.get("tags") {
        None => {}
        Some(Value::Array(tags)) => {
            for (i, t) in tags.iter().enumerate() {
                let p = vec![key("metadata"), key("tags"), Seg::Index(i)];
                match t {
                    Value::String(s) if !rules::is_tag(s) => issues.push(
                        &p,
                        "metadata.tags.format",
                        format!("tag \"{s}\" is not valid; expected {}", rules::TAG_EXPECTED),
                        Some(t),
                    ),
                    Value::String(_) => {}
                    other => issues.push(
                        &p,
                        "metadata.tags.type",
                        format!("a tag must be a string but is {}", type_name(other)),
                        Some(other),
                    ),
                }
            }
        }
        Some(v) => issues.push(
            &meta_path("tags"),
            "metadata.tags.type",
            format!(
                "\"metadata.tags\" must be a list of strings but is {}",
                type_name(v)
            ),
            Some(v),
        ),
    }
}

fn check_links(meta: &Map<String, Value>, issues: &mut Issues<'_>) {
    match meta.get("links") {
        None => {}
        Some(Value::Array(links)) => {
            for (i, l) in links.iter().enumerate() {
                let p = vec![key("metadata"), key("links"), Seg::Index(i)];
                match l {
                    Value::Object(o) => check_link(&p, l, o, issues),
                    other => issues.push(
                        &p,
                        "metadata.links.type",
                        format!(
                            "a link must be a mapping with a url but is {}",
                            type_name(other)
                        ),
                        Some(other),
                    ),
                }
            }
        }
        Some(v) => issues.push(
            &meta_path("links"),
            "metadata.links.type",
            format!("\"metadata.links\" must be a list but is {}", type_name(v)),
            Some(v),
        ),
    }
}

/// One link (`l`, the mapping `o`, at `p`): a non-empty url, string title, icon and type.
fn check_link(p: &[Seg], l: &Value, o: &Map<String, Value>, issues: &mut Issues<'_>) {
    match o.get("url") {
        Some(Value::String(u)) if !u.is_empty() => {}
        _ => issues.push(
            p,
            "metadata.links.url",
            "a link needs a \"url\" (a non-empty string)".into(),
            Some(l),
        ),
    }
    for f in ["title", "icon", "type"] {
        if let Some(v) = o.get(f)
            && !v.is_string()
        {
            let mut pf = p.to_vec();
            pf.push(key(f));
            issues.push(
                &pf,
                "metadata.links.type",
                format!("link \"{f}\" must be a string but is {}", type_name(v)),
                Some(v),
            );
        }
    }
}
