//! Golden paths on the platform: the actions whose effects reach beyond a run's workspace —
//! `publish:git` (a bare repository Socle hosts), `catalog:register` (a Git location) and
//! `socle:deploy` (the deploy pipeline, guardrails included) — and the run service shared by the
//! API and the CLI (record, audit, redact).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use socle_ingest::{LocationKind, LocationSpec};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError, Engine, RunOptions, Template};
use socle_store::{Principal, TemplateRun};

use crate::App;
use crate::actor::Actor;
use crate::clock::Clock;
use crate::deploy::DeployInput;
use crate::error::AppError;

mod actions;

pub use actions::*;
use actions::{CatalogRegister, Guardrails, PublishGit, SocleDeploy};

/// The ids of the platform's actions, which [`engine`] registers (a test holds the two equal).
pub const PLATFORM_ACTIONS: &[&str] = &[
    "publish:git",
    "catalog:register",
    "socle:deploy",
    "socle:guardrails",
    "publish:github",
    "publish:gitlab",
];

/// An action known by its id only: templates that use it load, a run of it fails.
struct NamedAction(&'static str);

impl socle_scaffold::Action for NamedAction {
    fn id(&self) -> &'static str {
        self.0
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        None
    }
    fn run<'a>(
        &'a self,
        _cx: &'a mut ActionContext<'_>,
        _input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        let id = self.0;
        Box::pin(async move {
            Err(ActionError::from(format!(
                "{id} runs only in an application (this engine only loads templates)"
            )))
        })
    }
}

/// An engine that loads templates without an application (`socle template list` where no
/// store is): the file actions, and the platform's by name.
pub fn loading_engine(limits: &socle_catalog::Limits) -> Engine {
    let mut e = Engine::new();
    e.limits = limits.clone();
    for id in PLATFORM_ACTIONS {
        e.register(Arc::new(NamedAction(id)));
    }
    e
}

