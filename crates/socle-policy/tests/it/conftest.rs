//! conftest's semantics, against conftest's own examples (conformance/conftest, with the outcomes
//! its acceptance.bats expects) and small hand-made policies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use socle_policy::{CheckResult, ConfigReader, NoFiles, PolicySet};

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance/conftest")
        .join(rel)
}

/// The `.rego` files of a directory (not its YAML/JSON: those are data only when asked).
fn rego_files(rel: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(corpus(rel))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn file(rel: &str) -> (String, String) {
    (
        rel.to_owned(),
        std::fs::read_to_string(corpus(rel)).unwrap(),
    )
}

fn documents(rel: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(corpus(rel)).unwrap();
    socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default())
        .unwrap()
        .iter()
        .map(|d| d.to_json())
        .collect()
}

fn policies(rel: &str, data: &[(String, String)]) -> PolicySet {
    PolicySet::load_parts(&rego_files(rel), data, "main", Arc::new(NoFiles)).unwrap()
}

fn check_all(set: &PolicySet, rel: &str) -> Vec<CheckResult> {
    documents(rel)
        .iter()
        .map(|d| set.check(d, rel).unwrap())
        .collect()
}

/// conftest's summary line.
fn summary(results: &[CheckResult]) -> (usize, usize, usize, usize, usize) {
    results.iter().fold((0, 0, 0, 0, 0), |t, r| {
        (
            t.0 + r.tests(),
            t.1 + r.successes,
            t.2 + r.warnings.len(),
            t.3 + r.failures.len(),
            t.4 + r.exceptions.len(),
        )
    })
}

fn inline(policy: &str) -> PolicySet {
    PolicySet::load_parts(
        &[("p.rego".into(), policy.into())],
        &[],
        "main",
        Arc::new(NoFiles),
    )
    .unwrap()
}

#[test]
fn an_undefined_complete_rule_is_a_success_not_a_failure() {
    let set = inline(
        "package main\n\nviolation := [msg] if {\n\tinput.kind == \"Deployment\"\n\tmsg := \"no service\"\n}\n",
    );
    let r = set.check(&json!({"kind": "Service"}), "s.yaml").unwrap();
    assert_eq!((r.tests(), r.successes, r.failures.len()), (1, 1, 0));
    assert!(
        set.eval(&json!({"kind": "Service"}), "s.yaml", 0)
            .unwrap()
            .is_empty()
    );
    let r = set.check(&json!({"kind": "Deployment"}), "d.yaml").unwrap();
    assert_eq!(r.failures[0].msg, "no service");
}

#[test]
fn only_sets_and_arrays_of_messages_are_results() {
    // conftest reads a rule's value as a list of messages; `true` or a bare string is none.
    let set = inline("package main\n\ndeny := true\n\nwarn := \"text\"\n");
    let r = set.check(&json!({}), "x.yaml").unwrap();
    assert_eq!((r.successes, r.failures.len(), r.warnings.len()), (2, 0, 0));
}

#[test]
fn the_kubernetes_example_counts_every_rule_body() {
    // acceptance.bats: "The number of tests run is accurate" — 5 tests, 4 passed, 1 warning.
    let set = policies("kubernetes/policy", &[]);
    let r = check_all(&set, "kubernetes/service.yaml");
    assert_eq!(summary(&r), (5, 4, 1, 0, 0));
    assert_eq!(
        r[0].warnings[0].msg,
        "Found service hello-kubernetes but services are not allowed"
    );
    // "Fail when testing a deployment with root containers".
    let r = check_all(&set, "kubernetes/deployment.yaml");
    assert!(
        r[0].failures
            .iter()
            .any(|f| f.msg == "Containers must not run as root in Deployment hello-kubernetes"),
        "{r:?}"
    );
}

