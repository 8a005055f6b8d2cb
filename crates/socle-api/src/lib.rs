//! The HTTP API: axum routes over the in-memory read model (reads) and the store (writes),
//! bearer-token authentication with roles, an audit log of every mutation, OpenAPI and metrics.
//!
//! This crate translates HTTP to domain calls and back; it holds no catalog rules of its own.

pub mod audit;
pub mod auth;
pub mod cpu;
pub mod deploy_routes;
pub mod dora;
pub mod dora_routes;
pub mod error;
pub mod git_hosts;
mod metrics;
mod openapi;
pub mod paths;
mod policy_routes;
pub mod routes;
pub mod scaffold;
pub mod snapshot;
mod template_routes;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_search::SearchIndex;
use socle_store::Store;
use tokio::sync::Mutex;

pub use auth::{Caller, Principal};
pub use metrics::Metrics;
pub use snapshot::Snapshot;

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            auth_reads: false,
            cookie_secure: false,
            refresh_interval: Some(Duration::from_secs(300)),
            poll_interval: Duration::from_secs(2),
            instance: format!("socle-{}", std::process::id()),
            platform: socle_platform::default_config(),
            gitops_root: std::path::PathBuf::from(".socle"),
            provisioner_dir: std::path::PathBuf::from("."),
            guardrails: None,
            github_webhook_secret: None,
            gitlab_webhook_token: None,
            github_api: None,
            gitlab_api: None,
            rego: cpu::RegoRunner::InProcess,
        }
    }
}

struct Served {
    snapshot: Arc<Snapshot>,
    search: Arc<SearchIndex>,
}

/// Shared state of the server.
pub struct AppState {
    pub store: Store,
    pub config: ServerConfig,
    pub metrics: Metrics,
    served: RwLock<Served>,
    /// Serialises refreshes within this replica.
    refresh_lock: Mutex<()>,
    /// Serialises snapshot reloads.
    reload_lock: Mutex<()>,
    /// Slots for CPU-heavy work (Rego, reports, golden-path runs), so that the async workers
    /// stay free.
    pub cpu: cpu::CpuGate,
    /// Delivery events indexed for reports, with the store generation they were read at.
    pub(crate) dora: tokio::sync::Mutex<Option<(i64, Arc<socle_dora::Dataset>)>>,
    /// The server's directories, shown by name in responses (see [`paths`]).
    pub paths: Arc<paths::PublicPaths>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AppState {
    /// Loads the catalog from the store and returns ready-to-serve state.
    pub async fn new(store: Store, config: ServerConfig) -> Result<Arc<Self>, snapshot::LoadError> {
        let (snapshot, search, _) = snapshot::load(&store).await?;
        let metrics = Metrics::new();
        metrics.entities.set(snapshot.len() as i64);
        metrics.generation.set(snapshot.generation);
        Ok(Arc::new(Self {
            store,
            metrics,
            served: RwLock::new(Served {
                snapshot,
                search: Arc::new(search),
            }),
            refresh_lock: Mutex::new(()),
            reload_lock: Mutex::new(()),
            cpu: cpu::CpuGate::for_this_machine(),
            dora: tokio::sync::Mutex::new(None),
            paths: Arc::new(paths::PublicPaths::new([
                (config.gitops_root.clone(), "$DATA"),
                (config.provisioner_dir.clone(), "$PLATFORM"),
                (std::path::PathBuf::from("."), "$WORKDIR"),
            ])),
            config,
        }))
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.served.read().expect("lock").snapshot.clone()
    }

    pub fn search(&self) -> Arc<SearchIndex> {
        self.served.read().expect("lock").search.clone()
    }

    /// Reloads the read model if the store changed since it was built.
    pub async fn reload_if_changed(&self) -> Result<bool, snapshot::LoadError> {
        let _guard = self.reload_lock.lock().await;
        let current = self.snapshot().generation;
        if self.store.catalog_generation().await? == current {
            return Ok(false);
        }
        let (snapshot, search, generation) = snapshot::load(&self.store).await?;
        self.metrics.entities.set(snapshot.len() as i64);
        self.metrics.generation.set(generation);
        *self.served.write().expect("lock") = Served {
            snapshot,
            search: Arc::new(search),
        };
        tracing::info!(generation, "catalog reloaded");
        Ok(true)
    }

    /// Re-reads one location into the store and reloads the read model.
    pub async fn refresh(
        &self,
        spec: &LocationSpec,
    ) -> Result<socle_store::ApplyOutcome, error::ApiError> {
        let out = self.refresh_store(spec).await?;
        self.reload_if_changed()
            .await
            .map_err(error::ApiError::internal)?;
        Ok(out)
    }

    /// Re-reads one location into the store only.
    async fn refresh_store(
        &self,
        spec: &LocationSpec,
    ) -> Result<socle_store::ApplyOutcome, error::ApiError> {
        let _guard = self.refresh_lock.lock().await;
        let started = Instant::now();
        let out =
            socle_ingest::refresh_location(&self.store, spec, &self.config.limits, now_ms(), None)
                .await?;
        self.metrics
            .refresh_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .refreshes
            .get_or_create(&metrics::OutcomeLabels {
                outcome: out.status.clone(),
            })
            .inc();
        Ok(out)
    }

    /// Re-reads every registered location, then reloads the read model once.
    pub async fn refresh_all(
        &self,
    ) -> Result<Vec<(String, socle_store::ApplyOutcome)>, error::ApiError> {
        let mut out = Vec::new();
        for loc in self.store.list_locations().await? {
            let spec: LocationSpec = match serde_json::from_value(loc.spec.clone()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(location = %loc.key, "unreadable location spec: {e}");
                    continue;
                }
            };
            out.push((loc.key.clone(), self.refresh_store(&spec).await?));
        }
        self.reload_if_changed()
            .await
            .map_err(error::ApiError::internal)?;
        Ok(out)
    }
}

