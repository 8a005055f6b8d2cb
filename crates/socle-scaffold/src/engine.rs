//! Runs a template: parameters first, then each step in order (`if`, `each`), with a log; a
//! failed run undoes the side effects of the steps that ran (newest first). Dry runs render
//! everything into the workspace and skip every action that changes something outside it.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};
use socle_catalog::Limits;

use crate::builtin::Source;
use crate::expr::Expr;
use crate::params::{self, ParamError};
use crate::redact::Redactor;
use crate::template::{self, ActionTable, Template, TemplateError};
use crate::workspace::{self, Budget};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most iterations of one step's `each`.
pub const MAX_EACH: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogLine {
    pub step: String,
    pub level: &'static str,
    pub message: String,
}

/// What an action gets to work with.
pub struct ActionContext<'a> {
    pub workspace: &'a Path,
    pub source: &'a dyn Source,
    pub expr: &'a Expr,
    pub budget: &'a mut Budget,
    pub log: &'a mut Vec<LogLine>,
    pub step: String,
    pub template: &'a Template,
    pub user: &'a Value,
    pub dry_run: bool,
}

impl ActionContext<'_> {
    pub fn info(&mut self, message: impl Into<String>) {
        self.log.push(LogLine {
            step: self.step.clone(),
            level: "info",
            message: message.into(),
        });
    }
}

/// What an action returns: its output, and what to keep to undo it if the run fails later.
#[derive(Debug, Default)]
pub struct ActionOutcome {
    pub output: Value,
    pub undo: Option<Value>,
}

impl ActionOutcome {
    pub fn output(output: Value) -> Self {
        Self { output, undo: None }
    }
}

