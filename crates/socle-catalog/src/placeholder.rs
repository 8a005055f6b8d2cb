//! `$text`, `$json` and `$yaml` substitutions: a mapping with a single `$`-key is replaced by the
//! content of the file or URL it names. Reading is delegated to the caller (IO stays at the edge).

use serde_json::Value;

use crate::limits::Limits;
use crate::yaml::{self, Seg};

/// Reads what a placeholder points at, relative to the file that contains it.
pub trait PlaceholderReader {
    /// Returns the content of `target` as seen from `base` (the file being processed).
    /// The error's message names the target.
    fn read(&self, base: &str, target: &str) -> Result<String, PlaceholderReadError>;
}

/// Why a reader could not give a placeholder's content.
#[derive(Debug, thiserror::Error)]
pub enum PlaceholderReadError {
    /// This context reads no files (e.g. entities posted through the API).
    #[error("cannot read \"{target}\": placeholders are not resolved here")]
    NotResolvedHere { target: String },
    /// A URL, while only the location's own files are read.
    #[error(
        "{target} is a remote URL; this Socle reads placeholders only from the location's own files (no network reader is configured)"
    )]
    RemoteUrl { target: String },
    /// The file is not UTF-8 text.
    #[error("{file} is not UTF-8: {source}")]
    NotUtf8 {
        file: String,
        source: std::string::FromUtf8Error,
    },
    /// What the reader's own source reports (a missing file, a path that leaves the root, a
    /// file over the size limit…).
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

/// A reader for contexts that have no files (e.g. entities posted through the API).
pub struct NoReader;

impl PlaceholderReader for NoReader {
    fn read(&self, _base: &str, target: &str) -> Result<String, PlaceholderReadError> {
        Err(PlaceholderReadError::NotResolvedHere {
            target: target.to_owned(),
        })
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

/// What the placeholders have substituted so far: per document (`count`, `bytes`) and per file
/// (`file_bytes`, carried from one document of a file to the next).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    pub count: usize,
    pub bytes: usize,
    pub file_bytes: usize,
}

impl Spent {
    /// A new document of the same file: the document's counters start again.
    pub fn next_document(self) -> Self {
        Self {
            file_bytes: self.file_bytes,
            ..Self::default()
        }
    }
}

/// Replaces every placeholder in `value`, depth-first, within the budgets of `limits`
/// (`max_placeholders`, `max_placeholder_bytes`, `max_placeholder_file_bytes`): the first
/// placeholder that would exceed one is refused before its content is kept.
pub fn substitute(
    value: &mut Value,
    base: &str,
    reader: &dyn PlaceholderReader,
    limits: &Limits,
    path: &mut Vec<Seg>,
    spent: &mut Spent,
) -> Result<(), PlaceholderError> {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                let (key, arg) = map.iter().next().expect("one entry");
                if let Some(kind) = key.strip_prefix('$') {
                    let at = At { path, key, limits };
                    let replacement = resolve(kind, arg, base, reader, &at, spent)?;
                    *value = replacement;
                    return Ok(());
                }
            }
            for (k, v) in map.iter_mut() {
                path.push(Seg::Key(k.clone()));
                substitute(v, base, reader, limits, path, spent)?;
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(Seg::Index(i));
                substitute(v, base, reader, limits, path, spent)?;
                path.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Where a placeholder is and the limits it answers to.
struct At<'a> {
    path: &'a [Seg],
    key: &'a str,
    limits: &'a Limits,
}

impl At<'_> {
    fn err(&self, rule: &'static str, message: String, value: Option<String>) -> PlaceholderError {
        PlaceholderError {
            path: self.path.to_vec(),
            rule,
            message,
            value,
        }
    }

    /// Counts one more placeholder in the document.
    fn count(&self, spent: &mut Spent) -> Result<(), PlaceholderError> {
        spent.count += 1;
        if spent.count > self.limits.max_placeholders {
            return Err(self.err(
                "placeholder.budget.count",
                format!(
                    "placeholder {}: this document has more than {} placeholders (max_placeholders): refused",
                    self.key, self.limits.max_placeholders
                ),
                None,
            ));
        }
        Ok(())
    }

