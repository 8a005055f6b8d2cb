//! Delivery metrics over HTTP: JSON Lines import (all-or-nothing, partial), scopes from the
//! catalog, verified webhooks, generic incidents, and Socle's own deployments feeding the events.

use hmac::Mac;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::Server;

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: department
  children: [team-a]
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
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
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
  name: ledger
spec:
  type: service
  lifecycle: production
  owner: team-b
";

const EVENTS: &str = r#"{"type":"deployment","id":"d1","service":"payments","environment":"production","status":"success","finished_at":"2026-01-05T10:00:00Z","changes":["c1","c2"]}
{"type":"change","id":"c1","service":"payments","committed_at":"2026-01-04T08:00:00Z"}
{"type":"change","id":"c2","service":"payments","committed_at":"2026-01-04T10:00:00+02:00"}
{"type":"deployment","id":"d2","service":"ledger","environment":"prod","status":"success","finished_at":"2026-01-06T10:00:00Z","changes":[]}
{"type":"deployment","id":"d3","service":"ghost","environment":"prod","status":"success","finished_at":"2026-01-06T12:00:00Z"}
"#;

const WINDOW: &str = "from=2026-01-01T00:00:00Z&to=2026-01-15T00:00:00Z";

/// The organisation's CI: a service account belongs to no team, so it records events for every
/// service only with the admin role (a member records them for their own teams' services).
async fn member(s: &Server) -> String {
    let (status, t) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "ci", "subject": "serviceaccount:ci", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    t["secret"].as_str().unwrap().to_owned()
}

