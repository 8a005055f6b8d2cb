//! `socle dora …`: import delivery events, read commits from Git, print reports.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use socle_dora::Event;

use super::setup::{StoreArgs, read_platform};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum DoraCmd {
    /// Import deployments, changes and incidents from JSON Lines (idempotent by source + id).
    ///
    /// By default a file with any malformed line is rejected as a whole (every bad line is
    /// listed, nothing is imported); `--partial` imports the valid lines and lists the others.
    #[command(
        after_help = "One JSON object a line (blank lines and # comments skipped); times are RFC 3339 with a timezone:\n  deployment  id, service, environment, finished_at; optional source, status (success counts), changes (commit ids), commit\n  change      id, service, committed_at; optional source, parent (the first parent's id)\n  incident    id, service, started_at; optional source, resolved_at, deployment, title, severity, url, labels\nOther fields are ignored (one warning per field name); change ids that no change defines are one warning.\n\nExample:\n  socle dora import events.jsonl\n  socle dora import --partial --source argocd export.jsonl\n\n  {\"type\":\"change\",\"id\":\"9fceb02\",\"service\":\"checkout\",\"committed_at\":\"2026-03-05T06:00:00Z\"}\n  {\"type\":\"deployment\",\"id\":\"checkout-7\",\"service\":\"checkout\",\"environment\":\"production\",\"finished_at\":\"2026-03-05T09:00:00Z\",\"commit\":\"9fceb02\"}"
    )]
    Import {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// Keep the valid lines when some are malformed.
        #[arg(long)]
        partial: bool,
        /// The source of events that name none.
        #[arg(long, default_value = "import")]
        source: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Record a service's commits (first-parent history of a local Git repository) as changes,
    /// so that deployments of a commit ship exactly the commits since the previous one.
    #[command(
        after_help = "Example:\n  socle dora git --service payments --repo ../payments --branch main"
    )]
    Git {
        /// The service (catalog component name) the repository builds.
        #[arg(long)]
        service: String,
        /// Path or file:// URL of the repository.
        #[arg(long)]
        repo: String,
        /// Branch (default: HEAD).
        #[arg(long)]
        branch: Option<String>,
        /// Most commits read.
        #[arg(long, default_value_t = 100_000)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// DORA's four keys for a service, a team (with its child teams), a system, a domain or the
    /// organisation (default), with their 2024 DORA levels.
    #[command(
        after_help = "Example:\n  socle dora report --team team-a --since 90d --weekly\n  socle dora report --events export.jsonl --org\n  socle dora report --events export.jsonl --all-scopes -o json"
    )]
    Report(ReportArgs),
    /// The four keys of every team in the catalog.
    #[command(after_help = "Example:\n  socle dora teams --since 90d -o json")]
    Teams {
        #[command(flatten)]
        window: WindowArgs,
        /// Platform configuration (its environments of type production count as production).
        #[arg(long)]
        platform: Option<PathBuf>,
        /// Compute from a JSON Lines file instead of the stored events.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Args)]
pub struct WindowArgs {
    /// Window length ending now (or at --to): 90d, 12w, 36h.
    #[arg(long, conflicts_with = "from")]
    since: Option<String>,
    /// Window start, a time (RFC 3339, inclusive) — not an environment as in `deploy --from`.
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Window end, a time (RFC 3339, exclusive; default now).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
}

impl WindowArgs {
    fn window(&self) -> anyhow::Result<socle_dora::Window> {
        socle_app::dora::window(
            self.since.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            super::now_ms(),
        )
        .map_err(|e| anyhow::anyhow!(e.message))
    }
}

#[derive(Args)]
pub struct ReportArgs {
    /// A service (catalog component name).
    #[arg(long, group = "scope")]
    service: Option<String>,
    /// A group name or ref.
    #[arg(long, group = "scope")]
    team: Option<String>,
    /// A system name or ref: its components.
    #[arg(long, group = "scope")]
    system: Option<String>,
    /// A domain name or ref: the components of its systems.
    #[arg(long, group = "scope")]
    domain: Option<String>,
    /// The whole organisation (the default).
    #[arg(long, group = "scope")]
    org: bool,
    /// Every scope at once, from one index: the organisation, every team, system, domain and
    /// service with events.
    #[arg(long, group = "scope")]
    all_scopes: bool,
    #[command(flatten)]
    window: WindowArgs,
    /// Add the weekly trend series.
    #[arg(long)]
    weekly: bool,
    /// Platform configuration (its environments of type production count as production).
    #[arg(long)]
    platform: Option<PathBuf>,
    /// Compute from a JSON Lines file instead of the stored events (nothing is imported; the
    /// catalog still comes from the store, for team, system and domain scopes).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// Lines parsed and written per batch.
const CHUNK: usize = 50_000;

/// What [`import_file`] did.
pub struct Imported {
    pub received: u64,
    pub changed: u64,
    /// Malformed lines (nothing was written when there are some and the import is not partial).
    pub errors: Vec<socle_dora::ParseError>,
    /// Fields Socle does not read, once per name.
    pub warnings: Vec<socle_dora::Warning>,
    /// The services the events named.
    pub services: Vec<String>,
    /// Change ids deployments named that no change defines.
    pub unknown_changes: Option<socle_dora::UnknownChanges>,
}

/// What the reader thread of [`import_file`] saw.
#[derive(Default)]
struct ReadAll {
    errors: Vec<socle_dora::ParseError>,
    unknown_fields: socle_dora::UnknownFields,
    services: std::collections::BTreeSet<String>,
    refs: socle_dora::ChangeRefs,
}

/// Imports a JSON Lines file in batches.
pub async fn import_file(
    store: &socle_store::Store,
    file: &std::path::Path,
    source: &str,
    partial: bool,
    progress: bool,
) -> anyhow::Result<Imported> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = if progress && size > 0 {
        let b = ProgressBar::new(size);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    // One pass: a reader thread parses the next batch while the store writes the previous one,
    // all in one transaction; in all-or-nothing mode the first malformed batch rolls it back
    // (the reader still reads to the end, so that every bad line is reported).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<Event>, String>>(2);
    let source_owned = source.to_owned();
    let file_owned = file.to_path_buf();
    let bar2 = bar.clone();
    let reader_thread = std::thread::spawn(move || -> anyhow::Result<ReadAll> {
        let mut all = ReadAll::default();
        let mut chunks = Chunks::new(reader(&file_owned)?, &source_owned, &bar2);
        let mut aborted = false;
        while let Some(parsed) = chunks.next_chunk()? {
            let bad = !parsed.errors.is_empty();
            all.errors.extend(parsed.errors);
            all.unknown_fields.merge(parsed.unknown_fields);
            if aborted {
                continue;
            }
            if bad && !partial {
                aborted = true;
                let _ = tx.blocking_send(Err("malformed lines".into()));
                continue;
            }
            all.refs.observe(&parsed.events);
            for e in &parsed.events {
                if !all.services.contains(e.service()) {
                    all.services.insert(e.service().to_owned());
                }
            }
            if tx.blocking_send(Ok(parsed.events)).is_err() {
                break; // the writer stopped (a database error, reported below)
            }
        }
        Ok(all)
    });
    bar.set_message("importing");
    let written = store.dora_import(rx).await;
    let all = reader_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    bar.finish_and_clear();
    let warnings = all.unknown_fields.warnings();
    if !all.errors.is_empty() && !partial {
        return Ok(Imported {
            received: 0,
            changed: 0,
            errors: all.errors,
            warnings,
            services: Vec::new(),
            unknown_changes: None,
        });
    }
    let w = written?;
    let known = store.dora_known_changes(&all.refs.undefined()).await?;
    Ok(Imported {
        received: w.received,
        changed: w.changed,
        errors: all.errors,
        warnings,
        services: all.services.into_iter().collect(),
        unknown_changes: all.refs.unknown(&known),
    })
}

/// The file, or standard input for `-`.
fn reader(file: &std::path::Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
    Ok(if file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        ))
    })
}

