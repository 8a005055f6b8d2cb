//! Scorecard results kept in the store. **Incremental**: an entity is queued for a re-score when
//! one of its facts changes — a deploy, promotion or rollback of it (guardrail results too), a
//! findings import for it, a catalog change of it (its entry or its relations, seen when the
//! read model reloads) — and the queue is drained by the background loop every poll interval
//! (and before a report reads the store). **Full pass**: every entity against every scorecard,
//! periodically under the `scorecards` lease (one replica at a time), and whenever the queue
//! overflows. Each write also keeps the level of the day per entity (history).
//!
//! Re-scores are serialised within a replica (`rescore_lock`): a report that drains the queue
//! reads what the background loop was writing. Across replicas the last write wins; the next
//! change or pass corrects a result computed from facts that changed meanwhile.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;
use socle_scorecard::CardResult;
use socle_store::{DAY_MS, DayCount, ScoreRecord, ScoreScope};

use super::ScoreState;
use crate::snapshot::Snapshot;
use crate::{Actor, App, AppError};

/// Most entities of a team whose results [`App::team_scores`] returns.
pub const MAX_TEAM_ENTITIES: usize = 500;

/// A team's entities' results (by entity ref, then scorecard).
#[derive(Clone, Debug, Serialize)]
pub struct TeamScores {
    /// The results of its first [`MAX_TEAM_ENTITIES`] entities.
    pub results: Vec<ScoreRecord>,
    /// How many of its entities have a result (all of them, not only those returned).
    pub entities: usize,
}

/// Most entities waiting for a re-score; past it, the next drain is a full pass.
pub const MAX_QUEUED: usize = 10_000;
/// Most entities one incremental re-score evaluates together (the rest wait for the next).
pub const MAX_INCREMENTAL: usize = 2_000;
/// The longest history one read returns, in days.
pub const MAX_HISTORY_DAYS: u32 = 366;

/// Entities waiting for a re-score.
#[derive(Debug, Default)]
pub struct RescoreQueue {
    entities: BTreeSet<String>,
    full: bool,
    /// A full pass holds `rescore_lock` now.
    full_running: bool,
}

/// Marks a full pass as running (the re-score lock held) until dropped, and wakes the reports
/// waiting for the lock: they do not wait for a full pass.
struct FullPassRunning<'a>(&'a App);

impl<'a> FullPassRunning<'a> {
    fn start(app: &'a App) -> Self {
        {
            // What is queued now is in the facts about to be read.
            let mut q = app.rescore_queue.lock().expect("lock");
            q.entities.clear();
            q.full = false;
            q.full_running = true;
        }
        app.full_pass_started.notify_waiters();
        Self(app)
    }
}

impl Drop for FullPassRunning<'_> {
    fn drop(&mut self) {
        self.0.rescore_queue.lock().expect("lock").full_running = false;
    }
}

/// What a re-score did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RescoreSummary {
    /// A full pass (every entity, every scorecard).
    pub full: bool,
    /// Entities re-scored (for a full pass: in the catalog).
    pub entities: usize,
    /// Results written (one per scorecard selecting an entity).
    pub results: usize,
    pub millis: u64,
}

/// Results as stored: one record per scorecard result, with the entity's owner.
pub fn records(
    results: impl IntoIterator<Item = (Option<String>, Vec<CardResult>)>,
    now_ms: i64,
) -> Vec<ScoreRecord> {
    results
        .into_iter()
        .flat_map(|(owner, cards)| {
            cards.into_iter().map(move |r| ScoreRecord {
                scorecard: r.scorecard,
                entity: r.entity,
                owner: owner.clone(),
                level: r.level,
                level_rank: r.level_index.map_or(0, |l| l as i64 + 1),
                passed: r.passed as i64,
                total: r.total as i64,
                failing: r
                    .rules
                    .iter()
                    .filter(|x| !x.passed)
                    .map(|x| x.id.clone())
                    .collect(),
                error: r.error,
                evaluated_at: now_ms,
            })
        })
        .collect()
}

/// Entities whose facts a pass builds at once. At a million entities, 20,000 at once swung the
/// pass's resident set by up to ~800 MB (each entity's body parsed, its relations as JSON, the
/// Rego input); 2,000 keeps the swing small and is as fast (`socle scorecard rescore`: ~40 s).
const FACTS_CHUNK: usize = 2_000;

/// The entities whose catalog entry or relations differ between two read models, and those
/// that left the catalog.
pub fn changed_entities(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for e in &new.entities {
        let same = old
            .get(&e.entity_ref)
            .is_some_and(|o| crate::snapshot_delta::same_view(old, o, new, e));
        if !same {
            out.push(e.entity_ref.to_string());
        }
    }
    out.extend(
        old.entities
            .iter()
            .filter(|o| new.get(&o.entity_ref).is_none())
            .map(|o| o.entity_ref.to_string()),
    );
    out
}

/// A UTC day (days since 1970-01-01) as `YYYY-MM-DD`.
pub fn day_text(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400))
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// A scorecard's levels per day.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScorecardHistory {
    pub scorecard: String,
    pub state: ScoreState,
    /// Lowest first.
    pub levels: Vec<String>,
    pub days: Vec<HistoryDay>,
}

