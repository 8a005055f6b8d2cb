//! Events from several tools link up: commits from GitHub (and `socle dora git`), deployments
//! from Argo CD and GitLab CI, incidents from PagerDuty and GitLab
//! (`fixtures/mixed-sources.jsonl`), computed by hand below.
//!
//! The history (window 2026-03-01 – 2026-03-15, 14 days; times UTC):
//!
//! | line | event | what |
//! |---|---|---|
//! | 1–4 | github changes c-a1 ← c-a2 ← c-a3 ← c-a4 (checkout) | 03-01 00:00, 03-02 08:00, 03-03 09:00, 03-05 06:00 |
//! | 5, 6, 8 | github changes c-b1, c-b2, c-b3 (search) | 03-04 00:00, 03-06 00:00, 03-09 12:00 |
//! | 7 | git change c-b2 again, with its parent c-b1 | the same commit from a second source |
//! | 9 | gitlab `101` checkout, lists [c-a2], commit c-a2 | 03-02 12:00 |
//! | 10 | argocd `checkout-7` checkout, commit c-a4, no list | 03-05 09:00 |
//! | 11 | argocd `search-3` search, lists [c-b1] | 03-04 06:00 |
//! | 12 | gitlab `555` search, lists [c-b2] | 03-07 00:00 |
//! | 13 | argocd `555` checkout (the same id as gitlab's) | 03-07 02:00 |
//! | 14 | argocd `search-4` search, lists [c-b3] | 03-10 00:00 |
//! | 15 | gitlab `102` checkout, failed | 03-11 00:00 |
//! | 16 | argocd `checkout-8` checkout, commit c-a4 again | 03-12 00:00 |
//! | 17 | pagerduty PD-1 checkout names `checkout-7` | 03-05 10:00 → 11:30 |
//! | 18 | gitlab 9 search names `555` | 03-07 01:00 → 05:00 |
//! | 19 | pagerduty PD-2 checkout names `555` | 03-07 03:00 → 03:30 |
//! | 20 | pagerduty PD-3 checkout names none | 03-12 06:00 → 03-13 06:00 |
//! | 21 | pagerduty PD-4 search names `nope` | 03-14 00:00, open |
//!
//! Successful production deployments: 101, search-3, checkout-7, gitlab 555, argocd 555,
//! search-4, checkout-8 — 7 (102 failed): checkout 4, search 3.
//!
//! Lead times — changes listed by a deployment of another source, and commit ranges whose
//! previous deployment came from another tool:
//! - c-a2: listed by gitlab 101 (a github change) → 08:00 → 12:00 = 4 h;
//! - c-a3, c-a4: argocd checkout-7 walks from c-a4 back to gitlab 101's commit c-a2 (the
//!   previous deployment of checkout to production, whichever tool) → c-a4 06:00 → 09:00 = 3 h,
//!   c-a3 03-03 09:00 → 03-05 09:00 = 48 h; c-a1 is in no deployment (101 listed only c-a2,
//!   and the range stops at c-a2);
//! - checkout-8 re-deploys c-a4: its range is empty;
//! - c-b1: search-3 → 00:00 → 06:00 = 6 h; c-b3: search-4 → 03-09 12:00 → 03-10 00:00 = 12 h;
//! - c-b2: gitlab 555 → 03-06 00:00 → 03-07 00:00 = 24 h, once (git's version, which knows its
//!   parent, stands for the commit; github's is the same commit).
//!
//! Organisation [3, 4, 6, 12, 24, 48]: median (6 + 12) / 2 = 9 h, p90 at rank 4.5 →
//! 24 + 0.5 × 24 = 36 h. Checkout [3, 4, 48]: median 4. Search [6, 12, 24]: median 12.
//!
//! Causes:
//! - PD-1 names checkout-7: no pagerduty deployment has that id, argocd's is the only one;
//! - gitlab 9 names 555: gitlab's own 555 (search) first, not argocd's (checkout);
//! - PD-2 names 555: two sources have it, neither is pagerduty; only argocd's is a checkout
//!   deployment, the incident's service;
//! - PD-3 names none: the latest checkout deployment before 03-12 06:00 is checkout-8;
//! - PD-4 names an id no source has: no cause.
//!
//! Failed: checkout-7, gitlab 555, argocd 555, checkout-8 → 4 / 7; checkout 3 / 4; search
//! 1 / 3.
//!
//! Recovery (resolved in the window): PD-1 1.5 h, gitlab 9 4 h, PD-2 0.5 h, PD-3 24 h →
//! [0.5, 1.5, 4, 24], median 2.75 h. Checkout [0.5, 1.5, 24]: 1.5 h. Search [4]: 4 h.

