//! Readiness (`/readyz`): whether this replica should receive traffic — the database answers
//! within a bound, and the read model is in step with the store (or was, recently: a replica
//! whose reloads keep failing stops being ready, so a load balancer sends its readers
//! elsewhere).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::App;

/// How long the database may take to answer a readiness probe.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the read model may lag behind the store before the replica is not ready: a change
/// is normally picked up at the next poll (`AppConfig::poll_interval`), so this is many polls.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// One check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// The database did not answer (or not in time).
    Unavailable,
    /// The read model lags behind the store for longer than [`STALE_AFTER`].
    Stale,
}

/// The database check.
#[derive(Clone, Debug, Serialize)]
pub struct DatabaseCheck {
    pub status: CheckStatus,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// How long the probe took.
    pub latency_ms: u64,
}

/// The read model check.
#[derive(Clone, Debug, Serialize)]
pub struct ReadModelCheck {
    pub status: CheckStatus,
    /// The catalog generation the read model was built at.
    pub generation: i64,
    /// The store's catalog generation (None: the database did not answer).
    pub store_generation: Option<i64>,
    pub entities: usize,
    /// Milliseconds since the read model was last known to match the store.
    pub synced_ms_ago: i64,
}

/// Every check, and whether all passed.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: DatabaseCheck,
    pub read_model: ReadModelCheck,
}

impl App {
    /// Records that the read model matches the store now (after a poll or a reload).
    pub(crate) fn mark_in_sync(&self) {
        self.synced_at_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The readiness checks; bounded by [`DATABASE_TIMEOUT`], never reloads anything.
    pub async fn readiness(&self) -> Readiness {
        let started = Instant::now();
        let store_generation =
            match tokio::time::timeout(DATABASE_TIMEOUT, self.store.catalog_generation()).await {
                Ok(Ok(g)) => Some(g),
                Ok(Err(e)) => {
                    tracing::warn!("readiness: database unavailable: {e}");
                    None
                }
                Err(_) => {
                    tracing::warn!(
                        "readiness: the database did not answer within {DATABASE_TIMEOUT:?}"
                    );
                    None
                }
            };
        let database = DatabaseCheck {
            status: if store_generation.is_some() {
                CheckStatus::Ok
            } else {
                CheckStatus::Unavailable
            },
            backend: self.store.backend_name(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let snap = self.snapshot();
        if store_generation == Some(snap.generation) {
            self.mark_in_sync();
        }
        let synced_ms_ago = (self.now_ms() - self.synced_at_ms.load(Ordering::Relaxed)).max(0);
        let fresh = store_generation == Some(snap.generation)
            || u128::try_from(synced_ms_ago).unwrap_or(0) <= STALE_AFTER.as_millis();
        let read_model = ReadModelCheck {
            status: if fresh {
                CheckStatus::Ok
            } else {
                CheckStatus::Stale
            },
            generation: snap.generation,
            store_generation,
            entities: snap.len(),
            synced_ms_ago,
        };
        Readiness {
            ready: database.status == CheckStatus::Ok && read_model.status == CheckStatus::Ok,
            database,
            read_model,
        }
    }
}