/// A scaffolder action.
pub trait Action: Send + Sync {
    fn id(&self) -> &'static str;
    /// The output keys it produces (None: not declared, not checked at load time).
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(Vec::new())
    }
    /// Changes something outside the workspace: a dry run skips it.
    fn side_effect(&self) -> bool {
        false
    }
    /// The output a dry run pretends the action produced.
    fn dry_run_output(&self, _input: &Value) -> Value {
        json!({})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, String>>;
    /// Reverses what `run` did (a later step failed).
    fn undo<'a>(&'a self, _data: Value) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Completed,
    Skipped,
    Failed,
    /// Not run because the run is a dry run (a side-effecting action).
    Simulated,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub id: String,
    pub name: String,
    pub action: String,
    pub status: StepStatus,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a run failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunError {
    #[error("{} parameter error(s): {}", errors.len(), errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Parameters { errors: Vec<ParamError> },
    #[error("step {step}: {message}")]
    Step { step: String, message: String },
    #[error("output: {message}")]
    Output { message: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// `completed` or `failed`.
    pub status: &'static str,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    /// The parameters after defaults, secret ones replaced by `***`.
    pub parameters: Value,
    pub steps: Vec<StepResult>,
    pub log: Vec<LogLine>,
    pub output: Value,
}

pub struct RunOptions {
    /// An existing, empty directory; the caller removes it.
    pub workspace: PathBuf,
    pub dry_run: bool,
    /// `{"ref": "user:default/ann", "entity": {…}}`
    pub user: Value,
    pub secrets: Value,
    /// The log as it grows, for a caller that shows a run's progress while it goes on.
    pub live: Option<LiveLog>,
}

/// A run's log, shared while the run goes on: updated when each step starts and ends, and
/// complete when the run returns.
pub type LiveLog = Arc<std::sync::Mutex<Vec<LogLine>>>;

fn publish(
    live: Option<&LiveLog>,
    redactor: &Redactor,
    log: &[LogLine],
    running: Option<&crate::template::Step>,
) {
    let Some(live) = live else { return };
    let mut lines = log.to_vec();
    redactor.log(&mut lines);
    if let Some(step) = running {
        lines.push(LogLine {
            step: step.id.clone(),
            level: "info",
            message: format!("running: {}…", step.name),
        });
    }
    if let Ok(mut l) = live.lock() {
        *l = lines;
    }
}

/// The actions a run may use.
pub struct Engine {
    actions: BTreeMap<String, Arc<dyn Action>>,
    expr: Expr,
    pub limits: Limits,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// An engine with the file actions; add the others with [`Engine::register`].
    pub fn new() -> Self {
        let mut e = Self {
            actions: BTreeMap::new(),
            expr: Expr::new(),
            limits: Limits::default(),
        };
        for a in file_actions() {
            e.register(a);
        }
        e
    }

    pub fn register(&mut self, a: Arc<dyn Action>) {
        self.actions.insert(a.id().to_owned(), a);
    }

    pub fn table(&self) -> ActionTable {
        self.actions
            .iter()
            .map(|(k, a)| (k.clone(), a.outputs()))
            .collect()
    }

    /// Loads and checks a template against the actions of this engine.
    pub fn load(&self, text: &str, file: &str) -> Result<Template, Vec<TemplateError>> {
        template::load(text, file, &self.table(), &self.limits)
    }

    /// Runs a template. Secret values (secret parameters wherever their page declares them,
    /// and `opts.secrets`) are replaced by `***` everywhere in the result and the live log.
    pub async fn run(
        &self,
        t: &Template,
        source: &dyn Source,
        values: Value,
        opts: RunOptions,
    ) -> RunResult {
        let secrets = opts.secrets.clone();
        let mut result = self.execute(t, source, values, opts).await;
        Redactor::new(&t.parameters, &result.parameters, &secrets)
            .result(&t.parameters, &mut result);
        result
    }

    async fn execute(
        &self,
        t: &Template,
        source: &dyn Source,
        values: Value,
        opts: RunOptions,
    ) -> RunResult {
        let mut log = Vec::new();
        let mut values = match values {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return failed(
                    opts.dry_run,
                    Value::Null,
                    RunError::Parameters {
                        errors: vec![ParamError {
                            path: String::new(),
                            page: "values".into(),
                            message: "the values must be an object of parameter names".into(),
                        }],
                    },
                    Vec::new(),
                    log,
                );
            }
        };
        params::apply_defaults(&t.parameters, &mut values);
        let parameters = Value::Object(values);
        let redactor = Redactor::new(&t.parameters, &parameters, &opts.secrets);
        let errors = params::validate(&t.parameters, &parameters);
        if !errors.is_empty() {
            return failed(
                opts.dry_run,
                parameters,
                RunError::Parameters { errors },
                Vec::new(),
                log,
            );
        }
        let mut ctx = json!({
            "parameters": parameters,
            "steps": {},
            "user": opts.user,
            "secrets": opts.secrets,
        });
        let mut budget = Budget::default();
        let mut results: Vec<StepResult> = Vec::new();
        let mut undo: Vec<(Arc<dyn Action>, Value)> = Vec::new();
        let mut failure: Option<RunError> = None;
        for step in &t.steps {
            publish(opts.live.as_ref(), &redactor, &log, Some(step));
            let action = self.actions.get(&step.action).cloned();
            let Some(action) = action else {
                failure = Some(RunError::Step {
                    step: step.id.clone(),
                    message: format!("action {} is not available", step.action),
                });
                break;
            };
            let result = async {
                if let Some(cond) = &step.if_ {
                    let v = self.eval(cond, &ctx)?;
                    if !truthy(&v) {
                        return Ok((StepStatus::Skipped, Value::Null));
                    }
                }
                let items: Option<Vec<Value>> = match &step.each {
                    None => None,
                    Some(e) => Some(match self.eval(e, &ctx)? {
                        Value::Array(a) => a.into_iter().map(|v| json!({"value": v})).collect(),
                        Value::Object(m) => m
                            .into_iter()
                            .map(|(k, v)| json!({"key": k, "value": v}))
                            .collect(),
                        Value::Null => Vec::new(),
                        other => {
                            return Err(format!(
                                "`each` must give a list or an object, not {other}"
                            ));
                        }
                    }),
                };
                if items.as_ref().is_some_and(|i| i.len() > MAX_EACH) {
                    return Err(format!("`each` gives more than {MAX_EACH} items"));
                }
                let mut outputs = Vec::new();
                let mut simulated = false;
                for item in items.clone().unwrap_or_else(|| vec![Value::Null]) {
                    let mut local = ctx.clone();
                    if !item.is_null() {
                        local["each"] = item;
                    }
                    let input = self.eval(&step.input, &local)?;
                    log.push(LogLine {
                        step: step.id.clone(),
                        level: "info",
                        message: format!("{} ({})", step.name, step.action),
                    });
                    if opts.dry_run && action.side_effect() {
                        log.push(LogLine {
                            step: step.id.clone(),
                            level: "info",
                            message: format!(
                                "dry run: {} not run; input {}",
                                step.action,
                                redact_input(&input)
                            ),
                        });
                        outputs.push(action.dry_run_output(&input));
                        simulated = true;
                        continue;
                    }
                    let mut cx = ActionContext {
                        workspace: &opts.workspace,
                        source,
                        expr: &self.expr,
                        budget: &mut budget,
                        log: &mut log,
                        step: step.id.clone(),
                        template: t,
                        user: &opts.user,
                        dry_run: opts.dry_run,
                    };
                    let outcome = action.run(&mut cx, input).await?;
                    if let Some(u) = outcome.undo {
                        undo.push((action.clone(), u));
                    }
                    outputs.push(outcome.output);
                }
                let output = if items.is_some() {
                    json!({ "results": outputs })
                } else {
                    outputs.pop().unwrap_or(Value::Null)
                };
                Ok((
                    if simulated {
                        StepStatus::Simulated
                    } else {
                        StepStatus::Completed
                    },
                    output,
                ))
            }
            .await;
            match result {
                Ok((status, output)) => {
                    ctx["steps"][&step.id] = json!({ "output": output.clone() });
                    results.push(StepResult {
                        id: step.id.clone(),
                        name: step.name.clone(),
                        action: step.action.clone(),
                        status,
                        output,
                        error: None,
                    });
                }
                Err(message) => {
                    log.push(LogLine {
                        step: step.id.clone(),
                        level: "error",
                        message: message.clone(),
                    });
                    results.push(StepResult {
                        id: step.id.clone(),
                        name: step.name.clone(),
                        action: step.action.clone(),
                        status: StepStatus::Failed,
                        output: Value::Null,
                        error: Some(message.clone()),
                    });
                    failure = Some(RunError::Step {
                        step: step.id.clone(),
                        message,
                    });
                    break;
                }
            }
        }
        let parameters = ctx["parameters"].clone();
        publish(opts.live.as_ref(), &redactor, &log, None);
        if let Some(err) = failure {
            // Newest first: e.g. unregister the location before deleting the repository.
            for (action, data) in undo.into_iter().rev() {
                let what = action.id();
                match action.undo(data).await {
                    Ok(()) => log.push(LogLine {
                        step: "cleanup".into(),
                        level: "info",
                        message: format!("undid {what}"),
                    }),
                    Err(e) => log.push(LogLine {
                        step: "cleanup".into(),
                        level: "error",
                        message: format!("could not undo {what}: {e}"),
                    }),
                }
            }
            publish(opts.live.as_ref(), &redactor, &log, None);
            return failed(opts.dry_run, parameters, err, results, log);
        }
        match self.eval(&t.output, &ctx) {
            Ok(output) => RunResult {
                status: "completed",
                dry_run: opts.dry_run,
                error: None,
                parameters,
                steps: results,
                log,
                output,
            },
            Err(message) => failed(
                opts.dry_run,
                parameters,
                RunError::Output { message },
                results,
                log,
            ),
        }
    }

    fn eval(&self, v: &Value, ctx: &Value) -> Result<Value, String> {
        self.expr.eval_value(v, ctx).map_err(|e| e.message)
    }
}