use socle_dora::{Dataset, Event, Options, Window, parse_jsonl, parse_timestamp};

const MIXED: &str = include_str!("fixtures/mixed-sources.jsonl");

fn dataset() -> Dataset {
    let parsed = parse_jsonl(MIXED, "import");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.events.len(), 21);
    Dataset::build(parsed.events, &Options::default())
}

fn window() -> Window {
    Window {
        from: parse_timestamp("2026-03-01T00:00:00Z").unwrap(),
        to: parse_timestamp("2026-03-15T00:00:00Z").unwrap(),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn service(ds: &Dataset, name: &str) -> socle_dora::Report {
    ds.report(Some(&[name.to_owned()]), window(), false)
}

#[test]
fn lead_times_link_changes_and_deployments_of_different_sources() {
    let ds = dataset();
    let org = ds.report(None, window(), false);
    assert_eq!(org.changes, 6, "{org:?}");
    assert!(close(org.lead_time_median_hours, 9.0), "{org:?}");
    assert!(close(org.lead_time_p90_hours, 36.0), "{org:?}");
    let checkout = service(&ds, "checkout");
    assert_eq!(checkout.changes, 3);
    assert!(close(checkout.lead_time_median_hours, 4.0), "{checkout:?}");
    let search = service(&ds, "search");
    assert_eq!(search.changes, 3);
    assert!(close(search.lead_time_median_hours, 12.0), "{search:?}");
}

#[test]
fn change_failure_rate_follows_incidents_to_deployments_of_other_sources() {
    let ds = dataset();
    let org = ds.report(None, window(), false);
    assert_eq!(org.deployments, 7);
    assert!(close(org.deployment_frequency_per_day, 0.5));
    assert_eq!(org.failed_deployments, 4);
    assert!(close(org.change_failure_rate, 4.0 / 7.0), "{org:?}");
    assert_eq!(ds.incidents_without_cause, 1);
}

#[test]
fn a_shared_deployment_id_resolves_in_the_incidents_own_source_first() {
    let ds = dataset();
    // gitlab 9 (search) → gitlab's 555, a search deployment: search has a failure. Had it gone
    // to argocd's 555, search would have none.
    let search = service(&ds, "search");
    assert_eq!(search.deployments, 3);
    assert_eq!(search.failed_deployments, 1);
    assert!(close(search.change_failure_rate, 1.0 / 3.0), "{search:?}");
    // PD-2 (checkout) → argocd's 555 by service: checkout-7, argocd 555 and checkout-8.
    let checkout = service(&ds, "checkout");
    assert_eq!(checkout.deployments, 4);
    assert_eq!(checkout.failed_deployments, 3);
    assert!(close(checkout.change_failure_rate, 0.75), "{checkout:?}");
}

#[test]
fn restore_times_of_incidents_from_any_source() {
    let ds = dataset();
    let org = ds.report(None, window(), false);
    assert_eq!(org.incidents_resolved, 4);
    assert!(close(org.recovery_time_median_hours, 2.75), "{org:?}");
    assert!(close(
        service(&ds, "checkout").recovery_time_median_hours,
        1.5
    ));
    assert!(close(
        service(&ds, "search").recovery_time_median_hours,
        4.0
    ));
}

#[test]
fn an_id_shared_by_other_sources_and_services_names_no_cause() {
    // billing's incident names 555, which two other sources use for two other services.
    let line = r#"{"type":"incident","source":"opsgenie","id":"OG-1","service":"billing","started_at":"2026-03-08T00:00:00Z","deployment":"555"}"#;
    let mut parsed = parse_jsonl(MIXED, "import");
    parsed.events.extend(parse_jsonl(line, "import").events);
    let ds = Dataset::build(parsed.events, &Options::default());
    assert_eq!(ds.incidents_without_cause, 2);
    assert_eq!(ds.report(None, window(), false).failed_deployments, 4);
}

#[test]
fn the_result_does_not_depend_on_the_order_of_sources() {
    let parsed = parse_jsonl(MIXED, "import");
    let expected =
        Dataset::build(parsed.events.clone(), &Options::default()).report(None, window(), true);
    let mut reversed: Vec<Event> = parsed.events;
    reversed.reverse();
    let got = Dataset::build(reversed, &Options::default()).report(None, window(), true);
    assert_eq!(got, expected);
}
