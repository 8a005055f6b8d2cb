//! Deploy, promote, roll back, and read a resource's secrets — with the one authorisation rule:
//! an admin, or a member of the team that owns the service's catalog entity (directly or
//! through a parent team). Every attempt is audited, from whichever adapter it came.

use socle_deploy::{DeployError, Deployer};
use socle_store::{DeploymentRecord, Role};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::{AppError, ErrorCode};
use crate::teams::{groups_of, owner_team, owning_teams};

/// The workload of a deploy: Score text the service parses, or a workload an adapter parsed
/// itself (the CLI: with the file's name in its diagnostics and its `source` files inlined).
#[derive(Debug, Clone)]
pub enum WorkloadInput {
    Text(String),
    Parsed(Box<socle_score::Workload>),
}

impl From<String> for WorkloadInput {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for WorkloadInput {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

/// A deploy as a caller asks for it.
#[derive(Debug, Clone)]
pub struct DeployInput {
    /// The Score workload (YAML or JSON text, or parsed).
    pub workload: WorkloadInput,
    pub environment: String,
    pub image: Option<String>,
    pub version: Option<String>,
    /// The commit of the service's repository being deployed.
    pub source_commit: Option<String>,
}

/// What kind of deployment a record is (`DeploymentRecord::kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployKind {
    Deploy,
    Promote,
    Rollback,
}

impl DeployKind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Promote => "promote",
            Self::Rollback => "rollback",
        }
    }
}

/// What the guardrails said of a deploy that went through: violations a waiver set aside (with
/// the waivers' ids) and warnings.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GuardrailNotes {
    pub waived: Vec<serde_json::Value>,
    pub warnings: Vec<serde_json::Value>,
}

/// A [`DeployError`] as a caller sees it.
pub fn deploy_error(e: DeployError) -> AppError {
    use socle_deploy::DeployError as D;
    match e {
        D::Invalid(m) => AppError::bad_request(m),
        D::NotFound(m) => AppError::not_found(m),
        D::Forbidden(m) => AppError::forbidden(m),
        D::Resolve(errors) => AppError::new(
            ErrorCode::ResolutionFailed,
            "the workload's resources could not be resolved",
        )
        .with_details(serde_json::to_value(&errors).ok()),
        D::Blocked(v) => AppError::new(
            ErrorCode::BlockedByGuardrails,
            "the deploy was blocked by guardrails; nothing was committed",
        )
        .with_details(serde_json::to_value(&v).ok()),
        D::Store(e) => e.into(),
        other => AppError::internal(other),
    }
}

/// How many deploy locks a replica has (environments hash onto them).
pub(crate) const DEPLOY_LOCKS: usize = 16;
/// How long an environment's deploy lease lasts if its holder dies: its holder renews it every
/// [`DEPLOY_LEASE_RENEW`] while the deploy runs, so a replica killed in a deploy holds the
/// environment for this long at most, and another replica's deploy (waiting up to
/// [`DEPLOY_LEASE_WAIT`]) goes on after it.
const DEPLOY_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(15);
/// How often a running deploy renews its lease.
const DEPLOY_LEASE_RENEW: std::time::Duration = std::time::Duration::from_secs(5);
// A replica killed mid-commit leaves its branch lock behind; the next lease holder finds it at
// least `TTL − RENEW` old, which must make it stale to `gitops::commit`.
const _: () = assert!(
    DEPLOY_LEASE_TTL.as_secs() - DEPLOY_LEASE_RENEW.as_secs()
        >= socle_deploy::gitops::STALE_LOCK.as_secs()
);
/// How long a deploy waits for another replica's deploy to the same environment.
const DEPLOY_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// An environment's deploy lock, held: this replica's mutex and the store's lease.
struct EnvironmentLock<'a> {
    _local: tokio::sync::MutexGuard<'a, ()>,
    store: socle_store::Store,
    lease: String,
    holder: String,
    released: bool,
    /// Renews the lease while the deploy runs; stopped before the lease is given back.
    renew: tokio::task::JoinHandle<()>,
}

impl EnvironmentLock<'_> {
    /// Gives the lease back (another replica's deploy goes on at once).
    async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        if let Err(e) = self.store.release_lease(&self.lease, &self.holder).await {
            tracing::warn!("{} not released (it expires by itself): {e}", self.lease);
        }
    }
}

impl Drop for EnvironmentLock<'_> {
    fn drop(&mut self) {
        self.renew.abort();
        if !self.released {
            let (store, lease, holder) = (
                self.store.clone(),
                std::mem::take(&mut self.lease),
                std::mem::take(&mut self.holder),
            );
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = store.release_lease(&lease, &holder).await;
                });
            }
        }
    }
}

