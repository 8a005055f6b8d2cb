//! `publish:github:pull-request`, `publish:gitlab:merge-request` and `github:actions:dispatch`
//! against a recording stand-in for the hosts' REST APIs: every request Socle sends — method,
//! path and query, authentication header, JSON body — checked exactly, in order; what a failure
//! cleans up; and names that would leave the repository or the workspace refused before any
//! call.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use socle_app::git_hosts::{HostApi, actions};
use socle_scaffold::builtin::DirSource;
use socle_scaffold::engine::RunResult;
use socle_scaffold::{Engine, RunOptions, RunStatus};

/// One request as the host received it.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    method: String,
    path: String,
    auth: String,
    body: Value,
}

/// The stand-in: what it answers (method, path with query → status, body; the first match) and
/// what it received.
#[derive(Default)]
struct Host {
    script: Vec<(&'static str, String, u16, Value)>,
    calls: Vec<Call>,
}

type Shared = Arc<Mutex<Host>>;

async fn answer(
    State(host): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let auth = header("authorization")
        .or_else(|| header("private-token").map(|t| format!("PRIVATE-TOKEN {t}")))
        .unwrap_or_default();
    let path = uri
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut h = host.lock().unwrap();
    h.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        auth,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    let found = h
        .script
        .iter()
        .find(|(m, p, _, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, s, b)| (*s, b.clone()));
    let (status, body) = found.unwrap_or((404, json!({"message": "Not Found"})));
    (StatusCode::from_u16(status).unwrap(), Json(body))
}

async fn serve(host: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(answer).with_state(host);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn template(steps: &str) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  steps:
    - id: fetch
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: out
        values: {{name: shop}}
{steps}"
    )
}

/// Runs `steps` (after a fetch of a two-file skeleton into `out/`) against `base`.
async fn run(base: &str, steps: &str) -> RunResult {
    let api = HostApi::new(base, "platform-token");
    let mut engine = Engine::new();
    for a in actions(Some(api.clone()), Some(api)) {
        engine.register(a);
    }
    let t = engine.load(&template(steps), "t.yaml").unwrap();
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
                workspace: Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                dry_run: false,
                user: json!({}),
                secrets: json!({}),
                live: None,
                cancel: None,
            },
        )
        .await
}

fn call(method: &str, path: &str, auth: &str, body: Value) -> Call {
    Call {
        method: method.into(),
        path: path.into(),
        auth: auth.into(),
        body,
    }
}

const PR: &str = "    - id: pr
      action: publish:github:pull-request
      input:
        repoUrl: github.com?owner=acme&repo=shop
        title: 'Create new project: shop'
        branchName: create-shop
        description: A new service
        sourcePath: out
        targetPath: services/shop
        reviewers: [ann]
        teamReviewers: [team-a]
";

fn github_script() -> Vec<(&'static str, String, u16, Value)> {
    let r = "/repos/acme/shop";
    vec![
        ("GET", r.into(), 200, json!({"default_branch": "main"})),
        (
            "GET",
            format!("{r}/git/ref/heads/main"),
            200,
            json!({"object": {"sha": "base1"}}),
        ),
        (
            "GET",
            format!("{r}/git/commits/base1"),
            200,
            json!({"tree": {"sha": "tree0"}}),
        ),
        (
            "POST",
            format!("{r}/git/blobs"),
            201,
            json!({"sha": "blob"}),
        ),
        (
            "POST",
            format!("{r}/git/trees"),
            201,
            json!({"sha": "tree1"}),
        ),
        (
            "POST",
            format!("{r}/git/commits"),
            201,
            json!({"sha": "c1"}),
        ),
        ("POST", format!("{r}/git/refs"), 201, json!({})),
        (
            "POST",
            format!("{r}/pulls"),
            201,
            json!({"number": 7, "html_url": "http://github.local/acme/shop/pull/7", "base": {"ref": "main"}}),
        ),
        (
            "POST",
            format!("{r}/pulls/7/requested_reviewers"),
            201,
            json!({}),
        ),
        ("PATCH", format!("{r}/pulls/7"), 200, json!({})),
        (
            "DELETE",
            format!("{r}/git/refs/heads/create-shop"),
            204,
            Value::Null,
        ),
    ]
}

