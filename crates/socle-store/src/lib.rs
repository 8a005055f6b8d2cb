//! The store: the only crate that writes SQL. One API over two backends — SQLite (embedded, WAL,
//! the default) and PostgreSQL (shared installs with several replicas) — with embedded migrations.
//!
//! Every write that changes the catalog happens in one transaction: a failed ingest leaves the
//! previous catalog exactly as it was.

mod adoption;
pub mod backup;
mod catalog;
mod catalog_log;
mod catalog_read;
mod catalog_sort;
mod crypto;
mod data_grants;
mod data_quality;
mod data_runs;
mod deployments;
mod dora;
mod dora_load;
mod feedback;
mod findings;
mod guardrails;
mod live_runs;
mod notifications;
mod reminders;
mod resources;
mod score_counts;
mod scores;
mod security;
mod slo;
mod sso;
mod status;
mod surveys;
mod templates;

use std::borrow::Cow;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlSafeStr};

pub use adoption::{
    ActivityCount, AdoptionWeekCounts, FirstDeployment, MAX_ADOPTION_RUNS, MAX_WEEK_SCOPES,
    RunSummary, WeekSnapshot,
};
pub use catalog::{
    ApplyInput, ApplyOutcome, ConflictRecord, EntityFilter, LocationRecord, LocationTrust,
    StoredEntity, StoredRelation, invert,
};
pub use catalog_log::{CatalogChanges, CatalogDelta, KEPT_GENERATIONS};
pub use catalog_read::{CatalogSink, LoadedEntity};
pub use crypto::SecretKey;
pub use data_grants::{
    GrantDecision, GrantQuery, GrantRecord, GrantStatus, MAX_GRANT_LIST, NewGrant,
};
pub use data_quality::{
    MAX_QUALITY_CHECKS_BYTES, MAX_QUALITY_LIST, MAX_QUALITY_RUNS_KEPT, NewQualityRun,
    QualityOrigin, QualityRunRecord, QualityVerdict,
};
pub use data_runs::{
    CheckCounts, DataRunModelRecord, DataRunRecord, MAX_DATA_RUN_MODELS, MAX_DATA_RUNS_LIST,
    ModelStatus,
};
pub use deployments::DeploymentRecord;
pub use dora::{DoraLog, DoraWritten, IncidentQuery};
pub use dora_load::{LoadBatch, PackedPage};
pub use feedback::{FeedbackRecord, MAX_FEEDBACK_LIST, NewFeedback};
pub use findings::{FindingRecord, FindingsImported, NewFinding};
pub use guardrails::{PolicyResult, Waiver};
pub use live_runs::{LIVE_RUN_RETENTION_MS, LiveOutcome, LiveRunRecord, MAX_LIVE_LOG_BYTES};
pub use notifications::{
    MAX_RECIPIENT_REFS, NewNotification, Notification, NotificationPage, Recipients,
};
pub use reminders::{ReminderClaim, ReminderRecord, ReminderStatus};
pub use resources::{
    ResourceOutputs, ResourceOwnership, ResourceRecord, ResourceRow, ResourcesApplied,
};
pub use score_counts::{DayCount, RuleCount, ScoreCount, ScoreSummary};
pub use scores::{DAY_MS, ScoreDay, ScoreQuery, ScoreRecord, ScoreScope};
pub use security::{AuditEntry, Principal, Role, TokenRecord};
pub use slo::{
    MAX_SLO_INTERVAL_MS, MAX_SLO_INTERVALS, SloCounts, SloInterval, SloKey, SloStatus, SloSummary,
};
pub use sso::{OidcLogin, SSO_TOKEN_ID, SsoSession};
pub use status::{
    DeploymentStatus, FeedbackStatus, NotificationSeverity, RefreshStatus, RunStatus,
};
pub use surveys::{MAX_RESPONDENTS, StoredResponse, SurveySubmission};
pub use templates::TemplateRun;

/// Store failures. `User` errors are the caller's (bad input, unknown id); the others are
/// internal and must not be shown to API clients verbatim.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request conflicts with what is stored (already registered, owned by another team).
    #[error("{0}")]
    User(String),
    /// A value the caller gave is malformed or out of bounds.
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
    /// The database server did not accept a connection (refused, unknown host, bad
    /// credentials, no answer in time).
    #[error("cannot connect to the database at {at}: {cause}")]
    Unreachable { at: String, cause: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where the store lives.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `postgres://…` for PostgreSQL, `sqlite://path` for a given SQLite file, or `None` for
    /// SQLite in `data_dir/socle.db`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    /// PostgreSQL only: a schema to create and use (isolates test runs sharing one database).
    pub pg_schema: Option<String>,
    pub max_connections: u32,
    /// The key sealing secrets at rest; `None`: secret-bearing tables are unavailable.
    pub secret_key: Option<SecretKey>,
    /// Open without writing anything: no migration, no file created, SQLite read-only (no
    /// checkpoint either), PostgreSQL in read-only transactions. For previews.
    pub read_only: bool,
}

