//! SLOs of catalog entities: budgets from counts pushed to Socle, who may push them, and the
//! deploy gate — a production deploy of a service whose error budget is spent is flagged (or
//! blocked when the environment says so) while a rollback, or a waiver, passes. Both databases.

use std::sync::Arc;

use socle_app::deploy::DeployInput;
use socle_app::slo::{BudgetSource, SloEventsInput, SloIntervalInput};
use socle_app::waivers::NewWaiver;
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock, Principal};
use socle_platform::SloGate;
use socle_store::{Role, Store};
use socle_testkit::Backend;

const T0: i64 = 1_780_000_000_000;
const HOUR: i64 = 3_600_000;

const ORG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-b\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ann\nspec:\n  memberOf: [team-a]\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: bob\nspec:\n  memberOf: [team-b]\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\n  annotations:\n    socle.dev/slo: slo/shop.yaml\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: plain\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n";

const SLO: &str = r#"version: "prometheus/v1"
service: "shop"
slos:
  - name: "requests-availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="shop"}[{{.window}}]))
    alerting:
      name: ShopHighErrorRate
      page_alert:
        labels:
          severity: page
      ticket_alert:
        labels:
          severity: ticket
"#;

fn workload(image: &str) -> DeployInput {
    DeployInput {
        workload: "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n"
            .into(),
        environment: "prod".into(),
        image: Some(image.into()),
        version: None,
        source_commit: None,
    }
}

fn actor(subject: &str, role: Role) -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: subject.into(),
        role,
    })
}

fn admin() -> Actor {
    actor("user:default/admin", Role::Admin)
}

/// The application with the organisation's catalog (a directory: `org.yaml` and the SLO file
/// beside it) and `gate` in `prod` (None: the default).
async fn app(backend: Backend, dir: &std::path::Path, gate: Option<SloGate>) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let mut platform = socle_platform::default_config();
    platform.environments.get_mut("prod").unwrap().slo.gate = gate;
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        platform,
        ..Default::default()
    };
    let app = App::with_clock(store, settings, FixedClock::at(T0))
        .await
        .unwrap();
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(catalog.join("slo")).unwrap();
    std::fs::write(catalog.join("org.yaml"), ORG).unwrap();
    std::fs::write(catalog.join("slo/shop.yaml"), SLO).unwrap();
    let spec =
        socle_ingest::LocationSpec::file(catalog.join("org.yaml").to_string_lossy().into_owned());
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
    Some(app)
}

/// One interval per hour over the last `hours` hours ending at T0, `errors` of `total` failing.
fn hourly(hours: i64, total: i64, errors: i64) -> Vec<SloIntervalInput> {
    let at = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    (0..hours)
        .map(|h| SloIntervalInput {
            start: at(T0 - (h + 1) * HOUR),
            end: at(T0 - h * HOUR),
            good: total - errors,
            total,
        })
        .collect()
}

fn push(entity: &str, intervals: Vec<SloIntervalInput>) -> SloEventsInput {
    SloEventsInput {
        entity: entity.into(),
        slo: "requests-availability".into(),
        environment: "prod".into(),
        intervals,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_from_pushed_counts_equal_hand_computed_figures() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        // 48 hours of 10,000 requests an hour; the last hour 50 errors, earlier hours 2.
        let mut intervals = hourly(48, 10_000, 2);
        intervals[0].good = 10_000 - 50;
        let ann = actor("user:default/ann", Role::Member);
        let w = app
            .push_slo_events(&ann, push("shop", intervals))
            .await
            .unwrap();
        assert_eq!(
            (w.entity.as_str(), w.intervals),
            ("component:default/shop", 48)
        );
        let slos = app
            .entity_slos(&Actor::Anonymous, "shop", None)
            .await
            .unwrap();
        assert_eq!(
            slos.environment, "prod",
            "the production environment by default"
        );
        assert_eq!(slos.source, BudgetSource::Pushed);
        assert_eq!(slos.file, "slo/shop.yaml");
        let b = &slos.budgets[0];
        // Over the period: (50 + 47×2) errors of 480,000 requests.
        let period_ratio = (50.0 + 47.0 * 2.0) / 480_000.0;
        assert!(close(b.sli.unwrap(), 1.0 - period_ratio));
        assert!(close(b.remaining.unwrap(), 1.0 - period_ratio / 0.001));
        let burn = |w: &str| {
            b.windows
                .iter()
                .find(|x| x.window.to_string() == w)
                .and_then(|x| x.burn_rate)
                .unwrap()
        };
        // The last hour: 50 / 10,000 = 0.005, five times the budget rate.
        assert!(close(burn("1h"), 5.0));
        // Six hours: (50 + 5×2) / 60,000.
        assert!(close(burn("6h"), (60.0 / 60_000.0) / 0.001));
        assert!(close(burn("1d"), (50.0 + 23.0 * 2.0) / 240_000.0 / 0.001));
        // An interval counts in every window its end falls in: the last hour ended at T0, so
        // the 5m and 30m windows hold it alone.
        assert!(close(burn("5m"), 5.0));
        assert!(close(burn("30m"), 5.0));
        assert!(b.firing.is_empty(), "a page needs both windows burning");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owning_team_or_an_admin_may_push_counts() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        let e = app
            .push_slo_events(&Actor::Anonymous, push("shop", hourly(1, 10, 0)))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unauthenticated);
        let viewer = actor("user:default/val", Role::Viewer);
        let e = app
            .push_slo_events(&viewer, push("shop", hourly(1, 10, 0)))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden);
        let bob = actor("user:default/bob", Role::Member);
        let e = app
            .push_slo_events(&bob, push("shop", hourly(1, 10, 10)))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "another team's member");
        app.push_slo_events(&admin(), push("shop", hourly(1, 10, 0)))
            .await
            .unwrap();
        let denied = app
            .store
            .audit_log(10)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "slo.events" && e.outcome == "denied")
            .count();
        assert_eq!(denied, 3, "every refusal is audited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_for_an_slo_the_file_does_not_define_are_refused() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        let mut input = push("shop", hourly(1, 10, 0));
        input.slo = "latency".into();
        let e = app.push_slo_events(&admin(), input).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("no SLO named \"latency\""), "{e}");
        let e = app
            .push_slo_events(&admin(), push("plain", hourly(1, 10, 0)))
            .await
            .unwrap_err();
        assert!(e.message.contains("has no SLO file"), "{e}");
        let mut bad = hourly(1, 10, 0);
        bad[0].good = 11;
        let e = app
            .push_slo_events(&admin(), push("shop", bad))
            .await
            .unwrap_err();
        assert!(e.message.contains("cannot outnumber"), "{e}");
    }
}

