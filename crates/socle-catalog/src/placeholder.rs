//! `$text`, `$json` and `$yaml` substitutions: a mapping with a single `$`-key is replaced by the
//! content of the file or URL it names. Reading is delegated to the caller (IO stays at the edge).

use serde_json::Value;

use crate::limits::Limits;
use crate::yaml::{self, Seg};

/// Reads what a placeholder points at, relative to the file that contains it.
pub trait PlaceholderReader {
    /// Returns the content of `target` as seen from `base` (the file being processed).
    /// The error is a human message that names the target.
    fn read(&self, base: &str, target: &str) -> Result<String, String>;
}

/// A reader for contexts that have no files (e.g. entities posted through the API).
pub struct NoReader;

impl PlaceholderReader for NoReader {
    fn read(&self, _base: &str, target: &str) -> Result<String, String> {
        Err(format!(
            "cannot read \"{target}\": placeholders are not resolved here"
        ))
    }
}

/// A placeholder that could not be resolved.
#[derive(Debug)]
pub struct PlaceholderError {
    pub path: Vec<Seg>,
    pub rule: &'static str,
    pub message: String,
    pub value: Option<String>,
}

/// Replaces every placeholder in `value`, depth-first.
pub fn substitute(
    value: &mut Value,
    base: &str,
    reader: &dyn PlaceholderReader,
    limits: &Limits,
    path: &mut Vec<Seg>,
) -> Result<(), PlaceholderError> {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                let (key, arg) = map.iter().next().expect("one entry");
                if let Some(kind) = key.strip_prefix('$') {
                    let replacement = resolve(kind, arg, base, reader, limits, path, key)?;
                    *value = replacement;
                    return Ok(());
                }
            }
            for (k, v) in map.iter_mut() {
                path.push(Seg::Key(k.clone()));
                substitute(v, base, reader, limits, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                substitute(v, base, reader, limits, path)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn resolve(
    kind: &str,
    arg: &Value,
    base: &str,
    reader: &dyn PlaceholderReader,
    limits: &Limits,
    path: &[Seg],
    key: &str,
) -> Result<Value, PlaceholderError> {
    let err = |rule: &'static str, message: String, value: Option<String>| PlaceholderError {
        path: path.to_vec(),
        rule,
        message,
        value,
    };
    if !matches!(kind, "text" | "json" | "yaml") {
        return Err(err(
            "placeholder.unknown",
            format!("unknown placeholder {key}; expected one of $text, $json, $yaml"),
            Some(key.to_owned()),
        ));
    }
    let Value::String(target) = arg else {
        return Err(err(
            "placeholder.type",
            format!("placeholder {key} expects a string (a relative path or URL)"),
            Some(arg.to_string()),
        ));
    };
    let text = reader.read(base, target).map_err(|m| {
        err(
            "placeholder.read",
            format!("placeholder {key} could not be read: {m}"),
            Some(target.clone()),
        )
    })?;
    match kind {
        "text" => Ok(Value::String(text)),
        "json" => serde_json::from_str(&text).map_err(|e| {
            err(
                "placeholder.json",
                format!("placeholder {key}: {target} is not valid JSON: {e}"),
                Some(target.clone()),
            )
        }),
        _ => {
            let docs = yaml::parse_documents(&text, limits).map_err(|e| {
                err(
                    "placeholder.yaml",
                    format!(
                        "placeholder {key}: {target} is not valid YAML: {}",
                        e.message
                    ),
                    Some(target.clone()),
                )
            })?;
            Ok(docs.first().map(|d| d.to_json()).unwrap_or(Value::Null))
        }
    }
}
