//! `socle policy eval|test` with conftest's semantics: --policy files and directories, --data,
//! --combine, exceptions, and the output formats (json, table, tap, junit, github, sarif).

use std::path::PathBuf;

use crate::cli::socle;

fn corpus(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance/conftest")
        .join(rel)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let o = socle(args, tmp.path());
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn eval_json(args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["policy", "eval", "-o", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    (
        code,
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}")),
    )
}

#[test]
fn exceptions_are_counted_and_do_not_fail_their_document() {
    let policy = corpus("exceptions/policy");
    let input = corpus("exceptions/deployments.yaml");
    let (code, out, _) = run(&["policy", "eval", "-p", &policy, &input]);
    assert_eq!(code, Some(1), "the other Deployment still fails");
    assert!(
        out.contains(&format!(
            "EXCP - {input} - data.main.exception[_][_] == \"run_as_root\"\n"
        )),
        "{out}"
    );
    assert!(
        out.ends_with("1 failures, 0 warnings, 1 exceptions\n"),
        "{out}"
    );
}

#[test]
fn json_output_has_conftests_shape() {
    let policy = corpus("kubernetes/policy");
    let input = corpus("kubernetes/service.yaml");
    let (code, v) = eval_json(&["--policy", &policy, &input]);
    assert_eq!(code, Some(0), "a warning does not fail");
    assert_eq!(v[0]["filename"], input.as_str());
    assert_eq!(v[0]["namespace"], "main");
    assert_eq!(v[0]["successes"], 4);
    assert_eq!(
        v[0]["warnings"][0]["msg"],
        "Found service hello-kubernetes but services are not allowed"
    );
    assert_eq!(v[0]["warnings"][0]["metadata"]["query"], "data.main.warn");
}

#[test]
fn fail_on_warn_fails_on_a_warning() {
    let policy = corpus("kubernetes/policy");
    let input = corpus("kubernetes/service.yaml");
    let (code, _, _) = run(&["policy", "eval", "--fail-on-warn", "-p", &policy, &input]);
    assert_eq!(code, Some(1));
}

#[test]
fn policy_takes_a_single_file() {
    // Only deny.rego's two rules, not labels.rego's third (the package `kubernetes` helper comes
    // from its own file).
    let deny = corpus("kubernetes/policy/deny.rego");
    let helper = corpus("kubernetes/policy/kubernetes.rego");
    let input = corpus("kubernetes/deployment.yaml");
    let (code, v) = eval_json(&["-p", &deny, "-p", &helper, &input]);
    assert_eq!(code, Some(1));
    let msgs: Vec<&str> = v[0]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["msg"].as_str().unwrap())
        .collect();
    assert_eq!(
        msgs,
        [
            "Containers must not run as root in Deployment hello-kubernetes",
            "Deployment hello-kubernetes must provide app/release labels for pod selectors"
        ]
    );
}

#[test]
fn data_in_a_policy_directory_is_not_loaded_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(corpus("data/policy/base.rego"), dir.join("base.rego")).unwrap();
    std::fs::copy(
        corpus("data/exclusions/services.yaml"),
        dir.join("services.yaml"),
    )
    .unwrap();
    let input = corpus("data/service.yaml");
    let (code, v) = eval_json(&["-p", dir.to_str().unwrap(), &input]);
    assert_eq!(
        (code, v[0]["successes"].as_u64()),
        (Some(0), Some(1)),
        "{v}"
    );
    // acceptance.bats: "Can load data along with rego policies" — a data directory, or the file.
    for data in [
        corpus("data/exclusions"),
        corpus("data/exclusions/services.yaml"),
    ] {
        let (code, v) = eval_json(&["-p", dir.to_str().unwrap(), "-d", &data, &input]);
        assert_eq!(code, Some(1));
        assert!(
            v[0]["failures"][0]["msg"]
                .as_str()
                .unwrap()
                .starts_with("Cannot expose port 22"),
            "{v}"
        );
    }
}

