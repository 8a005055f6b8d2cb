//! The command line's conventions, over every command the binary lists (`socle --help`,
//! recursively): a usage error exits 2 with its message on stderr only; a failure exits 1 with
//! `error: …` (or `file:line: …`) on stderr and nothing on stdout; a missing input file is
//! reported in one wording. A command the table does not cover fails the test.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .current_dir(dir)
        .env("SOCLE_DATA_DIR", dir.join("data"))
        .env_remove("SOCLE_DATABASE_URL")
        .env("SOCLE_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("socle runs")
}

/// The subcommands a `--help` text lists under `Commands:` (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| *n != "help")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Every leaf command, as its words after `socle`.
fn leaves(dir: &Path) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let o = run(&args, dir);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let subs = subcommands(&String::from_utf8_lossy(&o.stdout));
        if subs.is_empty() {
            out.push(path);
        } else {
            for s in subs {
                let mut p = path.clone();
                p.push(s);
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A failing invocation of every command (after `socle`), each run in a new directory that
/// holds no store (`data/` is missing) and none of the files named. Validation commands print
/// their report on stdout even when it fails (as linters and conftest do).
const REPORTS_ON_FAILURE: &[&str] = &[
    "catalog validate",
    "workload validate",
    "policy eval",
    "template validate",
    "slo validate",
    "data validate",
];

/// Write commands whose input is checked by the application, over the store: they may have
/// created an empty store when they refuse.
const MAY_CREATE_THE_STORE: &[&str] = &["policy waive", "template run"];

const FAILURES: &[&[&str]] = &[
    &["catalog", "validate", "missing.yaml"],
    &["catalog", "ingest", "missing-dir"],
    &["catalog", "refresh"],
    &["catalog", "get", "component:default/nope"],
    &["catalog", "list"],
    &["catalog", "search", "x"],
    &["catalog", "locations"],
    &["catalog", "unregister", "999"],
    &["data", "test", "missing.odcs.yaml"],
    &[
        "data",
        "run",
        "missing-dir",
        "--url",
        "postgres://nobody@127.0.0.1:1/none",
    ],
    &["data", "lineage", "missing-dir"],
    &["data", "runs"],
    &["workload", "validate", "missing.yaml"],
    &[
        "workload",
        "generate",
        "missing.yaml",
        "--env",
        "local",
        "-d",
        "out",
    ],
    &["deploy", "missing.yaml", "--env", "dev"],
    &["deployments", "list"],
    &["resources", "list"],
    &["resources", "outputs", "nope", "--env", "dev"],
    &["policy", "eval", "missing.yaml"],
    &["policy", "test", "missing-dir"],
    &[
        "policy",
        "waive",
        "--rule",
        "nope",
        "--entity",
        "shop",
        "--owner",
        "team-a",
        "--reason",
        "r",
        "--expires",
        "7d",
    ],
    &["policy", "unwaive", "nope"],
    &["policy", "waivers"],
    &["policy", "results", "component:default/shop"],
    &[
        "token",
        "create",
        "--name",
        "x",
        "--subject",
        "nobody",
        "--role",
        "member",
    ],
    &["token", "list"],
    &["token", "revoke", "nope"],
    &[
        "template",
        "run",
        "no-such-template",
        "--dry-run",
        "-d",
        "out",
    ],
    &["template", "runs"],
    &["template", "validate", "missing-dir"],
    &["create", "service", "orders-api"],
    &["dora", "import", "missing.jsonl"],
    &["dora", "git", "--service", "s", "--repo", "missing-repo"],
    &["dora", "report", "--service", "x"],
    &["dora", "teams"],
    &["slo", "validate", "missing.yaml"],
    &["data", "validate", "missing.odcs.yaml"],
    &["slo", "generate", "missing.yaml", "-d", "out"],
    &["slo", "dashboard", "missing.yaml", "-d", "out"],
    &["slo", "status", "nope"],
    &[
        "slo",
        "budget",
        "missing.yaml",
        "--prometheus-url",
        "http://127.0.0.1:9",
    ],
    &["scorecard", "list"],
    &["scorecard", "show", "production-readiness"],
    &["scorecard", "eval"],
    &["scorecard", "rescore"],
    &["campaign", "list"],
    &["campaign", "show", "nope"],
    &[
        "campaign",
        "promote",
        "nope",
        "--into",
        "production-readiness",
        "--level",
        "Gold",
    ],
    &["campaign", "remind"],
    &["scorecard", "history", "production-readiness"],
    &[
        "findings",
        "import",
        "missing.sarif",
        "--entity",
        "component:default/shop",
    ],
    &["findings", "list", "--entity", "component:default/shop"],
    &["survey", "list"],
    &["survey", "show", "devex"],
    &["survey", "results", "devex"],
    &["adoption", "report", "--team", "nope"],
    &["serve", "--listen", "not-an-address"],
    &["org", "sync", "--config", "missing.yaml"],
    &["backup", "--to", "backup.db"],
    &["restore", "--from", "missing.db"],
];

/// Commands that cannot fail once their arguments parse (only usage errors apply).
const CANNOT_FAIL: &[&[&str]] = &[&["completions"], &["template", "list"], &["version"]];

#[test]
fn every_command_is_in_the_failure_table() {
    let tmp = tempfile::tempdir().unwrap();
    let covered = |l: &Vec<String>| {
        FAILURES
            .iter()
            .chain(CANNOT_FAIL)
            .any(|f| f.len() >= l.len() && f[..l.len()] == l[..])
    };
    let missing: Vec<String> = leaves(tmp.path())
        .iter()
        .filter(|l| !covered(l))
        .map(|l| l.join(" "))
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a failure case: {missing:?}"
    );
}

#[test]
fn a_usage_error_exits_2_with_the_message_on_stderr_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for l in leaves(tmp.path()) {
        let mut args: Vec<&str> = l.iter().map(String::as_str).collect();
        args.push("--no-such-option");
        let o = run(&args, tmp.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        if o.status.code() != Some(2) || !o.stdout.is_empty() || !stderr.starts_with("error:") {
            wrong.push(format!(
                "{}: exit {:?}, stderr {stderr:?}",
                l.join(" "),
                o.status.code()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_failure_exits_1_with_the_error_on_stderr_and_nothing_on_stdout() {
    let mut wrong = Vec::new();
    for args in FAILURES {
        let tmp = tempfile::tempdir().unwrap();
        let o = run(args, tmp.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        let located = first
            .split(':')
            .nth(1)
            .is_some_and(|n| n.parse::<u32>().is_ok());
        let report = REPORTS_ON_FAILURE
            .iter()
            .any(|r| args.join(" ").starts_with(r));
        let problem = if o.status.code() != Some(1) {
            Some(format!("exit {:?}", o.status.code()))
        } else if !report && !o.stdout.is_empty() {
            Some(format!("stdout {:?}", String::from_utf8_lossy(&o.stdout)))
        } else if !(first.starts_with("error: ") || located) {
            Some("stderr does not start with error: or file:line:".to_owned())
        } else if tmp.path().join("data").exists()
            && !MAY_CREATE_THE_STORE
                .iter()
                .any(|w| args.join(" ").starts_with(w))
        {
            Some("it created the store".to_owned())
        } else {
            None
        };
        if let Some(p) = problem {
            wrong.push(format!("{}: {p}; stderr {stderr:?}", args.join(" ")));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_missing_input_file_is_reported_in_one_wording() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for args in FAILURES
        .iter()
        .filter(|a| a.iter().any(|w| w.starts_with("missing")))
    {
        let o = run(args, tmp.path());
        let stderr = String::from_utf8_lossy(&o.stderr);
        let name = args.iter().find(|w| w.starts_with("missing")).unwrap();
        let want = format!("cannot read {name}: No such file or directory");
        if !stderr.contains(&want) {
            wrong.push(format!(
                "{}: {stderr:?} (expected {want:?})",
                args.join(" ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
