//! Scorecard results kept in the store: a full pass scores every entity; a deploy, a findings
//! import and a catalog change each queue the entity they touch, and the next drain re-scores
//! that entity only; the level of each day is kept as history.

use std::sync::Arc;

use socle_app::deploy::DeployInput;
use socle_app::scorecards::{ScoreState, Scorecards};
use socle_app::{Actor, App, AppConfig, FixedClock, Principal};
use socle_store::{Role, ScoreQuery, ScoreRecord, Store};
use socle_testkit::Backend;

const T0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;

/// Bronze: a description; Silver: deployed to dev in the last 14 days; Gold: no open finding.
const CARD: &str = "apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata:
  name: basics
  title: Basics
spec:
  filter:
    kind: [Component]
  rules:
    - id: description
      level: Bronze
      check: {builtin: has-description}
    - id: deployed
      level: Silver
      check: {builtin: deployed-recently, params: {environment: dev, days: 14}}
    - id: no-findings
      level: Gold
      title: No open finding
      fixit: Fix what the scanners report.
      facts: [findings.open]
      check:
        rego: |
          pass if count(input.findings.open) == 0
";

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  description: Sells.
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
  description: Finds.
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const SHOP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n";
const TRIVY: &str = include_str!("../../../../conformance/sarif/trivy-alpine-310.sarif");

async fn app(backend: Backend, dir: &std::path::Path) -> Option<(Arc<App>, Arc<FixedClock>)> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let cards = socle_scorecard::load(CARD, "basics.yaml").unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        scorecards: Scorecards::new(cards).unwrap(),
        ..Default::default()
    };
    let clock = FixedClock::at(T0);
    let app = App::with_clock(store, settings, clock.clone())
        .await
        .unwrap();
    Some((app, clock))
}

fn admin() -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: "serviceaccount:admin".into(),
        role: Role::Admin,
    })
}

async fn register(app: &App, dir: &std::path::Path, yaml: &str) {
    let file = dir.join("org.yaml");
    std::fs::write(&file, yaml).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "user:default/admin",
            socle_store::LocationTrust::Organisation,
            T0,
        )
        .await
        .unwrap();
    app.refresh(&spec).await.unwrap();
}

/// `(entity, level)` of every stored `basics` result.
async fn levels(app: &App) -> Vec<(String, Option<String>)> {
    let rows: Vec<ScoreRecord> = app
        .store
        .scores(&ScoreQuery {
            scorecard: Some("basics"),
            ..Default::default()
        })
        .await
        .unwrap();
    rows.into_iter().map(|r| (r.entity, r.level)).collect()
}

