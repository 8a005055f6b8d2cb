//! The scorecard aggregates a write keeps (counts per owner and level, per failing rule, per
//! day) equal what is computed from the stored rows themselves, after every write of a random
//! sequence of full passes and incremental re-scores over several days (the clock going back
//! once); a write outside its scope is refused.

use std::collections::BTreeMap;

use super::open;

use socle_store::{
    DAY_MS, DayCount, RuleCount, ScoreCount, ScoreQuery, ScoreRecord, ScoreScope, ScoreSummary,
    Store,
};

const CARDS: [&str; 2] = ["basics", "campaign:docs"];
const RULES: [&str; 4] = ["owner", "docs", "ci", "slo"];
const OWNERS: [Option<&str>; 3] = [Some("group:default/a"), Some("group:default/b"), None];
const D0: i64 = 20_000;

/// A small deterministic generator (the sequence is the same on both databases).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn record(g: &mut Lcg, card: &str, entity: &str, at: i64) -> ScoreRecord {
    let error = (g.next(10) == 0).then(|| "input too large".to_owned());
    let rank = if error.is_some() { 0 } else { g.next(4) as i64 };
    let failing: Vec<String> = if error.is_some() {
        Vec::new()
    } else {
        RULES
            .iter()
            .filter(|_| g.next(2) == 0)
            .map(|r| r.to_string())
            .collect()
    };
    ScoreRecord {
        scorecard: card.into(),
        entity: entity.into(),
        owner: OWNERS[g.next(OWNERS.len())].map(str::to_owned),
        level: (rank > 0).then(|| format!("L{rank}")),
        level_rank: rank,
        passed: 0,
        total: 4,
        failing,
        error,
        evaluated_at: at,
    }
}

fn entity(i: usize) -> String {
    format!("component:default/e{i:02}")
}

/// The summary computed from the rows, as the aggregates should hold it.
fn summary_of(rows: &[ScoreRecord]) -> ScoreSummary {
    let mut counts: BTreeMap<(String, i64, bool), i64> = BTreeMap::new();
    let mut rules: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows {
        let owner = r.owner.clone().unwrap_or_default();
        *counts
            .entry((owner, r.level_rank, r.error.is_some()))
            .or_default() += 1;
        if r.error.is_none() {
            for f in &r.failing {
                *rules.entry(f.clone()).or_default() += 1;
            }
        }
    }
    ScoreSummary {
        counts: counts
            .into_iter()
            .map(|((owner, level_rank, errored), entities)| ScoreCount {
                owner: (!owner.is_empty()).then_some(owner),
                level_rank,
                errored,
                entities,
            })
            .collect(),
        rules: rules
            .into_iter()
            .map(|(rule, failing)| RuleCount { rule, failing })
            .collect(),
        evaluated_at: rows.iter().map(|r| r.evaluated_at).max(),
    }
}

async fn check(store: &Store, step: usize) {
    check_owner_scores(store, step).await;
    for card in CARDS {
        let rows = store
            .scores(&ScoreQuery {
                scorecard: Some(card),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut got = store.score_summary(card).await.unwrap();
        // Owners sort '' first in the aggregates; compare as sets in one order.
        got.counts.sort_by(|a, b| {
            (a.owner.clone().unwrap_or_default(), a.level_rank, a.errored).cmp(&(
                b.owner.clone().unwrap_or_default(),
                b.level_rank,
                b.errored,
            ))
        });
        assert_eq!(got, summary_of(&rows), "step {step}, {card}: summary");
        // History per day and owner, and summed over owners.
        let per_row = store.score_days(card, None, D0 - 5, D0 + 5).await.unwrap();
        let mut want: BTreeMap<(i64, Option<String>, i64), i64> = BTreeMap::new();
        let mut totals: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for d in &per_row {
            *want
                .entry((d.day, d.owner.clone(), d.level_rank))
                .or_default() += d.entities;
            *totals.entry((d.day, d.level_rank)).or_default() += d.entities;
        }
        let mut days = store
            .score_day_counts(card, None, D0 - 5, D0 + 5)
            .await
            .unwrap();
        days.sort();
        let mut want: Vec<DayCount> = want
            .into_iter()
            .map(|((day, owner, level_rank), entities)| DayCount {
                day,
                owner,
                level_rank,
                entities,
            })
            .collect();
        want.sort();
        assert_eq!(days, want, "step {step}, {card}: days");
        let one = store
            .score_day_counts(card, Some(None), D0 - 5, D0 + 5)
            .await
            .unwrap();
        let want_none: Vec<&DayCount> = want.iter().filter(|d| d.owner.is_none()).collect();
        assert_eq!(
            one.iter().collect::<Vec<_>>(),
            want_none,
            "step {step}: no owner"
        );
        let got_totals: Vec<(i64, i64, i64)> = store
            .score_day_totals(card, D0 - 5, D0 + 5)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.day, d.level_rank, d.entities))
            .collect();
        let want_totals: Vec<(i64, i64, i64)> =
            totals.into_iter().map(|((d, r), n)| (d, r, n)).collect();
        assert_eq!(got_totals, want_totals, "step {step}, {card}: totals");
        // The first two failing entities of each owner.
        let mut by_owner: BTreeMap<Option<String>, Vec<&ScoreRecord>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.level_rank < 1) {
            by_owner.entry(r.owner.clone()).or_default().push(r);
        }
        // Asked in reverse order (and for an owner with nothing failing): answered in that order.
        let mut owners: Vec<Option<String>> = by_owner.keys().rev().cloned().collect();
        owners.push(Some("group:default/nobody".into()));
        let want_failing: Vec<ScoreRecord> = by_owner
            .into_values()
            .rev()
            .flat_map(|v| v.into_iter().take(2).cloned())
            .collect();
        assert_eq!(
            store.score_failing(card, &owners, 2).await.unwrap(),
            want_failing,
            "step {step}, {card}: failing"
        );
    }
}

