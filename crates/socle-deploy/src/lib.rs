//! Deploying a workload to an environment: resolve its resources with the kept state, render the
//! environment's manifests, run the guardrails, commit to the environment's GitOps repository,
//! save the resource state and record the deployment (one store transaction). Nothing is committed
//! when a step before the commit fails; if saving fails after the commit, the branch is moved back.

pub mod gitops;
pub mod ownership;
mod runner;

pub use runner::ProcessRunner;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_catalog::Limits;
use socle_platform::{Environment, PlatformConfig, Resolution, ResolveError, ResolveInput, Target};
use socle_score::Workload;
use socle_store::{DeploymentRecord, ResourceRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Invalid(String),
    #[error("resolution failed:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Resolve(Vec<ResolveError>),
    #[error("blocked by guardrails:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Blocked(Vec<String>),
    #[error("render: {0}")]
    Render(String),
    #[error("GitOps repository: {0}")]
    Git(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    /// The deploy may not use something (another team's shared resource).
    #[error("{0}")]
    Forbidden(String),
}

/// The guardrail hook: called on every deploy with what is about to be committed. Violations
/// block the deploy; warnings are recorded. (Policies fill this in with the guardrails issue.)
pub trait Guardrails: Send + Sync {
    fn check(
        &self,
        env: &Environment,
        resolution: &Resolution,
        manifests: &[(String, Value)],
    ) -> GuardrailReport;
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GuardrailReport {
    pub violations: Vec<GuardrailFinding>,
    pub warnings: Vec<GuardrailFinding>,
}

/// One failed rule: its id (what a waiver names) and a readable line (object, field, fix).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GuardrailFinding {
    pub rule: String,
    pub text: String,
}

impl GuardrailFinding {
    pub fn new(rule: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            text: text.into(),
        }
    }
}

impl std::fmt::Display for GuardrailFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// No policies yet: everything passes.
pub struct NoGuardrails;

impl Guardrails for NoGuardrails {
    fn check(&self, _: &Environment, _: &Resolution, _: &[(String, Value)]) -> GuardrailReport {
        GuardrailReport::default()
    }
}

/// CPU-bound work (templates, command provisioners, Rego) without holding an async worker: on a
/// multi-threaded runtime the worker hands its other tasks over first (`block_in_place`);
/// elsewhere (a current-thread runtime, no runtime) it runs inline.
fn cpu_bound<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

pub struct Deployer {
    pub store: Store,
    pub config: PlatformConfig,
    /// Relative GitOps repository paths of the configuration are resolved against this directory.
    pub gitops_root: PathBuf,
    pub limits: Limits,
    /// Runs command provisioners (None: they fail with a clear error).
    pub runner: Option<ProcessRunner>,
    /// The clock (milliseconds since the epoch); injectable for tests. None: the system clock.
    pub clock: Option<std::sync::Arc<dyn Fn() -> i64 + Send + Sync>>,
}

pub struct DeployRequest {
    pub workload: Workload,
    pub env: String,
    /// Replaces the image of containers whose image is `.`, or of the only container.
    pub image: Option<String>,
    pub version: Option<String>,
    /// The commit of the service's repository being deployed (recorded; feeds delivery metrics).
    pub source_commit: Option<String>,
    pub actor: String,
    pub kind: String,
    /// The team the workload belongs to (a group reference, `group:default/team-a`): the owner
    /// of what it provisions, and whose shared resources it may use (see [`ownership`]). The API
    /// passes the catalog owner of `component:default/<name>`; None only for an admin's or the
    /// CLI's deploy of a service with no catalog owner, which may use only unowned resources.
    pub owner: Option<String>,
}

/// A team as a full group reference (`team-a` → `group:default/team-a`); kept as given when it
/// does not parse (it then matches nothing).
fn normalise_team(team: &str) -> String {
    socle_catalog::EntityRef::parse(team, Some("group"), "default")
        .map_or_else(|_| team.to_owned(), |r| r.to_string())
}

