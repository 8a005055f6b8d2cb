//! Running templates: the built-in golden paths (dry run), parameter errors, sandbox escapes,
//! references to missing outputs, runaway templates, and the undo of a failed run.

use std::sync::Arc;

use serde_json::{Value, json};
use socle_scaffold::builtin::{DirSource, golden_paths};
use socle_scaffold::{RunOptions, StepStatus};

fn opts(dir: &std::path::Path, dry_run: bool) -> RunOptions {
    RunOptions {
        workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(dir)),
        dry_run,
        user: json!({"ref": "user:default/ann"}),
        secrets: json!({}),
        live: None,
        cancel: None,
    }
}

fn values() -> Value {
    json!({
        "name": "orders-api", "description": "Takes orders", "owner": "group:default/team-a",
        "system": "shop", "lifecycle": "production", "database": true,
        "repoUrl": "https://git.example.com/acme/orders-api"
    })
}

#[tokio::test]
async fn golden_paths_render_in_a_dry_run() {
    let engine = crate::engine();
    let paths = golden_paths();
    let names: Vec<&str> = paths.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "python-fastapi-service",
            "rust-axum-service",
            "typescript-node-service"
        ]
    );
    for (name, text, source) in &paths {
        let t = engine
            .load(text, &format!("{name}/template.yaml"))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let ws = tempfile::tempdir().unwrap();
        let r = engine
            .run(&t, source, values(), opts(ws.path(), true))
            .await;
        assert_eq!(
            r.status,
            socle_scaffold::RunStatus::Completed,
            "{name}: {:?}",
            r.error
        );
        let statuses: Vec<StepStatus> = r.steps.iter().map(|s| s.status).collect();
        assert_eq!(
            statuses,
            vec![
                StepStatus::Completed,
                StepStatus::Completed,
                StepStatus::Simulated,
                StepStatus::Simulated,
                StepStatus::Simulated
            ],
            "{name}"
        );
        let read = |p: &str| {
            std::fs::read_to_string(ws.path().join(p))
                .unwrap_or_else(|e| panic!("{name}: {p}: {e}"))
        };
        let catalog = read("catalog-info.yaml");
        assert!(
            catalog.contains("name: orders-api") && catalog.contains("owner: group:default/team-a"),
            "{catalog}"
        );
        assert!(catalog.contains("system: shop"), "{catalog}");
        let score = read("score.yaml");
        assert!(
            score.contains("type: postgres") && score.contains("${resources.db.host}"),
            "{score}"
        );
        // GitHub Actions' own expressions survive templating.
        let ci = read(".github/workflows/ci.yaml");
        assert!(ci.contains("${{ secrets.SOCLE_TOKEN }}"), "{name}: {ci}");
        assert!(!ci.contains("{% raw %}"), "{name}");
        assert!(read("docs/index.md").contains("orders-api"));
        assert_eq!(r.output["links"][0]["url"], "dry-run:remoteUrl");
        assert!(
            r.output["text"][0]["content"]
                .as_str()
                .unwrap()
                .contains("orders-api")
        );
    }
    // Without a database or system: the optional parts disappear.
    let (_, text, source) = &paths[1];
    let t = engine.load(text, "rust").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let mut v = values();
    v["database"] = json!(false);
    v["lifecycle"] = json!("experimental");
    v.as_object_mut().unwrap().remove("system");
    let r = engine.run(&t, source, v, opts(ws.path(), true)).await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    let score = std::fs::read_to_string(ws.path().join("score.yaml")).unwrap();
    assert!(!score.contains("postgres"), "{score}");
    assert!(
        !std::fs::read_to_string(ws.path().join("catalog-info.yaml"))
            .unwrap()
            .contains("system:")
    );
}