impl StoreConfig {
    pub fn new(data_dir: impl Into<PathBuf>, database_url: Option<String>) -> Self {
        Self {
            database_url,
            data_dir: data_dir.into(),
            pg_schema: None,
            max_connections: 8,
            secret_key: None,
            read_only: false,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle on the store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Seals secrets at rest (resource state and outputs).
    pub(crate) secret_key: Option<SecretKey>,
    /// Changed entities from which a catalog apply is large (see `catalog_large_apply`).
    pub(crate) large_apply: usize,
    /// Rows per page of a full catalog load on SQLite (see `catalog_read`).
    pub(crate) load_page: catalog_read::LoadPage,
}

/// Runs `$body` with `$pool` bound to the backend's pool: the same SQL text compiled once per
/// backend (both accept `$1`-style parameters).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// A write transaction. On SQLite, `BEGIN IMMEDIATE` takes the write lock at once: a
/// transaction that reads before it writes would otherwise fail with `SQLITE_BUSY_SNAPSHOT`
/// (517, "database is locked") when another connection wrote in between — the busy timeout
/// does not help there; now it waits for the lock instead. PostgreSQL: a plain `BEGIN`.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = std::result::Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>,
    > + Send;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = std::result::Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>,
    > + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = std::result::Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>,
    > + Send {
        self.begin()
    }
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "catalog", include_str!("../migrations/0001_catalog.sql")),
    (
        2,
        "resources",
        include_str!("../migrations/0002_resources.sql"),
    ),
    (
        3,
        "deployments",
        include_str!("../migrations/0003_deployments.sql"),
    ),
    (
        4,
        "guardrails",
        include_str!("../migrations/0004_guardrails.sql"),
    ),
    (5, "dora", include_str!("../migrations/0005_dora.sql")),
    (
        6,
        "template_runs",
        include_str!("../migrations/0006_template_runs.sql"),
    ),
    (
        7,
        "sessions",
        include_str!("../migrations/0007_sessions.sql"),
    ),
    (
        8,
        "location_trust",
        include_str!("../migrations/0008_location_trust.sql"),
    ),
    (
        9,
        "resource_owner",
        include_str!("../migrations/0009_resource_owner.sql"),
    ),
    (
        10,
        "released",
        include_str!("../migrations/0010_released.sql"),
    ),
    (
        11,
        "incident_details",
        include_str!("../migrations/0011_incident_details.sql"),
    ),
    (
        12,
        "dora_change_ids",
        include_str!("../migrations/0012_dora_change_ids.sql"),
    ),
    (
        13,
        "notifications",
        include_str!("../migrations/0013_notifications.sql"),
    ),
    (14, "slo", include_str!("../migrations/0014_slo.sql")),
    (
        20,
        "findings",
        include_str!("../migrations/0020_findings.sql"),
    ),
    (
        21,
        "scorecard_results",
        include_str!("../migrations/0021_scorecard_results.sql"),
    ),
    (
        22,
        "campaign_reminders",
        include_str!("../migrations/0022_campaign_reminders.sql"),
    ),
    (
        23,
        "scorecard_counts",
        include_str!("../migrations/0023_scorecard_counts.sql"),
    ),
    (
        24,
        "scorecard_day_totals",
        include_str!("../migrations/0024_scorecard_day_totals.sql"),
    ),
    (
        25,
        "scorecard_results_owner_level",
        include_str!("../migrations/0025_scorecard_results_owner_level.sql"),
    ),
    (30, "oidc", include_str!("../migrations/0030_oidc.sql")),
    (
        31,
        "live_runs",
        include_str!("../migrations/0031_live_runs.sql"),
    ),
    (
        40,
        "surveys",
        include_str!("../migrations/0040_surveys.sql"),
    ),
    (
        41,
        "feedback",
        include_str!("../migrations/0041_feedback.sql"),
    ),
    (
        42,
        "adoption",
        include_str!("../migrations/0042_adoption.sql"),
    ),
    (
        43,
        "adoption weeks",
        include_str!("../migrations/0043_adoption_weeks.sql"),
    ),
    (
        50,
        "data runs",
        include_str!("../migrations/0050_data_runs.sql"),
    ),
    (
        55,
        "data_access_grants",
        include_str!("../migrations/0055_data_access_grants.sql"),
    ),
    (
        56,
        "data_quality_runs",
        include_str!("../migrations/0056_data_quality_runs.sql"),
    ),
    (
        60,
        "dora_log",
        include_str!("../migrations/0060_dora_log.sql"),
    ),
    (
        65,
        "catalog_changes",
        include_str!("../migrations/0065_catalog_changes.sql"),
    ),
];

fn migrator() -> Migrator {
    migrator_up_to(i64::MAX)
}