/// The system clock, milliseconds since the epoch: the default when no clock is injected.
fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// Inlines files given by `source` (read relative to `dir`) so that a stored workload is
/// self-contained for rollback and promotion.
pub fn inline_file_sources(
    w: &mut Workload,
    dir: &Path,
    limits: &Limits,
) -> Result<(), DeployError> {
    for (cname, c) in w.containers.iter_mut() {
        for (target, f) in c.files.iter_mut() {
            if let Some(src) = f.source.take() {
                let p = dir.join(&src);
                let meta = std::fs::metadata(&p).map_err(|e| {
                    DeployError::Invalid(format!(
                        "container {cname} file {target}: cannot read {}: {e}",
                        p.display()
                    ))
                })?;
                if meta.len() > limits.max_file_bytes as u64 {
                    return Err(DeployError::Invalid(format!(
                        "container {cname} file {target}: {} is larger than {} bytes",
                        p.display(),
                        limits.max_file_bytes
                    )));
                }
                let bytes = std::fs::read(&p).map_err(|e| {
                    DeployError::Invalid(format!("cannot read {}: {e}", p.display()))
                })?;
                match String::from_utf8(bytes) {
                    Ok(text) => {
                        f.content = Some(text);
                        f.no_expand = true;
                    }
                    Err(e) => {
                        use base64::Engine as _;
                        f.binary_content =
                            Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()));
                    }
                }
            }
        }
    }
    Ok(())
}

impl Deployer {
    fn environment(
        &self,
        name: &str,
    ) -> Result<(&Environment, &socle_platform::GitOps), DeployError> {
        let env = self.config.environments.get(name).ok_or_else(|| {
            let known: Vec<&str> = self
                .config
                .environments
                .keys()
                .map(String::as_str)
                .collect();
            DeployError::Invalid(format!(
                "unknown environment \"{name}\"; this platform has: {}",
                known.join(", ")
            ))
        })?;
        if env.target != Target::Kubernetes {
            return Err(DeployError::Invalid(format!(
                "environment {name} runs on Compose: use `socle workload generate --env {name}` and `docker compose up`"
            )));
        }
        let gitops = env.gitops.as_ref().ok_or_else(|| {
            DeployError::Invalid(format!(
                "environment {name} has no GitOps repository configured"
            ))
        })?;
        Ok((env, gitops))
    }

    /// The owner the catalog gives `component:default/<service>` (a group reference), if any.
    pub async fn catalog_owner(&self, service: &str) -> Result<Option<String>, DeployError> {
        Ok(self
            .store
            .get_entity(&format!("component:default/{service}"))
            .await?
            .and_then(|e| serde_json::from_str::<Value>(&e.body).ok())
            .and_then(|v| v["spec"]["owner"].as_str().map(normalise_team)))
    }

    /// The catalog owners of the other workloads using `w`'s unowned shared resources (the
    /// workloads that decide whether the deploying team may adopt them).
    async fn owners_of_users(
        &self,
        w: &Workload,
        stored: &BTreeMap<String, socle_store::ResourceOwnership>,
    ) -> Result<ownership::CatalogOwners, DeployError> {
        let mut out = ownership::CatalogOwners::new();
        for (rname, r) in w.resources.iter().filter(|(_, r)| r.id.is_some()) {
            let uid = socle_platform::resource_uid(w.name(), rname, r);
            let Some(s) = stored.get(&uid).filter(|s| s.owner.is_none()) else {
                continue;
            };
            for user in s.used_by.iter().filter(|u| *u != w.name()) {
                if !out.contains_key(user) {
                    let owner = self.catalog_owner(user).await?;
                    out.insert(user.clone(), owner);
                }
            }
        }
        Ok(out)
    }

    /// Milliseconds since the epoch, from the injected clock or the system's.
    fn now_ms(&self) -> i64 {
        self.clock.as_ref().map_or_else(system_now_ms, |c| c())
    }

