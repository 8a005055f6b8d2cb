//! The aggregates of the scorecard results ([`crate::scores`]): per scorecard, how many results
//! each owner has at each level (and how many could not be evaluated), how many fail each rule,
//! and the history counted per day. Every write of results changes them in its transaction by
//! the difference it makes (the old rows it replaces subtracted, the new ones added), so a
//! report reads a few hundred rows whatever the number of entities; `scorecard_generation`
//! moves with every write, for caches of what is computed from them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Result, Store, with_pool};

/// Most rows one aggregate read returns.
const MAX_ROWS: i64 = 200_000;

/// How many results of one scorecard share an owner and a level.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ScoreCount {
    pub owner: Option<String>,
    pub level_rank: i64,
    /// Results whose checks could not be evaluated (their rank is 0).
    pub errored: bool,
    pub entities: i64,
}

/// How many evaluated results of one scorecard fail one rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleCount {
    pub rule: String,
    pub failing: i64,
}

/// A scorecard's stored results, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// By owner (no owner first), rank, then evaluated before errored.
    pub counts: Vec<ScoreCount>,
    /// By rule id; rules no result fails are absent.
    pub rules: Vec<RuleCount>,
    /// The latest result's time (milliseconds), if any.
    pub evaluated_at: Option<i64>,
}

/// How many entities of one owner held one level on one day (the history counted).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DayCount {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub owner: Option<String>,
    pub level_rank: i64,
    pub entities: i64,
}

/// The owner as the aggregates key it ('' for none).
pub(crate) fn owner_key(owner: Option<&str>) -> &str {
    owner.unwrap_or("")
}

fn owner_of(key: String) -> Option<String> {
    (!key.is_empty()).then_some(key)
}

/// What one write changes in the aggregates: added (+) or removed (−) rows, by key.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    /// (scorecard, owner key, rank, errored 0/1) → entities.
    pub counts: HashMap<(String, String, i64, i64), i64>,
    /// (scorecard, rule) → failing.
    pub rules: HashMap<(String, String), i64>,
    /// (scorecard, owner key, rank) → entities, on the day written.
    pub days: HashMap<(String, String, i64), i64>,
}

impl Deltas {
    /// A result added (`sign` 1) or removed (−1).
    pub fn result(
        &mut self,
        scorecard: &str,
        owner: Option<&str>,
        rank: i64,
        errored: bool,
        failing: &[String],
        sign: i64,
    ) {
        let key = (
            scorecard.to_owned(),
            owner_key(owner).to_owned(),
            rank,
            i64::from(errored),
        );
        *self.counts.entry(key).or_default() += sign;
        if !errored {
            for rule in failing {
                *self
                    .rules
                    .entry((scorecard.to_owned(), rule.clone()))
                    .or_default() += sign;
            }
        }
    }

    /// A history row of the day written added (1) or removed (−1).
    pub fn day(&mut self, scorecard: &str, owner: Option<&str>, rank: i64, sign: i64) {
        let key = (scorecard.to_owned(), owner_key(owner).to_owned(), rank);
        *self.days.entry(key).or_default() += sign;
    }

    /// The day's changes summed over owners (scorecard_day_totals), without the zeros.
    pub fn day_totals(&self) -> std::collections::BTreeMap<(String, i64), i64> {
        let mut out = std::collections::BTreeMap::new();
        for ((card, _, rank), n) in &self.days {
            *out.entry((card.clone(), *rank)).or_default() += *n;
        }
        out.retain(|_, n| *n != 0);
        out
    }

    /// The changes that change something.
    pub fn prune(&mut self) {
        self.counts.retain(|_, v| *v != 0);
        self.rules.retain(|_, v| *v != 0);
        self.days.retain(|_, v| *v != 0);
    }
}

