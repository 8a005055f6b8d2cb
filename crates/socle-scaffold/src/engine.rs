//! Runs a template: parameters first, then each step in order (`if`, `each`), with a log; a
//! failed run undoes the side effects of the steps that ran (newest first). Dry runs render
//! everything into the workspace and skip every action that changes something outside it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde_json::{Map, Value, json};
use socle_catalog::Limits;

use crate::builtin::Source;
use crate::expr::Expr;
use crate::params::{self, ParamError};
use crate::redact::Redactor;
use crate::template::{self, ActionTable, Step, Template, TemplateError};
use crate::workspace::{Budget, SandboxError, Workspace, WorkspaceError};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most iterations of one step's `each`.
pub const MAX_EACH: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogLine {
    pub step: String,
    pub level: &'static str,
    pub message: String,
}

/// Asks a run to stop: the engine checks it before each step (and each item of an `each`), and
/// actions that wait check it while they wait. A cancelled run undoes what it did, like a
/// failed one. Cheap to clone; every clone is the same switch.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What an action gets to work with.
pub struct ActionContext<'a> {
    pub workspace: &'a dyn Workspace,
    pub source: &'a dyn Source,
    pub expr: &'a Expr,
    pub budget: &'a mut Budget,
    pub log: &'a mut Vec<LogLine>,
    pub step: String,
    pub template: &'a Template,
    pub user: &'a Value,
    pub dry_run: bool,
    /// Set when the run is asked to stop (an action that waits checks it).
    pub cancel: Cancel,
}

