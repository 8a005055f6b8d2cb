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

pub async fn run(cmd: TokenCmd) -> anyhow::Result<Outcome> {
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
            Outcome::new(output, &list, |l| {
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
        TokenCmd::Revoke { id, store } => {
            let store = store.open().await?;
            store.revoke_token(&id, now_ms()).await?;
            super::audit(&store, AuditAction::TokenRevoke, &id, AuditOutcome::Ok, "").await?;
            Ok(Outcome::text(format!("token {id} revoked\n")))
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
