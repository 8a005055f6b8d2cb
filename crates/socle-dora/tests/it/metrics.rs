//! The four keys on a dataset computed by hand (see each comment for the arithmetic).

use proptest::prelude::*;
use socle_dora::metrics::percentile_cont;
use socle_dora::{Dataset, Event, Level, Options, Window, parse_jsonl, parse_timestamp};

const DATA: &str = r#"
{"type":"deployment","id":"d0","service":"payments","environment":"production","status":"success","finished_at":"2025-12-31T23:00:00Z","changes":["c0"]}
{"type":"deployment","id":"d1","service":"payments","environment":"production","status":"success","finished_at":"2026-01-02T10:00:00Z","changes":["c1","c2"]}
{"type":"deployment","id":"d2","service":"payments","environment":"prod","status":"success","finished_at":"2026-01-03T10:00:00+02:00","changes":["c2","c3","c8"]}
{"type":"deployment","id":"d3","service":"payments","environment":"production","status":"failure","finished_at":"2026-01-04T00:00:00Z","changes":["c4"]}
{"type":"deployment","id":"d4","service":"payments","environment":"staging","status":"success","finished_at":"2026-01-05T00:00:00Z","changes":["c4"]}
{"type":"deployment","id":"d5","service":"ledger","environment":"production","status":"success","finished_at":"2026-01-10T00:00:00Z","changes":["c5"]}
{"type":"deployment","id":"d6","service":"payments","environment":"production","status":"success","finished_at":"2026-01-15T00:00:00Z","changes":["c6"]}
{"type":"change","id":"c0","service":"payments","committed_at":"2025-12-30T23:00:00Z"}
{"type":"change","id":"c1","service":"payments","committed_at":"2026-01-02T06:00:00Z"}
{"type":"change","id":"c2","service":"payments","committed_at":"2026-01-01T10:00:00Z"}
{"type":"change","id":"c3","service":"payments","committed_at":"2026-01-03T02:00:00Z"}
{"type":"change","id":"c4","service":"payments","committed_at":"2026-01-03T00:00:00Z"}
{"type":"change","id":"c5","service":"ledger","committed_at":"2026-01-09T12:00:00Z"}
{"type":"change","id":"c6","service":"payments","committed_at":"2026-01-14T00:00:00Z"}
{"type":"change","id":"c7","service":"payments","committed_at":"2026-01-06T00:00:00-05:00"}
{"type":"change","id":"c8","service":"payments","committed_at":"2026-01-03T09:00:00Z"}
{"type":"incident","id":"i1","service":"payments","started_at":"2026-01-02T12:00:00Z","resolved_at":"2026-01-02T14:00:00Z"}
{"type":"incident","id":"i2","service":"ledger","started_at":"2026-01-11T00:00:00Z","resolved_at":"2026-01-11T06:00:00Z","deployment":"d2"}
{"type":"incident","id":"i3","service":"payments","started_at":"2026-01-06T00:00:00Z","resolved_at":"2026-01-07T00:00:00Z","deployment":"d3"}
{"type":"incident","id":"i4","service":"payments","started_at":"2026-01-02T10:00:00Z","resolved_at":"2026-01-20T00:00:00Z"}
{"type":"incident","id":"i5","service":"ledger","started_at":"2025-12-20T00:00:00Z","resolved_at":"2026-01-01T00:00:00Z"}
"#;

fn events() -> Vec<Event> {
    let parsed = parse_jsonl(DATA, "import");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    parsed.events
}

