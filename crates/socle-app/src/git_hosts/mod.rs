//! `publish:github` and `publish:gitlab` through the hosts' REST APIs: the repository is created
//! and its first commit written with REST calls only (GitHub's Git Data API, GitLab's commits
//! API), so no Git network transport is needed. Plain-HTTP client: the API base URL must be
//! `http://` (a local mirror or proxy); `https://` needs a TLS stack this build does not carry.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext};

/// A Git host's API: base URL and token.
#[derive(Clone, Debug)]
pub struct HostApi {
    pub base: String,
    pub token: String,
}

/// Largest response body read from a host.
const MAX_RESPONSE: usize = 4 << 20;

/// Why publishing to a Git host failed.
#[derive(Debug, thiserror::Error)]
pub enum GitHostError {
    #[error(
        "{url}: only http:// API URLs are supported by this build (no TLS stack); use a local mirror or proxy"
    )]
    NotHttp { url: String },
    #[error("{addr}: connection timed out")]
    ConnectTimeout { addr: String },
    #[error("{addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The HTTP/1 handshake with the host failed.
    #[error(transparent)]
    Handshake(hyper::Error),
    /// The request could not be built.
    #[error(transparent)]
    Request(hyper::http::Error),
    #[error("{method} {url}: timed out")]
    Timeout { method: String, url: String },
    #[error("{method} {url}: {source}")]
    Send {
        method: String,
        url: String,
        source: hyper::Error,
    },
    /// Reading the response failed (or it was larger than the limit).
    #[error("{method} {url}: {source}")]
    Body {
        method: String,
        url: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The host answered with a status the call does not accept; `message` is its `message`
    /// or `error` field as JSON (or empty).
    #[error("{method} {path}: HTTP {status} {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error(transparent)]
    RepoUrl(#[from] crate::scaffold::RepoUrlError),
    #[error("defaultBranch {branch:?}: a branch name of letters, digits, '-', '_' and '.'")]
    Branch { branch: String },
    #[error(transparent)]
    Workspace(#[from] socle_scaffold::WorkspaceError),
    #[error("the workspace is empty: nothing to publish")]
    EmptyWorkspace,
}

impl From<GitHostError> for socle_scaffold::ActionError {
    fn from(e: GitHostError) -> Self {
        Self::Failed(e.to_string())
    }
}

async fn call(
    api: &HostApi,
    gitlab: bool,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), GitHostError> {
    let url = format!("{}{path}", api.base.trim_end_matches('/'));
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(GitHostError::NotHttp { url });
    };
    let (authority, _) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let stream = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    .map_err(|_| GitHostError::ConnectTimeout { addr: addr.clone() })?
    .map_err(|source| GitHostError::Connect {
        addr: addr.clone(),
        source,
    })?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(GitHostError::Handshake)?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(&url)
        .header("host", authority)
        .header("user-agent", "socle")
        .header("accept", "application/json")
        .header("content-type", "application/json");
    req = if gitlab {
        req.header("private-token", &api.token)
    } else {
        req.header("authorization", format!("Bearer {}", api.token))
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let resp = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        sender.send_request(
            req.body(Full::new(Bytes::from(body)))
                .map_err(GitHostError::Request)?,
        ),
    )
    .await
    .map_err(|_| GitHostError::Timeout {
        method: method.to_owned(),
        url: url.clone(),
    })?
    .map_err(|source| GitHostError::Send {
        method: method.to_owned(),
        url: url.clone(),
        source,
    })?;
    let status = resp.status().as_u16();
    let bytes = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|source| GitHostError::Body {
            method: method.to_owned(),
            url: url.clone(),
            source,
        })?
        .to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, v))
}

async fn expect(
    api: &HostApi,
    gitlab: bool,
    method: &str,
    path: &str,
    body: Option<&Value>,
    ok: &[u16],
) -> Result<Value, GitHostError> {
    let (status, v) = call(api, gitlab, method, path, body).await?;
    if ok.contains(&status) {
        Ok(v)
    } else {
        let msg = v
            .get("message")
            .or(v.get("error"))
            .map(|m| m.to_string())
            .unwrap_or_default();
        Err(GitHostError::Status {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            message: msg,
        })
    }
}

