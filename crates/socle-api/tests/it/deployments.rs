//! Deploying over HTTP: who may deploy (admin, or a member of the owning team or a parent team),
//! what gets recorded and audited, and how failures are reported.

use std::collections::BTreeSet;

use hyper::StatusCode;
use serde_json::json;

use crate::harness::{Server, both, both_backends};

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
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: boss
spec:
  memberOf: [engineering]
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
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const SHOP: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n    variables:\n      DB: ${resources.db.host}\nresources:\n  db:\n    type: postgres\n";

async fn deploys_are_authorised_by_team_ownership(s: &Server) {
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), ORG).unwrap();
    s.register(&dir).await;
    let (ann, boss, eve) = (
        s.token("ann", "member").await,
        s.token("boss", "member").await,
        s.token("eve", "member").await,
    );
    let body = json!({"workload": SHOP, "environment": "dev", "image": "ghcr.io/acme/shop:1.0.0"});

    let (status, _) = s
        .call("POST", "/api/v1/deployments", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&eve),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        e["error"]["message"].as_str().unwrap().contains(
            "user:default/eve is not a member of group:default/engineering, group:default/team-a"
        ),
        "{e}"
    );
    let (status, d) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&ann),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(
        (
            d["service"].as_str(),
            d["version"].as_str(),
            d["actor"].as_str()
        ),
        (Some("shop"), Some("1.0.0"), Some("user:default/ann"))
    );
    assert_eq!(d["spec"], "");
    // A member of the parent team may promote.
    let (status, p) = s
        .call(
            "POST",
            "/api/v1/deployments/promote",
            Some(&boss),
            Some(json!({"service": "shop", "from": "dev", "to": "staging"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["environment"], "staging");

    let (_, list) = s
        .call("GET", "/api/v1/deployments?service=shop", None, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, res) = s.call("GET", "/api/v1/resources?env=dev", None, None).await;
    assert_eq!(res[0]["type"], "postgres");
    assert!(res.to_string().contains("used_by") && !res.to_string().contains("password"));

    // Failures: invalid Score (400 with located errors), unresolvable resource (422), nothing recorded.
    let bad = json!({"workload": SHOP.replace("image: .", "image: .\n    bogus: 1"), "environment": "dev", "image": "x:1"});
    let (status, e) = s
        .call("POST", "/api/v1/deployments", Some(&ann), Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["details"][0]["path"], "containers.web");
    let unknown = json!({"workload": SHOP.replace("type: postgres", "type: oracle"), "environment": "dev", "image": "x:1"});
    let (status, e) = s
        .call("POST", "/api/v1/deployments", Some(&ann), Some(unknown))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["code"], "resolution_failed");
    assert_eq!(e["error"]["details"][0]["rule"], "resources.match");
    let (_, list) = s.call("GET", "/api/v1/deployments", None, None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Everything is in the audit log.
    let (_, log) = s
        .call("GET", "/api/v1/audit?limit=20", Some(&s.admin), None)
        .await;
    let deploys: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("deployment."))
        .map(|e| {
            (
                e["actor"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        deploys,
        vec![
            (
                "user:default/ann".into(),
                "deployment.deploy".into(),
                "failed".into()
            ),
            (
                "user:default/ann".into(),
                "deployment.deploy".into(),
                "failed".into()
            ),
            (
                "user:default/boss".into(),
                "deployment.promote".into(),
                "ok".into()
            ),
            (
                "user:default/ann".into(),
                "deployment.deploy".into(),
                "ok".into()
            ),
            (
                "user:default/eve".into(),
                "deployment.deploy".into(),
                "denied".into()
            ),
            (
                "anonymous".into(),
                "deployment.deploy".into(),
                "denied".into()
            ),
        ]
    );
}
both!(deploys_are_authorised_by_team_ownership);

async fn secrets_are_served_to_external_secrets_only(s: &Server) {
    let body = json!({"workload": SHOP, "environment": "dev", "image": "shop:1", "source_commit": "0123abcd"});
    let (status, d) = s
        .call("POST", "/api/v1/deployments", Some(&s.admin), Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d["source_commit"], "0123abcd");
    let (_, res) = s.call("GET", "/api/v1/resources?env=dev", None, None).await;
    let uid = res[0]["uid"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/secret-store/dev/{uid}");
    let (status, _) = s.call("GET", &path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, t) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "ci", "subject": "serviceaccount:ci", "role": "member"})),
        )
        .await;
    let (status, _) = s
        .call("GET", &path, Some(t["secret"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, t) = s.call("POST", "/api/v1/tokens", Some(&s.admin), Some(json!({"name": "eso", "subject": "serviceaccount:external-secrets", "role": "viewer"}))).await;
    let (status, secrets) = s
        .call("GET", &path, Some(t["secret"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{secrets}");
    // Only the secret outputs, and the value is the one the workload's manifests refer to.
    assert_eq!(
        secrets.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["password"]
    );
    assert!(secrets["password"].as_str().unwrap().len() >= 24);
    let (status, _) = s
        .call(
            "GET",
            "/api/v1/secret-store/dev/nope",
            Some(t["secret"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, log) = s
        .call("GET", "/api/v1/audit?limit=10", Some(&s.admin), None)
        .await;
    let reads: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "secret.read")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(reads, ["failed", "ok", "denied", "denied"]);
}
both!(secrets_are_served_to_external_secrets_only);

/// A server with the built-in guardrails pack.
async fn guarded(backend: &str) -> Option<Server> {
    let config = socle_api::ServerConfig {
        guardrails: Some(socle_policy::PolicySet::builtin(None).unwrap()),
        refresh_interval: None,
        ..Default::default()
    };
    crate::harness::start_with(backend, config).await
}

/// A deploy of [`SHOP`] at `latest`, which the built-in pack blocks.
fn latest_shop() -> serde_json::Value {
    json!({"workload": SHOP, "environment": "dev", "image": "shop:latest"})
}

/// A deploy the pack blocks; an admin then waives each rule it broke (for `shop`, far in the
/// future). Returns the rules waived.
async fn waive_what_blocks_a_deploy(s: &Server) -> BTreeSet<String> {
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&s.admin),
            Some(latest_shop()),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "blocked_by_guardrails");
    let rules: BTreeSet<String> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap()
                .rsplit('[')
                .next()
                .unwrap()
                .trim_end_matches(']')
                .to_owned()
        })
        .collect();
    assert!(
        rules.contains("image-tag") && rules.contains("liveness-probe"),
        "{rules:?}"
    );
    for rule in &rules {
        let (status, w) = s.call("POST", "/api/v1/policy/waivers", Some(&s.admin), Some(json!({"rule": rule, "entity": "shop", "reason": "demo", "owner": "group:default/team-a", "expires_at": far()}))).await;
        assert_eq!(status, StatusCode::CREATED, "{w}");
    }
    rules
}

/// Documents are evaluated against the pack, findings naming their Checkov equivalent and the
/// container they are about.
async fn documents_are_evaluated_against_the_guardrails(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    let doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: nginx\n";
    let (status, f) = s
        .call(
            "POST",
            "/api/v1/policy/eval",
            None,
            Some(json!({"documents": doc})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|x| x["rule"] == "image-tag"
                && x["checkov"][0] == "CKV_K8S_14"
                && x["container"] == "c"
                && x["path"] == "spec.containers[0].image"),
        "{f}"
    );
}
both_backends!(documents_are_evaluated_against_the_guardrails);

/// The policies' own tests, like `conftest verify`: the built-in pack's pass.
async fn the_builtin_pack_passes_its_own_tests(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    let (status, t) = s
        .call(
            "POST",
            "/api/v1/policy/test",
            Some(&s.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["failed"], 0, "{t}");
    assert!(t["passed"].as_u64().unwrap() >= 18, "{t}");
    assert!(
        t["tests"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["name"].as_str().unwrap().starts_with("data.main.test_")),
        "{t}"
    );
}
both_backends!(the_builtin_pack_passes_its_own_tests);

/// Uploaded policies run their own tests, each reported; one that does not compile is named.
async fn uploaded_policies_run_their_own_tests_and_a_broken_file_is_named(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    let files = json!({"files": {
        "p/team.rego": "package main\n\ndeny_no_team contains \"no team\" if { not input.metadata.labels.team }\n",
        "p/team_test.rego": "package main\n\ntest_denied if { count(deny_no_team) == 1 with input as {\"metadata\": {}} }\n\ntest_wrong if { count(deny_no_team) == 0 with input as {\"metadata\": {}} }\n",
    }});
    let (status, t) = s
        .call("POST", "/api/v1/policy/test", Some(&s.admin), Some(files))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["passed"].as_u64(), t["failed"].as_u64()),
        (Some(1), Some(1)),
        "{t}"
    );
    assert_eq!(
        t["tests"][1],
        json!({"name": "data.main.test_wrong", "passed": false})
    );
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/policy/test",
            Some(&s.admin),
            Some(json!({"files": {"bad.rego": "package main\n\ndeny contains x if {"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("bad.rego"),
        "{e}"
    );
}
both_backends!(uploaded_policies_run_their_own_tests_and_a_broken_file_is_named);

/// A deploy blocked by the pack, then let through by waivers an admin granted; both
/// evaluations are recorded.
async fn a_blocked_deploy_goes_through_once_its_rules_are_waived(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    waive_what_blocks_a_deploy(&s).await;
    let (status, d) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&s.admin),
            Some(latest_shop()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let (_, r) = s
        .call(
            "GET",
            "/api/v1/policy/results?entity=shop&env=dev",
            None,
            None,
        )
        .await;
    assert_eq!(
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| x["outcome"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["warn", "blocked"]
    );
}
both_backends!(a_blocked_deploy_goes_through_once_its_rules_are_waived);

/// Only admins grant waivers: a member's is refused, the admin's are listed.
async fn only_admins_grant_waivers(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    let rules = waive_what_blocks_a_deploy(&s).await;
    let (_, t) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(json!({"name": "m", "subject": "serviceaccount:m", "role": "member"})),
        )
        .await;
    let (status, _) = s.call("POST", "/api/v1/policy/waivers", Some(t["secret"].as_str().unwrap()), Some(json!({"rule": "x", "entity": "shop", "reason": "r", "owner": "o", "expires_at": far()}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, ws) = s.call("GET", "/api/v1/policy/waivers", None, None).await;
    assert_eq!(ws.as_array().unwrap().len(), rules.len());
}
both_backends!(only_admins_grant_waivers);

/// Catalog entities are a subject too: owner must exist, production components need a system.
async fn catalog_entities_are_checked_by_the_guardrails(backend: &str) {
    let Some(s) = guarded(backend).await else {
        return;
    };
    let dir = s.catalog_dir();
    std::fs::write(
        dir.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orphan\nspec:\n  type: service\n  lifecycle: production\n  owner: ghost-team\n",
    )
    .unwrap();
    s.register(&dir).await;
    let (status, f) = s
        .call(
            "GET",
            "/api/v1/policy/entities/component/default/orphan",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    let ids: Vec<&str> = f
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["rule"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["owner-exists", "production-has-system"]);
    assert_eq!(f[0]["object"], "component:default/orphan");
}
both_backends!(catalog_entities_are_checked_by_the_guardrails);

/// A waiver expiry a day from now, in milliseconds.
fn far() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now + 86_400_000
}
