//! `socle-bench catalog`: ingest a generated organisation to a fully related, queryable catalog
//! (in this process), then serve it with `socle serve` and load the HTTP API with `wrk`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use socle_store::Store;

use crate::output::{self, Format};
use crate::server::{Load, Server, StoreLocation};
use crate::setup::{current_rss_mb, peak_rss_mb};

#[derive(Args)]
pub struct CatalogBench {
    /// Entities in the generated organisation; several (`100000,300000,1000000`) run one after
    /// the other and end with a scaling table.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    entities: Vec<usize>,
    /// Entities per generated file.
    #[arg(long, default_value_t = 500)]
    per_file: usize,
    /// GET-by-ref requests to send.
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Search requests to send.
    #[arg(long, default_value_t = 5_000)]
    searches: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Entities of the location changed after the load, to time how long a change takes to be
    /// visible (the read model moves by a delta); 0 skips it.
    #[arg(long, default_value_t = 500)]
    change_entities: usize,
    /// Benchmark PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "SOCLE_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    /// Keep the run's work directory (generated files, the SQLite store under `data`) here
    /// instead of deleting it, e.g. to time `socle serve --data-dir DIR/data` loading it alone.
    /// With several scales, each gets `DIR/<entities>`.
    #[arg(long)]
    keep: Option<PathBuf>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    relations: usize,
    backend: String,
    ingest_seconds: f64,
    /// Resident set after the ingest (its peak, and now).
    ingest_peak_rss_mb: f64,
    ingest_rss_mb: f64,
    read_model_seconds: f64,
    read_model_rss_mb: f64,
    total_seconds: f64,
    entities_per_second: f64,
    /// This process: ingest and read model.
    peak_rss_mb: f64,
    /// The `socle serve` child, from its start to the end of the load.
    server_start_seconds: f64,
    server_peak_rss_mb: f64,
    /// A location of `change_entities` entities added, then every entity of it changed.
    change: Option<ChangeLatency>,
    get_by_ref: Load,
    search: Load,
}

#[derive(Serialize)]
struct ChangeLatency {
    entities: usize,
    /// The new location: read and committed to the store.
    add_commit_ms: f64,
    /// From its commit to the read model and index serving it (a delta).
    add_visible_ms: f64,
    /// Every entity changed (owner, description, dependencies): committed.
    change_commit_ms: f64,
    change_visible_ms: f64,
}

/// A location of `n` components owned by the synthetic organisation's teams; `round` changes
/// every one (owner, description, what it depends on).
fn change_location(n: usize, round: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let team = (i + round * 7) % 50;
        let dep = (i + 1 + round) % n.max(1);
        out.push_str(&format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: changed-svc-{i}\n  description: Round {round} of service {i}\nspec:\n  type: service\n  lifecycle: production\n  owner: group-{team}\n  dependsOn: [component:changed-svc-{dep}]\n---\n"
        ));
    }
    out
}

/// Adds a location of `n` entities, then changes all of them; times each commit and how long
/// after it `app` serves the change.
async fn change_latency(
    store: &Store,
    app: &socle_api::AppState,
    dir: &Path,
    n: usize,
) -> anyhow::Result<ChangeLatency> {
    let file = dir.join("changed.yaml");
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    let mut times = Vec::new();
    for round in 0..2 {
        std::fs::write(&file, change_location(n, round))?;
        let t = Instant::now();
        crate::setup::ingest(store, &spec).await?;
        let commit = t.elapsed();
        let t = Instant::now();
        anyhow::ensure!(
            app.reload_if_changed()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            "the read model did not move"
        );
        let visible = t.elapsed();
        let probe = format!("component:default/changed-svc-{}", n - 1);
        anyhow::ensure!(
            app.snapshot().get(&probe).is_some(),
            "{probe} is not served"
        );
        times.push((commit.as_secs_f64() * 1e3, visible.as_secs_f64() * 1e3));
    }
    Ok(ChangeLatency {
        entities: n,
        add_commit_ms: times[0].0,
        add_visible_ms: times[0].1,
        change_commit_ms: times[1].0,
        change_visible_ms: times[1].1,
    })
}

