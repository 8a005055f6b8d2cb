//! Scorecard results: the latest result of every scorecard for every entity it selects, the
//! level each entity held per day (history), and when each scorecard was last scored over the
//! whole catalog. Written by the application's re-scores (incremental and full passes).

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Row};

use std::collections::HashSet;

use crate::score_counts::Deltas;
use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Milliseconds in a day: history is kept per UTC day (`now_ms / DAY_MS`).
pub const DAY_MS: i64 = 86_400_000;
/// Rows written per statement.
const BATCH: usize = 500;
/// Most rows one read returns.
const MAX_ROWS: i64 = 200_000;

/// One scorecard's latest result for one entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub scorecard: String,
    pub entity: String,
    /// The owning group (`group:default/team-a`).
    pub owner: Option<String>,
    /// The level held (`None`: below the first level, or not evaluated).
    pub level: Option<String>,
    /// 0 below the first level, n for the n-th level.
    pub level_rank: i64,
    pub passed: i64,
    pub total: i64,
    /// The failing rules' ids.
    pub failing: Vec<String>,
    /// Why the checks could not be evaluated.
    pub error: Option<String>,
    /// Milliseconds since the epoch.
    pub evaluated_at: i64,
}

/// What a write of results replaces.
#[derive(Clone, Copy, Debug)]
pub enum ScoreScope<'a> {
    /// These entities were re-scored: their earlier results (of every scorecard) go; an entity
    /// with no new record is no longer selected by any scorecard (or left the catalog).
    Entities(&'a [String]),
    /// These scorecards were scored over the whole catalog: their earlier results go and the
    /// pass is recorded.
    Scorecards(&'a [String]),
}

/// Which results to read: every field narrows (AND).
#[derive(Clone, Debug, Default)]
pub struct ScoreQuery<'a> {
    pub scorecard: Option<&'a str>,
    pub entity: Option<&'a str>,
    pub owner: Option<&'a str>,
}

/// How many entities of one owner held one level on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreDay {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub owner: Option<String>,
    pub level: Option<String>,
    pub level_rank: i64,
    pub entities: i64,
}

/// A [`ScoreRecord`] from a row of `scorecard_results` (every column).
macro_rules! score_record {
    ($r:expr) => {{
        let r = $r;
        let failing: String = r.try_get("failing")?;
        $crate::ScoreRecord {
            scorecard: r.try_get("scorecard")?,
            entity: r.try_get("entity")?,
            owner: r.try_get("owner")?,
            level: r.try_get("level")?,
            level_rank: r.try_get("level_rank")?,
            passed: r.try_get("passed")?,
            total: r.try_get("total")?,
            failing: serde_json::from_str(&failing)
                .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
            error: r.try_get("error")?,
            evaluated_at: r.try_get("evaluated_at")?,
        }
    }};
}
pub(crate) use score_record;

macro_rules! delete_in {
    ($tx:ident, $sql:expr, $items:expr) => {
        for chunk in $items.chunks(BATCH) {
            let mut qb = QueryBuilder::new($sql);
            let mut sep = qb.separated(", ");
            for item in chunk {
                sep.push_bind(item.as_str());
            }
            qb.push(")");
            qb.build().execute(&mut *$tx).await?;
        }
    };
}

/// Reads `$sql` `IN (` the items `)` (chunked) and hands each row to `$each`.
macro_rules! select_in {
    ($tx:ident, $sql:expr, $items:expr, $bind:expr, |$r:ident| $each:block) => {
        for chunk in $items.chunks(BATCH) {
            let mut qb = QueryBuilder::new($sql);
            if let Some(b) = $bind {
                qb.push_bind(b);
                qb.push(" AND entity IN (");
            }
            let mut sep = qb.separated(", ");
            for item in chunk {
                sep.push_bind(item.as_str());
            }
            qb.push(")");
            for $r in qb.build().fetch_all(&mut *$tx).await? $each
        }
    };
}

