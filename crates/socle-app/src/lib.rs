//! The application layer: the services the API, the portal and the CLI share — catalog reads
//! and refreshes, locations, deploys with their authorisation, guardrails, golden-path runs,
//! delivery metrics — each taking an [`Actor`] and returning typed results or an [`AppError`]
//! with a stable [`ErrorCode`]. No HTTP server types here: adapters translate.

pub mod actor;
pub mod adoption;
pub mod audit;
pub mod catalog;
pub mod clock;
pub mod cpu;
pub mod data;
pub mod data_access;
pub mod data_lineage;
pub mod data_quality;
pub mod data_run;
pub mod data_test;
pub mod demo;
pub mod deploy;
pub mod dora;
pub mod dora_scopes;
pub mod error;
pub mod feedback;
pub mod git_hosts;
pub mod ingest;
pub mod locations;
pub mod metrics;
pub mod net;
pub mod notifications;
pub mod oidc;
pub mod org_sync;
pub mod origin;
pub mod paths;
pub mod personal_tokens;
pub mod policy;
pub mod preview;
pub mod readiness;
pub mod scaffold;
pub mod scorecards;
pub mod slo;
pub mod snapshot;
pub mod snapshot_delta;
mod snapshot_load;
pub mod startup;
pub mod surveys;
pub mod teams;
pub mod tokens;
pub mod waivers;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_search::SearchIndex;
use socle_store::Store;
use tokio::sync::Mutex;

pub use actor::{Actor, Principal};
pub use audit::{AuditAction, AuditOutcome};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{AppError, ErrorCode};
pub use metrics::Metrics;
pub use snapshot::Snapshot;

/// A name for this process as a lease holder, unique among replicas: the host's name (a pod's
/// name on Kubernetes), the process id (1 in every container) and a random part.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "socle".to_owned());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// The application's settings (the server's and the CLI's).
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub limits: Limits,
    /// Reads need a token too (default: reads are open, mutations need a token).
    pub auth_reads: bool,
    /// The portal's session cookie is always `Secure` (otherwise only behind a proxy that says
    /// `X-Forwarded-Proto: https`).
    pub cookie_secure: bool,
    /// How often every location is re-read (None: never).
    pub refresh_interval: Option<Duration>,
    /// How often the store is polled for changes made by other replicas or the CLI.
    pub poll_interval: Duration,
    /// A name for this replica (lease holder).
    pub instance: String,
    /// Environments and resource definitions (default: the shipped configuration).
    pub platform: socle_platform::PlatformConfig,
    /// Relative GitOps repository paths are resolved against this directory.
    pub gitops_root: std::path::PathBuf,
    /// Where command provisioners' relative program paths are resolved (the platform directory).
    pub provisioner_dir: std::path::PathBuf,
    /// Guardrails enforced at deploy (None: no policies).
    pub guardrails: Option<socle_policy::PolicySet>,
    /// The data access policy: the built-in rules with the platform's `data-access/*.rego`
    /// (None: the built-in rules alone).
    pub data_access: Option<Arc<socle_policy::PolicySet>>,
    /// Verifies GitHub webhooks (`X-Hub-Signature-256`); None: the endpoint refuses them.
    pub github_webhook_secret: Option<String>,
    /// Verifies GitLab webhooks (`X-Gitlab-Token`); None: the endpoint refuses them.
    pub gitlab_webhook_token: Option<String>,
    /// GitHub's REST API for `publish:github` (None: the action explains what to configure).
    pub github_api: Option<git_hosts::HostApi>,
    /// GitLab's REST API for `publish:gitlab`.
    pub gitlab_api: Option<git_hosts::HostApi>,
    /// Where a caller's own Rego runs (`policy/test`): `socle serve` uses a worker process.
    pub rego: cpu::RegoRunner,
    /// How `https://` Git locations are read (default: they are refused).
    pub remotes: ingest::Remotes,
    /// How often every SLO budget is measured and kept (None: only when asked for).
    pub slo_refresh_interval: Option<Duration>,
    /// The roots outbound TLS trusts (Prometheus of SLO budgets): the system's plus
    /// `SOCLE_CA_FILE`.
    pub tls: net::TlsRoots,
    /// Single sign-on through an OpenID provider (None: API-token sign-in only).
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// The scorecards (default: the built-in ones).
    pub scorecards: scorecards::Scorecards,
    /// The surveys (default: the built-in DevEx survey).
    pub surveys: surveys::Surveys,
    /// Survey results of a group are shown from this many respondents on, unless a survey
    /// says otherwise (never below 3).
    pub survey_threshold: u32,
    /// How often every entity is scored against every scorecard, under a lease (None: only
    /// when a report finds none); changed entities are re-scored every poll interval.
    pub scorecard_interval: Option<Duration>,
    /// How often the replica holding the `adoption-snapshot` lease tries to take this week's
    /// adoption snapshot (stored once per week; None: never, weekly shares of docs and SLOs
    /// are then rebuilt without them).
    pub adoption_snapshot_interval: Option<Duration>,
    /// The directories the org sync reads (`--org-sync`; None: `POST /api/v1/org/sync` says
    /// none is configured).
    pub org_sync: Option<org_sync::OrgSyncConfig>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            auth_reads: false,
            cookie_secure: false,
            refresh_interval: Some(Duration::from_secs(300)),
            poll_interval: Duration::from_secs(1),
            instance: instance_name(),
            platform: socle_platform::default_config(),
            gitops_root: std::path::PathBuf::from(".socle"),
            provisioner_dir: std::path::PathBuf::from("."),
            guardrails: None,
            data_access: None,
            github_webhook_secret: None,
            gitlab_webhook_token: None,
            github_api: None,
            gitlab_api: None,
            rego: cpu::RegoRunner::InProcess,
            remotes: ingest::Remotes::none(),
            tls: net::TlsRoots::default(),
            slo_refresh_interval: Some(Duration::from_secs(300)),
            oidc: None,
            scorecards: scorecards::Scorecards::default(),
            surveys: surveys::Surveys::default(),
            survey_threshold: socle_survey::DEFAULT_THRESHOLD,
            scorecard_interval: Some(Duration::from_secs(3600)),
            adoption_snapshot_interval: Some(Duration::from_secs(3600)),
            org_sync: None,
        }
    }
}