impl ActionContext<'_> {
    pub fn info(&mut self, message: impl Into<String>) {
        self.line("info", message.into());
    }

    /// Something the run's author should know (a dry run that could not do what a real run
    /// will, an input ignored).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.line("warning", message.into());
    }

    fn line(&mut self, level: &'static str, message: String) {
        self.log.push(LogLine {
            step: self.step.clone(),
            level,
            message,
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

/// Why an action failed. The text is what the run's step error and log show.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The step's input lacks something or has the wrong shape.
    #[error("{0}")]
    Input(String),
    /// A path that leaves the workspace, or a limit reached.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// A skeleton file that does not render.
    #[error("{0}")]
    Render(String),
    /// What an action implemented outside this crate reports (publishing, registering,
    /// deploying).
    #[error("{0}")]
    Failed(String),
}

impl From<String> for ActionError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

impl From<&str> for ActionError {
    fn from(message: &str) -> Self {
        Self::Failed(message.to_owned())
    }
}

/// Why a step failed: its `if`, `each` or input, or its action.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error("{0}")]
    Expression(String),
    #[error("`each` must give a list or an object, not {0}")]
    EachNotCollection(Value),
    #[error("`each` gives more than {MAX_EACH} items")]
    EachTooMany,
    /// The template names an action this engine does not run (it loaded; it cannot run).
    #[error("{0}")]
    Unsupported(String),
    #[error("the run was cancelled")]
    Cancelled,
    #[error(transparent)]
    Action(#[from] ActionError),
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
    /// Whether a dry run runs it (default: when it has no side effect). An action without side
    /// effects may still be skipped by a preview (`debug:wait` does not wait in a dry run).
    fn runs_in_dry_run(&self) -> bool {
        !self.side_effect()
    }
    /// The output a dry run pretends the action produced.
    fn dry_run_output(&self, _input: &Value) -> Value {
        json!({})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>>;
    /// Reverses what `run` did (a later step failed).
    fn undo<'a>(&'a self, _data: Value) -> BoxFuture<'a, Result<(), ActionError>> {
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

/// How a whole run ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Completed,
    Failed,
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
    /// The run was asked to stop before this step.
    #[error("cancelled before step {step}")]
    Cancelled { step: String },
    #[error("output: {message}")]
    Output { message: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub status: RunStatus,
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
    /// Where the run writes: an empty workspace (a [`crate::disk::DiskWorkspace`] over an
    /// empty directory the caller removes, or a [`crate::workspace::MemWorkspace`]).
    pub workspace: Arc<dyn Workspace>,
    pub dry_run: bool,
    /// `{"ref": "user:default/ann", "entity": {…}}`
    pub user: Value,
    pub secrets: Value,
    /// The log as it grows, for a caller that shows a run's progress while it goes on.
    pub live: Option<LiveLog>,
    /// Stops the run when set (None: the run cannot be cancelled).
    pub cancel: Option<Cancel>,
}

/// A run's log, shared while the run goes on: updated when each step starts and ends, and
/// complete when the run returns.
pub type LiveLog = Arc<std::sync::Mutex<Vec<LogLine>>>;

fn publish(live: Option<&LiveLog>, redactor: &Redactor, log: &[LogLine], running: Option<&Step>) {
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
        for a in crate::actions::file_actions() {
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

    /// Every problem of a template (its text, and the skeletons `source` holds), for its author:
    /// what [`Engine::load`] refuses, the actions this engine does not run, missing skeletons.
    pub fn validate(&self, text: &str, file: &str, source: &dyn Source) -> Vec<TemplateError> {
        crate::validate::validate(text, file, &self.table(), &self.limits, source)
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
        let mut values = match values_object(values) {
            Ok(m) => m,
            Err(e) => return failed(opts.dry_run, Value::Null, e, Vec::new(), log),
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
        let mut state = StepState {
            t,
            source,
            opts: &opts,
            budget: Budget::default(),
            undo: Vec::new(),
            cancel: opts.cancel.clone().unwrap_or_default(),
        };
        let mut results: Vec<StepResult> = Vec::new();
        let mut failure: Option<RunError> = None;
        for step in &t.steps {
            if state.cancel.is_cancelled() {
                log.push(LogLine {
                    step: step.id.clone(),
                    level: "error",
                    message: "the run was cancelled".into(),
                });
                failure = Some(RunError::Cancelled {
                    step: step.id.clone(),
                });
                break;
            }
            publish(opts.live.as_ref(), &redactor, &log, Some(step));
            let result = match self.actions.get(&step.action).cloned() {
                Some(action) => {
                    self.run_step(step, &action, &ctx, &mut state, &mut log)
                        .await
                }
                None => Err(StepError::Unsupported(template::unsupported_message(
                    &step.action,
                    &self.table(),
                ))),
            };
            let (record, error) = step_record(step, result, &mut log);
            if error.is_none() {
                ctx["steps"][&step.id] = json!({ "output": record.output.clone() });
            }
            results.push(record);
            if error.is_some() {
                failure = error;
                break;
            }
        }
        let parameters = ctx["parameters"].clone();
        publish(opts.live.as_ref(), &redactor, &log, None);
        if let Some(err) = failure {
            undo_all(state.undo, &mut log).await;
            publish(opts.live.as_ref(), &redactor, &log, None);
            return failed(opts.dry_run, parameters, err, results, log);
        }
        match self.eval_output(&t.output, &ctx) {
            Ok(output) => RunResult {
                status: RunStatus::Completed,
                dry_run: opts.dry_run,
                error: None,
                parameters,
                steps: results,
                log,
                output,
            },
            Err(e) => failed(
                opts.dry_run,
                parameters,
                RunError::Output {
                    message: e.to_string(),
                },
                results,
                log,
            ),
        }
    }

    /// The items of a step's `each` (None: no `each`).
    fn each_items(&self, step: &Step, ctx: &Value) -> Result<Option<Vec<Value>>, StepError> {
        let Some(e) = &step.each else {
            return Ok(None);
        };
        let items: Vec<Value> = match self.eval(e, ctx)? {
            Value::Array(a) => a.into_iter().map(|v| json!({"value": v})).collect(),
            Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect(),
            Value::Null => Vec::new(),
            other => return Err(StepError::EachNotCollection(other)),
        };
        if items.len() > MAX_EACH {
            return Err(StepError::EachTooMany);
        }
        Ok(Some(items))
    }

    /// Runs one step (each of its `each` items): its status and output.
    async fn run_step(
        &self,
        step: &Step,
        action: &Arc<dyn Action>,
        ctx: &Value,
        state: &mut StepState<'_>,
        log: &mut Vec<LogLine>,
    ) -> Result<(StepStatus, Value), StepError> {
        if let Some(cond) = &step.if_
            && !truthy(&self.eval(cond, ctx)?)
        {
            return Ok((StepStatus::Skipped, Value::Null));
        }
        let items = self.each_items(step, ctx)?;
        let opts = state.opts;
        let mut outputs = Vec::new();
        let mut simulated = false;
        for item in items.clone().unwrap_or_else(|| vec![Value::Null]) {
            if state.cancel.is_cancelled() {
                return Err(StepError::Cancelled);
            }
            let mut local = ctx.clone();
            if !item.is_null() {
                local["each"] = item;
            }
            let input = self.eval(&step.input, &local)?;
            let line = |message: String| LogLine {
                step: step.id.clone(),
                level: "info",
                message,
            };
            log.push(line(format!("{} ({})", step.name, step.action)));
            if opts.dry_run && !action.runs_in_dry_run() {
                log.push(line(format!(
                    "dry run: {} not run; input {}",
                    step.action,
                    redact_input(&input)
                )));
                outputs.push(action.dry_run_output(&input));
                simulated = true;
                continue;
            }
            let mut cx = ActionContext {
                workspace: opts.workspace.as_ref(),
                source: state.source,
                expr: &self.expr,
                budget: &mut state.budget,
                log: &mut *log,
                step: step.id.clone(),
                template: state.t,
                user: &opts.user,
                dry_run: opts.dry_run,
                cancel: state.cancel.clone(),
            };
            let outcome = action.run(&mut cx, input).await?;
            if let Some(u) = outcome.undo {
                state.undo.push((action.clone(), u));
            }
            outputs.push(outcome.output);
        }
        let output = if items.is_some() {
            json!({ "results": outputs })
        } else {
            outputs.pop().unwrap_or(Value::Null)
        };
        let status = if simulated {
            StepStatus::Simulated
        } else {
            StepStatus::Completed
        };
        Ok((status, output))
    }

    /// The template's output. Items of `links` and `text` whose `if` is false are dropped
    /// (their other fields not evaluated); the others are kept without their `if`.
    fn eval_output(&self, output: &Value, ctx: &Value) -> Result<Value, StepError> {
        let Value::Object(map) = output else {
            return self.eval(output, ctx);
        };
        let mut kept = map.clone();
        for key in ["links", "text"] {
            let Some(Value::Array(items)) = map.get(key) else {
                continue;
            };
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let mut item = item.clone();
                if let Some(cond) = item.as_object_mut().and_then(|o| o.remove("if"))
                    && !truthy(&self.eval(&cond, ctx)?)
                {
                    continue;
                }
                out.push(item);
            }
            kept.insert(key.to_owned(), Value::Array(out));
        }
        self.eval(&Value::Object(kept), ctx)
    }

    fn eval(&self, v: &Value, ctx: &Value) -> Result<Value, StepError> {
        self.expr
            .eval_value(v, ctx)
            .map_err(|e| StepError::Expression(e.message))
    }
}

/// A step's record, and the run's error when it failed (its message also logged).
fn step_record(
    step: &Step,
    result: Result<(StepStatus, Value), StepError>,
    log: &mut Vec<LogLine>,
) -> (StepResult, Option<RunError>) {
    let record = |status, output, error| StepResult {
        id: step.id.clone(),
        name: step.name.clone(),
        action: step.action.clone(),
        status,
        output,
        error,
    };
    match result {
        Ok((status, output)) => (record(status, output, None), None),
        Err(e) => {
            let message = e.to_string();
            log.push(LogLine {
                step: step.id.clone(),
                level: "error",
                message: message.clone(),
            });
            let failure = RunError::Step {
                step: step.id.clone(),
                message: message.clone(),
            };
            (
                record(StepStatus::Failed, Value::Null, Some(message)),
                Some(failure),
            )
        }
    }
}

/// The run's values: an object of parameter names (null: none).
fn values_object(values: Value) -> Result<Map<String, Value>, RunError> {
    match values {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(RunError::Parameters {
            errors: vec![ParamError {
                path: String::new(),
                page: "values".into(),
                message: "the values must be an object of parameter names".into(),
            }],
        }),
    }
}

/// What the steps of one run share.
struct StepState<'r> {
    t: &'r Template,
    source: &'r dyn Source,
    opts: &'r RunOptions,
    budget: Budget,
    /// What to undo if a later step fails: (action, its undo data), oldest first.
    undo: Vec<(Arc<dyn Action>, Value)>,
    cancel: Cancel,
}

/// Undoes completed side effects, newest first (e.g. unregister the location before deleting
/// the repository), logging each.
async fn undo_all(undo: Vec<(Arc<dyn Action>, Value)>, log: &mut Vec<LogLine>) {
    for (action, data) in undo.into_iter().rev() {
        let what = action.id();
        let (level, message) = match action.undo(data).await {
            Ok(()) => ("info", format!("undid {what}")),
            Err(e) => ("error", format!("could not undo {what}: {e}")),
        };
        log.push(LogLine {
            step: "cleanup".into(),
            level,
            message,
        });
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
        status: RunStatus::Failed,
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
