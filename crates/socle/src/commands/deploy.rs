//! `socle deploy` (deploy, roll back, promote) and `socle deployments`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::setup::{LimitArgs, StoreArgs, load_guardrails, read_platform};
use socle_app::{AuditAction, AuditOutcome};

use super::{cli_actor, fmt_time};
use crate::output::{self, Format, Outcome};

#[derive(Args)]
pub struct DeployArgs {
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
pub enum DeploymentsCmd {
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

pub async fn run(a: DeployArgs) -> anyhow::Result<Outcome> {
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
        let env = a.env.as_deref().unwrap_or_default();
        deployer
            .rollback(service, env, &actor, owner.as_deref(), guard)
            .await
    } else if let Some(service) = &a.promote {
        let owner = deployer.catalog_owner(service).await?;
        let (from, to) = (
            a.from.as_deref().unwrap_or_default(),
            a.to.as_deref().unwrap_or_default(),
        );
        deployer
            .promote(service, from, to, &actor, owner.as_deref(), guard)
            .await
    } else {
        let Some(req) = request(&a, &deployer, &limits, &actor).await? else {
            return super::exit(true);
        };
        deployer.deploy(req, guard).await
    };
    // Every attempt is audited, failures too (the detail: the error's code).
    let (action, target) = if let Some(service) = &a.rollback {
        (
            AuditAction::Rollback,
            format!("{service}@{}", a.env.as_deref().unwrap_or_default()),
        )
    } else if let Some(service) = &a.promote {
        (
            AuditAction::Promote,
            format!("{service}@{}", a.to.as_deref().unwrap_or_default()),
        )
    } else {
        (
            AuditAction::Deploy,
            format!("?@{}", a.env.as_deref().unwrap_or_default()),
        )
    };
    let d = match result {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            let code = socle_app::deploy::deploy_error(e).code;
            let outcome = if code.is_refusal() {
                AuditOutcome::Denied
            } else {
                AuditOutcome::Failed
            };
            super::audit(&deployer.store, action, &target, outcome, code.name()).await?;
            return super::exit(true);
        }
    };
    super::audit(
        &deployer.store,
        action,
        &format!("{}@{}", d.service, d.environment),
        AuditOutcome::Ok,
        &d.gitops_commit,
    )
    .await?;
    Outcome::new(a.output, &d, |d| {
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
    })
}

/// The deploy request for `a.file`, or None when the workload is invalid (errors printed).
async fn request(
    a: &DeployArgs,
    deployer: &socle_deploy::Deployer,
    limits: &socle_catalog::Limits,
    actor: &str,
) -> anyhow::Result<Option<socle_deploy::DeployRequest>> {
    let file = a.file.as_ref().expect("clap requires a file here");
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut workload = match socle_score::parse_workload(&text, &file.display().to_string(), limits)
    {
        Ok(w) => w,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return Ok(None);
        }
    };
    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
    socle_deploy::inline_file_sources(&mut workload, &dir, limits)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let owner = deployer.catalog_owner(workload.name()).await?;
    Ok(Some(socle_deploy::DeployRequest {
        owner,
        workload,
        env: a.env.clone().unwrap_or_default(),
        image: a.image.clone(),
        version: a.app_version.clone(),
        source_commit: a.source_commit.clone(),
        actor: actor.to_owned(),
        kind: "deploy".into(),
    }))
}

pub async fn deployments(cmd: DeploymentsCmd) -> anyhow::Result<Outcome> {
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
    Outcome::new(output, &list, |l| {
        let rows: Vec<Vec<String>> = l
            .iter()
            .map(|d| {
                vec![
                    d.id.clone(),
                    d.service.clone(),
                    d.environment.clone(),
                    d.version.clone(),
                    d.kind.clone(),
                    d.status.to_string(),
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
    })
}
