use proptest::prelude::*;
use socle_survey::{Audience, QuestionKind, Recurrence, load};

const OK: &str = "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: pulse}
spec:
  audience: {teams: [team-a, group:default/team-b]}
  opens: 2026-03-02
  closes: 2026-03-20
  questions:
    - {id: happy, type: likert, text: I am happy.}
    - {id: stack, type: single, options: [Rust, Go], text: Which?}
    - {id: note, type: text, text: Anything else?}
";

#[test]
fn a_survey_reads_with_its_defaults() {
    let s = load(OK, "surveys/pulse.yaml").unwrap().remove(0);
    assert_eq!(s.name, "pulse");
    assert_eq!(s.title, "pulse");
    assert_eq!(
        s.audience,
        Audience::Teams(vec![
            "group:default/team-a".into(),
            "group:default/team-b".into()
        ])
    );
    assert_eq!(s.schedule.recurrence, Recurrence::Once);
    assert_eq!(s.questions.len(), 3);
    assert!(s.questions[0].required);
    assert!(!s.questions[2].required, "free text is optional by default");
    assert_eq!(
        s.questions[1].kind,
        QuestionKind::Single(vec!["Rust".into(), "Go".into()])
    );
    assert_eq!(s.threshold, None);
}

#[test]
fn the_devex_survey_ships_with_ten_to_twelve_questions() {
    let s = socle_survey::builtin_surveys();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].name, "devex");
    assert!((10..=12).contains(&s[0].questions.len()));
    let themes: std::collections::BTreeSet<_> = s[0]
        .questions
        .iter()
        .filter_map(|q| q.theme.as_deref())
        .collect();
    for t in [
        "flow",
        "feedback-loops",
        "cognitive-load",
        "platform",
        "satisfaction",
    ] {
        assert!(themes.contains(t), "{t}");
    }
    assert_eq!(s[0].schedule.recurrence, Recurrence::Quarterly);
}

fn errors(text: &str) -> Vec<String> {
    load(text, "s.yaml")
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn errors_name_file_line_and_field() {
    let bad = OK
        .replace(
            "type: single, options: [Rust, Go]",
            "type: single, options: [Rust]",
        )
        .replace("{id: note, type: text", "{id: note, type: essay");
    assert_eq!(
        errors(&bad),
        vec![
            "s.yaml:10: spec.questions[1].options: a choice question has 2 to 20 distinct options of 1 to 200 bytes",
            "s.yaml:11: spec.questions[2].type: question type \"essay\": one of likert, enps, single, multiple, text",
        ]
    );
}

#[test]
fn a_threshold_below_three_is_refused() {
    let bad = OK.replace("  opens:", "  threshold: 2\n  opens:");
    assert_eq!(
        errors(&bad),
        vec![
            "s.yaml:6: spec.threshold: the respondent threshold is at least 3: fewer would let answers be told apart"
        ]
    );
}

#[test]
fn schedules_are_checked() {
    assert_eq!(
        errors(&OK.replace("  closes: 2026-03-20\n", "")),
        vec!["s.yaml:5: spec: a survey run once needs a closing date (closes: YYYY-MM-DD)"]
    );
    assert_eq!(
        errors(&OK.replace("2026-03-20", "2026-02-30")),
        vec!["s.yaml:7: spec.closes: \"2026-02-30\" is not a date (YYYY-MM-DD)"]
    );
    let recurring = OK.replace(
        "  closes: 2026-03-20\n",
        "  recurrence: monthly\n  openForDays: 40\n",
    );
    assert_eq!(
        errors(&recurring),
        vec!["s.yaml:8: spec.openForDays: a monthly round is open for 1 to 28 days"]
    );
    assert_eq!(
        errors(
            &OK.replace("recurrence", "x")
                .replace("  closes: 2026-03-20\n", "  recurrence: weekly\n")
        ),
        vec![
            "s.yaml:7: spec.recurrence: recurrence \"weekly\": one of once, monthly, quarterly, yearly"
        ]
    );
}

#[test]
fn unknown_fields_audiences_and_repeated_ids_are_refused() {
    assert_eq!(
        errors(&OK.replace("{id: note, type: text", "{id: happy, type: text")),
        vec!["s.yaml:11: spec.questions[2].id: question id \"happy\" is repeated"]
    );
    assert_eq!(
        errors(&OK.replace("{teams: [team-a, group:default/team-b]}", "nobody")),
        vec!["s.yaml:5: spec.audience: audience \"nobody\": `everyone` or `{teams: [TEAM, …]}`"]
    );
    assert_eq!(
        errors(&OK.replace("group:default/team-b", "user:default/ann")),
        vec![
            "s.yaml:5: spec.audience.teams[1]: \"user:default/ann\" is not a group reference (`team-a`, `group:default/team-a`)"
        ]
    );
    let e = errors(&OK.replace("  opens:", "  colour: red\n  opens:"));
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("s.yaml:"), "{}", e[0]);
    assert!(e[0].contains("colour"), "{}", e[0]);
}

proptest! {
    #[test]
    fn hostile_text_never_panics(s in "\\PC{0,400}") {
        let _ = load(&s, "x.yaml");
        let _ = load(&format!("{OK}\n{s}"), "x.yaml");
    }
}
