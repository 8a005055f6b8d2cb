use hyper::StatusCode;
use serde_json::json;

use crate::harness::{GOOD, Server, both};

async fn catalog_reads_over_http(s: &Server) {
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
    let (_, outcome) = s.register(&dir).await;
    assert_eq!(outcome["added"], 3);
    assert_eq!(outcome["status"], "ok");

    // GET by ref: case-insensitive, Backstage-shaped with relations.
    let (status, e) = s
        .call(
            "GET",
            "/api/v1/entities/Component/default/PAYMENTS",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e["metadata"]["name"], "payments");
    assert_eq!(e["metadata"]["namespace"], "default");
    assert!(
        e["metadata"]["annotations"]["backstage.io/managed-by-location"]
            .as_str()
            .unwrap()
            .ends_with("catalog-info.yaml")
    );
    assert_eq!(
        e["relations"],
        json!([
            {"type": "dependsOn", "targetRef": "resource:default/payments-db"},
            {"type": "ownedBy", "targetRef": "group:default/team-a"},
            {"type": "providesApi", "targetRef": "api:default/payments-api"}
        ])
    );
    let (_, g) = s
        .call("GET", "/api/v1/entities/group/default/team-a", None, None)
        .await;
    assert_eq!(g["relations"].as_array().unwrap().len(), 2, "{g}");
    let (status, e) = s
        .call("GET", "/api/v1/entities/component/default/nope", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["error"]["code"], "not_found");

    // Relations with existence, and the dangling list.
    let (_, rels) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/payments/relations",
            None,
            None,
        )
        .await;
    assert_eq!(
        rels[0],
        json!({"type": "dependsOn", "targetRef": "resource:default/payments-db", "exists": false})
    );
    let (_, d) = s
        .call("GET", "/api/v1/relations/dangling", None, None)
        .await;
    assert_eq!(
        d,
        json!([{"source": "component:default/payments", "type": "dependsOn", "target": "resource:default/payments-db"}])
    );

    // Listing with filters and pagination.
    let (_, page) = s.call("GET", "/api/v1/entities?limit=2", None, None).await;
    assert_eq!(page["totalItems"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let (_, page2) = s
        .call(
            "GET",
            &format!("/api/v1/entities?limit=2&cursor={cursor}"),
            None,
            None,
        )
        .await;
    assert_eq!(page2["items"][0]["metadata"]["name"], "team-a");
    assert_eq!(page2["nextCursor"], serde_json::Value::Null);
    let (_, owned) = s
        .call(
            "GET",
            "/api/v1/entities?owner=group:default/team-a&kind=component",
            None,
            None,
        )
        .await;
    assert_eq!(owned["totalItems"], 1);

    // Search with prefix, filters and facets.
    let (_, r) = s.call("GET", "/api/v1/search?q=paym", None, None).await;
    assert_eq!(r["total"], 2);
    let (_, r) = s
        .call("GET", "/api/v1/search?q=money&kind=component", None, None)
        .await;
    assert_eq!(r["hits"][0]["entity_ref"], "component:default/payments");
    assert_eq!(r["hits"][0]["owner"], "group:default/team-a");
    let (_, f) = s.call("GET", "/api/v1/facets", None, None).await;
    assert_eq!(
        f["facets"]["kind"],
        json!([{"value": "api", "count": 1}, {"value": "component", "count": 1}, {"value": "group", "count": 1}])
    );

    // Operations endpoints.
    let (status, _) = s.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, ready) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["entities"], 3);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"]["status"], "ok", "{ready}");
    assert_eq!(ready["checks"]["read_model"]["status"], "ok", "{ready}");
    assert_eq!(ready["checks"]["read_model"]["entities"], 3);
    assert_eq!(
        ready["checks"]["read_model"]["generation"],
        ready["checks"]["read_model"]["store_generation"]
    );
    let (_, metrics) = s.call_raw("GET", "/metrics", None, None).await;
    assert!(metrics.contains("socle_catalog_entities 3"), "{metrics}");
    assert!(
        metrics.contains(
            "socle_http_requests_total{method=\"GET\",route=\"/api/v1/search\",status=\"200\"}"
        ),
        "{metrics}"
    );
    let (_, doc) = s.call("GET", "/api/openapi.json", None, None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/entities",
        "/api/v1/search",
        "/api/v1/locations",
        "/api/v1/tokens",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
    // Every operation has its own id (OpenAPI requires it; validators and generated clients
    // refuse a document where two handlers share a name).
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str()
                && let Some(first) = ids.insert(id.to_owned(), format!("{method} {path}"))
            {
                panic!("operationId {id} of {method} {path} is also {first}'s");
            }
        }
    }
    // The published contract: any change to it shows up in review.
    insta::assert_json_snapshot!("openapi", doc);
}
both!(catalog_reads_over_http);