/// How many entities held each level on one day (`counts[0]`: below the first level,
/// `counts[n]`: the n-th level).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HistoryDay {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub counts: Vec<i64>,
}

/// Folds counted history rows (already narrowed to what is asked: an entity, a team or every
/// owner) into one line per day, days without a write holding the day before's line.
pub fn history_days(levels: usize, rows: &[DayCount]) -> Vec<HistoryDay> {
    let mut out: Vec<(i64, Vec<i64>)> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|(d, _)| *d != r.day) {
            out.push((r.day, vec![0; levels + 1]));
        }
        let rank = usize::try_from(r.level_rank).unwrap_or(0).min(levels);
        if let Some((_, counts)) = out.last_mut() {
            counts[rank] += r.entities;
        }
    }
    fill_days(out)
        .into_iter()
        .map(|(day, counts)| HistoryDay {
            date: day_text(day),
            counts,
        })
        .collect()
}

/// Days in order with the days between them that have no line: each holds the line before
/// it (a day without a write is a day nothing changed).
pub fn fill_days<T: Clone>(days: Vec<(i64, T)>) -> Vec<(i64, T)> {
    let mut out: Vec<(i64, T)> = Vec::with_capacity(days.len());
    for (day, v) in days {
        while let Some((last, prev)) = out.last().cloned().filter(|(l, _)| l + 1 < day) {
            out.push((last + 1, prev));
        }
        out.push((day, v));
    }
    out
}

impl App {
    /// Queues entities for a re-score (their facts changed).
    pub fn mark_for_rescore(&self, refs: impl IntoIterator<Item = String>) {
        let mut q = self.rescore_queue.lock().expect("lock");
        if q.full {
            return;
        }
        q.entities.extend(refs);
        if q.entities.len() > MAX_QUEUED {
            q.entities.clear();
            q.full = true;
        }
    }

    /// Queues a full pass: the next drain of the queue scores every entity against every
    /// scorecard (in the background, every poll interval; or `socle scorecard rescore`).
    pub fn request_full_pass(&self) {
        let mut q = self.rescore_queue.lock().expect("lock");
        q.entities.clear();
        q.full = true;
    }

    /// Whether a full pass waits in the queue.
    pub fn full_pass_queued(&self) -> bool {
        self.rescore_queue.lock().expect("lock").full
    }

    /// Re-scores the queued entities (a full pass when the queue overflowed or one was asked
    /// for).
    pub async fn rescore_pending(&self) -> Result<RescoreSummary, AppError> {
        let guard = self.rescore_lock.lock().await;
        self.drain(guard).await
    }

    /// Whether a full pass waits in the queue or is running.
    fn full_pass_pending(&self) -> bool {
        let q = self.rescore_queue.lock().expect("lock");
        q.full || q.full_running
    }

