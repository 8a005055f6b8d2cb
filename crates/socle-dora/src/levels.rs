//! The 2024 Accelerate State of DevOps performance levels, as a classification rule.
//!
//! The 2024 report describes four clusters by typical values:
//!
//! | level  | deployment frequency              | lead time        | change failure rate | recovery time   |
//! |--------|-----------------------------------|------------------|---------------------|-----------------|
//! | Elite  | on demand (several a day)         | < 1 day          | 5 %                 | < 1 hour        |
//! | High   | once a day to once a week         | 1 day – 1 week   | 20 %                | < 1 day         |
//! | Medium | once a week to once a month       | 1 week – 1 month | 10 %                | < 1 day         |
//! | Low    | once a month to once in 6 months  | 1 – 6 months     | 40 %                | 1 week – 1 month|
//!
//! Each metric is classified on its own, with bounds monotone in "better" (the table's change
//! failure and recovery columns are not: Medium's 10 % is better than High's 20 %, and High and
//! Medium share "< 1 day"). The rule, lower bound included:
//!
//! - deployment frequency (successful production deployments per day): Elite ≥ 1, High ≥ 1/7,
//!   Medium ≥ 1/30, else Low;
//! - lead time (median, hours): Elite < 24, High < 168, Medium < 720, else Low;
//! - change failure rate: Elite ≤ 5 %, High ≤ 20 % (a rate of 10 %, the Medium cluster's typical
//!   value, is at least as good as High's and is classified High), Medium ≤ 30 % (half-way to
//!   Low's 40 %), else Low;
//! - recovery time (median, hours): Elite < 1, High < 24 (Medium shares this bound in the table;
//!   a value under a day is classified High), Medium < 168, else Low.
//!
//! "No data" has no level.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Elite => "elite",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

pub fn deployment_frequency(per_day: f64) -> Level {
    if per_day >= 1.0 {
        Level::Elite
    } else if per_day >= 1.0 / 7.0 {
        Level::High
    } else if per_day >= 1.0 / 30.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

pub fn lead_time(median_hours: f64) -> Level {
    if median_hours < 24.0 {
        Level::Elite
    } else if median_hours < 168.0 {
        Level::High
    } else if median_hours < 720.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

pub fn change_failure_rate(rate: f64) -> Level {
    if rate <= 0.05 {
        Level::Elite
    } else if rate <= 0.20 {
        Level::High
    } else if rate <= 0.30 {
        Level::Medium
    } else {
        Level::Low
    }
}

pub fn recovery_time(median_hours: f64) -> Level {
    if median_hours < 1.0 {
        Level::Elite
    } else if median_hours < 24.0 {
        Level::High
    } else if median_hours < 168.0 {
        Level::Medium
    } else {
        Level::Low
    }
}
