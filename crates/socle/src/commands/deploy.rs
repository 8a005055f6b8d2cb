//! `socle deploy` (deploy, roll back, promote) and `socle deployments`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::setup::{AppSetup, LimitArgs, StoreArgs, open_app};
use socle_app::deploy::{DeployInput, WorkloadInput};

use super::fmt_time;
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
    /// With --promote: the environment to promote from (an environment, not a time as in
    /// `dora --from`).
    #[arg(long, value_name = "ENV")]
    from: Option<String>,
    /// With --promote: the environment to promote to.
    #[arg(long, value_name = "ENV")]
    to: Option<String>,
    /// Platform configuration directory (default: the shipped configuration).
    #[arg(long)]
    platform: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Subcommand)]
pub enum DeploymentsCmd {
    /// List deployments, newest first.
    #[command(after_help = "Example:\n  socle deployments list --service shop --env prod")]
    List {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn run(a: DeployArgs) -> anyhow::Result<Outcome> {
    let setup = AppSetup {
        store: &a.store,
        platform: a.platform.as_ref(),
        guardrails: &a.guardrails,
        limits: a.limits.limits(),
    };
    if let Some(f) = &a.file
        && a.rollback.is_none()
        && a.promote.is_none()
    {
        super::must_exist(f)?;
    }
    let config = setup.config()?;
    let app = open_app(a.store.open().await?, config).await?;
    // The operator deploys with every right; the service's catalog owner is recorded.
    let actor = super::operator();
    // The Score file's text, to show resolution errors at their line.
    let mut source = None;
    let result = if let Some(service) = &a.rollback {
        let env = a.env.as_deref().unwrap_or_default();
        app.rollback(&actor, service, env).await
    } else if let Some(service) = &a.promote {
        let (from, to) = (
            a.from.as_deref().unwrap_or_default(),
            a.to.as_deref().unwrap_or_default(),
        );
        app.promote(&actor, service, from, to).await
    } else {
        let Some((input, text)) = input(&a, &setup.limits)? else {
            return super::exit(true);
        };
        source = Some(text);
        app.deploy(&actor, input).await
    };
    // The application audited the attempt, failures too.
    let d = match result {
        Ok(d) => d,
        Err(e) => {
            return match (&a.file, &source) {
                (Some(file), Some(text)) if a.output == Format::Table => {
                    located_failure(&e, file, text, &setup.limits)
                }
                _ => super::failure(&e, a.output),
            };
        }
    };
    let notes = app
        .guardrail_notes(&actor, &d.service, &d.environment)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let shown = Deployed {
        deployment: &d,
        guardrails: &notes,
    };
    Outcome::new(a.output, &shown, |s| {
        let d = s.deployment;
        let mut text = format!(
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
        );
        let field = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        for w in &s.guardrails.warnings {
            text.push_str(&format!(
                "  warning [{}]: {}\n",
                field(w, "rule"),
                field(w, "text")
            ));
        }
        for w in &s.guardrails.waived {
            let by: Vec<&str> = w["waivers"]
                .as_array()
                .map(|l| l.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            text.push_str(&format!(
                "  waived [{}] (waiver {}): {}\n",
                field(w, "rule"),
                by.join(", "),
                field(w, "text")
            ));
        }
        text
    })
}

/// A deployment as `socle deploy` shows it: the record, and what the guardrails said.
#[derive(serde::Serialize)]
struct Deployed<'a> {
    #[serde(flatten)]
    deployment: &'a socle_store::DeploymentRecord,
    guardrails: &'a socle_app::deploy::GuardrailNotes,
}

/// A failed deploy of the Score file `file` (its text `text`): resolution errors each at their
/// place in the file (`file:line:column field: message [rule]`), other errors as usual; exit 1.
fn located_failure(
    e: &socle_app::AppError,
    file: &std::path::Path,
    text: &str,
    limits: &socle_catalog::Limits,
) -> anyhow::Result<Outcome> {
    let resolution = e
        .details
        .clone()
        .and_then(|d| serde_json::from_value::<Vec<socle_platform::ResolveError>>(d).ok())
        .filter(|errors| e.code == socle_app::ErrorCode::ResolutionFailed && !errors.is_empty());
    let Some(errors) = resolution else {
        return super::failure(e, Format::Table);
    };
    eprintln!("error: {}", e.message);
    let shown = file.display().to_string();
    for r in errors {
        eprintln!(
            "{}",
            socle_score::locate_error(text, &shown, &r.keys, &r.rule, r.message, limits)
        );
    }
    super::exit(true)
}

/// The deploy input for `a.file`, parsed here (diagnostics name the file) with its `source`
/// files inlined, and the file's text; None when the workload is invalid (errors printed, each
/// at its `file:line`).
fn input(
    a: &DeployArgs,
    limits: &socle_catalog::Limits,
) -> anyhow::Result<Option<(DeployInput, String)>> {
    let file = a.file.as_ref().expect("clap requires a file here");
    let shown = file.display().to_string();
    let parsed = super::workload::read_score_file(file, limits)
        .map_err(|e| vec![e])
        .and_then(|text| socle_score::parse_workload(&text, &shown, limits).map(|w| (w, text)));
    let (mut workload, text) = match parsed {
        Ok(w) => w,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return Ok(None);
        }
    };
    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
    if let Err(e) = socle_deploy::inline_file_sources(&mut workload, &dir, limits) {
        eprintln!("{shown}: {e}");
        return Ok(None);
    }
    Ok(Some((
        DeployInput {
            workload: WorkloadInput::Parsed(Box::new(workload)),
            environment: a.env.clone().unwrap_or_default(),
            image: a.image.clone(),
            version: a.app_version.clone(),
            source_commit: a.source_commit.clone(),
        },
        text,
    )))
}

pub async fn deployments(cmd: DeploymentsCmd) -> anyhow::Result<Outcome> {
    let DeploymentsCmd::List {
        service,
        env,
        limit,
        store,
        output,
    } = cmd;
    let store = store.open_to_read().await?;
    let mut list = store
        .list_deployments(service.as_deref(), env.as_deref(), limit)
        .await?;
    for d in &mut list {
        d.spec.clear();
    }
    Outcome::list(output, &list, |l| {
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