/// Adds `$deltas` to the aggregates (`$day`: the day written).
macro_rules! apply_deltas {
    ($tx:ident, $day:expr, $deltas:expr) => {
        let counts: Vec<_> = $deltas.counts.iter().collect();
        for chunk in counts.chunks(BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO scorecard_counts (scorecard, owner, level_rank, errored, entities) ");
            qb.push_values(chunk, |mut b, ((card, owner, rank, errored), n)| {
                b.push_bind(card.as_str()).push_bind(owner.as_str()).push_bind(*rank).push_bind(*errored).push_bind(**n);
            });
            qb.push(" ON CONFLICT (scorecard, owner, level_rank, errored) DO UPDATE SET entities = scorecard_counts.entities + excluded.entities");
            qb.build().execute(&mut *$tx).await?;
        }
        let rules: Vec<_> = $deltas.rules.iter().collect();
        for chunk in rules.chunks(BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO scorecard_rule_counts (scorecard, rule, failing) ");
            qb.push_values(chunk, |mut b, ((card, rule), n)| {
                b.push_bind(card.as_str()).push_bind(rule.as_str()).push_bind(**n);
            });
            qb.push(" ON CONFLICT (scorecard, rule) DO UPDATE SET failing = scorecard_rule_counts.failing + excluded.failing");
            qb.build().execute(&mut *$tx).await?;
        }
        let days: Vec<_> = $deltas.days.iter().collect();
        for chunk in days.chunks(BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO scorecard_day_counts (scorecard, day, owner, level_rank, entities) ");
            qb.push_values(chunk, |mut b, ((card, owner, rank), n)| {
                b.push_bind(card.as_str()).push_bind($day).push_bind(owner.as_str()).push_bind(*rank).push_bind(**n);
            });
            qb.push(" ON CONFLICT (scorecard, day, owner, level_rank) DO UPDATE SET entities = scorecard_day_counts.entities + excluded.entities");
            qb.build().execute(&mut *$tx).await?;
        }
        let totals: Vec<_> = $deltas.day_totals().into_iter().collect();
        for chunk in totals.chunks(BATCH) {
            let mut qb = QueryBuilder::new("INSERT INTO scorecard_day_totals (scorecard, day, level_rank, entities) ");
            qb.push_values(chunk, |mut b, ((card, rank), n)| {
                b.push_bind(card.as_str()).push_bind($day).push_bind(*rank).push_bind(*n);
            });
            qb.push(" ON CONFLICT (scorecard, day, level_rank) DO UPDATE SET entities = scorecard_day_totals.entities + excluded.entities");
            qb.build().execute(&mut *$tx).await?;
        }
    };
}

/// Refuses records `scope` does not cover, a negative rank (0 is below the first level), or
/// two of one scorecard and entity: the aggregates
/// count what a write replaces, so a write must replace every row it writes.
fn check_scope(scope: ScoreScope<'_>, records: &[ScoreRecord]) -> Result<()> {
    let mut seen = HashSet::new();
    let (entities, cards): (HashSet<&str>, HashSet<&str>) = match scope {
        ScoreScope::Entities(l) => (l.iter().map(String::as_str).collect(), HashSet::new()),
        ScoreScope::Scorecards(l) => (HashSet::new(), l.iter().map(String::as_str).collect()),
    };
    for r in records {
        let covered = match scope {
            ScoreScope::Entities(_) => entities.contains(r.entity.as_str()),
            ScoreScope::Scorecards(_) => cards.contains(r.scorecard.as_str()),
        };
        if !covered {
            return Err(StoreError::Invalid(format!(
                "the result of {} for {} is outside what this write replaces",
                r.scorecard, r.entity
            )));
        }
        if r.level_rank < 0 {
            return Err(StoreError::Invalid(format!(
                "the result of {} for {} has a negative level rank",
                r.scorecard, r.entity
            )));
        }
        if !seen.insert((r.scorecard.as_str(), r.entity.as_str())) {
            return Err(StoreError::Invalid(format!(
                "two results of {} for {}",
                r.scorecard, r.entity
            )));
        }
    }
    Ok(())
}

