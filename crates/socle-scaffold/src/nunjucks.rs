//! Nunjucks and JavaScript as Backstage templates use them, on top of minijinja.
//!
//! - The source rewrite ([`rewrite_template`], [`rewrite_expression`]), inside `${{ … }}` and
//!   `{% … %}` only and outside string literals: the strict comparisons `===` / `!==` read as
//!   `==` / `!=`, and `.length` read as the method `.length()` (minijinja has no attributes on
//!   strings). A skeleton's own text (`a === b` in TypeScript) and `{% raw %}` stay as written.
//! - [`dump`]: Nunjucks' `dump` filter, `JSON.stringify` with an optional indent.
//! - [`js_method`]: JavaScript's methods on strings (`split`, `replace`, `includes`,
//!   `startsWith`, `endsWith`, `toLowerCase`, `toUpperCase`, `trim`), on lists (`includes`,
//!   `join`), and `length` on both. Positions and lengths count UTF-16 units, as in JavaScript.
//!
//! Every result is bounded: at most [`MAX_TEXT`] bytes, [`MAX_PIECES`] pieces, [`MAX_DEPTH`]
//! levels of nesting.

use std::fmt::Write as _;

use minijinja::value::{ValueKind, from_args};
use minijinja::{Error, ErrorKind, State, Value};

/// Longest text a filter or method of this module returns, in bytes.
pub const MAX_TEXT: usize = 1 << 20;
/// Most pieces `split` returns.
pub const MAX_PIECES: usize = 10_000;
/// Deepest nesting `dump` writes.
pub const MAX_DEPTH: usize = 128;
/// Longest indent of `dump`, as in `JSON.stringify`.
const MAX_INDENT: usize = 10;

// ---------------------------------------------------------------------------------------------
// The source rewrite.

/// Rewrites the Nunjucks syntax minijinja lacks inside every `${{ … }}` and `{% … %}` of a
/// template; text, comments and `{% raw %}` sections are kept as written.
pub(crate) fn rewrite_template(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = ["${{", "{%", "{#"]
        .iter()
        .filter_map(|d| rest.find(d))
        .min()
    {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        if let Some(after) = at.strip_prefix("${{") {
            out.push_str("${{");
            let (e, used) = rewrite_expression(after, "}}");
            out.push_str(&e);
            rest = &after[used..];
        } else if let Some(comment) = at.strip_prefix("{#") {
            let end = comment.find("#}").map_or(at.len(), |j| j + 4);
            out.push_str(&at[..end]);
            rest = &at[end..];
        } else if is_raw_tag(at) {
            let end = at
                .find("endraw")
                .and_then(|j| at[j..].find("%}").map(|k| j + k + 2))
                .unwrap_or(at.len());
            out.push_str(&at[..end]);
            rest = &at[end..];
        } else {
            out.push_str("{%");
            let (e, used) = rewrite_expression(&at[2..], "%}");
            out.push_str(&e);
            rest = &at[2 + used..];
        }
    }
    out.push_str(rest);
    out
}