#[tokio::test]
async fn parameters_are_checked_before_any_step() {
    let engine = crate::engine();
    let (_, text, source) = &golden_paths()[1];
    let t = engine.load(text, "rust").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let bad = json!({"name": "Orders API", "lifecycle": "production", "repoUrl": "ftp://x", "database": "yes"});
    let r = engine.run(&t, source, bad, opts(ws.path(), false)).await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    let Some(socle_scaffold::engine::RunError::Parameters { errors }) = &r.error else {
        panic!("{:?}", r.error)
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    // Missing description, owner and (production) system at the root; bad name, repoUrl, database.
    assert!(
        paths.contains(&"/name") && paths.contains(&"/repoUrl") && paths.contains(&"/database"),
        "{errors:?}"
    );
    let root: Vec<&str> = errors
        .iter()
        .filter(|e| e.path.is_empty())
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        root.iter().any(|m| m.contains("description")) && root.iter().any(|m| m.contains("owner")),
        "{root:?}"
    );
    assert!(root.iter().any(|m| m.contains("system")), "{root:?}");
    assert!(r.steps.is_empty());
    assert_eq!(
        std::fs::read_dir(ws.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

fn template_dir(template: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("template.yaml"), template).unwrap();
    for (p, c) in files {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    d
}

const FETCH_ONLY: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  parameters:
    properties:
      name: {type: string}
      target: {type: string, default: .}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: ${{ parameters.target }}
        values:
          name: ${{ parameters.name }}
";

#[tokio::test]
async fn output_never_leaves_the_workspace() {
    let engine = crate::engine();
    let t = engine.load(FETCH_ONLY, "t.yaml").unwrap();
    let outer = tempfile::tempdir().unwrap();
    let ws = outer.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    // A file name rendered from a value that climbs out.
    let d = template_dir(FETCH_ONLY, &[("skeleton/${{ values.name }}.txt", "hello")]);
    let src = DirSource {
        root: d.path().to_path_buf(),
    };
    let r = engine
        .run(&t, &src, json!({"name": "../escaped"}), opts(&ws, false))
        .await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    assert!(
        r.error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("leaves the workspace"),
        "{:?}",
        r.error
    );
    assert!(!outer.path().join("escaped.txt").exists());
    // An absolute or climbing targetPath.
    for target in ["/tmp/x", "../x"] {
        let r = engine
            .run(
                &t,
                &src,
                json!({"name": "a", "target": target}),
                opts(&ws, false),
            )
            .await;
        assert_eq!(r.status, socle_scaffold::RunStatus::Failed, "{target}");
        assert!(
            r.error.as_ref().unwrap().to_string().contains("targetPath"),
            "{:?}",
            r.error
        );
    }
    // A symbolic link in the skeleton is refused, not followed.
    #[cfg(unix)]
    {
        let d = template_dir(FETCH_ONLY, &[("skeleton/ok.txt", "ok")]);
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("skeleton/passwd")).unwrap();
        let src = DirSource {
            root: d.path().to_path_buf(),
        };
        let r = engine
            .run(&t, &src, json!({"name": "a"}), opts(&ws, false))
            .await;
        assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
        assert!(
            r.error
                .as_ref()
                .unwrap()
                .to_string()
                .contains("symbolic link"),
            "{:?}",
            r.error
        );
        assert!(!ws.join("passwd").exists());
    }
    // The skeleton URL cannot point outside the template's directory.
    let t2 = engine
        .load(&FETCH_ONLY.replace("./skeleton", "../../etc"), "t.yaml")
        .unwrap();
    let r = engine
        .run(&t2, &src, json!({"name": "a"}), opts(&ws, false))
        .await;
    assert!(
        r.error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("leaves the workspace")
            || r.error.as_ref().unwrap().to_string().contains(".."),
        "{:?}",
        r.error
    );
}

#[tokio::test]
async fn a_runaway_template_is_stopped() {
    let engine = crate::engine();
    let t = engine.load(FETCH_ONLY, "t.yaml").unwrap();
    let d = template_dir(
        FETCH_ONLY,
        &[(
            "skeleton/big.txt",
            "{% for i in range(1000000) %}{% for j in range(1000000) %}x{% endfor %}{% endfor %}",
        )],
    );
    let ws = tempfile::tempdir().unwrap();
    let r = engine
        .run(
            &t,
            &DirSource {
                root: d.path().to_path_buf(),
            },
            json!({"name": "a"}),
            opts(ws.path(), false),
        )
        .await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    assert_eq!(r.steps[0].status, StepStatus::Failed);
    let e = r.error.unwrap().to_string();
    assert!(e.contains("fuel") || e.contains("range"), "{e}");
}

#[test]
fn references_to_missing_steps_and_outputs_are_load_errors() {
    let engine = crate::engine();
    let base = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  steps:\n    - id: publish\n      action: publish:git\n      input: {repoUrl: x}\n    - id: register\n      action: catalog:register\n      input:\n        repoContentsUrl: ";
    let e = engine
        .load(
            &format!("{base}${{{{ steps.publish.output.repoContentUrl }}}}\n"),
            "t.yaml",
        )
        .unwrap_err();
    assert_eq!(e[0].rule, "reference.output", "{e:?}");
    assert!(
        e[0].message
            .contains("remoteUrl, repoContentsUrl, commitHash"),
        "{}",
        e[0]
    );
    assert_eq!(
        (e[0].line, e[0].path.as_str()),
        (Some(13), "spec.steps[1].input.repoContentsUrl")
    );
    let e = engine
        .load(
            &format!("{base}${{{{ steps['later'].output.x }}}}\n"),
            "t.yaml",
        )
        .unwrap_err();
    assert_eq!(e[0].rule, "reference.step", "{e:?}");
    let e = engine
        .load(
            &format!("{base}${{{{ steps.publish.output.remoteUrl | }}}}\n"),
            "t.yaml",
        )
        .unwrap_err();
    assert_eq!(e[0].rule, "expression.syntax", "{e:?}");
    assert!(
        engine
            .load(
                &format!("{base}${{{{ steps.publish.output.repoContentsUrl }}}}\n"),
                "t.yaml"
            )
            .is_ok()
    );
}

#[tokio::test]
async fn a_failed_run_undoes_what_it_did() {
    let mut engine = crate::engine();
    engine.register(Arc::new(crate::Stub {
        id: "socle:deploy",
        outputs: vec![],
        fail: true,
        side_effect: true,
    }));
    let text = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  steps:\n    - id: publish\n      action: publish:git\n      input: {repoUrl: x}\n    - id: register\n      action: catalog:register\n      input: {repoContentsUrl: '${{ steps.publish.output.repoContentsUrl }}'}\n    - id: deploy\n      action: socle:deploy\n      input: {}\n    - id: never\n      action: debug:log\n      input: {message: not reached}\n";
    let t = engine.load(text, "t.yaml").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let r = engine
        .run(
            &t,
            &DirSource {
                root: ws.path().to_path_buf(),
            },
            json!({}),
            opts(ws.path(), false),
        )
        .await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    assert_eq!(r.steps.len(), 3);
    assert_eq!(
        r.steps[2].error.as_deref(),
        Some("socle:deploy failed on purpose")
    );
    // The register step saw the publish step's output.
    assert!(
        r.log
            .iter()
            .any(|l| l.message.contains("publish:git:repoContentsUrl"))
    );
    let cleanup: Vec<&str> = r
        .log
        .iter()
        .filter(|l| l.step == "cleanup")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(cleanup, vec!["undid catalog:register", "undid publish:git"]);
}

#[test]
fn fuel_stops_loops_within_allowed_ranges() {
    // range() itself is capped by minijinja; nested loops under the cap run out of fuel.
    let e = socle_scaffold::expr::Expr::new();
    let err = e
        .render_text(
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
    assert!(err.message.to_lowercase().contains("fuel"), "{err}");
}