impl Store {
    /// Moves with every write of scorecard results (a cache computed from the results at one
    /// generation holds until it moves).
    pub async fn score_generation(&self) -> Result<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'scorecard_generation'").fetch_one(pool).await?
        }))
    }

    /// A scorecard's stored results counted per owner and level, and per failing rule.
    pub async fn score_summary(&self, scorecard: &str) -> Result<ScoreSummary> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT owner, level_rank, errored, entities FROM scorecard_counts \
                                    WHERE scorecard = $1 AND entities <> 0 ORDER BY owner, level_rank, errored LIMIT $2")
                .bind(scorecard).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut counts = Vec::with_capacity(rows.len());
            for r in rows {
                counts.push(ScoreCount {
                    owner: owner_of(r.try_get("owner")?),
                    level_rank: r.try_get("level_rank")?,
                    errored: r.try_get::<i64, _>("errored")? != 0,
                    entities: r.try_get("entities")?,
                });
            }
            let rows = sqlx::query("SELECT rule, failing FROM scorecard_rule_counts WHERE scorecard = $1 AND failing <> 0 ORDER BY rule LIMIT $2")
                .bind(scorecard).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut rules = Vec::with_capacity(rows.len());
            for r in rows {
                rules.push(RuleCount { rule: r.try_get("rule")?, failing: r.try_get("failing")? });
            }
            let evaluated_at: Option<i64> = sqlx::query_scalar("SELECT evaluated_at FROM scorecard_results WHERE scorecard = $1 ORDER BY evaluated_at DESC LIMIT 1")
                .bind(scorecard).fetch_optional(pool).await?;
            ScoreSummary { counts, rules, evaluated_at }
        }))
    }

    /// The history of `scorecard` over days `from_day..=to_day`, counted: how many entities of
    /// each owner (of `owner` only, when given) held each level each day, by day, owner, rank.
    pub async fn score_day_counts(
        &self,
        scorecard: &str,
        owner: Option<Option<&str>>,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayCount>> {
        let owner = owner.map(owner_key);
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT day, owner, level_rank, entities FROM scorecard_day_counts \
                                    WHERE scorecard = $1 AND day >= $2 AND day <= $3 AND ($4 IS NULL OR owner = $4) AND entities <> 0 \
                                    ORDER BY day, owner, level_rank LIMIT $5")
                .bind(scorecard).bind(from_day).bind(to_day).bind(owner).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(DayCount {
                    day: r.try_get("day")?,
                    owner: owner_of(r.try_get("owner")?),
                    level_rank: r.try_get("level_rank")?,
                    entities: r.try_get("entities")?,
                });
            }
            out
        }))
    }

    /// The history of `scorecard` over days `from_day..=to_day` counted per day and level for
    /// every owner together (scorecard_day_totals: kept by the writes, not summed per read).
    pub async fn score_day_totals(
        &self,
        scorecard: &str,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayCount>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT day, level_rank, entities AS n FROM scorecard_day_totals \
                                    WHERE scorecard = $1 AND day >= $2 AND day <= $3 AND entities <> 0 \
                                    ORDER BY day, level_rank LIMIT $4")
                .bind(scorecard).bind(from_day).bind(to_day).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(DayCount {
                    day: r.try_get("day")?,
                    owner: None,
                    level_rank: r.try_get("level_rank")?,
                    entities: r.try_get("n")?,
                });
            }
            out
        }))
    }

    /// A scorecard's results below its first level, at most `per_owner` of each of `owners`
    /// (the first by entity ref; `None` is the results without an owner), owner after owner in
    /// the order given, then by entity: the entities a campaign's teams still have to fix. One
    /// range of the `(owner, scorecard, level_rank, entity)` index per owner, so the cost is the
    /// rows returned, not the entities still failing.
    pub async fn score_failing(
        &self,
        scorecard: &str,
        owners: &[Option<String>],
        per_owner: i64,
    ) -> Result<Vec<crate::ScoreRecord>> {
        let per_owner = per_owner.clamp(0, MAX_ROWS);
        let mut out = Vec::new();
        for owner in owners
            .iter()
            .take(usize::try_from(MAX_ROWS / per_owner.max(1)).unwrap_or(0))
        {
            with_pool!(self, pool => {
                let rows = match owner {
                    Some(o) => sqlx::query(FAILING_OF_OWNER).bind(scorecard).bind(o).bind(per_owner).fetch_all(pool).await?,
                    None => sqlx::query(FAILING_OF_NO_OWNER).bind(scorecard).bind(per_owner).fetch_all(pool).await?,
                };
                for r in rows {
                    out.push(crate::scores::score_record!(r));
                }
            });
        }
        Ok(out)
    }

    /// The results of every scorecard for the first `max_entities` entities `owner` owns (by
    /// entity ref, then scorecard), and how many entities it owns that have a result.
    pub async fn owner_scores(
        &self,
        owner: &str,
        max_entities: i64,
    ) -> Result<(Vec<crate::ScoreRecord>, i64)> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT scorecard, entity, owner, level, level_rank, passed, total, failing, error, evaluated_at \
                                    FROM scorecard_results WHERE owner = $1 AND entity IN \
                                    (SELECT DISTINCT entity FROM scorecard_results WHERE owner = $1 ORDER BY entity LIMIT $2) \
                                    ORDER BY entity, scorecard LIMIT $3")
                .bind(owner).bind(max_entities.clamp(0, MAX_ROWS)).bind(MAX_ROWS).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(crate::scores::score_record!(r));
            }
            let total: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT entity) FROM scorecard_results WHERE owner = $1")
                .bind(owner).fetch_one(pool).await?;
            (out, total)
        }))
    }
}

const FAILING_OF_OWNER: &str = "SELECT scorecard, entity, owner, level, level_rank, passed, total, failing, error, evaluated_at \
     FROM scorecard_results WHERE owner = $2 AND scorecard = $1 AND level_rank = 0 ORDER BY entity LIMIT $3";
const FAILING_OF_NO_OWNER: &str = "SELECT scorecard, entity, owner, level, level_rank, passed, total, failing, error, evaluated_at \
     FROM scorecard_results WHERE owner IS NULL AND scorecard = $1 AND level_rank = 0 ORDER BY entity LIMIT $2";