async fn removing_from_source_removes_from_catalog(s: &Server) {
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
    let (id, _) = s.register(&dir).await;
    let only_group = GOOD.split("---").next().unwrap();
    std::fs::write(dir.join("catalog-info.yaml"), only_group).unwrap();
    let outcome = s.refresh(&id).await;
    assert_eq!(outcome["removed"], 2);
    let (status, _) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/payments",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another location claiming the group: a conflict on both, no overwrite.
    let other = s.dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("catalog-info.yaml"),
        only_group.replace("type: team", "type: guild"),
    )
    .unwrap();
    let (other_id, outcome) = s.register(&other).await;
    assert_eq!(outcome["errors"][0]["rule"], "location.conflict");
    let (_, g) = s
        .call("GET", "/api/v1/entities/group/default/team-a", None, None)
        .await;
    assert_eq!(g["spec"]["type"], "team");
    for l in [&id, &other_id] {
        let (_, loc) = s
            .call("GET", &format!("/api/v1/locations/{l}"), None, None)
            .await;
        assert_eq!(loc["conflicts"][0]["ref"], "group:default/team-a", "{loc}");
    }
    // Deleting a location removes its entities.
    let (status, _) = s
        .call(
            "DELETE",
            &format!("/api/v1/locations/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .call("GET", "/api/v1/entities/group/default/team-a", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
both!(removing_from_source_removes_from_catalog);

async fn mutations_need_a_token_and_the_right_role(s: &Server) {
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
    let body = json!({"type": "file", "target": dir.to_string_lossy()});
    let (status, e) = s
        .call("POST", "/api/v1/locations", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(e["error"]["code"], "unauthenticated");
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some("socle_forged"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The admin creates a viewer token; the viewer may read but not mutate.
    let (status, t) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "ro", "subject": "serviceaccount:reader", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let viewer = t["secret"].as_str().unwrap().to_owned();
    let (_, who) = s.call("GET", "/api/v1/whoami", Some(&viewer), None).await;
    assert_eq!(
        who,
        json!({"authenticated": true, "subject": "serviceaccount:reader", "role": "viewer"})
    );
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&viewer),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("admin role"),
        "{e}"
    );
    let (status, _) = s.call("GET", "/api/v1/tokens", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Tokens are listed without secrets, and revocation takes effect at once.
    let (_, list) = s.call("GET", "/api/v1/tokens", Some(&s.admin), None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&viewer));
    let id = t["token"]["id"].as_str().unwrap();
    let (status, _) = s
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.call("GET", "/api/v1/whoami", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Every mutation attempt is in the audit log: who, what, outcome.
    let (_, log) = s.call("GET", "/api/v1/audit", Some(&s.admin), None).await;
    let entries: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                "serviceaccount:admin".into(),
                "token.revoke".into(),
                "ok".into()
            ),
            (
                "serviceaccount:reader".into(),
                "location.create".into(),
                "denied".into()
            ),
            (
                "serviceaccount:admin".into(),
                "token.create".into(),
                "ok".into()
            ),
            (
                "invalid-token".into(),
                "location.create".into(),
                "denied".into()
            ),
            (
                "anonymous".into(),
                "location.create".into(),
                "denied".into()
            ),
        ]
    );
}
both!(mutations_need_a_token_and_the_right_role);

async fn internal_errors_do_not_leak(s: &Server) {
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&s.admin),
            Some(json!({"type": "svn", "target": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "invalid_request");
    let (status, e) = s
        .call("GET", "/api/v1/search?q=".to_owned().as_str(), None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let long = "a".repeat(2000);
    let (status, e) = s
        .call("GET", &format!("/api/v1/search?q={long}"), None, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
}
both!(internal_errors_do_not_leak);

async fn wait_for(
    s: &Server,
    path: &str,
    mut ok: impl FnMut(StatusCode, &serde_json::Value) -> bool,
) -> bool {
    for _ in 0..100 {
        let (status, v) = s.call("GET", path, None, None).await;
        if ok(status, &v) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// The periodic refresh picks up changes in the source; writes by another process sharing the
/// store (the CLI, another replica) reach the served catalog through polling.
async fn refresh_and_polling(backend: &str) {
    let config = socle_api::ServerConfig {
        refresh_interval: Some(std::time::Duration::from_millis(200)),
        poll_interval: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let Some(s) = crate::harness::start_with(backend, config).await else {
        return;
    };
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
    s.register(&dir).await;
    std::fs::write(
        dir.join("catalog-info.yaml"),
        GOOD.replace("Takes the money", "Takes more money"),
    )
    .unwrap();
    assert!(
        wait_for(&s, "/api/v1/entities/component/default/payments", |_, v| v
            ["metadata"]["description"]
            == "Takes more money")
        .await,
        "the periodic refresh did not pick up the change"
    );
    // Another process removes the location directly in the store.
    let other = socle_store::Store::open(&s.store_config).await.unwrap();
    let key = other.list_locations().await.unwrap()[0].key.clone();
    other.delete_location(&key).await.unwrap();
    assert!(
        wait_for(
            &s,
            "/api/v1/entities/component/default/payments",
            |status, _| status == StatusCode::NOT_FOUND
        )
        .await,
        "the server did not notice the store changed"
    );
}

mod refresh_and_polling {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::refresh_and_polling("sqlite").await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::refresh_and_polling("postgres").await;
    }
}