/// The migrations up to `version` included.
fn migrator_up_to(version: i64) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .filter(|(v, _, _)| *v <= version)
        .map(|(v, d, sql)| {
            Migration::new(
                *v,
                Cow::Borrowed(*d),
                MigrationType::Simple,
                AssertSqlSafe(*sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// The last migration this binary knows (the store's schema version once opened).
pub fn schema_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// A new SQLite database at `path` migrated up to `version` only, as an older release left it:
/// how the in-place upgrade test's fixture is made (its data is then written with that
/// release's SQL). Not for anything else.
#[doc(hidden)]
pub async fn create_sqlite_at(path: &std::path::Path, version: i64) -> Result<SqlitePool> {
    private_file(path)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path))
        .await?;
    migrator_up_to(version).run(&pool).await?;
    Ok(pool)
}

/// Creates the SQLite file readable by its owner only (0600) before SQLite does; SQLite gives
/// its `-wal` and `-shm` files the same mode. An existing file is left as it is.
fn private_file(path: &std::path::Path) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::DataDir {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// How long the first connection to a database server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection attempt before the pool is built, so that a closed port or a wrong password
/// is reported at once, with its cause, instead of a pool time-out after retrying.
async fn probe(opts: &PgConnectOptions) -> Result<()> {
    use sqlx::{ConnectOptions, Connection};
    let at = format!("{}:{}", opts.get_host(), opts.get_port());
    match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(StoreError::Unreachable {
            at,
            cause: connect_cause(&e),
        }),
        Err(_) => Err(StoreError::Unreachable {
            at,
            cause: format!("no answer in {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// The root cause of a failed connection, as the operating system or the server said it.
fn connect_cause(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

impl Store {
    /// Opens (and migrates) the store.
    pub async fn open(config: &StoreConfig) -> Result<Self> {
        let url = config.database_url.as_deref().unwrap_or("");
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)?;
            probe(&opts).await?;
            if config.read_only {
                opts = opts.options([("default_transaction_read_only", "on")]);
            }
            if let Some(schema) = &config.pg_schema {
                if !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(StoreError::User(format!("invalid schema name {schema}")));
                }
                if !config.read_only {
                    let admin = PgPoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts.clone())
                        .await?;
                    sqlx::query(AssertSqlSafe(format!(
                        "CREATE SCHEMA IF NOT EXISTS {schema}"
                    )))
                    .execute(&admin)
                    .await?;
                    admin.close().await;
                }
                opts = opts.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Backend::Postgres(pool)
        } else {
            let path = match url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
            {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ if url.is_empty() && config.read_only => config.data_dir.join("socle.db"),
                _ if url.is_empty() => {
                    std::fs::create_dir_all(&config.data_dir).map_err(|source| {
                        StoreError::DataDir {
                            path: config.data_dir.display().to_string(),
                            source,
                        }
                    })?;
                    config.data_dir.join("socle.db")
                }
                _ => {
                    return Err(StoreError::User(format!(
                        "unsupported database URL \"{url}\"; use postgres://… or sqlite://PATH"
                    )));
                }
            };
            let opts = if config.read_only {
                SqliteConnectOptions::new()
                    .filename(&path)
                    .read_only(true)
                    .busy_timeout(Duration::from_secs(30))
            } else {
                private_file(&path)?;
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
            };
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                // A large apply or import raises its connection's page cache, and leaves the
                // checkpoint of its commit to `checkpoint_later`; whatever happened (a failure
                // included), the connection goes back with the usual settings.
                .after_release(|conn, _| {
                    Box::pin(async move {
                        for reset in [
                            "PRAGMA cache_size = -2000",
                            "PRAGMA wal_autocheckpoint = 1000",
                        ] {
                            sqlx::query(reset).execute(&mut *conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(opts)
                .await?;
            Backend::Sqlite(pool)
        };
        let store = Store {
            backend,
            secret_key: config.secret_key.clone(),
            large_apply: catalog::LARGE_APPLY,
            load_page: catalog_read::LoadPage::default(),
        };
        if !config.read_only {
            let m = migrator();
            with_pool!(store, pool => m.run(pool).await?);
        }
        Ok(store)
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A cheap liveness check of the database.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// Increases every time the catalog changes; replicas poll it to know when to reload.
    /// SQLite: copies the write-ahead log into the database in a task of its own (a passive
    /// checkpoint: it waits for no reader or writer), after a large commit that did not. The
    /// caller goes on, and reads meanwhile see every committed page (from the log). Should the
    /// process end first, the next commit or connection to close checkpoints instead.
    pub(crate) fn checkpoint_later(&self) {
        let Backend::Sqlite(pool) = &self.backend else {
            return;
        };
        let pool = pool.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                Ok(_) => tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "write-ahead log checkpointed"
                ),
                Err(e) => tracing::warn!(error = %e, "write-ahead log checkpoint failed"),
            }
        });
    }

    pub async fn catalog_generation(&self) -> Result<i64> {
        let v: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'catalog_generation'").fetch_one(pool).await?
        });
        Ok(v)
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`; true when held.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool> {
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE leases.expires_at < $4 OR leases.holder = excluded.holder",
            )
            .bind(name)
            .bind(holder)
            .bind(now_ms + ttl_ms)
            .bind(now_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Gives back the lease `name` if `holder` holds it (another may take it at once).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
