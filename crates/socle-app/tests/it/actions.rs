//! The platform's Backstage actions through the application's engine: `catalog:fetch` (from
//! Socle's catalog, with Backstage's defaulting), `debug:wait` (bounded, cancellable, skipped by
//! a dry run), and the public sample templates dry-running to completion.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socle_app::locations::NewLocation;
use socle_app::{Actor, App, AppConfig, Principal};
use socle_ingest::LocationKind;
use socle_scaffold::engine::RunError;
use socle_scaffold::{Cancel, MemWorkspace, RunOptions, RunStatus, StepStatus};
use socle_store::{Role, Store};
use socle_testkit::Backend;

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  namespace: retail
spec:
  type: service
  lifecycle: production
  owner: group:default/team-a
";

async fn app(dir: &std::path::Path) -> Arc<App> {
    let config = socle_testkit::store_config(Backend::Sqlite, dir, "socle_app").unwrap();
    let store = Store::open(&config).await.unwrap();
    App::new(
        store,
        AppConfig {
            refresh_interval: None,
            gitops_root: dir.join("gitops"),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn member() -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: "user:default/ann".into(),
        role: Role::Member,
    })
}

fn admin() -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: "serviceaccount:admin".into(),
        role: Role::Admin,
    })
}

async fn with_catalog(dir: &std::path::Path) -> Arc<App> {
    let app = app(dir).await;
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(catalog.join("catalog-info.yaml"), ORG).unwrap();
    app.create_location(
        &admin(),
        NewLocation {
            kind: LocationKind::File,
            target: catalog.to_string_lossy().into_owned(),
            branch: None,
            path: None,
        },
    )
    .await
    .unwrap();
    app
}

fn template(steps: &str) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  steps:\n{steps}"
    )
}

fn opts(dry_run: bool, cancel: Option<Cancel>) -> RunOptions {
    RunOptions {
        workspace: Arc::new(MemWorkspace::new()),
        dry_run,
        user: json!({"ref": "user:default/ann"}),
        secrets: json!({}),
        live: None,
        cancel,
    }
}

