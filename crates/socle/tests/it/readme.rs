//! README.md's commands, run as written against `socle serve --demo`.
//!
//! Every line of every ` ```sh ` block is a command, run with `bash` in a fresh directory that
//! holds a copy of `examples/` (the README's sample files), with this build's `socle` first on
//! `PATH` and a demo server started in the same directory (so the CLI and the server share the
//! default `.socle` store, as they do for a user). Only the port differs from what is written:
//! `127.0.0.1:7007` is rewritten to the test server's. A command succeeds unless its comment
//! says `exits 1`. A block preceded by `<!-- readme-test: skip (REASON) -->` is not run (the
//! commands that build or start Socle itself, and the benchmarks); the reason is required.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One command of the README.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReadmeCommand {
    /// 1-based line of README.md where it starts.
    line: usize,
    text: String,
    expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Success,
    /// The README says the command exits 1 (a documented failure).
    ExitOne,
}

const SKIP: &str = "<!-- readme-test: skip (";

/// The commands of every `sh` block not marked as skipped.
fn commands(readme: &str) -> Vec<ReadmeCommand> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut skip_next = false;
    let mut skipping = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim();
        if !in_block {
            if let Some(rest) = trimmed.strip_prefix(SKIP) {
                let reason = rest.strip_suffix(") -->").unwrap_or_default();
                assert!(
                    !reason.trim().is_empty(),
                    "README.md:{n}: a skipped block needs a reason: {trimmed}"
                );
                skip_next = true;
            } else if trimmed.starts_with("```") {
                in_block = true;
                skipping = trimmed != "```sh" || skip_next;
                skip_next = false;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            assert!(
                pending.is_none(),
                "README.md:{n}: a block ends inside a command"
            );
            in_block = false;
            continue;
        }
        if skipping {
            continue;
        }
        let (start, mut text) = pending.take().unwrap_or((n, String::new()));
        if let Some(head) = line.strip_suffix('\\') {
            text.push_str(head);
            pending = Some((start, text));
            continue;
        }
        text.push_str(line);
        let text = text.trim().to_owned();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let comment = text.split_once(" # ").map_or("", |(_, c)| c);
        let expect = if comment.contains("exits 1") {
            Expect::ExitOne
        } else {
            Expect::Success
        };
        out.push(ReadmeCommand {
            line: start,
            text,
            expect,
        });
    }
    out
}

/// A `socle serve --demo` in `dir` on a free port; killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(dir: &Path) -> Server {
    start_demo_with(dir, &[], &[])
}