pub async fn catalog(
    args: CatalogBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let mut reports = Vec::new();
    for &n in &args.entities {
        // Each scale's peak is its own (Linux: `5` resets VmHWM).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        reports.push(run(&args, n, &socle).await?);
    }
    if let [one] = &reports[..] {
        output::print(args.output, one, table)?;
    } else {
        let scaling = Scaling::of(reports);
        output::print(args.output, &scaling, scaling_table)?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Several scales, and how each figure grows per 10× of data.
#[derive(Serialize)]
struct Scaling {
    runs: Vec<Report>,
    /// `(t_b / t_a) ^ (1 / log10(n_b / n_a))` between the smallest and the largest run: 10 is
    /// linear.
    total_ratio_per_10x: f64,
    ingest_ratio_per_10x: f64,
    read_model_ratio_per_10x: f64,
    peak_rss_ratio_per_10x: f64,
}

impl Scaling {
    fn of(runs: Vec<Report>) -> Self {
        let per_10x = |f: fn(&Report) -> f64| {
            let (a, b) = (&runs[0], &runs[runs.len() - 1]);
            let decades = (b.entities as f64 / a.entities.max(1) as f64).log10();
            if decades <= 0.0 || f(a) <= 0.0 {
                return f64::NAN;
            }
            (f(b) / f(a)).powf(1.0 / decades)
        };
        Self {
            total_ratio_per_10x: per_10x(|r| r.total_seconds),
            ingest_ratio_per_10x: per_10x(|r| r.ingest_seconds),
            read_model_ratio_per_10x: per_10x(|r| r.read_model_seconds),
            peak_rss_ratio_per_10x: per_10x(|r| r.peak_rss_mb),
            runs,
        }
    }
}

fn scaling_table(s: &Scaling) -> String {
    let mut out = String::new();
    for r in &s.runs {
        out.push_str(&table(r));
        out.push('\n');
    }
    out.push_str("scaling\n");
    out.push_str(&format!(
        "  {:>9} {:>9} {:>10} {:>9} {:>11} {:>9} {:>10} {:>10} {:>11}\n",
        "entities",
        "ingest s",
        "read mdl s",
        "total s",
        "entities/s",
        "peak MB",
        "GET p99",
        "search p99",
        "change ms"
    ));
    for r in &s.runs {
        out.push_str(&format!(
            "  {:>9} {:>9.2} {:>10.2} {:>9.2} {:>11.0} {:>9.0} {:>10.2} {:>10.2} {:>11}\n",
            r.entities,
            r.ingest_seconds,
            r.read_model_seconds,
            r.total_seconds,
            r.entities_per_second,
            r.peak_rss_mb,
            r.get_by_ref.p99_ms,
            r.search.p99_ms,
            r.change
                .as_ref()
                .map_or("-".to_owned(), |c| format!("{:.1}", c.change_visible_ms)),
        ));
    }
    out.push_str(&format!(
        "  per 10x of data (10 = linear): total {:.1}x, ingest {:.1}x, read model {:.1}x, peak RSS {:.1}x\n",
        s.total_ratio_per_10x, s.ingest_ratio_per_10x, s.read_model_ratio_per_10x, s.peak_rss_ratio_per_10x
    ));
    out
}

/// Where a run writes its files and store: deleted at the end, or kept (`--keep`).
enum WorkDir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl WorkDir {
    fn path(&self) -> &Path {
        match self {
            Self::Temp(t) => t.path(),
            Self::Kept(p) => p,
        }
    }
}

/// One scale: ingest, read model, a change, then the server under load.
async fn run(args: &CatalogBench, n: usize, socle: &Path) -> anyhow::Result<Report> {
    let work = match &args.keep {
        Some(dir) => {
            let dir = dir.join(n.to_string());
            std::fs::create_dir_all(&dir)?;
            eprintln!("keeping the work directory {}", dir.display());
            WorkDir::Kept(dir)
        }
        None => WorkDir::Temp(tempfile::tempdir()?),
    };
    let (org, src) = crate::setup::write_org(work.path(), n, args.per_file)?;
    eprintln!(
        "generated {} entities in {} files; ingesting…",
        org.entities,
        org.files.len()
    );
    drop(org);
    let location = StoreLocation::new(work.path().join("data"), args.database_url.as_deref());
    let store = Store::open(&location.config()).await?;

    let started = Instant::now();
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let ingest = started.elapsed();
    let (ingest_peak, ingest_rss) = (peak_rss_mb(), current_rss_mb());
    eprintln!(
        "ingested in {:.2} s, peak RSS so far {:.0} MB, current {:.0} MB",
        ingest.as_secs_f64(),
        peak_rss_mb(),
        current_rss_mb()
    );
    let t = Instant::now();
    let state = socle_api::AppState::new(
        store.clone(),
        socle_api::ServerConfig {
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let read_model = t.elapsed();
    let read_model_rss = current_rss_mb();
    eprintln!(
        "read model built in {:.2} s, peak RSS so far {:.0} MB, current {:.0} MB",
        read_model.as_secs_f64(),
        peak_rss_mb(),
        current_rss_mb()
    );
    let total = started.elapsed();
    let change = if args.change_entities > 0 {
        let c = change_latency(&store, &state, work.path(), args.change_entities).await?;
        eprintln!(
            "{} entities added: visible {:.1} ms after commit; all changed: {:.1} ms",
            c.entities, c.add_visible_ms, c.change_visible_ms
        );
        Some(c)
    } else {
        None
    };
    let snap = state.snapshot();
    let entities = snap.len();
    let relations = snap.relation_count();
    let refs: Vec<String> = snap
        .entities
        .iter()
        .map(|e| &e.entity_ref)
        .step_by((entities / 5000).max(1))
        .map(|r| {
            let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
            format!("/api/v1/entities/{kind}/{rest}")
        })
        .collect();
    drop(snap);
    drop(state);
    let backend = store.backend_name().to_owned();
    let peak = peak_rss_mb();
    store.close().await;

    let t = Instant::now();
    let server = Server::start(socle, &location, work.path())?;
    let server_start = t.elapsed();
    eprintln!(
        "wrk: {} GETs by ref with {} connections…",
        args.requests, args.concurrency
    );
    let get = crate::server::wrk(server.addr, &refs, &[], args.requests, args.concurrency)?;
    let searches: Vec<String> = SEARCHES
        .iter()
        .flat_map(|w| {
            let q = w.replace(' ', "%20");
            [
                format!("/api/v1/search?q={q}"),
                format!("/api/v1/search?q={q}&kind=component&lifecycle=production"),
            ]
        })
        .collect();
    eprintln!("wrk: {} searches…", args.searches);
    let search = crate::server::wrk(server.addr, &searches, &[], args.searches, args.concurrency)?;
    let server_peak = server.peak_rss_mb();
    drop(server);

    let report = Report {
        entities,
        relations,
        backend,
        ingest_seconds: ingest.as_secs_f64(),
        ingest_peak_rss_mb: ingest_peak,
        ingest_rss_mb: ingest_rss,
        read_model_seconds: read_model.as_secs_f64(),
        read_model_rss_mb: read_model_rss,
        total_seconds: total.as_secs_f64(),
        entities_per_second: entities as f64 / total.as_secs_f64(),
        peak_rss_mb: peak,
        server_start_seconds: server_start.as_secs_f64(),
        server_peak_rss_mb: server_peak,
        change,
        get_by_ref: get,
        search,
    };
    Ok(report)
}

/// The search mix, each text also run with `kind=component&lifecycle=production`.
pub(crate) const SEARCHES: [&str; 10] = [
    "payments",
    "orders svc",
    "search",
    "billing",
    "paym",
    "identity python",
    "ledger",
    "rout",
    "catalog service",
    "fraud",
];

fn table(r: &Report) -> String {
    let mut s = String::new();
    s.push_str(&format!("catalog benchmark ({} backend)\n", r.backend));
    s.push_str(&format!("  entities                 {}\n", r.entities));
    s.push_str(&format!("  relations (both ways)    {}\n", r.relations));
    s.push_str(&format!(
        "  ingest to store          {:.2} s (peak RSS {:.0} MB, then {:.0} MB)\n",
        r.ingest_seconds, r.ingest_peak_rss_mb, r.ingest_rss_mb
    ));
    s.push_str(&format!(
        "  read model + search idx  {:.2} s (RSS then {:.0} MB)\n",
        r.read_model_seconds, r.read_model_rss_mb
    ));
    s.push_str(&format!(
        "  fully related, queryable {:.2} s ({:.0} entities/s), peak RSS {:.0} MB\n",
        r.total_seconds, r.entities_per_second, r.peak_rss_mb
    ));
    if let Some(c) = &r.change {
        s.push_str(&format!(
            "  a location of {} added   committed in {:.1} ms, served {:.1} ms after the commit (delta)\n",
            c.entities, c.add_commit_ms, c.add_visible_ms
        ));
        s.push_str(&format!(
            "  all {} changed           committed in {:.1} ms, served {:.1} ms after the commit (delta)\n",
            c.entities, c.change_commit_ms, c.change_visible_ms
        ));
    }
    s.push_str(&format!(
        "  socle serve              ready in {:.2} s, peak RSS {:.0} MB (wrk, one thread, over loopback)\n",
        r.server_start_seconds, r.server_peak_rss_mb
    ));
    for (name, l) in [("GET by ref", &r.get_by_ref), ("search", &r.search)] {
        s.push_str(&format!(
            "  {name:<24} {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} requests, {} errors)\n",
            l.requests_per_second, l.p50_ms, l.p99_ms, l.max_ms, l.requests, l.errors
        ));
    }
    s
}
