//! The platform's actions whose effects reach beyond a run's workspace: `publish:git` (a bare
//! repository Socle hosts), `catalog:register` (a Git location), `socle:deploy` (the deploy
//! pipeline) and `socle:guardrails` (the platform's guardrails on what a run rendered).

use super::*;

/// Where `publish:git` creates repositories: `<gitops root>/repositories/<host>/<owner>/<repo>.git`.
pub fn repositories_root(state: &App) -> PathBuf {
    let root = state.config.gitops_root.join("repositories");
    // Absolute, so that the file:// URLs handed out (and registered as locations) stay valid.
    let _ = std::fs::create_dir_all(&root);
    std::fs::canonicalize(&root).unwrap_or(root)
}

pub(crate) fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Why a publishing action refuses its `repoUrl`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoUrlError {
    #[error("repoUrl {0}")]
    Form(#[from] socle_scaffold::expr::RepoUrlError),
    #[error("repoUrl {url:?} needs an owner")]
    NoOwner { url: String },
    #[error(
        "repoUrl {url:?}: host, owner and repository names may use letters, digits, '-', '_' and '.'"
    )]
    UnsafeName { url: String },
}

impl From<RepoUrlError> for socle_scaffold::ActionError {
    fn from(e: RepoUrlError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// `https://host/owner/repo`, `host?owner=o&repo=r` → (host, owner path, repo), each part a
/// safe directory name.
pub(crate) fn parse_repo_url(url: &str) -> Result<(String, Vec<String>, String), RepoUrlError> {
    let r = socle_scaffold::expr::parse_repo_url(url)?;
    let owner = r.owner().ok_or_else(|| RepoUrlError::NoOwner {
        url: url.to_owned(),
    })?;
    let owner: Vec<String> = owner.split('/').map(str::to_owned).collect();
    if !segment_ok(&r.host) || !segment_ok(r.repo()) || !owner.iter().all(|s| segment_ok(s)) {
        return Err(RepoUrlError::UnsafeName {
            url: url.to_owned(),
        });
    }
    Ok((r.host.clone(), owner, r.repo().to_owned()))
}

/// Why `publish:git` could not write the repository.
#[derive(Debug, thiserror::Error)]
pub enum PublishGitError {
    #[error(transparent)]
    Git(#[from] socle_deploy::DeployError),
    /// Naming the default branch in `HEAD` failed.
    #[error(transparent)]
    Head(std::io::Error),
    /// The blocking task that writes the repository did not finish.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

impl From<PublishGitError> for socle_scaffold::ActionError {
    fn from(e: PublishGitError) -> Self {
        Self::Failed(e.to_string())
    }
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// Every file of the workspace (symbolic links refused), as Git will hold them.
pub(crate) fn workspace_files(
    ws: &dyn socle_scaffold::Workspace,
    sub: &str,
) -> Result<BTreeMap<String, Vec<u8>>, socle_scaffold::WorkspaceError> {
    socle_scaffold::workspace::files_under(ws, sub)
}

pub(super) struct PublishGit {
    pub(super) root: PathBuf,
    pub(super) clock: Arc<dyn Clock>,
}

impl Action for PublishGit {
    fn id(&self) -> &'static str {
        "publish:git"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["remoteUrl", "repoContentsUrl", "commitHash"])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        let url = input
            .get("repoUrl")
            .and_then(Value::as_str)
            .unwrap_or_default();
        json!({"remoteUrl": format!("dry-run:{url}"), "repoContentsUrl": format!("dry-run:{url}"), "commitHash": ""})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let url = input
                .get("repoUrl")
                .and_then(Value::as_str)
                .ok_or("input.repoUrl is required")?;
            let (host, owner, repo) = parse_repo_url(url)?;
            let branch = input
                .get("defaultBranch")
                .and_then(Value::as_str)
                .unwrap_or("main");
            if !segment_ok(branch) {
                return Err(
                    format!("defaultBranch {branch:?} is not a valid branch name here").into(),
                );
            }
            let mut path = self.root.join(&host);
            for o in &owner {
                path.push(o);
            }
            path.push(format!("{repo}.git"));
            if path.exists() {
                return Err(
                    format!("a repository already exists at {url} ({})", path.display()).into(),
                );
            }
            let files = workspace_files(
                cx.workspace,
                input
                    .get("sourcePath")
                    .and_then(Value::as_str)
                    .unwrap_or("."),
            )?;
            if files.is_empty() {
                return Err("the workspace is empty: nothing to publish".into());
            }
            let message = input
                .get("gitCommitMessage")
                .and_then(Value::as_str)
                .unwrap_or("Initial commit")
                .to_owned();
            let author = (
                input
                    .get("gitAuthorName")
                    .and_then(Value::as_str)
                    .unwrap_or("Socle")
                    .to_owned(),
                input
                    .get("gitAuthorEmail")
                    .and_then(Value::as_str)
                    .unwrap_or("socle@localhost")
                    .to_owned(),
            );
            let p = path.clone();
            let b = branch.to_owned();
            let n = files.len();
            let now_s = self.clock.now_ms() / 1000;
            let commit = tokio::task::spawn_blocking(move || -> Result<String, PublishGitError> {
                let repo = socle_deploy::gitops::open_or_init(&p)?;
                let out = socle_deploy::gitops::commit(
                    &repo,
                    &b,
                    &[],
                    &files,
                    &message,
                    (&author.0, &author.1),
                    now_s,
                )?;
                // The default branch: HEAD names it.
                std::fs::write(p.join("HEAD"), format!("ref: refs/heads/{b}\n"))
                    .map_err(PublishGitError::Head)?;
                Ok(out.commit)
            })
            .await
            .map_err(PublishGitError::Task)?
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&path);
            })?;
            cx.info(format!(
                "published {n} files to {} ({branch} at {commit})",
                path.display()
            ));
            Ok(ActionOutcome {
                output: json!({
                    "remoteUrl": file_url(&path),
                    "repoContentsUrl": format!("{}#{branch}", file_url(&path)),
                    "commitHash": commit,
                }),
                undo: Some(json!({"path": path})),
            })
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), socle_scaffold::ActionError>> {
        Box::pin(async move {
            let path = PathBuf::from(data["path"].as_str().unwrap_or_default());
            if !path.starts_with(&self.root) {
                return Err(format!("{} is outside the repositories root", path.display()).into());
            }
            std::fs::remove_dir_all(&path).map_err(|e| e.to_string().into())
        })
    }
}

