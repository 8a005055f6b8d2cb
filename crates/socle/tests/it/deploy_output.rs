//! What `socle deploy` tells: the guardrails' warnings and the waivers that let a deploy
//! through, and a refusal in the API's error shape for `-o json`.

use std::path::Path;

use crate::cli::socle;

const SCORE: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  web:\n    image: .\n    livenessProbe:\n      httpGet: {path: /, port: 80}\n    readinessProbe:\n      httpGet: {path: /, port: 80}\n    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 200m, memory: 128Mi}\n";

fn deploy(score: &Path, image: &str, data: &Path, output: &str) -> std::process::Output {
    socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--image",
            image,
            "--guardrails",
            "builtin",
            "-o",
            output,
        ],
        data,
    )
}

#[test]
fn a_blocked_deploy_with_json_output_prints_the_apis_error_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, SCORE).unwrap();
    let o = deploy(&score, "api:latest", &data, "json");
    assert_eq!(o.status.code(), Some(1));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("stdout: {}", String::from_utf8_lossy(&o.stdout)));
    assert_eq!(e["error"]["code"], "blocked_by_guardrails");
    assert!(
        e["error"]["details"].to_string().contains("image-tag"),
        "{e}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("[image-tag]"));
}

#[test]
fn a_deploy_shows_the_waivers_that_let_it_through() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, SCORE).unwrap();
    let o = socle(
        &[
            "policy",
            "waive",
            "--rule",
            "image-tag",
            "--entity",
            "api",
            "--reason",
            "previews",
            "--owner",
            "group:default/team-a",
            "--expires",
            "2999-12-31",
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
    let waiver: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = deploy(&score, "api:latest", &data, "json");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["service"], "api");
    let waived = d["guardrails"]["waived"].as_array().unwrap();
    assert_eq!(waived.len(), 1, "{d}");
    assert_eq!(waived[0]["rule"], "image-tag");
    assert_eq!(waived[0]["waivers"][0], waiver["id"]);
    let o = deploy(&score, "api:latest", &data, "table");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("waived [image-tag]"), "{text}");
}

#[test]
fn a_clean_deploy_has_no_guardrail_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, SCORE).unwrap();
    let o = deploy(&score, "ghcr.io/acme/api:1.2.0", &data, "json");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        d["guardrails"],
        serde_json::json!({"waived": [], "warnings": []})
    );
}
