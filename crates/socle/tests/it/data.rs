//! `socle data validate` end to end: the binary on Bitol's ODCS examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn socle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .current_dir(root())
        .env("SOCLE_LOG", "warn")
        .output()
        .expect("socle runs")
}

#[test]
fn a_valid_contract_prints_its_catalog_entity() {
    let o = socle(&[
        "data",
        "validate",
        "conformance/odcs/all/full-example.odcs.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], true);
    let c = &report["contracts"][0];
    assert_eq!(c["entity"], "datacontract:default/my-quantum");
    assert_eq!(c["odcs"], "v3.1.0");
    assert_eq!(c["owner"], "my-team");
}

#[test]
fn an_invalid_contract_exits_1_with_file_line_and_path() {
    let o = socle(&[
        "data",
        "validate",
        "conformance/odcs/stakeholders/basic-four-dpo.odcs.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let text = std::fs::read_to_string(
        root().join("conformance/odcs/stakeholders/basic-four-dpo.odcs.yaml"),
    )
    .unwrap();
    let line = text.lines().position(|l| l.starts_with("team:")).unwrap() + 2;
    assert!(
        stderr.contains(&format!("basic-four-dpo.odcs.yaml:{line}:")) && stderr.contains(" team: "),
        "line {line}: {stderr}"
    );
    assert!(stderr.contains("[odcs.schema]"), "{stderr}");
}
