//! An entity's `spec` against its kind's shape (see [`crate::kinds`]): the fields each kind (or
//! `spec.type` of it) requires and their shapes, and the relations its reference fields emit.

use serde_json::{Map, Value};

use crate::emitted::{Emitted, EmittedBuilder};
use crate::entity::{Issues, key, type_name};
use crate::entity_ref::EntityRef;
use crate::kinds::{self, KindSpec, Shape, SpecShape};
use crate::yaml::Seg;

/// `spec.type` when it is a string (some kinds take another shape for some types).
pub(crate) fn spec_type(root: &Map<String, Value>) -> Option<&str> {
    root.get("spec")?.get("type")?.as_str()
}

pub(crate) fn check_spec(
    root: &Map<String, Value>,
    kind: &KindSpec,
    shape: &SpecShape,
    issues: &mut Issues<'_>,
) {
    let empty = Map::new();
    let of_kind = match shape.spec_type {
        Some(t) => format!("kind {} of type {t}", kind.kind),
        None => format!("kind {}", kind.kind),
    };
    let spec = root.get("spec").and_then(Value::as_object);
    if spec.is_none() && shape.fields.iter().any(|f| f.required) {
        issues.push(
            &[],
            "spec.required",
            format!("\"spec\" is required for {of_kind}"),
            None,
        );
        return;
    }
    let spec = spec.unwrap_or(&empty);
    for field in shape.fields {
        let p = vec![key("spec"), key(field.name)];
        let Some(v) = spec.get(field.name) else {
            if field.required {
                issues.push(
                    &[key("spec")],
                    &format!("spec.{}.required", field.name),
                    format!(
                        "\"spec.{}\" is required for {of_kind}: {}",
                        field.name, field.about
                    ),
                    None,
                );
            }
            continue;
        };
        let ok = match (field.shape, v) {
            (Shape::Str, Value::String(s)) => !s.is_empty(),
            (Shape::Object, Value::Object(_)) => true,
            (Shape::OneOf(options), Value::String(s)) => options.contains(&s.as_str()),
            (Shape::Mappings(keys), Value::Array(items)) => {
                check_mappings(&p, field, keys, items, issues);
                !items.is_empty()
            }
            (Shape::StrList, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item, Value::String(s) if !s.is_empty()) {
                        let mut pi = p.clone();
                        pi.push(Seg::Index(i));
                        issues.push(
                            &pi,
                            &format!("spec.{}.type", field.name),
                            format!(
                                "items of \"spec.{}\" must be non-empty strings but this one is {}",
                                field.name,
                                type_name(item)
                            ),
                            Some(item),
                        );
                    }
                }
                true
            }
            _ => false,
        };
        if !ok {
            let expected = match field.shape {
                Shape::Str => "a non-empty string".to_owned(),
                Shape::StrList => "a list of strings".to_owned(),
                Shape::Object => "a mapping".to_owned(),
                Shape::OneOf(o) => format!("one of {}", o.join(", ")),
                Shape::Mappings(keys) => format!(
                    "a non-empty list of mappings, each with {}",
                    keys.join(" and ")
                ),
            };
            issues.push(
                &p,
                &format!("spec.{}.type", field.name),
                format!(
                    "\"spec.{}\" must be {expected} ({}) but is {}",
                    field.name,
                    field.about,
                    describe(v)
                ),
                Some(v),
            );
        }
    }
}

/// The items of a [`Shape::Mappings`] field: each a mapping with a non-empty string under
/// every key of `keys`.
fn check_mappings(
    p: &[Seg],
    field: &kinds::Field,
    keys: &[&str],
    items: &[Value],
    issues: &mut Issues<'_>,
) {
    for (i, item) in items.iter().enumerate() {
        let mut pi = p.to_vec();
        pi.push(Seg::Index(i));
        let Some(map) = item.as_object() else {
            issues.push(
                &pi,
                &format!("spec.{}.type", field.name),
                format!(
                    "items of \"spec.{}\" must be mappings with {} but this one is {}",
                    field.name,
                    keys.join(" and "),
                    type_name(item)
                ),
                Some(item),
            );
            continue;
        };
        for k in keys {
            if !matches!(map.get(*k), Some(Value::String(s)) if !s.is_empty()) {
                let mut pk = pi.clone();
                pk.push(key(k));
                issues.push(
                    &pk,
                    &format!("spec.{}.{k}", field.name),
                    format!(
                        "each item of \"spec.{}\" needs \"{k}\" (a non-empty string): {}",
                        field.name, field.about
                    ),
                    map.get(*k),
                );
            }
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => type_name(other).to_owned(),
    }
}

pub(crate) fn emit_relations(
    root: &Map<String, Value>,
    shape: &SpecShape,
    self_ref: &EntityRef,
    issues: &mut Issues<'_>,
) -> Emitted {
    let mut out = EmittedBuilder::default();
    let Some(spec) = root.get("spec").and_then(Value::as_object) else {
        return out.build();
    };
    for rel in shape.relations {
        let Some(v) = spec.get(rel.field) else {
            continue;
        };
        let targets: Vec<(Vec<Seg>, &str)> = match v {
            Value::String(s) => vec![(vec![key("spec"), key(rel.field)], s.as_str())],
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    t.as_str()
                        .map(|s| (vec![key("spec"), key(rel.field), Seg::Index(i)], s))
                })
                .collect(),
            _ => continue,
        };
        for (path, text) in targets {
            match EntityRef::parse(text, rel.default_kind, self_ref.namespace()) {
                Ok(target) => out.push(rel.outgoing, &target),
                Err(e) => issues.push(
                    &path,
                    &format!("spec.{}.ref", rel.field),
                    e.to_string(),
                    Some(&Value::String(text.to_owned())),
                ),
            }
        }
    }
    out.build()
}
