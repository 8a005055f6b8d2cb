//! The demo delivery history: valid events, deterministic, one cadence per tier.

use socle_dora::{Dataset, Options, Window};

#[test]
fn demo_history_is_valid_deterministic_and_tiered() {
    let end = 1_793_491_200_000; // 2026-11-01T00:00:00Z
    let services: Vec<(String, usize)> = (0..8).map(|i| (format!("svc-{i}"), i % 4)).collect();
    let text = socle_demo::dora_history(&services, end, 90);
    assert_eq!(
        text,
        socle_demo::dora_history(&services, end, 90),
        "deterministic"
    );
    let socle_dora::Parsed {
        events,
        errors,
        unknown_fields,
    } = socle_dora::parse_jsonl(&text, "demo");
    assert!(errors.is_empty(), "{errors:?}");
    assert!(unknown_fields.is_empty(), "{unknown_fields:?}");
    let titled = events
        .iter()
        .filter(|e| matches!(e, socle_dora::Event::Incident(i) if i.title.is_some() && i.severity.is_some()))
        .count();
    let incidents = events
        .iter()
        .filter(|e| matches!(e, socle_dora::Event::Incident(_)))
        .count();
    assert!(
        incidents > 0 && titled == incidents,
        "{titled} of {incidents}"
    );
    let ds = Dataset::build(events, &Options::default());
    let w = Window::last_days(end, 90);
    let per_day = |tier: usize| {
        let names: Vec<String> = services
            .iter()
            .filter(|s| s.1 == tier)
            .map(|s| s.0.clone())
            .collect();
        ds.report(Some(&names), w, false)
            .deployment_frequency_per_day
            .unwrap_or(0.0)
    };
    // Tier 0 deploys every ~8 h, tier 3 about monthly: each tier slower than the one before.
    let rates: Vec<f64> = (0..4).map(per_day).collect();
    assert!(rates.windows(2).all(|r| r[0] > r[1]), "{rates:?}");
    assert!(rates[0] > 4.0 && rates[3] < 0.2, "{rates:?}");
    let org = ds.report(None, w, false);
    assert!(org.change_failure_rate.is_some() && org.recovery_time_median_hours.is_some());
}
