//! The command line: one module per noun, each with its clap arguments and a `run` that returns
//! an [`Outcome`](crate::output::Outcome) for the one printer (`crate::output::emit`).

mod adoption;
mod backup;
mod campaign;
mod catalog;
pub mod config_file;
#[cfg(test)]
mod conventions;
mod data;
mod data_pipeline;
mod deploy;
mod dora;
mod oidc_args;
mod org;
mod policy;
mod policy_io;
mod resources;
mod scorecard;
mod serve;
mod setup;
mod slo;
mod slo_status;
mod survey;
mod template;
mod token;
mod workload;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Outcome;

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

#[derive(Subcommand)]
enum Cmd {
    /// Start the platform: API (and, later, portal) over the store.
    #[command(
        after_help = "Example:\n  socle serve --demo\n  socle serve --database-url postgres://socle@db/socle --listen 0.0.0.0:7007"
    )]
    Serve(serve::ServeArgs),
    /// Work with the software catalog.
    Catalog {
        #[command(subcommand)]
        cmd: catalog::CatalogCmd,
    },
    /// Work with Score workloads (score.dev/v1b1).
    Workload {
        #[command(subcommand)]
        cmd: workload::WorkloadCmd,
    },
    /// Deploy a Score workload to an environment (GitOps commit), roll back or promote.
    #[command(
        after_help = "Example:\n  socle deploy score.yaml --env dev --image ghcr.io/acme/shop:1.4.2\n  socle deploy --promote shop --from dev --to staging\n  socle deploy --rollback shop --env dev"
    )]
    Deploy(deploy::DeployArgs),
    /// Recorded deployments.
    Deployments {
        #[command(subcommand)]
        cmd: deploy::DeploymentsCmd,
    },
    /// Guardrails: evaluate Rego policies (conftest conventions) or run their tests.
    Policy {
        #[command(subcommand)]
        cmd: policy::PolicyCmd,
    },
    /// Provisioned resources (per environment).
    Resources {
        #[command(subcommand)]
        cmd: resources::ResourcesCmd,
    },
    /// Manage API tokens (directly in the store).
    Token {
        #[command(subcommand)]
        cmd: token::TokenCmd,
    },
    /// Golden paths: software templates that create ready-to-deploy services.
    Template {
        #[command(subcommand)]
        cmd: template::TemplateCmd,
    },
    /// Create things from golden paths.
    Create {
        #[command(subcommand)]
        cmd: template::CreateCmd,
    },
    /// Delivery metrics: DORA's four keys from deployments, changes and incidents.
    Dora {
        #[command(subcommand)]
        cmd: dora::DoraCmd,
    },
    /// Service level objectives: check Sloth/OpenSLO specs, generate Prometheus rules and Grafana
    /// dashboards.
    Slo {
        #[command(subcommand)]
        cmd: slo::SloCmd,
    },
    /// Data contracts (ODCS): check them and see the catalog entity of their data product.
    Data {
        #[command(subcommand)]
        cmd: data::DataCmd,
    },
    /// Scorecards: standards as levels (Bronze, Silver, Gold) checked over each entity's facts.
    Scorecard {
        #[command(subcommand)]
        cmd: scorecard::ScorecardCmd,
    },
    /// Campaigns: rules every selected entity should pass by a date, progress per team.
    Campaign {
        #[command(subcommand)]
        cmd: campaign::CampaignCmd,
    },
    /// Scanner findings: SARIF imports per entity (Checkov, Semgrep, Bandit, Trivy, …).
    Findings {
        #[command(subcommand)]
        cmd: scorecard::FindingsCmd,
    },
    /// Developer-experience surveys: the platform's surveys and their anonymous results.
    Survey {
        #[command(subcommand)]
        cmd: survey::SurveyCmd,
    },
    /// Adoption and impact: is the platform used, and does it help (per team and organisation).
    Adoption {
        #[command(subcommand)]
        cmd: adoption::AdoptionCmd,
    },
    /// The organisation from a directory: users and groups from LDAP / Active Directory.
    Org {
        #[command(subcommand)]
        cmd: org::OrgCmd,
    },
    /// Copy a SQLite store to a file while the server runs (PostgreSQL: use pg_dump).
    #[command(
        after_help = "Example:\n  socle backup --to /backups/socle-$(date +%F).db --data-dir /var/lib/socle"
    )]
    Backup(backup::BackupArgs),
    /// Put a backup back as the SQLite store of a stopped server (or a new data directory).
    #[command(
        after_help = "Example:\n  socle restore --from /backups/socle-2026-12-01.db --data-dir /var/lib/socle\n  socle restore --from backup.db --data-dir /var/lib/socle --force"
    )]
    Restore(backup::RestoreArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  socle completions bash > /etc/bash_completion.d/socle\n  socle completions zsh > \"${fpath[1]}/_socle\""
    )]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print Socle's version.
    #[command(after_help = "Example:\n  socle version -o json")]
    Version {
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: crate::output::Format,
    },
}

