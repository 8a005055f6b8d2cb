//! Command-line interface.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use socle_catalog::Limits;
use socle_ingest::{LocationKind, LocationSpec, ProgressEvent};
use socle_store::{EntityFilter, Role, Store, StoreConfig};

use crate::output::{self, Format};

#[derive(Parser)]
#[command(
    name = "socle",
    version,
    about = "Socle: an Internal Developer Platform in one binary",
    propagate_version = true
)]
struct Cli {
    /// Log filter (tracing syntax), e.g. `info` or `socle_api=debug`.
    #[arg(long, global = true, env = "SOCLE_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where the store is: shared by the server and every CLI command.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data directory (SQLite database, demo files).
    #[arg(long, env = "SOCLE_DATA_DIR", default_value = ".socle")]
    pub data_dir: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL (default: SQLite in the data directory).
    #[arg(long, env = "SOCLE_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub async fn open(&self) -> anyhow::Result<Store> {
        let mut config = StoreConfig::new(&self.data_dir, self.database_url.clone());
        // The key sealing secrets at rest: SOCLE_SECRET_KEY (shared by replicas), else a key file
        // created in the data directory.
        config.secret_key = Some(match std::env::var("SOCLE_SECRET_KEY") {
            Ok(k) => socle_store::SecretKey::from_base64(&k).context("SOCLE_SECRET_KEY")?,
            Err(_) => socle_store::SecretKey::load_or_create(&self.data_dir.join("secret.key"))?,
        });
        Store::open(&config)
            .await
            .with_context(|| match &self.database_url {
                Some(_) => "cannot open the database given by --database-url".to_owned(),
                None => format!("cannot open the store in {}", self.data_dir.display()),
            })
    }
}

/// Input bounds for catalog files.
#[derive(Args, Clone, Debug)]
pub struct LimitArgs {
    /// Largest catalog file read, in bytes.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_bytes: usize,
    /// Deepest YAML nesting accepted.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    max_depth: usize,
    /// Most YAML nodes in one file.
    #[arg(long, default_value_t = Limits::default().max_nodes)]
    max_nodes: usize,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.max_file_bytes,
            max_depth: self.max_depth,
            max_nodes: self.max_nodes,
            ..Limits::default()
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the platform: API (and, later, portal) over the store.
    Serve(ServeArgs),
    /// Work with the software catalog.
    Catalog {
        #[command(subcommand)]
        cmd: CatalogCmd,
    },
    /// Work with Score workloads (score.dev/v1b1).
    Workload {
        #[command(subcommand)]
        cmd: WorkloadCmd,
    },
    /// Deploy a Score workload to an environment (GitOps commit), roll back or promote.
    Deploy(DeployArgs),
    /// Recorded deployments.
    Deployments {
        #[command(subcommand)]
        cmd: DeploymentsCmd,
    },
    /// Guardrails: evaluate Rego policies (conftest conventions) or run their tests.
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// Provisioned resources (per environment).
    Resources {
        #[command(subcommand)]
        cmd: ResourcesCmd,
    },
    /// Manage API tokens (directly in the store).
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Golden paths: software templates that create ready-to-deploy services.
    Template {
        #[command(subcommand)]
        cmd: crate::template_cli::TemplateCmd,
    },
    /// Create things from golden paths.
    Create {
        #[command(subcommand)]
        cmd: CreateCmd,
    },
    /// Delivery metrics: DORA's four keys from deployments, changes and incidents.
    Dora {
        #[command(subcommand)]
        cmd: crate::dora_cli::DoraCmd,
    },
}

/// Where `publish:github` and `publish:gitlab` create repositories.
#[derive(Args, Clone)]
pub struct GitHostArgs {
    /// GitHub's REST API (http:// only in this build: a local mirror or proxy).
    #[arg(
        long,
        env = "SOCLE_GITHUB_API_URL",
        default_value = "https://api.github.com"
    )]
    github_api_url: String,
    /// Token for publish:github.
    #[arg(long, env = "SOCLE_GITHUB_TOKEN", hide_env_values = true)]
    github_token: Option<String>,
    /// GitLab's REST API (v4).
    #[arg(
        long,
        env = "SOCLE_GITLAB_API_URL",
        default_value = "https://gitlab.com/api/v4"
    )]
    gitlab_api_url: String,
    /// Token for publish:gitlab.
    #[arg(long, env = "SOCLE_GITLAB_TOKEN", hide_env_values = true)]
    gitlab_token: Option<String>,
}

impl GitHostArgs {
    pub fn apis(
        &self,
    ) -> (
        Option<socle_api::git_hosts::HostApi>,
        Option<socle_api::git_hosts::HostApi>,
    ) {
        let api = |base: &str, token: &Option<String>| {
            token.clone().map(|token| socle_api::git_hosts::HostApi {
                base: base.to_owned(),
                token,
            })
        };
        (
            api(&self.github_api_url, &self.github_token),
            api(&self.gitlab_api_url, &self.gitlab_token),
        )
    }
}

#[derive(Args)]
struct ServeArgs {
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
}

