//! Trust boundaries, replayed as attacks: who may shape the organisation (groups, membership),
//! which repositories a member may register.

use std::path::Path;
use std::process::Command;

use hyper::StatusCode;
use serde_json::json;

use crate::harness::{Server, both};

/// The organisation, registered by an admin: `shop` belongs to team-a under engineering; eve is
/// in team-b.
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
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: eve-shop
spec:
  type: service
  lifecycle: production
  owner: team-b
";

/// What the attacker's repository holds: her own service, and a group that adopts the
/// department and counts her as a member — so that `shop`'s owners would include it.
const TAKEOVER: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: eve-svc
spec:
  type: service
  lifecycle: experimental
  owner: team-b
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: pwn
spec:
  type: team
  children: [engineering]
  members: [eve]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve2
spec:
  memberOf: [team-a]
";

const SHOP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// A bare repository at `bare` whose `main` holds `catalog-info.yaml` = `content`.
fn bare_repo(s: &Server, bare: &Path, content: &str) {
    let work = s.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("catalog-info.yaml"), content).unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "catalog"]);
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        s.dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            &work.to_string_lossy(),
            &bare.to_string_lossy(),
        ],
    );
}

/// Where golden paths publish (members may register these).
fn hosted(s: &Server, name: &str) -> std::path::PathBuf {
    s.dir
        .path()
        .join("gitops-root/repositories/local/team-b")
        .join(format!("{name}.git"))
}

