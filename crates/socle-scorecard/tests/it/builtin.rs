//! Every built-in check passes on facts that meet it and fails on facts that do not.

use serde_json::{Value, json};
use socle_scorecard::{Compiled, evaluate, library, load};

use crate::{NOW, facts};

fn passes(builtin: &str, params: Value, doc: Value) -> bool {
    let text = format!(
        "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {{name: b}}\nspec:\n  rules:\n    - id: r\n      check: {{builtin: {builtin}, params: {params}}}\n"
    );
    let card = load(&text, "b.yaml")
        .unwrap_or_else(|e| panic!("{builtin}: {e:?}"))
        .remove(0);
    let c = Compiled::new(card).expect("compiles");
    let mut doc = doc;
    doc["entity"]["kind"] = json!("Component");
    let r = evaluate(&[c], &facts("x", doc), NOW).remove(0);
    assert_eq!(r.error, None, "{builtin}");
    r.rules[0].passed
}

const DAY: i64 = 86_400;

/// (builtin, params, facts that pass, facts that fail)
fn cases() -> Vec<(&'static str, Value, Value, Value)> {
    let none = json!({});
    vec![
        (
            "has-owner",
            none.clone(),
            json!({"entity": {"spec": {"owner": "team-a"}}}),
            json!({"entity": {"spec": {"owner": ""}}}),
        ),
        (
            "has-system",
            none.clone(),
            json!({"entity": {"spec": {"system": "s"}}}),
            json!({"entity": {"spec": {}}}),
        ),
        (
            "has-description",
            none.clone(),
            json!({"entity": {"metadata": {"description": "d"}}}),
            json!({"entity": {}}),
        ),
        (
            "has-annotation",
            json!({"key": "a/b"}),
            json!({"entity": {"metadata": {"annotations": {"a/b": "x"}}}}),
            json!({"entity": {"metadata": {"annotations": {"a/c": "x"}}}}),
        ),
        (
            "has-docs",
            none.clone(),
            json!({"entity": {}, "docs": {"techdocs": true}}),
            json!({"entity": {}, "docs": {"techdocs": false}}),
        ),
        (
            "has-slo",
            none.clone(),
            json!({"entity": {}, "slos": {"declared": true}}),
            json!({"entity": {}}),
        ),
        (
            "has-readme",
            none.clone(),
            json!({"entity": {}, "repository": {"present": {"readme": true}}}),
            json!({"entity": {}, "repository": {"present": {"readme": false}}}),
        ),
        (
            "has-codeowners",
            none.clone(),
            json!({"entity": {}, "repository": {"present": {"codeowners": true}}}),
            json!({"entity": {}, "repository": {"read": false}}),
        ),
        (
            "has-dockerfile",
            none.clone(),
            json!({"entity": {}, "repository": {"present": {"dockerfile": true}}}),
            json!({"entity": {}}),
        ),
        (
            "has-renovate",
            none.clone(),
            json!({"entity": {}, "repository": {"present": {"renovate": true}}}),
            json!({"entity": {}}),
        ),
        (
            "has-ci-workflow",
            none.clone(),
            json!({"entity": {}, "repository": {"workflows": ["ci.yaml"]}}),
            json!({"entity": {}, "repository": {"workflows": []}}),
        ),
        (
            "file-matches",
            json!({"path": "Dockerfile", "pattern": "^FROM"}),
            json!({"entity": {}, "repository": {"matches": {"Dockerfile::^FROM": true}}}),
            json!({"entity": {}, "repository": {"matches": {"Dockerfile::^FROM": false}}}),
        ),
        (
            "deployed-recently",
            json!({"days": 7}),
            json!({"entity": {}, "deployments": {"production": {"at": NOW - 6 * DAY}}}),
            json!({"entity": {}, "deployments": {"production": {"at": NOW - 8 * DAY}, "dev": {"at": NOW}}}),
        ),
        (
            "has-probes",
            json!({}),
            json!({"entity": {}, "deployments": {"dev": {"probes": true}}}),
            json!({"entity": {}, "deployments": {"dev": {"probes": true}, "prod": {"probes": false}}}),
        ),
        (
            "has-resources",
            json!({"environment": "prod"}),
            json!({"entity": {}, "deployments": {"prod": {"resources": true}}}),
            json!({"entity": {}, "deployments": {"dev": {"resources": true}}}),
        ),
        (
            "no-old-findings",
            json!({}),
            json!({"entity": {}, "findings": {"open": [{"tool": "trivy", "rule": "CVE-1", "severity": "critical", "first_seen": NOW - 6 * DAY}, {"tool": "t", "rule": "r", "severity": "high", "first_seen": 0}]}}),
            json!({"entity": {}, "findings": {"open": [{"tool": "trivy", "rule": "CVE-1", "severity": "CRITICAL", "first_seen": NOW - 8 * DAY}]}}),
        ),
        (
            "guardrails-passing",
            none.clone(),
            json!({"entity": {}, "guardrails": {"evaluated": true, "failures": 0}}),
            json!({"entity": {}, "guardrails": {"evaluated": true, "failures": 2}}),
        ),
        (
            "dora-deploy-frequency",
            json!({"at_least": "weekly"}),
            json!({"entity": {}, "dora": {"deployment_frequency": {"bucket": "daily"}}}),
            json!({"entity": {}, "dora": {"deployment_frequency": {"bucket": "monthly"}}}),
        ),
        (
            "data-quality-passing",
            json!({"min_pass_ratio": 0.9, "max_age_hours": 48}),
            json!({"entity": {}, "data": {"quality": {"recorded": true, "pass_ratio": 0.95, "age_hours": 2.0, "failed": 1, "error": 0}}}),
            json!({"entity": {}, "data": {"quality": {"recorded": true, "pass_ratio": 0.95, "age_hours": 50.0, "failed": 1, "error": 0}}}),
        ),
        (
            "data-fresh",
            json!({"max_hours": 6}),
            json!({"entity": {}, "data": {"freshness": {"measured": true, "age_hours": 5.5}}}),
            json!({"entity": {}, "data": {"freshness": {"measured": true, "age_hours": 6.5}}}),
        ),
    ]
}