#[derive(Subcommand)]
enum CreateCmd {
    /// A new service from the default golden path (Rust, axum): `socle create service orders-api`.
    Service(crate::template_cli::CreateServiceArgs),
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Parse, validate and relate catalog files offline (no store). Exit 1 if anything is invalid.
    Validate {
        /// Files, directories (every catalog-info.yaml below) or globs.
        #[arg(required = true)]
        paths: Vec<String>,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Register a location (if new) and read it into the store.
    Ingest {
        /// A file, directory or glob; with --git, a repository path or file:// URL.
        target: String,
        /// The target is a Git repository.
        #[arg(long)]
        git: bool,
        /// Git branch (default: HEAD).
        #[arg(long, requires = "git")]
        branch: Option<String>,
        /// File, directory or glob inside the repository.
        #[arg(long, requires = "git")]
        path: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Re-read every registered location.
    Refresh {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Show one entity with its relations: `component:default/payments` (kind required).
    Get {
        entity_ref: String,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List entities.
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        namespace: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Full-text search with filters.
    Search {
        query: Option<String>,
        #[arg(long)]
        kind: Vec<String>,
        #[arg(long)]
        owner: Vec<String>,
        #[arg(long = "type")]
        spec_type: Vec<String>,
        #[arg(long)]
        tag: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Registered locations and their status.
    Locations {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum WorkloadCmd {
    /// Resolve resources and render deployment files for an environment, without committing.
    Generate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The environment (from the platform configuration).
        #[arg(long, default_value = "local")]
        env: String,
        /// Where to write the files.
        #[arg(long, short = 'd', default_value = "deploy")]
        output_dir: PathBuf,
        /// Platform configuration directory (default: the shipped configuration).
        #[arg(long)]
        platform: Option<PathBuf>,
        /// Compose: publish a port, HOST_PORT:WORKLOAD:CONTAINER_PORT.
        #[arg(long)]
        publish: Vec<String>,
        /// Override a property of every workload before validation: PATH=VALUE
        /// (e.g. containers.web.variables.DEBUG=true; an empty value removes it).
        #[arg(long = "override-property", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Compose project name (default: the output directory's name).
        #[arg(long)]
        project: Option<String>,
        /// Seed for generated credentials (default: random). The same seed, inputs and stored
        /// state give the same files.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        limits: LimitArgs,
        /// Where provisioned resources' state is kept, so that names and credentials stay stable.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Parse and validate Score files offline (schema, placeholders, resource graph). Exit 1 on errors.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

#[derive(Args)]
struct DeployArgs {
    /// The workload's score.yaml.
    #[arg(required_unless_present_any = ["rollback", "promote"])]
    file: Option<PathBuf>,
    /// Target environment.
    #[arg(long, required_unless_present = "promote")]
    env: Option<String>,
    /// Image for containers whose image is `.` (or for the only container).
    #[arg(long)]
    image: Option<String>,
    /// Version label (default: the image tag).
    #[arg(long = "app-version", value_name = "VERSION")]
    app_version: Option<String>,
    /// The commit of the service's repository being deployed (recorded for delivery metrics).
    #[arg(long)]
    source_commit: Option<String>,
    /// Guardrails to enforce: `builtin` (Socle's pack), `platform` (the pack plus the `policies/` of
    /// --platform), a policy directory, or `none`.
    #[arg(long, default_value = "builtin")]
    guardrails: String,
    /// Re-deploy the previous successful deployment of this service in --env.
    #[arg(long, value_name = "SERVICE", conflicts_with_all = ["file", "promote"])]
    rollback: Option<String>,
    /// Deploy to --to what was last deployed to --from.
    #[arg(long, value_name = "SERVICE", requires_all = ["from", "to"], conflicts_with = "file")]
    promote: Option<String>,
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// Platform configuration directory (default: the shipped configuration).
    #[arg(long)]
    platform: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Subcommand)]
enum DeploymentsCmd {
    /// List deployments, newest first.
    List {
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Evaluate policies on YAML/JSON files (every document). Exit 1 if any deny/violation fires.
    Eval {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Policy directory (`*.rego` and data files); default: the built-in pack.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// The package holding the rules.
        #[arg(long, default_value = "main")]
        namespace: String,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run the policies' own Rego tests (`test_*` rules), like `conftest verify`.
    Test {
        /// Policy directory; default: the built-in pack.
        dir: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Grant an exception: a rule does not block an entity's deploys until the expiry date.
    Waive {
        #[arg(long)]
        rule: String,
        /// `component:default/shop` (or the workload name).
        #[arg(long)]
        entity: String,
        /// Only in this environment (default: all).
        #[arg(long)]
        env: Option<String>,
        #[arg(long)]
        reason: String,
        /// Who answers for it, e.g. group:default/team-a.
        #[arg(long)]
        owner: String,
        /// Expiry date, YYYY-MM-DD (UTC, end of day).
        #[arg(long)]
        expires: String,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List waivers.
    Waivers {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Guardrail evaluations recorded at deploy for an entity, newest first.
    Results {
        entity: String,
        #[arg(long)]
        env: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Subcommand)]
enum ResourcesCmd {
    /// List provisioned resources.
    List {
        #[arg(long)]
        env: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Show a resource's outputs (secret outputs masked unless --show-secrets).
    Outputs {
        uid: String,
        #[arg(long)]
        env: String,
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create a token; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// `user:default/jane` or `serviceaccount:<name>`.
        #[arg(long)]
        subject: String,
        #[arg(long, value_parser = ["admin", "member", "viewer"], default_value = "member")]
        role: String,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Revoke a token by id.
    Revoke {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if !matches!(cli.cmd, Cmd::Serve(_)) {
        // `socle … | head` ends quietly, as Unix tools do, instead of panicking on a closed pipe.
        // Not for the long-running server, whose sockets must never kill the process.
        // SAFETY: restores the default disposition of one signal before any thread exists.
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Serve(args) => serve(args).await,
            Cmd::Catalog { cmd } => catalog(cmd).await,
            Cmd::Workload { cmd } => workload(cmd).await,
            Cmd::Resources { cmd } => resources(cmd).await,
            Cmd::Policy { cmd } => policy(cmd).await,
            Cmd::Deploy(args) => deploy(args).await,
            Cmd::Deployments { cmd } => deployments(cmd).await,
            Cmd::Token { cmd } => token(cmd).await,
            Cmd::Dora { cmd } => crate::dora_cli::run(cmd).await,
            Cmd::Template { cmd } => crate::template_cli::run(cmd).await,
            Cmd::Create {
                cmd: CreateCmd::Service(args),
            } => crate::template_cli::create_service(args).await,
        }
    })
}

pub fn now_ms() -> i64 {
    socle_api::now_ms()
}

fn fmt_time(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) => time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| ms.to_string()),
    }
}

fn progress_bar(label: &str) -> (ProgressBar, socle_ingest::Progress) {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} files ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    let b = bar.clone();
    let progress: socle_ingest::Progress = Arc::new(move |ev| match ev {
        ProgressEvent::Discovered(n) => b.inc_length(n),
        ProgressEvent::Read(n) => b.inc(n),
    });
    (bar, progress)
}

pub(crate) fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// Registers `spec` if new and reads it into the store.
pub async fn ingest(
    store: &Store,
    spec: &LocationSpec,
    limits: &Limits,
    show_progress: bool,
) -> anyhow::Result<socle_store::ApplyOutcome> {
    let key = spec.key();
    if store.get_location(&key).await?.is_none() {
        store
            .add_location(
                &key,
                &serde_json::to_value(spec)?,
                &cli_actor(),
                socle_store::LocationTrust::Organisation,
                now_ms(),
            )
            .await?;
    }
    let (bar, progress) = if show_progress {
        let (b, p) = progress_bar(&format!("reading {}", spec.target));
        (Some(b), Some(p))
    } else {
        (None, None)
    };
    let out = socle_ingest::refresh_location(store, spec, limits, now_ms(), progress).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    store
        .audit(
            &cli_actor(),
            "location.refresh",
            &key,
            &out.status,
            "",
            now_ms(),
        )
        .await?;
    Ok(out)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = args.store.open().await?;
    let limits = args.limits.limits();
    if args.demo {
        let dir = args.store.data_dir.join("demo");
        let root = socle_demo::extract(&dir)
            .with_context(|| format!("cannot write the demo organisation to {}", dir.display()))?;
        let root = root.canonicalize()?;
        let spec = LocationSpec::file(root.to_string_lossy().into_owned());
        let out = ingest(&store, &spec, &limits, false).await?;
        tracing::info!(
            added = out.added,
            updated = out.updated,
            errors = out.errors.len(),
            "demo organisation loaded"
        );
    }
    if store.token_count().await? == 0 {
        let (rec, secret) = store
            .create_token(
                "bootstrap-admin",
                "serviceaccount:bootstrap-admin",
                Role::Admin,
                now_ms(),
            )
            .await?;
        store
            .audit(
                "system",
                "token.create",
                &rec.id,
                "ok",
                "bootstrap admin token",
                now_ms(),
            )
            .await?;
        eprintln!(
            "\nA bootstrap admin token was created. It is shown only this once; keep it safe:\n\n    {secret}\n\nUse it as `Authorization: Bearer <token>`; create more with `socle token create`.\n"
        );
    }
    let platform = read_platform(args.platform.as_ref(), &limits)?;
    let guardrails = load_guardrails(&args.guardrails, args.platform.as_deref())?;
    let config = socle_api::ServerConfig {
        guardrails,
        github_api: args.git_hosts.apis().0,
        gitlab_api: args.git_hosts.apis().1,
        github_webhook_secret: args.github_webhook_secret.clone(),
        gitlab_webhook_token: args.gitlab_webhook_token.clone(),
        platform,
        provisioner_dir: args.platform.clone().unwrap_or_else(|| PathBuf::from(".")),
        gitops_root: args.store.data_dir.clone(),
        limits,
        auth_reads: reads_need_auth(&args.listen, args.auth_reads, args.public_reads),
        cookie_secure: args.cookie_secure,
        refresh_interval: (args.refresh_interval > 0)
            .then(|| Duration::from_secs(args.refresh_interval)),
        rego: socle_api::cpu::RegoRunner::this_executable().unwrap_or_default(),
        ..Default::default()
    };
    let state = socle_api::AppState::new(store, config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot load the catalog: {e}"))?;
    if args.demo {
        // A delivery history for the demo's services (90 days to today, midnight UTC, so that
        // restarts on the same day change nothing): the DORA reports have something to show.
        let snap = state.snapshot();
        // One cadence per owning team, so that team reports differ.
        let mut owners: Vec<u32> = snap.entities.iter().filter_map(|e| e.owner).collect();
        owners.sort_unstable();
        owners.dedup();
        let services: Vec<(String, usize)> = snap
            .entities
            .iter()
            .filter(|e| e.kind() == "component")
            .filter_map(|e| {
                let name = e.entity_ref.rsplit('/').next()?.to_owned();
                let tier = e
                    .owner
                    .and_then(|o| owners.binary_search(&o).ok())
                    .unwrap_or(0);
                Some((name, tier))
            })
            .collect();
        let today = now_ms() - now_ms().rem_euclid(86_400_000);
        let (events, errors) =
            socle_dora::parse_jsonl(&socle_demo::dora_history(&services, today, 90), "demo");
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
    }
    socle_api::spawn_background(state.clone());
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
    Ok(ExitCode::SUCCESS)
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

fn print_errors(errors: &[socle_catalog::EntityError]) {
    for e in errors {
        eprintln!("{e}");
    }
}

async fn catalog(cmd: CatalogCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CatalogCmd::Validate {
            paths,
            output,
            limits,
        } => {
            let specs: Vec<LocationSpec> = paths.iter().map(LocationSpec::file).collect();
            let limits = limits.limits();
            let report =
                tokio::task::spawn_blocking(move || socle_ingest::validate(&specs, &limits))
                    .await?;
            let failed = !report.errors.is_empty();
            match output {
                Format::Table => {
                    print_errors(&report.errors);
                    let rels: usize = report.entities.iter().map(|e| e.relations.len()).sum();
                    println!(
                        "{} entities valid, {} relations ({} dangling), {} errors",
                        report.entities.len(),
                        rels,
                        report.dangling.len(),
                        report.errors.len()
                    );
                    for d in &report.dangling {
                        println!("dangling: {d}");
                    }
                }
                f => output::print(f, &report, |_| String::new())?,
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        CatalogCmd::Ingest {
            target,
            git,
            branch,
            path,
            store,
            limits,
            output,
        } => {
            let spec = if git {
                LocationSpec {
                    kind: LocationKind::Git,
                    target,
                    branch,
                    path,
                }
            } else {
                let abs = std::path::Path::new(&target);
                let target = if abs.exists() {
                    abs.canonicalize()?.to_string_lossy().into_owned()
                } else {
                    target
                };
                LocationSpec::file(target)
            };
            let store = store.open().await?;
            let out = ingest(&store, &spec, &limits.limits(), output == Format::Table).await?;
            let failed = out.status != "ok";
            match output {
                Format::Table => {
                    print_errors(&out.errors);
                    println!(
                        "{}: {} added, {} updated, {} unchanged, {} removed, {} kept from before, {} errors",
                        spec.key(),
                        out.added,
                        out.updated,
                        out.unchanged,
                        out.removed,
                        out.kept,
                        out.errors.len()
                    );
                }
                f => output::print(f, &out, |_| String::new())?,
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        CatalogCmd::Refresh {
            store,
            limits,
            output,
        } => {
            let store = store.open().await?;
            let mut results = serde_json::Map::new();
            let mut failed = false;
            for loc in store.list_locations().await? {
                let spec: LocationSpec = serde_json::from_value(loc.spec.clone())
                    .with_context(|| format!("location {} has an unreadable spec", loc.key))?;
                let out = ingest(&store, &spec, &limits.limits(), output == Format::Table).await?;
                failed |= out.status != "ok";
                if output == Format::Table {
                    print_errors(&out.errors);
                    println!(
                        "{}: {} added, {} updated, {} removed, {} errors",
                        loc.key,
                        out.added,
                        out.updated,
                        out.removed,
                        out.errors.len()
                    );
                }
                results.insert(loc.key, serde_json::to_value(out)?);
            }
            if output != Format::Table {
                output::print(output, &results, |_| String::new())?;
            }
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        CatalogCmd::Get {
            entity_ref,
            store,
            output,
        } => {
            let r = socle_catalog::EntityRef::parse_full(&entity_ref)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = store.open().await?;
            let Some(e) = store.get_entity(&r.to_string()).await? else {
                eprintln!("error: no entity {r}");
                return Ok(ExitCode::FAILURE);
            };
            let relations = store.relations_of(&e.entity_ref).await?;
            let mut body: serde_json::Value = serde_json::from_str(&e.body)?;
            body["relations"] = serde_json::to_value(
                relations
                    .iter()
                    .map(|r| serde_json::json!({"type": r.kind, "targetRef": r.target}))
                    .collect::<Vec<_>>(),
            )?;
            output::print(output, &body, |_| {
                let mut s = format!("{}\n", e.entity_ref);
                for k in ["title", "description"] {
                    if let Some(v) = body["metadata"][k].as_str() {
                        s.push_str(&format!("  {k}: {v}\n"));
                    }
                }
                if let Some(spec) = body["spec"].as_object() {
                    for (k, v) in spec {
                        if let Some(v) = v.as_str().filter(|v| v.len() < 100) {
                            s.push_str(&format!("  spec.{k}: {v}\n"));
                        }
                    }
                }
                s.push_str(&format!("  location: {}\n", e.location_key));
                s.push_str("relations:\n");
                let rows: Vec<Vec<String>> = relations
                    .iter()
                    .map(|r| vec![r.kind.clone(), r.target.clone()])
                    .collect();
                s.push_str(&output::table(&["TYPE", "TARGET"], &rows));
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::List {
            kind,
            namespace,
            limit,
            store,
            output,
        } => {
            let store = store.open().await?;
            let list = store
                .list_entities(&EntityFilter {
                    kind,
                    namespace,
                    limit,
                    ..Default::default()
                })
                .await?;
            let values: Vec<serde_json::Value> = list
                .iter()
                .map(|e| serde_json::from_str(&e.body))
                .collect::<Result<_, _>>()?;
            output::print(output, &values, |_| {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .zip(&values)
                    .map(|(e, v)| {
                        vec![
                            e.entity_ref.clone(),
                            v["spec"]["owner"].as_str().unwrap_or("-").to_owned(),
                            v["spec"]["type"].as_str().unwrap_or("-").to_owned(),
                            v["metadata"]["description"]
                                .as_str()
                                .unwrap_or("")
                                .chars()
                                .take(60)
                                .collect(),
                        ]
                    })
                    .collect();
                output::table(&["REF", "OWNER", "TYPE", "DESCRIPTION"], &rows)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::Search {
            query,
            kind,
            owner,
            spec_type,
            tag,
            limit,
            store,
            output,
        } => {
            let store = store.open().await?;
            let state = socle_api::AppState::new(store, socle_api::ServerConfig::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let q = socle_search::SearchQuery {
                text: query.unwrap_or_default(),
                kind: kind.iter().map(|s| s.to_lowercase()).collect(),
                owner: owner.iter().map(|s| s.to_lowercase()).collect(),
                spec_type: spec_type.iter().map(|s| s.to_lowercase()).collect(),
                tag: tag.iter().map(|s| s.to_lowercase()).collect(),
                lifecycle: vec![],
                limit,
                offset: 0,
                ..Default::default()
            };
            let res = state
                .search()
                .search(&q)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            output::print(output, &res, |r| {
                let rows: Vec<Vec<String>> = r
                    .hits
                    .iter()
                    .map(|h| {
                        vec![
                            h.entity_ref.clone(),
                            h.owner.clone().unwrap_or_default(),
                            h.description
                                .clone()
                                .unwrap_or_default()
                                .chars()
                                .take(60)
                                .collect(),
                        ]
                    })
                    .collect();
                let mut s = output::table(&["REF", "OWNER", "DESCRIPTION"], &rows);
                s.push_str(&format!("{} matches\n", r.total));
                let facet = |name: &str, f: &[socle_search::FacetCount]| {
                    let parts: Vec<String> = f
                        .iter()
                        .take(8)
                        .map(|c| format!("{} ({})", c.value, c.count))
                        .collect();
                    format!("{name}: {}\n", parts.join(", "))
                };
                s.push_str(&facet("kind", &r.facets.kind));
                s.push_str(&facet("owner", &r.facets.owner));
                s.push_str(&facet("type", &r.facets.spec_type));
                s.push_str(&facet("tag", &r.facets.tag));
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CatalogCmd::Locations { store, output } => {
            let store = store.open().await?;
            let list = store.list_locations().await?;
            output::print(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|x| {
                        vec![
                            x.key.clone(),
                            x.status.clone(),
                            x.entity_count.to_string(),
                            x.errors.len().to_string(),
                            x.conflicts.len().to_string(),
                            fmt_time(x.refreshed_at),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "LOCATION",
                        "STATUS",
                        "ENTITIES",
                        "ERRORS",
                        "CONFLICTS",
                        "REFRESHED",
                    ],
                    &rows,
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(serde::Serialize)]
struct WorkloadSummary {
    file: String,
    name: String,
    containers: Vec<String>,
    resources: Vec<serde_json::Value>,
    /// Resources in provisioning order (each after those its params refer to).
    order: Vec<String>,
}

/// The platform configuration directory as a source. A Git repository (bare, or a checkout) is
/// read at its HEAD commit — the reviewed configuration, not whatever is in the working tree; a
/// plain directory as it is.
fn platform_source(dir: &std::path::Path) -> anyhow::Result<Box<dyn socle_ingest::Source>> {
    let is_git =
        dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir());
    Ok(if is_git {
        Box::new(
            socle_ingest::GitSource::open(&dir.to_string_lossy(), None)
                .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?,
        )
    } else {
        Box::new(
            socle_ingest::FsSource::new(dir)
                .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?,
        )
    })
}

/// The platform configuration's `policies/` folder (Rego and data), read like the rest of it.
fn platform_policies(dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let source = platform_source(dir)?;
    let mut files = Vec::new();
    for rel in source
        .files()
        .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?
    {
        let wanted = [".rego", ".json", ".yaml", ".yml"]
            .iter()
            .any(|e| rel.ends_with(e));
        if !rel.starts_with("policies/") || !wanted || rel.split('/').any(|p| p.starts_with('.')) {
            continue;
        }
        let bytes = source
            .read(&rel, 4 << 20)
            .map_err(|e| anyhow::anyhow!("platform configuration {rel}: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("platform configuration {rel} is not UTF-8"))?;
        files.push((source.display(&rel), text));
    }
    files.sort();
    Ok(files)
}

pub(crate) fn read_platform(
    dir: Option<&PathBuf>,
    limits: &Limits,
) -> anyhow::Result<socle_platform::PlatformConfig> {
    let Some(dir) = dir else {
        return Ok(socle_platform::default_config());
    };
    let source = platform_source(dir)?;
    let mut files = Vec::new();
    for rel in source
        .files()
        .map_err(|e| anyhow::anyhow!("platform configuration: {e}"))?
    {
        // `policies/` holds guardrails (Rego and their data), not platform documents.
        let hidden = rel.split('/').any(|p| p.starts_with('.')) || rel.starts_with("policies/");
        if hidden || !(rel.ends_with(".yaml") || rel.ends_with(".yml")) {
            continue;
        }
        let bytes = source
            .read(&rel, limits.max_file_bytes)
            .map_err(|e| anyhow::anyhow!("platform configuration {rel}: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("platform configuration {rel} is not UTF-8"))?;
        files.push((source.display(&rel), text));
    }
    files.sort();
    socle_platform::load_config(&files, limits).map_err(|errors| {
        for e in &errors {
            eprintln!("{e}");
        }
        anyhow::anyhow!(
            "the platform configuration in {} is invalid ({} errors)",
            dir.display(),
            errors.len()
        )
    })
}

async fn workload(cmd: WorkloadCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkloadCmd::Generate {
            files,
            env,
            output_dir,
            platform,
            publish,
            overrides,
            project,
            seed,
            limits,
            store,
        } => {
            workload_generate(GenerateArgs {
                store,
                overrides,
                files,
                env,
                output_dir,
                platform,
                publish,
                project,
                seed,
                limits: limits.limits(),
            })
            .await
        }
        WorkloadCmd::Validate {
            files,
            output,
            limits,
        } => workload_validate(files, output, limits),
    }
}

struct GenerateArgs {
    store: StoreArgs,
    overrides: Vec<String>,
    files: Vec<PathBuf>,
    env: String,
    output_dir: PathBuf,
    platform: Option<PathBuf>,
    publish: Vec<String>,
    project: Option<String>,
    seed: Option<u64>,
    limits: Limits,
}

async fn workload_generate(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    let config = read_platform(a.platform.as_ref(), &a.limits)?;
    let Some(environment) = config.environments.get(&a.env) else {
        let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        bail!(
            "unknown environment \"{}\"; this platform has: {}",
            a.env,
            known.join(", ")
        );
    };
    let mut workloads = Vec::new();
    let mut dirs = std::collections::BTreeMap::new();
    let mut failed = false;
    for f in &a.files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let overrides = a
            .overrides
            .iter()
            .map(|o| socle_score::parse_override(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--override-property: {e}"))?;
        match socle_score::parse_workload_with_overrides(
            &text,
            &f.display().to_string(),
            &a.limits,
            &overrides,
        ) {
            Ok(w) => {
                dirs.insert(
                    w.name().to_owned(),
                    f.parent().map(PathBuf::from).unwrap_or_default(),
                );
                workloads.push(w);
            }
            Err(errors) => {
                failed = true;
                for e in errors {
                    eprintln!("{e}");
                }
            }
        }
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    let seed = a.seed.unwrap_or_else(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.finish()
    });
    let store = a.store.open().await?;
    let state = store.resource_state(&a.env).await?;
    let runner =
        socle_deploy::ProcessRunner::new(a.platform.clone().unwrap_or_else(|| PathBuf::from(".")));
    let input = socle_platform::ResolveInput {
        workloads: &workloads,
        env: environment,
        config: &config,
        state: &state,
        seed,
        limits: &a.limits,
        runner: Some(&runner),
    };
    let resolution = match socle_platform::resolve(&input) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    // Keep what was provisioned (names, credentials) for next time; resources these workloads
    // no longer use are de-provisioned.
    let records: Vec<socle_store::ResourceRecord> = resolution
        .resources
        .values()
        .map(|r| socle_store::ResourceRecord {
            uid: r.uid.clone(),
            kind: r.kind.clone(),
            definition: r.definition.clone(),
            used_by: r.used_by.clone(),
            state: r.state.clone(),
            outputs: r.outputs.clone(),
            secrets: r.secrets.clone(),
            // `workload generate` is an operator's tool: it keeps stored owners, claims none.
            owner: None,
            params_hash: Some(socle_platform::params_fingerprint(&r.params)),
        })
        .collect();
    let names: std::collections::BTreeSet<String> =
        workloads.iter().map(|w| w.name().to_owned()).collect();
    let applied = store
        .apply_resources(&a.env, &names, &records, now_ms())
        .await?;
    for uid in &applied.removed {
        eprintln!("de-provisioned {uid} (no longer used)");
    }
    std::fs::create_dir_all(&a.output_dir)?;
    if environment.target == socle_platform::Target::Kubernetes {
        let ownership = workloads
            .iter()
            .map(|w| {
                let ann = |k: &str| {
                    w.metadata
                        .get("annotations")
                        .and_then(|a| a.get(k))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                let own = socle_render::Ownership {
                    entity: ann("socle.dev/entity")
                        .or_else(|| Some(format!("component:default/{}", w.name()))),
                    team: ann("socle.dev/team"),
                };
                (w.name().to_owned(), own)
            })
            .collect();
        let opts = socle_render::KubernetesOptions {
            secret_store: format!("socle-{}", a.env),
            ownership,
        };
        let manifests = socle_render::render_kubernetes(&resolution, environment, &opts)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let files = socle_render::to_yaml_files(&manifests).map_err(|e| anyhow::anyhow!("{e}"))?;
        for (path, text) in &files {
            let p = a.output_dir.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, text)?;
        }
        eprintln!(
            "wrote {} manifests under {} ({} workloads, {} resources)",
            files.len(),
            a.output_dir.display(),
            resolution.workloads.len(),
            resolution.resources.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let publish = a
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<socle_render::Publish>, String>>()
        .map_err(|e| anyhow::anyhow!("--publish: {e}"))?;
    let project = a.project.clone().unwrap_or_else(|| {
        std::fs::canonicalize(&a.output_dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "socle".into())
    });
    let opts = socle_render::ComposeOptions {
        project,
        publish,
        mounts_dir: "mounts".into(),
    };
    let read = |workload: &str, src: &str| {
        let dir = dirs.get(workload).cloned().unwrap_or_default();
        let path = dir.join(src);
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let (compose, written) = socle_render::render_compose(&resolution, &opts, &read)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(a.output_dir.join("compose.yaml"), compose)?;
    for (path, content) in &written.files {
        let p = a.output_dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, content)?;
    }
    if written.files.contains_key(".env") {
        std::fs::write(a.output_dir.join(".gitignore"), ".env\n")?;
    }
    eprintln!(
        "wrote {} ({} workloads, {} resources)",
        a.output_dir.join("compose.yaml").display(),
        resolution.workloads.len(),
        resolution.resources.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn workload_validate(
    files: Vec<PathBuf>,
    output: Format,
    limits: LimitArgs,
) -> anyhow::Result<ExitCode> {
    let limits = limits.limits();
    let mut workloads = Vec::new();
    let mut errors: Vec<socle_score::ScoreError> = Vec::new();
    for f in &files {
        let display = f.display().to_string();
        let text = match std::fs::metadata(f) {
            Ok(m) if m.len() > limits.max_file_bytes as u64 => {
                errors.push(socle_score::ScoreError {
                    file: display,
                    line: None,
                    column: None,
                    path: String::new(),
                    rule: "file.too-large".into(),
                    message: format!(
                        "file is {} bytes, more than the limit of {} bytes",
                        m.len(),
                        limits.max_file_bytes
                    ),
                });
                continue;
            }
            _ => match std::fs::read(f).map(String::from_utf8) {
                Ok(Ok(t)) => t,
                Ok(Err(_)) | Err(_) => {
                    errors.push(socle_score::ScoreError {
                        file: display,
                        line: None,
                        column: None,
                        path: String::new(),
                        rule: "file.unreadable".into(),
                        message: "cannot read the file as UTF-8 text".into(),
                    });
                    continue;
                }
            },
        };
        match socle_score::parse_workload(&text, &display, &limits) {
            Ok(w) => {
                let order = socle_score::resource_graph(&w)
                    .map(|g| g.order)
                    .unwrap_or_default();
                workloads.push(WorkloadSummary {
                    file: display,
                    name: w.name().to_owned(),
                    containers: w.containers.keys().cloned().collect(),
                    resources: w
                        .resources
                        .iter()
                        .map(|(n, r)| serde_json::json!({"name": n, "type": r.kind, "class": r.class, "id": r.id}))
                        .collect(),
                    order,
                });
            }
            Err(e) => errors.extend(e),
        }
    }
    let failed = !errors.is_empty();
    match output {
        Format::Table => {
            for e in &errors {
                eprintln!("{e}");
            }
            let rows: Vec<Vec<String>> = workloads
                .iter()
                .map(|w| {
                    vec![
                        w.name.clone(),
                        w.containers.join(","),
                        w.order.join(" → "),
                        w.file.clone(),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(
                    &["WORKLOAD", "CONTAINERS", "RESOURCES (ORDER)", "FILE"],
                    &rows
                )
            );
            println!("{} valid, {} errors", workloads.len(), errors.len());
        }
        f => output::print(
            f,
            &serde_json::json!({"workloads": workloads, "errors": errors}),
            |_| String::new(),
        )?,
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn deploy(a: DeployArgs) -> anyhow::Result<ExitCode> {
    let limits = a.limits.limits();
    let config = read_platform(a.platform.as_ref(), &limits)?;
    let store = a.store.open().await?;
    let deployer = socle_deploy::Deployer {
        store,
        config,
        gitops_root: a.store.data_dir.clone(),
        limits: limits.clone(),
        runner: Some(socle_deploy::ProcessRunner::new(
            a.platform.clone().unwrap_or_else(|| PathBuf::from(".")),
        )),
        clock: None,
    };
    let actor = cli_actor();
    let guard: Box<dyn socle_deploy::Guardrails> =
        match load_guardrails(&a.guardrails, a.platform.as_deref())? {
            Some(policies) => Box::new(socle_deploy::PolicyGuardrails { policies }),
            None => Box::new(socle_deploy::NoGuardrails),
        };
    let guard = guard.as_ref();
    // The CLI acts for the service's catalog owner (None: it has none, see DeployRequest::owner).
    let result = if let Some(service) = &a.rollback {
        let owner = deployer.catalog_owner(service).await?;
        deployer
            .rollback(
                service,
                a.env.as_deref().unwrap_or_default(),
                &actor,
                owner.as_deref(),
                guard,
            )
            .await
    } else if let Some(service) = &a.promote {
        let owner = deployer.catalog_owner(service).await?;
        deployer
            .promote(
                service,
                a.from.as_deref().unwrap_or_default(),
                a.to.as_deref().unwrap_or_default(),
                &actor,
                owner.as_deref(),
                guard,
            )
            .await
    } else {
        let file = a.file.as_ref().expect("clap requires a file here");
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let mut workload =
            match socle_score::parse_workload(&text, &file.display().to_string(), &limits) {
                Ok(w) => w,
                Err(errors) => {
                    for e in errors {
                        eprintln!("{e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
        let dir = file.parent().map(PathBuf::from).unwrap_or_default();
        socle_deploy::inline_file_sources(&mut workload, &dir, &limits)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let owner = deployer.catalog_owner(workload.name()).await?;
        let req = socle_deploy::DeployRequest {
            owner,
            workload,
            env: a.env.clone().unwrap_or_default(),
            image: a.image.clone(),
            version: a.app_version.clone(),
            source_commit: a.source_commit.clone(),
            actor: actor.clone(),
            kind: "deploy".into(),
        };
        deployer.deploy(req, guard).await
    };
    match result {
        Ok(d) => {
            deployer
                .store
                .audit(
                    &actor,
                    &format!("deployment.{}", d.kind),
                    &format!("{}@{}", d.service, d.environment),
                    "ok",
                    &d.gitops_commit,
                    now_ms(),
                )
                .await?;
            output::print(a.output, &d, |d| {
                format!(
                    "{} {} {} to {}: {} ({})\n",
                    d.kind,
                    d.service,
                    d.version,
                    d.environment,
                    &d.gitops_commit[..d.gitops_commit.len().min(12)],
                    if d.changed {
                        "committed"
                    } else {
                        "unchanged, nothing committed"
                    }
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn deployments(cmd: DeploymentsCmd) -> anyhow::Result<ExitCode> {
    let DeploymentsCmd::List {
        service,
        env,
        limit,
        store,
        output,
    } = cmd;
    let store = store.open().await?;
    let mut list = store
        .list_deployments(service.as_deref(), env.as_deref(), limit)
        .await?;
    for d in &mut list {
        d.spec.clear();
    }
    output::print(output, &list, |l| {
        let rows: Vec<Vec<String>> = l
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.service.clone(),
                    d.environment.clone(),
                    d.version.clone(),
                    d.kind.clone(),
                    d.status.clone(),
                    d.gitops_commit.chars().take(12).collect(),
                    d.actor.clone(),
                    fmt_time(Some(d.created_at)),
                ]
            })
            .collect();
        output::table(
            &[
                "ID", "SERVICE", "ENV", "VERSION", "KIND", "STATUS", "COMMIT", "BY", "AT",
            ],
            &rows,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `--guardrails`: `none`, `builtin`, `platform` (the pack plus the `policies/` of `--platform`) or a
/// policy directory.
pub(crate) fn load_guardrails(
    spec: &str,
    platform: Option<&std::path::Path>,
) -> anyhow::Result<Option<socle_policy::PolicySet>> {
    let set = match spec {
        "none" => return Ok(None),
        "builtin" => socle_policy::PolicySet::builtin(None),
        // The built-in pack plus the platform's own policies and data (which configure the pack:
        // `socle.disabled_rules`, `socle.allowed_registries`, …).
        "platform" => {
            let dir = platform.context("--guardrails platform needs --platform DIR")?;
            let mut files = socle_policy::builtin_files();
            files.extend(platform_policies(dir)?);
            socle_policy::PolicySet::load(&files, "main")
        }
        dir => socle_policy::PolicySet::load(&policy_files(std::path::Path::new(dir))?, "main"),
    };
    Ok(Some(set.map_err(|e| anyhow::anyhow!("{e}"))?))
}

/// An entity named on the command line: a full ref, or a workload name (`shop` →
/// `component:default/shop`).
fn entity_arg(entity: &str) -> anyhow::Result<String> {
    if entity.contains(':') {
        Ok(socle_catalog::EntityRef::parse_full(entity)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .to_string())
    } else {
        Ok(format!("component:default/{}", entity.to_ascii_lowercase()))
    }
}

fn policy_files(dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in walk_dir(dir)? {
        let name = entry.display().to_string();
        if [".rego", ".json", ".yaml", ".yml"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            files.push((
                name,
                std::fs::read_to_string(&entry)
                    .with_context(|| format!("cannot read {}", entry.display()))?,
            ));
        }
    }
    files.sort();
    Ok(files)
}

fn walk_dir(dir: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            out.extend(walk_dir(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

async fn policy(cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCmd::Waive {
            rule,
            entity,
            env,
            reason,
            owner,
            expires,
            store,
            output,
        } => {
            let store = store.open().await?;
            let date = time::Date::parse(
                &expires,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .with_context(|| format!("--expires {expires}: expected YYYY-MM-DD"))?;
            let expires_at = (date.with_hms(23, 59, 59)?.assume_utc().unix_timestamp()) * 1000;
            let entity = entity_arg(&entity)?;
            let w = store
                .create_waiver(socle_store::Waiver {
                    id: String::new(),
                    rule,
                    entity,
                    environment: env.unwrap_or_default(),
                    reason,
                    owner,
                    expires_at,
                    created_by: cli_actor(),
                    created_at: now_ms(),
                    revoked_at: None,
                })
                .await?;
            store
                .audit(
                    &cli_actor(),
                    "waiver.create",
                    &format!("{} {}", w.rule, w.entity),
                    "ok",
                    &w.reason,
                    now_ms(),
                )
                .await?;
            output::print(output, &w, |w| {
                format!(
                    "waiver {}: {} on {} until {}\n",
                    w.id,
                    w.rule,
                    w.entity,
                    fmt_time(Some(w.expires_at))
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Waivers { store, output } => {
            let store = store.open().await?;
            let list = store.list_waivers().await?;
            let now = now_ms();
            output::print(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|w| {
                        vec![
                            w.id.clone(),
                            w.rule.clone(),
                            w.entity.clone(),
                            if w.environment.is_empty() {
                                "*".into()
                            } else {
                                w.environment.clone()
                            },
                            w.owner.clone(),
                            fmt_time(Some(w.expires_at)),
                            if w.revoked_at.is_some() {
                                "revoked".into()
                            } else if w.expires_at <= now {
                                "expired".into()
                            } else {
                                "active".into()
                            },
                            w.reason.clone(),
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "ID", "RULE", "ENTITY", "ENV", "OWNER", "EXPIRES", "STATE", "REASON",
                    ],
                    &rows,
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Results {
            entity,
            env,
            limit,
            store,
            output,
        } => {
            let store = store.open().await?;
            let entity = entity_arg(&entity)?;
            let list = store.policy_results(&entity, env.as_deref(), limit).await?;
            output::print(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|r| {
                        vec![
                            fmt_time(Some(r.evaluated_at)),
                            r.environment.clone(),
                            r.outcome.clone(),
                            r.findings["violations"]
                                .as_array()
                                .map_or(0, Vec::len)
                                .to_string(),
                            r.findings["waived"]
                                .as_array()
                                .map_or(0, Vec::len)
                                .to_string(),
                            r.findings["warnings"]
                                .as_array()
                                .map_or(0, Vec::len)
                                .to_string(),
                        ]
                    })
                    .collect();
                output::table(
                    &["AT", "ENV", "OUTCOME", "VIOLATIONS", "WAIVED", "WARNINGS"],
                    &rows,
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCmd::Eval {
            files,
            policy,
            namespace,
            output,
        } => {
            let set = match &policy {
                Some(dir) => socle_policy::PolicySet::load(&policy_files(dir)?, &namespace),
                None => socle_policy::PolicySet::builtin(None),
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let limits = Limits::default();
            let mut findings = Vec::new();
            let mut errors = 0;
            for f in &files {
                let name = f.display().to_string();
                let text =
                    std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
                let docs = match socle_catalog::yaml::parse_documents(&text, &limits) {
                    Ok(d) => d,
                    Err(e) => {
                        eprintln!("{name}:{}: {}", e.line.unwrap_or(0), e.message);
                        errors += 1;
                        continue;
                    }
                };
                for (i, d) in docs.iter().enumerate() {
                    match set.eval(&d.to_json(), &name, i) {
                        Ok(f) => findings.extend(f),
                        Err(e) => {
                            eprintln!("{e}");
                            errors += 1;
                        }
                    }
                }
            }
            let denied = findings
                .iter()
                .filter(|f| f.severity == socle_policy::Severity::Deny)
                .count();
            output::print(output, &findings, |fs| {
                let mut s = String::new();
                for f in fs {
                    let level = if f.severity == socle_policy::Severity::Deny {
                        "FAIL"
                    } else {
                        "WARN"
                    };
                    s.push_str(&format!(
                        "{level} - {} - {}{}: {} [{}{}]\n",
                        f.file,
                        f.object.as_deref().unwrap_or("-"),
                        f.path
                            .as_deref()
                            .map(|p| format!(" {p}"))
                            .unwrap_or_default(),
                        f.message,
                        f.rule,
                        if f.checkov.is_empty() {
                            String::new()
                        } else {
                            format!(", {}", f.checkov.join(" "))
                        }
                    ));
                }
                s.push_str(&format!(
                    "{} failures, {} warnings\n",
                    denied,
                    fs.len() - denied
                ));
                s
            })?;
            Ok(if denied > 0 || errors > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        PolicyCmd::Test { dir, output } => {
            let files = match &dir {
                Some(d) => policy_files(d)?,
                None => socle_policy::builtin_files(),
            };
            let set = socle_policy::PolicySet::load(&files, "main")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let results = set.run_tests(&files).map_err(|e| anyhow::anyhow!("{e}"))?;
            let failed = results.iter().filter(|(_, ok)| !ok).count();
            let report = serde_json::json!({
                "passed": results.len() - failed,
                "failed": failed,
                "tests": results.iter().map(|(name, passed)| serde_json::json!({"name": name, "passed": passed})).collect::<Vec<_>>(),
            });
            output::print(output, &report, |_| {
                let mut out = String::new();
                for (name, ok) in &results {
                    out.push_str(&format!("{} {name}\n", if *ok { "PASS" } else { "FAIL" }));
                }
                out.push_str(&format!(
                    "{} passed, {} failed\n",
                    results.len() - failed,
                    failed
                ));
                out
            })?;
            Ok(if failed > 0 || results.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

async fn resources(cmd: ResourcesCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ResourcesCmd::List { env, store, output } => {
            let store = store.open().await?;
            let list = store.list_resources(env.as_deref()).await?;
            output::print(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|r| {
                        vec![
                            r.environment.clone(),
                            r.uid.clone(),
                            r.kind.clone(),
                            r.definition.clone(),
                            r.used_by.iter().cloned().collect::<Vec<_>>().join(","),
                            fmt_time(Some(r.updated_at)),
                        ]
                    })
                    .collect();
                output::table(
                    &["ENV", "UID", "TYPE", "DEFINITION", "USED BY", "UPDATED"],
                    &rows,
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ResourcesCmd::Outputs {
            uid,
            env,
            show_secrets,
            store,
            output,
        } => {
            let store = store.open().await?;
            let found = store.resource_outputs(&env, &uid).await?;
            let mut outputs = found.outputs;
            if !show_secrets {
                for (k, v) in outputs.iter_mut() {
                    if found.secrets.contains(k) {
                        *v = serde_json::json!("********");
                    }
                }
            }
            output::print(output, &outputs, |o| {
                let rows: Vec<Vec<String>> = o
                    .iter()
                    .map(|(k, v)| {
                        vec![
                            k.clone(),
                            v.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| v.to_string()),
                        ]
                    })
                    .collect();
                output::table(&["OUTPUT", "VALUE"], &rows)
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn token(cmd: TokenCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCmd::Create {
            name,
            subject,
            role,
            store,
            output,
        } => {
            let role = Role::parse(&role).unwrap_or(Role::Viewer);
            let store = store.open().await?;
            let subject = if let Some(sa) = subject.strip_prefix("serviceaccount:") {
                if !socle_catalog::rules::is_object_name(sa) {
                    bail!(
                        "service account name \"{sa}\" is not valid; expected {}",
                        socle_catalog::rules::NAME_EXPECTED
                    );
                }
                subject
            } else if subject.starts_with("user:") {
                let user = socle_catalog::EntityRef::parse_full(&subject)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                if store.get_entity(user.as_str()).await?.is_none() {
                    bail!(
                        "{user} is not in the catalog: a token belongs to a catalog User or a service account"
                    );
                }
                user.to_string()
            } else {
                bail!("--subject must be user:<namespace>/<name> or serviceaccount:<name>");
            };
            let (rec, secret) = store.create_token(&name, &subject, role, now_ms()).await?;
            store
                .audit(&cli_actor(), "token.create", &rec.id, "ok", "", now_ms())
                .await?;
            let v = serde_json::json!({"token": rec, "secret": secret});
            output::print(output, &v, |_| {
                format!(
                    "token {} for {} ({}):\n{secret}\n",
                    rec.id,
                    rec.subject,
                    rec.role.as_str()
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCmd::List { store, output } => {
            let store = store.open().await?;
            let list = store.list_tokens().await?;
            output::print(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|t| {
                        vec![
                            t.id.clone(),
                            t.name.clone(),
                            t.subject.clone(),
                            t.role.as_str().into(),
                            fmt_time(Some(t.created_at)),
                            fmt_time(t.last_used_at),
                            if t.revoked_at.is_some() {
                                "revoked".into()
                            } else {
                                "active".into()
                            },
                        ]
                    })
                    .collect();
                output::table(
                    &[
                        "ID",
                        "NAME",
                        "SUBJECT",
                        "ROLE",
                        "CREATED",
                        "LAST USED",
                        "STATE",
                    ],
                    &rows,
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCmd::Revoke { id, store } => {
            let store = store.open().await?;
            store.revoke_token(&id, now_ms()).await?;
            store
                .audit(&cli_actor(), "token.revoke", &id, "ok", "", now_ms())
                .await?;
            println!("token {id} revoked");
            Ok(ExitCode::SUCCESS)
        }
    }
}
