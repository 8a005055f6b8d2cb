//! Reading the workspace: `fs:read` (a file's content, for a later step's input) and
//! `fs:readdir` (Backstage's: the files and folders under some paths). Both only read, through
//! the [`Workspace`](crate::workspace::Workspace) trait, so they run in dry runs too; every path
//! stays inside the workspace and every result is bounded.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::actions::{input_error, str_in};
use crate::engine::{Action, ActionContext, ActionError, ActionOutcome, BoxFuture};
use crate::workspace::{self, EntryKind, WorkspaceError};

/// Largest file `fs:read` returns (its content lands in the run's record and later inputs).
pub const MAX_READ_BYTES: usize = 1 << 20;
/// Most paths one `fs:readdir` lists.
pub const MAX_READDIR_PATHS: usize = 100;
/// Most entries (files and folders) one `fs:readdir` returns.
pub const MAX_READDIR_ENTRIES: usize = 5_000;

/// How `fs:read` returns a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Base64,
}

impl Encoding {
    fn parse(input: &Value) -> Result<Self, ActionError> {
        match input.get("encoding") {
            None | Some(Value::Null) => Ok(Self::Utf8),
            Some(Value::String(s)) if matches!(s.as_str(), "utf-8" | "utf8") => Ok(Self::Utf8),
            Some(Value::String(s)) if s == "base64" => Ok(Self::Base64),
            Some(other) => Err(input_error(format!(
                "input.encoding {other}: expected \"utf-8\" or \"base64\""
            ))),
        }
    }
}

/// `fs:read`: `{path, encoding?: utf-8|base64}` → `{content}`.
pub(crate) struct Read;

impl Read {
    fn read(cx: &ActionContext<'_>, input: &Value) -> Result<(String, String), ActionError> {
        let path = str_in(input, "path")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| input_error("input.path is required: a file in the workspace"))?;
        workspace::relative(path).map_err(|e| input_error(format!("input.path: {e}")))?;
        let encoding = Encoding::parse(input)?;
        let bytes = cx.workspace.read(path).map_err(|e| match e {
            WorkspaceError::Read { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                input_error(format!("{path} does not exist in the workspace"))
            }
            other => other.into(),
        })?;
        if bytes.len() > MAX_READ_BYTES {
            return Err(input_error(format!(
                "{path}: {} bytes, more than the {MAX_READ_BYTES} fs:read returns",
                bytes.len()
            )));
        }
        let content = match encoding {
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes),
            Encoding::Utf8 => String::from_utf8(bytes).map_err(|_| {
                input_error(format!(
                    "{path} is not UTF-8 text: read it with encoding: base64"
                ))
            })?,
        };
        Ok((path.to_owned(), content))
    }
}

impl Action for Read {
    fn id(&self) -> &'static str {
        "fs:read"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["content"])
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let (path, content) = Self::read(cx, &input)?;
            cx.info(format!("read {path} ({} bytes)", content.len()));
            Ok(ActionOutcome::output(json!({ "content": content })))
        })
    }
}

/// `fs:readdir`: `{paths: [..], recursive?: false}` → `{files, folders}`, each entry
/// `{name, path, fullPath}`. `path` is relative to the workspace, like every path an action
/// takes; so is `fullPath` (Backstage's is absolute: Socle shows no server path, and a
/// relative one is what the other actions accept).
pub(crate) struct ReadDir;

/// The paths to list: a non-empty list of non-empty relative paths inside the workspace.
fn readdir_paths(input: &Value) -> Result<Vec<String>, ActionError> {
    let list = input
        .get("paths")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| input_error("input.paths is required: a list of workspace directories"))?;
    if list.len() > MAX_READDIR_PATHS {
        return Err(input_error(format!(
            "input.paths: {} paths, at most {MAX_READDIR_PATHS}",
            list.len()
        )));
    }
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let p = p.as_str().filter(|p| !p.is_empty()).ok_or_else(|| {
                input_error(format!("input.paths[{i}] must be a non-empty string"))
            })?;
            workspace::relative(p).map_err(|e| input_error(format!("input.paths[{i}]: {e}")))?;
            Ok(p.to_owned())
        })
        .collect()
}

/// `dir/rel` as one workspace path (`.` parts dropped).
fn joined(dir: &str, rel: &str) -> String {
    let base: Vec<&str> = dir
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if base.is_empty() {
        rel.to_owned()
    } else {
        format!("{}/{rel}", base.join("/"))
    }
}

impl ReadDir {
    fn list(cx: &ActionContext<'_>, input: &Value) -> Result<Value, ActionError> {
        let paths = readdir_paths(input)?;
        let recursive = match input.get("recursive") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(input_error(format!(
                    "input.recursive {other}: expected true or false"
                )));
            }
        };
        let (mut files, mut folders) = (Vec::new(), Vec::new());
        for dir in &paths {
            if !cx.workspace.exists(dir)? {
                return Err(input_error(format!(
                    "{dir} does not exist in the workspace"
                )));
            }
            for e in cx.workspace.list(dir)? {
                if !recursive && e.path.contains('/') {
                    continue;
                }
                let path = joined(dir, &e.path);
                let name = path.rsplit('/').next().unwrap_or_default().to_owned();
                let entry = json!({"name": name, "path": path, "fullPath": path});
                match e.kind {
                    EntryKind::Dir => folders.push(entry),
                    EntryKind::File | EntryKind::Symlink => files.push(entry),
                }
                if files.len() + folders.len() > MAX_READDIR_ENTRIES {
                    return Err(input_error(format!(
                        "more than {MAX_READDIR_ENTRIES} entries under {}",
                        paths.join(", ")
                    )));
                }
            }
        }
        Ok(json!({"files": files, "folders": folders}))
    }
}

impl Action for ReadDir {
    fn id(&self) -> &'static str {
        "fs:readdir"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["files", "folders"])
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let output = Self::list(cx, &input)?;
            cx.info(format!(
                "{} files, {} folders",
                output["files"].as_array().map_or(0, Vec::len),
                output["folders"].as_array().map_or(0, Vec::len)
            ));
            Ok(ActionOutcome::output(output))
        })
    }
}