#[tokio::test]
async fn a_pull_request_is_a_branch_a_commit_and_a_request() {
    let host = Arc::new(Mutex::new(Host {
        script: github_script(),
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let r = run(&base, PR).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.steps[1].output,
        json!({"remoteUrl": "http://github.local/acme/shop/pull/7", "pullRequestNumber": 7, "targetBranchName": "main"})
    );
    let auth = "Bearer platform-token";
    let r = "/repos/acme/shop";
    assert_eq!(
        host.lock().unwrap().calls,
        vec![
            call("GET", r, auth, Value::Null),
            call("GET", &format!("{r}/git/ref/heads/main"), auth, Value::Null),
            call("GET", &format!("{r}/git/commits/base1"), auth, Value::Null),
            call(
                "POST",
                &format!("{r}/git/blobs"),
                auth,
                json!({"content": b64("# shop\n"), "encoding": "base64"})
            ),
            call(
                "POST",
                &format!("{r}/git/blobs"),
                auth,
                json!({"content": b64("fn main() {}\n"), "encoding": "base64"})
            ),
            call(
                "POST",
                &format!("{r}/git/trees"),
                auth,
                json!({"base_tree": "tree0", "tree": [
                    {"path": "services/shop/README.md", "mode": "100644", "type": "blob", "sha": "blob"},
                    {"path": "services/shop/src/main.rs", "mode": "100644", "type": "blob", "sha": "blob"},
                ]})
            ),
            call(
                "POST",
                &format!("{r}/git/commits"),
                auth,
                json!({"message": "Create new project: shop", "tree": "tree1", "parents": ["base1"]})
            ),
            call(
                "POST",
                &format!("{r}/git/refs"),
                auth,
                json!({"ref": "refs/heads/create-shop", "sha": "c1"})
            ),
            call(
                "POST",
                &format!("{r}/pulls"),
                auth,
                json!({"title": "Create new project: shop", "body": "A new service", "head": "create-shop", "base": "main", "draft": false})
            ),
            call(
                "POST",
                &format!("{r}/pulls/7/requested_reviewers"),
                auth,
                json!({"reviewers": ["ann"], "team_reviewers": ["team-a"]})
            ),
        ]
    );
}

#[tokio::test]
async fn a_steps_own_token_is_sent_instead_of_the_platforms() {
    let host = Arc::new(Mutex::new(Host {
        script: github_script(),
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let steps = format!("{PR}        token: user-token\n");
    let r = run(&base, &steps).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    let calls = host.lock().unwrap().calls.clone();
    assert!(
        calls.iter().all(|c| c.auth == "Bearer user-token"),
        "{calls:?}"
    );
    // The token is never shown in the run's log.
    assert!(
        !serde_json::to_string(&r.log)
            .unwrap()
            .contains("user-token")
    );
}

#[tokio::test]
async fn an_existing_branch_is_refused_and_no_request_opened() {
    let mut script = github_script();
    script.retain(|(m, p, _, _)| !(*m == "POST" && p.ends_with("/git/refs")));
    script.push((
        "POST",
        "/repos/acme/shop/git/refs".into(),
        422,
        json!({"message": "Reference already exists"}),
    ));
    let host = Arc::new(Mutex::new(Host {
        script,
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let r = run(&base, PR).await;
    assert_eq!(r.status, RunStatus::Failed);
    let e = r.error.unwrap().to_string();
    assert!(
        e.contains("branch create-shop already exists in acme/shop"),
        "{e}"
    );
    let h = host.lock().unwrap();
    assert!(
        !h.calls.iter().any(|c| c.path.ends_with("/pulls")),
        "{:?}",
        h.calls
    );
}

#[tokio::test]
async fn a_refused_request_deletes_its_branch() {
    let mut script = github_script();
    script.retain(|(m, p, _, _)| !(*m == "POST" && p.ends_with("/pulls")));
    script.push((
        "POST",
        "/repos/acme/shop/pulls".into(),
        422,
        json!({"message": "Validation Failed"}),
    ));
    let host = Arc::new(Mutex::new(Host {
        script,
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let r = run(&base, PR).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("HTTP 422"));
    let last = host.lock().unwrap().calls.last().cloned().unwrap();
    assert_eq!(
        last,
        call(
            "DELETE",
            "/repos/acme/shop/git/refs/heads/create-shop",
            "Bearer platform-token",
            Value::Null
        )
    );
}

#[tokio::test]
async fn a_later_failure_closes_the_request_and_deletes_the_branch() {
    let host = Arc::new(Mutex::new(Host {
        script: github_script(),
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let steps =
        format!("{PR}    - id: boom\n      action: fs:read\n      input: {{path: missing.txt}}\n");
    let r = run(&base, &steps).await;
    assert_eq!(r.status, RunStatus::Failed);
    let calls = host.lock().unwrap().calls.clone();
    let auth = "Bearer platform-token";
    assert_eq!(
        calls[calls.len() - 2..].to_vec(),
        vec![
            call(
                "PATCH",
                "/repos/acme/shop/pulls/7",
                auth,
                json!({"state": "closed"})
            ),
            call(
                "DELETE",
                "/repos/acme/shop/git/refs/heads/create-shop",
                auth,
                Value::Null
            ),
        ]
    );
    assert!(
        r.log
            .iter()
            .any(|l| l.message == "undid publish:github:pull-request")
    );
}

#[tokio::test]
async fn paths_and_names_that_leave_their_bounds_are_refused_before_any_call() {
    let host = Arc::new(Mutex::new(Host::default()));
    let base = serve(host.clone()).await;
    for (from, to, expected) in [
        (
            "targetPath: services/shop",
            "targetPath: ../../other",
            "input.targetPath",
        ),
        ("sourcePath: out", "sourcePath: ../..", "input.sourcePath"),
        (
            "targetPath: services/shop",
            "targetPath: /etc",
            "input.targetPath",
        ),
        (
            "branchName: create-shop",
            "branchName: ../main",
            "input.branchName",
        ),
        (
            "branchName: create-shop",
            "branchName: a..b/../x",
            "input.branchName",
        ),
        (
            "repoUrl: github.com?owner=acme&repo=shop",
            "repoUrl: github.com?owner=acme&repo=../payments",
            "repoUrl",
        ),
        (
            "reviewers: [ann]",
            "reviewers: ['ann/../x']",
            "input.reviewers",
        ),
        (
            "title: 'Create new project: shop'",
            "title: ''",
            "input.title is required",
        ),
    ] {
        let r = run(&base, &PR.replace(from, to)).await;
        assert_eq!(r.status, RunStatus::Failed, "{to}");
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{to}: {e}");
    }
    let r = run(&base, &format!("{PR}        update: true\n")).await;
    assert!(r.error.unwrap().to_string().contains("not supported"));
    assert_eq!(host.lock().unwrap().calls, Vec::<Call>::new());
}

const MR: &str = "    - id: mr
      action: publish:gitlab:merge-request
      input:
        repoUrl: gitlab.com?owner=acme&repo=shop
        title: Add shop
        description: A new service
        branchName: add-shop
        targetPath: apps
        sourcePath: out
        removeSourceBranch: true
        assignee: ann
";

#[tokio::test]
async fn a_merge_request_is_a_branch_a_commit_and_a_request() {
    let p = "/projects/acme%2Fshop";
    let host = Arc::new(Mutex::new(Host {
        script: vec![
            (
                "GET",
                p.into(),
                200,
                json!({"id": 42, "default_branch": "main"}),
            ),
            (
                "GET",
                format!(
                    "{p}/repository/tree?ref=main&recursive=true&per_page=100&page=1&path=apps"
                ),
                200,
                json!([{"type": "tree", "path": "apps/src"}, {"type": "blob", "path": "apps/README.md"}]),
            ),
            ("POST", format!("{p}/repository/branches"), 201, json!({})),
            ("GET", "/users?username=ann".into(), 200, json!([{"id": 5}])),
            (
                "POST",
                format!("{p}/repository/commits"),
                201,
                json!({"id": "beef"}),
            ),
            (
                "POST",
                format!("{p}/merge_requests"),
                201,
                json!({"iid": 3, "web_url": "http://gitlab.local/acme/shop/-/merge_requests/3"}),
            ),
        ],
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let r = run(&base, MR).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        r.steps[1].output,
        json!({"projectid": "acme/shop", "projectPath": "acme/shop", "targetBranchName": "main",
               "mergeRequestUrl": "http://gitlab.local/acme/shop/-/merge_requests/3"})
    );
    let auth = "PRIVATE-TOKEN platform-token";
    assert_eq!(
        host.lock().unwrap().calls,
        vec![
            call("GET", p, auth, Value::Null),
            call(
                "GET",
                &format!(
                    "{p}/repository/tree?ref=main&recursive=true&per_page=100&page=1&path=apps"
                ),
                auth,
                Value::Null
            ),
            call(
                "GET",
                &format!("{p}/repository/branches/add-shop"),
                auth,
                Value::Null
            ),
            call(
                "POST",
                &format!("{p}/repository/branches"),
                auth,
                json!({"branch": "add-shop", "ref": "main"})
            ),
            call("GET", "/users?username=ann", auth, Value::Null),
            call(
                "POST",
                &format!("{p}/repository/commits"),
                auth,
                json!({"branch": "add-shop", "commit_message": "Add shop", "actions": [
                    {"action": "update", "file_path": "apps/README.md", "content": b64("# shop\n"), "encoding": "base64"},
                    {"action": "create", "file_path": "apps/src/main.rs", "content": b64("fn main() {}\n"), "encoding": "base64"},
                ]})
            ),
            call(
                "POST",
                &format!("{p}/merge_requests"),
                auth,
                json!({"source_branch": "add-shop", "target_branch": "main", "title": "Add shop",
                "description": "A new service", "remove_source_branch": true, "assignee_id": 5})
            ),
        ]
    );
}

#[tokio::test]
async fn a_merge_request_whose_commit_fails_deletes_its_branch() {
    let p = "/projects/acme%2Fshop";
    let host = Arc::new(Mutex::new(Host {
        script: vec![
            (
                "GET",
                p.into(),
                200,
                json!({"id": 42, "default_branch": "main"}),
            ),
            ("POST", format!("{p}/repository/branches"), 201, json!({})),
            (
                "POST",
                format!("{p}/repository/commits"),
                400,
                json!({"message": "A file with this name already exists"}),
            ),
        ],
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let steps = MR.replace("        assignee: ann\n", "        commitAction: create\n");
    let r = run(&base, &steps).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.error.unwrap().to_string().contains("HTTP 400"));
    let calls = host.lock().unwrap().calls.clone();
    assert_eq!(
        calls.last().unwrap(),
        &call(
            "DELETE",
            &format!("{p}/repository/branches/add-shop"),
            "PRIVATE-TOKEN platform-token",
            Value::Null
        )
    );
    assert!(
        !calls.iter().any(|c| c.path.contains("/tree?")),
        "create needs no tree: {calls:?}"
    );
}

#[tokio::test]
async fn an_existing_merge_request_branch_is_refused() {
    let p = "/projects/acme%2Fshop";
    let host = Arc::new(Mutex::new(Host {
        script: vec![
            (
                "GET",
                p.into(),
                200,
                json!({"id": 42, "default_branch": "main"}),
            ),
            (
                "GET",
                format!("{p}/repository/branches/add-shop"),
                200,
                json!({"name": "add-shop"}),
            ),
        ],
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let r = run(
        &base,
        &MR.replace("        assignee: ann\n", "        commitAction: update\n"),
    )
    .await;
    let e = r.error.unwrap().to_string();
    assert!(
        e.contains("branch add-shop already exists in acme/shop"),
        "{e}"
    );
    assert!(
        !host
            .lock()
            .unwrap()
            .calls
            .iter()
            .any(|c| c.method == "POST")
    );
}

#[tokio::test]
async fn a_workflow_is_dispatched_with_its_inputs() {
    let path = "/repos/acme/shop/actions/workflows/deploy.yml/dispatches";
    let host = Arc::new(Mutex::new(Host {
        script: vec![("POST", path.into(), 204, Value::Null)],
        ..Host::default()
    }));
    let base = serve(host.clone()).await;
    let steps = "    - id: dispatch
      action: github:actions:dispatch
      input:
        repoUrl: github.com?owner=acme&repo=shop
        workflowId: deploy.yml
        branchOrTagName: release/1.2
        workflowInputs: {environment: dev, replicas: 2, dryRun: false}
";
    let r = run(&base, steps).await;
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.error);
    assert_eq!(
        host.lock().unwrap().calls,
        vec![call(
            "POST",
            path,
            "Bearer platform-token",
            json!({"ref": "release/1.2", "inputs": {"environment": "dev", "replicas": "2", "dryRun": "false"}})
        )]
    );
    // A workflow id or inputs that do not fit are refused before any call.
    for (from, to, expected) in [
        (
            "workflowId: deploy.yml",
            "workflowId: ../../x",
            "input.workflowId",
        ),
        (
            "workflowInputs: {environment: dev, replicas: 2, dryRun: false}",
            "workflowInputs: {a: [1]}",
            "workflowInputs.a",
        ),
        (
            "branchOrTagName: release/1.2",
            "branchOrTagName: ''",
            "input.branchOrTagName is required",
        ),
    ] {
        let r = run(&base, &steps.replace(from, to)).await;
        let e = r.error.unwrap().to_string();
        assert!(e.contains(expected), "{to}: {e}");
    }
    assert_eq!(host.lock().unwrap().calls.len(), 1);
}