    /// Deploys one workload. Idempotent: the same inputs make no new commit.
    pub async fn deploy(
        &self,
        mut req: DeployRequest,
        guardrails: &dyn Guardrails,
    ) -> Result<DeploymentRecord, DeployError> {
        let (env, gitops) = self.environment(&req.env)?;
        let name = req.workload.name().to_owned();
        set_images(&mut req.workload, req.image.as_deref())?;
        let images = container_images(&req.workload);
        let version = req
            .version
            .clone()
            .unwrap_or_else(|| version_from_image(&req.workload));

        // Shared resources: only the owner's, or another team's through a grant.
        let team = req.owner.as_deref().map(normalise_team);
        let stored = self.store.resource_ownership(&req.env).await?;
        let catalog = self.owners_of_users(&req.workload, &stored).await?;
        let holdings = ownership::check_access(
            &self.config,
            &env.name,
            &req.workload,
            team.as_deref(),
            &stored,
            &catalog,
        )?;

        // Resolve with the kept state; render; guardrails. Nothing is written before this passes.
        let resolution = self.resolve_workload(env, &req).await?;
        ownership::check_params(&env.name, &holdings, &resolution, &stored)?;
        let (manifests, report) = self
            .render_checked(env, &name, &resolution, guardrails)
            .await?;
        self.apply_policy(env, &name, &report).await?;

        let prefix = if gitops.path.is_empty() {
            String::new()
        } else {
            format!("{}/", gitops.path.trim_matches('/'))
        };
        let files = gitops_files(&prefix, &manifests)?;
        let previous = self.store.list_resources(Some(&req.env)).await?;
        let replace = paths_to_replace(&prefix, &name, &previous, &resolution);
        let repo_path = if Path::new(&gitops.repository).is_absolute() {
            PathBuf::from(&gitops.repository)
        } else {
            self.gitops_root.join(&gitops.repository)
        };
        let repo = gitops::open_or_init(&repo_path)?;
        // The commit's and the record's time: the same clock as the waivers'.
        let millis = self.now_ms();
        let message = commit_message(&req, env, &version, &images, &resolution);
        let committed = gitops::commit(
            &repo,
            &gitops.branch,
            &replace,
            &files,
            &message,
            ("Socle", "socle@localhost"),
            millis.div_euclid(1000),
        )?;

        // Save state and record; undo the commit if that fails.
        let records = resource_records(&resolution, team.as_deref(), &stored);
        let record = DeploymentRecord {
            id: String::new(),
            seq: 0,
            service: name.clone(),
            environment: req.env.clone(),
            version,
            images,
            gitops_commit: committed.commit.clone(),
            source_commit: req.source_commit.clone().unwrap_or_default(),
            changed: committed.changed,
            status: socle_store::DeploymentStatus::Success,
            actor: req.actor.clone(),
            kind: req.kind.clone(),
            spec: String::new(),
            created_at: millis,
        };
        match self.save(&req, &name, &records, record).await {
            Ok(record) => {
                if record.changed {
                    self.record_for_dora(&record).await;
                }
                Ok(record)
            }
            Err(e) => {
                if committed.changed
                    && let Err(undo) =
                        gitops::reset(&repo, &gitops.branch, committed.previous.as_deref())
                {
                    tracing::error!(
                        "could not undo GitOps commit {} after a store failure: {undo}",
                        committed.commit
                    );
                }
                Err(e.into())
            }
        }
    }

    /// Resolves the request's workload in `env` with the kept resource state.
    async fn resolve_workload(
        &self,
        env: &Environment,
        req: &DeployRequest,
    ) -> Result<Resolution, DeployError> {
        let state = self.store.resource_state(&req.env).await?;
        let seed: u64 = rand::random();
        let workloads = [req.workload.clone()];
        // Templates and command provisioners are CPU and process work: off the async worker.
        cpu_bound(|| {
            socle_platform::resolve(&ResolveInput {
                workloads: &workloads,
                env,
                config: &self.config,
                state: &state,
                seed,
                limits: &self.limits,
                runner: self
                    .runner
                    .as_ref()
                    .map(|r| r as &dyn socle_platform::provision::CommandRunner),
            })
        })
        .map_err(DeployError::Resolve)
    }

