//! `fs:read` and `fs:readdir`: what they return (Backstage's names), their bounds, and paths
//! that would leave the workspace.

use serde_json::{Value, json};
use socle_scaffold::RunStatus;

use crate::memory::{FETCH, run, source};

fn skeleton() -> crate::memory::MemSource {
    source(&[
        ("skeleton/README.md", "# ${{ values.name }}\n"),
        ("skeleton/docs/index.md", "docs\n"),
        ("skeleton/docs/api/v1.md", "v1\n"),
    ])
}

fn step(action: &str, input: &str) -> String {
    format!("{FETCH}    - id: read\n      action: {action}\n      input:\n{input}")
}

#[tokio::test]
async fn fs_read_returns_a_files_content_for_later_steps() {
    let steps = format!(
        "{}    - id: show\n      action: debug:log\n      input:\n        message: ${{{{ steps.read.output.content }}}}\n",
        step("fs:read", "        path: app/README.md\n")
    );
    let (r, _) = run(&steps, &skeleton(), json!({"name": "orders"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(r.steps[1].output, json!({"content": "# orders\n"}));
    assert!(
        r.log
            .iter()
            .any(|l| l.step == "show" && l.message == "# orders\n")
    );
}

#[tokio::test]
async fn fs_read_gives_base64_when_asked() {
    let steps = step(
        "fs:read",
        "        path: app/docs/index.md\n        encoding: base64\n",
    );
    let (r, _) = run(&steps, &skeleton(), json!({"name": "a"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(r.steps[1].output["content"], "ZG9jcwo=");
}

#[tokio::test]
async fn fs_read_refuses_missing_files_bad_encodings_and_paths_outside() {
    for (input, expected) in [
        (
            "        path: app/nope.md\n",
            "app/nope.md does not exist in the workspace",
        ),
        (
            "        path: ../../etc/passwd\n",
            "input.path: \"../../etc/passwd\" leaves the workspace",
        ),
        ("        path: /etc/passwd\n", "is absolute"),
        (
            "        path: app/README.md\n        encoding: latin1\n",
            "expected \"utf-8\" or \"base64\"",
        ),
        ("        encoding: base64\n", "input.path is required"),
    ] {
        let (r, _) = run(&step("fs:read", input), &skeleton(), json!({"name": "a"})).await;
        assert_eq!(r.status, RunStatus::Failed, "{input}");
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{input}: {e}");
    }
}

#[tokio::test]
async fn fs_read_is_bounded() {
    let big = "x".repeat(socle_scaffold::read::MAX_READ_BYTES + 1);
    let src = source(&[("skeleton/big.txt", big.as_str())]);
    let (r, _) = run(
        &step("fs:read", "        path: app/big.txt\n"),
        &src,
        json!({"name": "a"}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("more than"));
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn fs_readdir_lists_one_level_with_backstage_names() {
    let steps = step("fs:readdir", "        paths: [app]\n");
    let (r, _) = run(&steps, &skeleton(), json!({"name": "a"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let out = &r.steps[1].output;
    assert_eq!(
        out["files"],
        json!([{"name": "README.md", "path": "app/README.md", "fullPath": "app/README.md"}])
    );
    assert_eq!(
        out["folders"],
        json!([{"name": "docs", "path": "app/docs", "fullPath": "app/docs"}])
    );
}

#[tokio::test]
async fn fs_readdir_recursive_lists_everything_under_each_path() {
    let steps = step(
        "fs:readdir",
        "        paths: [app/docs, .]\n        recursive: true\n",
    );
    let (r, _) = run(&steps, &skeleton(), json!({"name": "a"})).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let out = &r.steps[1].output;
    assert_eq!(
        names(out, "files"),
        vec![
            "app/docs/api/v1.md",
            "app/docs/index.md",
            "app/README.md",
            "app/docs/api/v1.md",
            "app/docs/index.md"
        ]
    );
    assert_eq!(
        names(out, "folders"),
        vec!["app/docs/api", "app", "app/docs", "app/docs/api"]
    );
}

#[tokio::test]
async fn fs_readdir_refuses_paths_outside_the_workspace_and_bad_inputs() {
    for (input, expected) in [
        (
            "        paths: [\"../\"]\n",
            "input.paths[0]: \"../\" leaves the workspace",
        ),
        ("        paths: [app, \"app/../../x\"]\n", "input.paths[1]"),
        ("        paths: [/etc]\n", "is absolute"),
        ("        paths: []\n", "input.paths is required"),
        ("        paths: [\"\"]\n", "must be a non-empty string"),
        (
            "        paths: [missing]\n",
            "missing does not exist in the workspace",
        ),
        (
            "        paths: [app]\n        recursive: yes please\n",
            "expected true or false",
        ),
    ] {
        let (r, _) = run(
            &step("fs:readdir", input),
            &skeleton(),
            json!({"name": "a"}),
        )
        .await;
        assert_eq!(r.status, RunStatus::Failed, "{input}");
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{input}: {e}");
    }
}

#[tokio::test]
async fn fs_readdir_is_bounded() {
    let many: Vec<String> = (0..=socle_scaffold::read::MAX_READDIR_PATHS)
        .map(|_| "app".to_owned())
        .collect();
    let input = format!("        paths: {}\n", serde_json::to_string(&many).unwrap());
    let (r, _) = run(
        &step("fs:readdir", &input),
        &skeleton(),
        json!({"name": "a"}),
    )
    .await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("at most"));
}

/// A symbolic link in a disk workspace is not followed: `fs:read` cannot read through it.
#[cfg(unix)]
#[tokio::test]
async fn fs_read_does_not_follow_a_symbolic_link_out_of_a_disk_workspace() {
    let engine = crate::engine();
    let steps = "    - id: read\n      action: fs:read\n      input:\n        path: leak\n";
    let t = engine
        .load(&crate::memory::template(steps), "t.yaml")
        .unwrap();
    let ws = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ws.path().join("leak")).unwrap();
    let r = engine
        .run(
            &t,
            &source(&[]),
            json!({}),
            socle_scaffold::RunOptions {
                workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                dry_run: false,
                user: json!({}),
                secrets: json!({}),
                live: None,
                cancel: None,
            },
        )
        .await;
    assert_eq!(r.status, RunStatus::Failed);
    let e = r.error.unwrap().to_string();
    assert!(e.contains("symbolic link"), "{e}");
    assert!(r.steps[0].output.is_null());
}
