//! SLOs over HTTP: counts pushed by the owning team reach the entity's budgets; anonymous
//! callers, viewers and other teams cannot push; an unknown environment or SLO is a 400. On
//! SQLite and PostgreSQL.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve
spec:
  memberOf: [team-b]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
  annotations:
    socle.dev/slo: slo.yaml
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const SLO: &str = r#"version: "prometheus/v1"
service: "shop"
slos:
  - name: "availability"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="shop"}[{{.window}}]))
    alerting:
      page_alert:
        disable: true
      ticket_alert:
        disable: true
"#;

async fn setup(s: &Server) -> (String, String, String) {
    std::fs::write(s.catalog_dir().join("slo.yaml"), SLO).unwrap();
    s.register_catalog(ORG).await;
    (
        s.token("ann", "member").await,
        s.token("eve", "member").await,
        s.token("ann", "viewer").await,
    )
}

/// Counts for the hour before now: `errors` of 1,000 failing.
fn hour(errors: i64) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let fmt = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    json!({"entity": "shop", "slo": "availability", "environment": "prod",
           "intervals": [{"start": fmt(now - 3600), "end": fmt(now - 1), "good": 1000 - errors, "total": 1000}]})
}

async fn pushed_counts_give_the_entitys_budget(s: &Server) {
    let (ann, _, _) = setup(s).await;
    let (status, body) = s
        .call("POST", "/api/v1/slo/events", Some(&ann), Some(hour(5)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["intervals"], 1);
    assert_eq!(body["entity"], "component:default/shop");
    let (status, slos) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/shop/slos",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{slos}");
    assert_eq!(slos["environment"], "prod");
    assert_eq!(slos["source"]["type"], "pushed");
    let b = &slos["budgets"][0];
    assert_eq!(b["slo"], "availability");
    // 5 errors in 1,000 against a 1% budget: half of it left.
    assert!((b["remaining"].as_f64().unwrap() - 0.5).abs() < 1e-9, "{b}");
    assert!((b["sli"].as_f64().unwrap() - 0.995).abs() < 1e-9, "{b}");
}
both!(pushed_counts_give_the_entitys_budget);

async fn only_the_owning_team_may_push(s: &Server) {
    let (_, eve, viewer) = setup(s).await;
    let (status, body) = s
        .call("POST", "/api/v1/slo/events", None, Some(hour(1)))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = s
        .call("POST", "/api/v1/slo/events", Some(&viewer), Some(hour(1)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = s
        .call("POST", "/api/v1/slo/events", Some(&eve), Some(hour(1000)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another team: {body}");
    // Nothing was recorded: the budget has no data.
    let (_, slos) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/shop/slos",
            None,
            None,
        )
        .await;
    assert_eq!(slos["budgets"][0]["remaining"], Value::Null, "{slos}");
}
both!(only_the_owning_team_may_push);

async fn an_unknown_environment_or_slo_is_a_bad_request(s: &Server) {
    let (ann, _, _) = setup(s).await;
    let mut body = hour(1);
    body["environment"] = json!("moon");
    let (status, e) = s
        .call("POST", "/api/v1/slo/events", Some(&ann), Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown environment"),
        "{e}"
    );
    let mut body = hour(1);
    body["slo"] = json!("latency");
    let (status, e) = s
        .call("POST", "/api/v1/slo/events", Some(&ann), Some(body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, e) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/shop/slos?environment=moon",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
}
both!(an_unknown_environment_or_slo_is_a_bad_request);
