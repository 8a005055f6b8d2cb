//! `socle-bench search`: the search engine alone, in this process, one query at a time. It gives
//! the CPU a search costs, without HTTP or queueing: `catalog`'s wrk figures include both (with
//! 8 connections on 2 cores, a search waits for about 3 others).
//!
//! The index is the one the server serves: the generated organisation ingested into a SQLite
//! store and loaded as `socle serve` loads it. The queries are `catalog`'s 20.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use socle_search::SearchQuery;
use socle_store::Store;

use crate::output::{self, Format};
use crate::server::StoreLocation;

#[derive(Args)]
pub struct SearchBench {
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Timed runs of each query (after one untimed run).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    documents: u64,
    runs: usize,
    queries: Vec<QueryTime>,
    /// Over every query's runs.
    mean_ms: f64,
}

#[derive(Serialize)]
struct QueryTime {
    text: String,
    /// With `kind=component&lifecycle=production`.
    filtered: bool,
    /// Documents matching.
    total: usize,
    mean_ms: f64,
    max_ms: f64,
}

pub async fn search(args: SearchBench) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, 500)?;
    let entities = org.entities;
    drop(org);
    eprintln!("ingesting {entities} entities and loading the index…");
    let location = StoreLocation::new(work.path().join("data"), None);
    let store = Store::open(&location.config()).await?;
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let (_snapshot, index, _) = socle_app::snapshot::load(&store).await?;
    store.close().await;

    let mut queries = Vec::new();
    let mut all = Duration::ZERO;
    for text in crate::catalog::SEARCHES {
        for filtered in [false, true] {
            let only = |v: &str| {
                if filtered {
                    vec![v.to_owned()]
                } else {
                    Vec::new()
                }
            };
            let q = SearchQuery {
                text: text.to_owned(),
                kind: only("component"),
                lifecycle: only("production"),
                ..Default::default()
            };
            // Untimed: the first run warms the caches (pages, the doc store's blocks).
            let total = index.search(&q)?.total;
            let mut times = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                let t = Instant::now();
                std::hint::black_box(index.search(&q)?);
                times.push(t.elapsed());
            }
            let sum: Duration = times.iter().sum();
            all += sum;
            queries.push(QueryTime {
                text: text.to_owned(),
                filtered,
                total,
                mean_ms: ms(sum) / args.runs as f64,
                max_ms: times.iter().copied().max().map_or(0.0, ms),
            });
        }
    }
    let report = Report {
        entities,
        documents: index.len(),
        runs: args.runs,
        mean_ms: ms(all) / (queries.len() * args.runs) as f64,
        queries,
    };
    output::print(args.output, &report, table)?;
    Ok(ExitCode::SUCCESS)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn table(r: &Report) -> String {
    let rows: Vec<Vec<String>> = r
        .queries
        .iter()
        .map(|q| {
            vec![
                q.text.clone(),
                if q.filtered { "yes" } else { "no" }.to_owned(),
                q.total.to_string(),
                format!("{:.2}", q.mean_ms),
                format!("{:.2}", q.max_ms),
            ]
        })
        .collect();
    format!(
        "search in process ({} entities, {} documents, {} runs per query, one thread)\n{}mean {:.2} ms per search\n",
        r.entities,
        r.documents,
        r.runs,
        output::table(
            &["text", "filtered", "matching", "mean ms", "max ms"],
            &rows
        ),
        r.mean_ms
    )
}