impl App {
    /// Who deploys `service`: the actor's name when they may, a refusal otherwise.
    pub fn authorize_deploy(&self, actor: &Actor, service: &str) -> Result<String, AppError> {
        let p = actor.require(Role::Member)?;
        if p.role == Role::Admin {
            return Ok(p.subject.clone());
        }
        let snap = self.snapshot();
        let Some(teams) = owning_teams(&snap, service) else {
            return Err(AppError::forbidden(format!(
                "component:default/{service} is not in the catalog or has no owner: only an admin may deploy it"
            )));
        };
        let member = groups_of(&snap, &p.subject)
            .into_iter()
            .any(|g| teams.contains(snap.name(g)));
        if member {
            Ok(p.subject.clone())
        } else {
            Err(AppError::forbidden(format!(
                "{} is not a member of {} (the owners of component:default/{service}, with their parent teams)",
                p.subject,
                teams.into_iter().collect::<Vec<_>>().join(", ")
            )))
        }
    }

    /// Whether `actor` may deploy `service` (to show or hide buttons).
    pub fn may_deploy(&self, actor: &Actor, service: &str) -> bool {
        self.authorize_deploy(actor, service).is_ok()
    }

    /// The guardrails enforced at deploy.
    pub fn guardrails(&self) -> Box<dyn socle_deploy::Guardrails> {
        match &self.config.guardrails {
            Some(p) => Box::new(socle_deploy::PolicyGuardrails {
                policies: p.clone(),
            }),
            None => Box::new(socle_deploy::NoGuardrails),
        }
    }