async fn a_members_location_cannot_adopt_groups_or_join_teams(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    let repo = hosted(s, "eve-svc");
    bare_repo(s, &repo, TAKEOVER);

    let (status, body) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&eve),
            Some(json!({"type": "git", "target": repo.to_string_lossy(), "branch": "main"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Her component is in; the group and the user are errors on her location.
    assert_eq!(body["outcome"]["added"], 1, "{body}");
    let rules: Vec<(&str, &str)> = body["outcome"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["rule"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("organisation.untrusted", "group:default/pwn"),
            ("organisation.untrusted", "user:default/eve2")
        ]
    );
    let (status, _) = s
        .call("GET", "/api/v1/entities/group/default/pwn", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // And she still may not deploy team-a's service.
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/deployments",
            Some(&eve),
            Some(json!({"workload": SHOP, "environment": "dev", "image": "ghcr.io/acme/shop:1"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("group:default/engineering, group:default/team-a"),
        "{e}"
    );
}
both!(a_members_location_cannot_adopt_groups_or_join_teams);

async fn an_admins_location_shapes_the_organisation(s: &Server) {
    s.register_catalog(ORG).await;
    let repo = hosted(s, "org");
    bare_repo(s, &repo, TAKEOVER);
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&s.admin),
            Some(json!({"type": "git", "target": repo.to_string_lossy(), "branch": "main"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["outcome"]["added"], 3, "{body}");
    assert_eq!(body["location"]["trust"], "organisation", "{body}");
    let (status, g) = s
        .call(
            "GET",
            "/api/v1/entities/group/default/engineering/relations",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert!(g.to_string().contains("group:default/pwn"), "{g}");
}
both!(an_admins_location_shapes_the_organisation);

async fn a_member_may_register_only_hosted_repositories(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    // A repository elsewhere on the server — the GitOps repositories are such.
    let elsewhere = s.dir.path().join("gitops-root/dev.git");
    bare_repo(s, &elsewhere, TAKEOVER);
    for target in [
        elsewhere.to_string_lossy().into_owned(),
        format!("file://{}", elsewhere.to_string_lossy()),
        // Out of the hosted folder by `..`.
        hosted(s, "../../../dev").to_string_lossy().into_owned(),
    ] {
        let (status, e) = s
            .call(
                "POST",
                "/api/v1/locations",
                Some(&eve),
                Some(json!({"type": "git", "target": target, "branch": "main"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{target}: {e}");
    }
    let (status, list) = s.call("GET", "/api/v1/locations", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only the admin's: {list}"
    );
}
both!(a_member_may_register_only_hosted_repositories);

/// What anyone reads names the server's directories, never their absolute paths — and a target
/// as shown can be sent back.
async fn responses_show_no_absolute_server_paths(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    let repo = hosted(s, "eve-svc");
    bare_repo(
        s,
        &repo,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: eve-svc\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-b\n",
    );
    let shown = "$DATA/repositories/local/team-b/eve-svc.git";
    let (status, out) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&eve),
            Some(json!({"type": "git", "target": shown, "branch": "main"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    // The server's data directory (the harness puts an admin's catalog beside it, outside: an
    // admin's own target is shown as registered).
    let root = s.dir.path().join("gitops-root").canonicalize().unwrap();
    let root = root.to_string_lossy();
    for path in [
        "/api/v1/locations",
        "/api/v1/entities/component/default/eve-svc",
        "/api/v1/entities?kind=component",
        "/api/v1/search?q=eve",
    ] {
        let (status, body) = s.call("GET", path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let text = body.to_string();
        assert!(!text.contains(root.as_ref()), "{path}: {text}");
    }
    let (_, e) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/eve-svc",
            None,
            None,
        )
        .await;
    let key = e["metadata"]["annotations"]["backstage.io/managed-by-location"]
        .as_str()
        .unwrap();
    assert!(key.contains(shown), "{key}");
}
both!(responses_show_no_absolute_server_paths);

const RANGE_BOMB: &str =
    "package main\n\ntest_bomb if {\n\tcount(numbers.range(0, 1000000000000)) > 0\n}\n";

async fn only_admins_run_their_own_rego(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    let body = json!({"files": {"bomb.rego": RANGE_BOMB}});
    let (status, _) = s
        .call("POST", "/api/v1/policy/test", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call("POST", "/api/v1/policy/test", Some(&eve), Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The built-in pack's own tests, as an admin.
    let (status, out) = s
        .call(
            "POST",
            "/api/v1/policy/test",
            Some(&s.admin),
            Some(json!({"files": {}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["failed"], 0, "{out}");
    assert!(out["passed"].as_u64().unwrap() > 10, "{out}");
}
both!(only_admins_run_their_own_rego);

async fn policy_eval_refuses_too_many_documents(s: &Server) {
    let docs = "kind: ConfigMap\n---\n".repeat(501);
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/policy/eval",
            None,
            Some(json!({"documents": docs})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 500 per request"),
        "{e}"
    );
}
both!(policy_eval_refuses_too_many_documents);

async fn members_record_delivery_events_only_for_their_services(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    let line = |service: &str, id: &str| {
        format!(
            "{{\"type\":\"deployment\",\"id\":\"{id}\",\"service\":\"{service}\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-01-05T10:00:00Z\"}}\n"
        )
    };
    let auth = format!("Bearer {eve}");
    let headers = [("authorization", auth.as_str())];
    let mixed = format!("{}{}", line("eve-shop", "d1"), line("shop", "d2"));
    let (status, e) = s
        .call_bytes("POST", "/api/v1/dora/events", &headers, mixed.into_bytes())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delivery events for shop"),
        "{e}"
    );
    let (status, out) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &headers,
            line("eve-shop", "d1").into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["changed"], 1, "{out}");
    // The refused import stored nothing: team-a's service has no deployment.
    let (status, r) = s
        .call(
            "GET",
            "/api/v1/dora/report?scope=service&name=shop&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&weekly=false",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["deployments"], 0, "{r}");
}
both!(members_record_delivery_events_only_for_their_services);

async fn members_cannot_take_over_another_teams_event_by_its_id(s: &Server) {
    s.register_catalog(ORG).await;
    let line = |service: &str| {
        format!(
            "{{\"type\":\"deployment\",\"id\":\"d9\",\"service\":\"{service}\",\"environment\":\"production\",\"status\":\"success\",\"finished_at\":\"2026-01-05T10:00:00Z\"}}\n"
        )
    };
    let admin = format!("Bearer {}", s.admin);
    let (status, out) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &[("authorization", admin.as_str())],
            line("shop").into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    // eve (team-b) re-sends team-a's deployment d9 as her own service's.
    let eve = format!("Bearer {}", s.token("eve", "member").await);
    let (status, e) = s
        .call_bytes(
            "POST",
            "/api/v1/dora/events",
            &[("authorization", eve.as_str())],
            line("eve-shop").into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delivery events for shop"),
        "{e}"
    );
    // shop keeps its deployment.
    let (_, r) = s
        .call(
            "GET",
            "/api/v1/dora/report?scope=service&name=shop&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&weekly=false",
            None,
            None,
        )
        .await;
    assert_eq!(r["deployments"], 1, "{r}");
}
both!(members_cannot_take_over_another_teams_event_by_its_id);

async fn report_windows_are_bounded(s: &Server) {
    let (status, e) = s
        .call("GET", "/api/v1/dora/report?since=2000d", None, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1096 days"),
        "{e}"
    );
    let (status, _) = s
        .call("GET", "/api/v1/dora/teams?since=1000d", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
both!(report_windows_are_bounded);

async fn a_denied_request_writes_a_bounded_audit_entry(s: &Server) {
    s.register_catalog(ORG).await;
    let eve = s.token("eve", "member").await;
    let long = "x".repeat(4000);
    let (status, _) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&eve),
            Some(json!({"type": "file", "target": long})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, log) = s.call("GET", "/api/v1/audit", Some(&s.admin), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let denied: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{log}");
    assert_eq!(denied[0]["target"].as_str().unwrap().chars().count(), 257);
}
both!(a_denied_request_writes_a_bounded_audit_entry);

/// Two anonymous evaluations of the most documents allowed used to hold both async workers for
/// 40 s (`/healthz` waited behind them). They run on the blocking pool now: the server answers
/// meanwhile. (A bound of seconds, not a benchmark: `socle-bench abuse` measures.)
async fn evaluations_do_not_stall_the_server(s: &Server) {
    let docs = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n---\n".repeat(500);
    let body = json!({"documents": docs});
    let floods: Vec<_> = (0..4)
        .map(|_| {
            let addr = s.addr;
            let body = body.clone();
            tokio::spawn(async move { post_json(addr, "/api/v1/policy/eval", &body).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let (status, _) = s.call("GET", "/healthz", None, None).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(waited < std::time::Duration::from_secs(2), "{waited:?}");
    for f in floods {
        let status = f.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
}
both!(evaluations_do_not_stall_the_server);

/// A POST from a task of its own (the harness' client borrows the server).
async fn post_json(addr: std::net::SocketAddr, path: &str, body: &serde_json::Value) -> StatusCode {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header("host", "test")
        .header("content-type", "application/json")
        .body(Full::new(hyper::body::Bytes::from(body.to_string())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    status
}

/// A mutation whose body cannot be read is refused for who is asking first (401, 403), then as
/// invalid (400), and every attempt is audited.
async fn unreadable_bodies_are_refused_by_role_first_and_audited(s: &Server) {
    s.register_catalog(ORG).await;
    let viewer = format!("Bearer {}", s.token("eve", "viewer").await);
    let admin = format!("Bearer {}", s.admin);
    let json = ("content-type", "application/json");
    let mut statuses = Vec::new();
    for auth in [None, Some(viewer.as_str()), Some(admin.as_str())] {
        let mut headers = vec![json];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        let (status, _) = s
            .call_bytes(
                "POST",
                "/api/v1/dora/incidents",
                &headers,
                b"{not json".to_vec(),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::BAD_REQUEST
        ]
    );
    let (_, log) = s
        .call("GET", "/api/v1/audit?limit=50", Some(&s.admin), None)
        .await;
    let outcomes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "dora.incident")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["failed", "denied", "denied"], "{log}");
}
both!(unreadable_bodies_are_refused_by_role_first_and_audited);
