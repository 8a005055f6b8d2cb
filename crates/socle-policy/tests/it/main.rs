//! The built-in pack against deliberately bad and clean manifests, conftest conventions for
//! custom policies, and bad policies.

use std::collections::BTreeSet;

use serde_json::Value;
use socle_policy::{PolicyError, PolicySet, Severity};

mod checkov;
mod conftest;
mod packaging;

fn docs(text: &str) -> Vec<Value> {
    socle_catalog::yaml::parse_documents(text, &socle_catalog::Limits::default())
        .unwrap()
        .iter()
        .map(|d| d.to_json())
        .collect()
}

#[test]
fn the_builtin_pack_finds_every_problem_of_the_bad_set() {
    let pack = PolicySet::builtin(None).unwrap();
    let bad = docs(include_str!("fixtures/bad.yaml"));
    let findings = pack.eval(&bad[0], "bad.yaml", 0).unwrap();
    let denied: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .map(|f| f.rule.as_str())
        .collect();
    let expected = [
        "cpu-limits",
        "cpu-requests",
        "drop-all-capabilities",
        "drop-net-raw",
        "host-ipc",
        "host-network",
        "host-pid",
        "image-tag",
        "liveness-probe",
        "memory-limits",
        "memory-requests",
        "no-added-capabilities",
        "plaintext-secret-env",
        "privilege-escalation",
        "privileged",
        "prod-replicas",
        "read-only-root-filesystem",
        "readiness-probe",
        "run-as-non-root",
    ];
    assert_eq!(denied, expected.into_iter().collect::<BTreeSet<_>>());
    let warned: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(warned, ["secret-env-ref"].into_iter().collect());
    // Every Checkov check the issue names is covered.
    let checkov: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.checkov.iter().map(String::as_str))
        .collect();
    for id in [
        8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 22, 23, 25, 28, 35, 37,
    ] {
        assert!(
            checkov.contains(format!("CKV_K8S_{id}").as_str()),
            "CKV_K8S_{id} not reported"
        );
    }
    // Findings name the object and the field.
    let privileged = findings.iter().find(|f| f.rule == "privileged").unwrap();
    assert_eq!(privileged.object.as_deref(), Some("Deployment/bad"));
    assert_eq!(
        privileged.path.as_deref(),
        Some("spec.template.spec.containers[0].securityContext.privileged")
    );
    assert!(
        privileged
            .message
            .contains("remove securityContext.privileged")
    );
    let tag: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == "image-tag")
        .map(|f| f.path.as_deref().unwrap())
        .collect();
    assert_eq!(
        tag,
        [
            "spec.template.spec.containers[0].image",
            "spec.template.spec.containers[1].image"
        ]
    );
    let secret = findings
        .iter()
        .find(|f| f.rule == "plaintext-secret-env")
        .unwrap();
    assert_eq!(
        secret.path.as_deref(),
        Some("spec.template.spec.containers[0].env[0].value")
    );
}

#[test]
fn the_clean_set_passes() {
    let pack = PolicySet::builtin(None).unwrap();
    for (i, d) in docs(include_str!("fixtures/clean.yaml")).iter().enumerate() {
        let findings = pack.eval(d, "clean.yaml", i).unwrap();
        assert!(findings.is_empty(), "{findings:#?}");
    }
}

#[test]
fn data_configures_and_disables_rules() {
    let data = serde_json::json!({"socle": {"allowed_registries": ["ghcr.io"], "disabled_rules": ["liveness-probe"]}});
    let pack = PolicySet::builtin(Some(data)).unwrap();
    let mut d = docs(include_str!("fixtures/clean.yaml"))[0].clone();
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "quay.io/acme/good:1.0".into();
    d["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("livenessProbe");
    let f = pack.eval(&d, "x.yaml", 0).unwrap();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "allowed-registries");
    assert!(
        f[0].message
            .contains("\"quay.io\", which is not an allowed registry (ghcr.io)"),
        "{}",
        f[0].message
    );
}