struct Served {
    snapshot: Arc<Snapshot>,
    search: Arc<SearchIndex>,
    /// The active scorecards and campaigns: the platform's and the catalog's definitions.
    scorecards: Arc<scorecards::Scorecards>,
    /// The catalog's definitions they were built from.
    definitions: scorecards::catalog::Definitions,
}

/// The application: the store, the read model and the services over them. The API, the portal
/// and the CLI are adapters over one `App`.
pub struct App {
    pub store: Store,
    pub config: AppConfig,
    /// The one clock of the application (deploys, records, waivers, reports).
    pub clock: Arc<dyn Clock>,
    /// The server's directories, shown by name to callers (see [`paths`]).
    pub paths: Arc<paths::PublicPaths>,
    pub metrics: Metrics,
    served: RwLock<Served>,
    /// Serialises refreshes within this replica.
    refresh_lock: Mutex<()>,
    /// Serialises snapshot reloads.
    reload_lock: Mutex<()>,
    /// Serialises deploys to one environment within this replica (by a hash of its name: a
    /// bounded set of locks, whatever names callers send).
    pub(crate) deploy_locks: [Mutex<()>; deploy::DEPLOY_LOCKS],
    /// Slots for CPU-heavy work (Rego, reports, golden-path runs), so that the async workers
    /// stay free.
    pub cpu: cpu::CpuGate,
    /// Delivery events indexed for reports, with the store generation they were read at.
    pub(crate) dora: tokio::sync::Mutex<Option<crate::dora::LiveDora>>,
    /// Entities whose facts changed, waiting for a re-score.
    pub(crate) rescore_queue: std::sync::Mutex<scorecards::evaluate::RescoreQueue>,
    /// Serialises re-scores within this replica.
    pub(crate) rescore_lock: Mutex<()>,
    /// Woken when a full pass takes `rescore_lock`: a report waiting for an incremental drain
    /// stops waiting then.
    pub(crate) full_pass_started: tokio::sync::Notify,
    /// When the read model was last known to match the store (ms, the App's clock): readiness.
    pub(crate) synced_at_ms: std::sync::atomic::AtomicI64,
}

