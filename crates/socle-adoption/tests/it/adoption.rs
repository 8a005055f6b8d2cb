//! Adoption shares, weekly series, template runs and time to first deploy.

use socle_adoption::{
    ActivityWeek, AdoptionSource, DAY_MS, GoldenPathOrigin, RunFacts, RunOutcome, ScoredLevel,
    ServiceFacts, WeekCounts, WeekSource, adoption, adoption_date, week_start,
};
use socle_dora::Window;

/// Monday 2026-10-19T00:00:00Z.
const W0: i64 = 1_792_368_000_000;
const HOUR: i64 = 3_600_000;
const MIN: i64 = 60_000;

fn window() -> Window {
    // Three weeks: 19 Oct – 9 Nov 2026.
    Window {
        from: W0,
        to: W0 + 21 * DAY_MS,
    }
}

fn golden(template: &str, started: i64, seconds: i64) -> Option<GoldenPathOrigin> {
    Some(GoldenPathOrigin {
        template: template.into(),
        run: Some(format!("run-{started}")),
        started_at: Some(started),
        finished_at: Some(started + seconds * 1000),
    })
}

fn service(name: &str, team: &str) -> ServiceFacts {
    ServiceFacts {
        service: name.into(),
        team: Some(format!("group:default/{team}")),
        ..ServiceFacts::default()
    }
}

/// Seven services:
/// * a: golden path (rust), run started W0+7d+1h, 600 s; deployed 2 h after the start; docs, SLO.
/// * b: golden path (python), run started W0+8d, 300 s; deployed 26 h after the start; docs.
/// * g: golden path (rust), run started W0+15d, 1,200 s; deployed 5 h after the start.
/// * f: golden path (rust), run started W0+16d, 600 s; never deployed.
/// * c: golden path by its annotation only (no run, no time).
/// * d: not from a golden path; first deployed through Socle at W0+2d; SLO.
/// * e: nothing.
fn services() -> Vec<ServiceFacts> {
    let a_start = W0 + 7 * DAY_MS + HOUR;
    let b_start = W0 + 8 * DAY_MS;
    let g_start = W0 + 15 * DAY_MS;
    let f_start = W0 + 16 * DAY_MS;
    vec![
        ServiceFacts {
            golden_path: golden("rust-axum-service", a_start, 600),
            first_deploy_at: Some(a_start + 2 * HOUR),
            has_docs: true,
            has_slo: true,
            scorecards: vec![level("production-readiness", Some("bronze"), 1)],
            ..service("a", "team-a")
        },
        ServiceFacts {
            golden_path: golden("python-fastapi-service", b_start, 300),
            first_deploy_at: Some(b_start + 26 * HOUR),
            has_docs: true,
            scorecards: vec![level("production-readiness", Some("bronze"), 1)],
            ..service("b", "team-a")
        },
        ServiceFacts {
            golden_path: golden("rust-axum-service", g_start, 1200),
            first_deploy_at: Some(g_start + 5 * HOUR),
            scorecards: vec![level("production-readiness", Some("gold"), 3)],
            ..service("g", "team-b")
        },
        ServiceFacts {
            golden_path: golden("rust-axum-service", f_start, 600),
            scorecards: vec![level("production-readiness", None, 0)],
            ..service("f", "team-b")
        },
        ServiceFacts {
            golden_path: Some(GoldenPathOrigin {
                template: "rust-axum-service".into(),
                run: None,
                started_at: None,
                finished_at: None,
            }),
            ..service("c", "team-b")
        },
        ServiceFacts {
            first_deploy_at: Some(W0 + 2 * DAY_MS),
            has_slo: true,
            ..service("d", "team-a")
        },
        service("e", "team-b"),
    ]
}

fn level(card: &str, level: Option<&str>, rank: i64) -> ScoredLevel {
    ScoredLevel {
        scorecard: card.into(),
        level: level.map(str::to_owned),
        rank,
    }
}