fn message(builtin: &str, params: Value, doc: Value) -> Option<String> {
    let text = format!(
        "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {{name: b}}\nspec:\n  rules:\n    - id: r\n      check: {{builtin: {builtin}, params: {params}}}\n"
    );
    let c = Compiled::new(load(&text, "b.yaml").expect("loads").remove(0)).expect("compiles");
    let mut doc = doc;
    doc["entity"]["kind"] = json!("DataContract");
    evaluate(&[c], &facts("x", doc), NOW).remove(0).rules[0]
        .message
        .clone()
}

#[test]
fn data_quality_says_why_it_fails() {
    let q = |v: Value| json!({"entity": {}, "data": {"quality": v}});
    assert_eq!(
        message(
            "data-quality-passing",
            json!({}),
            q(json!({"recorded": false}))
        )
        .as_deref(),
        Some("no quality run recorded")
    );
    assert_eq!(
        message(
            "data-quality-passing",
            json!({}),
            q(json!({"recorded": true, "pass_ratio": 0.8, "age_hours": 1, "failed": 2, "error": 1}))
        )
        .as_deref(),
        Some("3 of its checks failed or erred")
    );
    assert_eq!(
        message(
            "data-quality-passing",
            json!({}),
            q(json!({"recorded": true, "pass_ratio": 1.0, "age_hours": 200.4, "failed": 0, "error": 0}))
        )
        .as_deref(),
        Some("its newest quality run is 200 hours old")
    );
    assert_eq!(
        message(
            "data-fresh",
            json!({}),
            json!({"entity": {}, "data": {"freshness": {"measured": true, "age_hours": 30.26}}})
        )
        .as_deref(),
        Some("its newest data is 30.3 hours old")
    );
}

#[test]
fn data_quality_params_are_bounded() {
    for params in [json!({"min_pass_ratio": 1.5}), json!({"max_age_hours": -1})] {
        let text = format!(
            "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {{name: b}}\nspec:\n  rules:\n    - id: r\n      check: {{builtin: data-quality-passing, params: {params}}}\n"
        );
        let loaded = load(&text, "b.yaml");
        let refused = match loaded {
            Err(_) => true,
            Ok(mut cards) => Compiled::new(cards.remove(0)).is_err(),
        };
        assert!(refused, "{params}");
    }
}

