use socle_survey::{Round, load};

fn ms(date: &str) -> i64 {
    let d = socle_survey::parse_date(date).unwrap();
    time::OffsetDateTime::new_utc(d, time::Time::MIDNIGHT).unix_timestamp() * 1000
}

#[test]
fn quarterly_rounds_open_for_their_days() {
    let s = &socle_survey::builtin_surveys()[0];
    assert_eq!(s.open_round(ms("2026-01-04")), None);
    let first = s.open_round(ms("2026-01-05")).unwrap();
    assert_eq!(
        first,
        Round {
            id: "2026-01-05".into(),
            opens_ms: ms("2026-01-05"),
            closes_ms: ms("2026-01-26"),
        }
    );
    assert_eq!(
        s.open_round(ms("2026-01-26")),
        None,
        "21 days, the last excluded"
    );
    assert_eq!(s.open_round(ms("2026-04-10")).unwrap().id, "2026-04-05");
    let started: Vec<String> = s
        .rounds_started(ms("2027-01-05"))
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        started,
        [
            "2026-01-05",
            "2026-04-05",
            "2026-07-05",
            "2026-10-05",
            "2027-01-05"
        ]
    );
    let (round, previous) = s
        .round_and_previous("2026-07-05", ms("2027-01-05"))
        .unwrap();
    assert_eq!(round.id, "2026-07-05");
    assert_eq!(previous.unwrap().id, "2026-04-05");
    assert_eq!(s.round_and_previous("2026-07-06", ms("2027-01-05")), None);
}

#[test]
fn a_closing_date_ends_the_series_and_a_one_off_round() {
    let text = "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: m}
spec:
  opens: 2026-11-10
  closes: 2027-01-15
  recurrence: monthly
  openForDays: 10
  questions: [{id: q, type: enps, text: Q}]
";
    let s = load(text, "m.yaml").unwrap().remove(0);
    let ids: Vec<String> = s
        .rounds_started(ms("2030-01-01"))
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["2026-11-10", "2026-12-10", "2027-01-10"]);
    let once = load(
        &text.replace("  recurrence: monthly\n  openForDays: 10\n", ""),
        "m.yaml",
    )
    .unwrap()
    .remove(0);
    let r = once.open_round(ms("2027-01-15")).unwrap();
    assert_eq!(
        (r.id.as_str(), r.closes_ms),
        ("2026-11-10", ms("2027-01-16"))
    );
    assert_eq!(once.open_round(ms("2027-01-16")), None);
}
