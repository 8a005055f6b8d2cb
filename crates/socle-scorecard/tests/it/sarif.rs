//! SARIF 2.1.0 → findings: tools, rules, severities, locations and keys.

use socle_scorecard::sarif::{SarifError, Severity, parse};

#[test]
fn trivys_sample_gives_its_cves_with_cvss_severities() {
    let text = include_str!("../../../../conformance/sarif/trivy-alpine-310.sarif");
    let report = parse(text).expect("parses");
    assert_eq!(report.tools, ["Trivy"]);
    let rules: Vec<(&str, Severity)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity))
        .collect();
    assert_eq!(rules.len(), 4, "{rules:?}");
    assert!(rules.iter().all(|(r, _)| r.starts_with("CVE-2019-")));
    // security-severity 5.3 (CVSS v3) is medium.
    assert!(
        rules.contains(&("CVE-2019-1549", Severity::Medium)),
        "{rules:?}"
    );
    assert_eq!(
        report.findings[0].location,
        "testdata/fixtures/images/alpine-310.tar.gz:1"
    );
}

#[test]
fn the_level_decides_when_there_is_no_security_severity() {
    let text = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Bandit", "rules": [{"id": "B602", "defaultConfiguration": {"level": "note"}}]}},
      "results": [
        {"ruleId": "B602", "level": "error", "message": {"text": "shell=True"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 4}}}]},
        {"ruleId": "B602", "message": {"text": "again"}},
        {"ruleId": "B105", "level": "warning", "message": {"text": "password"}, "properties": {"security-severity": 9.1}}
      ]}]}"#;
    let got: Vec<(String, Severity, String)> = parse(text)
        .expect("parses")
        .findings
        .into_iter()
        .map(|f| (f.rule, f.severity, f.location))
        .collect();
    assert!(
        got.contains(&("B602".into(), Severity::High, "app.py:4".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("B602".into(), Severity::Low, String::new())),
        "{got:?}"
    );
    assert!(
        got.contains(&("B105".into(), Severity::Critical, String::new())),
        "{got:?}"
    );
}

#[test]
fn a_partial_fingerprint_is_the_key() {
    let text = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "CodeQL"}},
      "results": [{"ruleId": "js/xss", "message": {"text": "x"}, "partialFingerprints": {"primaryLocationLineHash": "abc:1"}}]}]}"#;
    assert_eq!(
        parse(text).expect("parses").findings[0].key,
        "primaryLocationLineHash=abc:1"
    );
}

#[test]
fn a_run_without_results_still_names_its_tool() {
    let text = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Checkov"}}, "results": []}]}"#;
    let report = parse(text).expect("parses");
    assert_eq!(
        (report.tools.as_slice(), report.findings.len()),
        (&["Checkov".to_owned()][..], 0)
    );
}

#[test]
fn other_versions_and_non_sarif_are_refused() {
    assert!(matches!(
        parse(r#"{"version": "2.0.0", "runs": []}"#),
        Err(SarifError::Version(_))
    ));
    assert!(matches!(parse("not json"), Err(SarifError::Invalid(_))));
    assert!(matches!(
        parse(r#"{"runs": []}"#),
        Err(SarifError::Invalid(_))
    ));
}

#[test]
fn too_many_results_are_refused() {
    let results: Vec<String> = (0..10_001)
        .map(|i| format!(r#"{{"ruleId": "r{i}", "message": {{"text": "m"}}}}"#))
        .collect();
    let text = format!(
        r#"{{"version": "2.1.0", "runs": [{{"tool": {{"driver": {{"name": "t"}}}}, "results": [{}]}}]}}"#,
        results.join(",")
    );
    assert_eq!(parse(&text), Err(SarifError::TooMany));
}

#[test]
fn control_characters_and_long_fields_are_cut() {
    let long = "x".repeat(5000);
    let text = format!(
        r#"{{"version": "2.1.0", "runs": [{{"tool": {{"driver": {{"name": "t\u001b[31m"}}}}, "results": [{{"ruleId": "{long}", "message": {{"text": "a\u0007b"}}}}]}}]}}"#
    );
    let f = &parse(&text).expect("parses").findings[0];
    assert_eq!(f.tool, "t[31m");
    assert_eq!(f.rule.len(), 1024);
    assert_eq!(f.message, "ab");
}
