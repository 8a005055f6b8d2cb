//! `socle dora import` on what real tools send: events of several sources link up, and fields
//! Socle does not read are one warning per name on stderr, across the import's batches.

use crate::cli::socle;

const MIXED: &str = include_str!("../../../socle-dora/tests/it/fixtures/mixed-sources.jsonl");

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_mixed_source_import_warns_once_per_unknown_field_and_links_up() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let file = tmp.path().join("mixed.jsonl");
    std::fs::write(&file, MIXED).unwrap();
    let o = socle(
        &["dora", "import", file.to_str().unwrap(), "-o", "json"],
        &data,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(
        warnings,
        vec![
            format!(
                "{}: warning: field \"urgency\" is not read by Socle: ignored on 4 lines, the first line 17",
                file.display()
            ),
            format!(
                "{}: warning: field \"assignee\" is not read by Socle: ignored on 1 line, the first line 20",
                file.display()
            ),
        ]
    );
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["received"], 21);
    assert_eq!(out["warnings"][0]["field"], "urgency");
    // The hand computation of socle-dora's tests/it/mixed_sources.rs, from the CLI's store.
    let o = socle(
        &[
            "dora",
            "report",
            "--from",
            "2026-03-01T00:00:00Z",
            "--to",
            "2026-03-15T00:00:00Z",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["lead_time_median_hours"], 9.0, "{r}");
    assert_eq!(r["failed_deployments"], 4, "{r}");
}

#[test]
fn warnings_are_counted_across_batches() {
    // More lines than one batch (50,000): `urgency` on line 3 and on line 55,000.
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 1..=60_000 {
        let extra = if i == 3 || i == 55_000 {
            ",\"urgency\":\"high\""
        } else {
            ""
        };
        text.push_str(&format!(
            "{{\"type\":\"change\",\"id\":\"c{i}\",\"service\":\"s\",\"committed_at\":\"2026-03-01T00:00:00Z\"{extra}}}\n"
        ));
    }
    let file = tmp.path().join("big.jsonl");
    std::fs::write(&file, text).unwrap();
    let o = socle(
        &["dora", "import", file.to_str().unwrap(), "-o", "json"],
        &tmp.path().join("data"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        out["warnings"],
        serde_json::json!([{"field": "urgency", "lines": 2, "first_line": 3,
            "message": "field \"urgency\" is not read by Socle: ignored on 2 lines, the first line 3"}])
    );
    assert_eq!(stderr(&o).matches("warning:").count(), 1);
}

#[test]
fn change_ids_no_change_defines_are_one_warning_and_ids_the_store_knows_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let first = tmp.path().join("changes.jsonl");
    std::fs::write(
        &first,
        "{\"type\":\"change\",\"source\":\"github\",\"id\":\"aaa111\",\"service\":\"shop\",\"committed_at\":\"2026-03-01T08:00:00Z\"}\n",
    )
    .unwrap();
    let o = socle(&["dora", "import", first.to_str().unwrap()], &data);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let second = tmp.path().join("deploys.jsonl");
    std::fs::write(
        &second,
        concat!(
            "{\"type\":\"deployment\",\"source\":\"argocd\",\"id\":\"d1\",\"service\":\"shop\",\"environment\":\"production\",\"finished_at\":\"2026-03-01T10:00:00Z\",\"changes\":[\"aaa111\",\"bbb222\"]}\n",
            "{\"type\":\"deployment\",\"source\":\"argocd\",\"id\":\"d2\",\"service\":\"shop\",\"environment\":\"production\",\"finished_at\":\"2026-03-02T10:00:00Z\",\"commit\":\"ccc333\"}\n",
            "{\"type\":\"change\",\"source\":\"github\",\"id\":\"ccc333\",\"service\":\"shop\",\"committed_at\":\"2026-03-02T08:00:00Z\",\"parent\":\"aaa111\"}\n",
        ),
    )
    .unwrap();
    let o = socle(
        &["dora", "import", second.to_str().unwrap(), "-o", "json"],
        &data,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["unknown_changes"]["count"], 1, "{v}");
    assert_eq!(v["unknown_changes"]["ids"], serde_json::json!(["bbb222"]));
    let warnings: Vec<String> = stderr(&o)
        .lines()
        .filter(|l| l.contains("warning:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("(bbb222)"), "{warnings:?}");
}
