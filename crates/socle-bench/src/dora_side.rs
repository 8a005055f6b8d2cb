//! Socle beside DuckDB on the same history file: Socle's bulk reading step by step (read and
//! parse, dedupe, link, metrics, every scope's report) in this process, `socle dora report
//! --all-scopes --events FILE` as a child process, and `dora/oracle.sql` — an independent SQL
//! implementation of the same figures — run by DuckDB from PyPI (`pip install duckdb`) when
//! Python has it. The organisation's and every team's figures are compared.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use socle_app::dora_scopes::{AllScopes, ScopeReport};

const ORACLE_SQL: &str = include_str!("dora/oracle.sql");
const ORACLE_PY: &str = include_str!("dora/oracle.py");

/// Time spent inside `read` calls.
struct TimedRead<R> {
    inner: R,
    spent: Duration,
}

impl<R: Read> Read for TimedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let t = Instant::now();
        let n = self.inner.read(buf);
        self.spent += t.elapsed();
        n
    }
}

/// Socle's phases in this process.
#[derive(Serialize)]
pub struct Phases {
    /// Inside `read` calls (on the reading thread, while the workers parse).
    pub read_seconds: f64,
    /// Reading and parsing on every core into interned columns (wall), the read included.
    pub parse_seconds: f64,
    pub dedupe_seconds: f64,
    pub link_seconds: f64,
    pub metrics_seconds: f64,
    /// The organisation and every team (with its child teams).
    pub org_and_teams_seconds: f64,
    /// Every scope: organisation, teams, systems, domains and services.
    pub all_scopes_seconds: f64,
    pub total_org_and_teams_seconds: f64,
    /// CPU time (user + system, every thread) from the read to the teams' reports.
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
}

/// Reads, indexes and reports from `file`, timing each step.
pub fn socle_phases(
    file: &Path,
    snapshot: &socle_app::snapshot::Snapshot,
    opts: &socle_dora::Options,
    window: socle_dora::Window,
) -> anyhow::Result<(Phases, AllScopes)> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut input = TimedRead {
        inner: std::fs::File::open(file)?,
        spent: Duration::ZERO,
    };
    let cpu = own_cpu_seconds();
    let t = Instant::now();
    let bulk = socle_dora::Bulk::read(&mut input, "import", threads)?;
    let parse = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        bulk.errors.is_empty(),
        "{} malformed lines",
        bulk.errors.len()
    );
    let t = Instant::now();
    let deduped = bulk.dedupe(opts);
    let dedupe = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let linked = deduped.link();
    let link = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ds = linked.metrics();
    let metrics = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let org = ds.report(None, window, false);
    let teams = socle_app::dora::all_teams(snapshot, &|s| ds.knows(s));
    let team_reports: Vec<_> = teams
        .iter()
        .map(|t| ds.report(Some(&t.services), window, false))
        .collect();
    let org_and_teams = t.elapsed().as_secs_f64();
    let cpu = own_cpu_seconds() - cpu;
    anyhow::ensure!(org.deployments > 0 && team_reports.len() == teams.len());
    let t = Instant::now();
    let all = socle_app::dora_scopes::all_scopes(snapshot, &ds, window, false);
    let all_scopes = t.elapsed().as_secs_f64();
    let phases = Phases {
        read_seconds: input.spent.as_secs_f64(),
        parse_seconds: parse,
        dedupe_seconds: dedupe,
        link_seconds: link,
        metrics_seconds: metrics,
        org_and_teams_seconds: org_and_teams,
        all_scopes_seconds: all_scopes,
        total_org_and_teams_seconds: parse + dedupe + link + metrics + org_and_teams,
        cpu_seconds: cpu,
        peak_rss_mb: crate::setup::peak_rss_mb(),
    };
    Ok((phases, all))
}

/// A child process's wall time and peak resident set.
#[derive(Serialize)]
pub struct ChildRun {
    pub seconds: f64,
    /// User + system CPU time (on a shared machine, what the work cost whatever the load).
    pub cpu_seconds: f64,
    pub peak_rss_mb: f64,
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// This process's user + system CPU time so far.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs `cmd` to its end, its standard output captured: the output, time and peak RSS
/// (`wait4` on this child only).
fn measured(cmd: &mut Command) -> anyhow::Result<(Vec<u8>, ChildRun)> {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .context("stdout")?
        .read_to_end(&mut out)?;
    let mut status = 0;
    // SAFETY: zeroed rusage is valid; wait4 writes into the status and rusage it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our child's, not yet waited for.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(pid > 0, "wait4: {}", std::io::Error::last_os_error());
    anyhow::ensure!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{:?} failed (status {status})",
        cmd.get_program()
    );
    Ok((
        out,
        ChildRun {
            seconds,
            cpu_seconds: seconds_of(&usage),
            peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        },
    ))
}

