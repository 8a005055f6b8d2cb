//! Template values escaped for the file they land in.
//!
//! A golden-path skeleton or a resource definition is a template whose output is a structured
//! file — YAML, JSON or TOML. A value a user typed (a service name, a description, a resource
//! parameter) must stay *one value* in that file: a newline or a quote in it must never add a
//! key, a document or a Kubernetes object. This crate makes that the default for minijinja
//! templates, the way HTML template engines escape for HTML:
//!
//! * [`Format::for_path`] picks the format from the file name (`.yaml`/`.yml`, `.json`,
//!   `.toml`; anything else is text and is not escaped);
//! * [`install`] sets a formatter that writes each `{{ value }}` as a scalar of that format — a
//!   plain YAML scalar when that is unambiguous, else a double-quoted string; JSON and TOML
//!   strings always quoted; lists and maps as JSON (which YAML reads as flow collections);
//! * [`prepare`] looks at where each expression stands in the template's source: inside a
//!   double-quoted string (`"Hello ${{ name }}"`) the value is escaped for the inside of that
//!   string, inside a single-quoted one (YAML, TOML literal strings) likewise, or refused when
//!   that string cannot hold it (a newline in a TOML literal string).
//!
//! `| safe` (and `| tojson`, whose output is already escaped) opt out, for a template author who
//! writes structure on purpose.

use std::borrow::Cow;
use std::fmt::Write as _;

use minijinja::value::{StringInput, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, Value};

/// The filter [`prepare`] applies to an expression inside a double-quoted string.
pub const IN_DOUBLE_QUOTES: &str = "__socle_in_double_quotes";
/// The filter [`prepare`] applies to an expression inside a single-quoted string.
pub const IN_SINGLE_QUOTES: &str = "__socle_in_single_quotes";
/// The filter [`prepare`] applies to an expression in a `#` comment (YAML, TOML).
pub const IN_COMMENT: &str = "__socle_in_comment";
/// The filter [`prepare`] applies to an expression that is part of a longer plain YAML scalar.
pub const IN_PLAIN: &str = "__socle_in_plain";

/// The format of a rendered file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Toml,
    /// Anything else (source code, Markdown, Dockerfiles): written as is.
    Text,
}

impl Format {
    /// The format of a file, from its name (case-insensitive extension).
    pub fn for_path(path: &str) -> Format {
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "toml" => Format::Toml,
            _ => Format::Text,
        }
    }

    fn auto_escape(self) -> AutoEscape {
        match self {
            Format::Yaml => AutoEscape::Custom(Cow::Borrowed("yaml")),
            Format::Json => AutoEscape::Custom(Cow::Borrowed("json")),
            Format::Toml => AutoEscape::Custom(Cow::Borrowed("toml")),
            Format::Text => AutoEscape::None,
        }
    }

    fn of(state: &State) -> Format {
        match state.auto_escape() {
            AutoEscape::Custom(name) => match name.as_ref() {
                "yaml" => Format::Yaml,
                "json" => Format::Json,
                "toml" => Format::Toml,
                _ => Format::Text,
            },
            _ => Format::Text,
        }
    }
}

/// Makes `env` escape by file format: templates named `*.yaml`, `*.json`, `*.toml` (see
/// [`Environment::template_from_named_str`]) escape every value; others do not.
pub fn install(env: &mut Environment<'_>) {
    env.set_auto_escape_callback(|name| Format::for_path(name).auto_escape());
    env.set_formatter(formatter);
    env.add_filter(IN_DOUBLE_QUOTES, in_double_quotes);
    env.add_filter(IN_SINGLE_QUOTES, in_single_quotes);
    env.add_filter(IN_PLAIN, in_plain);
    env.add_filter(IN_COMMENT, in_comment_filter);
}

/// A comment ends at the line: line breaks and other control characters become spaces.
fn in_comment_filter(state: &State, value: Value) -> Result<Value, Error> {
    if Format::of(state) == Format::Text || value.is_safe() {
        return Ok(value);
    }
    let text = plain_text(state, &value)?;
    Ok(Value::from_safe_string(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    ))
}

fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    let format = Format::of(state);
    if format == Format::Text {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_safe() || value.is_undefined() {
        return write!(out, "{value}").map_err(Error::from);
    }
    let text = scalar(format, value)?;
    out.write_str(&text).map_err(Error::from)
}

/// A value written where a scalar of `format` stands on its own.
fn scalar(format: Format, value: &Value) -> Result<String, Error> {
    Ok(match value.kind() {
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            match format {
                Format::Yaml => yaml_scalar(s).into_owned(),
                _ => quoted(s),
            }
        }
        ValueKind::None | ValueKind::Undefined => match format {
            Format::Toml => "\"\"".to_owned(),
            _ => "null".to_owned(),
        },
        ValueKind::Bool | ValueKind::Number => value.to_string(),
        _ => json_text(value)?,
    })
}

/// A value as JSON text, strings escaped by [`quoted`] (valid YAML flow collections too).
fn json_text(value: &Value) -> Result<String, Error> {
    let v = serde_json::to_value(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("value cannot be written: {e}"),
        )
    })?;
    let mut out = String::new();
    write_json(&v, &mut out);
    Ok(out)
}

fn write_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => out.push_str(&quoted(s)),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        serde_json::Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quoted(k));
                out.push_str(": ");
                write_json(item, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A string as a double-quoted string that JSON, YAML 1.2 and TOML all read back unchanged:
/// quotes, backslashes, control characters, DEL, C1 controls and the line/paragraph separators
/// escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    out.push_str(&double_quoted_inner(s));
    out.push('"');
    out
}

/// The inside of [`quoted`].
pub fn double_quoted_inner(s: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(
            c,
            '"' | '\\' | '\u{7f}'
                ..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ) || c < ' '
    };
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Words YAML 1.1 or 1.2 reads as something other than a string (booleans, null).
const YAML_RESERVED: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

/// A string as a YAML scalar: plain when it is unambiguously that same string (letters, digits
/// and `._/@+-`, inner single spaces, not a number, boolean or null), else double-quoted.
pub fn yaml_scalar(s: &str) -> Cow<'_, str> {
    if yaml_plain_ok(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(quoted(s))
    }
}

fn yaml_plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/') || s.ends_with(' ') || s.len() > 200 {
        return false;
    }
    if !plain_chars(s) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if YAML_RESERVED.contains(&lower.as_str()) {
        return false;
    }
    // Numbers in any YAML spelling: 12, 1.5, 1e3, 1_000, 0x1f, 0o17, 0b101, +1, -1.
    let numeric = lower
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | '+' | '-' | 'e'));
    let prefixed = ["0x", "0o", "0b"].iter().any(|p| lower.starts_with(p));
    !(numeric || prefixed)
}

/// Only characters that mean nothing inside a plain YAML scalar: letters, digits, `._/@+-`,
/// single inner spaces, and `:` not followed by a space (`group:default/a`, `https://x`).
fn plain_chars(s: &str) -> bool {
    let bytes = s.as_bytes();
    s.char_indices().all(|(i, c)| {
        c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | '/' | '@' | '+' | '-')
            || (c == ' ' && bytes.get(i + 1).is_some_and(|b| *b != b' '))
            || (c == ':' && bytes.get(i + 1).is_some_and(|b| !b.is_ascii_whitespace()))
    }) && !s.ends_with(' ')
}

