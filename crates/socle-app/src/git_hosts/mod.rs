//! The golden-path actions that reach GitHub and GitLab through their REST APIs, with REST calls
//! only (GitHub's Git Data API, GitLab's commits API), so no Git network transport is needed:
//! `publish:github` / `publish:gitlab` (a new repository and its first commit, in
//! [`publish`]), `publish:github:pull-request` / `publish:gitlab:merge-request` (the workspace
//! as a branch of an existing repository and a pull or merge request, in [`review`]) and
//! `github:actions:dispatch` (a workflow dispatch, in [`dispatch`]). The API base URL is
//! `https://` (TLS with rustls, trusting the system's roots plus `SOCLE_CA_FILE`: see
//! [`crate::net`]) or `http://` (a local mirror or proxy). Every name that goes into an API path
//! is checked first (no `..`, no extra `/`), every response body is bounded.

mod dispatch;
mod publish;
mod review;

pub use dispatch::GithubDispatch;
pub use publish::{PublishGithub, PublishGitlab};
pub use review::{GithubPullRequest, GitlabMergeRequest};

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use socle_scaffold::Action;

/// A Git host's API: base URL, token and the TLS roots its certificate is checked against.
#[derive(Clone, Debug)]
pub struct HostApi {
    pub base: String,
    pub token: String,
    pub tls: crate::net::TlsRoots,
}

impl HostApi {
    /// An API trusting the system's roots.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            token: token.into(),
            tls: crate::net::TlsRoots::default(),
        }
    }
}

/// Largest response body read from a host.
const MAX_RESPONSE: usize = 4 << 20;
/// Longest branch or tag name sent to a host.
const MAX_REF_NAME: usize = 200;

/// Which host's API a call goes to (they authenticate differently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host {
    /// `Authorization: Bearer <token>`.
    Github,
    /// `PRIVATE-TOKEN: <token>`.
    Gitlab,
}

/// Why publishing to a Git host failed.
#[derive(Debug, thiserror::Error)]
pub enum GitHostError {
    /// No connection to the host (or its certificate was not trusted).
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
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
    /// A step's input that is missing or malformed.
    #[error("{0}")]
    Input(String),
    /// No API configured for the host the action needs.
    #[error("{action} needs {what}")]
    NotConfigured { action: String, what: String },
}

impl From<GitHostError> for socle_scaffold::ActionError {
    fn from(e: GitHostError) -> Self {
        Self::Failed(e.to_string())
    }
}

async fn call(
    api: &HostApi,
    host: Host,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), GitHostError> {
    use crate::net::ExchangeError;
    let url = format!("{}{path}", api.base.trim_end_matches('/'));
    let endpoint = crate::net::Endpoint::of(&url)?;
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(&url)
        .header("accept", "application/json")
        .header("content-type", "application/json");
    req = match host {
        Host::Gitlab => req.header("private-token", &api.token),
        Host::Github => req.header("authorization", format!("Bearer {}", api.token)),
    };
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(GitHostError::Request)?;
    let (method, url) = (method.to_owned(), url.clone());
    let (status, bytes) = crate::net::exchange(
        &endpoint,
        &api.tls,
        req,
        std::time::Duration::from_secs(60),
        MAX_RESPONSE,
    )
    .await
    .map_err(|e| match e {
        ExchangeError::Net(e) => GitHostError::Net(e),
        ExchangeError::Timeout => GitHostError::Timeout { method, url },
        ExchangeError::Send(source) => GitHostError::Send {
            method,
            url,
            source,
        },
        ExchangeError::Body(source) => GitHostError::Body {
            method,
            url,
            source,
        },
    })?;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, v))
}

async fn expect(
    api: &HostApi,
    host: Host,
    method: &str,
    path: &str,
    body: Option<&Value>,
    ok: &[u16],
) -> Result<Value, GitHostError> {
    let (status, v) = call(api, host, method, path, body).await?;
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

fn bad(message: impl Into<String>) -> GitHostError {
    GitHostError::Input(message.into())
}

/// A required, non-empty string input.
fn required<'a>(input: &'a Value, field: &str) -> Result<&'a str, GitHostError> {
    str_in(input, field)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad(format!("input.{field} is required")))
}

