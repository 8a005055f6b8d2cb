//! Golden files of what Socle writes: the rules of a `PrometheusServiceLevel` (a
//! prometheus-operator `PrometheusRule`) and the Grafana dashboard of its service.

use std::path::PathBuf;

use socle_golden::Golden;
use socle_slo::dashboard::{dashboard_uid, dashboards};
use socle_slo::{
    GenerateOptions, LoadOptions, PromDuration, RuleWrapping, group_rules, load, to_yaml,
};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn checkout() -> Vec<socle_slo::SloGroup> {
    let text = std::fs::read_to_string(golden_dir().join("checkout.yaml")).unwrap();
    load(&text, "checkout.yaml", &LoadOptions::default()).unwrap()
}

#[test]
fn a_service_level_becomes_a_prometheus_rule() {
    let groups = checkout();
    let options = GenerateOptions {
        version: "test".into(),
        ..GenerateOptions::default()
    };
    let rules = group_rules(&groups[0], &options).unwrap();
    let yaml = to_yaml(&groups[0], &rules, "checkout.yaml", RuleWrapping::AsSloth).unwrap();
    let mut golden = Golden::new();
    golden.check(&golden_dir().join("checkout.rules.yaml"), yaml.as_bytes());
    golden.finish();
}

#[test]
fn a_service_gets_one_grafana_dashboard() {
    let boards = dashboards(&checkout(), PromDuration::days(30));
    assert_eq!(boards.keys().collect::<Vec<_>>(), ["checkout"]);
    let board = &boards["checkout"];
    let text = serde_json::to_string_pretty(board).unwrap() + "\n";
    let mut golden = Golden::new();
    golden.check(
        &golden_dir().join("checkout.dashboard.json"),
        text.as_bytes(),
    );
    golden.finish();
}

#[test]
fn a_dashboard_has_what_grafana_import_needs() {
    let board = &dashboards(&checkout(), PromDuration::days(30))["checkout"];
    for field in [
        "uid",
        "title",
        "panels",
        "schemaVersion",
        "templating",
        "__inputs",
    ] {
        assert!(board.get(field).is_some(), "missing {field}");
    }
    let panels = board["panels"].as_array().unwrap();
    // A row and seven panels per SLO, ids unique.
    assert_eq!(panels.len(), 16);
    let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
    // Every query reads a recorded rule of the SLO.
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    assert!(
        exprs.iter().all(|e| e.contains("sloth_id=\"checkout-")),
        "{exprs:#?}"
    );
    assert!(exprs.contains(&"slo:period_error_budget_remaining:ratio{sloth_id=\"checkout-latency\", sloth_service=\"checkout\", sloth_slo=\"latency\"}"));
}

#[test]
fn dashboard_uids_fit_grafanas_limit() {
    assert_eq!(dashboard_uid("checkout"), "slo-checkout");
    let long = dashboard_uid(&"a".repeat(100));
    assert_eq!(long.len(), 40);
    assert_ne!(long, dashboard_uid(&format!("{}b", "a".repeat(99))));
}
