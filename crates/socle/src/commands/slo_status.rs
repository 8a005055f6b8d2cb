//! `socle slo status`: a catalog entity's SLOs and their error budgets in one environment, as
//! the server measures them (the environment's Prometheus, or counts pushed to Socle).

use std::path::PathBuf;

use clap::Args;

use super::setup::{AppSetup, LimitArgs, NetArgs, StoreArgs, open_app};
use crate::output::{Format, Outcome};

#[derive(Args)]
pub struct StatusArgs {
    /// The entity (`shop`, `component:default/shop`) whose `socle.dev/slo` file names its SLOs.
    entity: String,
    /// The environment (default: the platform's first production environment).
    #[arg(long)]
    env: Option<String>,
    /// Platform configuration directory (default: the shipped configuration); its
    /// environments' `slo.prometheusUrl` say where SLIs are measured.
    #[arg(long)]
    platform: Option<PathBuf>,
    /// PEM certificates trusted for an https:// Prometheus besides the system's store.
    #[arg(long, env = "SOCLE_CA_FILE")]
    ca_file: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

pub async fn run(a: StatusArgs) -> anyhow::Result<Outcome> {
    let setup = AppSetup {
        store: &a.store,
        platform: a.platform.as_ref(),
        guardrails: "none",
        limits: a.limits.limits(),
    };
    let net = NetArgs {
        ca_file: a.ca_file.clone(),
        ..Default::default()
    };
    let config = socle_app::AppConfig {
        tls: net.tls()?,
        ..setup.config()?
    };
    let app = open_app(a.store.open_to_read().await?, config).await?;
    let slos = app
        .entity_slos(&super::operator(), &a.entity, a.env.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    Outcome::list(a.output, &slos.budgets, super::slo::budget_table)
}
