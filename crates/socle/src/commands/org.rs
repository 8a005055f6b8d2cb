//! `socle org …`: the organisation from a directory (LDAP / Active Directory).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use socle_app::org_sync::OrgSyncConfig;

use super::setup::{LimitArgs, NetArgs, StoreArgs};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum OrgCmd {
    /// Read users and groups (with nesting) from the directories of an org sync configuration
    /// into the catalog once, as `socle serve --org-sync` does on a schedule.
    #[command(
        after_help = "Example:\n  socle org sync --config org-sync.yaml -o json\n\n\
org-sync.yaml (Backstage's LDAP org provider shape; the password comes from a file or a variable):\n\
  providers:\n\
    - name: corp\n\
      target: ldaps://ldap.example.org\n\
      bind:\n\
        dn: cn=socle,ou=services,dc=example,dc=org\n\
        passwordFile: /run/secrets/ldap-password\n\
      users:\n\
        - dn: ou=people,dc=example,dc=org\n\
          options: { filter: (objectClass=inetOrgPerson) }\n\
      groups:\n\
        - dn: ou=groups,dc=example,dc=org\n\
          options: { filter: (objectClass=groupOfNames) }"
    )]
    Sync(SyncArgs),
}

#[derive(Args)]
pub struct SyncArgs {
    /// The org sync configuration (YAML): providers, bind, user and group searches, maps.
    #[arg(long)]
    config: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// PEM certificates trusted for ldaps:// and StartTLS besides the system's store (a
    /// private CA).
    #[arg(long, env = "SOCLE_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

pub async fn run(cmd: OrgCmd) -> anyhow::Result<Outcome> {
    match cmd {
        OrgCmd::Sync(args) => sync(args).await,
    }
}

async fn sync(args: SyncArgs) -> anyhow::Result<Outcome> {
    super::must_exist(&args.config)?;
    let config = OrgSyncConfig::load(&args.config)?;
    let roots = NetArgs {
        ca_file: args.ca_file.clone(),
        git_hosts: None,
    }
    .tls()?;
    let store = args.store.open().await?;
    let app = super::setup::open_app(
        store,
        socle_app::AppConfig {
            limits: args.limits.limits(),
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await?;
    let mut reports = Vec::new();
    for provider in &config.providers {
        let report = match app.sync_org(&super::operator(), provider, &roots).await {
            Ok(r) => r,
            Err(e) => return super::failure(&e, args.output),
        };
        reports.push(report);
    }
    let failed = reports
        .iter()
        .any(|r| r.outcome.status == socle_store::RefreshStatus::Failed);
    let errors: Vec<String> = reports
        .iter()
        .flat_map(|r| r.outcome.errors.iter().map(ToString::to_string))
        .collect();
    Ok(Outcome::list(args.output, &reports, |list| {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|r| {
                vec![
                    r.location.clone(),
                    r.outcome.status.to_string(),
                    r.users.to_string(),
                    r.groups.to_string(),
                    r.outcome.added.to_string(),
                    r.outcome.updated.to_string(),
                    r.outcome.removed.to_string(),
                    r.outcome.errors.len().to_string(),
                ]
            })
            .collect();
        output::table(
            &[
                "LOCATION", "STATUS", "USERS", "GROUPS", "ADDED", "UPDATED", "REMOVED", "ERRORS",
            ],
            &rows,
        )
    })?
    .table_stderr(errors)
    .failed(failed))
}
