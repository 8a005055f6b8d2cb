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
    app_with(backend, dir, gate, None).await
}

/// [`app`] with the platform's own guardrail policies.
async fn app_with(
    backend: Backend,
    dir: &std::path::Path,
    gate: Option<SloGate>,
    guardrails: Option<socle_policy::PolicySet>,
) -> Option<Arc<App>> {
    let mut platform = socle_platform::default_config();
    platform.environments.get_mut("prod").unwrap().slo.gate = gate;
    setup(backend, dir, platform, guardrails, FixedClock::at(T0)).await
}

/// The application on `platform` with the organisation's catalog (a directory: `org.yaml` and
/// the SLO file beside it).
async fn setup(
    backend: Backend,
    dir: &std::path::Path,
    platform: socle_platform::PlatformConfig,
    guardrails: Option<socle_policy::PolicySet>,
    clock: Arc<FixedClock>,
) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        platform,
        guardrails,
        ..Default::default()
    };
    let app = App::with_clock(store, settings, clock).await.unwrap();
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
        assert!(app.slo_finding("shop", "prod").await.0.is_none());
        app.push_slo_events(&admin(), push("shop", hourly(1, 1_000, 100)))
            .await
            .unwrap();
        assert!(app.slo_finding("shop", "prod").await.0.is_some());
        assert!(
            app.slo_finding("shop", "staging").await.0.is_none(),
            "off outside production"
        );
        assert!(
            app.slo_finding("plain", "prod").await.0.is_none(),
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

/// A platform's own policy deciding on the deploy's context (`data.socle.deploy`): no deploy
/// but a rollback to production while any budget is spent; every message names the state seen.
const CONTEXT_POLICY: &str = r#"package main

import rego.v1

deny contains msg if {
	d := data.socle.deploy
	d.action != "rollback"
	d.environment_type == "production"
	some b in d.slo.budgets
	b.exhausted
	msg := sprintf("%s %s to %s: %s spent (state %s, exhausted %v)", [d.action, d.service, d.environment, b.slo, d.slo.source, d.slo.exhausted])
}
"#;

fn context_policy() -> socle_policy::PolicySet {
    socle_policy::PolicySet::load(&[("platform.rego".into(), CONTEXT_POLICY.into())], "main")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policies_see_the_measured_slo_state_of_a_gated_deploy() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app_with(backend, dir.path(), None, Some(context_policy())).await else {
            continue;
        };
        spend_the_budget(&app).await;
        let e = app
            .deploy(&admin(), workload("ghcr.io/acme/shop:3"))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BlockedByGuardrails);
        let lines = e.detail_lines();
        assert!(
            lines.iter().any(|l| l.contains(
                "deploy shop to prod: requests-availability spent (state measured, exhausted true)"
            )),
            "{lines:?}"
        );
        // The built-in finding is there too, as a warning (the default gate).
        let back = app.rollback(&admin(), "shop", "prod").await.unwrap();
        assert_eq!(back.version, "1", "the policy lets rollbacks through");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_gate_off_the_policies_see_the_kept_budgets() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app_with(
            backend,
            dir.path(),
            Some(SloGate::Off),
            Some(context_policy()),
        )
        .await
        else {
            continue;
        };
        spend_the_budget(&app).await;
        // The gate measures nothing; the push kept the budgets it spent, and the policies see
        // them.
        let e = app
            .deploy(&admin(), workload("ghcr.io/acme/shop:3"))
            .await
            .unwrap_err();
        let lines = e.detail_lines();
        assert!(
            lines.iter().any(|l| l.contains(
                "deploy shop to prod: requests-availability spent (state kept, exhausted true)"
            )),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("[slo-budget-exhausted]")),
            "the built-in gate is off: {lines:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_without_slos_shows_the_policies_no_state() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        let (finding, state) = app.slo_finding("plain", "prod").await;
        assert!(finding.is_none());
        assert_eq!(state.source, socle_app::slo::gate::SloStateSource::None);
        assert!(!state.exhausted);
        assert!(state.budgets.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_is_in_the_organisation_list_at_once() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path(), None).await else {
            continue;
        };
        app.push_slo_events(&admin(), push("shop", hourly(1, 1_000, 100)))
            .await
            .unwrap();
        let o = app
            .slo_overview(&Actor::Anonymous, None, None, None)
            .await
            .unwrap();
        assert_eq!(o.items.len(), 1);
        assert_eq!(o.items[0].entity, "component:default/shop");
        // 100 errors in 1,000 requests, the only counts in the period: 100 budgets' worth.
        assert!(close(o.items[0].remaining.unwrap(), 1.0 - 0.1 / 0.001));
    }
}

/// An environment measured by a Prometheus that does not answer (a closed port).
async fn app_with_dead_prometheus(
    backend: Backend,
    dir: &std::path::Path,
    clock: Arc<FixedClock>,
) -> Option<Arc<App>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut platform = socle_platform::default_config();
    platform
        .environments
        .get_mut("prod")
        .unwrap()
        .slo
        .prometheus_url = Some(format!("http://127.0.0.1:{port}"));
    setup(backend, dir, platform, None, clock).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_slo_page_serves_budgets_kept_less_than_thirty_seconds_ago_without_asking_prometheus() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let clock = FixedClock::at(T0);
        let Some(app) = app_with_dead_prometheus(backend, dir.path(), clock.clone()).await else {
            continue;
        };
        // Nothing kept: the page asks Prometheus, which does not answer.
        let e = app
            .entity_slos(&Actor::Anonymous, "shop", None)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}");
        // A budget kept 10 s ago (the periodic pass, or another replica) is served as it was.
        let budget = serde_json::json!({
            "id": "shop-requests-availability", "service": "shop", "slo": "requests-availability",
            "objective": 99.9, "period": "30d", "sli": 0.9995, "errorBudget": 0.001,
            "remaining": 0.5, "windows": [], "secondsToExhaustion": null, "firing": []
        });
        app.store
            .save_slo_status(
                "component:default/shop",
                "prod",
                &[socle_store::SloStatus {
                    entity: "component:default/shop".into(),
                    environment: "prod".into(),
                    slo: "requests-availability".into(),
                    measured_at: T0 - 10_000,
                    remaining: Some(0.5),
                    budget,
                }],
            )
            .await
            .unwrap();
        let slos = app
            .entity_slos(&Actor::Anonymous, "shop", None)
            .await
            .unwrap();
        assert_eq!(slos.measured_at, T0 - 10_000);
        assert_eq!(slos.budgets.len(), 1);
        assert_eq!(slos.budgets[0].remaining, Some(0.5));
        assert!(matches!(slos.source, BudgetSource::Prometheus { .. }));
        // 30 s after it was measured it is stale: Prometheus is asked again.
        clock.advance(20_000);
        let e = app
            .entity_slos(&Actor::Anonymous, "shop", None)
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Unavailable, "{e:?}");
    }
}