impl App {
    /// Checks read access: open unless the settings say reads need a token; a token that is
    /// not valid is refused everywhere.
    pub fn can_read(&self, actor: &Actor) -> Result<(), AppError> {
        if self.config.auth_reads || *actor == Actor::InvalidToken {
            actor.require(socle_store::Role::Viewer)?;
        }
        Ok(())
    }

    /// The read model, for an actor who may read (reads are authorised here, not by adapters).
    pub fn read_model(&self, actor: &Actor) -> Result<Arc<Snapshot>, AppError> {
        self.can_read(actor)?;
        Ok(self.snapshot())
    }

    /// A full-text search with filters and facets, for an actor who may read. About a
    /// millisecond of CPU at 100,000 entities, ~4 ms at a million (a word matching 42,000
    /// documents, every facet counted; `socle-bench search`): it runs on the caller's worker (a
    /// blocking thread per query costs more, and oversubscribes two cores under load).
    pub fn search_catalog(
        &self,
        actor: &Actor,
        query: &socle_search::SearchQuery,
    ) -> Result<socle_search::SearchResults, AppError> {
        self.can_read(actor)?;
        Ok(self.search().search(query)?)
    }

    /// Now, by the application's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Loads the catalog from the store and returns ready-to-serve state.
    pub async fn new(store: Store, config: AppConfig) -> Result<Arc<Self>, snapshot::LoadError> {
        Self::with_clock(store, config, Arc::new(SystemClock)).await
    }

