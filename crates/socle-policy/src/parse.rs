//! conftest's `parse_config(parser, text)`, `parse_config_file(path)` and
//! `parse_combined_config_files(paths)` for the formats Socle reads (YAML and JSON), and data
//! files. Files are read through a [`ConfigReader`] the caller hands in, so this crate stays
//! pure; parsing is bounded by the catalog's YAML budgets.

use std::sync::Arc;

use serde_json::Value;

use crate::PolicyError;

/// Reads the files `parse_config_file` and `parse_combined_config_files` name.
pub trait ConfigReader: Send + Sync {
    /// The text of `path` (as the policy wrote it), or why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;
}

/// No files: `parse_config_file` fails with a message saying so.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFiles;

impl ConfigReader for NoFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        Err(format!("{path}: no files can be read here"))
    }
}

/// The formats `parse_config` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parser {
    Yaml,
    Json,
}

impl Parser {
    fn named(name: &str) -> Result<Self, String> {
        match name {
            "yaml" | "yml" => Ok(Self::Yaml),
            "json" => Ok(Self::Json),
            other => Err(format!("parser {other:?} is not supported (yaml, json)")),
        }
    }

    fn for_path(path: &str) -> Result<Self, String> {
        let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        Self::named(&ext.to_ascii_lowercase()).map_err(|_| {
            format!("{path}: cannot tell the format from the extension (.yaml, .yml, .json)")
        })
    }
}

/// The documents of a YAML or JSON text.
fn documents(parser: Parser, text: &str) -> Result<Vec<Value>, String> {
    match parser {
        Parser::Json => serde_json::from_str(text)
            .map(|v| vec![v])
            .map_err(|e| e.to_string()),
        Parser::Yaml => {
            socle_catalog::yaml::parse_documents(text, &socle_catalog::Limits::default())
                .map(|docs| docs.iter().map(|d| d.to_json()).collect())
                .map_err(|e| format!("line {}: {}", e.line.unwrap_or(0), e.message))
        }
    }
}

/// One value for a text, as conftest's parsers give it: a single document as itself, several
/// as an array.
fn config(parser: Parser, text: &str) -> Result<Value, String> {
    let mut docs = documents(parser, text)?;
    Ok(match docs.len() {
        0 => Value::Null,
        1 => docs.remove(0),
        _ => Value::Array(docs),
    })
}

/// A data file's value (JSON, or the first YAML document).
pub(crate) fn data_value(name: &str, text: &str) -> Result<Value, PolicyError> {
    let parser = if name.ends_with(".json") {
        Parser::Json
    } else {
        Parser::Yaml
    };
    documents(parser, text)
        .map(|d| d.into_iter().next().unwrap_or(Value::Null))
        .map_err(|message| PolicyError::Data {
            file: name.to_owned(),
            message,
        })
}

fn string_arg<'a>(args: &'a [regorus::Value], i: usize, f: &str) -> Result<&'a str, String> {
    match args.get(i) {
        Some(regorus::Value::String(s)) => Ok(s.as_ref()),
        _ => Err(format!("{f}: argument {} must be a string", i + 1)),
    }
}

fn to_rego(v: &Value) -> Result<regorus::Value, String> {
    regorus::Value::from_json_str(&v.to_string()).map_err(|e| e.to_string())
}

fn parse_config(args: &[regorus::Value]) -> Result<regorus::Value, String> {
    let parser = Parser::named(string_arg(args, 0, "parse_config")?)?;
    to_rego(&config(parser, string_arg(args, 1, "parse_config")?)?)
}

fn parse_config_file(
    reader: &dyn ConfigReader,
    args: &[regorus::Value],
) -> Result<regorus::Value, String> {
    let path = string_arg(args, 0, "parse_config_file")?;
    let parser = Parser::for_path(path)?;
    to_rego(&config(parser, &reader.read(path)?).map_err(|e| format!("{path}: {e}"))?)
}

fn parse_combined_config_files(
    reader: &dyn ConfigReader,
    args: &[regorus::Value],
) -> Result<regorus::Value, String> {
    let paths = match args.first() {
        Some(regorus::Value::Array(a)) => a.clone(),
        _ => {
            return Err(
                "parse_combined_config_files: the argument must be an array of paths".into(),
            );
        }
    };
    let mut inputs = Vec::new();
    for p in paths.iter() {
        let path = match p {
            regorus::Value::String(s) => s.to_string(),
            _ => return Err("parse_combined_config_files: every path must be a string".into()),
        };
        let parser = Parser::for_path(&path)?;
        let docs = documents(parser, &reader.read(&path)?).map_err(|e| format!("{path}: {e}"))?;
        inputs.extend(docs.into_iter().map(|d| (path.clone(), d)));
    }
    to_rego(&crate::conftest::combine(&inputs))
}

/// Adds the three builtins to `engine`.
pub(crate) fn register(
    engine: &mut regorus::Engine,
    reader: Arc<dyn ConfigReader>,
) -> Result<(), PolicyError> {
    let err = |e: anyhow::Error| PolicyError::Input(format!("registering parse_config: {e}"));
    engine
        .add_extension(
            "parse_config".into(),
            2,
            Box::new(|args: Vec<regorus::Value>| parse_config(&args).map_err(anyhow::Error::msg)),
        )
        .map_err(err)?;
    let r = reader.clone();
    engine
        .add_extension(
            "parse_config_file".into(),
            1,
            Box::new(move |args: Vec<regorus::Value>| {
                parse_config_file(r.as_ref(), &args).map_err(anyhow::Error::msg)
            }),
        )
        .map_err(err)?;
    engine
        .add_extension(
            "parse_combined_config_files".into(),
            1,
            Box::new(move |args: Vec<regorus::Value>| {
                parse_combined_config_files(reader.as_ref(), &args).map_err(anyhow::Error::msg)
            }),
        )
        .map_err(err)?;
    Ok(())
}