#[test]
fn an_exception_exempts_the_rule_it_names_and_is_counted() {
    // acceptance.bats: "Exceptions reported correctly" — 2 tests, 0 passed, 0 warnings,
    // 1 failure, 1 exception; the exception's message is the query that matched.
    let set = policies("exceptions/policy", &[]);
    let r = check_all(&set, "exceptions/deployments.yaml");
    assert_eq!(summary(&r), (2, 0, 0, 1, 1));
    assert_eq!(
        r[0].failures[0].msg,
        "Containers must not run as root in Deployment cannot-run-as-root"
    );
    assert_eq!(
        r[1].exceptions[0].msg,
        "data.main.exception[_][_] == \"run_as_root\""
    );
    // The finding list (deploys, the API) leaves the exempted rule out.
    let docs = documents("exceptions/deployments.yaml");
    assert!(set.eval(&docs[1], "d.yaml", 1).unwrap().is_empty());
    assert_eq!(set.eval(&docs[0], "d.yaml", 0).unwrap().len(), 1);
}

#[test]
fn a_plain_rule_is_exempted_by_an_empty_name() {
    let set = inline(
        "package main\n\ndeny contains \"no\" if true\n\nexception contains rules if {\n\tinput.skip\n\trules := [\"\"]\n}\n",
    );
    let r = set.check(&json!({"skip": true}), "x").unwrap();
    assert_eq!((r.failures.len(), r.exceptions.len()), (0, 1));
    assert_eq!(r.exceptions[0].msg, "data.main.exception[_][_] == \"\"");
    let r = set.check(&json!({}), "x").unwrap();
    assert_eq!((r.failures.len(), r.exceptions.len()), (1, 0));
}

#[test]
fn data_files_are_data_only_when_given() {
    // acceptance.bats: "Can load data along with rego policies".
    let data = [file("data/exclusions/services.yaml")];
    let set = policies("data/policy", &data);
    let r = check_all(&set, "data/service.yaml");
    assert!(
        r[0].failures[0]
            .msg
            .starts_with("Cannot expose port 22 on LoadBalancer"),
        "{r:?}"
    );
    // Without --data there are no denied ports, so nothing fails.
    let set = policies("data/policy", &[]);
    assert_eq!(
        summary(&check_all(&set, "data/service.yaml")),
        (1, 1, 0, 0, 0)
    );
}

fn inputs(files: &[&str]) -> Vec<(String, Value)> {
    files
        .iter()
        .flat_map(|f| documents(f).into_iter().map(|d| (f.to_string(), d)))
        .collect()
}

#[test]
fn combine_evaluates_all_files_as_one_input() {
    // conftest's kubernetes/combine example: a Deployment whose Service is in another file.
    let set = policies("kubernetes/combine", &[]);
    let r = set
        .check_combined(&inputs(&["kubernetes/combine/deployment.yaml"]))
        .unwrap();
    assert_eq!(r.filename, "Combined");
    assert_eq!(summary(std::slice::from_ref(&r)), (1, 0, 0, 1, 0));
    assert_eq!(
        r.failures[0].msg,
        "Deployment 'goodbye-kubernetes' has no matching service"
    );
    // A Service in another file that selects the Deployment's app.
    let mut both = inputs(&["kubernetes/combine/deployment.yaml"]);
    let app = both[0].1["spec"]["selector"]["matchLabels"]["app"].clone();
    both.push((
        "svc.yaml".into(),
        json!({"kind": "Service", "spec": {"selector": {"app": app}}}),
    ));
    let r = set.check_combined(&both).unwrap();
    assert_eq!(summary(std::slice::from_ref(&r)), (1, 1, 0, 0, 0));
}

#[test]
fn combine_gives_each_document_an_entry_sorted_by_path() {
    // conftest's combine example's files: a multi-document file is one entry per document.
    let set = inline(
        "package main\n\ndeny contains msg if {\n\tmsg := concat(\",\", [sprintf(\"%s:%s\", [e.path, e.contents.metadata.name]) | some e in input])\n}\n",
    );
    let r = set
        .check_combined(&inputs(&["combine/users.yaml", "combine/team.yaml"]))
        .unwrap();
    assert_eq!(
        r.failures[0].msg,
        "combine/team.yaml:team-one,combine/users.yaml:john.doe,combine/users.yaml:jane.doe"
    );
}