async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // A closed set of label values: a made-up method must not add a series per request.
    let method = match *req.method() {
        axum::http::Method::GET
        | axum::http::Method::HEAD
        | axum::http::Method::POST
        | axum::http::Method::PUT
        | axum::http::Method::PATCH
        | axum::http::Method::DELETE
        | axum::http::Method::OPTIONS => req.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&metrics::RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&metrics::RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    router_with(state, Router::new())
}

/// The API's routes merged with `extra` (the portal's pages), under the same middleware:
/// metrics, tracing, body limit, panic catching.
pub fn router_with(state: Arc<AppState>, extra: Router<Arc<AppState>>) -> Router {
    routes::routes()
        .merge(extra)
        .layer(middleware::map_response_with_state(
            state.paths.clone(),
            paths::hide_paths,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        // Internal errors log themselves with an id (`ApiError::internal`); a shed request (503)
        // is not an error worth a log line each — under a flood those lines cost the most.
        .layer(tower_http::trace::TraceLayer::new_for_http().on_failure(()))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(error::ApiError::internal(
                "handler panicked",
            ))
        }))
        .with_state(state)
}

/// Starts the background work: store polling (all replicas) and periodic refresh (one replica
/// at a time, through a lease in the store).
pub fn spawn_background(state: Arc<AppState>) {
    let poll = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(poll.config.poll_interval).await;
            if let Err(e) = poll.reload_if_changed().await {
                tracing::warn!("catalog reload failed: {e}");
            }
        }
    });
    if let Some(every) = state.config.refresh_interval {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let ttl = every.as_millis() as i64;
                match state
                    .store
                    .try_lease("catalog-refresh", &state.config.instance, now_ms(), ttl)
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

/// Binds and serves until the future `shutdown` resolves.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state, Router::new(), listener, shutdown).await
}

/// [`serve`] with extra routes (the portal).
pub async fn serve_with(
    state: Arc<AppState>,
    extra: Router<Arc<AppState>>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router_with(state, extra);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