/// An optional string input (absent, null or empty: None); any other type is refused.
fn optional<'a>(input: &'a Value, field: &str) -> Result<Option<&'a str>, GitHostError> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(format!("input.{field} must be a string, not {other}"))),
    }
}

/// An optional boolean input (default false).
fn flag(input: &Value, field: &str) -> Result<bool, GitHostError> {
    match input.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad(format!(
            "input.{field} must be true or false, not {other}"
        ))),
    }
}

/// A branch or tag name that goes into API paths and refs: `/`-separated parts of letters,
/// digits, `-`, `_` and `.`, none of them `.` or `..`, at most [`MAX_REF_NAME`] bytes.
fn ref_name(field: &str, value: &str) -> Result<String, GitHostError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_REF_NAME
        && value.split('/').all(crate::scaffold::segment_ok)
        && !value.ends_with(".lock");
    if ok {
        Ok(value.to_owned())
    } else {
        Err(bad(format!(
            "input.{field} {value:?}: a branch name of '/'-separated parts of letters, digits, '-', '_' and '.' (at most {MAX_REF_NAME} bytes)"
        )))
    }
}

/// A directory inside the repository (`targetPath`): relative, no `..` (None: the root).
fn repo_dir(input: &Value, field: &str) -> Result<Option<String>, GitHostError> {
    let Some(p) = optional(input, field)? else {
        return Ok(None);
    };
    let rel =
        socle_scaffold::workspace::relative(p).map_err(|e| bad(format!("input.{field}: {e}")))?;
    let rel = rel.to_string_lossy().replace('\\', "/");
    Ok((!rel.is_empty()).then_some(rel))
}

/// `dir/path` (or `path` alone).
fn under(dir: Option<&str>, path: &str) -> String {
    dir.map_or_else(|| path.to_owned(), |d| format!("{d}/{path}"))
}

/// A list of host user or team names (`reviewers`, `teamReviewers`): each a plain name, at
/// most `max`.
fn names(input: &Value, field: &str, max: usize) -> Result<Vec<String>, GitHostError> {
    let list = match input.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(bad(format!("input.{field} must be a list, not {other}"))),
    };
    if list.len() > max {
        return Err(bad(format!(
            "input.{field}: {} names, at most {max}",
            list.len()
        )));
    }
    list.iter()
        .map(|v| match v.as_str() {
            Some(n) if crate::scaffold::segment_ok(n) => Ok(n.to_owned()),
            _ => Err(bad(format!(
                "input.{field}: {v} is not a user or team name (letters, digits, '-', '_', '.')"
            ))),
        })
        .collect()
}

/// The API a step calls: the platform's, with the step's own `token` when it gives one (a
/// user's credentials — the host then grants what that user may do, no more).
fn api_for(
    api: Option<&HostApi>,
    input: &Value,
    action: &str,
    what: &str,
) -> Result<HostApi, GitHostError> {
    let api = api.ok_or_else(|| GitHostError::NotConfigured {
        action: action.to_owned(),
        what: what.to_owned(),
    })?;
    Ok(match optional(input, "token")? {
        Some(t) => HostApi {
            token: t.to_owned(),
            ..api.clone()
        },
        None => api.clone(),
    })
}

/// Every Git host action, as configured.
pub fn actions(github: Option<HostApi>, gitlab: Option<HostApi>) -> Vec<Arc<dyn Action>> {
    vec![
        Arc::new(PublishGithub {
            api: github.clone(),
        }),
        Arc::new(PublishGitlab {
            api: gitlab.clone(),
        }),
        Arc::new(GithubPullRequest {
            api: github.clone(),
        }),
        Arc::new(GitlabMergeRequest { api: gitlab }),
        Arc::new(GithubDispatch { api: github }),
    ]
}
