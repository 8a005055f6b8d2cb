//! `GET /api/v1/dora/scopes`: every scope's report in one call, each equal to the report that
//! the scope's own question (`/api/v1/dora/report?scope=…&name=…`) gives.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both_backends};

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: department
  children: [team-a, team-b]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: engineering
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  parent: engineering
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: idle
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Domain
metadata:
  name: commerce
spec:
  owner: engineering
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
  domain: commerce
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: books
spec:
  owner: team-b
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: shop
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
spec:
  type: service
  lifecycle: production
  owner: team-b
  system: books
";

/// Deployments (one failed, one to staging), changes, incidents (named and unnamed causes,
/// one open) over three services and one the catalog does not know.
const EVENTS: &str = r#"{"type":"change","id":"c1","service":"payments","committed_at":"2026-01-04T08:00:00Z"}
{"type":"change","id":"c2","service":"payments","committed_at":"2026-01-04T10:00:00+02:00"}
{"type":"change","id":"c3","service":"checkout","committed_at":"2026-01-05T01:00:00Z"}
{"type":"change","id":"c4","service":"ledger","committed_at":"2026-01-06T01:00:00.250Z"}
{"type":"deployment","id":"d1","service":"payments","environment":"production","finished_at":"2026-01-05T10:00:00Z","changes":["c1","c2"]}
{"type":"deployment","id":"d2","service":"checkout","environment":"prod","finished_at":"2026-01-05T12:00:00Z","changes":["c3"]}
{"type":"deployment","id":"d3","service":"checkout","environment":"production","status":"failure","finished_at":"2026-01-06T12:00:00Z"}
{"type":"deployment","id":"d4","service":"ledger","environment":"production","finished_at":"2026-01-07T09:30:00+01:00","changes":["c4"]}
{"type":"deployment","id":"d5","service":"ledger","environment":"staging","finished_at":"2026-01-08T09:00:00Z"}
{"type":"deployment","id":"d6","service":"ghost","environment":"production","finished_at":"2026-01-09T09:00:00Z"}
{"type":"incident","id":"i1","service":"payments","started_at":"2026-01-05T11:00:00Z","resolved_at":"2026-01-05T13:00:00Z","deployment":"d1"}
{"type":"incident","id":"i2","service":"ledger","started_at":"2026-01-07T12:00:00Z","resolved_at":"2026-01-07T12:45:00Z"}
{"type":"incident","id":"i3","service":"checkout","started_at":"2026-01-10T12:00:00Z"}
"#;

const WINDOW: &str = "from=2026-01-01T00:00:00Z&to=2026-01-15T00:00:00Z";

async fn get(s: &Server, path: &str) -> Value {
    let (status, v) = s.call("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    v
}

async fn setup(backend: &str) -> Option<Server> {
    let config = socle_api::ServerConfig {
        refresh_interval: None,
        ..Default::default()
    };
    let s = crate::harness::start_with(backend, config).await?;
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), ORG).unwrap();
    s.register(&dir).await;
    let (status, t) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "ci", "subject": "serviceaccount:ci", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let auth = format!("Bearer {}", t["secret"].as_str().unwrap());
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let (status, r) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &headers,
            EVENTS.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    Some(s)
}

/// The scope's own report, without what only the single report says (`unknown_services`).
async fn own_report(s: &Server, scope: &str, name: Option<&str>) -> Value {
    let name = name.map_or(String::new(), |n| format!("&name={n}"));
    let mut r = get(
        s,
        &format!("/api/v1/dora/report?scope={scope}{name}&weekly=false&{WINDOW}"),
    )
    .await;
    r.as_object_mut().unwrap().remove("unknown_services");
    r
}

/// Every entry of the all-scopes answer equals the scope's own report, and every scope is
/// there: the organisation, 4 teams, 2 systems, 1 domain, 4 services with events.
async fn every_scope_equals_its_own_report(backend: &str) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let all = get(&s, &format!("/api/v1/dora/scopes?{WINDOW}")).await;
    assert_eq!(all["from"], "2026-01-01T00:00:00Z");
    assert_eq!(all["organisation"], own_report(&s, "org", None).await);
    assert_eq!(all["organisation"]["deployments"], 4, "{all}");
    let labels = |k: &str| -> Vec<String> {
        all[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["scope"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        labels("teams"),
        [
            "group:default/engineering",
            "group:default/idle",
            "group:default/team-a",
            "group:default/team-b"
        ]
    );
    assert_eq!(
        labels("systems"),
        ["system:default/books", "system:default/shop"]
    );
    assert_eq!(labels("domains"), ["domain:default/commerce"]);
    assert_eq!(
        labels("services"),
        [
            "service checkout",
            "service ghost",
            "service ledger",
            "service payments"
        ]
    );
    for (key, scope) in [
        ("teams", "team"),
        ("systems", "system"),
        ("domains", "domain"),
        ("services", "service"),
    ] {
        for entry in all[key].as_array().unwrap() {
            let label = entry["scope"].as_str().unwrap();
            let name = label.strip_prefix("service ").unwrap_or(label);
            assert_eq!(*entry, own_report(&s, scope, Some(name)).await, "{label}");
        }
    }
    // The figures are the scope's: team-a owns payments (d1 caused i1, which names it) and
    // checkout (d2, its latest production deployment before i3 started, caused i3).
    let team_a = &all["teams"][2];
    assert_eq!(team_a["deployments"], 2, "{team_a}");
    assert_eq!(team_a["failed_deployments"], 2, "{team_a}");
    assert_eq!(team_a["changes"], 3, "{team_a}");
}

both_backends!(every_scope_equals_its_own_report);

/// A malformed window is refused as the single report refuses it; no token is needed to read
/// reports (as for `/api/v1/dora/report`).
async fn a_malformed_window_is_a_bad_request(backend: &str) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let (status, e) = s
        .call("GET", "/api/v1/dora/scopes?since=forever", None, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, e) = s
        .call(
            "GET",
            "/api/v1/dora/scopes?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
}

both_backends!(a_malformed_window_is_a_bad_request);
