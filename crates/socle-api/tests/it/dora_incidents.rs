//! Delivery events as real tools send them, over HTTP: a mixed-source history (GitHub commits,
//! Argo CD and GitLab deployments, PagerDuty and GitLab incidents — the hand-computed fixture of
//! socle-dora) links up, incident fields Socle does not read are warnings, and incidents are
//! listed with their title, severity, URL and labels.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

const MIXED: &str = include_str!("../../../socle-dora/tests/it/fixtures/mixed-sources.jsonl");

const CATALOG: &str = "apiVersion: backstage.io/v1alpha1
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
  name: checkout
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: search
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const WINDOW: &str = "from=2026-03-01T00:00:00Z&to=2026-03-15T00:00:00Z";

async fn get(s: &Server, path: &str) -> Value {
    let (status, v) = s.call("GET", path, None, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {v}");
    v
}

async fn import(s: &Server, body: &str) -> (StatusCode, Value) {
    let auth = format!("Bearer {}", s.admin);
    s.call_bytes(
        "POST",
        "/api/v1/dora/events",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/x-ndjson"),
        ],
        body.as_bytes().to_vec(),
    )
    .await
}

fn ids(list: &Value) -> Vec<&str> {
    list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect()
}

async fn mixed_sources_link_and_incidents_keep_their_details(s: &Server) {
    s.register_catalog(CATALOG).await;
    let (status, r) = import(s, MIXED).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["received"], 21);
    assert_eq!(r["errors"], json!([]));
    // One warning per unknown field, not one per line.
    assert_eq!(
        r["warnings"],
        json!([
            {"field": "urgency", "lines": 4, "first_line": 17,
             "message": "field \"urgency\" is not read by Socle: ignored on 4 lines, the first line 17"},
            {"field": "assignee", "lines": 1, "first_line": 20,
             "message": "field \"assignee\" is not read by Socle: ignored on 1 line, the first line 20"}
        ])
    );

    // The hand computation of socle-dora's tests/it/mixed_sources.rs, through the store.
    let org = get(
        s,
        &format!("/api/v1/dora/report?scope=org&weekly=false&{WINDOW}"),
    )
    .await;
    assert_eq!(org["lead_time_median_hours"], 9.0, "{org}");
    assert_eq!(org["recovery_time_median_hours"], 2.75);
    assert_eq!(
        (
            org["deployments"].as_u64(),
            org["failed_deployments"].as_u64()
        ),
        (Some(7), Some(4))
    );
    let checkout = get(
        s,
        &format!("/api/v1/dora/report?scope=service&name=checkout&weekly=false&{WINDOW}"),
    )
    .await;
    assert_eq!(checkout["lead_time_median_hours"], 4.0);
    assert_eq!(checkout["change_failure_rate"], 0.75);
    let search = get(
        s,
        &format!("/api/v1/dora/report?scope=service&name=search&weekly=false&{WINDOW}"),
    )
    .await;
    assert_eq!(search["lead_time_median_hours"], 12.0);
    assert_eq!(search["failed_deployments"], 1);

    // A service's incidents, newest first, with what their tool sent.
    let list = get(
        s,
        &format!("/api/v1/dora/incidents?service=checkout&{WINDOW}"),
    )
    .await;
    assert_eq!(list["scope"], "service checkout");
    assert_eq!(ids(&list), vec!["PD-3", "PD-2", "PD-1"]);
    assert_eq!(
        list["incidents"][2],
        json!({
            "source": "pagerduty", "id": "PD-1", "service": "checkout",
            "started_at": "2026-03-05T10:00:00Z", "resolved_at": "2026-03-05T11:30:00Z",
            "deployment": "checkout-7", "title": "Checkout returns 500s", "severity": "SEV2",
            "url": "https://acme.pagerduty.com/incidents/PD-1",
            "labels": {"region": "eu-west-1", "team": "payments"}
        })
    );
    assert_eq!(list["incidents"][0]["title"], Value::Null);
    assert_eq!(list["incidents"][0]["labels"], json!({}));
    // A team's: both services; the open one (PD-4) too.
    let team = get(
        s,
        &format!("/api/v1/dora/incidents?scope=team&name=team-a&{WINDOW}"),
    )
    .await;
    assert_eq!(ids(&team), vec!["PD-4", "PD-3", "PD-2", "9", "PD-1"]);
    assert_eq!(team["incidents"][0]["resolved_at"], Value::Null);
    let two = get(s, &format!("/api/v1/dora/incidents?limit=2&{WINDOW}")).await;
    assert_eq!(ids(&two), vec!["PD-4", "PD-3"]);
    let (status, _) = s
        .call(
            "GET",
            &format!("/api/v1/dora/incidents?service=checkout&scope=org&{WINDOW}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .call(
            "GET",
            "/api/v1/dora/incidents?scope=team&name=nobody",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(mixed_sources_link_and_incidents_keep_their_details);

async fn a_recorded_incident_keeps_its_details_and_names_the_rest(s: &Server) {
    s.register_catalog(CATALOG).await;
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/dora/incidents",
            Some(&s.admin),
            Some(json!({
                "id": "PD-9", "service": "search", "source": "pagerduty",
                "started_at": "2026-03-03T00:00:00Z", "title": "Search <script>", "severity": "P1",
                "url": "javascript:alert(1)", "labels": {"team": "search"},
                "urgency": "high", "escalation_policy": {"id": "P1"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let fields: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["escalation_policy", "urgency"]);
    let list = get(
        s,
        &format!("/api/v1/dora/incidents?service=search&{WINDOW}"),
    )
    .await;
    let i = &list["incidents"][0];
    assert_eq!(
        (&i["title"], &i["severity"], &i["url"], &i["labels"]),
        (
            &json!("Search <script>"),
            &json!("P1"),
            &json!("javascript:alert(1)"),
            &json!({"team": "search"})
        )
    );
    // Out of bounds is still an error, and nothing is stored.
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/dora/incidents",
            Some(&s.admin),
            Some(
                json!({"id": "PD-10", "service": "search", "started_at": "2026-03-03T00:00:00Z",
                "title": "x".repeat(1_025)}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(
        ids(&get(
            s,
            &format!("/api/v1/dora/incidents?service=search&{WINDOW}")
        )
        .await),
        vec!["PD-9"]
    );
    // An import line with a malformed value still rejects the whole import.
    let bad = "{\"type\":\"incident\",\"id\":\"PD-11\",\"service\":\"search\",\"started_at\":\"2026-03-03T00:00:00Z\",\"labels\":{\"team\":1}}\n";
    let (status, e) = import(s, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["details"][0]["line"], 1);
}
both!(a_recorded_incident_keeps_its_details_and_names_the_rest);
