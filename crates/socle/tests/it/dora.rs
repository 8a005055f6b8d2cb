//! Delivery metrics from the CLI: changes read from a Git repository's commits, deployments that
//! name only a commit, reports from the store or straight from a file, and malformed imports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cli::{git, socle};

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A service repository `dir/payments` with three commits at known times; their SHAs, in order.
fn payments_repo(dir: &Path) -> (PathBuf, Vec<String>) {
    let repo = dir.join("payments");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let mut shas = Vec::new();
    for (i, when) in [
        "2026-01-04T08:00:00Z",
        "2026-01-04T10:00:00Z",
        "2026-01-05T06:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(repo.join("f"), i.to_string()).unwrap();
        git(&repo, &["add", "."]);
        let out = Command::new("git")
            .args(["commit", "-q", "-m", &format!("c{i}")])
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_DATE", when)
            .env("GIT_AUTHOR_DATE", when)
            .output()
            .unwrap();
        assert!(out.status.success());
        shas.push(git_out(&repo, &["rev-parse", "HEAD"]));
    }
    (repo, shas)
}

/// `socle dora git` for the payments service, as JSON; asserts it succeeded.
fn dora_git(repo: &Path, data: &Path) -> serde_json::Value {
    let o = socle(
        &[
            "dora",
            "git",
            "--service",
            "payments",
            "--repo",
            repo.to_str().unwrap(),
            "-o",
            "json",
        ],
        data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `dir/events.jsonl` with a valid change on line 1 and a malformed line 2.
fn malformed_events(dir: &Path) -> PathBuf {
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"type\":\"change\",\"id\":\"x\",\"service\":\"payments\",\"committed_at\":\"2026-01-04T08:00:00Z\"}\n{oops\n",
    )
    .unwrap();
    events
}

fn import(events: &Path, data: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["dora", "import", events.to_str().unwrap()];
    args.extend_from_slice(extra);
    socle(&args, data)
}

#[test]
fn a_repository_s_commits_are_recorded_as_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, _) = payments_repo(tmp.path());
    let w = dora_git(&repo, &tmp.path().join("data"));
    assert_eq!(
        (w["received"].as_u64(), w["changed"].as_u64()),
        (Some(3), Some(3))
    );
}

/// Two deployments name commits only: the first ships c0 and c1, the second only c2.
#[test]
fn a_deployment_naming_a_commit_ships_every_commit_since_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (repo, shas) = payments_repo(tmp.path());
    dora_git(&repo, &data);
    let events = tmp.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"payments\",\"environment\":\"production\",\"finished_at\":\"2026-01-04T12:00:00Z\",\"commit\":\"{}\"}}\n\
             {{\"type\":\"deployment\",\"id\":\"d2\",\"service\":\"payments\",\"environment\":\"production\",\"finished_at\":\"2026-01-05T07:00:00Z\",\"commit\":\"{}\"}}\n",
            shas[1], shas[2]
        ),
    )
    .unwrap();
    let o = import(&events, &data, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("payments"),
        "unknown service reported"
    );
    let o = socle(
        &[
            "dora",
            "report",
            "--service",
            "payments",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-08T00:00:00Z",
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
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // c0 4 h, c1 2 h (d1); c2 1 h (d2) → median 2, p90 2 + 0.8 × 2.
    assert_eq!(r["changes"], 3, "{r}");
    assert_eq!(r["lead_time_median_hours"], 2.0, "{r}");
    assert!(
        (r["lead_time_p90_hours"].as_f64().unwrap() - 3.6).abs() < 1e-9,
        "{r}"
    );
    assert_eq!(
        r["deployment_frequency_per_day"].as_f64().unwrap(),
        2.0 / 7.0
    );
    assert!(r["change_failure_rate"].as_f64() == Some(0.0));
    assert!(r["recovery_time_median_hours"].is_null());
    assert_eq!(r["levels"]["lead_time"], "elite");
    assert!(r["levels"]["recovery_time"].is_null());
}

/// The same report straight from a file, nothing stored (a fresh data directory).
#[test]
fn a_report_reads_an_export_without_storing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export.jsonl");
    std::fs::write(
        &export,
        "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"payments\",\"environment\":\"prod\",\"finished_at\":\"2026-01-05T10:00:00Z\",\"changes\":[\"c1\"]}\n{\"type\":\"change\",\"id\":\"c1\",\"service\":\"payments\",\"committed_at\":\"2026-01-05T07:00:00+01:00\"}\n",
    )
    .unwrap();
    let o = socle(
        &[
            "dora",
            "report",
            "--events",
            export.to_str().unwrap(),
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-08T00:00:00Z",
            "-o",
            "json",
        ],
        &tmp.path().join("empty"),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (
            r["deployments"].as_u64(),
            r["lead_time_median_hours"].as_f64()
        ),
        (Some(1), Some(4.0)),
        "{r}"
    );
}