fn seconds_of(usage: &libc::rusage) -> f64 {
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// `socle dora report --all-scopes --events FILE -o json` over the window.
pub fn socle_cli(
    socle: &Path,
    store_args: &[String],
    file: &Path,
    window: socle_dora::Window,
) -> anyhow::Result<ChildRun> {
    let ts = socle_dora::events::format_timestamp;
    let (out, run) = measured(
        Command::new(socle)
            .args([
                "--log",
                "warn",
                "dora",
                "report",
                "--all-scopes",
                "--events",
            ])
            .arg(file)
            .args([
                "--from",
                &ts(window.from),
                "--to",
                &ts(window.to),
                "-o",
                "json",
            ])
            .args(store_args)
            .env_remove("SOCLE_DATABASE_URL")
            .env_remove("SOCLE_DATA_DIR"),
    )?;
    let v: serde_json::Value = serde_json::from_slice(&out)?;
    anyhow::ensure!(
        v["organisation"]["deployments"].as_u64().unwrap_or(0) > 0,
        "socle dora report --all-scopes: no deployments"
    );
    Ok(run)
}

/// DuckDB's run.
#[derive(Serialize)]
pub struct DuckDbRun {
    #[serde(flatten)]
    pub run: ChildRun,
    /// Inside DuckDB (the SQL statements), without Python's start.
    pub sql_seconds: f64,
    /// Figures compared (scopes × figures) and those that differ.
    pub figures_compared: usize,
    pub differences: Vec<String>,
}

/// Whether `python` can import duckdb.
pub fn duckdb_available(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import duckdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The organisation's and every team's services, as `scope,service` rows (the organisation's
/// are every service with events; the SQL finds them).
fn write_members(path: &Path, snapshot: &socle_app::snapshot::Snapshot) -> anyhow::Result<()> {
    let mut csv = String::from("scope,service\n");
    for t in socle_app::dora::all_teams(snapshot, &|_| true) {
        for s in &t.services {
            csv.push_str(&format!("{},{s}\n", t.team));
        }
    }
    std::fs::write(path, csv)?;
    Ok(())
}

/// Runs the SQL oracle on `file` and compares its figures with Socle's.
pub fn duckdb(
    python: &str,
    work: &Path,
    file: &Path,
    snapshot: &socle_app::snapshot::Snapshot,
    window: socle_dora::Window,
    socle: &AllScopes,
) -> anyhow::Result<DuckDbRun> {
    let members = work.join("members.csv");
    write_members(&members, snapshot)?;
    let quote = |p: &Path| p.to_string_lossy().replace('\'', "''");
    let sql = ORACLE_SQL
        .replace("{file}", &quote(file))
        .replace("{members}", &quote(&members))
        .replace("{from}", &window.from.to_string())
        .replace("{to}", &window.to.to_string());
    let sql_file = work.join("oracle.sql");
    std::fs::write(&sql_file, sql)?;
    let py_file = work.join("oracle.py");
    std::fs::write(&py_file, ORACLE_PY)?;
    let (out, run) = measured(Command::new(python).arg(&py_file).arg(&sql_file))?;
    let v: serde_json::Value = serde_json::from_slice(&out).context("DuckDB's output")?;
    let (figures_compared, differences) = compare(&v["scopes"], socle);
    Ok(DuckDbRun {
        run,
        sql_seconds: v["sql_seconds"].as_f64().unwrap_or_default(),
        figures_compared,
        differences,
    })
}

const FIGURES: [&str; 9] = [
    "deployments",
    "deployment_frequency_per_day",
    "changes",
    "lead_time_median_hours",
    "lead_time_p90_hours",
    "failed_deployments",
    "change_failure_rate",
    "incidents_resolved",
    "recovery_time_median_hours",
];

/// Every figure of the organisation and of every team that has events, Socle's against the
/// oracle's (relative tolerance 1e-9; `null` equals `null` only).
fn compare(oracle: &serde_json::Value, socle: &AllScopes) -> (usize, Vec<String>) {
    let mut compared = 0;
    let mut diffs = Vec::new();
    let scopes = std::iter::once(&socle.organisation).chain(&socle.teams);
    for ScopeReport { scope, report } in scopes {
        let mine = serde_json::to_value(report).unwrap_or_default();
        let theirs = &oracle[scope.as_str()];
        if theirs.is_null() && report.deployments == 0 && report.incidents_resolved == 0 {
            continue; // a team without events: not in the SQL's members
        }
        for f in FIGURES {
            compared += 1;
            let same = match (mine[f].as_f64(), theirs[f].as_f64()) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
                _ => false,
            };
            if !same {
                diffs.push(format!(
                    "{scope} {f}: socle {} duckdb {}",
                    mine[f], theirs[f]
                ));
            }
        }
    }
    (compared, diffs)
}