/// A team's results: every scorecard's, for its first entities by ref, and how many it has.
async fn check_owner_scores(store: &Store, step: usize) {
    let all = store.scores(&ScoreQuery::default()).await.unwrap();
    let mut owners: Vec<&str> = all.iter().filter_map(|r| r.owner.as_deref()).collect();
    owners.sort();
    owners.dedup();
    for owner in owners {
        let mut mine: Vec<ScoreRecord> = all
            .iter()
            .filter(|r| r.owner.as_deref() == Some(owner))
            .cloned()
            .collect();
        mine.sort_by(|a, b| (&a.entity, &a.scorecard).cmp(&(&b.entity, &b.scorecard)));
        let mut entities: Vec<&str> = mine.iter().map(|r| r.entity.as_str()).collect();
        entities.dedup();
        let first: Vec<&str> = entities.iter().take(2).copied().collect();
        let want: Vec<ScoreRecord> = mine
            .iter()
            .filter(|r| first.contains(&r.entity.as_str()))
            .cloned()
            .collect();
        let (got, total) = store.owner_scores(owner, 2).await.unwrap();
        assert_eq!(got, want, "step {step}, {owner}: results");
        assert_eq!(
            total,
            entities.len() as i64,
            "step {step}, {owner}: entities"
        );
    }
}

async fn aggregates_equal_the_rows_after_every_write(store: &Store) {
    let mut g = Lcg(7);
    let g0 = store.score_generation().await.unwrap();
    let days = [D0, D0, D0 + 1, D0 + 1, D0 + 1, D0, D0 + 2, D0 + 2];
    for (step, day) in days.into_iter().enumerate() {
        let at = day * DAY_MS + step as i64 * 1000;
        if step % 3 == 0 {
            // A full pass of one or both scorecards: 12 entities, some not selected.
            let cards: Vec<String> = CARDS[..1 + step % 2]
                .iter()
                .map(|c| c.to_string())
                .collect();
            let mut recs = Vec::new();
            for c in &cards {
                for i in 0..12 {
                    if g.next(5) != 0 {
                        recs.push(record(&mut g, c, &entity(i), at));
                    }
                }
            }
            store
                .save_scores(ScoreScope::Scorecards(&cards), &recs, at)
                .await
                .unwrap();
        } else {
            // Some entities re-scored: each may leave a scorecard, or change owner and level.
            let list: Vec<String> = (0..1 + g.next(5)).map(|_| entity(g.next(14))).collect();
            let mut list = list;
            list.sort();
            list.dedup();
            let mut recs = Vec::new();
            for e in &list {
                for c in CARDS {
                    if g.next(4) != 0 {
                        recs.push(record(&mut g, c, e, at));
                    }
                }
            }
            store
                .save_scores(ScoreScope::Entities(&list), &recs, at)
                .await
                .unwrap();
        }
        check(store, step).await;
    }
    assert_eq!(
        store.score_generation().await.unwrap(),
        g0 + days.len() as i64,
        "every write moves the generation"
    );
}
both!(aggregates_equal_the_rows_after_every_write);

async fn a_record_outside_the_scope_is_refused_and_nothing_written(store: &Store) {
    let mut g = Lcg(1);
    let list = vec![entity(1)];
    let recs = vec![record(&mut g, "basics", &entity(2), D0 * DAY_MS)];
    let err = store
        .save_scores(ScoreScope::Entities(&list), &recs, D0 * DAY_MS)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside"), "{err}");
    let twice = vec![
        record(&mut g, "basics", &entity(1), D0 * DAY_MS),
        record(&mut g, "basics", &entity(1), D0 * DAY_MS),
    ];
    let err = store
        .save_scores(ScoreScope::Entities(&list), &twice, D0 * DAY_MS)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("two results"), "{err}");
    let mut negative = record(&mut g, "basics", &entity(1), D0 * DAY_MS);
    negative.level_rank = -1;
    let err = store
        .save_scores(ScoreScope::Entities(&list), &[negative], D0 * DAY_MS)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("negative level rank"), "{err}");
    assert_eq!(
        store.score_summary("basics").await.unwrap(),
        ScoreSummary::default()
    );
    assert_eq!(store.score_generation().await.unwrap(), 0);
}
both!(a_record_outside_the_scope_is_refused_and_nothing_written);
