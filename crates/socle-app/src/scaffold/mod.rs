//! Golden paths on the platform: the engines (every action a run may use), the templates on
//! offer (built-in, the catalog's — from files or Git — and a directory for its author), and
//! the run service shared by the API, the portal and the CLI (record, audit, redact, cancel).
//! The actions whose effects reach beyond a run's workspace are in [`actions`] (`publish:git`,
//! `catalog:register`, `socle:deploy`, `socle:guardrails`), `backstage` (`catalog:fetch`,
//! `notification:send`, `debug:wait`) and [`crate::git_hosts`] (GitHub and GitLab).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use socle_ingest::{LocationKind, LocationSpec};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError, Cancel, Engine, RunOptions, Template};
use socle_store::{Principal, TemplateRun};

use crate::App;
use crate::actor::Actor;
use crate::clock::Clock;
use crate::deploy::DeployInput;
use crate::error::AppError;

mod actions;
mod backstage;
pub mod live;
mod run;
pub mod sources;

pub use actions::*;
use actions::{CatalogRegister, Guardrails, PublishGit, SocleDeploy};
use backstage::{CatalogFetch, DebugWait, NotificationSend};
pub use backstage::{MAX_FETCH_REFS, MAX_WAIT};
pub use run::{RunOutcome, RunRequest, TemplateRef, run};
pub use sources::TemplateOrigin;

/// The platform's actions, which [`engine`] registers, with the outputs each declares (a test
/// holds the two equal): an engine without an application loads and validates templates with
/// the same checks.
pub const PLATFORM_ACTIONS: &[(&str, &[&str])] = &[
    (
        "publish:git",
        &["remoteUrl", "repoContentsUrl", "commitHash"],
    ),
    ("catalog:register", &["entityRef", "catalogInfoUrl"]),
    (
        "socle:deploy",
        &["deployment", "environment", "version", "gitopsCommit"],
    ),
    ("socle:guardrails", &["warnings"]),
    (
        "publish:github",
        &["remoteUrl", "repoContentsUrl", "commitHash"],
    ),
    (
        "publish:gitlab",
        &["remoteUrl", "repoContentsUrl", "commitHash", "projectId"],
    ),
    (
        "publish:github:pull-request",
        &["remoteUrl", "pullRequestNumber", "targetBranchName"],
    ),
    (
        "publish:gitlab:merge-request",
        &[
            "projectid",
            "projectPath",
            "targetBranchName",
            "mergeRequestUrl",
        ],
    ),
    ("github:actions:dispatch", &[]),
    ("catalog:fetch", &["entity", "entities"]),
    ("notification:send", &[]),
    ("debug:wait", &[]),
];

/// An action known by its id and outputs only: templates that use it load and validate, a run
/// of it fails.
struct NamedAction(&'static str, &'static [&'static str]);

impl socle_scaffold::Action for NamedAction {
    fn id(&self) -> &'static str {
        self.0
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(self.1.to_vec())
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

/// An engine that loads templates without an application (`socle template list` and
/// `socle template validate` where no store is): the file actions, and the platform's by name.
pub fn loading_engine(limits: &socle_catalog::Limits) -> Engine {
    let mut e = Engine::new();
    e.limits = limits.clone();
    for (id, outputs) in PLATFORM_ACTIONS {
        e.register(Arc::new(NamedAction(id, outputs)));
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

/// The engine for a run by `actor`: file actions plus the platform's.
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
    e.register(Arc::new(CatalogFetch {
        state: state.clone(),
        actor: actor.clone(),
    }));
    e.register(Arc::new(NotificationSend {
        state: state.clone(),
        actor: actor.clone(),
    }));
    e.register(Arc::new(DebugWait));
    for a in crate::git_hosts::actions(
        state.config.github_api.clone(),
        state.config.gitlab_api.clone(),
    ) {
        e.register(a);
    }
    e
}

/// The templates Socle offers: the built-in golden paths, then the `Template` entities of the
/// catalog read from local files (their skeletons next to them) or from Git locations (their
/// skeletons in the same tree). A catalog template whose name is taken by a built-in one, or
/// that does not load, is skipped (and logged); one using an action Socle does not run is
/// offered (its run fails at that step).
pub fn templates(state: &App, engine: &Engine) -> Vec<(Template, TemplateOrigin)> {
    let mut out: Vec<(Template, TemplateOrigin)> = Vec::new();
    for (name, text, src) in socle_scaffold::builtin::golden_paths() {
        match engine.load(text, &format!("{name}/template.yaml")) {
            Ok(t) => out.push((t, TemplateOrigin::Builtin(src))),
            Err(e) => tracing::error!("built-in template {name} does not load: {e:?}"),
        }
    }
    let snap = state.snapshot();
    for e in snap.entities.iter().filter(|e| e.kind() == "template") {
        let Ok(body) = serde_json::from_str::<Value>(&e.body) else {
            continue;
        };
        let Some((origin, file)) = sources::catalog_origin(&body) else {
            tracing::debug!("{}: not from a file or Git location", e.entity_ref);
            continue;
        };
        // JSON is YAML: the entity as stored loads like the file it came from.
        match engine.load(&e.body, &file) {
            Ok(t) if !out.iter().any(|(o, _)| o.name == t.name) => out.push((t, origin)),
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

/// The actor a local (CLI) run acts as.
pub fn caller(principal: Principal) -> Actor {
    Actor::Principal(principal)
}
