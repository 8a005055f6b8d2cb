//! `socle-bench dora`: a large delivery history (`dora_history`) read straight from the file by
//! Socle beside DuckDB (`dora_side`: phases, the CLI as a child, an independent SQL
//! implementation, figures compared); then, unless `--offline`, imported with `socle dora
//! import` (a child process: the product's own path), loaded back, indexed, and reported for
//! the organisation and for every team of a generated catalog, in this process.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_store::Store;

use crate::output::{self, Format};
use crate::server::StoreLocation;

#[derive(Args)]
pub struct DoraBench {
    /// Successful and failed deployments.
    #[arg(long, default_value_t = 1_000_000)]
    deployments: usize,
    /// Changes (commits), spread over the deployments.
    #[arg(long, default_value_t = 5_000_000)]
    changes: usize,
    #[arg(long, default_value_t = 50_000)]
    incidents: usize,
    /// Services (catalog components with events).
    #[arg(long, default_value_t = 2_000)]
    services: usize,
    /// Teams (groups, in a hierarchy) of the generated catalog, at least.
    #[arg(long, default_value_t = 100)]
    teams: usize,
    /// Where the history is written, or read again when the file exists (generate it once,
    /// reuse it for later runs).
    #[arg(long, value_name = "FILE")]
    history: Option<std::path::PathBuf>,
    /// Only the file → figures job (Socle beside DuckDB): no import into a store.
    #[arg(long)]
    offline: bool,
    /// Only the stored path (import, start-up load, reports, webhooks): not the file → figures
    /// job beside DuckDB.
    #[arg(long, conflicts_with = "offline")]
    stored_only: bool,
    /// The Python that runs DuckDB (skipped when it cannot `import duckdb`).
    #[arg(long, default_value = "python3")]
    python: String,
    /// PostgreSQL instead of SQLite (a schema of its own is used and left behind).
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// The stored path: import, the server's start-up load (read back, live index), reports, then
/// webhooks applied as the server applies them.
#[derive(Serialize)]
struct Stored {
    import_seconds: f64,
    import_events_per_second: f64,
    /// Every stored event read back (`Store::dora_load`).
    load_seconds: f64,
    /// From the last batch read to the live index ready (`socle_dora::Live`).
    index_seconds: f64,
    /// The indexing thread's busy time (it indexes each batch while the next is read).
    indexing_busy_seconds: f64,
    /// The server's start-up: watermark, read back, index (`LiveDora::load`).
    startup_seconds: f64,
    /// The organisation (weekly series) and every team.
    reports_seconds: f64,
    org_report_ms: f64,
    /// Import, start-up, reports.
    end_to_end_seconds: f64,
    /// One more event posted → a report that reflects it, each in turn.
    webhooks: Vec<Webhook>,
    #[serde(skip)]
    org: socle_dora::Report,
    /// The largest of `socle dora import` and this process.
    peak_rss_mb: f64,
}

/// One event posted (`Store::dora_upsert`, as the API does), then the live index catching up
/// from the change log (`LiveDora::catch_up`) and the organisation's report.
#[derive(Serialize)]
struct Webhook {
    event: &'static str,
    upsert_ms: f64,
    catch_up_ms: f64,
    report_ms: f64,
    /// Posted → reflected.
    total_ms: f64,
}

#[derive(Serialize)]
struct DoraReport {
    lines: u64,
    file_mb: f64,
    services: usize,
    teams: usize,
    /// Socle in this process, step by step (not with `--stored-only`).
    socle: Option<dora_side::Phases>,
    /// `socle dora report --all-scopes --events FILE` as a child process.
    socle_cli: Option<dora_side::ChildRun>,
    /// The SQL oracle in DuckDB, when Python has it.
    duckdb: Option<dora_side::DuckDbRun>,
    /// DuckDB's wall time ÷ Socle's (the CLI's, a process each).
    duckdb_over_socle: Option<f64>,
    stored: Option<Stored>,
}

use crate::dora_history::{self, END};
use crate::dora_side;

pub async fn dora(args: DoraBench, socle: Option<&Path>) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    // A catalog whose components are the services: the synthetic organisation sized so that it
    // has `teams` groups (2 % of its entities) and at least `services` components (60 %).
    let entities = (args.services * 1700 / 1000).max(args.teams * 50);
    let org = socle_demo::generate(entities, 42, 500);
    let src = work.path().join("org");
    for (path, content) in &org.files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().context("path")?)?;
        std::fs::write(p, content)?;
    }
    let location = StoreLocation::new(work.path().join("data"), args.database_url.as_deref());
    let store = Store::open(&location.config()).await?;
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let (snapshot, _, _) = socle_app::snapshot::load(&store).await?;
    let mut services: Vec<String> = snapshot
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .filter_map(|e| e.entity_ref.rsplit('/').next().map(str::to_owned))
        .collect();
    services.truncate(args.services);
    let teams = snapshot
        .entities
        .iter()
        .filter(|e| e.kind() == "group")
        .count();
    let file = args
        .history
        .clone()
        .unwrap_or_else(|| work.path().join("events.jsonl"));
    let lines = if file.exists() {
        eprintln!("reusing the history in {}", file.display());
        count_lines(&file)?
    } else {
        eprintln!(
            "catalog: {} entities, {teams} teams, {} services with events; generating the history…",
            snapshot.len(),
            services.len()
        );
        let shape = dora_history::Shape {
            deployments: args.deployments,
            changes: args.changes,
            incidents: args.incidents,
        };
        dora_history::write(&file, &services, &shape)?.lines
    };
    let file_mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
    eprintln!("{lines} lines, {file_mb:.0} MB of JSON Lines");

    let window = socle_dora::Window::last_days(END, 90);
    let opts = socle_app::dora::options(&socle_platform::default_config());
    let (socle_cli, phases, all) = if args.stored_only {
        (None, None, None)
    } else {
        eprintln!("socle dora report --all-scopes --events (a child process)…");
        let socle_cli = dora_side::socle_cli(&socle, &location.args(), &file, window)?;
        eprintln!("in this process, step by step…");
        let (phases, all) = dora_side::socle_phases(&file, &snapshot, &opts, window)?;
        (Some(socle_cli), Some(phases), Some(all))
    };
    let duckdb = if let Some(all) = &all
        && dora_side::duckdb_available(&args.python)
    {
        eprintln!("DuckDB…");
        Some(dora_side::duckdb(
            &args.python,
            work.path(),
            &file,
            &snapshot,
            window,
            all,
        )?)
    } else if all.is_some() {
        eprintln!(
            "{} cannot import duckdb (pip install duckdb): skipped",
            args.python
        );
        None
    } else {
        None
    };
    let stored = if args.offline {
        None
    } else {
        Some(
            stored(
                &socle, &store, &location, &file, &snapshot, window, &services,
            )
            .await?,
        )
    };
    let report = DoraReport {
        lines,
        file_mb,
        services: services.len(),
        teams,
        duckdb_over_socle: duckdb
            .as_ref()
            .zip(socle_cli.as_ref())
            .map(|(d, s)| d.run.seconds / s.seconds),
        socle: phases,
        socle_cli,
        duckdb,
        stored,
    };
    let org = match &all {
        Some(all) => all.organisation.report.clone(),
        None => report
            .stored
            .as_ref()
            .map(|s| s.org.clone())
            .unwrap_or_default(),
    };
    output::print(args.output, &report, |r| render(r, &org))?;
    let differs = report
        .duckdb
        .as_ref()
        .is_some_and(|d| !d.differences.is_empty());
    Ok(if differs {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// The human form of the report.
fn render(r: &DoraReport, org: &socle_dora::Report) -> String {
    let mut s = format!(
        "DORA benchmark: {} lines ({:.0} MB JSON Lines), {} services, {} teams, 90 days to 2026-11-01\n",
        r.lines, r.file_mb, r.services, r.teams,
    );
    if let (Some(p), Some(cli)) = (&r.socle, &r.socle_cli) {
        s.push_str(&format!(
            "socle, in this process: read+parse {:.2} s (of which in read() {:.2} s), dedupe {:.2} s, link {:.2} s, metrics {:.2} s, organisation + every team {:.2} s → {:.2} s ({:.1} s of CPU); every scope (teams, systems, domains, services) {:.2} s; peak RSS {:.0} MB\n\
             socle dora report --all-scopes --events (a process): {:.2} s ({:.1} s of CPU), peak RSS {:.0} MB\n",
            p.parse_seconds,
            p.read_seconds,
            p.dedupe_seconds,
            p.link_seconds,
            p.metrics_seconds,
            p.org_and_teams_seconds,
            p.total_org_and_teams_seconds,
            p.cpu_seconds,
            p.all_scopes_seconds,
            p.peak_rss_mb,
            cli.seconds,
            cli.cpu_seconds,
            cli.peak_rss_mb,
        ));
        match &r.duckdb {
            Some(d) => s.push_str(&format!(
                "DuckDB (SQL over the file, organisation + every team): {:.2} s ({:.2} s of SQL; {:.1} s of CPU), peak RSS {:.0} MB; DuckDB ÷ Socle = {:.2} (wall), {:.2} (CPU)\n\
                 figures compared: {}, different: {}{}\n",
                d.run.seconds, d.sql_seconds, d.run.cpu_seconds, d.run.peak_rss_mb,
                r.duckdb_over_socle.unwrap_or_default(),
                d.run.cpu_seconds / cli.cpu_seconds,
                d.figures_compared, d.differences.len(),
                d.differences.iter().take(10).map(|x| format!("\n  {x}")).collect::<String>(),
            )),
            None => s.push_str("DuckDB: not run (pip install duckdb)\n"),
        }
    }
    if let Some(st) = &r.stored {
        s.push_str(&format!(
            "stored: import {:.1} s ({:.0} events/s); start-up {:.1} s (read back {:.1} s, indexed meanwhile — {:.1} s busy — then {:.1} s more); reports {:.2} s (organisation {:.0} ms); end to end {:.1} s; peak RSS {:.0} MB\n",
            st.import_seconds, st.import_events_per_second, st.startup_seconds, st.load_seconds,
            st.indexing_busy_seconds, st.index_seconds, st.reports_seconds, st.org_report_ms, st.end_to_end_seconds,
            st.peak_rss_mb,
        ));
        for w in &st.webhooks {
            s.push_str(&format!(
                "webhook, {}: posted → reflected {:.1} ms (upsert {:.1} ms, catch-up {:.1} ms, organisation report {:.1} ms)\n",
                w.event, w.total_ms, w.upsert_ms, w.catch_up_ms, w.report_ms,
            ));
        }
    }
    s.push_str(&format!(
        "organisation: {:.2} deployments/day, lead time median {:.1} h, p90 {:.1} h, CFR {:.3}, recovery median {:.1} h\n",
        org.deployment_frequency_per_day.unwrap_or_default(),
        org.lead_time_median_hours.unwrap_or_default(),
        org.lead_time_p90_hours.unwrap_or_default(),
        org.change_failure_rate.unwrap_or_default(),
        org.recovery_time_median_hours.unwrap_or_default(),
    ));
    s
}

/// Lines of a file (a history reused).
fn count_lines(file: &Path) -> anyhow::Result<u64> {
    let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    let mut n = 0u64;
    loop {
        let buf = std::io::BufRead::fill_buf(&mut r)?;
        if buf.is_empty() {
            return Ok(n);
        }
        n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let len = buf.len();
        std::io::BufRead::consume(&mut r, len);
    }
}

/// The stored path: `socle dora import` (a child), the server's start-up load (read back, live
/// index), the organisation and every team, then webhooks as the server applies them.
async fn stored(
    socle: &Path,
    store: &Store,
    location: &StoreLocation,
    file: &Path,
    snapshot: &socle_app::snapshot::Snapshot,
    window: socle_dora::Window,
    services: &[String],
) -> anyhow::Result<Stored> {
    eprintln!("importing into the store…");
    let started = Instant::now();
    let received = import(socle, location, file)?;
    let import = started.elapsed().as_secs_f64();
    eprintln!("imported {received} events in {import:.1} s; loading as the server starts…");
    let opts = socle_app::dora::options(&socle_platform::default_config());
    let t = Instant::now();
    let mut live = socle_app::dora::LiveDora::load(store, &opts).await?;
    let startup = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ds = live.dataset();
    let org_report = ds.report(None, window, true);
    let org_ms = t.elapsed().as_secs_f64() * 1000.0;
    let teams = socle_app::dora::team_reports(snapshot, &ds, window);
    let reports = t.elapsed().as_secs_f64();
    drop(ds);
    anyhow::ensure!(
        org_report.deployments > 0 && !teams.is_empty(),
        "empty report"
    );
    eprintln!("start-up {startup:.1} s; webhooks…");
    let webhooks = webhooks(store, &mut live, window, services).await?;
    Ok(Stored {
        import_seconds: import,
        import_events_per_second: received as f64 / import,
        load_seconds: live.loaded.read.as_secs_f64(),
        index_seconds: live.loaded.index.as_secs_f64(),
        indexing_busy_seconds: live.loaded.indexing.as_secs_f64(),
        startup_seconds: startup,
        reports_seconds: reports,
        org_report_ms: org_ms,
        end_to_end_seconds: import + startup + reports,
        webhooks,
        peak_rss_mb: crate::setup::peak_rss_mb().max(children_peak_rss_mb()),
        org: org_report,
    })
}

/// Whether a report (after) reflects a webhook, given the one before.
type Reflected = fn(&socle_dora::Report, &socle_dora::Report) -> bool;

/// A deployment, an incident it caused, the incident resolved: each posted,
/// then the index caught up and the organisation's report checked to reflect it.
async fn webhooks(
    store: &Store,
    live: &mut socle_app::dora::LiveDora,
    window: socle_dora::Window,
    services: &[String],
) -> anyhow::Result<Vec<Webhook>> {
    let service = services.first().context("no service")?.clone();
    let at = window.to - 4 * 3_600_000;
    let incident = |resolved_at: Option<i64>| {
        socle_dora::Event::Incident(socle_dora::Incident {
            source: "pagerduty".into(),
            id: "bench-webhook".into(),
            service: service.clone(),
            started_at: at + 60_000,
            resolved_at,
            deployment: Some("bench-webhook".into()),
            title: Some("posted by socle-bench".into()),
            severity: None,
            url: None,
            labels: Default::default(),
        })
    };
    let posts: [(&'static str, socle_dora::Event, Reflected); 3] = [
        (
            "a deployment",
            socle_dora::Event::Deployment(socle_dora::Deployment {
                source: "argocd".into(),
                id: "bench-webhook".into(),
                service: service.clone(),
                environment: "production".into(),
                status: "success".into(),
                finished_at: at,
                changes: vec![],
                commit: None,
            }),
            |a, b| b.deployments == a.deployments + 1,
        ),
        ("an incident it caused", incident(None), |a, b| {
            b.failed_deployments == a.failed_deployments + 1
        }),
        (
            "the incident resolved",
            incident(Some(at + 7_200_000)),
            |a, b| b.incidents_resolved == a.incidents_resolved + 1,
        ),
    ];
    let mut out = Vec::new();
    let mut before = live.dataset().report(None, window, false);
    for (event, e, reflected) in posts {
        let t = Instant::now();
        store.dora_upsert(vec![e]).await?;
        let upsert = t.elapsed();
        live.catch_up(store).await?;
        let caught_up = t.elapsed();
        let after = live.dataset().report(None, window, false);
        let total = t.elapsed();
        anyhow::ensure!(reflected(&before, &after), "{event}: not reflected");
        out.push(Webhook {
            event,
            upsert_ms: upsert.as_secs_f64() * 1000.0,
            catch_up_ms: (caught_up - upsert).as_secs_f64() * 1000.0,
            report_ms: (total - caught_up).as_secs_f64() * 1000.0,
            total_ms: total.as_secs_f64() * 1000.0,
        });
        before = after;
    }
    Ok(out)
}

/// `socle dora import FILE -o json` into the benchmark's store; the events it received.
fn import(socle: &Path, location: &StoreLocation, file: &Path) -> anyhow::Result<u64> {
    let out = std::process::Command::new(socle)
        .args(["--log", "warn", "dora", "import"])
        .arg(file)
        .args(location.args())
        .args(["-o", "json"])
        .env_remove("SOCLE_DATABASE_URL")
        .env_remove("SOCLE_DATA_DIR")
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", socle.display()))?;
    anyhow::ensure!(out.status.success(), "socle dora import: {}", out.status);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    report["received"]
        .as_u64()
        .context("socle dora import printed no `received`")
}

/// The peak resident set of the largest child process waited for, in MB.
fn children_peak_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid `who` and a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return 0.0;
    }
    usage.ru_maxrss as f64 / 1024.0
}
