//! Delivery metrics over HTTP: JSON Lines import (all-or-nothing, partial), scopes from the
//! catalog, verified webhooks, generic incidents, and Socle's own deployments feeding the events.

use hmac::Mac;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both_backends};

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

/// A server whose catalog is [`ORG`], with the organisation's CI token (see [`member`]).
async fn setup(backend: &str) -> Option<(Server, String)> {
    let config = socle_api::ServerConfig {
        refresh_interval: None,
        github_webhook_secret: Some("gh-secret".into()),
        gitlab_webhook_token: Some("gl-token".into()),
        ..Default::default()
    };
    let s = crate::harness::start_with(backend, config).await?;
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), ORG).unwrap();
    s.register(&dir).await;
    let ci = member(&s).await;
    Some((s, ci))
}

/// The same, with [`EVENTS`] imported.
async fn setup_with_events(backend: &str) -> Option<(Server, String)> {
    let (s, ci) = setup(backend).await?;
    let (status, r) = import(&s, &ci, "/api/v1/dora/events", EVENTS.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["changed"], 5, "{r}");
    Some((s, ci))
}

/// Posts JSON Lines to `path` with the `ci` token.
async fn import(s: &Server, ci: &str, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let auth = format!("Bearer {ci}");
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    s.call_bytes("POST", path, &headers, body).await
}

/// [`EVENTS`] followed by two bad lines: one not JSON, one a time without a timezone.
fn with_bad_lines() -> String {
    format!(
        "{EVENTS}not json\n{{\"type\":\"change\",\"id\":\"c9\",\"service\":\"payments\",\"committed_at\":\"2026-01-04T08:00:00\"}}\n"
    )
}

/// A GitHub push of two commits to `acme/ledger`.
fn github_push() -> Vec<u8> {
    json!({
        "ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000",
        "after": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "deleted": false,
        "repository": {"name": "ledger", "full_name": "acme/ledger"},
        "commits": [
            {"id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "timestamp": "2026-01-07T08:00:00+01:00", "message": "one"},
            {"id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "timestamp": "2026-01-07T09:00:00+01:00", "message": "two"}
        ]
    })
    .to_string()
    .into_bytes()
}

/// Importing needs a token; webhooks need a valid signature (GitHub) or the shared token (GitLab).
async fn imports_and_webhooks_refuse_callers_without_valid_credentials(backend: &str) {
    let Some((s, _ci)) = setup(backend).await else {
        return;
    };
    let (status, _) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &[],
            EVENTS.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // GitHub: a forged signature is refused, and so is a missing one.
    let push = github_push();
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
            push,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

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
}
both_backends!(imports_and_webhooks_refuse_callers_without_valid_credentials);

/// A malformed line rejects the whole import by default, naming every bad line.
async fn a_malformed_line_rejects_the_whole_import_naming_every_bad_line(backend: &str) {
    let Some((s, ci)) = setup(backend).await else {
        return;
    };
    let (status, e) = import(
        &s,
        &ci,
        "/api/v1/dora/events",
        with_bad_lines().into_bytes(),
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
}
both_backends!(a_malformed_line_rejects_the_whole_import_naming_every_bad_line);

/// partial=true keeps the valid lines and still lists the others; sent again, nothing changes.
async fn a_partial_import_keeps_the_valid_lines_and_a_resend_changes_nothing(backend: &str) {
    let Some((s, ci)) = setup(backend).await else {
        return;
    };
    let (status, r) = import(
        &s,
        &ci,
        "/api/v1/dora/events?partial=true",
        with_bad_lines().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["received"].as_u64(), r["changed"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(r["errors"].as_array().unwrap().len(), 2);
    assert_eq!(r["unknown_services"], json!(["ghost"]));
    let (_, r) = import(&s, &ci, "/api/v1/dora/events", EVENTS.as_bytes().to_vec()).await;
    assert_eq!(r["changed"], 0, "{r}");
}
both_backends!(a_partial_import_keeps_the_valid_lines_and_a_resend_changes_nothing);

/// Scopes come from the catalog: engineering includes its child team-a (payments); an unknown
/// scope is not found and a time without a timezone is refused.
async fn reports_are_scoped_by_the_catalog(backend: &str) {
    let Some((s, _ci)) = setup_with_events(backend).await else {
        return;
    };
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
}
both_backends!(reports_are_scoped_by_the_catalog);

/// A generic incident (PagerDuty-style) with no cause: attributed to payments' d1.
async fn an_incident_without_a_cause_is_attributed_to_the_service_s_last_deployment(backend: &str) {
    let Some((s, ci)) = setup_with_events(backend).await else {
        return;
    };
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
}
both_backends!(an_incident_without_a_cause_is_attributed_to_the_service_s_last_deployment);

/// GitHub: a push (two commits) then a successful deployment of the second: the commits'
/// parents give the range.
async fn github_pushes_and_deployments_give_lead_times_from_commit_ranges(backend: &str) {
    let Some((s, _ci)) = setup_with_events(backend).await else {
        return;
    };
    let push = github_push();
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
}
both_backends!(github_pushes_and_deployments_give_lead_times_from_commit_ranges);

/// Socle's own deployments are delivery events: a deploy to prod counts for payments.
async fn socle_s_own_deployments_are_delivery_events(backend: &str) {
    let Some((s, _ci)) = setup_with_events(backend).await else {
        return;
    };
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
}
both_backends!(socle_s_own_deployments_are_delivery_events);

/// Every team at once.
async fn every_team_is_reported_at_once(backend: &str) {
    let Some((s, _ci)) = setup_with_events(backend).await else {
        return;
    };
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
both_backends!(every_team_is_reported_at_once);