/// The command line, with `socle.yaml` (`socle serve --config`, or `SOCLE_CONFIG` for every
/// command) as the flags' defaults and an environment variable for every setting.
fn parse_cli() -> anyhow::Result<Cli> {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = config_file::with_env_overrides(Cli::command());
    if let Some(path) = config_file::config_path(&args, std::env::var_os("SOCLE_CONFIG")) {
        let settings = config_file::load(&path, &cmd)?;
        cmd = config_file::apply(cmd, &settings);
    }
    let matches = cmd.get_matches_from(args);
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = parse_cli()?;
    if let Cmd::Completions { shell } = cli.cmd {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "socle", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    if !matches!(cli.cmd, Cmd::Serve(_)) {
        // `socle … | head` ends quietly, as Unix tools do, instead of panicking on a closed pipe.
        // Not for the long-running server, whose sockets must never kill the process.
        // SAFETY: restores the default disposition of one signal before any thread exists.
        #[cfg(unix)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let otlp = match &cli.cmd {
        Cmd::Serve(args) => args.otlp()?.map(|(endpoint, tls)| crate::telemetry::Otlp {
            endpoint,
            tls,
            runtime: rt.handle().clone(),
        }),
        _ => None,
    };
    let traces = crate::telemetry::init(&cli.log, otlp)?;
    let outcome = rt.block_on(async move {
        match cli.cmd {
            Cmd::Serve(args) => serve::run(args).await,
            Cmd::Catalog { cmd } => catalog::run(cmd).await,
            Cmd::Workload { cmd } => workload::run(cmd).await,
            Cmd::Resources { cmd } => resources::run(cmd).await,
            Cmd::Policy { cmd } => policy::run(cmd).await,
            Cmd::Deploy(args) => deploy::run(args).await,
            Cmd::Deployments { cmd } => deploy::deployments(cmd).await,
            Cmd::Token { cmd } => token::run(cmd).await,
            Cmd::Dora { cmd } => dora::run(cmd).await,
            Cmd::Slo { cmd } => slo::run(cmd).await,
            Cmd::Data { cmd } => data::run(cmd).await,
            Cmd::Scorecard { cmd } => scorecard::run(cmd).await,
            Cmd::Findings { cmd } => scorecard::findings(cmd).await,
            Cmd::Survey { cmd } => survey::run(cmd).await,
            Cmd::Adoption { cmd } => adoption::run(cmd).await,
            Cmd::Campaign { cmd } => campaign::run(cmd).await,
            Cmd::Org { cmd } => org::run(cmd).await,
            Cmd::Backup(args) => backup::backup(args).await,
            Cmd::Restore(args) => backup::restore(args).await,
            Cmd::Template { cmd } => template::run(cmd).await,
            Cmd::Create { cmd } => template::create(cmd).await,
            Cmd::Version { output } => {
                let v = serde_json::json!({"name": "socle", "version": env!("CARGO_PKG_VERSION")});
                Outcome::new(output, &v, |_| {
                    format!("socle {}\n", env!("CARGO_PKG_VERSION"))
                })
            }
            Cmd::Completions { .. } => unreachable!("handled before the runtime starts"),
        }
    });
    if let Some(provider) = traces {
        // The last spans, sent while the runtime still runs.
        if let Err(e) = provider.shutdown() {
            tracing::warn!("traces not all exported: {e}");
        }
    }
    let outcome = outcome?;
    crate::output::emit(outcome)
}

pub fn now_ms() -> i64 {
    socle_api::now_ms()
}

/// Who the CLI acts as, in the audit log and on records.
/// Writes an audit row as the operator, through the application's one audit path.
pub async fn audit(
    store: &socle_store::Store,
    action: socle_app::AuditAction,
    target: &str,
    outcome: socle_app::AuditOutcome,
    detail: &str,
) -> anyhow::Result<()> {
    socle_app::audit::record_to(
        store,
        now_ms(),
        &cli_actor(),
        action,
        target,
        outcome,
        detail,
    )
    .await?;
    Ok(())
}

/// An application error on stderr: `error: message`, then its details, one per line.
pub fn print_error(e: &socle_app::AppError) {
    eprintln!("error: {}", e.message);
    for line in e.detail_lines() {
        eprintln!("  {line}");
    }
}

/// A failed service call: the error on stderr and, for `-o json|yaml`, the API's error shape
/// (`{"error": {code, message, details}}`) on stdout; exit 1.
pub fn failure(e: &socle_app::AppError, output: crate::output::Format) -> anyhow::Result<Outcome> {
    print_error(e);
    if output == crate::output::Format::Table {
        return exit(true);
    }
    let body = serde_json::json!({"error": {
        "code": e.code.name(),
        "message": e.message,
        "details": e.details,
    }});
    Ok(Outcome::new(output, &body, |_| String::new())?.failed(true))
}

/// The CLI's actor for the application's services: the operator, who holds the store (and so
/// every right), as `cli:$USER`.
/// A path the user named must exist: the one wording for a missing input, with the path as
/// given (`cannot read PATH: No such file or directory (os error 2)`). Globs are left to the
/// command.
pub fn must_exist(path: impl AsRef<std::path::Path>) -> anyhow::Result<()> {
    let path = path.as_ref();
    if path.to_string_lossy().contains(['*', '?', '[']) {
        return Ok(());
    }
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}

pub fn operator() -> socle_app::Actor {
    socle_app::Actor::Principal(socle_app::Principal {
        token_id: String::new(),
        subject: cli_actor(),
        role: socle_store::Role::Admin,
    })
}

pub fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

/// A time for tables: RFC 3339, or `-`.
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

/// A progress bar on standard error counting the files a location read discovers and reads.
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
        socle_ingest::ProgressEvent::Discovered(n) => b.inc_length(n),
        socle_ingest::ProgressEvent::Read(n) => b.inc(n),
    });
    (bar, progress)
}

/// The outcome of a command with nothing more to say than an exit code.
fn exit(failed: bool) -> anyhow::Result<Outcome> {
    Ok(Outcome::silent(failed))
}