/// `github.com?owner=o&repo=r` or `https://github.com/o/r` → (owner, repo), every part a plain
/// name (letters, digits, `-`, `_`, `.`; GitLab owners may be `group/subgroup`): they go into
/// API paths called with the platform's token, so `..` or a `/` in a name would reach another
/// repository.
fn owner_repo(url: &str) -> Result<(String, String), GitHostError> {
    let (_, owner, repo) = crate::scaffold::parse_repo_url(url)?;
    Ok((owner.join("/"), repo))
}

/// The branch to publish: a plain name (it goes into ref paths, one of them a forced update).
fn branch_in(input: &Value, default: &str) -> Result<String, GitHostError> {
    let branch = str_in(input, "defaultBranch").unwrap_or(default);
    if crate::scaffold::segment_ok(branch) {
        Ok(branch.to_owned())
    } else {
        Err(GitHostError::Branch {
            branch: branch.to_owned(),
        })
    }
}

fn files(
    workspace: &dyn socle_scaffold::Workspace,
    source: &str,
) -> Result<BTreeMap<String, Vec<u8>>, GitHostError> {
    let out = crate::scaffold::workspace_files(workspace, source)?;
    if out.is_empty() {
        return Err(GitHostError::EmptyWorkspace);
    }
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn str_in<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// `publish:github`.
pub struct PublishGithub {
    pub api: Option<HostApi>,
}

impl Action for PublishGithub {
    fn id(&self) -> &'static str {
        "publish:github"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["remoteUrl", "repoContentsUrl", "commitHash"])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        let u = str_in(input, "repoUrl").unwrap_or_default();
        json!({"remoteUrl": format!("dry-run:{u}"), "repoContentsUrl": format!("dry-run:{u}"), "commitHash": ""})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let api = self.api.as_ref().ok_or("publish:github needs a token: start Socle with SOCLE_GITHUB_TOKEN (and --github-api-url)")?;
            let (owner, repo) =
                owner_repo(str_in(&input, "repoUrl").ok_or("input.repoUrl is required")?)?;
            if owner.contains('/') {
                return Err(
                    format!("repoUrl: {owner:?} is not a GitHub user or organisation").into(),
                );
            }
            let files = files(cx.workspace, str_in(&input, "sourcePath").unwrap_or("."))?;
            let user = expect(api, false, "GET", &format!("/users/{owner}"), None, &[200]).await?;
            let private = str_in(&input, "repoVisibility").unwrap_or("private") != "public";
            let create = json!({"name": repo, "description": str_in(&input, "description").unwrap_or_default(), "private": private, "auto_init": true});
            let path = if user["type"] == "Organization" {
                format!("/orgs/{owner}/repos")
            } else {
                "/user/repos".to_owned()
            };
            let created = expect(api, false, "POST", &path, Some(&create), &[201]).await?;
            let undo = json!({"owner": owner, "repo": repo});
            let result = async {
                let default = created["default_branch"].as_str().unwrap_or("main").to_owned();
                let branch = branch_in(&input, &default)?;
                let base = format!("/repos/{owner}/{repo}");
                let mut tree = Vec::new();
                for (p, bytes) in &files {
                    let blob = expect(api, false, "POST", &format!("{base}/git/blobs"), Some(&json!({"content": b64(bytes), "encoding": "base64"})), &[201]).await?;
                    tree.push(json!({"path": p, "mode": "100644", "type": "blob", "sha": blob["sha"]}));
                }
                let head = expect(api, false, "GET", &format!("{base}/git/ref/heads/{default}"), None, &[200]).await?;
                let tree = expect(api, false, "POST", &format!("{base}/git/trees"), Some(&json!({"tree": tree})), &[201]).await?;
                let message = str_in(&input, "gitCommitMessage").unwrap_or("Initial commit");
                let commit = expect(api, false, "POST", &format!("{base}/git/commits"),
                    Some(&json!({"message": message, "tree": tree["sha"], "parents": [head["object"]["sha"]]})), &[201]).await?;
                let sha = commit["sha"].as_str().unwrap_or_default().to_owned();
                if branch == default {
                    expect(api, false, "PATCH", &format!("{base}/git/refs/heads/{branch}"), Some(&json!({"sha": sha, "force": true})), &[200]).await?;
                } else {
                    expect(api, false, "POST", &format!("{base}/git/refs"), Some(&json!({"ref": format!("refs/heads/{branch}"), "sha": sha})), &[201]).await?;
                    expect(api, false, "PATCH", &base, Some(&json!({"default_branch": branch})), &[200]).await?;
                }
                let html = created["html_url"].as_str().unwrap_or_default().to_owned();
                cx.info(format!("published {} files to {html} ({branch} at {sha})", files.len()));
                Ok::<Value, GitHostError>(json!({"remoteUrl": html, "repoContentsUrl": format!("{html}/blob/{branch}"), "commitHash": sha}))
            }
            .await;
            match result {
                Ok(output) => Ok(ActionOutcome {
                    output,
                    undo: Some(undo),
                }),
                Err(e) => {
                    // Leave no half-created repository behind.
                    let _ = call(
                        api,
                        false,
                        "DELETE",
                        &format!("/repos/{owner}/{repo}"),
                        None,
                    )
                    .await;
                    Err(e.into())
                }
            }
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), socle_scaffold::ActionError>> {
        Box::pin(async move {
            let api = self.api.as_ref().ok_or("no GitHub API configured")?;
            let path = format!(
                "/repos/{}/{}",
                data["owner"].as_str().unwrap_or_default(),
                data["repo"].as_str().unwrap_or_default()
            );
            expect(api, false, "DELETE", &path, None, &[204, 404])
                .await
                .map(|_| ())
                .map_err(Into::into)
        })
    }
}

