//! Concurrent writers of every kind on one server (issue 23: SQLite answered `database is
//! locked` when a write transaction that began as a read had to upgrade). Refreshes, deploys,
//! imports, token uses and waivers all at once: no 5xx, and every write is there afterwards.

use hyper::StatusCode;
use serde_json::json;

use crate::harness::{Server, both};

/// Writers of each kind.
const N: usize = 8;

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
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
";

fn component(i: usize) -> String {
    format!(
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{i}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

fn workload(i: usize) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: svc-{i}\ncontainers:\n  web:\n    image: .\n"
    )
}

fn far() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now + 30 * 24 * 3_600_000
}

/// One request of the mix, by kind and index; the status it got.
async fn write(s: &Server, kind: usize, i: usize, tokens: &[String]) -> (String, StatusCode) {
    let admin = Some(s.admin.as_str());
    let (label, (status, body)) = match kind {
        0 => (
            "refresh",
            s.call("POST", "/api/v1/refresh", admin, None).await,
        ),
        1 => {
            let body = json!({"workload": workload(i), "environment": "dev", "image": format!("svc:1.{i}.0")});
            let call = s.call("POST", "/api/v1/deployments", admin, Some(body));
            ("deploy", call.await)
        }
        2 => {
            let line = format!(
                "{{\"type\":\"change\",\"id\":\"c{i}\",\"service\":\"svc-{i}\",\"committed_at\":\"2026-01-04T08:00:00Z\"}}\n"
            );
            let auth = format!("Bearer {}", s.admin);
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/x-ndjson"),
            ];
            let call = s.call_bytes("POST", "/api/v1/dora/events", &headers, line.into_bytes());
            ("import", call.await)
        }
        3 => {
            let call = s.call("GET", "/api/v1/whoami", Some(&tokens[i]), None);
            ("token use", call.await)
        }
        _ => {
            let body = json!({"rule": "image-tag", "entity": format!("svc-{i}"), "reason": "load", "owner": "group:default/team-a", "expires_at": far()});
            let call = s.call("POST", "/api/v1/policy/waivers", admin, Some(body));
            ("waiver", call.await)
        }
    };
    (format!("{label} {i}: {status} {body}"), status)
}

async fn concurrent_writers_of_every_kind_lose_nothing(s: &Server) {
    let catalog: String = std::iter::once(ORG.to_owned())
        .chain((0..N).map(component))
        .collect();
    s.register_catalog(&catalog).await;
    let mut tokens = Vec::new();
    for _ in 0..N {
        tokens.push(s.token("ann", "viewer").await);
    }
    // All in flight at once (the server runs them on its own runtime's workers).
    let mut calls = Vec::new();
    for i in 0..N {
        for kind in 0..5 {
            calls.push(write(s, kind, i, &tokens));
        }
    }
    let results = futures_util::future::join_all(calls).await;
    let failed: Vec<&String> = results
        .iter()
        .filter(|(_, status)| !status.is_success())
        .map(|(what, _)| what)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");

    // Nothing lost: every deploy, event, waiver and token use is there.
    let (_, deployments) = s
        .call("GET", "/api/v1/deployments?limit=500", None, None)
        .await;
    let mut services: Vec<&str> = deployments
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["service"].as_str().unwrap())
        .collect();
    services.sort();
    let want: Vec<String> = (0..N).map(|i| format!("svc-{i}")).collect();
    assert_eq!(services, want);
    let (_, waivers) = s.call("GET", "/api/v1/policy/waivers", None, None).await;
    assert_eq!(waivers.as_array().unwrap().len(), N, "{waivers}");
    let (_, listed) = s.call("GET", "/api/v1/tokens", Some(&s.admin), None).await;
    let used = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["subject"] == "user:default/ann" && t["last_used_at"].is_i64())
        .count();
    assert_eq!(used, N, "{listed}");
    // Each change was stored: importing them again changes nothing.
    let again: String = (0..N)
        .map(|i| format!("{{\"type\":\"change\",\"id\":\"c{i}\",\"service\":\"svc-{i}\",\"committed_at\":\"2026-01-04T08:00:00Z\"}}\n"))
        .collect();
    let auth = format!("Bearer {}", s.admin);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let (status, r) = s
        .call_bytes("POST", "/api/v1/dora/events", &headers, again.into_bytes())
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["received"].as_u64(), r["changed"].as_u64()),
        (Some(N as u64), Some(0)),
        "{r}"
    );
}
both!(concurrent_writers_of_every_kind_lose_nothing);