impl Store {
    /// Writes re-scored results in one transaction: the results `scope` covers are replaced by
    /// `records`, and so is their part of the day's history (`now_ms`); the first write of a
    /// day first copies every result into that day's history. The aggregates
    /// ([`crate::score_counts`]) change by the difference, and the results generation moves.
    /// A record `scope` does not cover is refused.
    pub async fn save_scores(
        &self,
        scope: ScoreScope<'_>,
        records: &[ScoreRecord],
        now_ms: i64,
    ) -> Result<()> {
        check_scope(scope, records)?;
        let day = now_ms.div_euclid(DAY_MS);
        let failing: Vec<String> = records
            .iter()
            .map(|r| serde_json::to_string(&r.failing))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut deltas = Deltas::default();
        for r in records {
            deltas.result(
                &r.scorecard,
                r.owner.as_deref(),
                r.level_rank,
                r.error.is_some(),
                &r.failing,
                1,
            );
            deltas.day(&r.scorecard, r.owner.as_deref(), r.level_rank, 1);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // First: on PostgreSQL the row lock makes writers of results take turns, so the old
            // rows read below are those this write replaces.
            sqlx::query("UPDATE meta SET value = value + 1 WHERE key = 'scorecard_generation'").execute(&mut *tx).await?;
            // The first write of a day carries every result into that day's history.
            let first = sqlx::query("INSERT INTO scorecard_history_days (day) VALUES ($1) ON CONFLICT (day) DO NOTHING")
                .bind(day).execute(&mut *tx).await?.rows_affected() == 1;
            if first {
                sqlx::query("INSERT INTO scorecard_history (scorecard, entity, day, owner, level, level_rank) \
                             SELECT scorecard, entity, $1, owner, level, level_rank FROM scorecard_results WHERE true \
                             ON CONFLICT (scorecard, entity, day) DO NOTHING")
                    .bind(day).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO scorecard_day_counts (scorecard, day, owner, level_rank, entities) \
                             SELECT scorecard, $1, owner, level_rank, CAST(SUM(entities) AS BIGINT) FROM scorecard_counts \
                             GROUP BY scorecard, owner, level_rank \
                             ON CONFLICT (scorecard, day, owner, level_rank) DO NOTHING")
                    .bind(day).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO scorecard_day_totals (scorecard, day, level_rank, entities) \
                             SELECT scorecard, $1, level_rank, CAST(SUM(entities) AS BIGINT) FROM scorecard_counts \
                             GROUP BY scorecard, level_rank \
                             ON CONFLICT (scorecard, day, level_rank) DO NOTHING")
                    .bind(day).execute(&mut *tx).await?;
            }
            // What this write re-scored leaves the results and the day's history (and their
            // counts), then comes back with its result.
            match scope {
                ScoreScope::Entities(list) => {
                    select_in!(tx, "SELECT scorecard, owner, level_rank, error, failing FROM scorecard_results WHERE entity IN (", list, None::<i64>, |r| {
                        let failing: String = r.try_get("failing")?;
                        let failing: Vec<String> = serde_json::from_str(&failing).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let owner: Option<String> = r.try_get("owner")?;
                        let card: String = r.try_get("scorecard")?;
                        let error: Option<String> = r.try_get("error")?;
                        deltas.result(&card, owner.as_deref(), r.try_get("level_rank")?, error.is_some(), &failing, -1);
                    });
                    select_in!(tx, "SELECT scorecard, owner, level_rank FROM scorecard_history WHERE day = ", list, Some(day), |r| {
                        let owner: Option<String> = r.try_get("owner")?;
                        let card: String = r.try_get("scorecard")?;
                        deltas.day(&card, owner.as_deref(), r.try_get("level_rank")?, -1);
                    });
                    delete_in!(tx, format!("DELETE FROM scorecard_history WHERE day = {day} AND entity IN ("), list);
                    delete_in!(tx, "DELETE FROM scorecard_results WHERE entity IN (", list);
                }
                ScoreScope::Scorecards(list) => {
                    delete_in!(tx, "DELETE FROM scorecard_counts WHERE scorecard IN (", list);
                    delete_in!(tx, "DELETE FROM scorecard_rule_counts WHERE scorecard IN (", list);
                    delete_in!(tx, format!("DELETE FROM scorecard_day_counts WHERE day = {day} AND scorecard IN ("), list);
                    delete_in!(tx, format!("DELETE FROM scorecard_day_totals WHERE day = {day} AND scorecard IN ("), list);
                    delete_in!(tx, format!("DELETE FROM scorecard_history WHERE day = {day} AND scorecard IN ("), list);
                    delete_in!(tx, "DELETE FROM scorecard_results WHERE scorecard IN (", list);
                    for card in list {
                        let n = records.iter().filter(|r| &r.scorecard == card).count() as i64;
                        sqlx::query("INSERT INTO scorecard_passes (scorecard, evaluated_at, entities) VALUES ($1, $2, $3) \
                                     ON CONFLICT (scorecard) DO UPDATE SET evaluated_at = excluded.evaluated_at, entities = excluded.entities")
                            .bind(card).bind(now_ms).bind(n).execute(&mut *tx).await?;
                    }
                }
            }
            deltas.prune();
            apply_deltas!(tx, day, deltas);
            let rows: Vec<(&ScoreRecord, &String)> = records.iter().zip(&failing).collect();
            for chunk in rows.chunks(BATCH) {
                let mut qb = QueryBuilder::new("INSERT INTO scorecard_results (scorecard, entity, owner, level, level_rank, passed, total, failing, error, evaluated_at) ");
                qb.push_values(chunk, |mut b, (r, f)| {
                    b.push_bind(r.scorecard.as_str()).push_bind(r.entity.as_str()).push_bind(r.owner.as_deref())
                        .push_bind(r.level.as_deref()).push_bind(r.level_rank).push_bind(r.passed).push_bind(r.total)
                        .push_bind(f.as_str()).push_bind(r.error.as_deref()).push_bind(r.evaluated_at);
                });
                qb.build().execute(&mut *tx).await?;
                let mut qb = QueryBuilder::new("INSERT INTO scorecard_history (scorecard, entity, day, owner, level, level_rank) ");
                qb.push_values(chunk, |mut b, (r, _)| {
                    b.push_bind(r.scorecard.as_str()).push_bind(r.entity.as_str()).push_bind(day)
                        .push_bind(r.owner.as_deref()).push_bind(r.level.as_deref()).push_bind(r.level_rank);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stored results, by scorecard then entity.
    pub async fn scores(&self, q: &ScoreQuery<'_>) -> Result<Vec<ScoreRecord>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT scorecard, entity, owner, level, level_rank, passed, total, failing, error, evaluated_at FROM scorecard_results \
                                    WHERE ($1 IS NULL OR scorecard = $1) AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR owner = $3) \
                                    ORDER BY scorecard, entity LIMIT $4")
                .bind(q.scorecard).bind(q.entity).bind(q.owner).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(score_record!(r));
            }
            out
        }))
    }

    /// When `scorecard` was last scored over the whole catalog (milliseconds), if ever.
    pub async fn score_pass(&self, scorecard: &str) -> Result<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT evaluated_at FROM scorecard_passes WHERE scorecard = $1")
                .bind(scorecard).fetch_optional(pool).await?
        }))
    }

    /// The history of `scorecard` over days `from_day..=to_day`: how many entities of each owner
    /// held each level each day (`entity` narrows to one entity), by day, owner and rank.
    pub async fn score_days(
        &self,
        scorecard: &str,
        entity: Option<&str>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<ScoreDay>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT day, owner, level, level_rank, COUNT(*) AS n FROM scorecard_history \
                                    WHERE scorecard = $1 AND ($2 IS NULL OR entity = $2) AND day >= $3 AND day <= $4 \
                                    GROUP BY day, owner, level, level_rank ORDER BY day, owner, level_rank LIMIT $5")
                .bind(scorecard).bind(entity).bind(from_day).bind(to_day).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(ScoreDay {
                    day: r.try_get("day")?,
                    owner: r.try_get("owner")?,
                    level: r.try_get("level")?,
                    level_rank: r.try_get("level_rank")?,
                    entities: r.try_get("n")?,
                });
            }
            out
        }))
    }
}
