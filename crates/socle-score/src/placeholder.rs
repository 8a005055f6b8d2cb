//! Score placeholders: `${metadata.name}`, `${resources.db.host}`, `${resources.data}`; a dot in
//! a key is written `\.`; `$$` is a literal `$`. A `$` followed by anything else is kept as is.

use serde_json::Value;
use socle_catalog::yaml::Seg;

use crate::model::Workload;
use crate::{Locator, ScoreError};

/// What a placeholder points at.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reference {
    /// `${metadata.a.b}` → `["a", "b"]`.
    Metadata(Vec<String>),
    /// `${resources.name.out.sub}` → name and `["out", "sub"]` (empty: the resource itself).
    Resource { name: String, path: Vec<String> },
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |p: &[String]| {
            p.iter()
                .map(|s| s.replace('.', "\\."))
                .collect::<Vec<_>>()
                .join(".")
        };
        match self {
            Reference::Metadata(p) => write!(f, "${{metadata.{}}}", join(p)),
            Reference::Resource { name, path } if path.is_empty() => {
                write!(f, "${{resources.{name}}}")
            }
            Reference::Resource { name, path } => write!(f, "${{resources.{name}.{}}}", join(path)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("unterminated placeholder at byte {0}: \"${{\" without a closing \"}}\"")]
    Unterminated(usize),
    #[error(
        "invalid placeholder \"${{{0}}}\": expected ${{metadata.<key>}} or ${{resources.<name>[.<output>…]}}"
    )]
    Invalid(String),
    #[error("{0}")]
    Unresolved(String),
}

fn split_path(inner: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = inner.chars().peekable();
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
    parts
}

fn parse_reference(inner: &str) -> Result<Reference, PlaceholderError> {
    let invalid = || PlaceholderError::Invalid(inner.to_owned());
    if inner.is_empty()
        || !inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '\\'))
    {
        return Err(invalid());
    }
    let parts = split_path(inner);
    if parts.iter().any(String::is_empty) {
        return Err(invalid());
    }
    match parts.split_first() {
        Some((head, rest)) if head == "metadata" && !rest.is_empty() => {
            Ok(Reference::Metadata(rest.to_vec()))
        }
        Some((head, rest)) if head == "resources" && !rest.is_empty() => Ok(Reference::Resource {
            name: rest[0].clone(),
            path: rest[1..].to_vec(),
        }),
        _ => Err(invalid()),
    }
}

enum Piece<'a> {
    Text(&'a str),
    Ref(Reference),
}

fn scan(text: &str) -> Result<Vec<Piece<'_>>, PlaceholderError> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut i, mut start) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'$' => {
                    out.push(Piece::Text(&text[start..i + 1]));
                    i += 2;
                    start = i;
                    continue;
                }
                b'{' => {
                    let close = text[i + 2..]
                        .find('}')
                        .ok_or(PlaceholderError::Unterminated(i))?
                        + i
                        + 2;
                    out.push(Piece::Text(&text[start..i]));
                    out.push(Piece::Ref(parse_reference(&text[i + 2..close])?));
                    i = close + 1;
                    start = i;
                    continue;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push(Piece::Text(&text[start..]));
    Ok(out)
}

/// The references a string makes.
pub fn references(text: &str) -> Result<Vec<Reference>, PlaceholderError> {
    Ok(scan(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref(r) => Some(r),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Replaces every placeholder with what `resolve` gives, and `$$` with `$`. A reference
/// `resolve` cannot give is its error (usually [`PlaceholderError::Unresolved`]), returned as is.
pub fn substitute(
    text: &str,
    resolve: &mut dyn FnMut(&Reference) -> Result<String, PlaceholderError>,
) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(text.len());
    for piece in scan(text)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(r) => out.push_str(&resolve(&r)?),
        }
    }
    Ok(out)
}

/// Every placeholder-bearing string of a workload, with its field path.
pub fn expandable_strings(w: &Workload) -> Vec<(Vec<Seg>, &str)> {
    let k = |s: &str| Seg::Key(s.to_owned());
    let mut out = Vec::new();
    for (cname, c) in &w.containers {
        let base = vec![k("containers"), k(cname)];
        for (var, v) in &c.variables {
            out.push((
                [base.clone(), vec![k("variables"), k(var)]].concat(),
                v.as_str(),
            ));
        }
        for (target, f) in &c.files {
            if let (Some(content), false) = (&f.content, f.no_expand) {
                out.push((
                    [base.clone(), vec![k("files"), k(target), k("content")]].concat(),
                    content.as_str(),
                ));
            }
        }
        for (target, v) in &c.volumes {
            out.push((
                [base.clone(), vec![k("volumes"), k(target), k("source")]].concat(),
                v.source.as_str(),
            ));
        }
    }
    for (rname, r) in &w.resources {
        if let Some(params) = &r.params {
            collect_strings(
                params,
                vec![k("resources"), k(rname), k("params")],
                &mut out,
            );
        }
    }
    out
}

