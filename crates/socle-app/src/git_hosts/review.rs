//! `publish:github:pull-request` and `publish:gitlab:merge-request`: the workspace (or its
//! `sourcePath`) committed on a new branch of an existing repository, under `targetPath`, and
//! a pull or merge request opened from it — Backstage's inputs and outputs. A failure after the
//! branch exists deletes the branch; a later step's failure closes the request and deletes the
//! branch.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use socle_scaffold::engine::{ActionOutcome, BoxFuture};
use socle_scaffold::{Action, ActionContext, ActionError};

use super::{
    GitHostError, Host, HostApi, api_for, b64, bad, call, expect, files, flag, names, optional,
    owner_repo, ref_name, repo_dir, required, str_in, under,
};

/// Most reviewers (users or teams) one request names.
const MAX_REVIEWERS: usize = 50;
/// Most pages of a GitLab tree listing read to tell new files from changed ones (100 a page).
const MAX_TREE_PAGES: usize = 50;

/// What a step commits.
struct Changes {
    /// The repository directory the files go under (`targetPath`; None: the root).
    dir: Option<String>,
    /// Repository path → content.
    files: BTreeMap<String, Vec<u8>>,
}

/// The files to commit: the workspace's `sourcePath` (`fallback` when absent), each placed
/// under the repository's `targetPath`.
fn changes(
    cx: &ActionContext<'_>,
    input: &Value,
    fallback: Option<&str>,
) -> Result<Changes, GitHostError> {
    let target = repo_dir(input, "targetPath")?;
    let source = optional(input, "sourcePath")?.or(fallback).unwrap_or(".");
    socle_scaffold::workspace::relative(source)
        .map_err(|e| bad(format!("input.sourcePath: {e}")))?;
    let files = files(cx.workspace, source)?;
    let placed = files
        .into_iter()
        .map(|(p, b)| (under(target.as_deref(), &p), b))
        .collect();
    Ok(Changes {
        dir: target,
        files: placed,
    })
}

/// `publish:github:pull-request`.
pub struct GithubPullRequest {
    pub api: Option<HostApi>,
}

/// What a GitHub pull request step asks for.
struct PullRequestInput {
    owner: String,
    repo: String,
    title: String,
    description: String,
    branch: String,
    target: Option<String>,
    draft: bool,
    commit_message: String,
    reviewers: Vec<String>,
    team_reviewers: Vec<String>,
}

impl PullRequestInput {
    fn parse(input: &Value) -> Result<Self, GitHostError> {
        let (owner, repo) = owner_repo(required(input, "repoUrl")?)?;
        if owner.contains('/') {
            return Err(bad(format!(
                "repoUrl: {owner:?} is not a GitHub user or organisation"
            )));
        }
        for unsupported in ["update", "forceFork"] {
            if flag(input, unsupported)? {
                return Err(bad(format!(
                    "input.{unsupported}: true is not supported by this Socle (a new branch and a new pull request only)"
                )));
            }
        }
        let title = required(input, "title")?.to_owned();
        Ok(Self {
            owner,
            repo,
            description: optional(input, "description")?
                .unwrap_or_default()
                .to_owned(),
            branch: ref_name("branchName", required(input, "branchName")?)?,
            target: optional(input, "targetBranchName")?
                .map(|t| ref_name("targetBranchName", t))
                .transpose()?,
            draft: flag(input, "draft")?,
            commit_message: optional(input, "commitMessage")?
                .unwrap_or(&title)
                .to_owned(),
            title,
            reviewers: names(input, "reviewers", MAX_REVIEWERS)?,
            team_reviewers: names(input, "teamReviewers", MAX_REVIEWERS)?,
        })
    }
}