/// The runs behind the services, plus a failed rust run in week 1 (60 s).
fn runs() -> Vec<RunFacts> {
    let run = |template: &str, outcome, started: i64, seconds: i64, team: &str| RunFacts {
        template: template.into(),
        outcome,
        started_at: Some(started),
        finished_at: started + seconds * 1000,
        team: Some(format!("group:default/{team}")),
    };
    vec![
        run(
            "rust-axum-service",
            RunOutcome::Failed,
            W0 + 3 * DAY_MS,
            60,
            "team-a",
        ),
        run(
            "rust-axum-service",
            RunOutcome::Completed,
            W0 + 7 * DAY_MS + HOUR,
            600,
            "team-a",
        ),
        run(
            "python-fastapi-service",
            RunOutcome::Completed,
            W0 + 8 * DAY_MS,
            300,
            "team-a",
        ),
        run(
            "rust-axum-service",
            RunOutcome::Completed,
            W0 + 15 * DAY_MS,
            1200,
            "team-b",
        ),
        run(
            "rust-axum-service",
            RunOutcome::Completed,
            W0 + 16 * DAY_MS,
            600,
            "team-b",
        ),
    ]
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn weeks_start_on_monday_utc() {
    assert_eq!(week_start(W0), W0);
    assert_eq!(week_start(W0 + 6 * DAY_MS + 23 * HOUR), W0);
    assert_eq!(week_start(W0 - 1), W0 - 7 * DAY_MS);
}

#[test]
fn shares_of_the_organisations_services_now() {
    let r = adoption("organisation", &services(), &runs(), None, &[], window());
    let n = &r.now;
    // 7 services: golden path a, b, g, f, c (5); deployed a, b, g, d (4); docs a, b; SLO a, d.
    assert_eq!(
        (
            n.services,
            n.golden_path,
            n.deployed_through_socle,
            n.with_docs,
            n.with_slo
        ),
        (7, 5, 4, 2, 2)
    );
    assert!(close(n.golden_path_share, 5.0 / 7.0));
    assert!(close(n.deployed_share, 4.0 / 7.0));
    assert!(close(n.docs_share, 2.0 / 7.0));
    assert!(close(n.slo_share, 2.0 / 7.0));
}

#[test]
fn scorecard_levels_count_the_services_each_level_holds() {
    let r = adoption("organisation", &services(), &runs(), None, &[], window());
    assert_eq!(r.scorecards.len(), 1);
    let card = &r.scorecards[0];
    // Scored: a, b (bronze), g (gold), f (below the first level): 4.
    assert_eq!(card.scored, 4);
    let levels: Vec<(Option<&str>, usize)> = card
        .levels
        .iter()
        .map(|l| (l.level.as_deref(), l.services))
        .collect();
    assert_eq!(levels, [(None, 1), (Some("bronze"), 2), (Some("gold"), 1)]);
    assert!(close(card.levels[1].share, 0.5));
}

#[test]
fn weekly_series_count_a_service_from_the_week_it_was_created() {
    let activity = [
        ActivityWeek {
            week: W0,
            portal_users: 3,
            cli_api_users: 1,
        },
        ActivityWeek {
            week: W0 + 14 * DAY_MS,
            portal_users: 5,
            cli_api_users: 2,
        },
    ];
    let r = adoption(
        "organisation",
        &services(),
        &runs(),
        Some(&activity),
        &[],
        window(),
    );
    let rows: Vec<_> = r
        .weekly
        .iter()
        .map(|w| {
            (
                w.services,
                w.golden_path,
                w.deployed_through_socle,
                w.runs,
                w.runs_completed,
                w.portal_users,
                w.cli_api_users,
            )
        })
        .collect();
    // Week 1: c, d, e exist (the others are created later); c is from a golden path, d
    // deployed; the failed run. Week 2: + a, b, both deployed in the week; two runs.
    // Week 3: all seven, g deployed; two runs. No activity recorded in week 2: zeros.
    assert_eq!(
        rows,
        [
            (3, 1, 1, 1, 0, Some(3), Some(1)),
            (5, 3, 3, 2, 2, Some(0), Some(0)),
            (7, 5, 4, 2, 2, Some(5), Some(2)),
        ]
    );
    assert_eq!(r.weekly[0].from, "2026-10-19T00:00:00Z");
    assert_eq!(r.weekly[2].to, "2026-11-09T00:00:00Z");
    assert!(close(r.weekly[1].golden_path_share, 0.6));
}

#[test]
fn template_runs_have_their_success_rate_and_durations() {
    let r = adoption("organisation", &services(), &runs(), None, &[], window());
    let t: Vec<_> = r
        .templates
        .iter()
        .map(|t| (t.template.as_str(), t.runs, t.completed, t.failed))
        .collect();
    assert_eq!(
        t,
        [
            ("python-fastapi-service", 1, 1, 0),
            ("rust-axum-service", 4, 3, 1)
        ]
    );
    let rust = &r.templates[1];
    assert!(close(rust.success_rate, 0.75));
    // Durations 60, 600, 600, 1200 s: median between 600 and 600; p90 at 2.7 → 600 + 0.7 × 600.
    assert!(close(rust.duration_median_seconds, 600.0));
    assert!(close(rust.duration_p90_seconds, 1020.0));
    assert!(close(r.templates[0].duration_p90_seconds, 300.0));
}

#[test]
fn time_to_first_deploy_is_the_median_and_p90_from_run_start_to_first_deploy() {
    let r = adoption("organisation", &services(), &runs(), None, &[], window());
    let t = &r.time_to_first_deploy;
    // a 2 h, b 26 h, g 5 h; f not deployed; c has no run. Sorted 2, 5, 26: median 5;
    // p90 at position 1.8 → 5 + 0.8 × (26 − 5) = 21.8.
    assert_eq!((t.services, t.not_deployed), (3, 1));
    assert!(close(t.median_hours, 5.0));
    assert!(close(t.p90_hours, 21.8));
}

#[test]
fn a_team_report_counts_only_its_services_and_runs() {
    let team = "group:default/team-b";
    let services: Vec<ServiceFacts> = services()
        .into_iter()
        .filter(|s| s.team.as_deref() == Some(team))
        .collect();
    let runs: Vec<RunFacts> = runs()
        .into_iter()
        .filter(|r| r.team.as_deref() == Some(team))
        .collect();
    let r = adoption(team, &services, &runs, None, &[], window());
    // g, f, c, e: golden path g, f, c; deployed g; TTFD only g (5 h); f not deployed.
    assert_eq!(
        (
            r.now.services,
            r.now.golden_path,
            r.now.deployed_through_socle
        ),
        (4, 3, 1)
    );
    assert_eq!(
        (
            r.time_to_first_deploy.services,
            r.time_to_first_deploy.not_deployed
        ),
        (1, 1)
    );
    assert!(close(r.time_to_first_deploy.p90_hours, 5.0));
    assert!(r.weekly.iter().all(|w| w.portal_users.is_none()));
}

#[test]
fn a_run_outside_the_window_is_not_counted() {
    let w = Window {
        from: W0 + 14 * DAY_MS,
        to: W0 + 21 * DAY_MS,
    };
    let r = adoption("organisation", &services(), &runs(), None, &[], w);
    // Week 3 only: the runs of g and f; TTFD of g only (a and b started before).
    assert_eq!(r.templates.len(), 1);
    assert_eq!(r.templates[0].runs, 2);
    assert_eq!(r.time_to_first_deploy.services, 1);
}

#[test]
fn the_adoption_date_is_the_first_golden_path_service_or_socle_deploy() {
    let all = services();
    let of = |team: &str| -> Vec<ServiceFacts> {
        all.iter()
            .filter(|s| s.team.as_deref() == Some(team))
            .cloned()
            .collect()
    };
    // team-a: d deployed through Socle at W0+2d, before a's run ended (W0+7d+1h+10min).
    let a = adoption_date(&of("group:default/team-a")).unwrap();
    assert_eq!(
        (a.at, a.source),
        (W0 + 2 * DAY_MS, AdoptionSource::SocleDeploy)
    );
    // team-b: g's run started at W0+15d, before g's deploy (W0+15d+5h).
    let b = adoption_date(&of("group:default/team-b")).unwrap();
    assert_eq!(
        (b.at, b.source),
        (W0 + 15 * DAY_MS, AdoptionSource::GoldenPath)
    );
    // A run known only by its end counts from its end.
    let mut late = of("group:default/team-b");
    for s in &mut late {
        if let Some(g) = &mut s.golden_path {
            g.started_at = None;
        }
    }
    let b = adoption_date(&late).unwrap();
    assert_eq!(b.at, W0 + 15 * DAY_MS + 20 * MIN);
    assert_eq!(adoption_date(&[service("e", "team-b")]), None);
}

fn stored(taken_at: i64, counts: [u64; 5]) -> WeekCounts {
    let [services, golden_path, deployed, with_docs, with_slo] = counts;
    WeekCounts {
        taken_at,
        services,
        golden_path,
        deployed,
        with_docs,
        with_slo,
    }
}

#[test]
fn weekly_series_read_past_weeks_from_the_snapshots() {
    let snapshots = [
        // Taken in week 2's first hour, for two teams: week 1's end, summed.
        stored(W0 + 7 * DAY_MS + 30 * MIN, [2, 0, 1, 1, 1]),
        stored(W0 + 7 * DAY_MS + 30 * MIN, [3, 1, 0, 0, 0]),
        // Taken on week 1's Wednesday: it stands for week 1 too, but the snapshot taken at
        // the week's turn, nearer its end, is kept.
        stored(W0 + 2 * DAY_MS, [9, 9, 9, 9, 9]),
        // Taken on Monday in the week before the window, after its first day: not in the
        // window.
        stored(W0 - 7 * DAY_MS + DAY_MS + 1, [8, 8, 8, 8, 8]),
        // Taken in week 4 for week 3, the window's last: the catalog now wins.
        stored(W0 + 21 * DAY_MS + HOUR, [1, 1, 1, 1, 1]),
    ];
    let r = adoption(
        "organisation",
        &services(),
        &runs(),
        None,
        &snapshots,
        window(),
    );
    let rows: Vec<_> = r
        .weekly
        .iter()
        .map(|w| {
            (
                w.counted_from,
                w.services,
                w.golden_path,
                w.deployed_through_socle,
                w.with_docs,
                w.with_slo,
            )
        })
        .collect();
    // Week 1 as stored; week 2 has no snapshot: rebuilt as before, docs and SLOs unknown;
    // week 3 from the catalog: a and b have docs, a and d SLOs.
    assert_eq!(
        rows,
        [
            (WeekSource::Snapshot, 5, 1, 1, Some(1), Some(1)),
            (WeekSource::Rebuilt, 5, 3, 3, None, None),
            (WeekSource::Live, 7, 5, 4, Some(2), Some(2)),
        ]
    );
    assert_eq!(
        r.weekly[0].snapshot_taken_at.as_deref(),
        Some("2026-10-26T00:30:00Z")
    );
    assert!(close(r.weekly[0].docs_share, 0.2));
    assert_eq!(r.weekly[1].docs_share, None);
    assert!(close(r.weekly[2].slo_share, 2.0 / 7.0));
    // Week 1's runs still come from the runs, not the snapshot.
    assert_eq!(r.weekly[0].runs, 1);
}

#[test]
fn a_snapshot_stands_for_the_week_before_only_when_taken_on_the_first_day() {
    let at = |taken_at| stored(taken_at, [0; 5]).records_week();
    assert_eq!(at(W0 + 7 * DAY_MS), W0);
    assert_eq!(at(W0 + 8 * DAY_MS - 1), W0);
    assert_eq!(at(W0 + 8 * DAY_MS), W0 + 7 * DAY_MS);
    assert_eq!(at(W0 + 13 * DAY_MS), W0 + 7 * DAY_MS);
}