/// A JSON Lines file read `CHUNK` lines at a time.
struct Chunks<'a> {
    reader: Box<dyn BufRead + Send>,
    source: &'a str,
    bar: &'a ProgressBar,
    line_no: usize,
}

impl<'a> Chunks<'a> {
    fn new(reader: Box<dyn BufRead + Send>, source: &'a str, bar: &'a ProgressBar) -> Self {
        Self {
            reader,
            source,
            bar,
            line_no: 0,
        }
    }

    /// The next lines, their numbers counted from the start of the file.
    fn next_chunk(&mut self) -> anyhow::Result<Option<socle_dora::Parsed>> {
        let mut text = String::new();
        let first = self.line_no;
        let mut lines = 0;
        while lines < CHUNK {
            let n = self.reader.read_line(&mut text)?;
            if n == 0 {
                break;
            }
            self.bar.inc(n as u64);
            lines += 1;
        }
        if lines == 0 {
            return Ok(None);
        }
        self.line_no += lines;
        let mut parsed = socle_dora::parse_jsonl(&text, self.source);
        for e in &mut parsed.errors {
            e.line += first;
        }
        parsed.unknown_fields.shift(first);
        Ok(Some(parsed))
    }
}

pub async fn run(cmd: DoraCmd) -> anyhow::Result<Outcome> {
    match cmd {
        DoraCmd::Import {
            file,
            partial,
            source,
            store,
            output,
        } => import(&file, partial, &source, &store, output).await,
        DoraCmd::Git {
            service,
            repo,
            branch,
            limit,
            store,
            output,
        } => {
            if !repo.contains("://") {
                super::must_exist(&repo)?;
            }
            let commits = socle_ingest::commit_history(&repo, branch.as_deref(), limit)
                .map_err(|e| anyhow::anyhow!(e))?;
            let store = store.open().await?;
            let events = socle_app::dora::changes_from_commits(&service, commits);
            let w = store.dora_upsert(events).await?;
            Outcome::new(output, &w, |w| {
                format!(
                    "{} commits read from {repo}, {} new or changed\n",
                    w.received, w.changed
                )
            })
        }
        DoraCmd::Report(a) if a.all_scopes => all_scopes(a).await,
        DoraCmd::Report(a) => {
            let scope = match (&a.service, &a.team, &a.system, &a.domain) {
                (Some(s), ..) => socle_app::dora::Scope::parse("service", Some(s)),
                (_, Some(t), ..) => socle_app::dora::Scope::parse("team", Some(t)),
                (_, _, Some(s), _) => socle_app::dora::Scope::parse("system", Some(s)),
                (_, _, _, Some(d)) => socle_app::dora::Scope::parse("domain", Some(d)),
                _ => Ok(socle_app::dora::Scope::Org),
            }
            .map_err(|e| anyhow::anyhow!(e))?;
            let window = a.window.window()?;
            let (store, snapshot) = report_catalog(&a.store, a.events.as_deref()).await?;
            let services = socle_app::dora::services(&snapshot, &scope)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let platform = read_platform(a.platform.as_ref(), &socle_catalog::Limits::default())?;
            let ds = dataset(store.as_ref(), &platform, a.events.as_deref()).await?;
            let report = ds.report(services.as_deref(), window, a.weekly);
            let mut json = serde_json::to_value(&report)?;
            json["scope"] = serde_json::Value::String(scope.label());
            Outcome::new(a.output, &json, |_| render_table(&scope.label(), &report))
        }
        DoraCmd::Teams {
            window,
            platform,
            events,
            store,
            output,
        } => {
            let window = window.window()?;
            let (store, snapshot) = report_catalog(&store, events.as_deref()).await?;
            let platform = read_platform(platform.as_ref(), &socle_catalog::Limits::default())?;
            let ds = dataset(store.as_ref(), &platform, events.as_deref()).await?;
            let reports = socle_app::dora::team_reports(&snapshot, &ds, window);
            Outcome::list(output, &reports, |rs| {
                let rows: Vec<Vec<String>> = rs
                    .iter()
                    .map(|r| {
                        let num = |k: &str, scale: f64, unit: &str| {
                            r[k].as_f64().map_or_else(
                                || "-".to_owned(),
                                |v| format!("{:.2}{unit}", v * scale),
                            )
                        };
                        vec![
                            r["scope"].as_str().unwrap_or_default().to_owned(),
                            r["services"].to_string(),
                            num("deployment_frequency_per_day", 1.0, "/d"),
                            num("lead_time_median_hours", 1.0, " h"),
                            num("change_failure_rate", 100.0, " %"),
                            num("recovery_time_median_hours", 1.0, " h"),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "TEAM",
                        "SERVICES",
                        "DEPLOYS",
                        "LEAD TIME",
                        "CFR",
                        "RECOVERY",
                    ],
                    &rows,
                )
            })
        }
    }
}

/// `socle dora report --all-scopes`: every scope's report from one index.
async fn all_scopes(a: ReportArgs) -> anyhow::Result<Outcome> {
    let window = a.window.window()?;
    let (store, snapshot) = report_catalog(&a.store, a.events.as_deref()).await?;
    let platform = read_platform(a.platform.as_ref(), &socle_catalog::Limits::default())?;
    let ds = dataset(store.as_ref(), &platform, a.events.as_deref()).await?;
    let all = socle_app::dora_scopes::all_scopes(&snapshot, &ds, window, a.weekly);
    Outcome::new(a.output, &all, |all| {
        let mut out = format!("{} → {}\n", all.from, all.to);
        let rows: Vec<Vec<String>> = std::iter::once(&all.organisation)
            .chain(&all.teams)
            .chain(&all.systems)
            .chain(&all.domains)
            .chain(&all.services)
            .map(|s| {
                let r = &s.report;
                let f = |v: Option<f64>, scale: f64, unit: &str| {
                    v.map_or_else(|| "-".to_owned(), |v| format!("{:.2}{unit}", v * scale))
                };
                vec![
                    s.scope.clone(),
                    r.services.to_string(),
                    f(r.deployment_frequency_per_day, 1.0, "/d"),
                    f(r.lead_time_median_hours, 1.0, " h"),
                    f(r.change_failure_rate, 100.0, " %"),
                    f(r.recovery_time_median_hours, 1.0, " h"),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &[
                "SCOPE",
                "SERVICES",
                "DEPLOYS",
                "LEAD TIME",
                "CFR",
                "RECOVERY",
            ],
            &rows,
        ));
        out
    })
}

/// `socle dora import`: the file's events into the store, malformed lines listed on stderr.
async fn import(
    file: &std::path::Path,
    partial: bool,
    source: &str,
    store: &StoreArgs,
    output: Format,
) -> anyhow::Result<Outcome> {
    if file.as_os_str() != "-" {
        super::must_exist(file)?;
    }
    let store = store.open().await?;
    let Imported {
        received,
        changed,
        errors,
        warnings,
        services,
        unknown_changes,
    } = import_file(&store, file, source, partial, output == Format::Table).await?;
    print_warnings(file, &warnings);
    if let Some(u) = &unknown_changes {
        eprintln!("{}: warning: {}", file.display(), u.message);
    }
    for e in errors.iter().take(50) {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    if errors.len() > 50 {
        eprintln!("… and {} more malformed lines", errors.len() - 50);
    }
    if !errors.is_empty() && !partial {
        anyhow::bail!(
            "{} malformed line(s): nothing was imported (--partial imports the valid lines)",
            errors.len()
        );
    }
    let (snapshot, _, _) = socle_app::snapshot::load(&store).await?;
    let unknown = socle_app::dora::unknown_services(&snapshot, services.iter().map(String::as_str));
    let report = serde_json::json!({
        "received": received, "changed": changed, "malformed": errors.len(), "unknown_services": unknown,
        "warnings": warnings, "unknown_changes": unknown_changes,
    });
    Ok(Outcome::new(output, &report, |_| {
        let mut s = format!(
            "{received} events read, {changed} new or changed, {} malformed lines skipped\n",
            errors.len()
        );
        if !unknown.is_empty() {
            s.push_str(&format!(
                "{} not in the catalog (kept; register them to see them in team reports): {}\n",
                if unknown.len() == 1 {
                    "1 service".to_owned()
                } else {
                    format!("{} services", unknown.len())
                },
                unknown
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s
    })?
    .failed(!errors.is_empty()))
}

/// Fields Socle ignored, once per name, on stderr.
fn print_warnings(file: &std::path::Path, warnings: &[socle_dora::Warning]) {
    for w in warnings {
        eprintln!("{}: warning: {}", file.display(), w.message);
    }
}

/// The indexed events: from a JSON Lines file (parsed on every core), or the store.
/// The store and catalog a report reads: a report straight from `--events` needs no store (an
/// empty catalog then: services are named as the events name them).
async fn report_catalog(
    store: &StoreArgs,
    events: Option<&std::path::Path>,
) -> anyhow::Result<(
    Option<socle_store::Store>,
    std::sync::Arc<socle_app::snapshot::Snapshot>,
)> {
    if events.is_some() && !store.exists() {
        return Ok((None, Default::default()));
    }
    let store = store.open_to_read().await?;
    let (snapshot, _, _) = socle_app::snapshot::load(&store).await?;
    Ok((Some(store), snapshot))
}

pub async fn dataset(
    store: Option<&socle_store::Store>,
    platform: &socle_platform::PlatformConfig,
    file: Option<&std::path::Path>,
) -> anyhow::Result<std::sync::Arc<socle_dora::Dataset>> {
    let opts = socle_app::dora::options(platform);
    let Some(file) = file else {
        let store = store.context("delivery events come from a store or from --events")?;
        return Ok(socle_app::dora::load(store, &opts).await?.1);
    };
    // Read in blocks on every core into interned columns (socle_dora::bulk): the same index
    // as parsing every event, without holding the file or an allocation per event.
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let bulk = socle_dora::Bulk::read(input, "import", threads)
        .with_context(|| format!("cannot read {}", file.display()))?;
    print_warnings(file, &bulk.unknown_fields.warnings());
    if !bulk.errors.is_empty() {
        for e in bulk.errors.iter().take(50) {
            eprintln!("{}:{}: {}", file.display(), e.line, e.message);
        }
        anyhow::bail!(
            "{} malformed line(s) in {}",
            bulk.errors.len(),
            file.display()
        );
    }
    Ok(std::sync::Arc::new(bulk.dataset(&opts)))
}

fn render_table(scope: &str, r: &socle_dora::Report) -> String {
    let mut out = format!("{scope}, {} → {} ({} services)\n", r.from, r.to, r.services);
    let rows: Vec<Vec<String>> = socle_dora::metrics::summary(r)
        .into_iter()
        .map(|(name, value, level)| {
            vec![
                name.to_owned(),
                value,
                level.map_or("-", |l| l.as_str()).to_owned(),
            ]
        })
        .collect();
    out.push_str(&output::table(&["METRIC", "VALUE", "LEVEL"], &rows));
    if !r.weekly.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = r
            .weekly
            .iter()
            .map(|w| {
                let f = |v: Option<f64>, unit: &str| {
                    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}{unit}"))
                };
                vec![
                    w.from.get(..10).unwrap_or(&w.from).to_owned(),
                    w.deployments.to_string(),
                    f(w.lead_time_median_hours, " h"),
                    f(w.change_failure_rate.map(|v| v * 100.0), " %"),
                    f(w.recovery_time_median_hours, " h"),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &["WEEK", "DEPLOYS", "LEAD TIME", "CFR", "RECOVERY"],
            &rows,
        ));
    }
    out
}