#[test]
fn combine_evaluates_the_files_as_one_input() {
    let policy = corpus("kubernetes/combine/combine.rego");
    let input = corpus("kubernetes/combine/deployment.yaml");
    let (code, v) = eval_json(&["--combine", "-p", &policy, &input]);
    assert_eq!(code, Some(1));
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["filename"], "Combined");
    assert_eq!(
        v[0]["failures"][0]["msg"],
        "Deployment 'goodbye-kubernetes' has no matching service"
    );
}

fn formatted(format: &str) -> String {
    let policy = corpus("exceptions/policy");
    let input = corpus("exceptions/deployments.yaml");
    run(&["policy", "eval", "-o", format, "-p", &policy, &input]).1
}

#[test]
fn tap_output() {
    let input = corpus("exceptions/deployments.yaml");
    assert_eq!(
        formatted("tap"),
        format!(
            "1..1\nnot ok 1 - {input} - main - Containers must not run as root in Deployment cannot-run-as-root\n1..1\n# exceptions\nok 1 - {input} - main - data.main.exception[_][_] == \"run_as_root\"\n"
        )
    );
}

#[test]
fn table_output() {
    let out = formatted("table");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[1].starts_with("| RESULT    | FILE"), "{out}");
    assert!(lines[3].starts_with("| failure   |"), "{out}");
    assert!(lines[4].starts_with("| exception |"), "{out}");
    assert!(
        lines[4].contains("| data.main.exception[_][_] == \"run_as_root\" "),
        "{out}"
    );
}

#[test]
fn junit_output() {
    let out = formatted("junit");
    let input = corpus("exceptions/deployments.yaml");
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"));
    assert!(
        out.contains(
            "<testsuite tests=\"1\" failures=\"1\" time=\"0.000\" name=\"conftest.main\">"
        ),
        "{out}"
    );
    assert!(out.contains(&format!(
        "<testcase classname=\"conftest.main\" name=\"{input} - Containers must not run as root in Deployment cannot-run-as-root\" time=\"0.000\">"
    )));
    assert!(out.ends_with("</testsuites>\n"));
}

#[test]
fn github_output() {
    let out = formatted("github");
    let input = corpus("exceptions/deployments.yaml");
    let file = input.replace(':', "%3A").replace(',', "%2C");
    assert!(out.starts_with(&format!(
        "::group::Testing {input:?} against 1 policies in namespace \"main\"\n::error file={file},line=1::Containers must not run as root in Deployment cannot-run-as-root\n"
    )), "{out}");
    assert!(out.contains(&format!(
        "::notice file={file},line=1::data.main.exception[_][_] == \"run_as_root\"\n"
    )));
    assert!(
        out.ends_with("2 tests, 0 passed, 0 warnings, 1 failure, 1 exception\n"),
        "{out}"
    );
}

#[test]
fn sarif_output_has_the_required_shape() {
    let v: serde_json::Value = serde_json::from_str(&formatted("sarif")).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "socle");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["main/deny", "main/allow", "main/success"]);
    let results = run["results"].as_array().unwrap();
    let got: Vec<(&str, &str, u64)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["ruleIndex"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("main/deny", "error", 0),
            ("main/allow", "note", 1),
            ("main/success", "none", 2)
        ]
    );
    for r in results {
        assert!(r["message"]["text"].is_string());
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn a_test_calling_a_missing_builtin_fails_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("t.rego"),
        "package main\n\ntest_fetch if {\n\thttp.send({\"method\": \"get\", \"url\": \"http://x\"}).status_code == 200\n}\n",
    )
    .unwrap();
    let (code, out, _) = run(&["policy", "test", tmp.path().to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(out.starts_with("FAIL data.main.test_fetch: "), "{out}");
    assert!(out.contains("unknown function http.send"), "{out}");
}

#[test]
fn test_takes_data_and_parse_combined_config_files() {
    // acceptance.bats: "Can load data in unit tests" and "Can verify rego tests that uses
    // parse_combined_config_files".
    let (code, out, _) = run(&[
        "policy",
        "test",
        &corpus("data/policy"),
        "-d",
        &corpus("data/exclusions"),
    ]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "PASS data.main.test_service_denied\n1 passed, 0 failed\n"
        )
    );
    let (code, out, _) = run(&["policy", "test", &corpus("kubernetes/combine")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("2 passed, 0 failed\n"), "{out}");
}
