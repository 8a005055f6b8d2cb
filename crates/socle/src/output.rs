//! The one printer: a command's [`Outcome`] rendered as `--output json|yaml|table`.

use std::process::ExitCode;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// What a command has to show: a value (JSON and YAML print it), its table form, lines for
/// standard error that only the table form prints (JSON and YAML carry them in the value), and
/// the exit code.
pub struct Outcome {
    format: Format,
    value: serde_json::Value,
    table: String,
    table_stderr: Vec<String>,
    failed: bool,
}

impl Outcome {
    /// `value` for JSON and YAML, `table` for the human form.
    pub fn new<T: Serialize>(
        format: Format,
        value: &T,
        table: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            format,
            value: serde_json::to_value(value)?,
            table: if format == Format::Table {
                table(value)
            } else {
                String::new()
            },
            table_stderr: Vec::new(),
            failed: false,
        })
    }

    /// A whole list, printed in JSON and YAML as the API prints pages:
    /// `{items, totalItems, nextCursor}` (no next page).
    pub fn list<T: Serialize>(
        format: Format,
        items: &[T],
        table: impl FnOnce(&[T]) -> String,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            format,
            value: serde_json::json!({
                "items": serde_json::to_value(items)?,
                "totalItems": items.len(),
                "nextCursor": null,
            }),
            table: if format == Format::Table {
                table(items)
            } else {
                String::new()
            },
            table_stderr: Vec::new(),
            failed: false,
        })
    }

    /// Text only (commands without `--output`).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            format: Format::Table,
            value: serde_json::Value::Null,
            table: text.into(),
            table_stderr: Vec::new(),
            failed: false,
        }
    }

    /// Nothing on standard output; the exit code says how it went.
    pub fn silent(failed: bool) -> Self {
        Self::text("").failed(failed)
    }

    /// Exit 1 when `failed`.
    pub fn failed(mut self, failed: bool) -> Self {
        self.failed |= failed;
        self
    }

    /// Lines printed on standard error before the table (not in JSON or YAML).
    pub fn table_stderr(mut self, lines: impl IntoIterator<Item = String>) -> Self {
        self.table_stderr.extend(lines);
        self
    }
}

/// Prints `outcome` and returns its exit code.
pub fn emit(mut outcome: Outcome) -> anyhow::Result<ExitCode> {
    rfc3339_times(&mut outcome.value);
    match outcome.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&outcome.value)?),
        Format::Yaml => print!("{}", serde_saphyr::to_string(&outcome.value)?),
        Format::Table => {
            for line in &outcome.table_stderr {
                eprintln!("{line}");
            }
            print!("{}", outcome.table);
        }
    }
    Ok(if outcome.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Times in JSON and YAML are RFC 3339 text: every `…_at` / `…At` field that holds
/// milliseconds since the epoch (as the store keeps them) is rewritten.
fn rfc3339_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let is_time = k.ends_with("_at") || k.ends_with("At");
                match x.as_i64() {
                    Some(ms) if is_time && ms >= 0 => {
                        *x = serde_json::Value::String(socle_dora::events::format_timestamp(ms));
                    }
                    _ => rfc3339_times(x),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(rfc3339_times),
        _ => {}
    }
}

/// Left-aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths[i]))
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_at_any_depth_and_other_numbers_stay() {
        let mut v = serde_json::json!({
            "created_at": 1_764_720_000_000_i64,
            "items": [{"expiresAt": 0, "seq": 3, "revoked_at": null}],
            "received": 8,
        });
        rfc3339_times(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "created_at": "2025-12-03T00:00:00Z",
                "items": [{"expiresAt": "1970-01-01T00:00:00Z", "seq": 3, "revoked_at": null}],
                "received": 8,
            })
        );
    }
}
