//! Backups of a SQLite store and their restore. A backup is `VACUUM INTO` a new file: one
//! consistent snapshot taken while the server runs (a read transaction; writers carry on). A
//! restore checks the backup is a Socle store (the migrations table, nothing newer than this
//! binary knows, `PRAGMA integrity_check`), refuses a target that is in use or holds data
//! unless forced, copies it in with `VACUUM INTO` beside the target and renames it into place;
//! the next open migrates it if it comes from an older release. PostgreSQL stores are backed up
//! with `pg_dump`, which this module says.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};

use crate::{Backend, Result, Store, StoreError, private_file};

/// What a backup or a restore wrote.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BackupInfo {
    pub path: PathBuf,
    pub bytes: u64,
    /// The store's schema version (its last migration).
    pub migration: i64,
    pub entities: i64,
    pub tokens: i64,
    pub deployments: i64,
}

/// What a PostgreSQL store's operator is told.
pub const PG_DUMP_HINT: &str = "this store is on PostgreSQL: back it up with pg_dump (e.g. `pg_dump --format=custom --file socle.dump \"$SOCLE_DATABASE_URL\"`) and restore it with pg_restore";

impl Store {
    /// Writes a consistent copy of the store to `to` (a new file, created 0600) while it stays
    /// in use, and checks the copy.
    pub async fn backup_to(&self, to: &Path) -> Result<BackupInfo> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(StoreError::User(PG_DUMP_HINT.into()));
        };
        if to.exists() {
            return Err(StoreError::User(format!(
                "{} exists: a backup is written to a new file",
                to.display()
            )));
        }
        private_file(to)?;
        let result = sqlx::query("VACUUM INTO $1")
            .bind(to.to_string_lossy().into_owned())
            .execute(pool)
            .await;
        if let Err(e) = result {
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        inspect(to).await
    }
}

/// Restores the backup `from` as the SQLite store `target` (`DATA_DIR/socle.db`). An existing
/// target must not be open elsewhere (a running server) and must hold no data, unless `force`.
pub async fn restore(from: &Path, target: &Path, force: bool) -> Result<BackupInfo> {
    let source = inspect(from).await?;
    if target.exists() {
        let mut conn = connect(target, false).await?;
        // Leaving WAL mode needs every other connection closed: a running server fails it.
        if sqlx::query("PRAGMA journal_mode = DELETE")
            .fetch_one(&mut conn)
            .await
            .is_err()
        {
            // Closed before answering: a connection merely dropped closes later, on its worker
            // thread, and would itself keep the store "in use" for the caller's next attempt.
            let _ = conn.close().await;
            return Err(StoreError::User(format!(
                "{} is in use (a running server?): stop it before restoring",
                target.display()
            )));
        }
        let held = counts(&mut conn).await.unwrap_or((0, 0, 0));
        let _ = conn.close().await;
        if held != (0, 0, 0) && !force {
            return Err(StoreError::User(format!(
                "{} holds data ({} entities, {} tokens, {} deployments): pass --force to replace it",
                target.display(),
                held.0,
                held.1,
                held.2
            )));
        }
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    let staging = dir.join(".socle.db.restoring");
    let _ = std::fs::remove_file(&staging);
    private_file(&staging)?;
    let mut conn = connect(from, true).await?;
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(staging.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&staging);
        return Err(e.into());
    }
    for stale in ["-wal", "-shm"] {
        let mut p = target.as_os_str().to_owned();
        p.push(stale);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::rename(&staging, target).map_err(|source| StoreError::DataDir {
        path: target.display().to_string(),
        source,
    })?;
    let restored = inspect(target).await?;
    debug_assert_eq!(restored.entities, source.entities);
    Ok(restored)
}

async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .busy_timeout(Duration::ZERO);
    Ok(opts.connect().await?)
}

/// Checks that `path` is a sound Socle store this binary can open, and counts what it holds.
pub async fn inspect(path: &Path) -> Result<BackupInfo> {
    if !path.is_file() {
        return Err(StoreError::NotFound(path.display().to_string()));
    }
    let not_a_store =
        |why: &str| StoreError::User(format!("{} is not a Socle store: {why}", path.display()));
    let mut conn = connect(path, true)
        .await
        .map_err(|e| not_a_store(&e.to_string()))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_a_store(&e.to_string()))?;
    if check != "ok" {
        return Err(not_a_store(&format!("integrity check: {check}")));
    }
    let row = sqlx::query(
        "SELECT MAX(version) AS v, SUM(CASE WHEN success THEN 0 ELSE 1 END) AS failed FROM _sqlx_migrations",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|_| not_a_store("no migrations table"))?;
    let migration: Option<i64> = row.try_get("v")?;
    let failed: Option<i64> = row.try_get("failed")?;
    let Some(migration) = migration else {
        return Err(not_a_store("no migration applied"));
    };
    if failed.unwrap_or(0) > 0 {
        return Err(not_a_store("a migration failed in it"));
    }
    let known = crate::schema_version();
    if migration > known {
        return Err(StoreError::User(format!(
            "{} comes from a newer Socle (schema {migration}; this one knows up to {known})",
            path.display()
        )));
    }
    let (entities, tokens, deployments) = counts(&mut conn).await?;
    let _ = conn.close().await;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupInfo {
        path: path.to_owned(),
        bytes,
        migration,
        entities,
        tokens,
        deployments,
    })
}

async fn counts(conn: &mut SqliteConnection) -> Result<(i64, i64, i64)> {
    let mut out = [0i64; 3];
    for (i, table) in ["entities", "tokens", "deployments"].iter().enumerate() {
        out[i] = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut *conn)
            .await?;
    }
    Ok((out[0], out[1], out[2]))
}
