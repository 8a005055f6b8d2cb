//! Templates that use actions this Socle does not run (they load; a run fails at that step),
//! cancelled runs, `validate` (every problem with file and line), and remote skeletons.

use std::sync::Arc;

use serde_json::{Value, json};
use socle_scaffold::builtin::DirSource;
use socle_scaffold::engine::{ActionOutcome, BoxFuture, RunError};
use socle_scaffold::{
    Action, ActionContext, ActionError, Cancel, MemWorkspace, RunOptions, RunStatus, StepStatus,
};

use crate::memory::{FETCH, source, template};

fn opts(ws: Arc<MemWorkspace>, dry_run: bool, cancel: Option<Cancel>) -> RunOptions {
    RunOptions {
        workspace: ws,
        dry_run,
        user: json!({"ref": "user:default/ann"}),
        secrets: json!({}),
        live: None,
        cancel,
    }
}

const UNKNOWN: &str = "    - id: publish
      action: publish:github
      input:
        repoUrl: github.com?owner=acme&repo=shop
    - id: cook
      action: fetch:cookiecutter
      input:
        url: ./cookie
";

#[test]
fn a_template_with_an_unsupported_action_loads_and_names_it_with_its_line() {
    let t = crate::engine().load(&template(UNKNOWN), "t.yaml").unwrap();
    assert_eq!(t.unsupported.len(), 1);
    let e = &t.unsupported[0];
    assert_eq!(
        (e.file.as_str(), e.line, e.path.as_str(), e.rule.as_str()),
        ("t.yaml", Some(15), "spec.steps[1].action", "action.unknown")
    );
    assert!(
        e.message
            .starts_with("action \"fetch:cookiecutter\" is not supported (supported: "),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("fetch:template, fs:delete"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn its_run_fails_at_that_step_and_undoes_the_steps_before() {
    let engine = crate::engine();
    let t = engine.load(&template(UNKNOWN), "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let r = engine
        .run(&t, &source(&[]), json!({}), opts(ws, false, None))
        .await;
    assert_eq!(r.status, RunStatus::Failed);
    let statuses: Vec<StepStatus> = r.steps.iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![StepStatus::Completed, StepStatus::Failed]);
    let Some(RunError::Step { step, message }) = &r.error else {
        panic!("{:?}", r.error)
    };
    assert_eq!(step, "cook");
    assert!(
        message.starts_with("action \"fetch:cookiecutter\" is not supported (supported: "),
        "{message}"
    );
    assert_eq!(r.steps[1].error.as_deref(), Some(message.as_str()));
    let cleanup: Vec<&str> = r
        .log
        .iter()
        .filter(|l| l.step == "cleanup")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(cleanup, vec!["undid publish:github"]);
}

#[tokio::test]
async fn a_cancelled_run_stops_before_its_next_step() {
    let engine = crate::engine();
    let t = engine.load(&template(FETCH), "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let cancel = Cancel::new();
    cancel.cancel();
    let src = source(&[("skeleton/a.txt", "a")]);
    let r = engine
        .run(&t, &src, json!({}), opts(ws.clone(), false, Some(cancel)))
        .await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        matches!(&r.error, Some(RunError::Cancelled { step }) if step == "fetch"),
        "{:?}",
        r.error
    );
    assert!(r.steps.is_empty());
    assert!(ws.files().is_empty(), "nothing written");
}

/// Cancels the run it is part of, as a caller would while it runs.
struct CancelsTheRun;

impl Action for CancelsTheRun {
    fn id(&self) -> &'static str {
        "test:cancel"
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        _input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            cx.cancel.cancel();
            Ok(ActionOutcome::output(json!({})))
        })
    }
}