async fn report(s: &Server, query: &str) -> Value {
    let (status, r) = s
        .call(
            "GET",
            &format!("/api/v1/dora/report?{query}&{WINDOW}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn delivery_metrics_over_http(backend: &str) {
    let config = socle_api::ServerConfig {
        refresh_interval: None,
        github_webhook_secret: Some("gh-secret".into()),
        gitlab_webhook_token: Some("gl-token".into()),
        ..Default::default()
    };
    let Some(s) = crate::harness::start_with(backend, config).await else {
        return;
    };
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), ORG).unwrap();
    s.register(&dir).await;
    let ci = member(&s).await;
    let auth = format!("Bearer {ci}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];

    // Importing needs a token.
    let (status, _) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &[],
            EVENTS.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A malformed line rejects the whole import by default, naming every bad line.
    let bad = format!(
        "{EVENTS}not json\n{{\"type\":\"change\",\"id\":\"c9\",\"service\":\"payments\",\"committed_at\":\"2026-01-04T08:00:00\"}}\n"
    );
    let (status, e) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &headers,
            bad.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let lines: Vec<u64> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![6, 7]);
    assert!(
        e["error"]["details"][1]["message"]
            .as_str()
            .unwrap()
            .contains("no timezone")
    );
    assert_eq!(
        report(&s, "scope=org").await["deployments"],
        0,
        "nothing was imported"
    );
    // partial=true keeps the valid lines and still lists the others.
    let (status, r) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events?partial=true",
            &headers,
            bad.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["received"].as_u64(), r["changed"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(r["errors"].as_array().unwrap().len(), 2);
    assert_eq!(r["unknown_services"], json!(["ghost"]));
    // Re-sent: nothing changes.
    let (_, r) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &headers,
            EVENTS.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(r["changed"], 0, "{r}");

    // Scopes come from the catalog: engineering includes its child team-a (payments).
    let org = report(&s, "scope=org&weekly=false").await;
    assert_eq!(org["deployments"], 3);
    assert_eq!(org["unknown_services"], json!(["ghost"]));
    assert!(org.get("weekly").is_none());
    let eng = report(&s, "scope=team&name=engineering").await;
    assert_eq!(
        (eng["services"].as_u64(), eng["deployments"].as_u64()),
        (Some(1), Some(1))
    );
    // c1 26 h, c2 (08:00Z) 26 h → 26.
    assert_eq!(eng["lead_time_median_hours"], 26.0);
    assert_eq!(eng["levels"]["lead_time"], "high");
    assert_eq!(eng["weekly"].as_array().unwrap().len(), 2);
    let b = report(&s, "scope=team&name=group:default/team-b").await;
    assert_eq!(b["deployments"], 1);
    assert!(b["lead_time_median_hours"].is_null(), "no data, not zero");
    assert!(b["change_failure_rate"].as_f64() == Some(0.0));
    let sys = report(&s, "scope=system&name=shop").await;
    assert_eq!(sys["deployments"], 1);
    let (status, e) = s
        .call(
            "GET",
            &format!("/api/v1/dora/report?scope=team&name=nobody&{WINDOW}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, _) = s
        .call(
            "GET",
            "/api/v1/dora/report?scope=org&from=2026-01-01T00:00:00",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A generic incident (PagerDuty-style) with no cause: attributed to payments' d1.
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/dora/incidents",
            Some(&ci),
            Some(json!({"id": "INC-1", "service": "payments", "started_at": "2026-01-05T12:00:00Z", "resolved_at": "2026-01-05T13:30:00Z", "source": "pagerduty"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let p = report(&s, "scope=service&name=payments").await;
    assert_eq!(p["change_failure_rate"], 1.0);
    assert_eq!(p["recovery_time_median_hours"], 1.5);

    // GitHub: a push (two commits) then a successful deployment of the second: the commits'
    // parents give the range; a forged signature is refused.
    let push = json!({
        "ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000",
        "after": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "deleted": false,
        "repository": {"name": "ledger", "full_name": "acme/ledger"},
        "commits": [
            {"id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "timestamp": "2026-01-07T08:00:00+01:00", "message": "one"},
            {"id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "timestamp": "2026-01-07T09:00:00+01:00", "message": "two"}
        ]
    })
    .to_string()
    .into_bytes();
    let forged = sign("wrong", &push);
    let (status, e) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/webhooks/github",
            &[("x-github-event", "push"), ("x-hub-signature-256", &forged)],
            push.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
    let (status, _) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/webhooks/github",
            &[("x-github-event", "push")],
            push.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let sig = sign("gh-secret", &push);
    let (status, r) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/webhooks/github",
            &[("x-github-event", "push"), ("x-hub-signature-256", &sig)],
            push,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["changed"], 2);
    let status_event = json!({
        "action": "created",
        "deployment_status": {"state": "success", "environment": "production", "created_at": "2026-01-07T12:00:00Z", "updated_at": "2026-01-07T12:00:00Z"},
        "deployment": {"id": 42, "sha": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "environment": "production"},
        "repository": {"name": "ledger", "full_name": "acme/ledger"}
    })
    .to_string()
    .into_bytes();
    let sig = sign("gh-secret", &status_event);
    let (status, r) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/webhooks/github",
            &[
                ("x-github-event", "deployment_status"),
                ("x-hub-signature-256", &sig),
            ],
            status_event,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let l = report(&s, "scope=service&name=ledger").await;
    assert_eq!(l["deployments"], 2);
    // a: 07:00Z → 12:00Z = 5 h, b: 08:00Z → 4 h → median 4.5.
    assert_eq!(l["lead_time_median_hours"], 4.5, "{l}");

    // GitLab: the token must match.
    let (status, _) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/webhooks/gitlab",
            &[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "nope")],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Socle's own deployments are delivery events: a deploy to prod counts for payments.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let workload = "apiVersion: score.dev/v1b1\nmetadata:\n  name: payments\ncontainers:\n  main:\n    image: .\n";
    let (status, d) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&s.admin),
            Some(json!({"workload": workload, "environment": "prod", "image": "ghcr.io/acme/payments:1.0.0", "source_commit": "cccccccccccccccccccccccccccccccccccccccc"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let (status, r) = s
        .call(
            "GET",
            &format!(
                "/api/v1/dora/report?scope=service&name=payments&since=1d&weekly=false&to={}",
                {
                    let t = time::OffsetDateTime::from_unix_timestamp(now as i64 + 60).unwrap();
                    t.format(&time::format_description::well_known::Rfc3339)
                        .unwrap()
                }
            ),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["deployments"], 1, "{r}");

    // Every team at once.
    let (status, teams) = s
        .call("GET", &format!("/api/v1/dora/teams?{WINDOW}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "group:default/engineering",
            "group:default/team-a",
            "group:default/team-b"
        ]
    );
}

mod delivery_metrics_over_http {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::delivery_metrics_over_http("sqlite").await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::delivery_metrics_over_http("postgres").await;
    }
}