    /// Charges `size` substituted bytes to the document and the file.
    fn charge(&self, spent: &mut Spent, size: usize, target: &str) -> Result<(), PlaceholderError> {
        let l = self.limits;
        let (bytes, file_bytes) = (
            spent.bytes.saturating_add(size),
            spent.file_bytes.saturating_add(size),
        );
        if bytes > l.max_placeholder_bytes || file_bytes > l.max_placeholder_file_bytes {
            return Err(self.over_budget(spent, size, target));
        }
        spent.bytes = bytes;
        spent.file_bytes = file_bytes;
        Ok(())
    }

    /// The error for `size` more bytes (`usize::MAX`: more than is left, size unknown).
    fn over_budget(&self, spent: &Spent, size: usize, target: &str) -> PlaceholderError {
        let l = self.limits;
        let doc_left = l.max_placeholder_bytes - spent.bytes;
        let file_left = l.max_placeholder_file_bytes - spent.file_bytes;
        let document = if size == usize::MAX {
            doc_left <= file_left
        } else {
            spent.bytes.saturating_add(size) > l.max_placeholder_bytes
        };
        let (rule, whose, used, budget, name) = if document {
            let budget = l.max_placeholder_bytes;
            (
                "placeholder.budget.bytes",
                "this document's",
                spent.bytes,
                budget,
                "max_placeholder_bytes",
            )
        } else {
            let budget = l.max_placeholder_file_bytes;
            (
                "placeholder.budget.file-bytes",
                "this file's",
                spent.file_bytes,
                budget,
                "max_placeholder_file_bytes",
            )
        };
        let what = if size == usize::MAX {
            format!("expands to more than the {} bytes left", budget - used)
        } else {
            format!(
                "({size} bytes) would bring {whose} substituted content to {} bytes",
                used.saturating_add(size)
            )
        };
        self.err(
            rule,
            format!(
                "placeholder {}: \"{target}\" {what}, more than the budget of {budget} bytes of placeholder content ({name}): refused",
                self.key
            ),
            Some(target.to_owned()),
        )
    }
}

/// Bytes of `v` written as JSON, counted without building the text.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

fn resolve(
    kind: &str,
    arg: &Value,
    base: &str,
    reader: &dyn PlaceholderReader,
    at: &At<'_>,
    spent: &mut Spent,
) -> Result<Value, PlaceholderError> {
    let key = at.key;
    if !matches!(kind, "text" | "json" | "yaml") {
        return Err(at.err(
            "placeholder.unknown",
            format!("unknown placeholder {key}; expected one of $text, $json, $yaml"),
            Some(key.to_owned()),
        ));
    }
    let Value::String(target) = arg else {
        return Err(at.err(
            "placeholder.type",
            format!("placeholder {key} expects a string (a relative path or URL)"),
            Some(arg.to_string()),
        ));
    };
    at.count(spent)?;
    let text = reader.read(base, target).map_err(|m| {
        at.err(
            "placeholder.read",
            format!("placeholder {key} could not be read: {m}"),
            Some(target.clone()),
        )
    })?;
    // Aliases can make a small YAML file large: what is left of the budgets bounds its text.
    let l = at.limits;
    let left = (l.max_placeholder_bytes - spent.bytes)
        .min(l.max_placeholder_file_bytes - spent.file_bytes);
    at.charge(spent, text.len(), target)?;
    match kind {
        "text" => Ok(Value::String(text)),
        "json" => serde_json::from_str(&text).map_err(|e| {
            at.err(
                "placeholder.json",
                format!("placeholder {key}: {target} is not valid JSON: {e}"),
                Some(target.clone()),
            )
        }),
        _ => {
            let bounded = Limits {
                max_file_bytes: l.max_file_bytes.min(left),
                ..l.clone()
            };
            let docs = yaml::parse_documents(&text, &bounded).map_err(|e| {
                if e.limit && bounded.max_file_bytes < l.max_file_bytes {
                    // The expansion would exceed the budget: say which.
                    return at.over_budget(spent, usize::MAX, target);
                }
                at.err(
                    "placeholder.yaml",
                    format!(
                        "placeholder {key}: {target} is not valid YAML: {}",
                        e.message
                    ),
                    Some(target.clone()),
                )
            })?;
            let value = docs.first().map(|d| d.to_json()).unwrap_or(Value::Null);
            let expanded = json_len(&value).saturating_sub(text.len());
            at.charge(spent, expanded, target)?;
            Ok(value)
        }
    }
}
