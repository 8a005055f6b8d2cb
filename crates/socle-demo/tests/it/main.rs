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

#[test]
fn an_adopting_team_delivers_faster_from_its_adoption_day_and_the_others_do_not_change() {
    let end = 1_793_491_200_000; // 2026-11-01T00:00:00Z
    let day = 86_400_000;
    let adopted = end - 45 * day;
    let plain: Vec<(String, usize)> = (0..4).map(|i| (format!("svc-{i}"), 2)).collect();
    let mut services: Vec<socle_demo::DemoService> = plain
        .iter()
        .map(|(name, tier)| socle_demo::DemoService {
            name: name.clone(),
            tier: *tier,
            ..Default::default()
        })
        .collect();
    // svc-0 is created from a golden path on the adoption day; svc-1 delivers faster from then.
    services[0].created_at = Some(adopted);
    services[0].faster_from = Some(adopted);
    services[1].faster_from = Some(adopted);
    let text = socle_demo::dora_history_of(&services, end, 90);
    let ds = Dataset::build(
        socle_dora::parse_jsonl(&text, "demo").events,
        &Options::default(),
    );
    let before = Window {
        from: end - 90 * day,
        to: adopted,
    };
    let after = Window {
        from: adopted,
        to: end,
    };
    let one = |s: &str| [s.to_owned()];
    assert_eq!(ds.report(Some(&one("svc-0")), before, false).deployments, 0);
    let rate = |s: &str, w| {
        ds.report(Some(&one(s)), w, false)
            .deployment_frequency_per_day
            .unwrap_or(0.0)
    };
    // Tier 2 deploys about weekly, tier 1 about every other day.
    assert!(rate("svc-1", after) > 2.0 * rate("svc-1", before), "{text}");
    // The services that did not adopt keep the deployment times they had without the
    // adopters (change ids, numbered across services, move).
    let plain_text = socle_demo::dora_history(&plain[2..], end, 90);
    let kept = |t: &str| {
        t.lines()
            .filter(|l| l.contains("\"svc-3\"") && l.contains("deployment"))
            .map(|l| {
                let after = l.split("\"finished_at\":\"").nth(1).unwrap_or("");
                after.split('"').next().unwrap_or("").to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert!(!kept(&text).is_empty());
    assert_eq!(kept(&text), kept(&plain_text));
}