/// Runs `steps` with the application's engine as a member.
async fn run(app: &Arc<App>, steps: &str, opts: RunOptions) -> socle_scaffold::RunResult {
    let engine = socle_app::scaffold::engine(app, &member());
    let t = engine.load(&template(steps), "t.yaml").unwrap();
    engine
        .run(
            &t,
            &socle_scaffold::builtin::DirSource { root: ".".into() },
            json!({}),
            opts,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_fetch_returns_entities_as_the_catalog_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = with_catalog(dir.path()).await;
    let steps = "    - id: one
      action: catalog:fetch
      input:
        entityRef: shop
        defaultKind: component
        defaultNamespace: retail
    - id: many
      action: catalog:fetch
      input:
        entityRefs: [group:team-a, component:retail/nope]
        optional: true
";
    let r = run(&app, steps, opts(false, None)).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let entity = &r.steps[0].output["entity"];
    assert_eq!(entity["metadata"]["name"], "shop");
    assert_eq!(entity["metadata"]["namespace"], "retail");
    assert_eq!(entity["relations"][0]["type"], "ownedBy", "{entity}");
    let entities = r.steps[1].output["entities"].as_array().unwrap();
    assert_eq!(entities[0]["kind"], "Group");
    assert_eq!(
        entities[1],
        Value::Null,
        "optional: a missing entity is null"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_fetch_names_what_is_missing_or_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let app = with_catalog(dir.path()).await;
    for (input, expected) in [
        (
            "entityRef: component:default/nope",
            "entity component:default/nope not found",
        ),
        ("entityRef: shop", "is not an entity ref"),
        ("{}", "input.entityRef or input.entityRefs is required"),
        ("entityRefs: shop", "must be a list of strings"),
    ] {
        let steps =
            format!("    - id: f\n      action: catalog:fetch\n      input:\n        {input}\n");
        let r = run(
            &app,
            &steps.replace("input:\n        {}", "input: {}"),
            opts(false, None),
        )
        .await;
        assert_eq!(r.status, RunStatus::Failed, "{input}");
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{input}: {e}");
    }
    // Too many refs.
    let refs: Vec<String> = (0..=socle_app::scaffold::MAX_FETCH_REFS)
        .map(|i| format!("group:g{i}"))
        .collect();
    let steps = format!(
        "    - id: f\n      action: catalog:fetch\n      input:\n        entityRefs: {}\n",
        serde_json::to_string(&refs).unwrap()
    );
    let r = run(&app, &steps, opts(false, None)).await;
    assert!(r.error.unwrap().to_string().contains("at most"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_wait_waits_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let started = Instant::now();
    let r = run(
        &app,
        "    - id: w\n      action: debug:wait\n      input: {milliseconds: 120}\n",
        opts(false, None),
    )
    .await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert!(started.elapsed() >= Duration::from_millis(120));
    for (input, expected) in [
        ("{minutes: 1}", "longer than the maximum of 30 s"),
        ("{seconds: -1}", "at least 0"),
        ("{seconds: soon}", "must be a number"),
    ] {
        let r = run(
            &app,
            &format!("    - id: w\n      action: debug:wait\n      input: {input}\n"),
            opts(false, None),
        )
        .await;
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{input}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_stops_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let cancel = Cancel::new();
    let later = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        later.cancel();
    });
    let started = Instant::now();
    let r = run(&app, "    - id: w\n      action: debug:wait\n      input: {seconds: 20}\n    - id: after\n      action: debug:log\n      input: {message: never}\n", opts(false, Some(cancel))).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, RunStatus::Failed);
    assert!(
        matches!(&r.error, Some(RunError::Step { step, message }) if step == "w" && message.contains("cancelled after")),
        "{:?}",
        r.error
    );
    assert_eq!(r.steps.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_does_not_wait_or_notify() {
    let dir = tempfile::tempdir().unwrap();
    let app = with_catalog(dir.path()).await;
    let steps = "    - id: w
      action: debug:wait
      input: {seconds: 25}
    - id: n
      action: notification:send
      input: {recipients: entity, entityRefs: [group:default/team-a], title: hi}
";
    let started = Instant::now();
    let r = run(&app, steps, opts(true, None)).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        r.steps.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![StepStatus::Simulated; 2]
    );
    let refs = vec!["group:default/team-a".to_owned()];
    assert!(
        app.store
            .list_notifications(&refs, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

fn corpus() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance/backstage-templates")
}

/// Values for every required parameter of every page, from the schema (Backstage's pickers get
/// what they would produce).
fn values_for(t: &socle_scaffold::Template) -> Value {
    let mut out = serde_json::Map::new();
    for page in socle_scaffold::params::pages(&t.parameters) {
        let required: Vec<&str> = page["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for name in required {
            let schema = &page["properties"][name];
            let v = if let Some(first) = schema["enum"].get(0) {
                first.clone()
            } else if schema["type"] == "boolean" {
                json!(true)
            } else if name == "repoUrl" {
                let host = schema["ui:options"]["allowedHosts"][0]
                    .as_str()
                    .unwrap_or("github.com");
                json!(format!("{host}?owner=acme&repo=demo"))
            } else if name == "owner" {
                json!("group:default/team-a")
            } else {
                json!("demo")
            };
            out.insert(name.to_owned(), v);
        }
    }
    Value::Object(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_sample_templates_dry_run_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let engine = socle_app::scaffold::engine(&app, &member());
    // The corpus has no skeletons: one in their style, under each name they fetch.
    let skeleton = dir.path().join("template");
    for sub in ["skeleton", "template"] {
        std::fs::create_dir_all(skeleton.join(sub)).unwrap();
        std::fs::write(skeleton.join(sub).join("README.md"), "# A sample\n").unwrap();
    }
    let mut names: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut completed = Vec::new();
    let mut unsupported = Vec::new();
    for path in names {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if !file.ends_with(".yaml") {
            continue;
        }
        let t = engine
            .load(&std::fs::read_to_string(&path).unwrap(), &file)
            .unwrap();
        let r = engine
            .run(
                &t,
                &socle_scaffold::builtin::DirSource {
                    root: skeleton.clone(),
                },
                values_for(&t),
                opts(true, None),
            )
            .await;
        if t.unsupported.is_empty() {
            assert_eq!(r.status, RunStatus::Completed, "{file}: {:?}", r.error);
            completed.push((file, r));
        } else {
            // It fails at its unsupported step, naming the action.
            assert_eq!(r.status, RunStatus::Failed, "{file}");
            let e = r.error.unwrap().to_string();
            assert!(e.contains("is not supported (supported: "), "{file}: {e}");
            unsupported.push(file);
        }
    }
    assert_eq!(
        completed
            .iter()
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>(),
        vec![
            "clean-architecture-app.template.yaml",
            "create-react-app.template.yaml",
            "docs-template.template.yaml",
            "gitlab-merge-request.template.yaml",
            "pull-request.template.yaml",
            "react-ssr-template.template.yaml",
            "springboot-grpc-template.template.yaml",
        ]
    );
    assert_eq!(
        unsupported,
        vec![
            "docs-template-cookiecutter.template.yaml",
            "rails-demo.template.yaml"
        ]
    );
    // The pull request and merge request steps are simulated with their outputs' names.
    let pr = &completed
        .iter()
        .find(|(f, _)| f.starts_with("pull-request"))
        .unwrap()
        .1;
    let publish = pr
        .steps
        .iter()
        .find(|s| s.action == "publish:github:pull-request")
        .unwrap();
    assert_eq!(publish.status, StepStatus::Simulated);
    assert_eq!(
        pr.output["links"][0]["url"],
        "dry-run:github.com?owner=acme&repo=demo"
    );
    // Its remote skeleton is not fetched; the log says a real run fails there.
    assert!(
        pr.log
            .iter()
            .any(|l| l.level == "warning" && l.message.contains("a real run fails"))
    );
    let mr = &completed
        .iter()
        .find(|(f, _)| f.starts_with("gitlab-merge"))
        .unwrap()
        .1;
    assert_eq!(
        mr.output["links"][0]["url"],
        "dry-run:gitlab.com?owner=acme&repo=demo"
    );
}