/// The Git location of a repository contents URL and a file in it: a repository this Socle
/// published (`file://PATH#BRANCH`) or one on a host, as GitHub (`https://HOST/OWNER/REPO/blob/BRANCH[/DIR]`)
/// and GitLab (`…/REPO/-/blob/BRANCH[/DIR]`, also `tree`) write them, or a plain `https://` clone URL.
pub(crate) fn git_location(url: &str, file: &str) -> Result<LocationSpec, String> {
    let (target, branch, dir) = if let Some(rest) = url.strip_prefix("file://") {
        let (repo, branch) = match rest.split_once('#') {
            Some((r, b)) => (r.to_owned(), Some(b.to_owned())),
            None => (rest.to_owned(), None),
        };
        (repo, branch, None)
    } else if url.starts_with("https://") {
        let url = url.trim_end_matches('/');
        let marker = ["/-/blob/", "/-/tree/", "/blob/", "/tree/"]
            .into_iter()
            .find_map(|m| url.split_once(m));
        match marker {
            Some((repo, rest)) => {
                let (branch, dir) = match rest.split_once('/') {
                    Some((b, d)) => (b.to_owned(), Some(d.to_owned())),
                    None => (rest.to_owned(), None),
                };
                (repo.to_owned(), Some(branch), dir)
            }
            None => (url.to_owned(), None, None),
        }
    } else {
        return Err(format!(
            "{url:?}: a repository published by this Socle (file://…) or on a host (https://…)"
        ));
    };
    if let Some(b) = &branch
        && !b.split('/').all(segment_ok)
    {
        return Err(format!("{url:?}: {b:?} is not a branch name"));
    }
    let path = match dir {
        Some(d) => format!("{d}/{file}"),
        None => file.to_owned(),
    };
    let path = socle_scaffold::workspace::relative(&path)
        .map_err(|e| format!("{url:?}: {e}"))?
        .to_string_lossy()
        .replace('\\', "/");
    Ok(LocationSpec {
        kind: LocationKind::Git,
        target,
        branch,
        path: Some(path),
    })
}

pub(super) struct CatalogRegister {
    pub(super) state: Arc<App>,
    pub(super) actor: String,
}

