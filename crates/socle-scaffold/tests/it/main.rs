mod conformance;
mod expressions;
mod fuzz;
mod hostile;
mod memory;
mod nunjucks;
mod nunjucks_runs;
mod reading;
mod runs;
mod secrets;
mod unsupported;

use std::sync::Arc;

use serde_json::{Value, json};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError, Engine};

/// Stands in for an action implemented outside this crate (publishing, registering, deploying):
/// same id and outputs; records nothing.
pub struct Stub {
    pub id: &'static str,
    pub outputs: Vec<&'static str>,
    pub fail: bool,
    /// Changes something outside the workspace (skipped by dry runs).
    pub side_effect: bool,
}

impl Action for Stub {
    fn id(&self) -> &'static str {
        self.id
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(self.outputs.clone())
    }
    fn side_effect(&self) -> bool {
        self.side_effect
    }
    fn dry_run_output(&self, _input: &Value) -> Value {
        self.outputs
            .iter()
            .map(|k| (k.to_string(), json!(format!("dry-run:{k}"))))
            .collect()
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            if self.fail {
                return Err(format!("{} failed on purpose", self.id).into());
            }
            cx.info(format!("{} ran with {input}", self.id));
            let output: Value = self
                .outputs
                .iter()
                .map(|k| (k.to_string(), json!(format!("{}:{k}", self.id))))
                .collect();
            Ok(ActionOutcome {
                output,
                undo: Some(json!({"undo": self.id})),
            })
        })
    }
}

/// An engine with stand-ins for the actions Socle's binary adds.
pub fn engine() -> Engine {
    let mut e = Engine::new();
    for (id, outputs) in [
        (
            "publish:git",
            vec!["remoteUrl", "repoContentsUrl", "commitHash"],
        ),
        (
            "publish:github",
            vec!["remoteUrl", "repoContentsUrl", "commitHash"],
        ),
        (
            "publish:gitlab",
            vec!["remoteUrl", "repoContentsUrl", "commitHash", "projectId"],
        ),
        ("catalog:register", vec!["entityRef", "catalogInfoUrl"]),
        (
            "publish:github:pull-request",
            vec!["remoteUrl", "pullRequestNumber", "targetBranchName"],
        ),
        (
            "publish:gitlab:merge-request",
            vec![
                "projectid",
                "projectPath",
                "targetBranchName",
                "mergeRequestUrl",
            ],
        ),
        ("socle:deploy", vec!["deployment", "environment", "version"]),
    ] {
        e.register(Arc::new(Stub {
            id,
            outputs,
            fail: false,
            side_effect: true,
        }));
    }
    e.register(Arc::new(Stub {
        id: "socle:guardrails",
        outputs: vec!["warnings"],
        fail: false,
        side_effect: false,
    }));
    e
}
