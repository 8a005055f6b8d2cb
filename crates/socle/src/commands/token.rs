//! `socle token …`: API tokens, directly in the store.

use anyhow::bail;
use clap::Subcommand;
use socle_store::{Role, Store};

use super::setup::StoreArgs;
use socle_app::{AuditAction, AuditOutcome};

use super::{fmt_time, now_ms};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Create a token; its secret is printed once.
    #[command(
        after_help = "Example:\n  socle token create --name ci --subject serviceaccount:ci --role member"
    )]
    Create {
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// `user:default/jane` or `serviceaccount:<name>`.
        #[arg(long)]
        subject: String,
        /// viewer (read), member (their teams' services) or admin.
        #[arg(long, value_parser = ["admin", "member", "viewer"], default_value = "member")]
        role: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// List tokens (never their secrets).
    #[command(after_help = "Example:\n  socle token list -o json")]
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Revoke a token by id.
    #[command(after_help = "Example:\n  socle token revoke tok-3")]
    Revoke {
        /// The token id (see `socle token list`).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

pub async fn run(cmd: TokenCmd) -> anyhow::Result<Outcome> {
    match cmd {
        TokenCmd::Create {
            name,
            subject,
            role,
            store,
            output,
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("--role {role:?}: expected viewer, member or admin");
            };
            if !subject.starts_with("serviceaccount:") && !subject.starts_with("user:") {
                bail!("--subject must be user:<namespace>/<name> or serviceaccount:<name>");
            }
            let store = store.open().await?;
            let subject = subject_arg(&store, subject).await?;
            let (rec, secret) = store.create_token(&name, &subject, role, now_ms()).await?;
            super::audit(
                &store,
                AuditAction::TokenCreate,
                &rec.id,
                AuditOutcome::Ok,
                "",
            )
            .await?;
            let v = serde_json::json!({"token": rec, "secret": secret});
            Outcome::new(output, &v, |_| {
                format!(
                    "token {} for {} ({}):\n{secret}\n",
                    rec.id,
                    rec.subject,
                    rec.role.as_str()
                )
            })
        }
        TokenCmd::List { store, output } => {
            let list = store.open_to_read().await?.list_tokens().await?;
            Outcome::list(output, &list, |l| {
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
            })
        }
        TokenCmd::Revoke { id, store, output } => {
            let store = store.open_to_read().await?;
            store.revoke_token(&id, now_ms()).await?;
            super::audit(&store, AuditAction::TokenRevoke, &id, AuditOutcome::Ok, "").await?;
            let revoked = serde_json::json!({"id": id, "revoked": true});
            Outcome::new(output, &revoked, |_| format!("token {id} revoked\n"))
        }
    }
}

/// A token belongs to a catalog User or a service account.
async fn subject_arg(store: &Store, subject: String) -> anyhow::Result<String> {
    if let Some(sa) = subject.strip_prefix("serviceaccount:") {
        if !socle_catalog::rules::is_object_name(sa) {
            bail!(
                "service account name \"{sa}\" is not valid; expected {}",
                socle_catalog::rules::NAME_EXPECTED
            );
        }
        Ok(subject)
    } else if subject.starts_with("user:") {
        let user =
            socle_catalog::EntityRef::parse_full(&subject).map_err(|e| anyhow::anyhow!("{e}"))?;
        if store.get_entity(user.as_str()).await?.is_none() {
            bail!(
                "{user} is not in the catalog: a token belongs to a catalog User or a service account"
            );
        }
        Ok(user.to_string())
    } else {
        bail!("--subject must be user:<namespace>/<name> or serviceaccount:<name>");
    }
}
