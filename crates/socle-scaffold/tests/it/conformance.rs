//! Backstage's own sample templates (conformance/backstage-templates): every one loads; those
//! using an action Socle does not run name it with its line. (socle-app's tests dry-run them
//! with the platform's real actions.)
//! The corpus has no skeletons: a run uses one written here in the samples' style.

use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage-templates");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
            "{} is missing",
            p.display()
        );
        eprintln!("conformance corpus not found: skipped");
        None
    }
}

#[test]
fn backstage_sample_templates() {
    let Some(dir) = corpus() else { return };
    let engine = crate::engine();
    let mut loaded = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        match engine.load(&text, &file) {
            Ok(t) => loaded.push((file, t)),
            Err(errors) => panic!("{file} does not load: {errors:?}"),
        }
    }
    // Every sample loads (and is listed); those using an action Socle does not run name it,
    // with its line, and fail at that step when run.
    let unsupported: Vec<(&str, String, String)> = loaded
        .iter()
        .flat_map(|(f, t)| {
            t.unsupported.iter().map(move |e| {
                (
                    f.as_str(),
                    e.rule.clone(),
                    e.message.split(" is not").next().unwrap().to_owned(),
                )
            })
        })
        .collect();
    assert_eq!(
        unsupported,
        vec![
            (
                "docs-template-cookiecutter.template.yaml",
                "action.unknown".into(),
                "action \"fetch:cookiecutter\"".into()
            ),
            (
                "rails-demo.template.yaml",
                "action.unknown".into(),
                "action \"fetch:rails\"".into()
            ),
        ]
    );
    let fully: Vec<&str> = loaded
        .iter()
        .filter(|(_, t)| t.unsupported.is_empty())
        .map(|(f, _)| f.as_str())
        .collect();
    assert_eq!(
        fully,
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
    // Unsupported steps are located: file, line, field path.
    let (_, cookie) = &loaded[2];
    let e = &cookie.unsupported[0];
    assert!(e.line.is_some_and(|l| l > 1));
    assert!(e.path.starts_with("spec.steps["), "{}", e.path);
    // What a loaded template holds.
    let (_, cra) = &loaded[1];
    assert_eq!(cra.name, "create-react-app-template");
    assert_eq!(
        cra.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["template", "publish", "register"]
    );
    assert_eq!(socle_scaffold::params::pages(&cra.parameters).len(), 2);
}

/// A skeleton in the style of the sample templates' own (not part of the corpus): `dump` for
/// every catalog value, a `{% if %}`, string concatenation, and a GitHub workflow with its own
/// `${{ }}` kept verbatim by `copyWithoutRender`.
const CRA_SKELETON: &[(&str, &str)] = &[
    (
        "skeleton/catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${{ values.component_id | dump }}
  {% if values.description %}
  description: ${{ values.description | dump }}
  {% endif %}
  annotations:
    github.com/project-slug: ${{ values.destination.owner + \"/\" + values.destination.repo }}
spec:
  type: website
  lifecycle: experimental
  owner: ${{ values.owner | dump }}
",
    ),
    (
        "skeleton/.github/workflows/build.yml",
        "on: pull_request\njobs:\n  build:\n    steps:\n      - run: echo ${{ github.head_ref }}\n",
    ),
    (
        "skeleton/package.json",
        "{\"name\": \"${{ values.component_id }}\", \"private\": true}\n",
    ),
];

#[tokio::test]
async fn create_react_app_dry_runs_with_a_skeleton_that_uses_dump() {
    let Some(dir) = corpus() else { return };
    let text = std::fs::read_to_string(dir.join("create-react-app.template.yaml")).unwrap();
    let engine = crate::engine();
    let t = engine
        .load(&text, "create-react-app.template.yaml")
        .unwrap();
    let ws = std::sync::Arc::new(socle_scaffold::MemWorkspace::new());
    let opts = socle_scaffold::RunOptions {
        workspace: ws.clone(),
        dry_run: true,
        user: serde_json::json!({"ref": "user:default/ann"}),
        secrets: serde_json::json!({}),
        live: None,
        cancel: None,
    };
    let values = serde_json::json!({
        "component_id": "web-shop",
        "description": "Sells: things\n# not a comment",
        "owner": "group:default/web",
        "repoUrl": "github.com?owner=acme&repo=web-shop",
    });
    let r = engine
        .run(&t, &crate::memory::source(CRA_SKELETON), values, opts)
        .await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    let files = crate::memory::texts(&ws);
    let catalog: serde_json::Value = serde_saphyr::from_str(&files["catalog-info.yaml"]).unwrap();
    assert_eq!(catalog["metadata"]["name"], "web-shop");
    assert_eq!(
        catalog["metadata"]["description"],
        "Sells: things\n# not a comment"
    );
    assert_eq!(
        catalog["metadata"]["annotations"]["github.com/project-slug"],
        "acme/web-shop"
    );
    assert_eq!(catalog["spec"]["owner"], "group:default/web");
    assert_eq!(
        files[".github/workflows/build.yml"], CRA_SKELETON[1].1,
        "copied without rendering"
    );
    assert_eq!(
        r.output["links"][0]["url"],
        serde_json::json!("dry-run:remoteUrl")
    );
}