    /// [`App::new`] with a clock (tests fix the time).
    pub async fn with_clock(
        store: Store,
        config: AppConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, snapshot::LoadError> {
        let (snapshot, search, _) = snapshot::load(&store).await?;
        let definitions = scorecards::catalog::definitions(&snapshot);
        let active = scorecards::catalog::active(&config.scorecards, &definitions);
        let metrics = Metrics::new();
        metrics.entities.set(snapshot.len() as i64);
        metrics.generation.set(snapshot.generation);
        Ok(Arc::new(Self {
            store,
            metrics,
            served: RwLock::new(Served {
                snapshot,
                search: Arc::new(search),
                scorecards: Arc::new(active),
                definitions,
            }),
            refresh_lock: Mutex::new(()),
            reload_lock: Mutex::new(()),
            deploy_locks: std::array::from_fn(|_| Mutex::new(())),
            cpu: cpu::CpuGate::for_this_machine(),
            dora: tokio::sync::Mutex::new(None),
            rescore_queue: Default::default(),
            rescore_lock: Mutex::new(()),
            full_pass_started: tokio::sync::Notify::new(),
            synced_at_ms: std::sync::atomic::AtomicI64::new(clock.now_ms()),
            paths: Arc::new(paths::PublicPaths::new([
                (config.gitops_root.clone(), "$DATA"),
                (config.provisioner_dir.clone(), "$PLATFORM"),
                (std::path::PathBuf::from("."), "$WORKDIR"),
            ])),
            config,
            clock,
        }))
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.served.read().expect("lock").snapshot.clone()
    }

    pub fn search(&self) -> Arc<SearchIndex> {
        self.served.read().expect("lock").search.clone()
    }

    /// The active scorecards and campaigns: the platform's own and those the catalog's trusted
    /// locations define (as of the read model).
    pub fn scorecards(&self) -> Arc<scorecards::Scorecards> {
        self.served.read().expect("lock").scorecards.clone()
    }

    /// Moves the read model to the store's generation if it changed since it was built: by a
    /// delta of the change log when it reaches back far enough (only the touched entities and
    /// their neighbours are rebuilt, in the snapshot and in the search index), else by a full
    /// load.
    pub async fn reload_if_changed(&self) -> Result<bool, snapshot::LoadError> {
        let _guard = self.reload_lock.lock().await;
        let old = self.snapshot();
        let around = old.clone();
        let changes = self
            .store
            .catalog_delta(old.generation, move |touched| around.neighbours(touched))
            .await?;
        let (snapshot, search, generation) = match changes {
            socle_store::CatalogChanges::Unchanged => {
                self.mark_in_sync();
                return Ok(false);
            }
            socle_store::CatalogChanges::Rebuild => {
                let (snapshot, search, generation) = snapshot::load(&self.store).await?;
                self.mark_for_rescore(scorecards::evaluate::changed_entities(&old, &snapshot));
                (snapshot, Arc::new(search), generation)
            }
            socle_store::CatalogChanges::Delta(delta) => {
                let search = self.search();
                let index = search.clone();
                let applied = tokio::task::spawn_blocking(move || {
                    let applied = old.apply(delta);
                    index
                        .apply(applied.upserts, applied.deletes)
                        .map(|()| (applied.snapshot, applied.changed))
                })
                .await
                .map_err(|e| snapshot::LoadError::Internal(e.to_string()))??;
                let (snapshot, changed) = applied;
                self.mark_for_rescore(changed);
                let generation = snapshot.generation;
                (Arc::new(snapshot), search, generation)
            }
        };
        self.metrics.entities.set(snapshot.len() as i64);
        self.metrics.generation.set(generation);
        let definitions = scorecards::catalog::definitions(&snapshot);
        let unchanged = {
            let served = self.served.read().expect("lock");
            (served.definitions == definitions).then(|| served.scorecards.clone())
        };
        let (active, changed) = match unchanged {
            Some(active) => (active, false),
            None => {
                let platform = self.config.scorecards.clone();
                let defs = definitions.clone();
                let active = tokio::task::spawn_blocking(move || {
                    scorecards::catalog::active(&platform, &defs)
                })
                .await
                .map_err(|e| snapshot::LoadError::Internal(e.to_string()))?;
                (Arc::new(active), true)
            }
        };
        if changed {
            // New or changed definitions: every entity is scored against them.
            self.request_full_pass();
        }
        *self.served.write().expect("lock") = Served {
            snapshot,
            search,
            scorecards: active,
            definitions,
        };
        self.mark_in_sync();
        tracing::info!(generation, "catalog reloaded");
        Ok(true)
    }

    /// Re-reads one location into the store and reloads the read model.
    pub async fn refresh(
        &self,
        spec: &LocationSpec,
    ) -> Result<socle_store::ApplyOutcome, AppError> {
        let out = self.refresh_store(spec).await?;
        self.reload_if_changed().await.map_err(AppError::internal)?;
        Ok(out)
    }

    /// Re-reads one location into the store only.
    async fn refresh_store(
        &self,
        spec: &LocationSpec,
    ) -> Result<socle_store::ApplyOutcome, AppError> {
        let _guard = self.refresh_lock.lock().await;
        let started = Instant::now();
        let out = ingest::refresh_location_with(
            &self.store,
            spec,
            &self.config.limits,
            self.now_ms(),
            None,
            &self.config.remotes,
            &self.config.scorecards,
        )
        .await?;
        self.metrics
            .refresh_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .refreshes
            .get_or_create(&metrics::OutcomeLabels {
                outcome: out.status.to_string(),
            })
            .inc();
        Ok(out)
    }

    /// Re-reads every registered location, then reloads the read model once.
    pub async fn refresh_all(&self) -> Result<Vec<(String, socle_store::ApplyOutcome)>, AppError> {
        let mut out = Vec::new();
        for loc in self.store.list_locations().await? {
            if org_sync::is_directory_location(&loc.key) {
                continue; // re-read by the org sync, on its own schedule
            }
            let spec: LocationSpec = match serde_json::from_value(loc.spec.clone()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(location = %loc.key, "unreadable location spec: {e}");
                    continue;
                }
            };
            out.push((loc.key.clone(), self.refresh_store(&spec).await?));
        }
        self.reload_if_changed().await.map_err(AppError::internal)?;
        Ok(out)
    }
}

