//! `socle-bench catalog`: ingest a generated organisation to a fully related, queryable catalog
//! (in this process), then serve it with `socle serve` and load the HTTP API with `wrk`.

use std::path::Path;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use socle_store::Store;

use crate::output::{self, Format};
use crate::server::{Load, Server, StoreLocation};
use crate::setup::{current_rss_mb, peak_rss_mb};

#[derive(Args)]
pub struct CatalogBench {
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 10_000)]
    entities: usize,
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
    /// Benchmark PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "SOCLE_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    relations: usize,
    backend: String,
    ingest_seconds: f64,
    read_model_seconds: f64,
    total_seconds: f64,
    entities_per_second: f64,
    /// This process: ingest and read model.
    peak_rss_mb: f64,
    /// The `socle serve` child, from its start to the end of the load.
    server_start_seconds: f64,
    server_peak_rss_mb: f64,
    get_by_ref: Load,
    search: Load,
}

pub async fn catalog(
    args: CatalogBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, args.per_file)?;
    eprintln!(
        "generated {} entities in {} files; ingesting…",
        org.entities,
        org.files.len()
    );
    let location = StoreLocation::new(work.path().join("data"), args.database_url.as_deref());
    let store = Store::open(&location.config()).await?;

    let started = Instant::now();
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let ingest = started.elapsed();
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
    eprintln!(
        "read model built in {:.2} s, peak RSS so far {:.0} MB, current {:.0} MB",
        read_model.as_secs_f64(),
        peak_rss_mb(),
        current_rss_mb()
    );
    let total = started.elapsed();
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
    let server = Server::start(&socle, &location, work.path())?;
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
        read_model_seconds: read_model.as_secs_f64(),
        total_seconds: total.as_secs_f64(),
        entities_per_second: entities as f64 / total.as_secs_f64(),
        peak_rss_mb: peak,
        server_start_seconds: server_start.as_secs_f64(),
        server_peak_rss_mb: server_peak,
        get_by_ref: get,
        search,
    };
    output::print(args.output, &report, table)?;
    Ok(std::process::ExitCode::SUCCESS)
}

const SEARCHES: [&str; 10] = [
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
        "  ingest to store          {:.2} s\n",
        r.ingest_seconds
    ));
    s.push_str(&format!(
        "  read model + search idx  {:.2} s\n",
        r.read_model_seconds
    ));
    s.push_str(&format!(
        "  fully related, queryable {:.2} s ({:.0} entities/s), peak RSS {:.0} MB\n",
        r.total_seconds, r.entities_per_second, r.peak_rss_mb
    ));
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