#[test]
fn every_builtin_passes_and_fails_as_documented() {
    let mut wrong = Vec::new();
    for (name, params, good, bad) in cases() {
        if !passes(name, params.clone(), good) {
            wrong.push(format!("{name} failed on facts that meet it"));
        }
        if passes(name, params, bad) {
            wrong.push(format!("{name} passed on facts that do not meet it"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_library_entry_has_a_case() {
    let tested: Vec<&str> = cases().iter().map(|c| c.0).collect();
    let missing: Vec<&str> = library()
        .iter()
        .map(|i| i.name)
        .filter(|n| !tested.contains(n))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn old_findings_are_named_in_the_message() {
    let text = "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {name: b}\nspec:\n  rules:\n    - id: r\n      check: {builtin: no-old-findings}\n";
    let c = Compiled::new(load(text, "b.yaml").expect("loads").remove(0)).expect("compiles");
    let doc = json!({"entity": {"kind": "Component"}, "findings": {"open": [{"tool": "trivy", "rule": "CVE-2024-1", "severity": "critical", "first_seen": 0}]}});
    let r = evaluate(&[c], &facts("x", doc), NOW).remove(0);
    assert_eq!(
        r.rules[0].message.as_deref(),
        Some("open for more than 7 days: trivy: CVE-2024-1")
    );
}

#[test]
fn a_param_value_stays_a_value_in_the_generated_rego() {
    // A key with quotes and Rego syntax is a string literal, not code.
    assert!(!passes(
        "has-annotation",
        json!({"key": "x\"] == null\n} pass := true #"}),
        json!({"entity": {"metadata": {"annotations": {}}}})
    ));
}

/// The built-ins evaluated in Rust give the outcome and message of their Rego text, on every
/// case's facts, on facts of the wrong shape and on empty facts.
#[test]
fn native_built_ins_agree_with_their_rego() {
    let odd = [
        json!({}),
        json!({"entity": {"spec": {"owner": 3}, "metadata": {"description": "  ", "annotations": []}},
               "deployments": [], "repository": {"workflows": "ci.yaml", "present": {"readme": "yes"}},
               "findings": {"open": [{"tool": 1, "rule": "r", "severity": "CRITICAL", "first_seen": 0},
                                     {"tool": "t", "rule": "r", "severity": 7, "first_seen": 0},
                                     {"tool": "t", "rule": "r", "severity": "critical"}]},
               "guardrails": {"evaluated": true, "failures": 0.0}, "dora": {"deployment_frequency": {"bucket": 1}}}),
        json!({"deployments": {"production": {"at": NOW - 40 * DAY, "probes": true, "resources": "yes"}},
               "findings": {"open": "none"}, "guardrails": {"evaluated": "true", "failures": 0}}),
    ];
    let mut differ = Vec::new();
    for (name, params, pass, fail) in cases() {
        let text = format!(
            "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {{name: b}}\nspec:\n  rules:\n    - id: r\n      check: {{builtin: {name}, params: {params}}}\n"
        );
        let card = load(&text, "b.yaml").expect("loads").remove(0);
        let timeout = std::time::Duration::from_secs(1);
        let native = Compiled::with_options(card.clone(), timeout, true).expect("compiles");
        let rego = Compiled::with_options(card, timeout, false).expect("compiles");
        for doc in [pass, fail].into_iter().chain(odd.iter().cloned()) {
            let f = facts("x", doc.clone());
            let a = evaluate(std::slice::from_ref(&native), &f, NOW).remove(0);
            let b = evaluate(std::slice::from_ref(&rego), &f, NOW).remove(0);
            let outcome = |r: &socle_scorecard::CardResult| match r.rules.first() {
                Some(x) => (x.passed, x.message.clone()),
                // A Rego error (facts of a shape the check cannot compute on) fails the rule.
                None => (false, r.error.clone()),
            };
            let (na, ra) = (outcome(&a), outcome(&b));
            if na != ra && !(na.0 == ra.0 && b.error.is_some()) {
                differ.push((name, doc, na, ra));
            }
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}