/// `publish:gitlab`.
pub struct PublishGitlab {
    pub api: Option<HostApi>,
}

impl Action for PublishGitlab {
    fn id(&self) -> &'static str {
        "publish:gitlab"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec![
            "remoteUrl",
            "repoContentsUrl",
            "commitHash",
            "projectId",
        ])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        let u = str_in(input, "repoUrl").unwrap_or_default();
        json!({"remoteUrl": format!("dry-run:{u}"), "repoContentsUrl": format!("dry-run:{u}"), "commitHash": "", "projectId": 0})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let api = self.api.as_ref().ok_or("publish:gitlab needs a token: start Socle with SOCLE_GITLAB_TOKEN (and --gitlab-api-url)")?;
            let (owner, repo) =
                owner_repo(str_in(&input, "repoUrl").ok_or("input.repoUrl is required")?)?;
            let files = files(cx.workspace, str_in(&input, "sourcePath").unwrap_or("."))?;
            let ns = expect(
                api,
                true,
                "GET",
                &format!("/namespaces/{}", owner.replace('/', "%2F")),
                None,
                &[200],
            )
            .await?;
            let visibility = str_in(&input, "repoVisibility").unwrap_or("private");
            let branch = branch_in(&input, "main")?;
            let project = expect(api, true, "POST", "/projects",
                Some(&json!({"name": repo, "path": repo, "namespace_id": ns["id"], "visibility": visibility,
                             "description": str_in(&input, "description").unwrap_or_default(), "default_branch": branch})), &[201]).await?;
            let id = project["id"].clone();
            let actions: Vec<Value> = files.iter().map(|(p, b)| json!({"action": "create", "file_path": p, "content": b64(b), "encoding": "base64"})).collect();
            let message = str_in(&input, "gitCommitMessage").unwrap_or("Initial commit");
            let commit = match expect(
                api,
                true,
                "POST",
                &format!("/projects/{id}/repository/commits"),
                Some(&json!({"branch": branch, "commit_message": message, "actions": actions})),
                &[201],
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    let _ = call(api, true, "DELETE", &format!("/projects/{id}"), None).await;
                    return Err(e.into());
                }
            };
            let web = project["web_url"].as_str().unwrap_or_default().to_owned();
            let sha = commit["id"].as_str().unwrap_or_default().to_owned();
            cx.info(format!(
                "published {} files to {web} ({branch} at {sha})",
                files.len()
            ));
            Ok(ActionOutcome {
                output: json!({"remoteUrl": project["http_url_to_repo"], "repoContentsUrl": format!("{web}/-/blob/{branch}"), "commitHash": sha, "projectId": id}),
                undo: Some(json!({"id": id})),
            })
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), socle_scaffold::ActionError>> {
        Box::pin(async move {
            let api = self.api.as_ref().ok_or("no GitLab API configured")?;
            expect(
                api,
                true,
                "DELETE",
                &format!("/projects/{}", data["id"]),
                None,
                &[202, 204, 404],
            )
            .await
            .map(|_| ())
            .map_err(Into::into)
        })
    }
}

/// Both, as configured.
pub fn actions(github: Option<HostApi>, gitlab: Option<HostApi>) -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(PublishGithub { api: github }),
        Arc::new(PublishGitlab { api: gitlab }),
    ]
}
