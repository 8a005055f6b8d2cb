//! The built-in file actions: `fetch:template`, `fetch:plain`, `fs:rename`, `fs:delete`,
//! `fs:read`, `fs:readdir`, `debug:log`, `catalog:write`. They reach the workspace only through
//! [`crate::workspace::Workspace`].

use std::sync::Arc;

use serde_json::{Value, json};

use crate::engine::{Action, ActionContext, ActionError, ActionOutcome, BoxFuture};
use crate::workspace::{self, EntryKind};

pub(crate) fn str_in<'v>(input: &'v Value, key: &str) -> Option<&'v str> {
    input.get(key).and_then(Value::as_str)
}

pub(crate) fn input_error(message: impl Into<String>) -> ActionError {
    ActionError::Input(message.into())
}

fn globs(input: &Value, keys: &[&str]) -> Result<globset::GlobSet, ActionError> {
    let mut b = globset::GlobSetBuilder::new();
    for k in keys {
        if let Some(list) = input.get(*k).and_then(Value::as_array) {
            for g in list.iter().filter_map(Value::as_str) {
                b.add(
                    globset::Glob::new(g.trim_start_matches("./"))
                        .map_err(|e| input_error(format!("{k}: {e}")))?,
                );
            }
        }
    }
    b.build().map_err(|e| input_error(e.to_string()))
}

/// The skeleton files copied without rendering: `copyWithoutTemplating` (and the older
/// `copyWithoutRender`) are globs of files or directories — a directory (`.github/workflows`,
/// `./.github/workflows/`) covers everything under it, as in Backstage.
fn verbatim_globs(input: &Value) -> Result<globset::GlobSet, ActionError> {
    let mut b = globset::GlobSetBuilder::new();
    for k in ["copyWithoutTemplating", "copyWithoutRender"] {
        for g in input
            .get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let g = g.trim_start_matches("./").trim_end_matches('/');
            let under = if g.is_empty() || g == "." {
                "**".to_owned()
            } else {
                format!("{g}/**")
            };
            for pattern in [g, under.as_str()] {
                b.add(globset::Glob::new(pattern).map_err(|e| input_error(format!("{k}: {e}")))?);
            }
        }
    }
    b.build().map_err(|e| input_error(e.to_string()))
}

/// Writes one file of the run: inside the workspace, counted against the run's budget.
fn write_file(cx: &mut ActionContext<'_>, rel: &str, bytes: &[u8]) -> Result<(), ActionError> {
    workspace::relative(rel)?;
    cx.budget.charge(rel, bytes.len() as u64)?;
    cx.workspace.write(rel, bytes)?;
    Ok(())
}

/// `fetch:template` and `fetch:plain`.
struct Fetch {
    render: bool,
}