fn failed(
    dry_run: bool,
    parameters: Value,
    error: RunError,
    steps: Vec<StepResult>,
    log: Vec<LogLine>,
) -> RunResult {
    RunResult {
        status: "failed",
        dry_run,
        error: Some(error),
        parameters,
        steps,
        log,
        output: Value::Null,
    }
}

/// Backstage's `if`: false, null, "", 0, "false" and empty collections are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !(s.is_empty() || s == "false"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Input shown in a dry-run log, with anything that looks like a credential hidden.
fn redact_input(v: &Value) -> String {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let secret = ["token", "password", "secret"]
                            .iter()
                            .any(|s| k.to_ascii_lowercase().contains(s));
                        (
                            k.clone(),
                            if secret {
                                Value::String("***".into())
                            } else {
                                walk(v)
                            },
                        )
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(walk).collect()),
            other => other.clone(),
        }
    }
    let s = walk(v).to_string();
    if s.len() > 500 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(500).map_or(s.len(), |c| c.0)]
        )
    } else {
        s
    }
}

// --- file actions -------------------------------------------------------------------------

fn str_in<'v>(input: &'v Value, key: &str) -> Option<&'v str> {
    input.get(key).and_then(Value::as_str)
}

fn globs(input: &Value, keys: &[&str]) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    for k in keys {
        if let Some(list) = input.get(*k).and_then(Value::as_array) {
            for g in list.iter().filter_map(Value::as_str) {
                b.add(
                    globset::Glob::new(g.trim_start_matches("./"))
                        .map_err(|e| format!("{k}: {e}"))?,
                );
            }
        }
    }
    b.build().map_err(|e| e.to_string())
}

fn write_file(cx: &mut ActionContext<'_>, rel: &str, bytes: &[u8]) -> Result<(), String> {
    let path = workspace::join(cx.workspace, rel).map_err(|e| e.to_string())?;
    cx.budget
        .charge(&path, bytes.len() as u64)
        .map_err(|e| e.to_string())?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {rel}: {e}"))
}