#[test]
fn conftest_conventions_for_custom_policies() {
    let policy = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tinput.kind == \"Deployment\"\n\tnot input.metadata.labels.team\n\tmsg := \"Deployments need a team label\"\n}\n\nwarn_latest contains msg if {\n\tendswith(input.spec.template.spec.containers[_].image, \":latest\")\n\tmsg := \"latest tag\"\n}\n\nviolation contains {\"msg\": \"no replicas\", \"details\": 1} if not input.spec.replicas\n";
    let set = PolicySet::load(&[("policy/main.rego".into(), policy.into())], "main").unwrap();
    assert_eq!(set.rules(), ["deny", "violation", "warn_latest"]);
    let d = serde_json::json!({"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"image": "a:latest"}]}}}});
    let f = set.eval(&d, "d.yaml", 0).unwrap();
    let got: Vec<(&str, Severity, &str)> = f
        .iter()
        .map(|x| (x.rule.as_str(), x.severity, x.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("deny", Severity::Deny, "Deployments need a team label"),
            ("violation", Severity::Deny, "no replicas"),
            ("warn_latest", Severity::Warn, "latest tag")
        ]
    );
}

#[test]
fn bad_policies_are_reported_with_file_and_line() {
    let broken = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := \n}\n";
    let e = PolicySet::load(&[("policy/broken.rego".into(), broken.into())], "main").unwrap_err();
    assert!(matches!(e, PolicyError::Compile { .. }));
    let text = e.to_string();
    assert!(text.starts_with("policy policy/broken.rego:"), "{text}");
    assert!(
        text.contains("broken.rego:6") || text.contains(":6:") || text.contains("line 6"),
        "{text}"
    );
    // A rule that errors at evaluation.
    let erroring = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tx := to_number(\"abc\")\n\tmsg := sprintf(\"%v\", [x])\n}\n";
    let mut set = PolicySet::load(&[("p.rego".into(), erroring.into())], "main").unwrap();
    let r = set.eval(&serde_json::json!({}), "d.yaml", 0);
    assert!(
        matches!(r, Err(PolicyError::Eval { .. })) || r.as_ref().is_ok_and(|f| f.is_empty()),
        "{r:?}"
    );
    // A policy that takes too long is stopped.
    let slow = "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tsome i in numbers.range(1, 100000000)\n\ti < 0\n\tmsg := \"x\"\n}\n";
    set = PolicySet::load(&[("slow.rego".into(), slow.into())], "main").unwrap();
    set.set_timeout(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let r = set.eval(&serde_json::json!({}), "d.yaml", 0);
    assert!(matches!(r, Err(PolicyError::Eval { .. })), "{r:?}");
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("evaluating deny on d.yaml")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn the_packs_own_rego_tests_pass() {
    let files: Vec<(String, String)> = socle_policy::BUILTIN
        .files()
        .map(|f| {
            (
                f.path().display().to_string(),
                f.contents_utf8().unwrap().to_owned(),
            )
        })
        .collect();
    let set = PolicySet::builtin(None).unwrap();
    let results = set.run_tests(&files).unwrap();
    assert!(results.len() >= 10, "{results:?}");
    let failed: Vec<&String> = results
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| n)
        .collect();
    assert!(failed.is_empty(), "failing Rego tests: {failed:?}");
}

const BINDING: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: pwn
  annotations:
    socle.dev/guardrail-exceptions: restricted-kind
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: mallory}]
";

#[test]
fn the_builtin_pack_denies_a_cluster_admin_binding_whatever_its_annotations() {
    let pack = PolicySet::builtin(None).unwrap();
    let findings = pack.eval(&docs(BINDING)[0], "crb.yaml", 0).unwrap();
    let denied: Vec<(&str, Option<&str>)> = findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .map(|f| (f.rule.as_str(), f.object.as_deref()))
        .collect();
    assert_eq!(
        denied,
        [("restricted-kind", Some("ClusterRoleBinding/pwn"))]
    );
    assert!(
        findings[0].message.contains("socle.allowed_cluster_kinds"),
        "the message says how the platform allows it: {}",
        findings[0].message
    );
}

#[test]
fn platform_data_allows_a_cluster_kind() {
    let data = serde_json::json!({"socle": {"allowed_cluster_kinds": ["ClusterRoleBinding"]}});
    let pack = PolicySet::builtin(Some(data)).unwrap();
    let findings = pack.eval(&docs(BINDING)[0], "crb.yaml", 0).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}