fn window() -> Window {
    Window {
        from: parse_timestamp("2026-01-01T00:00:00Z").unwrap(),
        to: parse_timestamp("2026-01-15T00:00:00Z").unwrap(),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn organisation_report_matches_the_hand_computation() {
    let ds = Dataset::build(events(), &Options::default());
    let r = ds.report(None, window(), false);
    // d1, d2 (prod, +02:00 → 08:00Z) and d5; d0 is before the window, d6 exactly at its end
    // (half-open), d3 failed, d4 is staging.
    assert_eq!(r.deployments, 3);
    assert!(close(r.deployment_frequency_per_day, 3.0 / 14.0));
    assert_eq!(r.levels.deployment_frequency, Some(Level::High));
    // Weeks [Jan 1, 8) and [8, 15): 2 and 1 days with a deployment → median 1.5 < 3; both
    // weeks have one → weekly.
    assert_eq!(r.deployment_frequency_bucket, Some("weekly"));
    // Lead times: c1 4 h (d1), c2 24 h (first in d1, not d2), c3 6 h (d2 at 08:00Z), c5 12 h;
    // c8 −1 h ignored, c4 never in a successful production deployment, c7 never deployed,
    // c0 and c6 deployed outside the window. [4, 6, 12, 24] → median 9, p90 12 + 0.7 × 12.
    assert_eq!(r.changes, 4);
    assert!(close(r.lead_time_median_hours, 9.0), "{r:?}");
    assert!(close(r.lead_time_p90_hours, 20.4), "{r:?}");
    assert_eq!(r.levels.lead_time, Some(Level::Elite));
    // Causes: i1 → d1 (latest before it), i2 → d2 (explicit, counted for payments), i3 names
    // a failed deployment → no cause, i4 started exactly when d1 finished → d0 (strictly
    // before; outside the window), i5 → none. 2 of 3.
    assert_eq!(r.failed_deployments, 2);
    assert!(close(r.change_failure_rate, 2.0 / 3.0));
    assert_eq!(r.levels.change_failure_rate, Some(Level::Low));
    assert_eq!(ds.incidents_without_cause, 2);
    // Resolved in [from, to): i1 2 h, i2 6 h, i3 24 h, i5 288 h (resolved exactly at `from`);
    // i4 resolved after → median (6 + 24) / 2.
    assert_eq!(r.incidents_resolved, 4);
    assert!(close(r.recovery_time_median_hours, 15.0));
    assert_eq!(r.levels.recovery_time, Some(Level::High));
}

#[test]
fn service_reports_and_attribution_to_the_deployments_service() {
    let ds = Dataset::build(events(), &Options::default());
    let p = ds.report(Some(&["payments".to_owned()]), window(), false);
    assert_eq!(p.deployments, 2);
    // [4, 6, 24]: median 6, p90 6 + 0.8 × 18.
    assert!(close(p.lead_time_median_hours, 6.0));
    assert!(close(p.lead_time_p90_hours, 20.4));
    // d2 caused ledger's incident i2 but counts for payments.
    assert!(close(p.change_failure_rate, 1.0));
    // payments' incidents resolved in the window: i1 2 h, i3 24 h.
    assert!(close(p.recovery_time_median_hours, 13.0));
    let l = ds.report(Some(&["ledger".to_owned()]), window(), false);
    assert_eq!(l.deployments, 1);
    assert!(close(l.change_failure_rate, 0.0));
    assert_eq!(l.levels.change_failure_rate, Some(Level::Elite));
    assert!(close(l.recovery_time_median_hours, 147.0));
    // A service with no events: no data anywhere, never a zero.
    let none = ds.report(Some(&["nobody".to_owned()]), window(), false);
    assert_eq!(
        (
            none.deployment_frequency_per_day,
            none.lead_time_median_hours,
            none.change_failure_rate,
            none.recovery_time_median_hours
        ),
        (None, None, None, None)
    );
    assert_eq!(none.levels, Default::default());
}

#[test]
fn empty_windows_give_no_data() {
    let ds = Dataset::build(events(), &Options::default());
    let w = Window {
        from: parse_timestamp("2027-01-01T00:00:00Z").unwrap(),
        to: parse_timestamp("2027-02-01T00:00:00Z").unwrap(),
    };
    let r = ds.report(None, w, true);
    assert_eq!(r.deployments, 0);
    assert_eq!(r.deployment_frequency_per_day, None);
    assert_eq!(r.deployment_frequency_bucket, None);
    assert_eq!(r.change_failure_rate, None);
    assert_eq!(r.lead_time_median_hours, None);
    assert_eq!(r.recovery_time_median_hours, None);
    // 31 days → 5 weekly points, the last one 3 days long.
    assert_eq!(r.weekly.len(), 5);
    assert_eq!(r.weekly[4].from, "2027-01-29T00:00:00Z");
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["deployment_frequency_per_day"].is_null());
    assert!(json["levels"]["lead_time"].is_null());
}

#[test]
fn weekly_series() {
    let ds = Dataset::build(events(), &Options::default());
    let r = ds.report(None, window(), true);
    assert_eq!(r.weekly.len(), 2);
    assert_eq!(r.weekly[0].deployments, 2);
    assert_eq!(r.weekly[1].deployments, 1);
    // Week 1: leads 4, 24, 6 → 6; failures d1, d2 of 2.
    assert!(close(r.weekly[0].lead_time_median_hours, 6.0));
    assert!(close(r.weekly[0].change_failure_rate, 1.0));
    assert!(close(r.weekly[1].change_failure_rate, 0.0));
}

#[test]
fn production_environments_are_configurable() {
    let opts = Options::with_environments(["staging"]);
    let ds = Dataset::build(events(), &opts);
    let r = ds.report(None, window(), false);
    // Only d4 is a successful staging deployment.
    assert_eq!(r.deployments, 1);
}

#[test]
fn changes_derived_from_commit_ranges() {
    // a ← b ← c ← d (parents, reported by Git); Socle's x1 deploys b, x2 deploys d: x2
    // ships c and d only.
    let text = r#"
{"type":"change","id":"a","service":"s","committed_at":"2026-01-01T00:00:00Z"}
{"type":"change","id":"b","service":"s","committed_at":"2026-01-01T01:00:00Z","parent":"a"}
{"type":"change","id":"c","service":"s","committed_at":"2026-01-01T02:00:00Z","parent":"b"}
{"type":"change","id":"d","service":"s","committed_at":"2026-01-01T03:00:00Z","parent":"c"}
{"type":"deployment","source":"socle","id":"x1","service":"s","environment":"prod","finished_at":"2026-01-01T04:00:00Z","commit":"b"}
{"type":"deployment","source":"socle","id":"x2","service":"s","environment":"prod","finished_at":"2026-01-01T10:00:00Z","commit":"d"}
"#;
    let parsed = parse_jsonl(text, "github");
    assert!(parsed.errors.is_empty());
    let ds = Dataset::build(parsed.events, &Options::default());
    let r = ds.report(None, window(), false);
    // a 4 h, b 3 h (x1); c 8 h, d 7 h (x2) → [3, 4, 7, 8] → median 5.5.
    assert_eq!(r.changes, 4);
    assert!(close(r.lead_time_median_hours, 5.5), "{r:?}");
}

#[test]
fn bad_lines_are_reported_by_number() {
    let text = "{\"type\":\"deployment\",\"id\":\"d1\",\"service\":\"p\",\"environment\":\"prod\",\"finished_at\":\"2026-01-05T10:00:00Z\"}\nnot json\n\n{\"type\":\"change\",\"id\":\"c1\",\"service\":\"p\",\"committed_at\":\"2026-01-04T08:00:00\"}\n{\"type\":\"rollout\",\"id\":\"x\",\"service\":\"p\"}\n{\"type\":\"incident\",\"id\":\"i\",\"service\":\"p\",\"started_at\":\"2026-01-04T08:00:00Z\",\"resolved_at\":\"2026-01-04T07:00:00Z\"}\n{\"type\":\"deployment\",\"id\":\"d2\",\"service\":\"p\",\"finished_at\":\"2026-01-05T10:00:00Z\"}\n";
    let socle_dora::Parsed { events, errors, .. } = parse_jsonl(text, "import");
    assert_eq!(events.len(), 1);
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 4, 5, 6, 7]);
    assert!(errors[1].message.contains("no timezone"), "{}", errors[1]);
    assert!(
        errors[2].message.contains("unknown type \"rollout\""),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].message.contains("before `started_at`"),
        "{}",
        errors[3]
    );
    assert!(errors[4].message.contains("`environment`"), "{}", errors[4]);
}

