//! Golden-path runs followed live: the run goes on in the replica that started it, its log is
//! written to the store as it grows (at most twice a second, plus a heartbeat), so the live
//! page works on any replica; a run whose replica died shows as abandoned.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_scaffold::{LiveLog, LogLine};
use socle_store::{LiveOutcome, MAX_LIVE_LOG_BYTES};

use crate::{Actor, App, AppError};

/// How often a changed log is written.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// How often an unchanged run says it is still alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// A running run not updated for this long has lost its replica.
pub const ABANDONED_AFTER_MS: i64 = 30_000;

/// One line of a live log, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLine {
    pub step: String,
    pub level: String,
    pub message: String,
}

/// Where a live run is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveState {
    Running,
    /// Its replica stopped updating it (it died, or was killed) before it ended.
    Abandoned,
    Ended(LiveOutcome),
}

/// What the live page shows.
#[derive(Clone, Debug)]
pub struct LiveRunView {
    pub actor: String,
    pub template: String,
    pub lines: Vec<LiveLine>,
    pub state: LiveState,
}

/// The log as stored: the last lines that fit in [`MAX_LIVE_LOG_BYTES`], after a line saying
/// how many were left out.
pub fn encode_log(lines: &[LogLine]) -> String {
    let encoded: Vec<String> = lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap_or_default())
        .collect();
    let budget = MAX_LIVE_LOG_BYTES - 256;
    let mut used = 2;
    let mut first = encoded.len();
    while first > 0 && used + encoded[first - 1].len() < budget {
        first -= 1;
        used += encoded[first].len() + 1;
    }
    let mut kept: Vec<&str> = Vec::with_capacity(encoded.len() - first + 1);
    let note;
    if first > 0 {
        note = serde_json::json!({"step": "log", "level": "info",
            "message": format!("{first} earlier lines left out")})
        .to_string();
        kept.push(&note);
    }
    kept.extend(encoded[first..].iter().map(String::as_str));
    format!("[{}]", kept.join(","))
}

fn snapshot_of(log: &LiveLog) -> Vec<LogLine> {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

impl App {
    /// Starts `template` with `values` for `actor` in the background and returns the live
    /// run's key (random, 128 bits) at once; the run's refusal or failure is in its outcome.
    pub async fn start_live_run(
        self: &Arc<Self>,
        actor: &Actor,
        subject: &str,
        template: &str,
        values: Value,
    ) -> Result<String, AppError> {
        use rand::Rng;
        let mut bytes = [0u8; 16];
        rand::rng().fill(&mut bytes);
        let key = hex::encode(bytes);
        self.store
            .start_live_run(&key, subject, template, self.now_ms())
            .await?;
        let (app, actor, template, key2) = (
            self.clone(),
            actor.clone(),
            template.to_owned(),
            key.clone(),
        );
        tokio::spawn(async move {
            let log = LiveLog::default();
            let follow = app.follow_live_run(&key2, &log);
            let run = app.run_template(&actor, &template, values, false, Some(log.clone()));
            let done = tokio::select! {
                done = run => done,
                () = follow => unreachable!("following never ends"),
            };
            let outcome = match done {
                Ok(out) => LiveOutcome::Recorded(out.run.id),
                Err(e) if e.code.http_status() >= 500 => LiveOutcome::ServerError,
                Err(e) => LiveOutcome::Refused(e.message),
            };
            let text = encode_log(&snapshot_of(&log));
            if let Err(e) = app
                .store
                .finish_live_run(&key2, &text, &outcome, app.now_ms())
                .await
            {
                tracing::warn!("live run {key2}: its end was not stored: {e}");
            }
        });
        Ok(key)
    }

    /// Writes the log whenever it changed, and a heartbeat; runs until dropped.
    async fn follow_live_run(&self, key: &str, log: &LiveLog) {
        let mut written = Vec::new();
        let mut since_write = Duration::ZERO;
        loop {
            tokio::time::sleep(FLUSH_EVERY).await;
            since_write += FLUSH_EVERY;
            let now = snapshot_of(log);
            if now == written && since_write < HEARTBEAT_EVERY {
                continue;
            }
            let text = encode_log(&now);
            match self.store.update_live_run(key, &text, self.now_ms()).await {
                Ok(()) => {
                    written = now;
                    since_write = Duration::ZERO;
                }
                Err(e) => tracing::warn!("live run {key}: log not stored: {e}"),
            }
        }
    }

    /// A live run by its key, for an actor who may read (None: unknown or forgotten).
    pub async fn live_run(
        &self,
        actor: &Actor,
        key: &str,
    ) -> Result<Option<LiveRunView>, AppError> {
        self.can_read(actor)?;
        let Some(r) = self.store.get_live_run(key).await? else {
            return Ok(None);
        };
        let lines: Vec<LiveLine> = serde_json::from_str(&r.log).map_err(AppError::internal)?;
        let state = match r.outcome {
            Some(o) => LiveState::Ended(o),
            None if self.now_ms() - r.updated_at > ABANDONED_AFTER_MS => LiveState::Abandoned,
            None => LiveState::Running,
        };
        Ok(Some(LiveRunView {
            actor: r.actor,
            template: r.template,
            lines,
            state,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(message: String) -> LogLine {
        LogLine {
            step: "s".into(),
            level: "info",
            message,
        }
    }

    #[test]
    fn a_short_log_is_kept_whole() {
        let text = encode_log(&[line("one".into()), line("two".into())]);
        let back: Vec<LiveLine> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].message, "two");
    }

    #[test]
    fn a_long_log_keeps_its_last_lines_within_the_bound() {
        let lines: Vec<LogLine> = (0..5000).map(|i| line(format!("{i:0>400}"))).collect();
        let text = encode_log(&lines);
        assert!(text.len() <= MAX_LIVE_LOG_BYTES, "{}", text.len());
        let back: Vec<LiveLine> = serde_json::from_str(&text).unwrap();
        assert!(
            back[0].message.ends_with("earlier lines left out"),
            "{:?}",
            back[0]
        );
        assert_eq!(back.last().unwrap().message, format!("{:0>400}", 4999));
        let left_out: usize = back[0].message.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(left_out + back.len() - 1, 5000);
    }
}