#[tokio::test]
async fn cancelling_during_a_run_undoes_what_ran() {
    let mut engine = crate::engine();
    engine.register(Arc::new(CancelsTheRun));
    let steps = "    - id: publish
      action: publish:git
      input: {repoUrl: x}
    - id: stop
      action: test:cancel
    - id: register
      action: catalog:register
      input: {}
";
    let t = engine.load(&template(steps), "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let r = engine
        .run(
            &t,
            &source(&[]),
            json!({}),
            opts(ws, false, Some(Cancel::new())),
        )
        .await;
    assert!(
        matches!(&r.error, Some(RunError::Cancelled { step }) if step == "register"),
        "{:?}",
        r.error
    );
    assert_eq!(r.steps.len(), 2);
    assert!(
        r.log
            .iter()
            .any(|l| l.step == "cleanup" && l.message == "undid publish:git")
    );
}

const REMOTE: &str = "    - id: docs
      action: fetch:plain
      input:
        targetPath: ./community
        url: https://github.com/backstage/community/tree/main/sessions
";

#[tokio::test]
async fn a_remote_skeleton_is_skipped_with_a_warning_in_a_dry_run_and_refused_in_a_real_one() {
    let engine = crate::engine();
    let t = engine.load(&template(REMOTE), "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let r = engine
        .run(&t, &source(&[]), json!({}), opts(ws.clone(), true, None))
        .await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let warning = r.log.iter().find(|l| l.level == "warning").unwrap();
    assert!(
        warning.message.contains("a real run fails"),
        "{}",
        warning.message
    );
    assert!(ws.files().is_empty());
    let r = engine
        .run(&t, &source(&[]), json!({}), opts(ws, false, None))
        .await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        r.error
            .unwrap()
            .to_string()
            .contains("remote skeletons are not fetched"),
    );
}

fn dir_with(template_text: &str, files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("template.yaml"), template_text).unwrap();
    for f in files {
        let p = d.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }
    d
}

fn validate(d: &tempfile::TempDir) -> Vec<(Option<u32>, String, String)> {
    let text = std::fs::read_to_string(d.path().join("template.yaml")).unwrap();
    crate::engine()
        .validate(
            &text,
            "template.yaml",
            &DirSource {
                root: d.path().to_path_buf(),
            },
        )
        .into_iter()
        .map(|e| (e.line, e.path, e.rule))
        .collect()
}

#[test]
fn validate_accepts_a_complete_template_directory() {
    let d = dir_with(&template(FETCH), &["skeleton/README.md"]);
    assert_eq!(validate(&d), vec![]);
}

#[test]
fn validate_reports_unsupported_actions_missing_and_remote_skeletons_with_lines() {
    let steps = format!("{FETCH}{UNKNOWN}{REMOTE}");
    let d = dir_with(&template(&steps), &[]);
    assert_eq!(
        validate(&d),
        vec![
            (
                Some(13),
                "spec.steps[0].input.url".into(),
                "skeleton.missing".into()
            ),
            (
                Some(23),
                "spec.steps[2].action".into(),
                "action.unknown".into()
            ),
            (
                Some(30),
                "spec.steps[3].input.url".into(),
                "fetch.remote".into()
            ),
        ]
    );
}

#[test]
fn validate_reports_yaml_and_schema_errors_with_their_lines() {
    let d = dir_with(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: [\n",
        &[],
    );
    let v = validate(&d);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].2, "yaml");
    assert!(v[0].0.is_some());
    let bad_schema = template(FETCH).replace("name: {type: string}", "name: {type: strin}");
    let d = dir_with(&bad_schema, &["skeleton/a"]);
    assert_eq!(
        validate(&d),
        vec![(
            Some(7),
            "spec.parameters".into(),
            "parameters.schema".into()
        )]
    );
}

#[test]
fn validate_reports_load_errors_and_unsupported_actions_together() {
    let steps = format!(
        "{UNKNOWN}    - id: bad\n      action: debug:log\n      input:\n        message: ${{{{ steps.nope.output.x }}}}\n"
    );
    let d = dir_with(&template(&steps), &[]);
    let rules: Vec<String> = validate(&d).into_iter().map(|e| e.2).collect();
    assert_eq!(rules, vec!["action.unknown", "reference.step"]);
}