fn lv(entity: &str, level: Option<&str>) -> (String, Option<String>) {
    (
        format!("component:default/{entity}"),
        level.map(str::to_owned),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fact_change_rescores_its_entity_only_and_the_day_is_kept() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, clock)) = app(backend, dir.path()).await else {
            continue;
        };
        register(&app, dir.path(), ORG).await;
        let full = app.rescore_all().await.unwrap();
        // basics and the built-in production-readiness each select shop and search.
        assert_eq!((full.full, full.entities, full.results), (true, 3, 4));
        assert_eq!(
            levels(&app).await,
            [lv("search", Some("Bronze")), lv("shop", Some("Bronze"))]
        );
        assert_eq!(app.store.score_pass("basics").await.unwrap(), Some(T0));
        // Nothing changed: nothing to re-score.
        assert_eq!(app.rescore_pending().await.unwrap().entities, 0);

        // A deploy of shop: shop alone is re-scored, and holds Gold (no finding yet).
        let input = DeployInput {
            workload: SHOP.into(),
            environment: "dev".into(),
            image: Some("ghcr.io/acme/shop:1".into()),
            version: None,
            source_commit: None,
        };
        app.deploy(&admin(), input).await.unwrap();
        let s = app.rescore_pending().await.unwrap();
        assert_eq!((s.full, s.entities, s.results), (false, 1, 2));
        assert_eq!(
            levels(&app).await,
            [lv("search", Some("Bronze")), lv("shop", Some("Gold"))]
        );

        // Scanner findings for shop: back to Silver, the failing rule stored.
        app.import_findings(&admin(), "component:default/shop", TRIVY.into())
            .await
            .unwrap();
        assert_eq!(app.rescore_pending().await.unwrap().entities, 1);
        let shop = app
            .store
            .scores(&ScoreQuery {
                entity: Some("component:default/shop"),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            (
                shop[0].level.as_deref(),
                shop[0].level_rank,
                &shop[0].failing
            ),
            (Some("Silver"), 2, &vec!["no-findings".to_owned()])
        );

        // The next day, search loses its description and shop leaves the catalog.
        clock.advance(DAY);
        let org = ORG.replace("  description: Finds.\n", "");
        let org = org
            .split("---\n")
            .filter(|d| !d.contains("name: shop"))
            .collect::<Vec<_>>()
            .join("---\n");
        let file = dir.path().join("org.yaml");
        std::fs::write(&file, org).unwrap();
        let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
        app.refresh(&spec).await.unwrap();
        let s = app.rescore_pending().await.unwrap();
        // shop, search, and team-a (its ownership relations changed).
        assert_eq!((s.entities, s.results), (3, 2), "{s:?}");
        assert_eq!(levels(&app).await, [lv("search", None)]);

        // History: one line per day, counts per level (none, Bronze, Silver, Gold).
        let h = app
            .scorecard_history(&Actor::Anonymous, "basics", None, None, 7)
            .await
            .unwrap();
        let days: Vec<(&str, &[i64])> = h
            .days
            .iter()
            .map(|d| (d.date.as_str(), d.counts.as_slice()))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-05-28", &[0, 1, 1, 0][..]),
                ("2026-05-29", &[1, 0, 0, 0][..])
            ]
        );
        let shop = app
            .scorecard_history(
                &Actor::Anonymous,
                "basics",
                Some("component:default/shop"),
                None,
                7,
            )
            .await
            .unwrap();
        assert_eq!(shop.days.len(), 1);
        assert_eq!(shop.days[0].counts, [0, 0, 1, 0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_of_a_never_scored_catalog_queues_a_pass_and_the_drain_runs_it() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path()).await else {
            continue;
        };
        register(&app, dir.path(), ORG).await;
        // The request does not score: it says a pass is queued, with no figures.
        let r = app
            .scorecard_report(&Actor::Anonymous, "basics")
            .await
            .unwrap();
        assert_eq!((r.state, r.entities), (ScoreState::Queued, 0));
        assert!(levels(&app).await.is_empty());
        assert!(app.full_pass_queued());
        // The background's drain (every poll interval) runs it.
        let s = app.rescore_pending().await.unwrap();
        assert!(s.full, "{s:?}");
        let r = app
            .scorecard_report(&Actor::Anonymous, "basics")
            .await
            .unwrap();
        assert_eq!((r.state, r.entities), (ScoreState::Scored, 2));
        assert_eq!(r.leaderboard[0].team, "group:default/team-a");
        assert_eq!(r.rule_list[0].passing, 2);
        assert_eq!(r.rule_list[1].passing, 0);
        let team = app.team_scores(&Actor::Anonymous, "team-a").await.unwrap();
        assert_eq!(team.entities, 2);
        assert_eq!(team.results.len(), 4, "two entities in two scorecards");
        let team: Vec<_> = team
            .results
            .into_iter()
            .filter(|t| t.scorecard == "basics")
            .collect();
        assert_eq!(team.len(), 2);
        assert!(team.iter().all(|t| t.level.as_deref() == Some("Bronze")));
        // An overflowing queue becomes a full pass.
        app.mark_for_rescore(
            (0..socle_app::scorecards::evaluate::MAX_QUEUED + 1)
                .map(|i| format!("component:default/x{i}")),
        );
        let s = app.rescore_pending().await.unwrap();
        assert!(s.full, "{s:?}");
        assert_eq!(s.results, 4);
    }
}

/// The catalog of [`ORG`] scored, then `search` loses its description: queued for a re-score.
async fn scored_then_search_undescribed(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<Arc<App>> {
    let (app, _) = app(backend, dir).await?;
    register(&app, dir, ORG).await;
    app.rescore_all().await.unwrap();
    let file = dir.join("org.yaml");
    std::fs::write(&file, ORG.replace("  description: Finds.\n", "")).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.refresh(&spec).await.unwrap();
    Some(app)
}

/// Entities passing `basics`' first rule (a description), by its report.
async fn described(app: &App) -> usize {
    let r = app
        .scorecard_report(&Actor::Anonymous, "basics")
        .await
        .unwrap();
    assert_eq!(r.state, ScoreState::Scored);
    r.rule_list[0].passing
}

// One thread: the spawned re-score runs until its first store read, holding the lock, and the
// report is asked meanwhile.
#[tokio::test]
async fn a_report_waits_for_the_incremental_rescore_that_took_its_entities() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = scored_then_search_undescribed(backend, dir.path()).await else {
            continue;
        };
        let background = tokio::spawn({
            let app = app.clone();
            async move { app.rescore_pending().await.unwrap() }
        });
        tokio::task::yield_now().await;
        assert_eq!(described(&app).await, 1, "{backend:?}");
        let s = background.await.unwrap();
        assert_eq!((s.full, s.entities), (false, 1), "search alone");
    }
}
