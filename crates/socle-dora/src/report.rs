//! A scope's report: the four keys over a window, computed from the per-service series of a
//! [`crate::metrics::Dataset`] (binary searches and order statistics), their Four Keys buckets
//! and DORA levels, the weekly trend, and the report's shape as the API returns it.

use std::collections::HashSet;

use serde::Serialize;

use crate::events::{Millis, format_timestamp};
use crate::levels::{self, Level};
use crate::metrics::{DAY, Series, WEEK, Window};

/// `PERCENTILE_CONT(p)` of the values (reordered in place).
pub fn percentile_cont(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let pos = p.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, &mut a, right) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || right.is_empty() {
        return Some(a);
    }
    let b = right.iter().copied().fold(f64::INFINITY, f64::min);
    Some(a + (b - a) * frac)
}

fn in_window(v: &[Millis], w: Window) -> &[Millis] {
    let a = v.partition_point(|&t| t < w.from);
    let b = v.partition_point(|&t| t < w.to);
    &v[a..b.max(a)]
}

fn pairs_in_window(v: &[(Millis, f64)], w: Window) -> &[(Millis, f64)] {
    let a = v.partition_point(|&(t, _)| t < w.from);
    let b = v.partition_point(|&(t, _)| t < w.to);
    &v[a..b.max(a)]
}

pub(crate) fn compute(scope: &[&Series], w: Window) -> Report {
    let mut r = Report {
        from: format_timestamp(w.from),
        to: format_timestamp(w.to),
        ..Report::default()
    };
    if w.to <= w.from {
        return r;
    }
    let mut deploy_times: Vec<Millis> = Vec::new();
    let mut leads: Vec<f64> = Vec::new();
    let mut recoveries: Vec<f64> = Vec::new();
    let mut failed = 0u64;
    for s in scope {
        deploy_times.extend_from_slice(in_window(&s.deploys, w));
        failed += in_window(&s.failed, w).len() as u64;
        leads.extend(pairs_in_window(&s.lead, w).iter().map(|p| p.1));
        recoveries.extend(pairs_in_window(&s.recovery, w).iter().map(|p| p.1));
    }
    r.deployments = deploy_times.len() as u64;
    r.failed_deployments = failed;
    r.changes = leads.len() as u64;
    r.incidents_resolved = recoveries.len() as u64;
    if r.deployments > 0 {
        let per_day = r.deployments as f64 / w.days();
        r.deployment_frequency_per_day = Some(per_day);
        r.deployment_frequency_bucket = Some(bucket(&deploy_times, w));
        r.change_failure_rate = Some(failed as f64 / r.deployments as f64);
    }
    r.lead_time_median_hours = percentile_cont(&mut leads, 0.5);
    r.lead_time_p90_hours = percentile_cont(&mut leads, 0.9);
    r.recovery_time_median_hours = percentile_cont(&mut recoveries, 0.5);
    r.levels = Levels {
        deployment_frequency: r
            .deployment_frequency_per_day
            .map(levels::deployment_frequency),
        lead_time: r.lead_time_median_hours.map(levels::lead_time),
        change_failure_rate: r.change_failure_rate.map(levels::change_failure_rate),
        recovery_time: r.recovery_time_median_hours.map(levels::recovery_time),
    };
    r
}

/// Four Keys' deployment frequency bucket.
fn bucket(times: &[Millis], w: Window) -> &'static str {
    let weeks = ((w.to - w.from + WEEK - 1) / WEEK).max(1) as usize;
    let months = ((w.to - w.from + 30 * DAY - 1) / (30 * DAY)).max(1) as usize;
    let mut days_per_week: Vec<HashSet<i64>> = vec![HashSet::new(); weeks];
    let mut month_has = vec![0f64; months];
    for &t in times {
        let off = t - w.from;
        days_per_week[(off / WEEK) as usize].insert(off / DAY);
        month_has[(off / (30 * DAY)) as usize] = 1.0;
    }
    let mut days: Vec<f64> = days_per_week.iter().map(|d| d.len() as f64).collect();
    let mut week_has: Vec<f64> = days
        .iter()
        .map(|&d| if d > 0.0 { 1.0 } else { 0.0 })
        .collect();
    if percentile_cont(&mut days, 0.5).unwrap_or(0.0) >= 3.0 {
        "daily"
    } else if percentile_cont(&mut week_has, 0.5).unwrap_or(0.0) >= 1.0 {
        "weekly"
    } else if percentile_cont(&mut month_has, 0.5).unwrap_or(0.0) >= 1.0 {
        "monthly"
    } else {
        "yearly"
    }
}

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Levels {
    pub deployment_frequency: Option<Level>,
    pub lead_time: Option<Level>,
    pub change_failure_rate: Option<Level>,
    pub recovery_time: Option<Level>,
}

