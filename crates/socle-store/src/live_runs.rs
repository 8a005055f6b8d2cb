//! Golden-path runs in progress (migration 0031): their growing log in the store, so that the
//! live page works on any replica, not only the one running the run.

use sqlx::Row;

use crate::{Result, Store, StoreError, with_pool};

/// Live runs older than this are forgotten (their recorded runs stay in `template_runs`).
pub const LIVE_RUN_RETENTION_MS: i64 = 3600 * 1000;
/// The most bytes of log kept for a live run (the recorded run keeps the whole log).
pub const MAX_LIVE_LOG_BYTES: usize = 1 << 20;

/// How a live run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveOutcome {
    /// Recorded as this template run.
    Recorded(String),
    /// Refused by the application, with its message.
    Refused(String),
    /// Failed on the server (logged there; no cause shown).
    ServerError,
}

/// A live run as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveRunRecord {
    pub key: String,
    pub actor: String,
    pub template: String,
    /// The JSON array of log lines so far.
    pub log: String,
    /// None while running.
    pub outcome: Option<LiveOutcome>,
    pub started_at: i64,
    /// The running replica's last write (log or heartbeat).
    pub updated_at: i64,
}

fn check_log(log: &str) -> Result<()> {
    if log.len() > MAX_LIVE_LOG_BYTES {
        return Err(StoreError::Invalid(format!(
            "a live run's log is limited to {MAX_LIVE_LOG_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Store {
    /// Records a run that starts now under `key`; live runs older than the retention go.
    pub async fn start_live_run(
        &self,
        key: &str,
        actor: &str,
        template: &str,
        now_ms: i64,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM live_runs WHERE started_at < $1")
                .bind(now_ms - LIVE_RUN_RETENTION_MS).execute(pool).await?;
            sqlx::query("INSERT INTO live_runs (key, actor, template, log, done, run_id, error, started_at, updated_at) VALUES ($1, $2, $3, '[]', 0, NULL, NULL, $4, $4)")
                .bind(key).bind(actor).bind(template).bind(now_ms)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// The log so far of a running run (a finished run is left as it ended).
    pub async fn update_live_run(&self, key: &str, log: &str, now_ms: i64) -> Result<()> {
        check_log(log)?;
        with_pool!(self, pool => {
            sqlx::query("UPDATE live_runs SET log = $2, updated_at = $3 WHERE key = $1 AND done = 0")
                .bind(key).bind(log).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// The run's end: its whole (bounded) log and outcome, once.
    pub async fn finish_live_run(
        &self,
        key: &str,
        log: &str,
        outcome: &LiveOutcome,
        now_ms: i64,
    ) -> Result<()> {
        check_log(log)?;
        let (run_id, error) = match outcome {
            LiveOutcome::Recorded(id) => (Some(id.as_str()), None),
            LiveOutcome::Refused(m) => (None, Some(m.as_str())),
            LiveOutcome::ServerError => (None, None),
        };
        with_pool!(self, pool => {
            sqlx::query("UPDATE live_runs SET log = $2, done = 1, run_id = $3, error = $4, updated_at = $5 WHERE key = $1 AND done = 0")
                .bind(key).bind(log).bind(run_id).bind(error).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// A live run by its key (None: unknown, or forgotten).
    pub async fn get_live_run(&self, key: &str) -> Result<Option<LiveRunRecord>> {
        if key.is_empty() || key.len() > 64 {
            return Ok(None);
        }
        Ok(with_pool!(self, pool => {
            let row = sqlx::query("SELECT key, actor, template, log, done, run_id, error, started_at, updated_at FROM live_runs WHERE key = $1")
                .bind(key).fetch_optional(pool).await?;
            match row {
                None => None,
                Some(r) => {
                    let done: i64 = r.try_get("done")?;
                    let run_id: Option<String> = r.try_get("run_id")?;
                    let error: Option<String> = r.try_get("error")?;
                    let outcome = (done != 0).then_some(match (run_id, error) {
                        (Some(id), _) => LiveOutcome::Recorded(id),
                        (None, Some(m)) => LiveOutcome::Refused(m),
                        (None, None) => LiveOutcome::ServerError,
                    });
                    Some(LiveRunRecord {
                        key: r.try_get("key")?,
                        actor: r.try_get("actor")?,
                        template: r.try_get("template")?,
                        log: r.try_get("log")?,
                        outcome,
                        started_at: r.try_get("started_at")?,
                        updated_at: r.try_get("updated_at")?,
                    })
                }
            }
        }))
    }
}