/// A value that is part of a longer plain YAML scalar (`${{ name }}-db`, `for ${{ name }}.`):
/// written as is when it cannot change the scalar's meaning, else refused — quoting it would
/// not be the same text.
fn in_plain(state: &State, value: Value) -> Result<Value, Error> {
    if Format::of(state) != Format::Yaml || value.is_safe() {
        return Ok(value);
    }
    let text = plain_text(state, &value)?;
    // It may start the scalar: its first character must not be an indicator (`- `, `? `, `@`).
    let starts_ok = text
        .chars()
        .next()
        .is_none_or(|c| c.is_ascii_alphanumeric() || c == '/');
    if text.is_empty() || (starts_ok && plain_chars(&text)) {
        return Ok(Value::from_safe_string(text.into_owned()));
    }
    Err(Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{:?} cannot be part of unquoted YAML text: put the whole text in double quotes",
            text.chars().take(60).collect::<String>()
        ),
    ))
}

/// The text of a value that stands inside a string, a plain scalar or a comment. An undefined
/// value follows the environment's undefined behaviour: an error that names it (`x.y` is
/// undefined) where undefined values are strict, as when the value stands alone; else nothing.
fn plain_text<'v>(state: &State, value: &'v Value) -> Result<Cow<'v, str>, Error> {
    if value.is_undefined() {
        StringInput::new(state, value)?;
    }
    Ok(match value.kind() {
        ValueKind::String => Cow::Borrowed(value.as_str().unwrap_or_default()),
        ValueKind::None | ValueKind::Undefined => Cow::Borrowed(""),
        ValueKind::Bool | ValueKind::Number => Cow::Owned(value.to_string()),
        _ => Cow::Owned(json_text(value)?),
    })
}

fn in_double_quotes(state: &State, value: Value) -> Result<Value, Error> {
    if Format::of(state) == Format::Text || value.is_safe() {
        return Ok(value);
    }
    let text = plain_text(state, &value)?;
    Ok(Value::from_safe_string(
        double_quoted_inner(&text).into_owned(),
    ))
}

fn in_single_quotes(state: &State, value: Value) -> Result<Value, Error> {
    let format = Format::of(state);
    if format == Format::Text || value.is_safe() {
        return Ok(value);
    }
    let text = plain_text(state, &value)?;
    if text.chars().any(|c| c.is_control()) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "a value with a line break or control character cannot stand in a single-quoted \
             string; put the expression in double quotes or alone",
        ));
    }
    match format {
        Format::Toml if text.contains('\'') => Err(Error::new(
            ErrorKind::InvalidOperation,
            "a value with a ' cannot stand in a TOML literal string; use a double-quoted string",
        )),
        _ => Ok(Value::from_safe_string(text.replace('\'', "''"))),
    }
}

/// Where an expression stands in its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

/// Rewrites a template's source so that each expression inside a quoted string is escaped for
/// the inside of that string ([`IN_DOUBLE_QUOTES`], [`IN_SINGLE_QUOTES`]). `open`/`close` are
/// the variable delimiters (`{{`/`}}`, or `${{`/`}}` for Backstage templates); blocks
/// (`{% %}`), comments (`{# #}`) and `{% raw %}` sections are left alone. Text files are
/// returned unchanged.
pub fn prepare<'a>(source: &'a str, format: Format, open: &str, close: &str) -> Cow<'a, str> {
    if format == Format::Text || !source.contains(open) {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 64);
    let mut quote = Quote::None;
    let mut prev: Option<char> = None;
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(open) {
            let Some(end) = after.find(close) else {
                out.push_str(rest);
                break;
            };
            let expr = &after[..end];
            let following = &after[end + close.len()..];
            let filter = match quote {
                Quote::Double => Some(IN_DOUBLE_QUOTES),
                Quote::Single => Some(IN_SINGLE_QUOTES),
                Quote::None if format != Format::Json && in_comment(&out) => Some(IN_COMMENT),
                Quote::None if format == Format::Yaml && !whole_scalar(&out, following) => {
                    Some(IN_PLAIN)
                }
                Quote::None => None,
            };
            match filter {
                None => {
                    out.push_str(open);
                    out.push_str(expr);
                }
                Some(filter) => {
                    let (inner, trim_l, trim_r) = strip_ws_control(expr);
                    let _ = write!(out, "{open}{trim_l} ({inner}) | {filter} {trim_r}");
                }
            }
            out.push_str(close);
            rest = &after[end + close.len()..];
            prev = Some('x');
            continue;
        }
        if rest.starts_with("{%") || rest.starts_with("{#") {
            let end_tag = if rest.starts_with("{%") { "%}" } else { "#}" };
            let body_end = rest[2..].find(end_tag).map_or(rest.len(), |i| i + 4);
            let tag = &rest[..body_end];
            let is_raw = tag
                .trim_start_matches("{%")
                .trim_end_matches("%}")
                .trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace())
                == "raw";
            let skip = if is_raw {
                rest.find("endraw")
                    .and_then(|i| rest[i..].find("%}").map(|j| i + j + 2))
                    .unwrap_or(rest.len())
            } else {
                body_end
            };
            out.push_str(&rest[..skip]);
            rest = &rest[skip..];
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        quote = step(format, quote, prev, c, rest);
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// Whether the line so far (outside quotes) has started a `#` comment.
fn in_comment(before: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or("");
    line.trim_start().starts_with('#') || line.contains(" #")
}