fn collect_strings<'a>(v: &'a Value, path: Vec<Seg>, out: &mut Vec<(Vec<Seg>, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                collect_strings(x, p, out);
            }
        }
        Value::Object(m) => {
            for (key, x) in m {
                let mut p = path.clone();
                p.push(Seg::Key(key.clone()));
                collect_strings(x, p, out);
            }
        }
        _ => {}
    }
}

fn metadata_has(w: &Workload, path: &[String]) -> bool {
    let mut cur: Option<&Value> = path.first().and_then(|p| w.metadata.get(p));
    for p in path.iter().skip(1) {
        cur = cur.and_then(|v| v.get(p));
    }
    cur.is_some()
}

/// Checks that every placeholder parses and names something the workload declares.
pub(crate) fn check_references(w: &Workload, loc: &Locator<'_>, errors: &mut Vec<ScoreError>) {
    for (path, text) in expandable_strings(w) {
        match references(text) {
            Err(e) => errors.push(loc.error(&path, "placeholder.syntax", e.to_string())),
            Ok(refs) => {
                for r in refs {
                    match &r {
                        Reference::Metadata(p) if !metadata_has(w, p) => errors.push(loc.error(
                            &path,
                            "placeholder.unknown-metadata",
                            format!("{r} refers to metadata that the workload does not have"),
                        )),
                        Reference::Resource { name, .. } if !w.resources.contains_key(name) => {
                            let known: Vec<&str> = w.resources.keys().map(String::as_str).collect();
                            errors.push(loc.error(
                                &path,
                                "placeholder.unknown-resource",
                                format!(
                                    "{r} refers to resource \"{name}\", which is not declared under resources (declared: {})",
                                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                                ),
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every well-formed resource reference inside a JSON value's strings.
pub(crate) fn collect_resource_refs(v: &Value) -> Vec<Reference> {
    let mut strings = Vec::new();
    collect_strings(v, Vec::new(), &mut strings);
    strings
        .into_iter()
        .flat_map(|(_, s)| references(s).unwrap_or_default())
        .filter(|r| matches!(r, Reference::Resource { .. }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sub(text: &str) -> Result<String, PlaceholderError> {
        substitute(text, &mut |r| match r {
            Reference::Metadata(p) if p == &["name"] => Ok("web".into()),
            Reference::Resource { name, path } => Ok(format!("<{name}:{}>", path.join("|"))),
            other => Err(PlaceholderError::Unresolved(format!("{other} is unknown"))),
        })
    }

    #[test]
    fn substitution_and_escapes() {
        assert_eq!(sub("I am ${metadata.name}").unwrap(), "I am web");
        assert_eq!(
            sub("redis://${resources.cache-a.host}:${resources.cache-a.port}").unwrap(),
            "redis://<cache-a:host>:<cache-a:port>"
        );
        assert_eq!(sub("$$_$${fizzbuzz}").unwrap(), "$_${fizzbuzz}");
        assert_eq!(sub("${resources.data}").unwrap(), "<data:>");
        assert_eq!(sub("${resources.x.a\\.b.c}").unwrap(), "<x:a.b|c>");
        assert_eq!(sub("cost: 5$ or $HOME").unwrap(), "cost: 5$ or $HOME");
        assert_eq!(
            sub("${metadata.nope}").unwrap_err(),
            PlaceholderError::Unresolved("${metadata.nope} is unknown".into())
        );
        assert_eq!(
            sub("x ${resources.a").unwrap_err(),
            PlaceholderError::Unterminated(2)
        );
        assert_eq!(
            sub("${foo.bar}").unwrap_err(),
            PlaceholderError::Invalid("foo.bar".into())
        );
        assert_eq!(
            sub("${resources..x}").unwrap_err(),
            PlaceholderError::Invalid("resources..x".into())
        );
    }

    proptest! {
        #[test]
        fn text_without_dollars_is_unchanged(s in "[^$]{0,80}") {
            prop_assert_eq!(sub(&s).unwrap(), s);
        }

        #[test]
        fn escaping_roundtrips(s in "\\PC{0,60}") {
            // Escaping every `$` as `$$` always yields the original text back.
            let escaped = s.replace('$', "$$");
            prop_assert_eq!(sub(&escaped).unwrap(), s);
        }

        #[test]
        fn display_parses_back(name in "[a-z][a-z0-9-]{0,10}", out in "[a-z][a-z0-9_.]{0,10}") {
            let r = Reference::Resource { name: name.clone(), path: vec![out.clone()] };
            let text = r.to_string();
            prop_assert_eq!(references(&text).unwrap(), vec![r]);
        }
    }
}
