//! `publish:github` and `publish:gitlab` against local stand-ins for the hosts' REST APIs: the
//! calls Socle makes (repository, blobs, tree, commit, ref; project and one commit), the token
//! sent, the files that arrive, and the cleanup when a call fails.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use socle_app::git_hosts::{HostApi, actions};
use socle_scaffold::builtin::DirSource;
use socle_scaffold::{Engine, RunOptions};

#[derive(Default)]
struct Host {
    calls: Vec<String>,
    files: Vec<(String, String)>,
    blobs: Vec<String>,
    fail_commit: bool,
}
type St = State<Arc<Mutex<Host>>>;

fn authorised(h: &HeaderMap, github: bool) -> bool {
    if github {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer gh-token")
    } else {
        h.get("private-token").and_then(|v| v.to_str().ok()) == Some("gl-token")
    }
}

fn b64d(s: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
}

fn stand_in(state: Arc<Mutex<Host>>) -> Router {
    Router::new()
        // GitHub
        .route("/users/{owner}", get(|Path(o): Path<String>, h: HeaderMap, State(s): St| async move {
            s.lock().unwrap().calls.push(format!("GET /users/{o}"));
            if !authorised(&h, true) { return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"}))); }
            (StatusCode::OK, Json(json!({"login": o, "type": "Organization"})))
        }))
        .route("/orgs/{owner}/repos", post(|Path(o): Path<String>, State(s): St, Json(b): Json<Value>| async move {
            s.lock().unwrap().calls.push(format!("POST /orgs/{o}/repos {} private={} auto_init={}", b["name"], b["private"], b["auto_init"]));
            (StatusCode::CREATED, Json(json!({"html_url": format!("http://github.local/{o}/{}", b["name"].as_str().unwrap()), "default_branch": "main"})))
        }))
        .route("/repos/{o}/{r}/git/blobs", post(|State(s): St, Json(b): Json<Value>| async move {
            let mut h = s.lock().unwrap();
            h.blobs.push(b64d(b["content"].as_str().unwrap()));
            let sha = format!("blob{}", h.blobs.len() - 1);
            (StatusCode::CREATED, Json(json!({"sha": sha})))
        }))
        .route("/repos/{o}/{r}/git/ref/heads/{b}", get(|Path((_, _, b)): Path<(String, String, String)>, State(s): St| async move {
            s.lock().unwrap().calls.push(format!("GET ref {b}"));
            Json(json!({"object": {"sha": "init"}}))
        }))
        .route("/repos/{o}/{r}/git/trees", post(|State(s): St, Json(b): Json<Value>| async move {
            let mut h = s.lock().unwrap();
            for e in b["tree"].as_array().unwrap() {
                let i: usize = e["sha"].as_str().unwrap().trim_start_matches("blob").parse().unwrap();
                let content = h.blobs[i].clone();
                h.files.push((e["path"].as_str().unwrap().to_owned(), content));
            }
            (StatusCode::CREATED, Json(json!({"sha": "tree1"})))
        }))
        .route("/repos/{o}/{r}/git/commits", post(|State(s): St, Json(b): Json<Value>| async move {
            let mut h = s.lock().unwrap();
            h.calls.push(format!("POST commit tree={} parents={}", b["tree"], b["parents"]));
            if h.fail_commit { return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"message": "boom"}))); }
            (StatusCode::CREATED, Json(json!({"sha": "c0ffee"})))
        }))
        .route("/repos/{o}/{r}/git/refs/heads/{b}", patch(|Path((_, _, b)): Path<(String, String, String)>, State(s): St, Json(body): Json<Value>| async move {
            s.lock().unwrap().calls.push(format!("PATCH ref {b} {}", body["sha"]));
            Json(json!({}))
        }))
        .route("/repos/{o}/{r}", delete(|Path((o, r)): Path<(String, String)>, State(s): St| async move {
            s.lock().unwrap().calls.push(format!("DELETE /repos/{o}/{r}"));
            StatusCode::NO_CONTENT
        }))
        // GitLab
        .route("/namespaces/{ns}", get(|Path(ns): Path<String>, h: HeaderMap, State(s): St| async move {
            s.lock().unwrap().calls.push(format!("GET /namespaces/{ns}"));
            if !authorised(&h, false) { return (StatusCode::UNAUTHORIZED, Json(json!({"message": "401 Unauthorized"}))); }
            (StatusCode::OK, Json(json!({"id": 7, "full_path": ns})))
        }))
        .route("/projects", post(|State(s): St, Json(b): Json<Value>| async move {
            s.lock().unwrap().calls.push(format!("POST /projects {} ns={}", b["path"], b["namespace_id"]));
            (StatusCode::CREATED, Json(json!({"id": 42, "web_url": "http://gitlab.local/acme/shop", "http_url_to_repo": "http://gitlab.local/acme/shop.git"})))
        }))
        .route("/projects/{id}/repository/commits", post(|Path(id): Path<u64>, State(s): St, Json(b): Json<Value>| async move {
            let mut h = s.lock().unwrap();
            h.calls.push(format!("POST /projects/{id}/repository/commits branch={}", b["branch"]));
            for a in b["actions"].as_array().unwrap() {
                let f = (a["file_path"].as_str().unwrap().to_owned(), b64d(a["content"].as_str().unwrap()));
                h.files.push(f);
            }
            (StatusCode::CREATED, Json(json!({"id": "beef"})))
        }))
        .with_state(state)
}