/// `fetch:template` and `fetch:plain`.
struct Fetch {
    render: bool,
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
    ) -> BoxFuture<'a, Result<ActionOutcome, String>> {
        Box::pin(async move {
            let url = str_in(&input, "url").ok_or(
                "input.url is required (the skeleton directory, relative to the template)",
            )?;
            if url.contains("://") {
                return Err(format!(
                    "input.url {url:?}: only a directory next to the template can be fetched"
                ));
            }
            let target = str_in(&input, "targetPath").unwrap_or(".");
            workspace::relative(target).map_err(|e| format!("input.targetPath: {e}"))?;
            let files = cx.source.files(url).map_err(|e| e.to_string())?;
            let verbatim = globs(&input, &["copyWithoutTemplating", "copyWithoutRender"])?;
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
                        .map_err(|e| format!("file name {rel}: {e}"))?;
                }
                // A name rendered empty (or to an empty segment) means "no such file".
                if name.split('/').any(|s| s.trim().is_empty()) {
                    continue;
                }
                workspace::relative(&name)
                    .map_err(|e| format!("skeleton file {rel} renders to {e}"))?;
                let content = match (render, std::str::from_utf8(&bytes)) {
                    (true, Ok(text)) => cx
                        .expr
                        .render_file(&name, text, &ctx)
                        .map_err(|e| format!("{rel}: {e}"))?
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
            cx.info(format!("{written} files written to {target}"));
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
    ) -> BoxFuture<'a, Result<ActionOutcome, String>> {
        Box::pin(async move {
            let files = input
                .get("files")
                .and_then(Value::as_array)
                .ok_or("input.files is required: [{from, to}]")?;
            for f in files {
                let (Some(from), Some(to)) = (str_in(f, "from"), str_in(f, "to")) else {
                    return Err("each of input.files needs `from` and `to`".into());
                };
                let src = workspace::join(cx.workspace, from).map_err(|e| e.to_string())?;
                let dst = workspace::join(cx.workspace, to).map_err(|e| e.to_string())?;
                if !src.exists() {
                    return Err(format!("{from} does not exist in the workspace"));
                }
                if dst.exists() && !f.get("overwrite").and_then(Value::as_bool).unwrap_or(false) {
                    return Err(format!("{to} exists (set overwrite: true to replace it)"));
                }
                if let Some(p) = dst.parent() {
                    std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
                }
                std::fs::rename(&src, &dst)
                    .map_err(|e| format!("cannot rename {from} to {to}: {e}"))?;
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
    ) -> BoxFuture<'a, Result<ActionOutcome, String>> {
        Box::pin(async move {
            let set = globs(&input, &["files"])?;
            let mut deleted = Vec::new();
            for entry in walkdir::WalkDir::new(cx.workspace)
                .follow_links(false)
                .contents_first(true)
            {
                let entry = entry.map_err(|e| e.to_string())?;
                let rel = entry
                    .path()
                    .strip_prefix(cx.workspace)
                    .unwrap_or(entry.path());
                let rel = rel.to_string_lossy().replace('\\', "/");
                if rel.is_empty() || !set.is_match(&rel) {
                    continue;
                }
                if entry.file_type().is_dir() {
                    std::fs::remove_dir_all(entry.path()).map_err(|e| e.to_string())?;
                } else {
                    std::fs::remove_file(entry.path()).map_err(|e| e.to_string())?;
                }
                deleted.push(rel);
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
    ) -> BoxFuture<'a, Result<ActionOutcome, String>> {
        Box::pin(async move {
            if let Some(m) = input.get("message") {
                cx.info(m.as_str().map_or_else(|| m.to_string(), str::to_owned));
            }
            if input
                .get("listWorkspace")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                let mut files = Vec::new();
                for e in walkdir::WalkDir::new(cx.workspace)
                    .sort_by_file_name()
                    .into_iter()
                    .flatten()
                {
                    if e.file_type().is_file() {
                        files.push(
                            e.path()
                                .strip_prefix(cx.workspace)
                                .unwrap_or(e.path())
                                .display()
                                .to_string(),
                        );
                    }
                }
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
    ) -> BoxFuture<'a, Result<ActionOutcome, String>> {
        Box::pin(async move {
            let entity = input.get("entity").ok_or("input.entity is required")?;
            let path = str_in(&input, "filePath").unwrap_or("catalog-info.yaml");
            let text = serde_saphyr::to_string(entity).map_err(|e| e.to_string())?;
            write_file(cx, path, text.as_bytes())?;
            cx.info(format!("wrote {path}"));
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

fn file_actions() -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(Fetch { render: true }),
        Arc::new(Fetch { render: false }),
        Arc::new(Rename),
        Arc::new(Delete),
        Arc::new(DebugLog),
        Arc::new(CatalogWrite),
    ]
}
