//! Rounds: the periods a survey is open in. A round is named by the day it opens
//! (`2026-04-01`); a person answers a round once.

use serde::Serialize;
use time::{Date, Month, OffsetDateTime, Time};

use crate::model::{Recurrence, Survey};

/// Most rounds looked at (a hundred years of monthly rounds).
pub const MAX_ROUNDS: usize = 1200;

const DAY_MS: i64 = 86_400_000;

/// One round of a survey: open from `opens_ms` (included) to `closes_ms` (excluded), UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Round {
    /// The day it opens, `YYYY-MM-DD`.
    pub id: String,
    pub opens_ms: i64,
    pub closes_ms: i64,
}

impl Round {
    pub fn is_open(&self, now_ms: i64) -> bool {
        self.opens_ms <= now_ms && now_ms < self.closes_ms
    }
}

fn midnight_ms(d: Date) -> i64 {
    let t = OffsetDateTime::new_utc(d, Time::MIDNIGHT).unix_timestamp();
    t * 1000
}

/// `d` moved by `months` (its day is at most 28, so every month has it).
fn add_months(d: Date, months: u32) -> Option<Date> {
    let m0 = i64::from(d.month() as u8) - 1 + i64::from(months);
    let year = i32::try_from(i64::from(d.year()) + m0 / 12).ok()?;
    let month = Month::try_from(u8::try_from(m0 % 12 + 1).ok()?).ok()?;
    Date::from_calendar_date(year, month, d.day()).ok()
}

impl Survey {
    /// The `k`-th round (0 is the first); None past the last one.
    pub fn nth_round(&self, k: usize) -> Option<Round> {
        let s = &self.schedule;
        let after_close = s.closes.map(|c| midnight_ms(c) + DAY_MS);
        if s.recurrence == Recurrence::Once {
            return (k == 0).then(|| Round {
                id: s.opens.to_string(),
                opens_ms: midnight_ms(s.opens),
                closes_ms: after_close.unwrap_or(i64::MAX),
            });
        }
        let start = add_months(s.opens, s.recurrence.months() * u32::try_from(k).ok()?)?;
        let opens_ms = midnight_ms(start);
        if after_close.is_some_and(|c| opens_ms >= c) {
            return None;
        }
        let closes_ms = opens_ms + i64::from(s.open_for_days) * DAY_MS;
        Some(Round {
            id: start.to_string(),
            opens_ms,
            closes_ms: after_close.map_or(closes_ms, |c| closes_ms.min(c)),
        })
    }

    /// The rounds that have opened by `now_ms`, oldest first (at most [`MAX_ROUNDS`]).
    pub fn rounds_started(&self, now_ms: i64) -> Vec<Round> {
        (0..MAX_ROUNDS)
            .map_while(|k| self.nth_round(k))
            .take_while(|r| r.opens_ms <= now_ms)
            .collect()
    }

    /// The round open at `now_ms`, if any.
    pub fn open_round(&self, now_ms: i64) -> Option<Round> {
        self.rounds_started(now_ms)
            .pop()
            .filter(|r| r.is_open(now_ms))
    }

    /// A started round by its id, with the round before it.
    pub fn round_and_previous(&self, id: &str, now_ms: i64) -> Option<(Round, Option<Round>)> {
        let rounds = self.rounds_started(now_ms);
        let i = rounds.iter().position(|r| r.id == id)?;
        Some((
            rounds[i].clone(),
            i.checked_sub(1).map(|p| rounds[p].clone()),
        ))
    }
}