const TEMPLATE: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        values: {name: shop}
    - id: publish
      action: ACTION
      input:
        repoUrl: HOST?owner=acme&repo=shop
        description: The shop
";

async fn serve(host: Arc<Mutex<Host>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, stand_in(host)).await.unwrap() });
    format!("http://{addr}")
}

async fn run(
    action: &str,
    host_name: &str,
    base: &str,
    token: &str,
) -> socle_scaffold::engine::RunResult {
    run_on(
        action,
        &format!("{host_name}?owner=acme&repo=shop"),
        base,
        token,
    )
    .await
}

/// Runs the publishing template with `repo_url` (and, when given, `defaultBranch`).
async fn run_on(
    action: &str,
    repo_url: &str,
    base: &str,
    token: &str,
) -> socle_scaffold::engine::RunResult {
    run_with(action, repo_url, HostApi::new(base, token)).await
}

/// Runs the publishing template with `repo_url` against `api`.
async fn run_with(action: &str, repo_url: &str, api: HostApi) -> socle_scaffold::engine::RunResult {
    let mut engine = Engine::new();
    for a in actions(Some(api.clone()), Some(api)) {
        engine.register(a);
    }
    let t = engine
        .load(
            &TEMPLATE
                .replace("ACTION", action)
                .replace("HOST?owner=acme&repo=shop", &format!("{repo_url:?}")),
            "t.yaml",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skeleton/src")).unwrap();
    std::fs::write(
        dir.path().join("skeleton/README.md"),
        "# ${{ values.name }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("skeleton/src/main.rs"), "fn main() {}\n").unwrap();
    let ws = tempfile::tempdir().unwrap();
    engine
        .run(
            &t,
            &DirSource {
                root: dir.path().to_path_buf(),
            },
            json!({}),
            RunOptions {
                workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                dry_run: false,
                user: json!({}),
                secrets: json!({}),
                live: None,
                cancel: None,
            },
        )
        .await
}

/// The stand-in served over TLS with a certificate from `ca`.
async fn serve_https(host: Arc<Mutex<Host>>, ca: &socle_testkit::https::TestCa) -> String {
    let addr = socle_testkit::https::serve_tls(stand_in(host), ca).await;
    format!("https://127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn publish_github_over_https_trusts_the_configured_ca_only() {
    let ca = socle_testkit::https::TestCa::new();
    let host = Arc::new(Mutex::new(Host::default()));
    let base = serve_https(host.clone(), &ca).await;
    let trusted = HostApi {
        tls: socle_app::net::TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap(),
        ..HostApi::new(&base, "gh-token")
    };
    let r = run_with("publish:github", "github.com?owner=acme&repo=shop", trusted).await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(r.steps[1].output["commitHash"], "c0ffee");
    // With the system's roots only, the private CA's certificate is refused before any call.
    let calls = host.lock().unwrap().calls.len();
    let r = run_with(
        "publish:github",
        "github.com?owner=acme&repo=shop",
        HostApi::new(&base, "gh-token"),
    )
    .await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    let e = r.error.unwrap().to_string();
    assert!(e.contains("TLS") && e.contains("UnknownIssuer"), "{e}");
    assert_eq!(
        host.lock().unwrap().calls.len(),
        calls,
        "a call reached an untrusted host"
    );
}

#[tokio::test]
async fn publish_github_through_the_rest_api() {
    let host = Arc::new(Mutex::new(Host::default()));
    let base = serve(host.clone()).await;
    let r = run("publish:github", "github.com", &base, "gh-token").await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(
        r.steps[1].output,
        json!({"remoteUrl": "http://github.local/acme/shop", "repoContentsUrl": "http://github.local/acme/shop/blob/main", "commitHash": "c0ffee"})
    );
    {
        let h = host.lock().unwrap();
        assert_eq!(
            h.calls,
            vec![
                "GET /users/acme",
                "POST /orgs/acme/repos \"shop\" private=true auto_init=true",
                "GET ref main",
                "POST commit tree=\"tree1\" parents=[\"init\"]",
                "PATCH ref main \"c0ffee\"",
            ]
        );
        assert_eq!(
            h.files,
            vec![
                ("README.md".to_owned(), "# shop\n".to_owned()),
                ("src/main.rs".to_owned(), "fn main() {}\n".to_owned())
            ]
        );
    }
    // A wrong token: refused by the host, reported, nothing created.
    let r = run("publish:github", "github.com", &base, "nope").await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("HTTP 401"));
    // A failure after the repository was created deletes it.
    host.lock().unwrap().fail_commit = true;
    let r = run("publish:github", "github.com", &base, "gh-token").await;
    assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("HTTP 500"));
    assert_eq!(
        host.lock().unwrap().calls.last().unwrap(),
        "DELETE /repos/acme/shop"
    );
}

#[tokio::test]
async fn publish_gitlab_through_the_rest_api() {
    let host = Arc::new(Mutex::new(Host::default()));
    let base = serve(host.clone()).await;
    let r = run("publish:gitlab", "gitlab.com", &base, "gl-token").await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(r.steps[1].output["projectId"], 42);
    assert_eq!(
        r.steps[1].output["remoteUrl"],
        "http://gitlab.local/acme/shop.git"
    );
    assert_eq!(r.steps[1].output["commitHash"], "beef");
    let h = host.lock().unwrap();
    assert_eq!(
        h.calls,
        vec![
            "GET /namespaces/acme",
            "POST /projects \"shop\" ns=7",
            "POST /projects/42/repository/commits branch=\"main\""
        ]
    );
    assert_eq!(h.files.len(), 2);
    assert_eq!(h.files[0], ("README.md".to_owned(), "# shop\n".to_owned()));
}

#[tokio::test]
async fn other_schemes_and_missing_tokens_are_explained() {
    let r = run("publish:github", "github.com", "ftp://api.github.com", "t").await;
    assert!(
        r.error
            .unwrap()
            .to_string()
            .contains("only http:// and https:// URLs")
    );
    let mut engine = Engine::new();
    for a in actions(None, None) {
        engine.register(a);
    }
    let t = engine
        .load(
            &TEMPLATE
                .replace("ACTION", "publish:gitlab")
                .replace("HOST", "gitlab.com"),
            "t.yaml",
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("skeleton")).unwrap();
    std::fs::write(dir.path().join("skeleton/a"), "a").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let r = engine
        .run(
            &t,
            &DirSource {
                root: dir.path().to_path_buf(),
            },
            json!({}),
            RunOptions {
                workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                dry_run: false,
                user: json!({}),
                secrets: json!({}),
                live: None,
                cancel: None,
            },
        )
        .await;
    assert!(r.error.unwrap().to_string().contains("SOCLE_GITLAB_TOKEN"));
}

/// Names go into API paths called with the platform's token: `..` or an extra `/` would reach
/// another repository (and a forced ref update with it). Refused before any call.
#[tokio::test]
async fn names_that_leave_the_new_repository_are_refused_before_any_call() {
    let host = Arc::new(Mutex::new(Host::default()));
    let base = serve(host.clone()).await;
    for (action, url) in [
        (
            "publish:github",
            "github.com?owner=new-x/../payments&repo=shop",
        ),
        ("publish:github", "github.com?owner=acme&repo=../payments"),
        ("publish:github", "github.com?owner=acme/x&repo=shop"),
        ("publish:gitlab", "gitlab.com?owner=group/..&repo=shop"),
        (
            "publish:gitlab",
            "gitlab.com?owner=acme&repo=shop%2F..%2Fpayments",
        ),
    ] {
        let r = run_on(action, url, &base, "gh-token").await;
        assert_eq!(r.status, socle_scaffold::RunStatus::Failed, "{url}");
        let e = r.error.unwrap().to_string();
        assert!(e.contains("repoUrl"), "{url}: {e}");
    }
    assert_eq!(host.lock().unwrap().calls, Vec::<String>::new());
}