#[test]
fn a_test_calling_a_missing_builtin_fails_naming_it() {
    let files = vec![(
        "t.rego".to_owned(),
        "package main\n\ntest_fetch if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://x\"})\n\tr.status_code == 200\n}\n\ntest_ok if { true }\n".to_owned(),
    )];
    let set = PolicySet::load_parts(&files, &[], "main", Arc::new(NoFiles)).unwrap();
    let t = set.verify(&files).unwrap();
    assert_eq!(t[0].name, "data.main.test_fetch");
    assert!(!t[0].passed);
    let error = t[0].error.as_deref().unwrap();
    assert!(error.contains("unknown function http.send"), "{error}");
    assert_eq!(
        (t[1].name.as_str(), t[1].passed, &t[1].error),
        ("data.main.test_ok", true, &None)
    );
}

#[test]
fn the_examples_own_tests_pass() {
    // acceptance.bats: "4 tests, 4 passed" and "Can load data in unit tests".
    let files = rego_files("kubernetes/policy");
    let set = PolicySet::load_parts(&files, &[], "main", Arc::new(NoFiles)).unwrap();
    let t = set.verify(&files).unwrap();
    assert_eq!(t.len(), 4);
    assert!(t.iter().all(|t| t.passed), "{t:?}");
    let files = rego_files("data/policy");
    let data = [file("data/exclusions/services.yaml")];
    let set = PolicySet::load_parts(&files, &data, "main", Arc::new(NoFiles)).unwrap();
    assert!(set.verify(&files).unwrap()[0].passed);
}

#[test]
fn parse_config_reads_yaml_and_json() {
    let set = inline(
        "package main\n\ndeny contains msg if {\n\tc := parse_config(\"yaml\", \"a: 1\\nb: [x]\\n\")\n\tj := parse_config(\"json\", \"{\\\"a\\\": 2}\")\n\tmsg := sprintf(\"%v %v %v\", [c.a, c.b[0], j.a])\n}\n",
    );
    let r = set.check(&json!({}), "x").unwrap();
    assert_eq!(r.failures[0].msg, "1 x 2");
}

#[test]
fn parse_config_names_an_unsupported_parser() {
    let set = inline(
        "package main\n\ndeny contains msg if {\n\tparse_config(\"hcl2\", \"a = 1\")\n\tmsg := \"x\"\n}\n",
    );
    let e = set.check(&json!({}), "x").unwrap_err().to_string();
    assert!(
        e.contains("parser \"hcl2\" is not supported (yaml, json)"),
        "{e}"
    );
}

/// Reads files relative to one directory.
struct Dir(PathBuf);

impl ConfigReader for Dir {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(self.0.join(path)).map_err(|e| format!("{path}: {e}"))
    }
}

#[test]
fn parse_combined_config_files_reads_through_the_reader() {
    // acceptance.bats: "Can verify rego tests that uses parse_combined_config_files".
    let files = rego_files("kubernetes/combine");
    let reader = Arc::new(Dir(corpus("kubernetes/combine")));
    let set = PolicySet::load_parts(&files, &[], "main", reader).unwrap();
    let t = set.verify(&files).unwrap();
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.passed), "{t:?}");
}

#[test]
fn parse_config_file_reads_one_file() {
    let files = vec![(
        "t.rego".to_owned(),
        "package main\n\ntest_kind if {\n\tparse_config_file(\"service.yaml\").kind == \"Service\"\n}\n".to_owned(),
    )];
    let reader = Arc::new(Dir(corpus("kubernetes/combine")));
    let set = PolicySet::load_parts(&files, &[], "main", reader).unwrap();
    assert!(set.verify(&files).unwrap()[0].passed);
    // Without a reader the test fails and says why.
    let set = PolicySet::load_parts(&files, &[], "main", Arc::new(NoFiles)).unwrap();
    let t = &set.verify(&files).unwrap()[0];
    assert!(!t.passed);
    assert!(
        t.error
            .as_deref()
            .unwrap()
            .contains("no files can be read here"),
        "{t:?}"
    );
}