#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct WeekPoint {
    pub from: String,
    pub to: String,
    pub deployments: u64,
    pub deployment_frequency_per_day: Option<f64>,
    pub lead_time_median_hours: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub recovery_time_median_hours: Option<f64>,
}

/// The four keys of a scope over a window. `None` means no data.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Report {
    pub from: String,
    pub to: String,
    /// Services in the scope.
    pub services: usize,
    /// Successful production deployments in the window.
    pub deployments: u64,
    pub deployment_frequency_per_day: Option<f64>,
    /// Four Keys' bucket: daily, weekly, monthly or yearly.
    pub deployment_frequency_bucket: Option<&'static str>,
    /// Changes whose first deployment falls in the window (with a positive lead time).
    pub changes: u64,
    pub lead_time_median_hours: Option<f64>,
    pub lead_time_p90_hours: Option<f64>,
    /// Deployments in the window that caused an incident.
    pub failed_deployments: u64,
    pub change_failure_rate: Option<f64>,
    pub incidents_resolved: u64,
    pub recovery_time_median_hours: Option<f64>,
    pub levels: Levels,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weekly: Vec<WeekPoint>,
}

/// Groups a report's numbers for display: `(name, value, level)`.
pub fn summary(r: &Report) -> Vec<(&'static str, String, Option<Level>)> {
    let f = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| "no data".to_owned(), |v| format!("{v:.2}{unit}"))
    };
    vec![
        (
            "deployment frequency",
            r.deployment_frequency_per_day.map_or_else(
                || "no data".into(),
                |v| {
                    format!(
                        "{v:.2}/day ({})",
                        r.deployment_frequency_bucket.unwrap_or("-")
                    )
                },
            ),
            r.levels.deployment_frequency,
        ),
        (
            "lead time (median)",
            f(r.lead_time_median_hours, " h"),
            r.levels.lead_time,
        ),
        ("lead time (p90)", f(r.lead_time_p90_hours, " h"), None),
        (
            "change failure rate",
            r.change_failure_rate
                .map_or_else(|| "no data".into(), |v| format!("{:.1} %", v * 100.0)),
            r.levels.change_failure_rate,
        ),
        (
            "recovery time (median)",
            f(r.recovery_time_median_hours, " h"),
            r.levels.recovery_time,
        ),
    ]
}

/// Why a duration such as `90d` was refused (the text as given, quoted in the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinceError {
    #[error("{0:?}: expected a number of days, weeks or hours, e.g. 90d")]
    NotANumber(String),
    #[error("{0:?}: the unit must be d, w or h")]
    Unit(String),
    #[error("{0:?}: between 1 hour and 10 years")]
    OutOfRange(String),
}

/// Parses `90d`, `12w`, `36h` into milliseconds (at most ten years).
pub fn parse_since(s: &str) -> Result<Millis, SinceError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| SinceError::NotANumber(s.to_owned()))?;
    let ms = match unit {
        "d" | "" => n.checked_mul(DAY),
        "w" => n.checked_mul(WEEK),
        "h" => n.checked_mul(3_600_000),
        _ => return Err(SinceError::Unit(s.to_owned())),
    }
    .filter(|&v| v > 0 && v <= 3653 * DAY)
    .ok_or_else(|| SinceError::OutOfRange(s.to_owned()))?;
    Ok(ms)
}
