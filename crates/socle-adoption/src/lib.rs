//! The platform measured by its use and its effect (issue 19, items 3–4), pure: facts in,
//! reports out. The application gathers the facts (the catalog, golden-path runs, Socle's
//! deployments, scorecard results, anonymous weekly counts of active people from the audit
//! log, the DORA index, survey results) and this crate computes:
//!
//! * [`adoption()`]: for a scope (the organisation or a team) and a window, the share of
//!   services created from a golden path, deployed through Socle, with docs, with SLOs and at
//!   each scorecard level; the same shares week by week — past weeks from the weekly
//!   snapshots where one was stored (docs and SLOs included), else rebuilt from creation and
//!   deploy times (a service whose creation time is known counts from that week on, the others
//!   throughout; docs and SLOs unknown), the last week from the catalog now; golden-path runs per template
//!   with their success rate and duration; **time to first deploy** (run started → first
//!   successful Socle deploy) as median and p90; weekly active people in the portal and
//!   through the CLI/API, counted (numbers only, never who).
//! * [`impact()`]: a team's adoption date (its first golden-path service or first Socle
//!   deploy), DORA's four keys over equal windows before and after it, survey results of the
//!   rounds before and after, and the caveats a reader must see (sample size, short windows,
//!   seasonality, surveys below their threshold).
//!
//! Percentiles are `PERCENTILE_CONT` (linear interpolation), as in DORA reports, so every
//! figure can be checked by hand.

mod adoption;
mod impact;
mod model;

pub use adoption::{
    AdoptionReport, AdoptionWeek, FirstDeploy, LevelShare, ScorecardLevels, Shares, TemplateStats,
    adoption, current_shares,
};
pub use impact::{
    Caveat, CaveatKind, DoraKeys, ImpactSummary, KeyChange, KeyTally, MIN_DEPLOYMENTS,
    MIN_WINDOW_DAYS, Period, SurveyComparison, SurveyScore, SurveySide, TeamImpact, Windows,
    adoption_date, impact, impact_windows, summarise, survey_score,
};
pub use model::{
    ActivityWeek, AdoptionDate, AdoptionSource, GoldenPathOrigin, RunFacts, RunOutcome,
    ScoredLevel, ServiceFacts, WeekCounts, WeekSource,
};

/// Milliseconds in a day and in a week.
pub const DAY_MS: i64 = 86_400_000;
pub const WEEK_MS: i64 = 7 * DAY_MS;
const HOUR_MS: f64 = 3_600_000.0;
/// 1970-01-05T00:00:00Z, a Monday: weeks start on Mondays, UTC.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// The start (Monday 00:00 UTC) of the week holding `ms`.
pub fn week_start(ms: i64) -> i64 {
    FIRST_MONDAY_MS + (ms - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS
}

/// `x / of`, `None` when `of` is zero.
fn share(x: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| x as f64 / of as f64)
}

/// `PERCENTILE_CONT(p)` of the values.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v = values.to_vec();
    socle_dora::report::percentile_cont(&mut v, p)
}
