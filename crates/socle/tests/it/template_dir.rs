//! Template authors' commands: `socle template validate DIR` (every problem with file and
//! line, exit 1 on any) and `socle template run ./dir` (a directory run without registering
//! it, with the same flags as a run by name).

use std::path::Path;

use crate::cli::socle;

const TEMPLATE: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello-dir
spec:
  parameters:
    required: [who]
    properties:
      who: {type: string, pattern: '^[a-z]+$'}
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {who: '${{ parameters.who }}'}
";

fn template_dir(root: &Path, template: &str) -> std::path::PathBuf {
    let dir = root.join("hello");
    std::fs::create_dir_all(dir.join("skeleton")).unwrap();
    std::fs::write(dir.join("template.yaml"), template).unwrap();
    std::fs::write(dir.join("skeleton/README.md"), "Hello ${{ values.who }}!\n").unwrap();
    dir
}

#[test]
fn validate_accepts_a_good_template_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = template_dir(tmp.path(), TEMPLATE);
    let o = socle(
        &["template", "validate", dir.to_str().unwrap()],
        &tmp.path().join("data"),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("template hello-dir is valid"), "{out}");
    assert!(!tmp.path().join("data").exists(), "validate needs no store");
}

#[test]
fn validate_reports_every_problem_with_file_and_line_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = format!(
        "{TEMPLATE}    - id: cook\n      action: fetch:cookiecutter\n      input: {{url: ./cookie}}\n    - id: docs\n      action: fetch:plain\n      input: {{url: ./docs}}\n"
    );
    let dir = template_dir(tmp.path(), &broken);
    let data = tmp.path().join("data");
    let o = socle(
        &["template", "validate", dir.to_str().unwrap(), "-o", "json"],
        &data,
    );
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let file = dir.join("template.yaml").display().to_string();
    let errors: Vec<(String, u64, String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_owned(),
                e["line"].as_u64().unwrap(),
                e["path"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (
                file.clone(),
                17,
                "spec.steps[1].action".into(),
                "action.unknown".into()
            ),
            (
                file.clone(),
                21,
                "spec.steps[2].input.url".into(),
                "skeleton.missing".into()
            ),
        ]
    );
    // The table form: the summary on stdout, each error as file:line on stderr.
    let o = socle(&["template", "validate", dir.to_str().unwrap()], &data);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{file}:17 spec.steps[1].action: action \"fetch:cookiecutter\" is not supported (supported: ")),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 errors"));
}

#[test]
fn validate_names_yaml_errors_and_a_missing_template() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = template_dir(
        tmp.path(),
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: [\n",
    );
    let o = socle(
        &["template", "validate", dir.to_str().unwrap(), "-o", "yaml"],
        &tmp.path().join("data"),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("rule: yaml"), "{out}");
    let o = socle(
        &["template", "validate", tmp.path().to_str().unwrap()],
        &tmp.path().join("data"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no template.yaml in this directory"));
}

#[test]
fn a_template_directory_runs_without_being_registered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = template_dir(tmp.path(), TEMPLATE);
    let out = tmp.path().join("out");
    let data = tmp.path().join("data");
    let o = socle(
        &[
            "template",
            "run",
            dir.to_str().unwrap(),
            "--dry-run",
            "--no-input",
            "-d",
            out.to_str().unwrap(),
            "--set",
            "who=world",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "Hello world!\n"
    );
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["template"], "hello-dir");
    assert_eq!(run["status"], "completed");
    // Not registered: the catalog holds no entity (no template among them).
    let o = socle(&["catalog", "list", "-o", "json"], &data);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list["items"], serde_json::json!([]), "{list}");
}

#[test]
fn a_template_directory_run_checks_its_values_like_a_named_run() {
    let tmp = tempfile::tempdir().unwrap();
    template_dir(tmp.path(), TEMPLATE);
    let values = tmp.path().join("values.yaml");
    std::fs::write(&values, "who: World War\n").unwrap();
    // A relative path starting with `.`: run from the template's parent directory.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_socle"))
        .args([
            "template",
            "run",
            "./hello",
            "--dry-run",
            "--no-input",
            "--values",
            values.to_str().unwrap(),
        ])
        .current_dir(tmp.path())
        .env("SOCLE_DATA_DIR", tmp.path().join("data"))
        .env_remove("SOCLE_DATABASE_URL")
        .env("SOCLE_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("parameter /who"), "{out}");
}