/// Whether an unquoted YAML expression is a whole scalar: after `key:`, `- `, `[`, `{`, `,`, `?`
/// or at the start of a line, and followed by the end of the line, a comment or a flow
/// separator. Otherwise it is part of a longer plain scalar.
fn whole_scalar(before: &str, after: &str) -> bool {
    let line = before.rsplit('\n').next().unwrap_or("");
    let prefix = line.trim_end();
    let starts = line.len() > prefix.len()
        && (prefix.is_empty()
            || prefix.ends_with(':')
            || prefix.ends_with('-')
            || prefix.ends_with('?'))
        || prefix.is_empty()
        || prefix.ends_with(['[', '{', ',']);
    let rest = after.split('\n').next().unwrap_or("");
    let rest = rest.trim_start();
    let ends = rest.is_empty()
        || rest.starts_with(['#', ',', ']', '}'])
        || rest.starts_with("{%")
        || rest.starts_with("{#");
    starts && ends
}

/// `-`/`+` whitespace control at either end of an expression stays where it was.
fn strip_ws_control(expr: &str) -> (&str, &str, &str) {
    let mut inner = expr;
    let mut left = "";
    let mut right = "";
    if let Some(r) = inner.strip_prefix('-').or_else(|| inner.strip_prefix('+')) {
        left = &expr[..1];
        inner = r;
    }
    if let Some(r) = inner.strip_suffix('-').or_else(|| inner.strip_suffix('+')) {
        right = &inner[r.len()..];
        inner = r;
    }
    (inner.trim(), left, right)
}

/// The quoting state after `c` (the first character of `rest`).
fn step(format: Format, quote: Quote, prev: Option<char>, c: char, rest: &str) -> Quote {
    match (quote, c) {
        (_, '\n') => Quote::None,
        (Quote::Double, '"') if prev != Some('\\') => Quote::None,
        (Quote::Double, _) => Quote::Double,
        // YAML's '' inside a single-quoted string is a quote, not the end.
        (Quote::Single, '\'') if format == Format::Yaml && rest[1..].starts_with('\'') => {
            Quote::Single
        }
        (Quote::Single, '\'') if format == Format::Yaml && prev == Some('\'') => Quote::Single,
        (Quote::Single, '\'') => Quote::None,
        (Quote::Single, _) => Quote::Single,
        (Quote::None, '"') => Quote::Double,
        // A quote opens a YAML scalar only where a scalar starts; `it's` is plain text.
        (Quote::None, '\'') if format == Format::Toml => Quote::Single,
        (Quote::None, '\'')
            if format == Format::Yaml
                && prev.is_none_or(|p| {
                    p.is_whitespace() || matches!(p, ':' | '[' | '{' | ',' | '-')
                }) =>
        {
            Quote::Single
        }
        _ => Quote::None,
    }
}