    /// Waits for the environment's deploy lock: this replica's own, then the environment's
    /// lease in the store (`deploy:<environment>`), which every replica — and the CLI — sharing
    /// the store and the GitOps repositories takes too. A deploy commits to the environment's
    /// GitOps branch and saves its resources' state; two at once would race for the branch and
    /// for shared resources, and could record in another order than they committed.
    async fn environment_lock(&self, environment: &str) -> Result<EnvironmentLock<'_>, AppError> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hash = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(environment);
        let local = self.deploy_locks[(hash % DEPLOY_LOCKS as u64) as usize]
            .lock()
            .await;
        let lease = format!("deploy:{environment}");
        // A holder of its own per deploy: a late release cannot free the next deploy's lease.
        let holder = format!("{}:{:016x}", self.config.instance, rand::random::<u64>());
        let ttl = DEPLOY_LEASE_TTL.as_millis() as i64;
        let started = std::time::Instant::now();
        while !self
            .store
            .try_lease(&lease, &holder, self.now_ms(), ttl)
            .await
            .map_err(AppError::internal)?
        {
            if started.elapsed() >= DEPLOY_LEASE_WAIT {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!(
                        "another replica has been deploying to {environment} for {} s; try again",
                        DEPLOY_LEASE_WAIT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let renew = {
            let (store, clock) = (self.store.clone(), self.clock.clone());
            let (lease, holder) = (lease.clone(), holder.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(DEPLOY_LEASE_RENEW).await;
                    match store.try_lease(&lease, &holder, clock.now_ms(), ttl).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(
                                "{lease}: taken over by another replica while deploying"
                            );
                            return;
                        }
                        Err(e) => tracing::warn!("{lease} not renewed: {e}"),
                    }
                }
            })
        };
        Ok(EnvironmentLock {
            _local: local,
            store: self.store.clone(),
            lease,
            holder,
            released: false,
            renew,
        })
    }

    /// The deployment machinery, configured once from the application's settings.
    pub fn deployer(&self) -> Deployer {
        Deployer {
            store: self.store.clone(),
            config: self.config.platform.clone(),
            gitops_root: self.config.gitops_root.clone(),
            limits: self.config.limits.clone(),
            runner: Some(socle_deploy::ProcessRunner::new(
                self.config.provisioner_dir.clone(),
            )),
            // The application's clock: deploy records, commits and waiver checks agree with it.
            clock: Some({
                let clock = self.clock.clone();
                std::sync::Arc::new(move || clock.now_ms())
            }),
        }
    }

    /// Deploys a workload to an environment: parse, authorise, resolve, render, guardrails,
    /// GitOps commit, record. Audited as `deployment.deploy` (detail: the GitOps commit).
    pub async fn deploy(
        &self,
        actor: &Actor,
        input: DeployInput,
    ) -> Result<DeploymentRecord, AppError> {
        let mut target = format!("?@{}", input.environment);
        let result = async {
            let workload = match input.workload {
                WorkloadInput::Parsed(w) => *w,
                WorkloadInput::Text(text) => {
                    socle_score::parse_workload(&text, "workload", &self.config.limits).map_err(
                        |errors| {
                            AppError::bad_request("the Score workload is invalid")
                                .with_details(serde_json::to_value(&errors).ok())
                        },
                    )?
                }
            };
            target = format!("{}@{}", workload.name(), input.environment);
            let by = self.authorize_deploy(actor, workload.name())?;
            let owner = owner_team(&self.snapshot(), workload.name());
            // Budgets are measured before the environment's lock: other deploys need not wait.
            let guardrails = self
                .gated_guardrails(
                    workload.name(),
                    &input.environment,
                    crate::slo::gate::DeployAction::Deploy,
                )
                .await;
            let lock = self.environment_lock(&input.environment).await?;
            let req = socle_deploy::DeployRequest {
                owner,
                workload,
                env: input.environment.clone(),
                image: input.image,
                version: input.version,
                source_commit: input.source_commit,
                actor: by,
                kind: DeployKind::Deploy.name().into(),
            };
            let out = self
                .deployer()
                .deploy(req, &guardrails)
                .await
                .map_err(deploy_error);
            lock.release().await;
            out
        }
        .await;
        if let Ok(record) = &result
            && !record.source_commit.is_empty()
        {
            // The commits it ships, for lead time; a repository Socle cannot read only loses that.
            if let Err(e) = self
                .record_source_history(&record.service, &record.source_commit)
                .await
            {
                tracing::warn!(
                    "deployment {}: the history of commit {} was not recorded: {}",
                    record.id,
                    record.source_commit,
                    e.message
                );
            }
        }
        self.audited_deployment(actor, AuditAction::Deploy, &target, result)
            .await
    }

    /// Deploys to `to` what was last successfully deployed to `from`.
    pub async fn promote(
        &self,
        actor: &Actor,
        service: &str,
        from: &str,
        to: &str,
    ) -> Result<DeploymentRecord, AppError> {
        let result = async {
            let by = self.authorize_deploy(actor, service)?;
            let guardrails = self
                .gated_guardrails(service, to, crate::slo::gate::DeployAction::Promote)
                .await;
            let lock = self.environment_lock(to).await?;
            let out = self
                .deployer()
                .promote(
                    service,
                    from,
                    to,
                    &by,
                    owner_team(&self.snapshot(), service).as_deref(),
                    &guardrails,
                )
                .await
                .map_err(deploy_error);
            lock.release().await;
            out
        }
        .await;
        let target = format!("{service}@{to}");
        self.audited_deployment(actor, AuditAction::Promote, &target, result)
            .await
    }

    /// Re-deploys the previous successful deployment of a service in an environment.
    pub async fn rollback(
        &self,
        actor: &Actor,
        service: &str,
        environment: &str,
    ) -> Result<DeploymentRecord, AppError> {
        let result = async {
            let by = self.authorize_deploy(actor, service)?;
            let guardrails = self.rollback_guardrails(service, environment).await;
            let lock = self.environment_lock(environment).await?;
            let out = self
                .deployer()
                .rollback(
                    service,
                    environment,
                    &by,
                    owner_team(&self.snapshot(), service).as_deref(),
                    guardrails.as_ref(),
                )
                .await
                .map_err(deploy_error);
            lock.release().await;
            out
        }
        .await;
        let target = format!("{service}@{environment}");
        self.audited_deployment(actor, AuditAction::Rollback, &target, result)
            .await
    }

    /// Audits a deploy, promote or rollback attempt (a success's detail: its GitOps commit).
    async fn audited_deployment(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &str,
        result: Result<DeploymentRecord, AppError>,
    ) -> Result<DeploymentRecord, AppError> {
        // Deployments and guardrail results are facts of the service's scorecards.
        if let Some(service) = target.split('@').next().filter(|s| *s != "?") {
            self.mark_for_rescore([format!("component:default/{service}")]);
        }
        self.audited_with(actor, action, target, result, |d| d.gitops_commit.clone())
            .await
    }

    /// The guardrails' notes on the latest evaluation of `service` in `environment` (the
    /// deploy that just went through), for a caller who may read.
    pub async fn guardrail_notes(
        &self,
        actor: &Actor,
        service: &str,
        environment: &str,
    ) -> Result<GuardrailNotes, AppError> {
        self.can_read(actor)?;
        let entity = format!("component:default/{service}");
        let latest = self
            .store
            .policy_results(&entity, Some(environment), 1)
            .await?;
        let Some(r) = latest.into_iter().next() else {
            return Ok(GuardrailNotes::default());
        };
        let list = |k: &str| {
            r.findings
                .get(k)
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        Ok(GuardrailNotes {
            waived: list("waived"),
            warnings: list("warnings"),
        })
    }

    /// The secret outputs of a provisioned resource: admins and
    /// `serviceaccount:external-secrets` only; every read is audited.
    pub async fn secret_values(
        &self,
        actor: &Actor,
        environment: &str,
        uid: &str,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
        let result = async {
            let p = actor.require(Role::Viewer)?;
            if p.role != Role::Admin && p.subject != "serviceaccount:external-secrets" {
                return Err(AppError::forbidden(
                    "only admins and serviceaccount:external-secrets may read secret values",
                ));
            }
            let found = self.store.resource_outputs(environment, uid).await?;
            Ok(found
                .outputs
                .into_iter()
                .filter(|(k, _)| found.secrets.contains(k))
                .collect())
        }
        .await;
        let target = format!("{environment}/{uid}");
        self.audited(actor, AuditAction::SecretRead, &target, result)
            .await
    }
}
