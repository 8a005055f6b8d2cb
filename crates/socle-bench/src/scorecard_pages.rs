//! The scorecard pages at scale, for `socle-bench scorecard-rescore`: on the store the full pass
//! filled, a second App adds a scorecard selecting every entity and a campaign over every
//! entity, scores them (a full pass, timed), gives them `history_days` days of history (the
//! results written again on each earlier day), then serves the real router (API and portal) on
//! loopback and times `requests` sequential GETs of each page: the scorecard page, the
//! campaign page, a team's page and an entity's page, and their API counterparts.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use socle_app::App;
use socle_store::{DAY_MS, ScoreQuery, ScoreScope, Store};

/// Every entity, three levels, four built-in checks.
const CARD: &str = "apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata:
  name: bench-everything
  title: Everything
spec:
  rules:
    - id: owner
      level: Bronze
      check: {builtin: has-owner}
    - id: description
      level: Silver
      check: {builtin: has-description}
    - id: system
      level: Gold
      check: {builtin: has-system}
    - id: docs
      level: Gold
      check: {builtin: has-docs}
";

/// The campaign over every entity (dates filled in: started 30 days ago, 30 days to go).
const CAMPAIGN: &str = "apiVersion: socle.dev/v1alpha1
kind: Campaign
metadata:
  name: bench-describe
  title: Describe everything
spec:
  start: START
  target: TARGET
  brief: Say what it is for.
  rules:
    - id: described
      check: {builtin: has-description}
";

pub const SCORECARD: &str = "bench-everything";
pub const CAMPAIGN_NAME: &str = "bench-describe";

#[derive(Serialize)]
pub struct PageFigures {
    pub path: String,
    pub bytes: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Serialize)]
pub struct PagesReport {
    /// Results of the scorecard selecting every entity.
    pub scored_entities: usize,
    /// The full pass of the built-in scorecard, the one above and the campaign.
    pub full_pass_seconds: f64,
    pub history_days: usize,
    pub requests_per_page: usize,
    pub pages: Vec<PageFigures>,
}

fn date(day: i64) -> String {
    socle_app::scorecards::evaluate::day_text(day)
}

/// The App with the bench's scorecard and campaign, on `store`.
async fn app(store: &Store, work: &std::path::Path) -> anyhow::Result<Arc<App>> {
    let today = socle_api::now_ms().div_euclid(DAY_MS);
    let cards = socle_scorecard::load(CARD, "bench.yaml").map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let campaign = CAMPAIGN
        .replace("START", &date(today - 30))
        .replace("TARGET", &date(today + 30));
    let campaigns = socle_scorecard::load_campaigns(&campaign, "bench-campaign.yaml")
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let scorecards = socle_app::scorecards::Scorecards::with_campaigns(cards, campaigns)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    App::new(
        store.clone(),
        socle_app::AppConfig {
            refresh_interval: None,
            scorecard_interval: None,
            gitops_root: work.join("gitops"),
            scorecards,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes the current results of `cards` again on each of the `days` days before today.
async fn history(store: &Store, cards: &[String], days: usize) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for c in cards {
        rows.extend(
            store
                .scores(&ScoreQuery {
                    scorecard: Some(c),
                    ..Default::default()
                })
                .await?,
        );
    }
    let now = socle_api::now_ms();
    for d in (1..=days as i64).rev() {
        let at = now - d * DAY_MS;
        for r in &mut rows {
            r.evaluated_at = at;
        }
        store
            .save_scores(ScoreScope::Scorecards(cards), &rows, at)
            .await?;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `requests` GETs of `path` one after another (after 2 untimed), each checked to answer 200.
async fn time_page(
    addr: std::net::SocketAddr,
    path: String,
    requests: usize,
) -> anyhow::Result<PageFigures> {
    tokio::task::spawn_blocking(move || {
        let mut bytes = 0;
        let mut times = Vec::with_capacity(requests);
        for k in 0..requests + 2 {
            let t = Instant::now();
            let (status, body) = crate::server::get(addr, &path, &[])?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(status == 200, "{path}: HTTP {status}");
            bytes = body.len();
            if k >= 2 {
                times.push(ms);
            }
        }
        times.sort_by(f64::total_cmp);
        Ok(PageFigures {
            path,
            bytes,
            p50_ms: percentile(&times, 0.5),
            p99_ms: percentile(&times, 0.99),
            max_ms: times.last().copied().unwrap_or_default(),
        })
    })
    .await?
}

/// Scores, writes history, serves and times the pages.
pub async fn pages(
    store: &Store,
    work: &std::path::Path,
    requests: usize,
    history_days: usize,
) -> anyhow::Result<PagesReport> {
    let app = app(store, work).await?;
    eprintln!("full pass with a scorecard and a campaign over every entity…");
    let t = Instant::now();
    app.rescore_all()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let full_pass_seconds = t.elapsed().as_secs_f64();
    let stored_campaign = format!("{}{CAMPAIGN_NAME}", socle_app::scorecards::CAMPAIGN_PREFIX);
    let cards = vec![SCORECARD.to_owned(), stored_campaign];
    eprintln!("{history_days} days of history…");
    history(store, &cards, history_days).await?;
    // Today's results again (the latest write is today's).
    app.rescore_all()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = store.score_summary(SCORECARD).await?;
    let scored: i64 = summary.counts.iter().map(|c| c.entities).sum();
    // The team owning the most entities, and one of its entities.
    let mut per_team: std::collections::BTreeMap<String, i64> = Default::default();
    for c in &summary.counts {
        if let Some(o) = &c.owner {
            *per_team.entry(o.clone()).or_default() += c.entities;
        }
    }
    let team = per_team
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(t, _)| t)
        .ok_or_else(|| anyhow::anyhow!("no team owns a scored entity"))?;
    let entity = store
        .scores(&ScoreQuery {
            scorecard: Some("production-readiness"),
            owner: Some(&team),
            ..Default::default()
        })
        .await?
        .into_iter()
        .next()
        .map(|r| r.entity)
        .ok_or_else(|| anyhow::anyhow!("{team} has no service"))?;
    let href = |r: &str| {
        let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
        rest.split_once('/')
            .map(|(ns, name)| format!("{kind}/{ns}/{name}"))
            .unwrap_or_default()
    };
    let paths = vec![
        format!("/scorecards/{SCORECARD}"),
        format!("/api/v1/scorecards/{SCORECARD}"),
        format!("/api/v1/scorecards/{SCORECARD}/history?days=30"),
        format!("/campaigns/{CAMPAIGN_NAME}"),
        format!("/api/v1/campaigns/{CAMPAIGN_NAME}"),
        format!(
            "/api/v1/campaigns/{CAMPAIGN_NAME}/teams/{}",
            href(&team).rsplit('/').next().unwrap_or_default()
        ),
        format!("/catalog/{}", href(&team)),
        format!("/catalog/{}", href(&entity)),
        format!("/api/v1/entities/{}/scorecards", href(&entity)),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(socle_api::serve_with(
        app.clone(),
        socle_portal::routes(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));
    let mut figures = Vec::new();
    for p in paths {
        eprintln!("{p}…");
        figures.push(time_page(addr, p, requests).await?);
    }
    let _ = stop.send(());
    server.await??;
    Ok(PagesReport {
        scored_entities: usize::try_from(scored).unwrap_or(0),
        full_pass_seconds,
        history_days,
        requests_per_page: requests,
        pages: figures,
    })
}