/// Starts the background work: store polling (all replicas) and periodic refresh (one replica
/// at a time, through a lease in the store).
pub fn spawn_background(state: Arc<App>) {
    let poll = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(poll.config.poll_interval).await;
            if let Err(e) = poll.reload_if_changed().await {
                tracing::warn!("catalog reload failed: {e}");
            }
        }
    });
    if let Some(every) = state.config.slo_refresh_interval {
        let slo = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let ttl = every.as_millis() as i64;
                match slo
                    .store
                    .try_lease("slo-budgets", &slo.config.instance, slo.now_ms(), ttl)
                    .await
                {
                    Ok(true) => match slo.refresh_slo_budgets().await {
                        Ok(s) => tracing::debug!("SLO budgets: {s:?}"),
                        Err(e) => tracing::warn!("SLO budget refresh failed: {}", e.message),
                    },
                    Ok(false) => tracing::debug!("another replica holds the SLO budget lease"),
                    Err(e) => tracing::warn!("lease check failed: {e}"),
                }
            }
        });
    }
    spawn_scoring(&state);
    adoption::spawn_snapshots(&state);
    if let Some(every) = state.config.refresh_interval {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let ttl = every.as_millis() as i64;
                match state
                    .store
                    .try_lease(
                        "catalog-refresh",
                        &state.config.instance,
                        state.now_ms(),
                        ttl,
                    )
                    .await
                {
                    Ok(true) => {
                        if let Err(e) = state.refresh_all().await {
                            tracing::warn!("periodic refresh failed: {}", e.message);
                        }
                    }
                    Ok(false) => tracing::debug!("another replica holds the refresh lease"),
                    Err(e) => tracing::warn!("lease check failed: {e}"),
                }
            }
        });
    }
}

/// Scorecards: the queued entities re-scored every poll interval (every replica: each queues
/// what it saw change), and a full pass every `scorecard_interval` (the first at start) by the
/// replica holding the `scorecards` lease.
fn spawn_scoring(state: &Arc<App>) {
    let pending = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(pending.config.poll_interval).await;
            if let Err(e) = pending.rescore_pending().await {
                tracing::warn!("scorecard re-score failed: {}", e.message);
            }
        }
    });
    let Some(every) = state.config.scorecard_interval else {
        return;
    };
    // Reminders: tried every interval by the replica holding the lease; each team's reminder
    // of the day is claimed in the store before it is sent, so a restart or a change of
    // holder does not send it again.
    let remind = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let ttl = every.as_millis() as i64;
            match remind
                .store
                .try_lease(
                    "campaign-reminders",
                    &remind.config.instance,
                    remind.now_ms(),
                    ttl,
                )
                .await
            {
                Ok(true) => match remind.send_campaign_reminders().await {
                    Ok(list) => tracing::info!("campaign reminders: {}", list.len()),
                    Err(e) => tracing::warn!("campaign reminders failed: {}", e.message),
                },
                Ok(false) => tracing::debug!("another replica sends the campaign reminders"),
                Err(e) => tracing::warn!("lease check failed: {e}"),
            }
        }
    });
    let full = state.clone();
    tokio::spawn(async move {
        loop {
            let ttl = every.as_millis() as i64;
            match full
                .store
                .try_lease("scorecards", &full.config.instance, full.now_ms(), ttl)
                .await
            {
                Ok(true) => match full.rescore_all().await {
                    Ok(s) => tracing::debug!("scorecards: {s:?}"),
                    Err(e) => tracing::warn!("scorecard pass failed: {}", e.message),
                },
                Ok(false) => tracing::debug!("another replica holds the scorecard lease"),
                Err(e) => tracing::warn!("lease check failed: {e}"),
            }
            tokio::time::sleep(every).await;
        }
    });
}
