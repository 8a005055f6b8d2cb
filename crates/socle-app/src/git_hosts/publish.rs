//! `publish:github` and `publish:gitlab`: a new repository and its first commit.

use serde_json::{Value, json};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext};

use super::{GitHostError, Host, HostApi, b64, branch_in, call, expect, files, owner_repo, str_in};

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
            let user = expect(
                api,
                Host::Github,
                "GET",
                &format!("/users/{owner}"),
                None,
                &[200],
            )
            .await?;
            let private = str_in(&input, "repoVisibility").unwrap_or("private") != "public";
            let create = json!({"name": repo, "description": str_in(&input, "description").unwrap_or_default(), "private": private, "auto_init": true});
            let path = if user["type"] == "Organization" {
                format!("/orgs/{owner}/repos")
            } else {
                "/user/repos".to_owned()
            };
            let created = expect(api, Host::Github, "POST", &path, Some(&create), &[201]).await?;
            let undo = json!({"owner": owner, "repo": repo});
            let result = async {
                let default = created["default_branch"].as_str().unwrap_or("main").to_owned();
                let branch = branch_in(&input, &default)?;
                let base = format!("/repos/{owner}/{repo}");
                let mut tree = Vec::new();
                for (p, bytes) in &files {
                    let blob = expect(api, Host::Github, "POST", &format!("{base}/git/blobs"), Some(&json!({"content": b64(bytes), "encoding": "base64"})), &[201]).await?;
                    tree.push(json!({"path": p, "mode": "100644", "type": "blob", "sha": blob["sha"]}));
                }
                let head = expect(api, Host::Github, "GET", &format!("{base}/git/ref/heads/{default}"), None, &[200]).await?;
                let tree = expect(api, Host::Github, "POST", &format!("{base}/git/trees"), Some(&json!({"tree": tree})), &[201]).await?;
                let message = str_in(&input, "gitCommitMessage").unwrap_or("Initial commit");
                let commit = expect(api, Host::Github, "POST", &format!("{base}/git/commits"),
                    Some(&json!({"message": message, "tree": tree["sha"], "parents": [head["object"]["sha"]]})), &[201]).await?;
                let sha = commit["sha"].as_str().unwrap_or_default().to_owned();
                if branch == default {
                    expect(api, Host::Github, "PATCH", &format!("{base}/git/refs/heads/{branch}"), Some(&json!({"sha": sha, "force": true})), &[200]).await?;
                } else {
                    expect(api, Host::Github, "POST", &format!("{base}/git/refs"), Some(&json!({"ref": format!("refs/heads/{branch}"), "sha": sha})), &[201]).await?;
                    expect(api, Host::Github, "PATCH", &base, Some(&json!({"default_branch": branch})), &[200]).await?;
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
                        Host::Github,
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
            expect(api, Host::Github, "DELETE", &path, None, &[204, 404])
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
                Host::Gitlab,
                "GET",
                &format!("/namespaces/{}", owner.replace('/', "%2F")),
                None,
                &[200],
            )
            .await?;
            let visibility = str_in(&input, "repoVisibility").unwrap_or("private");
            let branch = branch_in(&input, "main")?;
            let project = expect(api, Host::Gitlab, "POST", "/projects",
                Some(&json!({"name": repo, "path": repo, "namespace_id": ns["id"], "visibility": visibility,
                             "description": str_in(&input, "description").unwrap_or_default(), "default_branch": branch})), &[201]).await?;
            let id = project["id"].clone();
            let actions: Vec<Value> = files.iter().map(|(p, b)| json!({"action": "create", "file_path": p, "content": b64(b), "encoding": "base64"})).collect();
            let message = str_in(&input, "gitCommitMessage").unwrap_or("Initial commit");
            let commit = match expect(
                api,
                Host::Gitlab,
                "POST",
                &format!("/projects/{id}/repository/commits"),
                Some(&json!({"branch": branch, "commit_message": message, "actions": actions})),
                &[201],
            )
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    let _ = call(
                        api,
                        Host::Gitlab,
                        "DELETE",
                        &format!("/projects/{id}"),
                        None,
                    )
                    .await;
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
                Host::Gitlab,
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