impl Action for CatalogRegister {
    fn id(&self) -> &'static str {
        "catalog:register"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["entityRef", "catalogInfoUrl"])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, _input: &Value) -> Value {
        json!({"entityRef": "dry-run", "catalogInfoUrl": "dry-run"})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let (url, file) = match (
                input.get("repoContentsUrl").and_then(Value::as_str),
                input.get("catalogInfoUrl").and_then(Value::as_str),
            ) {
                (Some(u), _) => (
                    u.to_owned(),
                    input.get("catalogInfoPath").and_then(Value::as_str).unwrap_or("/catalog-info.yaml").trim_start_matches('/').to_owned(),
                ),
                (None, Some(u)) => match u.rsplit_once('/') {
                    Some((repo, f)) => (repo.to_owned(), f.to_owned()),
                    None => return Err(format!("catalogInfoUrl {u:?} names no file").into()),
                },
                _ => return Err("input.repoContentsUrl (with catalogInfoPath) or input.catalogInfoUrl is required".into()),
            };
            let spec = git_location(&url, &file).map_err(|e| e.to_string())?;
            // What a member may register by hand, and no more: a template's input is the
            // user's, and the server fetches what is registered.
            self.state
                .member_git_target(&spec.target)
                .map_err(|e| e.message)?;
            let key = spec.key();
            let spec_json = serde_json::to_value(&spec).map_err(|e| e.to_string())?;
            self.state
                .store
                .add_location(
                    &key,
                    &spec_json,
                    &self.actor,
                    socle_store::LocationTrust::Team,
                    self.state.now_ms(),
                )
                .await
                .map_err(|e| e.to_string())?;
            let outcome = match self.state.refresh(&spec).await {
                Ok(o) => o,
                Err(e) => {
                    let _ = self.state.store.delete_location(&key).await;
                    return Err(format!("the new location could not be read: {}", e.message).into());
                }
            };
            if !outcome.errors.is_empty() || outcome.added == 0 {
                let _ = self.state.store.delete_location(&key).await;
                let _ = self.state.reload_if_changed().await;
                return Err(format!(
                    "{file} registered no entity: {}",
                    outcome
                        .errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
                .into());
            }
            // The entity the file declares (its first document).
            let text =
                socle_scaffold::workspace::read_text(cx.workspace, &file)?.unwrap_or_default();
            let entity_ref =
                socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default())
                    .ok()
                    .and_then(|d| d.first().map(|n| n.to_json()))
                    .and_then(|doc| {
                        let kind = doc.get("kind")?.as_str()?.to_ascii_lowercase();
                        let ns = doc
                            .pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .unwrap_or("default")
                            .to_owned();
                        let name = doc.pointer("/metadata/name")?.as_str()?.to_owned();
                        Some(format!("{kind}:{ns}/{name}"))
                    })
                    .unwrap_or_default();
            cx.info(format!(
                "registered {url} ({file}): {} entities, {entity_ref}",
                outcome.added
            ));
            Ok(ActionOutcome {
                output: json!({"entityRef": entity_ref, "catalogInfoUrl": format!("{url}/{file}")}),
                undo: Some(json!({"key": key})),
            })
        })
    }
    fn undo<'a>(&'a self, data: Value) -> BoxFuture<'a, Result<(), socle_scaffold::ActionError>> {
        Box::pin(async move {
            let key = data["key"].as_str().unwrap_or_default();
            self.state
                .store
                .delete_location(key)
                .await
                .map_err(|e| e.to_string())?;
            self.state
                .reload_if_changed()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string().into())
        })
    }
}

fn str_field(input: &Value, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) struct SocleDeploy {
    pub(super) state: Arc<App>,
    pub(super) actor: Actor,
}

impl Action for SocleDeploy {
    fn id(&self) -> &'static str {
        "socle:deploy"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["deployment", "environment", "version", "gitopsCommit"])
    }
    fn side_effect(&self) -> bool {
        true
    }
    fn dry_run_output(&self, input: &Value) -> Value {
        json!({"deployment": "dry-run", "environment": input.get("environment"), "version": "", "gitopsCommit": ""})
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let file = input
                .get("workload")
                .and_then(Value::as_str)
                .unwrap_or("score.yaml");
            let env = input
                .get("environment")
                .and_then(Value::as_str)
                .ok_or("input.environment is required")?;
            let text = String::from_utf8(cx.workspace.read(file)?)
                .map_err(|_| format!("cannot read {file}: stream did not contain valid UTF-8"))?;
            // Parsed here first for errors that name the file; the deploy parses it again.
            socle_score::parse_workload(&text, file, &self.state.config.limits).map_err(
                |errors| {
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            )?;
            let record = self
                .state
                .deploy(
                    &self.actor,
                    DeployInput {
                        workload: text.into(),
                        environment: env.to_owned(),
                        image: str_field(&input, "image"),
                        version: str_field(&input, "version"),
                        source_commit: str_field(&input, "sourceCommit"),
                    },
                )
                .await
                .map_err(|e| match e.details {
                    Some(d) => format!("{} {d}", e.message),
                    None => e.message,
                })?;
            cx.info(format!(
                "deployed {} {} to {env} ({})",
                record.service, record.version, record.id
            ));
            Ok(ActionOutcome::output(json!({
                "deployment": record.id, "environment": record.environment, "version": record.version, "gitopsCommit": record.gitops_commit,
            })))
        })
    }
}

/// `socle:guardrails`: the platform's guardrails on what a run rendered, before anything is
/// published. Catalog entities are checked with their relations as the catalog would make them
/// (does the owner exist? the system?), Score workloads as written. `deny` fails the step (so
/// nothing is published or registered), `warn` is logged. Runs in dry runs too.
pub(super) struct Guardrails {
    pub(super) state: Arc<App>,
}

