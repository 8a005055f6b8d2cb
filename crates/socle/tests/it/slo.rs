//! `socle slo …` end to end: the binary on Sloth's corpus and the README example.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn socle(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .current_dir(dir)
        .env("SOCLE_LOG", "warn")
        .output()
        .expect("socle runs")
}

#[test]
fn validate_reports_each_broken_rule_at_its_line_and_exits_1() {
    let bad = root().join("conformance/sloth/testdata/validate/bad/bad-k8s.yaml");
    let o = socle(&["slo", "validate", bad.to_str().unwrap()], &root());
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bad-k8s.yaml:7: spec.service: the service is required"),
        "{stderr}"
    );
}

#[test]
fn generate_with_a_custom_period_writes_its_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let testdata = root().join("conformance/sloth/testdata");
    let o = socle(
        &[
            "slo",
            "generate",
            testdata.join("in-base.yaml").to_str().unwrap(),
            "--window",
            "7d",
            "--windows-file",
            testdata.join("windows-7d.yaml").to_str().unwrap(),
            "--extra-labels",
            "env=prod",
            "-d",
            "rules",
            "-o",
            "json",
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // slo1: 8 SLI + 7 metadata recordings + 2 alerts; slo02 (alerts disabled): 15.
    assert_eq!(listed["items"][0]["rules"], 32);
    let rules = std::fs::read_to_string(tmp.path().join("rules/in-base.rules.yaml")).unwrap();
    assert!(rules.contains("sloth_window: 1w"));
    assert!(rules.contains("(13.44 * 0.0009999999999999432)"));
    assert!(rules.contains("env: prod"));
}

#[test]
fn dashboard_writes_one_grafana_json_per_service() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = root().join("examples/slo.yaml");
    let o = socle(
        &["slo", "dashboard", spec.to_str().unwrap(), "-d", "boards"],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text =
        std::fs::read_to_string(tmp.path().join("boards/cart-service.dashboard.json")).unwrap();
    let board: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(board["uid"], "slo-cart-service");
}
