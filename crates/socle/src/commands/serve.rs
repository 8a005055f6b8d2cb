//! `socle serve`: the API and the portal over the store.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_store::{Role, Store};

use super::now_ms;
use super::setup::{AppSetup, GitHostArgs, LimitArgs, StoreArgs, open_app};
use crate::output::Outcome;

#[derive(Args)]
pub struct ServeArgs {
    /// A configuration file (`socle.yaml`): the flags of `socle serve` and the global ones by
    /// name, e.g. `listen: 0.0.0.0:7007`. A flag wins over its environment variable
    /// (`SOCLE_<FLAG>`), which wins over the file. `SOCLE_CONFIG` also gives the CLI's other
    /// commands the file's store settings.
    #[arg(long, env = "SOCLE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Address to listen on (loopback by default).
    #[arg(long, env = "SOCLE_LISTEN", default_value = "127.0.0.1:7007")]
    listen: String,
    /// Load the embedded demo organisation.
    #[arg(long)]
    demo: bool,
    /// Export traces (a span per HTTP request) over OTLP/HTTP protobuf to this URL, e.g.
    /// `http://otel-collector:4318/v1/traces` (https:// trusts the system's roots and
    /// --ca-file). Batching follows the OTEL_BSP_* variables.
    #[arg(long, env = "SOCLE_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Seconds between re-reads of every location (0: never).
    #[arg(long, default_value_t = 300)]
    refresh_interval: u64,
    /// Require a token for reads too (in the portal: a signed-in session). The default when
    /// listening on anything but loopback.
    #[arg(long)]
    auth_reads: bool,
    /// Serve reads (catalog, reports, /metrics) without a token on a non-loopback address.
    #[arg(long, conflicts_with = "auth_reads")]
    public_reads: bool,
    /// Mark the portal's session cookie `Secure` (Socle is served over HTTPS by a proxy that
    /// does not send `X-Forwarded-Proto`).
    #[arg(long)]
    cookie_secure: bool,
    /// Platform configuration directory (default: the shipped configuration).
    #[arg(long)]
    platform: Option<PathBuf>,
    /// Guardrails enforced at deploy: `builtin`, `platform` (the built-in pack plus the `policies/` of
    /// --platform), a policy directory, or `none`.
    #[arg(long, default_value = "builtin")]
    guardrails: String,
    /// Secret of the GitHub webhook (`POST /api/v1/dora/webhooks/github`).
    #[arg(long, env = "SOCLE_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    github_webhook_secret: Option<String>,
    /// Token of the GitLab webhook (`POST /api/v1/dora/webhooks/gitlab`).
    #[arg(long, env = "SOCLE_GITLAB_WEBHOOK_TOKEN", hide_env_values = true)]
    gitlab_webhook_token: Option<String>,
    #[command(flatten)]
    git_hosts: GitHostArgs,
    #[command(flatten)]
    oidc: super::oidc_args::OidcArgs,
    /// Survey results of a group (a team, the organisation) are shown from this many
    /// respondents on, unless a survey sets its own threshold (never below 3).
    #[arg(long, env = "SOCLE_SURVEY_THRESHOLD", default_value_t = socle_survey::DEFAULT_THRESHOLD,
        value_parser = clap::value_parser!(u32).range(i64::from(socle_survey::MIN_THRESHOLD)..))]
    survey_threshold: u32,
    /// Sync users and groups from LDAP / Active Directory on a schedule (one replica at a
    /// time): an org sync configuration file (see `socle org sync --help`).
    #[arg(long, env = "SOCLE_ORG_SYNC")]
    org_sync: Option<PathBuf>,
}

/// How long a replica waits for another's start-up work (the demo takes seconds).
const STARTUP_WAIT: Duration = Duration::from_secs(600);

pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.config {
        tracing::info!(config = %path.display(), "settings from a configuration file");
    }
    // A mistyped address is said before anything is created (a store, a bootstrap token).
    let _ = tokio::net::lookup_host(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // Single sign-on settings are checked before anything is created, too.
    let oidc = args.oidc.oidc(args.git_hosts.net.tls()?)?;
    let org_sync = match &args.org_sync {
        Some(path) => {
            super::must_exist(path)?;
            Some(socle_app::org_sync::OrgSyncConfig::load(path)?)
        }
        None => None,
    };
    let store = args.store.open().await?;
    let limits = args.limits.limits();
    // The first start's work (bootstrap token, demo) on one replica at a time: others wait,
    // then find it done.
    let instance = socle_app::instance_name();
    let lease = socle_app::startup::StartupLease::acquire(&store, &instance, STARTUP_WAIT).await?;
    if args.demo {
        load_demo(&store, &args.store.data_dir, &limits).await?;
    }
    bootstrap_token(&store).await?;
    let base = AppSetup {
        store: &args.store,
        platform: args.platform.as_ref(),
        guardrails: &args.guardrails,
        limits,
    }
    .config()?;
    let (github_api, gitlab_api) = args.git_hosts.apis()?;
    let config = socle_api::ServerConfig {
        github_api,
        gitlab_api,
        remotes: args.git_hosts.net.remotes(&args.store.data_dir)?,
        tls: args.git_hosts.net.tls()?,
        oidc,
        org_sync: org_sync.clone(),
        github_webhook_secret: args.github_webhook_secret.clone(),
        gitlab_webhook_token: args.gitlab_webhook_token.clone(),
        auth_reads: reads_need_auth(&args.listen, args.auth_reads, args.public_reads),
        cookie_secure: args.cookie_secure,
        refresh_interval: (args.refresh_interval > 0)
            .then(|| Duration::from_secs(args.refresh_interval)),
        rego: socle_app::cpu::RegoRunner::this_executable().unwrap_or_default(),
        survey_threshold: args.survey_threshold,
        instance,
        ..base
    };
    let state = open_app(store, config).await?;
    if args.demo {
        load_demo_history(&state).await?;
        play_demo_loop(&state).await?;
    }
    lease.release().await?;
    socle_api::spawn_background(state.clone());
    if let Some(config) = org_sync {
        let roots = args.git_hosts.net.tls()?;
        socle_app::org_sync::spawn_org_sync(state.clone(), config, roots);
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let snap = state.snapshot();
    eprintln!(
        "Socle is serving {} entities on http://{addr} (API: http://{addr}/api/v1/entities, OpenAPI: http://{addr}/api/openapi.json)",
        snap.len()
    );
    drop(snap);
    socle_api::serve_with(state, socle_portal::routes(), listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    super::exit(false)
}

/// The embedded demo organisation, written under the data directory and ingested.
async fn load_demo(
    store: &Store,
    data_dir: &std::path::Path,
    limits: &Limits,
) -> anyhow::Result<()> {
    let dir = data_dir.join("demo");
    let root = socle_demo::extract(&dir)
        .with_context(|| format!("cannot write the demo organisation to {}", dir.display()))?;
    let root = root.canonicalize()?;
    let spec = LocationSpec::file(root.to_string_lossy().into_owned());
    let out = super::catalog::ingest(
        store,
        &spec,
        limits,
        false,
        &socle_app::ingest::Remotes::none(),
    )
    .await?;
    tracing::info!(
        added = out.added,
        updated = out.updated,
        errors = out.errors.len(),
        "demo organisation loaded"
    );
    Ok(())
}

/// A delivery history for the demo's services (90 days to today, midnight UTC, so that restarts
/// on the same day change nothing): the DORA reports have something to show.
async fn load_demo_history(state: &socle_api::AppState) -> anyhow::Result<()> {
    let snap = state.snapshot();
    // One cadence per owning team, so that team reports differ.
    let mut owners: Vec<socle_app::snapshot::EntityId> =
        snap.entities.iter().filter_map(|e| e.owner).collect();
    owners.sort_unstable();
    owners.dedup();
    let today = now_ms() - now_ms().rem_euclid(86_400_000);
    // Teams that adopted Socle during the demo's history deliver faster from that day on.
    let plan = socle_app::demo::adoption_plan(&snap, today);
    let services: Vec<socle_demo::DemoService> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .filter_map(|e| {
            let name = e.entity_ref.rsplit('/').next()?.to_owned();
            let tier = e
                .owner
                .and_then(|o| owners.binary_search(&o).ok())
                .unwrap_or(0);
            let team = e.owner.map(|o| snap.name(o));
            let adopted = plan.iter().find(|a| Some(a.team.as_str()) == team);
            Some(socle_demo::DemoService {
                created_at: adopted.filter(|a| a.service == name).map(|a| a.at),
                faster_from: adopted.map(|a| a.at),
                name,
                tier,
            })
        })
        .collect();
    let socle_dora::Parsed { events, errors, .. } =
        socle_dora::parse_jsonl(&socle_demo::dora_history_of(&services, today, 90), "demo");
    anyhow::ensure!(
        errors.is_empty(),
        "demo delivery history: {:?}",
        errors.first()
    );
    let written = state.store.dora_upsert(events).await?;
    tracing::info!(
        events = written.received,
        changed = written.changed,
        "demo delivery history loaded"
    );
    Ok(())
}

/// The delivery loop through Socle itself for a few demo services (first start only).
async fn play_demo_loop(state: &socle_app::App) -> anyhow::Result<()> {
    let snap = state.snapshot();
    let services: Vec<String> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component" && e.spec_type.as_deref() == Some("service"))
        .filter_map(|e| e.entity_ref.rsplit('/').next().map(str::to_owned))
        .collect();
    drop(snap);
    let done = socle_app::demo::play_loop(state, &services)
        .await
        .map_err(|e| anyhow::anyhow!("demo deployments: {}", e.message))?;
    tracing::info!(?done, "demo deployments played");
    let today = now_ms() - now_ms().rem_euclid(86_400_000);
    let plan = socle_app::demo::adoption_plan(&state.snapshot(), today);
    let adopted = socle_app::demo::record_adoption(state, &plan)
        .await
        .map_err(|e| anyhow::anyhow!("demo adoption: {}", e.message))?;
    tracing::info!(adopted, "demo golden-path adoption recorded");
    Ok(())
}

/// The first start creates an admin token and shows it once.
async fn bootstrap_token(store: &Store) -> anyhow::Result<()> {
    if store.token_count().await? > 0 {
        return Ok(());
    }
    let (rec, secret) = store
        .create_token(
            "bootstrap-admin",
            "serviceaccount:bootstrap-admin",
            Role::Admin,
            now_ms(),
        )
        .await?;
    socle_app::audit::record_to(
        store,
        now_ms(),
        "system",
        socle_app::AuditAction::TokenCreate,
        &rec.id,
        socle_app::AuditOutcome::Ok,
        "bootstrap admin token",
    )
    .await?;
    eprintln!(
        "\nA bootstrap admin token was created. It is shown only this once; keep it safe:\n\n    {secret}\n\nUse it as `Authorization: Bearer <token>`; create more with `socle token create`.\n"
    );
    Ok(())
}

/// Reads are open only on loopback (or with `--public-reads`): on any other address a catalog,
/// its owners and delivery figures are the organisation's business.
fn reads_need_auth(listen: &str, auth_reads: bool, public_reads: bool) -> bool {
    if auth_reads {
        return true;
    }
    let loopback = listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| listen.starts_with("localhost:"));
    if !loopback && !public_reads {
        eprintln!(
            "Reads need a token on {listen} (not loopback); --public-reads opens them to anyone who can reach it."
        );
    }
    !loopback && !public_reads
}

impl ServeArgs {
    /// Where traces go (`--otlp-endpoint`) and the roots an https:// collector is checked against.
    pub fn otlp(&self) -> anyhow::Result<Option<(String, socle_app::net::TlsRoots)>> {
        match &self.otlp_endpoint {
            None => Ok(None),
            Some(url) => {
                socle_app::net::Endpoint::of(url)
                    .map_err(|e| anyhow::anyhow!("--otlp-endpoint {url}: {e}"))?;
                Ok(Some((url.clone(), self.git_hosts.net.tls()?)))
            }
        }
    }
}

#[cfg(test)]
impl ServeArgs {
    /// The address to listen on, as parsed (the configuration file's tests).
    pub fn listen_for_tests(&self) -> &str {
        &self.listen
    }
}