impl Guardrails {
    /// The entity with `relations` (owner, system), each marked as existing or not.
    fn with_relations(&self, mut doc: Value) -> Value {
        let snap = self.state.snapshot();
        let mut relations = Vec::new();
        for (field, kind, rel) in [
            ("owner", "Group", "ownedBy"),
            ("system", "System", "partOf"),
        ] {
            if let Some(target) = doc
                .pointer(&format!("/spec/{field}"))
                .and_then(Value::as_str)
                && let Ok(r) = socle_catalog::EntityRef::parse(target, Some(kind), "default")
            {
                let r = r.to_string();
                relations
                    .push(json!({"type": rel, "targetRef": r, "exists": snap.get(&r).is_some()}));
            }
        }
        doc["relations"] = Value::Array(relations);
        doc
    }
}

impl Action for Guardrails {
    fn id(&self) -> &'static str {
        "socle:guardrails"
    }
    fn outputs(&self) -> Option<Vec<&'static str>> {
        Some(vec!["warnings"])
    }
    fn run<'a>(
        &'a self,
        cx: &'a mut ActionContext<'_>,
        input: Value,
    ) -> BoxFuture<'a, Result<ActionOutcome, socle_scaffold::ActionError>> {
        Box::pin(async move {
            let files: Vec<String> = match input.get("files").and_then(Value::as_array) {
                Some(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                None => vec!["score.yaml".into(), "catalog-info.yaml".into()],
            };
            let set = match &self.state.config.guardrails {
                Some(p) => p.clone(),
                None => socle_policy::PolicySet::builtin(None).map_err(|e| e.to_string())?,
            };
            let mut denied = Vec::new();
            let mut warnings = 0;
            for file in &files {
                let Some(text) = socle_scaffold::workspace::read_text(cx.workspace, file)? else {
                    continue;
                };
                let docs = socle_catalog::yaml::parse_documents(&text, &self.state.config.limits)
                    .map_err(|e| format!("{file}:{}: {}", e.line.unwrap_or(0), e.message))?;
                for (i, d) in docs.iter().enumerate() {
                    let mut doc = d.to_json();
                    if doc
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.starts_with("backstage.io/"))
                    {
                        doc = self.with_relations(doc);
                    }
                    for f in set.eval(&doc, file, i).map_err(|e| e.to_string())? {
                        let line = format!(
                            "{file} {}: {} [{}]",
                            f.path.as_deref().unwrap_or(""),
                            f.message,
                            f.rule
                        );
                        match f.severity {
                            socle_policy::Severity::Deny => denied.push(line),
                            socle_policy::Severity::Warn => {
                                warnings += 1;
                                cx.info(format!("warning: {line}"));
                            }
                        }
                    }
                }
            }
            if !denied.is_empty() {
                return Err(format!("blocked by guardrails: {}", denied.join("; ")).into());
            }
            cx.info(format!(
                "{} checked: no violation, {warnings} warning(s)",
                files.join(", ")
            ));
            Ok(ActionOutcome::output(json!({"warnings": warnings})))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::git_location;

    fn parts(url: &str, file: &str) -> (String, Option<String>, Option<String>) {
        let s = git_location(url, file).unwrap();
        (s.target, s.branch, s.path)
    }

    #[test]
    fn github_and_gitlab_contents_urls_become_git_locations() {
        assert_eq!(
            parts(
                "https://github.com/acme/shop/blob/main",
                "catalog-info.yaml"
            ),
            (
                "https://github.com/acme/shop".into(),
                Some("main".into()),
                Some("catalog-info.yaml".into())
            )
        );
        assert_eq!(
            parts(
                "https://gitlab.example.com/acme/web/shop/-/blob/trunk/services/cart",
                "catalog-info.yaml"
            ),
            (
                "https://gitlab.example.com/acme/web/shop".into(),
                Some("trunk".into()),
                Some("services/cart/catalog-info.yaml".into())
            )
        );
        assert_eq!(
            parts("https://git.example.com/acme/shop.git", "catalog-info.yaml"),
            (
                "https://git.example.com/acme/shop.git".into(),
                None,
                Some("catalog-info.yaml".into())
            )
        );
        assert_eq!(
            parts("file:///srv/repos/shop#main", "catalog-info.yaml").1,
            Some("main".into())
        );
    }

    #[test]
    fn contents_urls_that_leave_the_repository_or_use_other_schemes_are_refused() {
        assert!(git_location("https://github.com/acme/shop/blob/main/..", "x.yaml").is_err());
        assert!(git_location("https://github.com/acme/shop/blob/../main", "x.yaml").is_err());
        assert!(git_location("http://github.com/acme/shop", "x.yaml").is_err());
        assert!(git_location("ssh://git@github.com/acme/shop", "x.yaml").is_err());
    }
}
