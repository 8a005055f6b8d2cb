//! A data product's quality history and lineage through `App`: runs recorded by its owners only
//! (verdicts recounted from the checks, samples never kept, audited), read by anyone who may
//! read the catalog; lineage followed upstream and downstream through the catalog's relations.

use std::sync::Arc;

use serde_json::json;
use socle_app::data_quality::{PostedRun, QualityCheck};
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock};
use socle_store::{LocationTrust, QualityOrigin, QualityVerdict, Role, Store};
use socle_testkit::Backend;

use crate::support::{register, user};

const T0: i64 = 1_780_000_000_000;
const ORDERS: &str = "datacontract:default/orders";

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-checkout}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: analytics}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: olga}
spec: {memberOf: [team-checkout]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: eve}
spec: {memberOf: [analytics]}
";

/// job → orders-raw (bronze) → orders (silver, from the example, also produced by cart-service)
/// → revenue (gold) → dashboard. The job's own dependency (payments) is not data lineage.
const LINEAGE: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: cart-service}
spec: {type: service, lifecycle: production, owner: team-checkout}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: shop-ingest}
spec: {type: pipeline, lifecycle: production, owner: team-checkout, dependsOn: [component:default/payments]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments}
spec: {type: service, lifecycle: production, owner: team-checkout}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: revenue-dashboard}
spec: {type: website, lifecycle: production, owner: analytics}
---
apiVersion: socle.dev/v1alpha1
kind: DataContract
metadata: {name: orders-raw}
spec: {type: data-product, lifecycle: active, owner: team-checkout, tier: bronze, dependsOn: [component:default/shop-ingest], dependencyOf: ['datacontract:default/orders']}
---
apiVersion: socle.dev/v1alpha1
kind: DataContract
metadata: {name: revenue}
spec: {type: data-product, lifecycle: active, owner: analytics, tier: gold, dependsOn: ['datacontract:default/orders'], dependencyOf: [component:default/revenue-dashboard]}
";

const DATA_CARD: &str = "apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata: {name: data-health}
spec:
  filter: {kind: DataContract}
  rules:
    - id: quality
      check: {builtin: data-quality-passing}
    - id: fresh
      check: {builtin: data-fresh, params: {max_hours: 3}}
";

const CONTRACT: &str = include_str!("../../../../examples/orders.odcs.yaml");

async fn app(backend: Backend, dir: &std::path::Path) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let cards = socle_scorecard::load(DATA_CARD, "data.yaml").unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        scorecards: socle_app::scorecards::Scorecards::new(cards).unwrap(),
        ..Default::default()
    };
    let app = App::with_clock(store, settings, FixedClock::at(T0))
        .await
        .unwrap();
    register(&app, dir, "org.yaml", ORG, LocationTrust::Organisation).await;
    register(&app, dir, "orders.odcs.yaml", CONTRACT, LocationTrust::Team).await;
    register(&app, dir, "lineage.yaml", LINEAGE, LocationTrust::Team).await;
    Some(app)
}

