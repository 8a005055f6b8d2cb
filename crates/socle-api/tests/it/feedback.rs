//! Feedback over HTTP: sent by anyone signed in (signed or anonymous), listed to its author with
//! its status and to admins in full, triaged by admins only (audited). Both databases.

use serde_json::json;

use crate::harness::{Server, both};

const ORG: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: ann\nspec:\n  memberOf: [team-a]\n---\napiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: bob\nspec:\n  memberOf: [team-a]\n";

async fn feedback_is_triaged_and_seen_by_its_author(s: &Server) {
    s.register_catalog(ORG).await;
    let ann = s.token("ann", "member").await;
    let bob = s.token("bob", "member").await;
    let send = |token: String, body: serde_json::Value| async move {
        s.call("POST", "/api/v1/feedback", Some(&token), Some(body))
            .await
    };
    let (status, mine) = send(
        ann.clone(),
        json!({"page": "/create/rust-axum-service", "rating": 2, "comment": "  slow\u{7} form "}),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(
        mine["template"], "rust-axum-service",
        "the golden path is taken from the page"
    );
    assert_eq!(mine["comment"], "slow form");
    assert_eq!(
        (mine["author"].as_str(), mine["status"].as_str()),
        (Some("user:default/ann"), Some("new"))
    );
    let (status, anon) = send(
        ann.clone(),
        json!({"page": "/dora", "rating": 5, "anonymous": true}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(anon["author"], serde_json::Value::Null);
    let (status, _) = send(
        bob.clone(),
        json!({"page": "/catalog", "rating": 3, "comment": "bob's"}),
    )
    .await;
    assert_eq!(status, 201);
    // From a golden-path run's page (a failed run has one too): the run's template.
    let values = json!({"name": "orders-api", "description": "Takes orders", "owner": "group:default/team-a",
        "lifecycle": "production", "repoUrl": "https://git.example.com/acme/orders-api"});
    let (status, run) = s
        .call(
            "POST",
            "/api/v1/templates/rust-axum-service/runs",
            Some(&bob),
            Some(json!({"values": values, "dry_run": true})),
        )
        .await;
    assert_eq!(status, 422, "{run}");
    let page = format!(
        "/create/runs/{}",
        run["error"]["details"]["id"].as_str().unwrap()
    );
    let (status, from_run) = send(bob.clone(), json!({"page": page, "rating": 4})).await;
    assert_eq!(status, 201, "{from_run}");
    assert_eq!(from_run["template"], "rust-axum-service");
    // Bad input and anonymous callers.
    for bad in [
        json!({"page": "/", "rating": 0}),
        json!({"page": "https://evil.example/", "rating": 3}),
        json!({"page": "//evil.example", "rating": 3}),
        json!({"page": "/", "rating": 3, "comment": "x".repeat(2001)}),
    ] {
        assert_eq!(send(ann.clone(), bad).await.0, 400);
    }
    assert_eq!(
        s.call(
            "POST",
            "/api/v1/feedback",
            None,
            Some(json!({"page": "/", "rating": 3}))
        )
        .await
        .0,
        401
    );

    // Ann sees her signed feedback only (not the anonymous one, not bob's).
    let (_, list) = s.call("GET", "/api/v1/feedback", Some(&ann), None).await;
    assert_eq!(list["all"], false);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], mine["id"]);
    // Admins see everything, and triage; members may not.
    let (_, all) = s
        .call("GET", "/api/v1/feedback", Some(&s.admin), None)
        .await;
    assert_eq!(
        (all["all"].as_bool(), all["items"].as_array().unwrap().len()),
        (Some(true), 4)
    );
    let path = format!("/api/v1/feedback/{}/status", mine["id"].as_str().unwrap());
    assert_eq!(
        s.call("POST", &path, Some(&bob), Some(json!({"status": "done"})))
            .await
            .0,
        403
    );
    assert_eq!(
        s.call(
            "POST",
            &path,
            Some(&s.admin),
            Some(json!({"status": "maybe"}))
        )
        .await
        .0,
        400
    );
    let (status, r) = s
        .call(
            "POST",
            &path,
            Some(&s.admin),
            Some(json!({"status": "planned"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let (_, list) = s.call("GET", "/api/v1/feedback", Some(&ann), None).await;
    assert_eq!(list["items"][0]["status"], "planned");
    let (_, log) = s.call("GET", "/api/v1/audit", Some(&s.admin), None).await;
    let triage: Vec<_> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "feedback.triage")
        .collect();
    assert_eq!(triage.len(), 3, "{triage:?}");
}
both!(feedback_is_triaged_and_seen_by_its_author);