/// The built-in golden paths as `engine` loads them, and the error of each that does not
/// (`name: errors`), which callers show instead of hiding.
pub fn builtin_templates(engine: &Engine) -> (Vec<Template>, Vec<String>) {
    let mut loaded = Vec::new();
    let mut failed = Vec::new();
    for (name, text, _) in socle_scaffold::builtin::golden_paths() {
        match engine.load(text, &format!("{name}/template.yaml")) {
            Ok(t) => loaded.push(t),
            Err(errs) => failed.push(format!(
                "{name}: {}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
    (loaded, failed)
}

/// The engine for a run by `caller`: file actions plus the platform's.
pub fn engine(state: &Arc<App>, actor: &Actor) -> Engine {
    let mut e = Engine::new();
    e.limits = state.config.limits.clone();
    e.register(Arc::new(PublishGit {
        root: repositories_root(state),
        clock: state.clock.clone(),
    }));
    e.register(Arc::new(CatalogRegister {
        state: state.clone(),
        actor: actor.name(),
    }));
    e.register(Arc::new(SocleDeploy {
        state: state.clone(),
        actor: actor.clone(),
    }));
    e.register(Arc::new(Guardrails {
        state: state.clone(),
    }));
    for a in crate::git_hosts::actions(
        state.config.github_api.clone(),
        state.config.gitlab_api.clone(),
    ) {
        e.register(a);
    }
    e
}

/// The templates Socle offers: the built-in golden paths, then the `Template` entities of the
/// catalog read from local files (their skeletons are next to them). A catalog template whose
/// name is taken by a built-in one, or that does not load, is skipped (and logged).
pub fn templates(
    state: &App,
    engine: &Engine,
) -> Vec<(Template, Box<dyn socle_scaffold::builtin::Source>)> {
    let mut out: Vec<(Template, Box<dyn socle_scaffold::builtin::Source>)> = Vec::new();
    for (name, text, src) in socle_scaffold::builtin::golden_paths() {
        match engine.load(text, &format!("{name}/template.yaml")) {
            Ok(t) => out.push((t, Box::new(src))),
            Err(e) => tracing::error!("built-in template {name} does not load: {e:?}"),
        }
    }
    let snap = state.snapshot();
    for e in snap.entities.iter().filter(|e| e.kind() == "template") {
        let Ok(body) = serde_json::from_str::<Value>(&e.body) else {
            continue;
        };
        let location = body
            .pointer("/metadata/annotations/backstage.io~1managed-by-location")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(file) = location.strip_prefix("file:") else {
            tracing::debug!(
                "{}: templates are run from local files only ({location})",
                e.entity_ref
            );
            continue;
        };
        let Some(dir) = Path::new(file).parent() else {
            continue;
        };
        // JSON is YAML: the entity as stored loads like the file it came from.
        match engine.load(&e.body, file) {
            Ok(t) if !out.iter().any(|(o, _)| o.name == t.name) => {
                out.push((
                    t,
                    Box::new(socle_scaffold::builtin::DirSource {
                        root: dir.to_path_buf(),
                    }),
                ));
            }
            Ok(t) => tracing::warn!(
                "{}: the name {} is taken by a built-in template",
                e.entity_ref,
                t.name
            ),
            Err(errs) => tracing::warn!(
                "{}: {}",
                e.entity_ref,
                errs.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
    out
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
            run_live(self, Some(principal), template, values, dry_run, None, live).await
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

/// Runs a template as `principal` and records the run (parameters redacted). With `keep`, the
/// rendered workspace is copied there (dry runs: the preview).
pub async fn run(
    state: &Arc<App>,
    principal: Option<Principal>,
    template: &str,
    values: Value,
    dry_run: bool,
    keep: Option<&Path>,
) -> Result<RunOutcome, AppError> {
    run_live(state, principal, template, values, dry_run, keep, None).await
}

/// [`run`], sharing the log while the run goes on (the portal's live run page).
pub async fn run_live(
    state: &Arc<App>,
    principal: Option<Principal>,
    template: &str,
    values: Value,
    dry_run: bool,
    keep: Option<&Path>,
    live: Option<socle_scaffold::LiveLog>,
) -> Result<RunOutcome, AppError> {
    // A run is CPU work (rendering, expressions, guardrails): it holds a CPU slot.
    let _slot = state.cpu.permit().await?;
    let actor = principal.map_or(Actor::Anonymous, Actor::Principal);
    let engine = engine(state, &actor);
    let list = templates(state, &engine);
    if !list.iter().any(|(t, _)| t.name == template) {
        return Err(AppError::not_found(format!(
            "no template {template:?} (available: {})",
            list.iter()
                .map(|(t, _)| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let ws = tempfile::tempdir().map_err(AppError::internal)?;
    let user = json!({"ref": actor.name()});
    let options = RunOptions {
        workspace: Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
        dry_run,
        user,
        secrets: json!({}),
        live,
    };
    // Rendering, expressions and guardrails are CPU work: the run goes on a blocking thread
    // (its IO still on the runtime), so the async workers keep serving.
    let name = template.to_owned();
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let (t, src) = list
                .iter()
                .find(|(t, _)| t.name == name)
                .expect("found above");
            engine.run(t, src.as_ref(), values, options).await
        })
    })
    .await
    .map_err(AppError::internal)?;
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(ws.path())
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(ws.path())
                .unwrap_or(e.path())
                .to_string_lossy()
                .replace('\\', "/");
            files.push((rel, e.metadata().map(|m| m.len()).unwrap_or(0)));
        }
    }
    if let Some(dest) = keep
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
    let parameters = result.parameters.clone();
    let run = state
        .store
        .record_template_run(TemplateRun {
            id: String::new(),
            seq: 0,
            template: template.to_owned(),
            actor: actor.name(),
            status: match result.status {
                socle_scaffold::RunStatus::Completed => socle_store::RunStatus::Completed,
                socle_scaffold::RunStatus::Failed => socle_store::RunStatus::Failed,
            },
            dry_run,
            parameters,
            steps: serde_json::to_value(&result.steps).unwrap_or_default(),
            log: serde_json::to_value(&result.log).unwrap_or_default(),
            output: result.output.clone(),
            error: result
                .error
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
            created_at: state.now_ms(),
        })
        .await?;
    Ok(RunOutcome { run, files })
}

/// The actor a local (CLI) run acts as.
pub fn caller(principal: Principal) -> Actor {
    Actor::Principal(principal)
}
