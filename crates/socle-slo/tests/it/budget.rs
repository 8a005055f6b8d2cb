//! Budget arithmetic on hand-computed figures.

use std::collections::BTreeMap;

use socle_slo::budget::{Severity, budget, budget_queries};
use socle_slo::{LoadOptions, PromDuration, WindowCatalog, load};

fn slo() -> socle_slo::Slo {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/slo.yaml"
    ))
    .unwrap();
    load(&text, "slo.yaml", &LoadOptions::default()).unwrap()[0].slos[0].clone()
}

fn measured(ratio: f64) -> BTreeMap<PromDuration, Option<f64>> {
    let ws = *WindowCatalog::default()
        .get(PromDuration::days(30))
        .unwrap();
    budget_queries(&slo(), &ws)
        .into_iter()
        .map(|(w, _)| (w, Some(ratio)))
        .collect()
}

#[test]
fn a_query_per_alert_window_and_the_period() {
    let ws = *WindowCatalog::default()
        .get(PromDuration::days(30))
        .unwrap();
    let q = budget_queries(&slo(), &ws);
    let windows: Vec<String> = q.iter().map(|(w, _)| w.to_string()).collect();
    assert_eq!(windows, ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]);
    assert!(q[7].1.contains("code=~\"5..\"}[30d]"), "{}", q[7].1);
}

#[test]
fn a_steady_error_ratio_at_half_the_budget_leaves_half_and_fires_nothing() {
    let ws = *WindowCatalog::default()
        .get(PromDuration::days(30))
        .unwrap();
    // Objective 99.9%: budget 0.1%; errors 0.05% everywhere.
    let b = budget(&slo(), &ws, &measured(0.0005));
    assert!((b.remaining.unwrap() - 0.5).abs() < 1e-9, "{b:?}");
    assert!((b.sli.unwrap() - 0.9995).abs() < 1e-12);
    assert!((b.windows[0].burn_rate.unwrap() - 0.5).abs() < 1e-9);
    // Half the budget left, burning at 0.5 budget per period: one period, 30 days.
    assert!((b.seconds_to_exhaustion.unwrap() - 30.0 * 86400.0).abs() < 1e-3);
    assert!(b.firing.is_empty());
}

#[test]
fn burning_fifteen_times_too_fast_pages_and_tickets() {
    let ws = *WindowCatalog::default()
        .get(PromDuration::days(30))
        .unwrap();
    let b = budget(&slo(), &ws, &measured(0.015));
    assert_eq!(b.firing, [Severity::Page, Severity::Ticket]);
    assert_eq!(b.seconds_to_exhaustion, Some(0.0));
    assert!(b.remaining.unwrap() < 0.0);
}

#[test]
fn no_data_is_not_a_healthy_budget() {
    let ws = *WindowCatalog::default()
        .get(PromDuration::days(30))
        .unwrap();
    let b = budget(&slo(), &ws, &BTreeMap::new());
    assert_eq!(
        (b.sli, b.remaining, b.seconds_to_exhaustion),
        (None, None, None)
    );
    assert!(b.firing.is_empty());
}
