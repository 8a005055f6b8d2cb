//! Error budgets from measured SLIs: what to ask Prometheus (the SLI error ratio over every alert
//! window and over the SLO period), and what the answers mean — the SLI over the period, the
//! remaining error budget, burn rates, time to exhaustion at the current rate, and which of the
//! multi-window multi-burn-rate alerts would fire. Pure: the caller runs the queries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gofmt::PromDuration;
use crate::model::Slo;
use crate::rules::sli_query;
use crate::windows::{Window, Windows};

/// The queries of one SLO: the SLI error ratio over each window (alert windows, then the period).
pub fn budget_queries(slo: &Slo, ws: &Windows) -> Vec<(PromDuration, String)> {
    let mut windows = ws.alert_windows();
    if !windows.contains(&ws.period) {
        windows.push(ws.period);
    }
    windows
        .into_iter()
        .filter_map(|w| sli_query(slo, w).map(|q| (w, q)))
        .collect()
}

/// One window's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowBurn {
    pub window: PromDuration,
    /// Error ratio measured over the window (`None`: no data).
    pub error_ratio: Option<f64>,
    /// Error ratio divided by the error budget ratio: 1 spends the budget exactly over the period.
    pub burn_rate: Option<f64>,
}

/// Which alerts would fire now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

/// An SLO's error budget, from measured error ratios.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub id: String,
    pub service: String,
    pub slo: String,
    /// Percent.
    pub objective: f64,
    pub period: PromDuration,
    /// Good ratio over the period (1 − error ratio), when there is data.
    pub sli: Option<f64>,
    /// The error budget ratio (1 − objective).
    pub error_budget: f64,
    /// Share of the period's error budget left (1 = untouched, ≤ 0 = exhausted).
    pub remaining: Option<f64>,
    pub windows: Vec<WindowBurn>,
    /// Seconds until the budget is spent at the current burn rate (page-quick short window);
    /// `Some(0)` when already spent, `None` when nothing is burning or there is no data.
    pub seconds_to_exhaustion: Option<f64>,
    /// Alerts whose two windows both burn faster than their factor.
    pub firing: Vec<Severity>,
}

fn burn(ws: &Windows, w: &Window, by_window: &BTreeMap<PromDuration, f64>) -> bool {
    let factor = ws.burn_rate(w);
    let over = |d: PromDuration| by_window.get(&d).is_some_and(|b| *b > factor);
    over(w.short) && over(w.long)
}

/// The budget of `slo` from the error ratio measured over each window (`measured`).
pub fn budget(slo: &Slo, ws: &Windows, measured: &BTreeMap<PromDuration, Option<f64>>) -> Budget {
    let error_budget = (100.0 - slo.objective) / 100.0;
    let ratio = |w: PromDuration| measured.get(&w).copied().flatten();
    let windows: Vec<WindowBurn> = budget_queries(slo, ws)
        .into_iter()
        .map(|(w, _)| WindowBurn {
            window: w,
            error_ratio: ratio(w),
            burn_rate: ratio(w).map(|r| r / error_budget),
        })
        .collect();
    let burns: BTreeMap<PromDuration, f64> = windows
        .iter()
        .filter_map(|w| w.burn_rate.map(|b| (w.window, b)))
        .collect();
    let period_ratio = ratio(ws.period);
    let remaining = period_ratio.map(|r| 1.0 - r / error_budget);
    let current = burns.get(&ws.page_quick.short).copied();
    let period_seconds = ws.period.0 as f64 / 1000.0;
    let seconds_to_exhaustion = match (remaining, current) {
        (Some(r), _) if r <= 0.0 => Some(0.0),
        (Some(r), Some(b)) if b > 0.0 => Some(r * period_seconds / b),
        _ => None,
    };
    let mut firing = Vec::new();
    if !slo.page_alert.disable
        && (burn(ws, &ws.page_quick, &burns) || burn(ws, &ws.page_slow, &burns))
    {
        firing.push(Severity::Page);
    }
    if !slo.ticket_alert.disable
        && (burn(ws, &ws.ticket_quick, &burns) || burn(ws, &ws.ticket_slow, &burns))
    {
        firing.push(Severity::Ticket);
    }
    Budget {
        id: slo.id.clone(),
        service: slo.service.clone(),
        slo: slo.name.clone(),
        objective: slo.objective,
        period: ws.period,
        sli: period_ratio.map(|r| 1.0 - r),
        error_budget,
        remaining,
        windows,
        seconds_to_exhaustion,
        firing,
    }
}