/// Malformed lines: reported by number on stderr, nothing imported, exit non-zero.
#[test]
fn a_malformed_line_fails_the_import_naming_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let events = malformed_events(tmp.path());
    let o = import(&events, &tmp.path().join("data"), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(err.contains("events.jsonl:2:"), "{err}");
}

#[test]
fn a_partial_import_keeps_the_valid_lines_and_still_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let events = malformed_events(tmp.path());
    let o = import(
        &events,
        &tmp.path().join("data"),
        &["--partial", "-o", "json"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "partial imports still exit 1 when lines were skipped"
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (w["received"].as_u64(), w["malformed"].as_u64()),
        (Some(1), Some(1))
    );
}

/// `--all-scopes` straight from a file: the organisation and every service of the events, each
/// equal to the scope's own report (no catalog here: teams, systems and domains are empty).
#[test]
fn all_scopes_from_a_file_equal_each_scope_s_own_report() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export.jsonl");
    std::fs::write(
        &export,
        "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"payments\",\"environment\":\"prod\",\"finished_at\":\"2026-01-05T10:00:00Z\",\"changes\":[\"c1\"]}\n\
         {\"type\":\"change\",\"id\":\"c1\",\"service\":\"payments\",\"committed_at\":\"2026-01-05T07:00:00+01:00\"}\n\
         {\"type\":\"deployment\",\"id\":\"d2\",\"service\":\"ledger\",\"environment\":\"production\",\"finished_at\":\"2026-01-06T10:00:00.500Z\"}\n\
         {\"type\":\"incident\",\"id\":\"i1\",\"service\":\"ledger\",\"started_at\":\"2026-01-06T11:00:00Z\",\"resolved_at\":\"2026-01-06T12:30:00Z\",\"title\":\"5xx\"}\n",
    )
    .unwrap();
    let data = tmp.path().join("empty");
    let report = |scope: &[&str]| -> serde_json::Value {
        let mut args = vec!["dora", "report", "--events", export.to_str().unwrap()];
        args.extend(scope);
        args.extend([
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-08T00:00:00Z",
            "-o",
            "json",
        ]);
        let o = socle(&args, &data);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let all = report(&["--all-scopes"]);
    assert_eq!(all["organisation"], report(&["--org"]), "{all}");
    assert_eq!(all["organisation"]["deployments"], 2);
    assert_eq!(all["teams"], serde_json::json!([]));
    let services = all["services"].as_array().unwrap();
    assert_eq!(services.len(), 2, "{all}");
    for (entry, name) in services.iter().zip(["ledger", "payments"]) {
        assert_eq!(*entry, report(&["--service", name]), "{name}");
    }
    assert_eq!(services[0]["failed_deployments"], 1);
    assert_eq!(services[0]["recovery_time_median_hours"], 1.5);
}

/// The table form lists every scope, one row each.
#[test]
fn all_scopes_print_as_one_table() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("export.jsonl");
    std::fs::write(
        &export,
        "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"payments\",\"environment\":\"prod\",\"finished_at\":\"2026-01-05T10:00:00Z\"}\n",
    )
    .unwrap();
    let o = socle(
        &[
            "dora",
            "report",
            "--all-scopes",
            "--events",
            export.to_str().unwrap(),
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-08T00:00:00Z",
        ],
        &tmp.path().join("empty"),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("SCOPE"), "{out}");
    assert!(out.contains("organisation"), "{out}");
    assert!(out.contains("service payments"), "{out}");
}