/// What `socle data test -o json` prints, with a summary that lies and a failed-row sample.
fn posted() -> PostedRun {
    serde_json::from_value(json!({
        "file": "orders.odcs.yaml", "contract": "orders", "server": "production",
        "result": "passed", "counts": {"passed": 3, "warning": 0, "failed": 0, "error": 0},
        "durationMs": 840,
        "checks": [
            {"key": "orders__row_count", "category": "quality", "type": "row_count", "name": "Row count",
             "table": "orders", "metric": "rowCount", "result": "passed", "value": 1200, "threshold": ">= 1000"},
            {"key": "orders__customer_email__not_null", "category": "schema", "type": "field_required",
             "name": "customer_email is not null", "table": "orders", "field": "customer_email",
             "metric": "nullValues", "result": "failed", "value": 2, "reason": "2 null values",
             "samples": [{"order_id": "o-1", "customer_email": "ann@example.com"}]},
            {"key": "orders__placed_at__freshness", "category": "servicelevel", "type": "freshness",
             "name": "Freshness of orders.placed_at < 86400s", "table": "orders", "field": "placed_at",
             "metric": "freshness", "result": "passed", "value": "2026-05-28T10:00:00Z",
             "threshold": "< 86400s", "age_seconds": 7200}
        ]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_records_a_run_recounted_from_its_checks_without_samples() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let olga = user("olga", Role::Member);
        let r = app
            .record_data_quality(&olga, "orders", posted())
            .await
            .unwrap();
        assert_eq!(r.product, "datacontract:default/orders");
        assert_eq!(
            r.result,
            QualityVerdict::Failed,
            "the posted summary is not believed"
        );
        assert_eq!((r.counts.passed, r.counts.failed), (2, 1));
        assert_eq!(r.freshness_s, Some(7200));
        assert_eq!(
            (r.origin, r.ran_at, r.duration_ms),
            (QualityOrigin::Api, T0, 840)
        );
        assert_eq!(r.recorded_by, "user:default/olga");
        let h = app
            .data_quality_history(&user("eve", Role::Viewer), "orders", 10)
            .await
            .unwrap();
        assert_eq!(h.runs.len(), 1);
        let latest = h.latest.unwrap();
        let text = latest.checks.to_string();
        assert!(
            !text.contains("ann@example.com"),
            "no sample is kept: {text}"
        );
        assert!(!text.contains("samples"), "{text}");
        assert_eq!(latest.checks[1]["reason"], "2 null values");
        let log = app.store.audit_log(5).await.unwrap();
        assert_eq!(log[0].action, "data_quality.record");
        assert_eq!(log[0].outcome, "ok");
        assert_eq!(log[0].target, "orders");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owners_or_an_admin_record_runs() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let cases = [
            (user("eve", Role::Member), ErrorCode::Forbidden),
            (user("olga", Role::Viewer), ErrorCode::Forbidden),
            (Actor::Anonymous, ErrorCode::Unauthenticated),
        ];
        for (actor, code) in cases {
            let err = app
                .record_data_quality(&actor, "orders", posted())
                .await
                .unwrap_err();
            assert_eq!(err.code, code, "{actor:?}: {err:?}");
        }
        let err = app
            .record_data_quality(&user("olga", Role::Member), "nope", posted())
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(
            app.store
                .quality_history("datacontract:default/orders", 10)
                .await
                .unwrap()
                .is_empty()
        );
        let log = app.store.audit_log(10).await.unwrap();
        assert_eq!(log.len(), 4);
        assert!(
            log.iter()
                .all(|e| e.action == "data_quality.record" && e.outcome != "ok")
        );
        app.record_data_quality(&user("root", Role::Admin), "orders", posted())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_too_many_checks_is_refused_and_long_texts_are_clipped() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let olga = user("olga", Role::Member);
        let one: QualityCheck = posted().checks[0].clone();
        let mut many = posted();
        many.checks = vec![one.clone(); socle_app::data_quality::MAX_CHECKS + 1];
        let err = app
            .record_data_quality(&olga, "orders", many)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidRequest);
        let mut long = posted();
        long.checks[0].reason = Some("x".repeat(50_000));
        long.checks[0].value = Some(json!({"nested": [1, 2, 3]}));
        let r = app
            .record_data_quality(&olga, "orders", long)
            .await
            .unwrap();
        let stored = app.store.quality_run(&r.id).await.unwrap().unwrap();
        let reason = stored.checks[0]["reason"].as_str().unwrap();
        assert_eq!(
            reason.chars().count(),
            socle_app::data_quality::MAX_CHECK_TEXT + 1
        );
        assert!(
            stored.checks[0].get("value").is_none(),
            "a non-scalar value is dropped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_follows_the_catalog_upstream_and_downstream() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let viewer = user("eve", Role::Viewer);
        let l = app.data_lineage(&viewer, "orders", 3).unwrap();
        let nodes: Vec<(&str, i32, Option<&str>)> = l
            .nodes
            .iter()
            .map(|n| (n.entity.as_str(), n.level, n.tier.as_deref()))
            .collect();
        assert_eq!(
            nodes,
            [
                ("component:default/shop-ingest", -2, None),
                ("component:default/cart-service", -1, None),
                ("datacontract:default/orders-raw", -1, Some("bronze")),
                ("datacontract:default/orders", 0, Some("silver")),
                ("datacontract:default/revenue", 1, Some("gold")),
                ("component:default/revenue-dashboard", 2, None),
            ]
        );
        let edges: Vec<(&str, &str)> = l
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(
            edges,
            [
                (
                    "component:default/cart-service",
                    "datacontract:default/orders"
                ),
                (
                    "component:default/shop-ingest",
                    "datacontract:default/orders-raw"
                ),
                (
                    "datacontract:default/orders",
                    "datacontract:default/revenue"
                ),
                (
                    "datacontract:default/orders-raw",
                    "datacontract:default/orders"
                ),
                (
                    "datacontract:default/revenue",
                    "component:default/revenue-dashboard"
                ),
            ]
        );
        let near = app.data_lineage(&viewer, "orders", 1).unwrap();
        assert_eq!(near.nodes.len(), 4, "one level each way");
        assert_eq!(
            app.data_lineage(&viewer, "shop-ingest", 1)
                .unwrap_err()
                .code,
            ErrorCode::NotFound,
            "a component is not a data product"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scorecards_read_a_products_newest_run_as_quality_and_freshness_facts() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(app) = app(backend, dir.path()).await else {
            continue;
        };
        let viewer = user("eve", Role::Viewer);
        let rules = |r: &[socle_scorecard::CardResult]| -> Vec<(String, bool, Option<String>)> {
            r.iter()
                .find(|c| c.scorecard == "data-health")
                .unwrap()
                .rules
                .iter()
                .map(|x| (x.id.clone(), x.passed, x.message.clone()))
                .collect()
        };
        let before = app.entity_scorecards(&viewer, ORDERS).await.unwrap();
        assert_eq!(
            rules(&before),
            [
                ("quality".into(), false, Some("no quality run recorded".into())),
                (
                    "fresh".into(),
                    false,
                    Some("no freshness measured (its contract needs a freshness check, and a recorded run)".into())
                ),
            ]
        );
        app.record_data_quality(&user("olga", Role::Member), "orders", posted())
            .await
            .unwrap();
        let after = app.entity_scorecards(&viewer, ORDERS).await.unwrap();
        assert_eq!(
            rules(&after),
            [
                (
                    "quality".into(),
                    false,
                    Some("1 of its checks failed or erred".into())
                ),
                ("fresh".into(), true, None),
            ],
            "the data is 2 hours old at the run, which is now"
        );
    }
}
