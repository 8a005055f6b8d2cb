//! Impact: the four keys before and after a team's adoption date, surveys, caveats.

use std::fmt::Write;

use socle_adoption::{
    AdoptionDate, AdoptionSource, CaveatKind, DAY_MS, SurveyComparison, SurveyScore, SurveySide,
    impact, impact_windows, summarise, survey_score,
};
use socle_dora::events::format_timestamp;
use socle_dora::{Dataset, Options};
use socle_survey::{GroupResult, Outcome, QuestionResult, Summary};

/// The adoption date: Monday 2026-10-19T00:00:00Z.
const A: i64 = 1_792_368_000_000;
const HOUR: i64 = 3_600_000;

/// 14 days before A: a deployment every second day at noon (7), each of one change committed
/// 48 h earlier; the first one causes an incident resolved after 10 h.
/// 14 days after A: a deployment every day at noon (14), each of one change committed 4 h
/// earlier; no incident.
fn history() -> Dataset {
    let mut text = String::new();
    let mut deploy = |n: usize, at: i64, lead_hours: i64| {
        let _ = writeln!(
            text,
            r#"{{"type":"change","source":"t","id":"c{n}","service":"svc","committed_at":"{}"}}"#,
            format_timestamp(at - lead_hours * HOUR)
        );
        let _ = writeln!(
            text,
            r#"{{"type":"deployment","source":"t","id":"d{n}","service":"svc","environment":"production","status":"success","finished_at":"{}","changes":["c{n}"]}}"#,
            format_timestamp(at)
        );
    };
    for i in 0..7 {
        deploy(i, A - 14 * DAY_MS + (2 * i as i64) * DAY_MS + 12 * HOUR, 48);
    }
    for i in 0..14 {
        deploy(100 + i, A + i as i64 * DAY_MS + 12 * HOUR, 4);
    }
    let started = A - 14 * DAY_MS + 13 * HOUR;
    let _ = writeln!(
        text,
        r#"{{"type":"incident","source":"t","id":"i1","service":"svc","started_at":"{}","resolved_at":"{}","deployment":"d0"}}"#,
        format_timestamp(started),
        format_timestamp(started + 10 * HOUR)
    );
    let parsed = socle_dora::parse_jsonl(&text, "t");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    Dataset::build(parsed.events, &Options::default())
}

fn adopted() -> AdoptionDate {
    AdoptionDate {
        at: A,
        source: AdoptionSource::GoldenPath,
    }
}

fn no_surveys() -> Vec<SurveyComparison> {
    Vec::new()
}

#[test]
fn windows_are_equal_and_as_long_as_the_time_since_adoption() {
    // 14 days since adoption, at most 90: 14 days each side.
    let w = impact_windows(A, A + 14 * DAY_MS, 90).unwrap();
    assert_eq!((w.before.from, w.before.to), (A - 14 * DAY_MS, A));
    assert_eq!((w.after.from, w.after.to), (A, A + 14 * DAY_MS));
    // 200 days since, at most 90: 90 days each side.
    let w = impact_windows(A, A + 200 * DAY_MS, 90).unwrap();
    assert_eq!(w.before.from, A - 90 * DAY_MS);
    assert_eq!(w.after.to, A + 90 * DAY_MS);
    // Less than a day since adoption: nothing to compare yet.
    assert_eq!(impact_windows(A, A + DAY_MS - 1, 90), None);
    assert_eq!(impact_windows(A, A, 90), None);
}

#[test]
fn the_four_keys_before_and_after_adoption() {
    let ds = history();
    let w = impact_windows(A, A + 14 * DAY_MS, 90).unwrap();
    let svc = ["svc".to_owned()];
    let before = ds.report(Some(&svc), w.before, false);
    let after = ds.report(Some(&svc), w.after, false);
    let t = impact(
        "group:default/team-a",
        Some(adopted()),
        Some(w),
        Some((&before, &after)),
        no_surveys(),
    );
    let b = t.dora_before.as_ref().unwrap();
    let a = t.dora_after.as_ref().unwrap();
    // Before: 7 deployments in 14 days = 0.5 a day; lead 48 h; 1 failed of 7; recovery 10 h.
    assert_eq!(b.deployments, 7);
    assert_eq!(b.deployment_frequency_per_day, Some(0.5));
    assert_eq!(b.lead_time_median_hours, Some(48.0));
    assert_eq!(b.change_failure_rate, Some(1.0 / 7.0));
    assert_eq!(b.recovery_time_median_hours, Some(10.0));
    // After: 14 in 14 days = 1 a day; lead 4 h; no failure; no incident resolved.
    assert_eq!(a.deployments, 14);
    assert_eq!(a.deployment_frequency_per_day, Some(1.0));
    assert_eq!(a.lead_time_median_hours, Some(4.0));
    assert_eq!(a.change_failure_rate, Some(0.0));
    assert_eq!(a.recovery_time_median_hours, None);
    let better: Vec<(&str, Option<bool>)> = t.keys.iter().map(|k| (k.key, k.better)).collect();
    assert_eq!(
        better,
        [
            ("deployment_frequency_per_day", Some(true)),
            ("lead_time_median_hours", Some(true)),
            ("change_failure_rate", Some(true)),
            ("recovery_time_median_hours", None),
        ]
    );
    assert_eq!(t.keys[1].change, Some(-44.0));
    assert_eq!(t.adopted_at.as_deref(), Some("2026-10-19T00:00:00Z"));
}