impl Fetch {
    /// Copies (and with `fetch:template` renders) the skeleton at `input.url` into the
    /// workspace; returns how many files were written and where.
    fn fetch(&self, cx: &mut ActionContext<'_>, input: &Value) -> Result<String, ActionError> {
        let url = str_in(input, "url").ok_or_else(|| {
            input_error("input.url is required (the skeleton directory, relative to the template)")
        })?;
        if url.contains("://") {
            let refused = format!(
                "input.url {url:?}: remote skeletons are not fetched by this Socle; only a directory next to the template can be fetched"
            );
            // A preview goes on without it (and says so): a real run stops here.
            if cx.dry_run {
                cx.warn(format!(
                    "dry run: nothing fetched — a real run fails: {refused}"
                ));
                return Ok(format!("0 files written (dry run; {url} not fetched)"));
            }
            return Err(input_error(refused));
        }
        // An empty targetPath (an optional parameter left out) is the workspace itself.
        let target = str_in(input, "targetPath")
            .filter(|t| !t.is_empty())
            .unwrap_or(".");
        workspace::relative(target).map_err(|e| input_error(format!("input.targetPath: {e}")))?;
        let files = cx.source.files(url)?;
        let verbatim = verbatim_globs(input)?;
        let ext = match input.get("templateFileExtension") {
            Some(Value::Bool(true)) => Some(".njk".to_owned()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let ctx = json!({ "values": input.get("values").cloned().unwrap_or(json!({})) });
        let mut written = 0usize;
        for (rel, bytes) in files {
            let (mut name, mut render) = (rel.clone(), self.render && !verbatim.is_match(&rel));
            if let Some(ext) = &ext {
                match rel.strip_suffix(ext.as_str()) {
                    Some(stripped) => name = stripped.to_owned(),
                    None => render = false,
                }
            }
            if self.render {
                name = cx
                    .expr
                    .render_text(&name, &ctx)
                    .map_err(|e| ActionError::Render(format!("file name {rel}: {e}")))?;
            }
            // A name rendered empty (or to an empty segment) means "no such file".
            if name.split('/').any(|s| s.trim().is_empty()) {
                continue;
            }
            workspace::relative(&name)
                .map_err(|e| ActionError::Render(format!("skeleton file {rel} renders to {e}")))?;
            let content = match (render, std::str::from_utf8(&bytes)) {
                (true, Ok(text)) => cx
                    .expr
                    .render_file(&name, text, &ctx)
                    .map_err(|e| ActionError::Render(format!("{rel}: {e}")))?
                    .into_bytes(),
                _ => bytes,
            };
            let dest = if target == "." {
                name
            } else {
                format!("{}/{name}", target.trim_end_matches('/'))
            };
            write_file(cx, &dest, &content)?;
            written += 1;
        }
        Ok(format!("{written} files written to {target}"))
    }
}

impl Action for Fetch {
    fn id(&self) -> &'static str {
        if self.render {
            "fetch:template"
        } else {
            "fetch:plain"
        }
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let message = self.fetch(cx, &input)?;
            cx.info(message);
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

struct Rename;
impl Action for Rename {
    fn id(&self) -> &'static str {
        "fs:rename"
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let files = input
                .get("files")
                .and_then(Value::as_array)
                .ok_or_else(|| input_error("input.files is required: [{from, to}]"))?;
            for f in files {
                let (Some(from), Some(to)) = (str_in(f, "from"), str_in(f, "to")) else {
                    return Err(input_error("each of input.files needs `from` and `to`"));
                };
                workspace::relative(from)?;
                workspace::relative(to)?;
                if !cx.workspace.exists(from)? {
                    return Err(input_error(format!(
                        "{from} does not exist in the workspace"
                    )));
                }
                let overwrite = f.get("overwrite").and_then(Value::as_bool).unwrap_or(false);
                if cx.workspace.exists(to)? && !overwrite {
                    return Err(input_error(format!(
                        "{to} exists (set overwrite: true to replace it)"
                    )));
                }
                cx.workspace.rename(from, to)?;
                cx.info(format!("renamed {from} to {to}"));
            }
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

struct Delete;
impl Action for Delete {
    fn id(&self) -> &'static str {
        "fs:delete"
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let set = globs(&input, &["files"])?;
            let mut entries = cx.workspace.list(".")?;
            // What a directory holds before the directory, so each match is removed once.
            entries.sort_by(|a, b| workspace::contents_first(&a.path, &b.path));
            let mut deleted = Vec::new();
            for e in entries {
                if !set.is_match(&e.path) {
                    continue;
                }
                cx.workspace.remove(&e.path)?;
                deleted.push(e.path);
            }
            cx.info(format!(
                "deleted {}",
                if deleted.is_empty() {
                    "nothing".to_owned()
                } else {
                    deleted.join(", ")
                }
            ));
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

struct DebugLog;
impl Action for DebugLog {
    fn id(&self) -> &'static str {
        "debug:log"
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            if let Some(m) = input.get("message") {
                cx.info(m.as_str().map_or_else(|| m.to_string(), str::to_owned));
            }
            if input
                .get("listWorkspace")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                let files: Vec<String> = cx
                    .workspace
                    .list(".")
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| e.kind == EntryKind::File)
                    .map(|e| e.path)
                    .collect();
                cx.info(format!("workspace: {}", files.join(", ")));
            }
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

struct CatalogWrite;
impl Action for CatalogWrite {
    fn id(&self) -> &'static str {
        "catalog:write"
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let entity = input
                .get("entity")
                .ok_or_else(|| input_error("input.entity is required"))?;
            let path = str_in(&input, "filePath").unwrap_or("catalog-info.yaml");
            let text = serde_saphyr::to_string(entity).map_err(|e| input_error(e.to_string()))?;
            write_file(cx, path, text.as_bytes())?;
            cx.info(format!("wrote {path}"));
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

pub(crate) fn file_actions() -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(Fetch { render: true }),
        Arc::new(Fetch { render: false }),
        Arc::new(Rename),
        Arc::new(Delete),
        Arc::new(crate::read::Read),
        Arc::new(crate::read::ReadDir),
        Arc::new(DebugLog),
        Arc::new(CatalogWrite),
    ]
}