#[test]
fn timestamps_keep_their_offsets() {
    assert_eq!(
        parse_timestamp("2026-01-03T10:00:00+02:00").unwrap(),
        parse_timestamp("2026-01-03T08:00:00Z").unwrap()
    );
    assert!(parse_timestamp("2026-01-03 08:00:00").is_err());
    assert!(parse_timestamp("yesterday").is_err());
}

#[test]
fn percentile_cont_interpolates_like_sql() {
    // PostgreSQL: percentile_cont(0.5) of 1,2,3,4 = 2.5; percentile_cont(0.9) = 3.7.
    assert_eq!(percentile_cont(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
    assert!((percentile_cont(&mut [4.0, 1.0, 3.0, 2.0], 0.9).unwrap() - 3.7).abs() < 1e-12);
    assert_eq!(percentile_cont(&mut [7.0], 0.9), Some(7.0));
    assert_eq!(percentile_cont(&mut [], 0.5), None);
    // Ties.
    assert_eq!(percentile_cont(&mut [5.0, 5.0, 5.0, 1.0], 0.5), Some(5.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The report does not depend on the order events arrive in, nor on re-deliveries.
    #[test]
    fn invariant_under_order_and_redelivery(seed in any::<u64>(), dups in proptest::collection::vec(0usize..22, 0..30)) {
        let base = events();
        let expected = Dataset::build(base.clone(), &Options::default()).report(None, window(), true);
        let mut shuffled = base.clone();
        for &d in &dups {
            shuffled.push(base[d % base.len()].clone());
        }
        // Deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let got = Dataset::build(shuffled, &Options::default()).report(None, window(), true);
        prop_assert_eq!(got, expected);
    }

    /// Percentiles lie between the minimum and the maximum and grow with p.
    #[test]
    fn percentile_bounds(mut v in proptest::collection::vec(-1e6f64..1e6, 1..200), p in 0.0f64..1.0) {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let a = percentile_cont(&mut v.clone(), p).unwrap();
        let b = percentile_cont(&mut v, (p + 0.1).min(1.0)).unwrap();
        prop_assert!(a >= min - 1e-9 && a <= max + 1e-9);
        prop_assert!(b >= a - 1e-9);
    }
}

#[test]
fn parallel_parsing_matches_sequential() {
    // Large enough to be split; a bad line in the middle keeps its number.
    let mut text = String::new();
    for i in 0..30_000 {
        if i == 17_321 {
            text.push_str("not json\n");
        } else {
            text.push_str(&format!("{{\"type\":\"change\",\"id\":\"c{i}\",\"service\":\"s\",\"committed_at\":\"2026-01-04T08:00:00Z\"}}\n"));
        }
    }
    let a = parse_jsonl(&text, "x");
    let b = socle_dora::parse_jsonl_parallel(&text, "x", 3);
    assert_eq!(a, b);
    assert_eq!(b.errors[0].line, 17_322);
}
