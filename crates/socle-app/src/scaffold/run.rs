//! A golden-path run: the template found (by name, or a directory for its author), its
//! skeleton opened (a Git template's at the commit the catalog read), the run on a blocking
//! thread, the files it wrote, and the record (parameters redacted).

use super::*;

/// Which template a run runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// One the platform offers (built-in or in the catalog), by name.
    Name(String),
    /// A template directory on this machine, run without registering it (`socle template run
    /// ./dir`, for template authors). The API never takes one: it would name a server path.
    Dir(PathBuf),
}

impl TemplateRef {
    /// How the audit log and messages name it.
    pub fn label(&self) -> String {
        match self {
            Self::Name(n) => n.clone(),
            Self::Dir(d) => d.display().to_string(),
        }
    }
}

/// A run to make.
pub struct RunRequest {
    pub template: TemplateRef,
    pub values: Value,
    /// Render only: no side effect outside the workspace.
    pub dry_run: bool,
    /// Where a completed run's files are copied (dry runs: the preview).
    pub keep: Option<PathBuf>,
    /// The log as it grows (the portal's live run page).
    pub live: Option<socle_scaffold::LiveLog>,
    /// Stops the run between steps (and a `debug:wait`); what ran is undone.
    pub cancel: Option<Cancel>,
}

impl RunRequest {
    pub fn new(template: TemplateRef, values: Value, dry_run: bool) -> Self {
        Self {
            template,
            values,
            dry_run,
            keep: None,
            live: None,
            cancel: None,
        }
    }
}

/// A finished run, recorded.
pub struct RunOutcome {
    pub run: TemplateRun,
    /// For dry runs: the files rendered (path, size).
    pub files: Vec<(String, u64)>,
}

impl App {
    /// Runs a golden path as `actor` (a member), recorded (parameters redacted) and audited as
    /// `template.run`; `live` shares the log while the run goes on.
    pub async fn run_template(
        self: &Arc<Self>,
        actor: &Actor,
        template: &str,
        values: Value,
        dry_run: bool,
        live: Option<socle_scaffold::LiveLog>,
    ) -> Result<RunOutcome, AppError> {
        let result = async {
            let principal = actor.require(socle_store::Role::Member)?.clone();
            let mut req = RunRequest::new(TemplateRef::Name(template.to_owned()), values, dry_run);
            req.live = live;
            run(self, Some(principal), req).await
        }
        .await;
        self.audited_with(
            actor,
            crate::AuditAction::TemplateRun,
            template,
            result,
            |o| o.run.id.clone(),
        )
        .await
    }
}

/// The template a request names, with where its skeleton comes from.
fn find(
    state: &App,
    engine: &Engine,
    template: &TemplateRef,
) -> Result<(Template, TemplateOrigin), AppError> {
    match template {
        TemplateRef::Dir(dir) => sources::dir_template(engine, dir),
        TemplateRef::Name(name) => {
            let mut list = templates(state, engine);
            match list.iter().position(|(t, _)| &t.name == name) {
                Some(i) => Ok(list.swap_remove(i)),
                None => Err(AppError::not_found(format!(
                    "no template {name:?} (available: {})",
                    list.iter()
                        .map(|(t, _)| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}

/// Every file under `root`: (path relative to it, size), sorted.
fn written(root: &Path) -> Vec<(String, u64)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap_or(e.path())
                .to_string_lossy()
                .replace('\\', "/");
            (rel, e.metadata().map(|m| m.len()).unwrap_or(0))
        })
        .collect()
}

/// The entity a completed, real run registered in the catalog (its `catalog:register` step's
/// `entityRef`): with the run's record, the durable "created from this golden path by this
/// run" marker adoption reports read.
fn registered_entity(result: &socle_scaffold::RunResult) -> Option<String> {
    if result.dry_run || result.status != socle_scaffold::RunStatus::Completed {
        return None;
    }
    result
        .steps
        .iter()
        .filter(|s| {
            s.action == "catalog:register" && s.status == socle_scaffold::StepStatus::Completed
        })
        .find_map(|s| s.output.get("entityRef")?.as_str())
        .map(|r| r.chars().take(512).collect())
}

/// Runs a template as `principal` and records the run (parameters redacted).
pub async fn run(
    state: &Arc<App>,
    principal: Option<Principal>,
    req: RunRequest,
) -> Result<RunOutcome, AppError> {
    // A run is CPU work (rendering, expressions, guardrails): it holds a CPU slot.
    let _slot = state.cpu.permit().await?;
    let started_at = state.now_ms();
    let actor = principal.map_or(Actor::Anonymous, Actor::Principal);
    let engine = engine(state, &actor);
    let (template, origin) = find(state, &engine, &req.template)?;
    let revision = origin.revision(state).await?;
    let ws = tempfile::tempdir().map_err(AppError::internal)?;
    let options = RunOptions {
        workspace: Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
        dry_run: req.dry_run,
        user: json!({"ref": actor.name()}),
        secrets: json!({}),
        live: req.live,
        cancel: req.cancel,
    };
    // Rendering, expressions and guardrails are CPU work, and opening a Git template walks its
    // tree: the run goes on a blocking thread (its IO still on the runtime), so the async
    // workers keep serving.
    let handle = tokio::runtime::Handle::current();
    let name = template.name.clone();
    let values = req.values;
    let remotes = state.config.remotes.clone();
    let result = tokio::task::spawn_blocking(move || {
        let source = origin.open(revision.as_deref(), &remotes)?;
        Ok::<_, AppError>(handle.block_on(engine.run(&template, source.as_ref(), values, options)))
    })
    .await
    .map_err(AppError::internal)??;
    let files = written(ws.path());
    if let Some(dest) = &req.keep
        && result.status == socle_scaffold::RunStatus::Completed
    {
        for (rel, _) in &files {
            let to = dest.join(rel);
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p).map_err(AppError::internal)?;
            }
            std::fs::copy(ws.path().join(rel), &to).map_err(AppError::internal)?;
        }
    }
    // Secret parameters (wherever the template declares them) are already `***` in the result:
    // the engine redacts before it returns.
    let run = state
        .store
        .record_template_run(TemplateRun {
            id: String::new(),
            seq: 0,
            template: name,
            actor: actor.name(),
            status: match result.status {
                socle_scaffold::RunStatus::Completed => socle_store::RunStatus::Completed,
                socle_scaffold::RunStatus::Failed => socle_store::RunStatus::Failed,
            },
            dry_run: req.dry_run,
            parameters: result.parameters.clone(),
            steps: serde_json::to_value(&result.steps).unwrap_or_default(),
            log: serde_json::to_value(&result.log).unwrap_or_default(),
            output: result.output.clone(),
            error: result
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
            created_at: state.now_ms(),
            started_at: Some(started_at),
            entity: registered_entity(&result),
        })
        .await?;
    Ok(RunOutcome { run, files })
}
