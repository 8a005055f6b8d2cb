//! `socle backup` and `socle restore`: a SQLite store copied while the server runs, and put
//! back into a stopped (or new) data directory. PostgreSQL stores are pg_dump's job.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use socle_store::backup::{BackupInfo, PG_DUMP_HINT};

use super::setup::StoreArgs;
use crate::output::{self, Format, Outcome};

#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist; created readable by its owner only).
    #[arg(long)]
    to: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The backup file (from `socle backup`).
    #[arg(long)]
    from: PathBuf,
    /// Replace a store that holds data (never one in use: stop the server first).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArgs,
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// The SQLite file of `store`, or the reason there is none to copy.
fn sqlite_file(store: &StoreArgs) -> anyhow::Result<PathBuf> {
    match store.url()?.as_deref() {
        None => Ok(store.data_dir.join("socle.db")),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            bail!("{PG_DUMP_HINT}")
        }
        Some(url) => match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => bail!("unsupported database URL \"{url}\"; use postgres://… or sqlite://PATH"),
        },
    }
}

fn table(verb: &str, i: &BackupInfo) -> String {
    output::table(
        &[
            "",
            "FILE",
            "BYTES",
            "SCHEMA",
            "ENTITIES",
            "TOKENS",
            "DEPLOYMENTS",
        ],
        &[vec![
            verb.to_owned(),
            i.path.display().to_string(),
            i.bytes.to_string(),
            i.migration.to_string(),
            i.entities.to_string(),
            i.tokens.to_string(),
            i.deployments.to_string(),
        ]],
    )
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<Outcome> {
    sqlite_file(&args.store)?;
    let store = args.store.open_to_read().await?;
    let info = store.backup_to(&args.to).await?;
    Outcome::new(args.output, &info, |i| table("backup", i))
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<Outcome> {
    let target = sqlite_file(&args.store)?;
    super::must_exist(&args.from)?;
    let info = socle_store::backup::restore(&args.from, &target, args.force).await?;
    // Opening it migrates a backup of an older release; secrets need the same key as before.
    let store = args.store.open().await?;
    store.close().await;
    let info = BackupInfo {
        migration: socle_store::schema_version(),
        ..info
    };
    Outcome::new(args.output, &info, |i| {
        format!(
            "{}Sealed resource secrets need the source's key: its data directory's secret.key or SOCLE_SECRET_KEY.\n",
            table("restored", i)
        )
    })
}