impl GithubPullRequest {
    /// Blobs, a tree on the base commit's, a commit; its sha.
    async fn commit(
        api: &HostApi,
        base: &str,
        parent: &str,
        message: &str,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<String, GitHostError> {
        let gh = Host::Github;
        let head = expect(
            api,
            gh,
            "GET",
            &format!("{base}/git/commits/{parent}"),
            None,
            &[200],
        )
        .await?;
        let mut tree = Vec::with_capacity(files.len());
        for (path, bytes) in files {
            let blob = expect(
                api,
                gh,
                "POST",
                &format!("{base}/git/blobs"),
                Some(&json!({"content": b64(bytes), "encoding": "base64"})),
                &[201],
            )
            .await?;
            tree.push(json!({"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]}));
        }
        let tree = expect(
            api,
            gh,
            "POST",
            &format!("{base}/git/trees"),
            Some(&json!({"base_tree": head["tree"]["sha"], "tree": tree})),
            &[201],
        )
        .await?;
        let commit = expect(
            api,
            gh,
            "POST",
            &format!("{base}/git/commits"),
            Some(&json!({"message": message, "tree": tree["sha"], "parents": [parent]})),
            &[201],
        )
        .await?;
        Ok(commit["sha"].as_str().unwrap_or_default().to_owned())
    }

    /// Everything after the branch exists: the request and its reviewers.
    async fn open(
        cx: &mut ActionContext<'_>,
        api: &HostApi,
        base: &str,
        pr: &PullRequestInput,
        target: &str,
    ) -> Result<Value, GitHostError> {
        let created = expect(api, Host::Github, "POST", &format!("{base}/pulls"),
            Some(&json!({"title": pr.title, "body": pr.description, "head": pr.branch, "base": target, "draft": pr.draft})),
            &[201]).await?;
        let number = created["number"].clone();
        if !pr.reviewers.is_empty() || !pr.team_reviewers.is_empty() {
            // Reviewers are a courtesy: a refusal is logged, the request stays.
            let asked = expect(
                api,
                Host::Github,
                "POST",
                &format!("{base}/pulls/{number}/requested_reviewers"),
                Some(&json!({"reviewers": pr.reviewers, "team_reviewers": pr.team_reviewers})),
                &[201],
            )
            .await;
            match asked {
                Ok(_) => cx.info(format!(
                    "asked {} for a review",
                    [pr.reviewers.clone(), pr.team_reviewers.clone()]
                        .concat()
                        .join(", ")
                )),
                Err(e) => cx.warn(format!("reviewers not added: {e}")),
            }
        }
        Ok(created)
    }
}

impl Action for GithubPullRequest {
    fn id(&self) -> &'static str {
        "publish:github:pull-request"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["remoteUrl", "pullRequestNumber", "targetBranchName"])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        let u = str_in(input, "repoUrl").unwrap_or_default();
        json!({"remoteUrl": format!("dry-run:{u}"), "pullRequestNumber": 0,
               "targetBranchName": str_in(input, "targetBranchName").unwrap_or_default()})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let pr = PullRequestInput::parse(&input)?;
            let Changes { files, .. } = changes(cx, &input, None)?;
            let api = api_for(
                self.api.as_ref(),
                &input,
                self.id(),
                "a GitHub API: start Socle with SOCLE_GITHUB_TOKEN (and --github-api-url)",
            )?;
            let base = format!("/repos/{}/{}", pr.owner, pr.repo);
            let repo = expect(&api, Host::Github, "GET", &base, None, &[200]).await?;
            let target = match &pr.target {
                Some(t) => t.clone(),
                None => ref_name(
                    "targetBranchName",
                    repo["default_branch"].as_str().unwrap_or("main"),
                )?,
            };
            let head = expect(
                &api,
                Host::Github,
                "GET",
                &format!("{base}/git/ref/heads/{target}"),
                None,
                &[200],
            )
            .await?;
            let parent = head["object"]["sha"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let sha = Self::commit(&api, &base, &parent, &pr.commit_message, &files).await?;
            let (status, answer) = call(
                &api,
                Host::Github,
                "POST",
                &format!("{base}/git/refs"),
                Some(&json!({"ref": format!("refs/heads/{}", pr.branch), "sha": sha})),
            )
            .await?;
            match status {
                201 => {}
                422 => {
                    return Err(bad(format!(
                        "branch {} already exists in {}/{}: choose another branchName",
                        pr.branch, pr.owner, pr.repo
                    ))
                    .into());
                }
                _ => {
                    return Err(GitHostError::Status {
                        method: "POST".into(),
                        path: format!("{base}/git/refs"),
                        status,
                        message: answer
                            .get("message")
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    }
                    .into());
                }
            }
            let branch_ref = format!("{base}/git/refs/heads/{}", pr.branch);
            let created = match Self::open(cx, &api, &base, &pr, &target).await {
                Ok(c) => c,
                Err(e) => {
                    // Leave no branch behind for a request that does not exist.
                    let _ = call(&api, Host::Github, "DELETE", &branch_ref, None).await;
                    return Err(e.into());
                }
            };
            let url = created["html_url"].as_str().unwrap_or_default().to_owned();
            cx.info(format!(
                "pull request {url}: {} files on {} into {target}",
                files.len(),
                pr.branch
            ));
            Ok(ActionOutcome {
                output: json!({"remoteUrl": url, "pullRequestNumber": created["number"],
                               "targetBranchName": created["base"]["ref"].as_str().unwrap_or(&target)}),
                undo: Some(
                    json!({"base": base, "number": created["number"], "branch": pr.branch, "token": input.get("token")}),
                ),
            })
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), ActionError>> {
        Box::pin(async move {
            let api = api_for(self.api.as_ref(), &data, self.id(), "a GitHub API")?;
            let base = data["base"].as_str().unwrap_or_default();
            expect(
                &api,
                Host::Github,
                "PATCH",
                &format!("{base}/pulls/{}", data["number"]),
                Some(&json!({"state": "closed"})),
                &[200],
            )
            .await?;
            let branch = data["branch"].as_str().unwrap_or_default();
            expect(
                &api,
                Host::Github,
                "DELETE",
                &format!("{base}/git/refs/heads/{branch}"),
                None,
                &[204, 404, 422],
            )
            .await?;
            Ok(())
        })
    }
}

/// `publish:gitlab:merge-request`.
pub struct GitlabMergeRequest {
    pub api: Option<HostApi>,
}

/// How each file is committed (`commitAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitAction {
    Create,
    Update,
    Delete,
    /// `create` for a file the target branch lacks, `update` for one it has.
    Auto,
}

impl CommitAction {
    fn parse(input: &Value) -> Result<Self, GitHostError> {
        Ok(match optional(input, "commitAction")? {
            None | Some("auto") => Self::Auto,
            Some("create") => Self::Create,
            Some("update") => Self::Update,
            Some("delete") => Self::Delete,
            Some(other) => {
                return Err(bad(format!(
                    "input.commitAction {other:?}: expected create, update, delete or auto"
                )));
            }
        })
    }
}

impl GitlabMergeRequest {
    /// The paths the target branch holds under `dir` (for `commitAction: auto`), bounded.
    async fn existing(
        api: &HostApi,
        project: &str,
        target: &str,
        dir: Option<&str>,
    ) -> Result<Vec<String>, GitHostError> {
        let mut out = Vec::new();
        for page in 1..=MAX_TREE_PAGES {
            let mut path = format!(
                "/projects/{project}/repository/tree?ref={}&recursive=true&per_page=100&page={page}",
                target.replace('/', "%2F")
            );
            if let Some(d) = dir {
                path.push_str(&format!("&path={}", d.replace('/', "%2F")));
            }
            let listed = expect(api, Host::Gitlab, "GET", &path, None, &[200, 404]).await?;
            let entries = listed.as_array().cloned().unwrap_or_default();
            out.extend(
                entries
                    .iter()
                    .filter(|e| e["type"] == "blob")
                    .filter_map(|e| e["path"].as_str().map(str::to_owned)),
            );
            if entries.len() < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// A GitLab user's id by username (None: not found, logged).
    async fn user_id(cx: &mut ActionContext<'_>, api: &HostApi, username: &str) -> Option<Value> {
        let found = expect(
            api,
            Host::Gitlab,
            "GET",
            &format!("/users?username={username}"),
            None,
            &[200],
        )
        .await;
        match found.ok().and_then(|v| v.get(0).map(|u| u["id"].clone())) {
            Some(id) => Some(id),
            None => {
                cx.warn(format!(
                    "no GitLab user {username}: left out of the merge request"
                ));
                None
            }
        }
    }
}

impl Action for GitlabMergeRequest {
    fn id(&self) -> &'static str {
        "publish:gitlab:merge-request"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec![
            "projectid",
            "projectPath",
            "targetBranchName",
            "mergeRequestUrl",
        ])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        let u = str_in(input, "repoUrl").unwrap_or_default();
        json!({"projectid": "", "projectPath": "", "mergeRequestUrl": format!("dry-run:{u}"),
               "targetBranchName": str_in(input, "targetBranchName").unwrap_or_default()})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, ActionError>> {
        Box::pin(async move {
            let (owner, repo) = owner_repo(required(&input, "repoUrl")?)?;
            let title = required(&input, "title")?.to_owned();
            let branch = ref_name("branchName", required(&input, "branchName")?)?;
            let target = optional(&input, "targetBranchName")?
                .map(|t| ref_name("targetBranchName", t))
                .transpose()?;
            let action = CommitAction::parse(&input)?;
            let reviewers = names(&input, "reviewers", MAX_REVIEWERS)?;
            let assignee = optional(&input, "assignee")?.map(str::to_owned);
            if let Some(a) = &assignee
                && !crate::scaffold::segment_ok(a)
            {
                return Err(bad(format!("input.assignee {a:?} is not a GitLab username")).into());
            }
            let remove_source = flag(&input, "removeSourceBranch")?;
            // As in Backstage: without a sourcePath, a targetPath names the workspace directory too.
            let fallback = optional(&input, "targetPath")?;
            let Changes { dir, files } = changes(cx, &input, fallback)?;
            let api = api_for(
                self.api.as_ref(),
                &input,
                self.id(),
                "a GitLab API: start Socle with SOCLE_GITLAB_TOKEN (and --gitlab-api-url)",
            )?;
            let path = format!("{owner}/{repo}");
            let project = path.replace('/', "%2F");
            let base = format!("/projects/{project}");
            let shown = expect(&api, Host::Gitlab, "GET", &base, None, &[200]).await?;
            let target = match target {
                Some(t) => t,
                None => ref_name(
                    "targetBranchName",
                    shown["default_branch"].as_str().unwrap_or("main"),
                )?,
            };
            let existing = match action {
                CommitAction::Auto => {
                    Self::existing(&api, &project, &target, dir.as_deref()).await?
                }
                _ => Vec::new(),
            };
            let branch_path = format!("{base}/repository/branches/{}", branch.replace('/', "%2F"));
            let (status, _) = call(&api, Host::Gitlab, "GET", &branch_path, None).await?;
            if status == 200 {
                return Err(bad(format!(
                    "branch {branch} already exists in {path}: choose another branchName"
                ))
                .into());
            }
            expect(
                &api,
                Host::Gitlab,
                "POST",
                &format!("{base}/repository/branches"),
                Some(&json!({"branch": branch, "ref": target})),
                &[201],
            )
            .await?;
            let commit_actions: Vec<Value> = files
                .iter()
                .map(|(p, b)| {
                    let verb = match action {
                        CommitAction::Auto if existing.contains(p) => "update",
                        CommitAction::Auto | CommitAction::Create => "create",
                        CommitAction::Update => "update",
                        CommitAction::Delete => "delete",
                    };
                    json!({"action": verb, "file_path": p, "content": b64(b), "encoding": "base64"})
                })
                .collect();
            let mut mr = json!({"source_branch": branch, "target_branch": target, "title": title,
                "description": optional(&input, "description")?.unwrap_or_default(), "remove_source_branch": remove_source});
            if let Some(a) = &assignee
                && let Some(id) = Self::user_id(cx, &api, a).await
            {
                mr["assignee_id"] = id;
            }
            let mut ids = Vec::new();
            for r in &reviewers {
                ids.extend(Self::user_id(cx, &api, r).await);
            }
            if !ids.is_empty() {
                mr["reviewer_ids"] = Value::Array(ids);
            }
            let opened = async {
                expect(&api, Host::Gitlab, "POST", &format!("{base}/repository/commits"),
                    Some(&json!({"branch": branch, "commit_message": title, "actions": commit_actions})), &[201]).await?;
                expect(&api, Host::Gitlab, "POST", &format!("{base}/merge_requests"), Some(&mr), &[201]).await
            }.await;
            let created = match opened {
                Ok(c) => c,
                Err(e) => {
                    let _ = call(&api, Host::Gitlab, "DELETE", &branch_path, None).await;
                    return Err(e.into());
                }
            };
            let url = created["web_url"].as_str().unwrap_or_default().to_owned();
            cx.info(format!(
                "merge request {url}: {} files on {branch} into {target}",
                files.len()
            ));
            Ok(ActionOutcome {
                output: json!({"projectid": path, "projectPath": path, "targetBranchName": target, "mergeRequestUrl": url}),
                undo: Some(
                    json!({"base": base, "iid": created["iid"], "branch": branch, "token": input.get("token")}),
                ),
            })
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), ActionError>> {
        Box::pin(async move {
            let api = api_for(self.api.as_ref(), &data, self.id(), "a GitLab API")?;
            let base = data["base"].as_str().unwrap_or_default();
            expect(
                &api,
                Host::Gitlab,
                "PUT",
                &format!("{base}/merge_requests/{}", data["iid"]),
                Some(&json!({"state_event": "close"})),
                &[200],
            )
            .await?;
            let branch = data["branch"]
                .as_str()
                .unwrap_or_default()
                .replace('/', "%2F");
            expect(
                &api,
                Host::Gitlab,
                "DELETE",
                &format!("{base}/repository/branches/{branch}"),
                None,
                &[204, 404],
            )
            .await?;
            Ok(())
        })
    }
}