/// Two deploys to prod (images 1 and 2) while the budget is whole, then a bad hour that spends
/// it all.
async fn spend_the_budget(app: &App) {
    app.deploy(&admin(), workload("ghcr.io/acme/shop:1"))
        .await
        .unwrap();
    app.deploy(&admin(), workload("ghcr.io/acme/shop:2"))
        .await
        .unwrap();
    // 30 days' worth of budget is 0.1% of requests: 100 errors in 1,000 requests is far past it.
    app.push_slo_events(&admin(), push("shop", hourly(1, 1_000, 100)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_production_deploy_with_a_spent_budget_is_flagged_by_default() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        spend_the_budget(&app).await;
        let d = app
            .deploy(&admin(), workload("ghcr.io/acme/shop:3"))
            .await
            .unwrap();
        assert_eq!(d.version, "3");
        let results = app
            .store
            .policy_results("component:default/shop", Some("prod"), 1)
            .await
            .unwrap();
        assert_eq!(results[0].outcome, "warn");
        let warnings = results[0].findings["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0]["rule"], "slo-budget-exhausted");
        let text = warnings[0]["text"].as_str().unwrap();
        assert!(
            text.contains("requests-availability (-9900.0% of its 30d budget left)"),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denying_gate_blocks_the_deploy_but_not_a_rollback() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), Some(SloGate::Deny)).await else {
            continue;
        };
        spend_the_budget(&app).await;
        let e = app
            .deploy(&admin(), workload("ghcr.io/acme/shop:3"))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BlockedByGuardrails);
        assert!(
            e.detail_lines()
                .iter()
                .any(|l| l.contains("[slo-budget-exhausted]")),
            "{e:?}"
        );
        let back = app.rollback(&admin(), "shop", "prod").await.unwrap();
        assert_eq!(back.version, "1");
        assert_eq!(back.kind, "rollback");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiver_lets_a_deploy_through_a_denying_gate() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), Some(SloGate::Deny)).await else {
            continue;
        };
        spend_the_budget(&app).await;
        app.create_waiver(
            &admin(),
            NewWaiver {
                rule: "slo-budget-exhausted".into(),
                entity: "shop".into(),
                environment: "prod".into(),
                reason: "hotfix for the outage".into(),
                owner: "team-a".into(),
                expires_at: T0 + HOUR,
            },
        )
        .await
        .unwrap();
        let d = app
            .deploy(&admin(), workload("ghcr.io/acme/shop:3"))
            .await
            .unwrap();
        assert_eq!(d.version, "3");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_production_and_with_budget_left_nothing_is_flagged() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), Some(SloGate::Deny)).await else {
            continue;
        };
        // A healthy hour: 1 error in 10,000.
        app.push_slo_events(&admin(), push("shop", hourly(1, 10_000, 1)))
            .await
            .unwrap();
        assert!(app.slo_finding("shop", "prod").await.is_none());
        app.push_slo_events(&admin(), push("shop", hourly(1, 1_000, 100)))
            .await
            .unwrap();
        assert!(app.slo_finding("shop", "prod").await.is_some());
        assert!(
            app.slo_finding("shop", "staging").await.is_none(),
            "off outside production"
        );
        assert!(
            app.slo_finding("plain", "prod").await.is_none(),
            "no SLO file"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_refresh_keeps_every_slo_for_the_organisation_list() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        app.push_slo_events(&admin(), push("shop", hourly(1, 1_000, 100)))
            .await
            .unwrap();
        let summary = app.refresh_slo_budgets().await.unwrap();
        assert_eq!(
            (summary.entities, summary.measured, summary.failed),
            (1, 1, 0)
        );
        let o = app
            .slo_overview(&Actor::Anonymous, None, None, None)
            .await
            .unwrap();
        assert_eq!(o.environment, "prod");
        assert_eq!(o.items.len(), 1);
        let s = &o.items[0];
        assert_eq!(
            (s.entity.as_str(), s.slo.as_str()),
            ("component:default/shop", "requests-availability")
        );
        assert!(close(s.remaining.unwrap(), -99.0));
        assert_eq!(s.measured_at, T0);
        assert_eq!(s.budget["objective"], 99.9);
        let e = app
            .slo_overview(&Actor::Anonymous, Some("moon"), None, None)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }
}
