//! Scorecards through the store, as `socle serve` runs them: a generated organisation ingested
//! into a SQLite store, a full pass over it (facts read from the store, scored, results and
//! history written), then an incremental re-score timed from the enqueue to the entity's result
//! row written (what a deploy, findings import or catalog change of one entity costs).

use std::time::Instant;

use crate::server::StoreLocation;
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_store::{ScoreQuery, Store};

use crate::output::{self, Format};

#[derive(Args)]
pub struct ScorecardRescoreBench {
    /// Entities of the generated organisation.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Incremental re-scores timed (one entity each).
    #[arg(long, default_value_t = 51)]
    rounds: usize,
    /// Requests timed per page (0: the pages are not timed).
    #[arg(long, default_value_t = 200)]
    page_requests: usize,
    /// Days of history the pages' scorecard and campaign are given.
    #[arg(long, default_value_t = 30)]
    history_days: usize,
    /// Work directory (default: a temporary one).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    scorecards: usize,
    full_pass_seconds: f64,
    results: usize,
    /// Enqueue → drained → result row written, one entity (milliseconds).
    rescore_p50_ms: f64,
    rescore_p99_ms: f64,
    rescore_max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pages: Option<crate::scorecard_pages::PagesReport>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub async fn scorecard_rescore(
    args: ScorecardRescoreBench,
) -> anyhow::Result<std::process::ExitCode> {
    let tmp = tempfile::tempdir()?;
    let work = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let (_, src) = crate::setup::write_org(&work, args.entities, 200)?;
    let store = Store::open(&StoreLocation::new(work.join("store"), None).config()).await?;
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let app = socle_app::App::new(
        store.clone(),
        socle_app::AppConfig {
            refresh_interval: None,
            scorecard_interval: None,
            gitops_root: work.join("gitops"),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("full pass over {} entities…", app.snapshot().len());
    let t = Instant::now();
    let full = app
        .rescore_all()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let full_pass_seconds = t.elapsed().as_secs_f64();
    // Entities the built-in scorecard selects (its services).
    let components: Vec<String> = store
        .scores(&ScoreQuery {
            scorecard: Some("production-readiness"),
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|r| r.entity)
        .collect();
    anyhow::ensure!(!components.is_empty(), "no entity was scored");
    let mut times = Vec::with_capacity(args.rounds);
    for k in 0..args.rounds {
        let entity = &components[(k * 7919) % components.len()];
        let before = store
            .scores(&ScoreQuery {
                entity: Some(entity),
                ..Default::default()
            })
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let t = Instant::now();
        app.mark_for_rescore([entity.clone()]);
        let s = app
            .rescore_pending()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(!s.full && s.entities == 1, "an incremental re-score: {s:?}");
        let after = store
            .scores(&ScoreQuery {
                entity: Some(entity),
                ..Default::default()
            })
            .await?;
        let written = after.first().context("the entity's result")?.evaluated_at;
        anyhow::ensure!(
            before.first().is_none_or(|b| b.evaluated_at < written),
            "the result row of {entity} was rewritten"
        );
    }
    times.sort_by(f64::total_cmp);
    let pages = if args.page_requests > 0 {
        Some(
            crate::scorecard_pages::pages(&store, &work, args.page_requests, args.history_days)
                .await?,
        )
    } else {
        None
    };
    let report = Report {
        entities: app.snapshot().len(),
        scorecards: app.scorecards().0.len(),
        full_pass_seconds,
        results: full.results,
        rescore_p50_ms: percentile(&times, 0.5),
        rescore_p99_ms: percentile(&times, 0.99),
        rescore_max_ms: times.last().copied().unwrap_or_default(),
        pages,
    };
    output::print(args.output, &report, |r| {
        let mut out = format!(
            "{} entities, {} scorecards: full pass through the store {:.2} s ({} results); one entity re-scored (enqueue → row written) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
            r.entities,
            r.scorecards,
            r.full_pass_seconds,
            r.results,
            r.rescore_p50_ms,
            r.rescore_p99_ms,
            r.rescore_max_ms
        );
        if let Some(p) = &r.pages {
            out.push_str(&format!(
                "pages: {} entities scored by one scorecard (full pass with it and a campaign {:.2} s), {} days of history, {} requests each:\n",
                p.scored_entities, p.full_pass_seconds, p.history_days, p.requests_per_page
            ));
            for f in &p.pages {
                out.push_str(&format!(
                    "  {:<60} {:>8} bytes  p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms\n",
                    f.path, f.bytes, f.p50_ms, f.p99_ms, f.max_ms
                ));
            }
        }
        out
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