#[test]
fn short_windows_small_samples_and_seasons_are_caveats() {
    let ds = history();
    let w = impact_windows(A, A + 14 * DAY_MS, 90).unwrap();
    let svc = ["svc".to_owned()];
    let (before, after) = (
        ds.report(Some(&svc), w.before, false),
        ds.report(Some(&svc), w.after, false),
    );
    let t = impact(
        "t",
        Some(adopted()),
        Some(w),
        Some((&before, &after)),
        no_surveys(),
    );
    let kinds: Vec<CaveatKind> = t.caveats.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CaveatKind::ShortWindow,
            CaveatKind::SmallSample,
            CaveatKind::Seasonality
        ]
    );
    assert!(
        t.caveats[1]
            .message
            .contains("7 production deployments before and 14 after")
    );
    assert!(
        t.caveats[2]
            .message
            .contains("2026-10 to 2026-10 before, 2026-10 to 2026-11 after")
    );
}

#[test]
fn a_team_that_has_not_adopted_has_no_comparison_and_says_why() {
    let t = impact("t", None, None, None, no_surveys());
    assert!(t.keys.is_empty() && t.dora_before.is_none());
    assert_eq!(t.caveats[0].kind, CaveatKind::NotAdopted);
}

fn likert(id: &str, mean: f64) -> QuestionResult {
    QuestionResult {
        id: id.into(),
        answers: 5,
        summary: Summary::Likert {
            mean: Some(mean),
            ci: None,
            distribution: vec![0; 5],
        },
        previous: None,
        change: None,
    }
}

#[test]
fn a_teams_survey_score_is_its_likert_mean_and_enps_when_shown() {
    let shown = GroupResult {
        group: "group:default/team-a".into(),
        outcome: Outcome::Shown {
            respondents: 6,
            questions: vec![
                likert("flow", 4.0),
                likert("load", 3.0),
                QuestionResult {
                    id: "enps".into(),
                    answers: 6,
                    summary: Summary::Enps {
                        score: Some(20.0),
                        ci: None,
                        promoters: 2,
                        passives: 3,
                        detractors: 1,
                        distribution: vec![0; 11],
                    },
                    previous: None,
                    change: None,
                },
            ],
        },
    };
    assert_eq!(
        survey_score(Some(&shown)),
        SurveyScore::Shown {
            respondents: 6,
            likert_mean: Some(3.5),
            enps: Some(20.0)
        }
    );
    let hidden = GroupResult {
        group: "group:default/team-a".into(),
        outcome: Outcome::NotEnoughAnswers,
    };
    assert_eq!(survey_score(Some(&hidden)), SurveyScore::NotEnoughAnswers);
    // A team that did not answer at all looks the same as one below the threshold.
    assert_eq!(survey_score(None), SurveyScore::NotEnoughAnswers);
}

#[test]
fn surveys_without_a_round_or_enough_answers_are_caveats() {
    let side = |score| SurveySide {
        round: Some("2026-07-01".into()),
        score,
    };
    let surveys = vec![
        SurveyComparison {
            survey: "devex".into(),
            before: side(SurveyScore::NoRound),
            after: side(SurveyScore::NotEnoughAnswers),
        },
        SurveyComparison {
            survey: "pulse".into(),
            before: side(SurveyScore::NotEnoughAnswers),
            after: side(SurveyScore::NotEnoughAnswers),
        },
    ];
    let t = impact("t", Some(adopted()), None, None, surveys);
    let kinds: Vec<CaveatKind> = t.caveats.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CaveatKind::AdoptedTooRecently,
            CaveatKind::SurveyNoRound,
            CaveatKind::SurveyNotEnoughAnswers
        ]
    );
}

#[test]
fn the_summary_tallies_teams_per_key() {
    let ds = history();
    let w = impact_windows(A, A + 14 * DAY_MS, 90).unwrap();
    let svc = ["svc".to_owned()];
    let (before, after) = (
        ds.report(Some(&svc), w.before, false),
        ds.report(Some(&svc), w.after, false),
    );
    let improved = impact(
        "a",
        Some(adopted()),
        Some(w),
        Some((&before, &after)),
        no_surveys(),
    );
    // The same windows read the other way round: every compared key worsened.
    let worsened = impact(
        "b",
        Some(adopted()),
        Some(w),
        Some((&after, &before)),
        no_surveys(),
    );
    let none = impact("c", None, None, None, no_surveys());
    let s = summarise(&[improved, worsened, none]);
    assert_eq!((s.teams, s.adopted, s.compared), (3, 2, 2));
    let tally: Vec<(&str, usize, usize, usize)> = s
        .keys
        .iter()
        .map(|k| (k.key, k.improved, k.worsened, k.not_compared))
        .collect();
    assert_eq!(
        tally,
        [
            ("deployment_frequency_per_day", 1, 1, 0),
            ("lead_time_median_hours", 1, 1, 0),
            ("change_failure_rate", 1, 1, 0),
            ("recovery_time_median_hours", 0, 0, 2),
        ]
    );
}
