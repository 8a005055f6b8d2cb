//! The engine and its file actions on a [`MemWorkspace`]: no disk, the workspace's content read
//! back directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use socle_scaffold::builtin::Source;
use socle_scaffold::workspace::{EntryKind, SandboxError, Workspace};
use socle_scaffold::{MemWorkspace, RunOptions, RunResult};

/// A template's skeleton in memory: path (relative to the template) → content.
pub(crate) struct MemSource(BTreeMap<String, String>);

impl Source for MemSource {
    fn files(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, SandboxError> {
        let prefix = format!("{}/", dir.trim_start_matches("./").trim_end_matches('/'));
        Ok(self
            .0
            .iter()
            .filter_map(|(p, c)| {
                Some((p.strip_prefix(&prefix)?.to_owned(), c.clone().into_bytes()))
            })
            .collect())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

pub(crate) fn source(files: &[(&str, &str)]) -> MemSource {
    MemSource(
        files
            .iter()
            .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
            .collect(),
    )
}

pub(crate) fn template(steps: &str) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  parameters:
    properties:
      name: {{type: string}}
  steps:
{steps}"
    )
}

pub(crate) async fn run(
    steps: &str,
    src: &MemSource,
    values: Value,
) -> (RunResult, Arc<MemWorkspace>) {
    let engine = crate::engine();
    let t = engine.load(&template(steps), "t.yaml").unwrap();
    let ws = Arc::new(MemWorkspace::new());
    let opts = RunOptions {
        workspace: ws.clone(),
        dry_run: false,
        user: json!({"ref": "user:default/ann"}),
        secrets: json!({}),
        live: None,
        cancel: None,
    };
    (engine.run(&t, src, values, opts).await, ws)
}

pub(crate) fn texts(ws: &MemWorkspace) -> BTreeMap<String, String> {
    ws.files()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect()
}

pub(crate) const FETCH: &str = "    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
        copyWithoutTemplating: [\"static/**\"]
        values:
          name: ${{ parameters.name }}
";

#[tokio::test]
async fn fetch_template_renders_names_and_contents_into_the_workspace() {
    let src = source(&[
        ("skeleton/README.md", "# ${{ values.name }}\n"),
        (
            "skeleton/src/${{ values.name }}.py",
            "print(\"${{ values.name }}\")\n",
        ),
        ("skeleton/static/raw.txt", "kept ${{ values.name }}\n"),
        (
            "skeleton/{% if false %}never{% endif %}",
            "skipped: empty name\n",
        ),
        ("other/ignored.txt", "not in the skeleton\n"),
    ]);
    let (r, ws) = run(FETCH, &src, json!({"name": "orders"})).await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(
        texts(&ws),
        BTreeMap::from([
            ("app/README.md".to_owned(), "# orders\n".to_owned()),
            (
                "app/src/orders.py".to_owned(),
                "print(\"orders\")\n".to_owned()
            ),
            (
                "app/static/raw.txt".to_owned(),
                "kept ${{ values.name }}\n".to_owned()
            ),
        ])
    );
    assert_eq!(r.log.last().unwrap().message, "3 files written to app");
}

#[tokio::test]
async fn fetch_plain_copies_without_rendering() {
    let steps = FETCH.replace("fetch:template", "fetch:plain");
    let src = source(&[("skeleton/${{ values.name }}.txt", "${{ values.name }}")]);
    let (r, ws) = run(&steps, &src, json!({"name": "orders"})).await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(
        ws.text("app/${{ values.name }}.txt").as_deref(),
        Some("${{ values.name }}")
    );
}

#[tokio::test]
async fn a_rendered_name_that_leaves_the_workspace_writes_nothing() {
    let src = source(&[("skeleton/${{ values.name }}.txt", "x")]);
    let (r, ws) = run(FETCH, &src, json!({"name": "../../escaped"})).await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    let error = r.error.unwrap().to_string();
    assert!(error.contains("leaves the workspace"), "{error}");
    assert!(ws.files().is_empty());
}

#[tokio::test]
async fn rename_delete_and_catalog_write_work_on_the_workspace() {
    let steps = format!(
        "{FETCH}    - id: rename
      action: fs:rename
      input:
        files:
          - from: app/README.md
            to: docs/index.md
    - id: delete
      action: fs:delete
      input:
        files: [\"app/static\"]
    - id: catalog
      action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata:
            name: ${{{{ parameters.name }}}}
    - id: list
      action: debug:log
      input:
        listWorkspace: true
"
    );
    let src = source(&[
        ("skeleton/README.md", "# ${{ values.name }}\n"),
        ("skeleton/static/a.txt", "a"),
        ("skeleton/static/b/c.txt", "c"),
        ("skeleton/main.py", "pass\n"),
    ]);
    let (r, ws) = run(&steps, &src, json!({"name": "orders"})).await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    let files = texts(&ws);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        vec!["app/main.py", "catalog-info.yaml", "docs/index.md"]
    );
    assert_eq!(files["docs/index.md"], "# orders\n");
    assert!(
        files["catalog-info.yaml"].contains("name: orders"),
        "{}",
        files["catalog-info.yaml"]
    );
    let messages: Vec<&str> = r.log.iter().map(|l| l.message.as_str()).collect();
    assert!(
        messages.contains(&"renamed app/README.md to docs/index.md"),
        "{messages:?}"
    );
    // What a directory holds is deleted before the directory.
    assert!(messages.contains(&"deleted app/static"), "{messages:?}");
    assert!(
        messages.contains(&"workspace: app/main.py, catalog-info.yaml, docs/index.md"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn rename_refuses_a_missing_source_and_an_existing_target() {
    let steps = |from: &str, to: &str| {
        format!(
            "{FETCH}    - id: rename
      action: fs:rename
      input:
        files:
          - from: {from}
            to: {to}
"
        )
    };
    let src = source(&[("skeleton/a.txt", "a"), ("skeleton/b.txt", "b")]);
    let (r, ws) = run(
        &steps("app/missing.txt", "x.txt"),
        &src,
        json!({"name": "n"}),
    )
    .await;
    assert_eq!(
        r.error.unwrap().to_string(),
        "step rename: app/missing.txt does not exist in the workspace"
    );
    assert_eq!(ws.files().len(), 2);
    let (r, _) = run(&steps("app/a.txt", "app/b.txt"), &src, json!({"name": "n"})).await;
    assert_eq!(
        r.error.unwrap().to_string(),
        "step rename: app/b.txt exists (set overwrite: true to replace it)"
    );
}

#[test]
fn mem_workspace_lists_directories_before_their_contents_in_name_order() {
    let ws = MemWorkspace::new();
    for f in ["b", "a.txt", "a/z", "a/b/c"] {
        ws.write(f, f.as_bytes()).unwrap();
    }
    let listed: Vec<(String, EntryKind)> = ws
        .list(".")
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.kind))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a".to_owned(), EntryKind::Dir),
            ("a/b".to_owned(), EntryKind::Dir),
            ("a/b/c".to_owned(), EntryKind::File),
            ("a/z".to_owned(), EntryKind::File),
            ("a.txt".to_owned(), EntryKind::File),
            ("b".to_owned(), EntryKind::File),
        ]
    );
    assert!(
        ws.write("../x", b"x")
            .unwrap_err()
            .to_string()
            .contains("leaves the workspace")
    );
    assert!(ws.write("a/z/under-a-file", b"x").is_err());
    ws.rename("a", "moved").unwrap();
    assert_eq!(ws.text("moved/b/c").as_deref(), Some("a/b/c"));
    ws.remove("moved").unwrap();
    assert_eq!(ws.files().keys().collect::<Vec<_>>(), vec!["a.txt", "b"]);
}
