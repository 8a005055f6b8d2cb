//! `socle-bench dora`: import a large delivery history with `socle dora import` (a child
//! process: the product's own path), then load and index it and compute the four keys for the
//! organisation and for every team of a generated catalog, in this process.

use std::io::Write;
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
    /// Services (catalog components).
    #[arg(long, default_value_t = 2_000)]
    services: usize,
    /// PostgreSQL instead of SQLite (a schema of its own is used and left behind).
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct DoraReport {
    events: u64,
    file_mb: f64,
    import_seconds: f64,
    import_events_per_second: f64,
    load_seconds: f64,
    index_seconds: f64,
    teams: usize,
    reports_seconds: f64,
    org_report_ms: f64,
    end_to_end_seconds: f64,
    offline_seconds: f64,
    /// The largest of `socle dora import` and this process.
    peak_rss_mb: f64,
}

const END: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
const DAY: i64 = 86_400_000;

fn ts(ms: i64) -> String {
    socle_dora::events::format_timestamp(ms)
}

pub async fn dora(args: DoraBench, socle: Option<&Path>) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    // A catalog whose components are the services: the synthetic organisation sized so that it
    // has about `services` components (60 % of its entities, after groups, users, APIs…).
    let org = socle_demo::generate(args.services * 1700 / 1000, 42, 500);
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
    let services: Vec<String> = snapshot
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .filter_map(|e| e.entity_ref.rsplit('/').next().map(str::to_owned))
        .collect();
    eprintln!(
        "catalog: {} entities, {} components; generating the history…",
        snapshot.len(),
        services.len()
    );

    let file = work.path().join("events.jsonl");
    write_history(&file, &services, &args)?;
    let file_mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
    let events = (args.deployments + args.changes + args.incidents) as u64;
    eprintln!("{events} events, {file_mb:.0} MB of JSON Lines; importing…");

    let started = Instant::now();
    let received = import(&socle, &location, &file)?;
    let import = started.elapsed().as_secs_f64();
    anyhow::ensure!(received == events, "import: {received} events of {events}");
    eprintln!("imported in {import:.1} s; indexing…");

    let t = Instant::now();
    let (d, c, i) = store.dora_load().await?;
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let opts = socle_app::dora::options(&socle_platform::default_config());
    let ds = socle_dora::Dataset::from_parts(d, c, i, &opts);
    let index = t.elapsed().as_secs_f64();

    let window = socle_dora::Window::last_days(END, 90);
    let t = Instant::now();
    let org_report = ds.report(None, window, true);
    let org_ms = t.elapsed().as_secs_f64() * 1000.0;
    let teams = socle_app::dora::team_reports(&snapshot, &ds, window);
    let reports = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        org_report.deployments > 0 && org_report.lead_time_median_hours.is_some(),
        "empty report"
    );
    drop(ds);
    // The same question answered straight from the file, as `socle dora report --events FILE`
    // does (and as DuckDB would): parse on every core, index, report — nothing persisted.
    let t = Instant::now();
    let offline_ds = from_file(&file, &opts)?;
    let offline_org = offline_ds.report(None, window, true);
    let offline_teams = socle_app::dora::team_reports(&snapshot, &offline_ds, window);
    let offline = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        offline_org.deployments == org_report.deployments && offline_teams.len() == teams.len(),
        "the offline report differs from the stored one"
    );
    let report = DoraReport {
        events,
        file_mb,
        import_seconds: import,
        import_events_per_second: events as f64 / import,
        load_seconds: load,
        index_seconds: index,
        teams: teams.len(),
        reports_seconds: reports,
        org_report_ms: org_ms,
        end_to_end_seconds: import + load + index + reports,
        offline_seconds: offline,
        peak_rss_mb: crate::setup::peak_rss_mb().max(children_peak_rss_mb()),
    };
    output::print(args.output, &report, |r| {
        format!(
            "DORA benchmark: {} events ({:.0} MB JSON Lines), {} services, {} teams\n  import: {:.1} s ({:.0} events/s, one transaction)\n  load from the store: {:.1} s; index: {:.1} s\n  reports: organisation (with weekly series) {:.0} ms; organisation + every team {:.2} s\n  end to end (import + load + index + reports): {:.1} s; peak RSS {:.0} MB\n  from the file, nothing stored (parse on every core + index + organisation and every team): {:.1} s\n  org (90 days): {:.2} deployments/day, lead time median {:.1} h, p90 {:.1} h, CFR {:.3}, recovery median {:.1} h\n",
            r.events,
            r.file_mb,
            services.len(),
            r.teams,
            r.import_seconds,
            r.import_events_per_second,
            r.load_seconds,
            r.index_seconds,
            r.org_report_ms,
            r.reports_seconds,
            r.end_to_end_seconds,
            r.peak_rss_mb,
            r.offline_seconds,
            org_report.deployment_frequency_per_day.unwrap_or_default(),
            org_report.lead_time_median_hours.unwrap_or_default(),
            org_report.lead_time_p90_hours.unwrap_or_default(),
            org_report.change_failure_rate.unwrap_or_default(),
            org_report.recovery_time_median_hours.unwrap_or_default(),
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The history: one year ending 2026-11-01, deployments evenly spread over the services,
/// `changes / deployments` commits each (1–72 h before), incidents after random deployments.
fn write_history(file: &Path, services: &[String], args: &DoraBench) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(file)?);
    let mut rng = socle_demo::Rng(7);
    let per = args.changes / args.deployments.max(1);
    let mut extra = args.changes - per * args.deployments;
    let mut change_id = 0usize;
    let mut deploy_times = Vec::with_capacity(args.deployments);
    for d in 0..args.deployments {
        let service = &services[d % services.len()];
        let at = END - 365 * DAY + rng.below((365 * DAY) as usize) as i64;
        deploy_times.push((at, d));
        let n = per + usize::from(extra > 0);
        extra = extra.saturating_sub(1);
        let status = if rng.below(20) == 0 {
            "failure"
        } else {
            "success"
        };
        let env = if rng.below(10) == 0 {
            "staging"
        } else {
            "production"
        };
        write!(
            w,
            "{{\"type\":\"deployment\",\"id\":\"d{d}\",\"service\":\"{service}\",\"environment\":\"{env}\",\"status\":\"{status}\",\"finished_at\":\"{}\",\"changes\":[",
            ts(at)
        )?;
        for k in 0..n {
            write!(w, "{}\"c{}\"", if k > 0 { "," } else { "" }, change_id + k)?;
        }
        writeln!(w, "]}}")?;
        for k in 0..n {
            let committed = at - 3_600_000 - rng.below(71 * 3_600_000) as i64;
            writeln!(
                w,
                "{{\"type\":\"change\",\"id\":\"c{}\",\"service\":\"{service}\",\"committed_at\":\"{}\"}}",
                change_id + k,
                ts(committed)
            )?;
        }
        change_id += n;
    }
    for i in 0..args.incidents {
        let (at, d) = deploy_times[rng.below(deploy_times.len())];
        let service = &services[d % services.len()];
        let start = at + rng.below(24 * 3_600_000) as i64;
        let resolved = start + 1_800_000 + rng.below(48 * 3_600_000) as i64;
        let cause = if i % 2 == 0 {
            format!(",\"deployment\":\"d{d}\"")
        } else {
            String::new()
        };
        writeln!(
            w,
            "{{\"type\":\"incident\",\"id\":\"i{i}\",\"service\":\"{service}\",\"started_at\":\"{}\",\"resolved_at\":\"{}\"{cause}}}",
            ts(start),
            ts(resolved)
        )?;
    }
    w.flush()?;
    drop(w);
    Ok(())
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

/// What `socle dora report --events FILE` does: parse on every core, index — nothing stored.
fn from_file(file: &Path, opts: &socle_dora::Options) -> anyhow::Result<socle_dora::Dataset> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let socle_dora::Parsed { events, errors, .. } =
        socle_dora::parse_jsonl_parallel(&text, "import", threads);
    drop(text);
    anyhow::ensure!(errors.is_empty(), "{} malformed lines", errors.len());
    Ok(socle_dora::Dataset::build(events, opts))
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