    /// The Kubernetes manifests (labelled with the catalog entity and owner) and the
    /// guardrails' report on them.
    async fn render_checked(
        &self,
        env: &Environment,
        name: &str,
        resolution: &Resolution,
        guardrails: &dyn Guardrails,
    ) -> Result<(Vec<(String, Value)>, GuardrailReport), DeployError> {
        let entity = format!("component:default/{name}");
        let label_team = self.catalog_owner(name).await?;
        let opts = socle_render::KubernetesOptions {
            secret_store: format!("socle-{}", env.name),
            ownership: BTreeMap::from([(
                name.to_owned(),
                socle_render::Ownership {
                    entity: Some(entity),
                    team: label_team,
                },
            )]),
        };
        cpu_bound(|| {
            let manifests = socle_render::render_kubernetes(resolution, env, &opts)
                .map_err(|e| DeployError::Render(e.to_string()))?;
            // Rego: CPU work too.
            let report = guardrails.check(env, resolution, &manifests);
            Ok::<_, DeployError>((manifests, report))
        })
    }

    /// Records the guardrails' outcome, and refuses the deploy when a violation is not waived.
    /// Waivers in force for this entity and environment set violations of their rule aside;
    /// expired waivers no longer apply.
    async fn apply_policy(
        &self,
        env: &Environment,
        name: &str,
        report: &GuardrailReport,
    ) -> Result<(), DeployError> {
        let now_ms = self.now_ms();
        let entity_ref = format!("component:default/{name}");
        let waivers = self
            .store
            .active_waivers(&entity_ref, &env.name, now_ms)
            .await?;
        let (waived, blocking): (Vec<GuardrailFinding>, Vec<GuardrailFinding>) = report
            .violations
            .iter()
            .cloned()
            .partition(|v| waivers.iter().any(|w| w.rule == v.rule));
        let findings = serde_json::json!({
            "violations": blocking,
            "waived": waived.iter().map(|v| serde_json::json!({"rule": v.rule, "text": v.text, "waivers": waivers.iter().filter(|w| w.rule == v.rule).map(|w| &w.id).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "warnings": report.warnings,
        });
        if !blocking.is_empty() {
            self.store
                .record_policy_result(&entity_ref, &env.name, now_ms, "blocked", &findings)
                .await?;
            return Err(DeployError::Blocked(
                blocking.into_iter().map(|v| v.text).collect(),
            ));
        }
        let outcome = if report.violations.is_empty() && report.warnings.is_empty() {
            "pass"
        } else {
            "warn"
        };
        self.store
            .record_policy_result(&entity_ref, &env.name, now_ms, outcome, &findings)
            .await?;
        Ok(())
    }

    /// Saves the resources' state and the deployment record (its `spec` the request's workload)
    /// in one store transaction: both or neither.
    async fn save(
        &self,
        req: &DeployRequest,
        name: &str,
        records: &[ResourceRecord],
        mut record: DeploymentRecord,
    ) -> Result<DeploymentRecord, StoreError> {
        let deployed: BTreeSet<String> = [name.to_owned()].into();
        record.spec =
            serde_json::to_string(&req.workload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (_, record) = self
            .store
            .save_deploy(&req.env, &deployed, records, record)
            .await?;
        Ok(record)
    }

    /// Feeds the delivery metrics: a Socle deployment is a DORA deployment event; its changes
    /// are derived from its source commit when commits are known. A failure is only logged.
    async fn record_for_dora(&self, record: &DeploymentRecord) {
        let event = socle_dora::Event::Deployment(socle_dora::Deployment {
            source: "socle".into(),
            id: record.id.clone(),
            service: record.service.clone(),
            environment: record.environment.clone(),
            status: record.status.as_str().into(),
            finished_at: record.created_at,
            changes: Vec::new(),
            commit: Some(record.source_commit.clone()).filter(|c| !c.is_empty()),
        });
        if let Err(e) = self.store.dora_upsert(vec![event]).await {
            tracing::warn!(
                "deployment {} not recorded for delivery metrics: {e}",
                record.id
            );
        }
    }

    /// Re-deploys the previous successful deployment of `service` in `env`.
    pub async fn rollback(
        &self,
        service: &str,
        env: &str,
        actor: &str,
        owner: Option<&str>,
        guardrails: &dyn Guardrails,
    ) -> Result<DeploymentRecord, DeployError> {
        let history = self
            .store
            .list_deployments(Some(service), Some(env), 1000)
            .await?;
        let current = history
            .iter()
            .find(|d| d.status == socle_store::DeploymentStatus::Success)
            .ok_or_else(|| {
                DeployError::NotFound(format!("{service} has never been deployed to {env}"))
            })?;
        let target = history
            .iter()
            .filter(|d| {
                d.status == socle_store::DeploymentStatus::Success
                    && d.seq < current.seq
                    && d.gitops_commit != current.gitops_commit
            })
            .find(|d| d.spec != current.spec || d.images != current.images)
            .ok_or_else(|| {
                DeployError::NotFound(format!(
                    "{service} has no earlier successful deployment in {env} to roll back to"
                ))
            })?;
        let workload: Workload = serde_json::from_str(&target.spec)
            .map_err(|e| DeployError::Invalid(format!("stored deployment {}: {e}", target.id)))?;
        self.deploy(
            DeployRequest {
                workload,
                env: env.into(),
                image: None,
                version: Some(target.version.clone()),
                source_commit: Some(target.source_commit.clone()).filter(|c| !c.is_empty()),
                actor: actor.into(),
                kind: "rollback".into(),
                owner: owner.map(str::to_owned),
            },
            guardrails,
        )
        .await
    }

    /// Deploys to `to` exactly what was last successfully deployed to `from`.
    pub async fn promote(
        &self,
        service: &str,
        from: &str,
        to: &str,
        actor: &str,
        owner: Option<&str>,
        guardrails: &dyn Guardrails,
    ) -> Result<DeploymentRecord, DeployError> {
        let last = self
            .store
            .list_deployments(Some(service), Some(from), 1000)
            .await?
            .into_iter()
            .find(|d| d.status == socle_store::DeploymentStatus::Success)
            .ok_or_else(|| {
                DeployError::NotFound(format!(
                    "{service} has no successful deployment in {from} to promote"
                ))
            })?;
        let workload: Workload = serde_json::from_str(&last.spec)
            .map_err(|e| DeployError::Invalid(format!("stored deployment {}: {e}", last.id)))?;
        self.deploy(
            DeployRequest {
                workload,
                env: to.into(),
                image: None,
                version: Some(last.version.clone()),
                source_commit: Some(last.source_commit.clone()).filter(|c| !c.is_empty()),
                actor: actor.into(),
                kind: "promote".into(),
                owner: owner.map(str::to_owned),
            },
            guardrails,
        )
        .await
    }
}

/// Guardrails from Rego policies (the built-in pack or the platform's own): every rendered
/// manifest is evaluated; `deny`/`violation` findings block, `warn` findings are reported.
pub struct PolicyGuardrails {
    pub policies: socle_policy::PolicySet,
}

impl Guardrails for PolicyGuardrails {
    fn check(
        &self,
        _env: &Environment,
        _res: &Resolution,
        manifests: &[(String, Value)],
    ) -> GuardrailReport {
        let mut report = GuardrailReport::default();
        for (i, (path, m)) in manifests.iter().enumerate() {
            match self.policies.eval(m, path, i) {
                Ok(findings) => {
                    for f in findings {
                        let line = format!(
                            "{}{}: {} [{}]",
                            f.object.as_deref().unwrap_or(path),
                            f.path
                                .as_deref()
                                .map(|p| format!(" {p}"))
                                .unwrap_or_default(),
                            f.message,
                            f.rule
                        );
                        match f.severity {
                            socle_policy::Severity::Deny => {
                                report.violations.push(GuardrailFinding::new(f.rule, line))
                            }
                            socle_policy::Severity::Warn => {
                                report.warnings.push(GuardrailFinding::new(f.rule, line))
                            }
                        }
                    }
                }
                // A policy that cannot be evaluated blocks: guardrails fail closed.
                Err(e) => report.violations.push(GuardrailFinding::new(
                    "policy-error",
                    format!("{path}: {e}"),
                )),
            }
        }
        report
    }
}

/// Replaces the image of containers whose image is `.`, or of the only container; every
/// container must then have an image.
fn set_images(workload: &mut Workload, image: Option<&str>) -> Result<(), DeployError> {
    if let Some(image) = image {
        set_image(workload, image);
    }
    if let Some((cname, _)) = workload
        .containers
        .iter()
        .find(|(_, c)| c.image == "." || c.image.is_empty())
    {
        return Err(DeployError::Invalid(format!(
            "container {cname} has no image: pass --image"
        )));
    }
    Ok(())
}

/// Replaces the image of containers whose image is `.`, or of the only container (`--image`).
pub fn set_image(workload: &mut Workload, image: &str) {
    let single = workload.containers.len() == 1;
    for c in workload.containers.values_mut() {
        if single || c.image == "." {
            c.image = image.to_owned();
        }
    }
}

/// `container=image` for every container.
fn container_images(workload: &Workload) -> Vec<String> {
    workload
        .containers
        .iter()
        .map(|(n, c)| format!("{n}={}", c.image))
        .collect()
}

/// The version a deploy records when none is given: the first container's image tag, else
/// `latest`.
fn version_from_image(workload: &Workload) -> String {
    let image = &workload
        .containers
        .values()
        .next()
        .map(|c| c.image.clone())
        .unwrap_or_default();
    image
        .rsplit_once(':')
        .filter(|(_, t)| !t.contains('/'))
        .map_or_else(|| "latest".to_owned(), |(_, t)| t.to_owned())
}

/// The manifests as YAML files under the environment's GitOps path.
fn gitops_files(
    prefix: &str,
    manifests: &[(String, Value)],
) -> Result<BTreeMap<String, Vec<u8>>, DeployError> {
    let mut files = BTreeMap::new();
    for (path, text) in
        socle_render::to_yaml_files(manifests).map_err(|e| DeployError::Render(e.to_string()))?
    {
        files.insert(format!("{prefix}{path}"), text.into_bytes());
    }
    Ok(files)
}

/// What this deploy owns in the repository: the workload's folder, its resources' folders,
/// and the folders of resources only it used and no longer does (de-provisioned).
fn paths_to_replace(
    prefix: &str,
    name: &str,
    previous: &[socle_store::ResourceRow],
    resolution: &Resolution,
) -> Vec<String> {
    let mut replace = vec![format!("{prefix}workloads/{name}")];
    for r in previous {
        if r.used_by.iter().all(|u| *u == name) && !resolution.resources.contains_key(&r.uid) {
            replace.push(format!("{prefix}resources/{}", r.uid));
        }
    }
    replace.extend(
        resolution
            .resources
            .keys()
            .map(|uid| format!("{prefix}resources/{uid}")),
    );
    replace
}

/// The GitOps commit's message: what was deployed where, by whom, with which resources.
fn commit_message(
    req: &DeployRequest,
    env: &Environment,
    version: &str,
    images: &[String],
    resolution: &Resolution,
) -> String {
    format!(
        "deploy {} {version} to {}\n\nby: {}\nkind: {}\nimages: {}\nresources: {}\n",
        req.workload.name(),
        env.name,
        req.actor,
        req.kind,
        images.join(", "),
        resolution
            .resources
            .values()
            .map(|r| format!("{} ({})", r.uid, r.kind))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The resources' state to save, each with the owner it keeps or gets.
fn resource_records(
    resolution: &Resolution,
    team: Option<&str>,
    stored: &BTreeMap<String, socle_store::ResourceOwnership>,
) -> Vec<ResourceRecord> {
    resolution
        .resources
        .values()
        .map(|r| ResourceRecord {
            uid: r.uid.clone(),
            kind: r.kind.clone(),
            definition: r.definition.clone(),
            used_by: r.used_by.clone(),
            state: r.state.clone(),
            outputs: r.outputs.clone(),
            secrets: r.secrets.clone(),
            owner: ownership::owner_to_save(&r.uid, team, stored),
            params_hash: Some(socle_platform::params_fingerprint(&r.params)),
        })
        .collect()
}