/// [`start_demo`] with more arguments and environment variables.
pub(crate) fn start_demo_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("socle serve starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(at) = line.find("entities on http://") {
                let url = line[at + "entities on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
                sent = true;
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(180))
        .expect("the demo server says where it serves within 180 s");
    Server { child, url }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("examples/ is readable");
        let rel = entry.path().strip_prefix(from).expect("below examples/");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("create dir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, path: &str, text: &str, port: &str) -> Ran {
    let text = text.replace("127.0.0.1:7007", port);
    let started = Instant::now();
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &text])
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("SOCLE_DATA_DIR")
        .env_remove("SOCLE_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "{text}: took {:?}",
        started.elapsed()
    );
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What some commands must print (the README's claims about them): (start of the command,
/// text its standard output holds). Each must match a README command, so that a check cannot
/// silently stop applying when the README changes.
const PRINTS: &[(&str, &str)] = &[
    (
        "socle catalog get component:default/cart-service",
        "cart-service",
    ),
    (
        "socle catalog search cart",
        "component:default/cart-service",
    ),
    ("socle catalog list --kind component", "component:default/"),
    (
        "socle workload generate examples/score.yaml --env local",
        "compose.yaml",
    ),
    ("socle deploy examples/score.yaml --env dev", "cart-service"),
    ("socle template list", "rust-axum-service"),
    (
        "socle create service orders-api",
        "socle deploy --promote orders-api",
    ),
    (
        "socle dora report --service orders-api",
        "lead time (median)",
    ),
    ("socle dora import examples/events.jsonl", "8 events"),
    ("socle slo validate examples/slo.yaml", "2 SLOs, 0 errors"),
    (
        "socle slo generate examples/slo.yaml",
        "out/rules/slo.rules.yaml",
    ),
    (
        "socle slo dashboard examples/slo.yaml",
        "out/dashboards/cart-service.dashboard.json",
    ),
    (
        "socle dora report --events examples/events.jsonl --service parcel-tracker",
        "lead time (median)      12.42 h",
    ),
];

/// Lines some commands must not print: (start of the command, start of the line, text the
/// line must not hold).
const DOES_NOT_PRINT: &[(&str, &str, &str)] = &[
    // The golden-path service promoted to prod has a lead time from its repository's history.
    (
        "socle dora report --service orders-api",
        "lead time (median)",
        "no data",
    ),
];

#[test]
fn the_readme_is_parsed_into_commands_with_their_expected_exit() {
    let md = "intro\n```sh\nsocle a   # fine\nsocle b \\\n  --flag   # exits 1\n# only a comment\n```\n<!-- readme-test: skip (starts Socle) -->\n```sh\ncargo run\n```\n```yaml\nkey: v\n```\n";
    let got = commands(md);
    assert_eq!(
        got,
        vec![
            ReadmeCommand {
                line: 3,
                text: "socle a   # fine".into(),
                expect: Expect::Success
            },
            ReadmeCommand {
                line: 4,
                text: "socle b   --flag   # exits 1".into(),
                expect: Expect::ExitOne
            },
        ]
    );
}

#[test]
#[should_panic(expected = "needs a reason")]
fn a_skipped_block_without_a_reason_is_refused() {
    commands("<!-- readme-test: skip () -->\n```sh\nx\n```\n");
}

#[test]
fn every_readme_command_works_as_written_against_the_demo() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let cmds = commands(&readme);
    assert!(cmds.len() >= 30, "only {} commands found", cmds.len());
    let prefixes = PRINTS.iter().map(|(p, _)| p);
    for prefix in prefixes.chain(DOES_NOT_PRINT.iter().map(|(p, _, _)| p)) {
        assert!(
            cmds.iter().any(|c| c.text.starts_with(prefix)),
            "no README command starts with {prefix:?}"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&root.join("examples"), &dir.path().join("examples"));
    let server = start_demo(dir.path());
    let port = server.url.trim_start_matches("http://").to_owned();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_socle"))
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut failures = Vec::new();
    for c in &cmds {
        let ran = run(dir.path(), &path, &c.text, &port);
        let want = match c.expect {
            Expect::Success => 0,
            Expect::ExitOne => 1,
        };
        let mut problem = None;
        if ran.code != Some(want) {
            problem = Some(format!("exit {:?}, expected {want}", ran.code));
        } else if let Some((_, text)) = PRINTS.iter().find(|(p, _)| c.text.starts_with(p))
            && !ran.stdout.contains(text)
        {
            problem = Some(format!("its output does not contain {text:?}"));
        } else if let Some((_, line, text)) = DOES_NOT_PRINT
            .iter()
            .find(|(p, _, _)| c.text.starts_with(p))
            && !ran
                .stdout
                .lines()
                .any(|l| l.starts_with(line) && !l.contains(text))
        {
            problem = Some(format!("no line {line:?} without {text:?}"));
        }
        if let Some(p) = problem {
            failures.push(format!(
                "README.md:{}: {}\n  {p}\n  stdout: {}\n  stderr: {}",
                c.line,
                c.text,
                ran.stdout.trim_end().replace('\n', "\n          "),
                ran.stderr.trim_end().replace('\n', "\n          ")
            ));
        }
    }
    drop(server);
    assert!(
        failures.is_empty(),
        "{} of {} README commands failed:\n{}",
        failures.len(),
        cmds.len(),
        failures.join("\n")
    );
}