    /// Re-scores the queued entities unless a full pass is queued or running (what a report
    /// does before it reads the store: it never waits for a full pass, never runs one). An
    /// incremental re-score that holds the lock (the background's drain of the same queue,
    /// bounded by [`MAX_INCREMENTAL`]) is waited for: the entities it took from the queue are
    /// not in the store until it ends, and a report that did not wait would miss them.
    async fn drain_incremental(&self) -> Result<(), AppError> {
        if self.full_pass_pending() {
            return Ok(());
        }
        let guard = match self.rescore_lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let started = self.full_pass_started.notified();
                tokio::pin!(started);
                started.as_mut().enable();
                // A full pass that took the lock before `enable` set its flag first.
                if self.full_pass_pending() {
                    return Ok(());
                }
                tokio::select! {
                    guard = self.rescore_lock.lock() => guard,
                    () = started => return Ok(()),
                }
            }
        };
        if self.full_pass_pending() {
            return Ok(());
        }
        self.drain(guard).await.map(|_| ())
    }

    async fn drain(
        &self,
        _guard: tokio::sync::MutexGuard<'_, ()>,
    ) -> Result<RescoreSummary, AppError> {
        let (full, refs) = {
            let mut q = self.rescore_queue.lock().expect("lock");
            if q.full {
                q.full = false;
                q.entities.clear();
                (true, Vec::new())
            } else {
                let take: Vec<String> = q.entities.iter().take(MAX_INCREMENTAL).cloned().collect();
                for r in &take {
                    q.entities.remove(r);
                }
                (false, take)
            }
        };
        if full {
            self.score(None).await
        } else if refs.is_empty() {
            Ok(RescoreSummary::default())
        } else {
            self.score(Some(refs)).await
        }
    }

    /// Scores every entity against every scorecard and keeps the results.
    pub async fn rescore_all(&self) -> Result<RescoreSummary, AppError> {
        let _guard = self.rescore_lock.lock().await;
        self.score(None).await
    }

    /// Re-scores these entities now and keeps the results.
    pub async fn rescore_entities(&self, refs: Vec<String>) -> Result<RescoreSummary, AppError> {
        let _guard = self.rescore_lock.lock().await;
        self.score(Some(refs)).await
    }

    /// Scores `refs` (every entity: `None`) and writes the results (the lock held).
    async fn score(&self, refs: Option<Vec<String>>) -> Result<RescoreSummary, AppError> {
        let started = Instant::now();
        let _running = refs.is_none().then(|| FullPassRunning::start(self));
        let active = self.scorecards();
        let cards = active.0.clone();
        let now_ms = self.now_ms();
        // Each chunk's facts are evaluated and dropped before the next chunk's are built.
        let chunks = self
            .facts_in_chunks(refs.clone(), FACTS_CHUNK, move |facts| {
                let (owners, facts): (Vec<_>, Vec<_>) = facts.into_iter().unzip();
                let results =
                    socle_scorecard::evaluate_all(&cards, &facts, now_ms.div_euclid(1000));
                (
                    facts.len(),
                    records(owners.into_iter().zip(results), now_ms),
                )
            })
            .await?;
        let scored: usize = chunks.iter().map(|(n, _)| n).sum();
        let entities = match &refs {
            Some(r) => r.len(),
            None => scored,
        };
        let rows: Vec<ScoreRecord> = chunks.into_iter().flat_map(|(_, rows)| rows).collect();
        let names: Vec<String> = active.0.iter().map(|c| c.card.name.clone()).collect();
        let scope = match &refs {
            Some(r) => ScoreScope::Entities(r),
            None => ScoreScope::Scorecards(&names),
        };
        self.store.save_scores(scope, &rows, now_ms).await?;
        let summary = RescoreSummary {
            full: refs.is_none(),
            entities,
            results: rows.len(),
            millis: started.elapsed().as_millis() as u64,
        };
        tracing::debug!("scorecards re-scored: {summary:?}");
        Ok(summary)
    }

    /// Readies the stored results of `scorecard` for a report: when it was never scored over
    /// the catalog, a full pass is queued (the background runs it; the request does not wait)
    /// and the report says so; otherwise the queued entities are re-scored first, unless a
    /// re-score is running or a full pass waits.
    pub(crate) async fn scores_ready(&self, scorecard: &str) -> Result<ScoreState, AppError> {
        if self.store.score_pass(scorecard).await?.is_none() {
            self.request_full_pass();
            return Ok(ScoreState::Queued);
        }
        self.drain_incremental().await?;
        Ok(ScoreState::Scored)
    }

    /// The stored results of the first [`MAX_TEAM_ENTITIES`] entities a team owns (directly,
    /// by ref), for every scorecard and campaign, and how many of its entities have results.
    pub async fn team_scores(&self, actor: &Actor, team: &str) -> Result<TeamScores, AppError> {
        self.can_read(actor)?;
        let team = socle_catalog::EntityRef::parse(team, Some("group"), "default")
            .map_err(|e| AppError::bad_request(e.to_string()))?;
        let active = self.scorecards();
        for c in active.cards() {
            self.scores_ready(&c.card.name).await?;
        }
        let (mut results, entities) = self
            .store
            .owner_scores(team.as_str(), MAX_TEAM_ENTITIES as i64)
            .await?;
        results.retain(|r| active.get(&r.scorecard).is_some());
        Ok(TeamScores {
            results,
            entities: usize::try_from(entities).unwrap_or(0),
        })
    }

    /// A scorecard's levels per day over the last `days` days (at most [`MAX_HISTORY_DAYS`]),
    /// for one entity, one owning team or the whole catalog.
    pub async fn scorecard_history(
        &self,
        actor: &Actor,
        name: &str,
        entity: Option<&str>,
        team: Option<&str>,
        days: u32,
    ) -> Result<ScorecardHistory, AppError> {
        self.can_read(actor)?;
        let levels = self.scorecard_named(name)?.card.levels.clone();
        let entity = entity.map(super::findings::entity_ref).transpose()?;
        let team = team
            .map(|t| {
                socle_catalog::EntityRef::parse(t, Some("group"), "default")
                    .map(|r| r.as_str().to_owned())
                    .map_err(|e| AppError::bad_request(e.to_string()))
            })
            .transpose()?;
        let state = self.scores_ready(name).await?;
        let today = self.now_ms().div_euclid(DAY_MS);
        let days = i64::from(days.clamp(1, MAX_HISTORY_DAYS));
        let (from, to) = (today - days + 1, today);
        // One entity's rows are few; a team's or the catalog's come counted.
        let rows = match (&entity, &team) {
            (Some(e), _) => self
                .store
                .score_days(name, Some(e), from, to)
                .await?
                .into_iter()
                .map(|d| DayCount {
                    day: d.day,
                    owner: d.owner,
                    level_rank: d.level_rank,
                    entities: d.entities,
                })
                .filter(|d| team.is_none() || d.owner == team)
                .collect(),
            (None, Some(t)) => {
                self.store
                    .score_day_counts(name, Some(Some(t)), from, to)
                    .await?
            }
            (None, None) => self.store.score_day_totals(name, from, to).await?,
        };
        Ok(ScorecardHistory {
            scorecard: name.to_owned(),
            state,
            days: history_days(levels.len(), &rows),
            levels,
        })
    }
}
