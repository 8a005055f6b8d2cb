//! `socle resources …`: provisioned resources and their outputs.

use clap::Subcommand;

use super::fmt_time;
use super::setup::StoreArgs;
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum ResourcesCmd {
    /// List provisioned resources.
    #[command(after_help = "Example:\n  socle resources list --env dev")]
    List {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Show a resource's outputs (secret outputs masked unless --show-secrets).
    #[command(
        after_help = "Example:\n  socle resources outputs postgres.default#shop.db --env dev"
    )]
    Outputs {
        /// The resource uid (see `socle resources list`).
        uid: String,
        /// The environment it was provisioned in.
        #[arg(long)]
        env: String,
        /// Print secret outputs too (masked by default).
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn run(cmd: ResourcesCmd) -> anyhow::Result<Outcome> {
    match cmd {
        ResourcesCmd::List { env, store, output } => {
            let list = store
                .open_to_read()
                .await?
                .list_resources(env.as_deref())
                .await?;
            Outcome::list(output, &list, |l| {
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
            })
        }
        ResourcesCmd::Outputs {
            uid,
            env,
            show_secrets,
            store,
            output,
        } => {
            let found = store
                .open_to_read()
                .await?
                .resource_outputs(&env, &uid)
                .await?;
            let mut outputs = found.outputs;
            if !show_secrets {
                for (k, v) in outputs.iter_mut() {
                    if found.secrets.contains(k) {
                        *v = serde_json::json!("********");
                    }
                }
            }
            Outcome::new(output, &outputs, |o| {
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
            })
        }
    }
}