/// `{% raw %}` (with any whitespace control).
fn is_raw_tag(at: &str) -> bool {
    let Some(body) = at.strip_prefix("{%") else {
        return false;
    };
    let end = body.find("%}").unwrap_or(body.len());
    body[..end].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()) == "raw"
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One expression's text up to `close` (outside string literals) or the end, rewritten; the
/// number of bytes read.
pub(crate) fn rewrite_expression(e: &str, close: &str) -> (String, usize) {
    let mut out = String::with_capacity(e.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut i = 0;
    while let Some(c) = e[i..].chars().next() {
        let rest = &e[i..];
        if quote.is_none() {
            if rest.starts_with(close) {
                break;
            }
            if rest.starts_with("===") || rest.starts_with("!==") {
                out.push_str(&rest[..2]);
                i += 3;
                continue;
            }
            if is_length_attribute(&out, rest) {
                out.push_str(".length()");
                i += ".length".len();
                continue;
            }
        }
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        out.push(c);
        i += c.len_utf8();
    }
    (out, i)
}

/// `.length` read as an attribute: after a name, a call, a subscript or a string literal, not
/// part of a longer name and not already called.
fn is_length_attribute(before: &str, rest: &str) -> bool {
    let Some(after) = rest.strip_prefix(".length") else {
        return false;
    };
    let ends = !after.chars().next().is_some_and(is_ident);
    let called = after.trim_start().starts_with('(');
    let follows = before
        .chars()
        .next_back()
        .is_some_and(|c| is_ident(c) || matches!(c, ')' | ']' | '\'' | '"'));
    ends && !called && follows
}

// ---------------------------------------------------------------------------------------------
// `dump`.

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn too_long(what: &str) -> Error {
    invalid(format!(
        "{what}: the result is longer than {MAX_TEXT} bytes"
    ))
}

/// `value | dump` / `value | dump(indent)`: the value as JSON text (`JSON.stringify`), an
/// undefined value as nothing. The indent is a number of spaces or a string (at most 10, as in
/// JavaScript). The text is final: a skeleton's YAML or JSON file takes it as written, like
/// `tojson`.
pub fn dump(value: Value, indent: Option<Value>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    let indent = match &indent {
        Some(v) if v.kind() == ValueKind::Number => {
            " ".repeat(v.as_i64().unwrap_or(0).clamp(0, MAX_INDENT as i64) as usize)
        }
        Some(v) => v
            .as_str()
            .map(|s| s.chars().take(MAX_INDENT).collect())
            .unwrap_or_default(),
        None => String::new(),
    };
    let mut out = String::new();
    write_json(&value, &indent, 0, &mut out)?;
    Ok(Value::from_safe_string(out))
}

fn newline(out: &mut String, indent: &str, depth: usize) {
    if !indent.is_empty() {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

/// A number as JavaScript writes it: integers without a fraction, not-a-number as `null`.
fn write_number(v: &Value, out: &mut String) {
    if let Some(i) = v.as_i64() {
        let _ = write!(out, "{i}");
        return;
    }
    match f64::try_from(v.clone()) {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 => {
            let _ = write!(out, "{}", f as i128);
        }
        Ok(f) => match serde_json::Number::from_f64(f) {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push_str("null"),
        },
        // Integers beyond 64 bits.
        Err(_) => {
            let _ = write!(out, "{v}");
        }
    }
}

fn write_json(v: &Value, indent: &str, depth: usize, out: &mut String) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "dump: the value is nested more than {MAX_DEPTH} levels deep"
        )));
    }
    if out.len() > MAX_TEXT {
        return Err(too_long("dump"));
    }
    let colon = if indent.is_empty() { ":" } else { ": " };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(v, out),
        ValueKind::String => out.push_str(&socle_escape::quoted(v.as_str().unwrap_or_default())),
        ValueKind::Bytes => out.push_str(&socle_escape::quoted(&String::from_utf8_lossy(
            v.as_bytes().unwrap_or_default(),
        ))),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_json(item, indent, depth + 1, out)?;
            }
            newline(out, indent, depth);
            out.push(']');
        }
        ValueKind::Map => {
            // As in JavaScript, members whose value is undefined are left out.
            let mut members = Vec::new();
            for k in v.try_iter()? {
                let item = v.get_item(&k)?;
                if !item.is_undefined() {
                    members.push((
                        k.as_str().map_or_else(|| k.to_string(), str::to_owned),
                        item,
                    ));
                }
            }
            if members.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (n, (k, item)) in members.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                out.push_str(&socle_escape::quoted(k));
                out.push_str(colon);
                write_json(item, indent, depth + 1, out)?;
            }
            newline(out, indent, depth);
            out.push('}');
        }
        _ => out.push_str(&socle_escape::quoted(&v.to_string())),
    }
    if out.len() > MAX_TEXT {
        return Err(too_long("dump"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JavaScript methods.

/// minijinja's unknown-method callback: the JavaScript methods of strings and lists, and
/// `length` (which the source rewrite turns `.length` into).
pub fn js_method(
    _state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if method == "length" {
        let () = from_args(args)?;
        return Ok(length(value));
    }
    match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args),
        ValueKind::Seq => list_method(value, method, args),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// JavaScript's `.length`: UTF-16 units of a string, items of a list, else the value's own
/// `length` member (a map's key, `loop.length`) or undefined.
fn length(v: &Value) -> Value {
    match v.kind() {
        ValueKind::String => Value::from(v.as_str().unwrap_or_default().encode_utf16().count()),
        ValueKind::Seq => v.len().map_or(Value::UNDEFINED, Value::from),
        ValueKind::Undefined | ValueKind::None => Value::UNDEFINED,
        _ => v.get_attr("length").unwrap_or(Value::UNDEFINED),
    }
}

/// The byte index of a JavaScript position (UTF-16 units, clamped to the string).
fn byte_at(s: &str, position: i64) -> usize {
    let mut units = 0i64;
    for (i, c) in s.char_indices() {
        if units >= position {
            return i;
        }
        units += c.len_utf16() as i64;
    }
    s.len()
}

/// JavaScript's white space and line terminators (`String.prototype.trim`).
fn js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

fn bounded(what: &str, s: String) -> Result<Value, Error> {
    if s.len() > MAX_TEXT {
        return Err(too_long(what));
    }
    Ok(Value::from(s))
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "split" => {
            let (sep, limit): (Option<&str>, Option<i64>) = from_args(args)?;
            split(s, sep, limit)
        }
        "replace" => {
            let (pattern, replacement): (&str, &str) = from_args(args)?;
            replace_first(s, pattern, replacement)
        }
        "includes" => {
            let (search, from): (&str, Option<i64>) = from_args(args)?;
            Ok(Value::from(
                s[byte_at(s, from.unwrap_or(0))..].contains(search),
            ))
        }
        "startsWith" => {
            let (search, from): (&str, Option<i64>) = from_args(args)?;
            Ok(Value::from(
                s[byte_at(s, from.unwrap_or(0))..].starts_with(search),
            ))
        }
        "endsWith" => {
            let (search, end): (&str, Option<i64>) = from_args(args)?;
            let end = end.map_or(s.len(), |e| byte_at(s, e));
            Ok(Value::from(s[..end].ends_with(search)))
        }
        "toLowerCase" => {
            let () = from_args(args)?;
            bounded("toLowerCase", s.to_lowercase())
        }
        "toUpperCase" => {
            let () = from_args(args)?;
            bounded("toUpperCase", s.to_uppercase())
        }
        "trim" => {
            let () = from_args(args)?;
            Ok(Value::from(s.trim_matches(js_space)))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

/// `split(separator, limit)`: no separator gives the whole string; an empty one, each
/// character; a limit keeps that many pieces (a negative one, all of them).
fn split(s: &str, sep: Option<&str>, limit: Option<i64>) -> Result<Value, Error> {
    let limit = match limit {
        Some(l) if l >= 0 => usize::try_from(l).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let pieces: Box<dyn Iterator<Item = &str>> = match sep {
        None => Box::new(std::iter::once(s)),
        Some("") => Box::new(s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()])),
        Some(sep) => Box::new(s.split(sep)),
    };
    let mut out = Vec::new();
    for piece in pieces.take(limit) {
        if out.len() == MAX_PIECES {
            return Err(invalid(format!("split: more than {MAX_PIECES} pieces")));
        }
        out.push(Value::from(piece));
    }
    Ok(Value::from(out))
}

/// `replace(pattern, replacement)` with a string pattern: the first occurrence only, and
/// JavaScript's `$$`, `$&`, `` $` `` and `$'` in the replacement.
fn replace_first(s: &str, pattern: &str, replacement: &str) -> Result<Value, Error> {
    let Some(at) = s.find(pattern) else {
        return Ok(Value::from(s));
    };
    let (before, after) = (&s[..at], &s[at + pattern.len()..]);
    let mut out = String::with_capacity(s.len() + replacement.len());
    out.push_str(before);
    let mut rest = replacement;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let (text, used) = match tail.chars().next() {
            Some('$') => ("$", 1),
            Some('&') => (pattern, 1),
            Some('`') => (before, 1),
            Some('\'') => (after, 1),
            _ => ("$", 0),
        };
        out.push_str(text);
        rest = &tail[used..];
        if out.len() > MAX_TEXT {
            return Err(too_long("replace"));
        }
    }
    out.push_str(rest);
    out.push_str(after);
    bounded("replace", out)
}

fn list_method(list: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "includes" => {
            let (item,): (Value,) = from_args(args)?;
            Ok(Value::from(list.try_iter()?.any(|v| v == item)))
        }
        "join" => {
            let (sep,): (Option<&str>,) = from_args(args)?;
            let sep = sep.unwrap_or(",");
            let mut out = String::new();
            for (n, item) in list.try_iter()?.enumerate() {
                if n > 0 {
                    out.push_str(sep);
                }
                // As in JavaScript, null and undefined join as nothing.
                if !(item.is_undefined() || item.is_none()) {
                    let _ = write!(out, "{item}");
                }
                if out.len() > MAX_TEXT {
                    return Err(too_long("join"));
                }
            }
            Ok(Value::from(out))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_PIECES, MAX_TEXT, replace_first, rewrite_template, split};

    #[test]
    fn strict_comparisons_are_read_inside_expressions_only() {
        assert_eq!(
            rewrite_template("if (a === b) ${{ x !== 'y===z' }} and ${{ p === \"q\\\"===\" }}"),
            "if (a === b) ${{ x != 'y===z' }} and ${{ p == \"q\\\"===\" }}"
        );
    }

    #[test]
    fn length_is_read_as_a_method_inside_expressions_and_tags_only() {
        assert_eq!(
            rewrite_template(
                "s.length ${{ a.length }} ${{ 'x.length' }} {% if b.c.length > 1 %}${{ f(x).length + l[0].length }}{% endif %}"
            ),
            "s.length ${{ a.length() }} ${{ 'x.length' }} {% if b.c.length() > 1 %}${{ f(x).length() + l[0].length() }}{% endif %}"
        );
    }

    #[test]
    fn length_in_a_longer_name_or_already_called_is_kept() {
        assert_eq!(
            rewrite_template("${{ a.lengthy }} ${{ a.length() }} ${{ .length }}"),
            "${{ a.lengthy }} ${{ a.length() }} ${{ .length }}"
        );
    }

    #[test]
    fn raw_sections_and_comments_are_kept() {
        let s = "{% raw %}${{ a.length === 1 }}{% endraw %}{# b.length === 2 #}";
        assert_eq!(rewrite_template(s), s);
    }

    #[test]
    fn split_refuses_more_than_max_pieces() {
        let s = ",".repeat(MAX_PIECES);
        assert!(split(&s, Some(","), None).is_err());
        assert_eq!(
            split(&s, Some(","), Some(3)).unwrap().len(),
            Some(3),
            "a limit keeps it small"
        );
    }

    #[test]
    fn replace_refuses_a_result_longer_than_max_text() {
        let s = "x".repeat(MAX_TEXT / 2);
        let err = replace_first(&s, "x", "$'$'$'").unwrap_err();
        assert!(err.to_string().contains("longer than"), "{err}");
    }
}
