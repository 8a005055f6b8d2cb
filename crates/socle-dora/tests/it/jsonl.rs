//! What incident tools send: the known extras (`title`, `severity`, `url`, `labels`) are kept,
//! other fields are ignored and reported once per name; malformed lines stay errors.

use socle_dora::jsonl::{MAX_UNKNOWN_FIELDS, Warning};
use socle_dora::{Event, Incident, parse_jsonl, parse_jsonl_parallel};

const MIXED: &str = include_str!("fixtures/mixed-sources.jsonl");

fn incident(line: &str) -> Incident {
    let parsed = parse_jsonl(line, "import");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    match parsed.events.as_slice() {
        [Event::Incident(i)] => i.clone(),
        other => panic!("{other:?}"),
    }
}

fn error(line: &str) -> String {
    let parsed = parse_jsonl(line, "import");
    assert!(parsed.events.is_empty(), "{:?}", parsed.events);
    parsed.errors[0].message.clone()
}

#[test]
fn an_incident_keeps_its_title_severity_url_and_labels() {
    let i = incident(MIXED.lines().nth(16).unwrap());
    assert_eq!(i.id, "PD-1");
    assert_eq!(i.title.as_deref(), Some("Checkout returns 500s"));
    assert_eq!(i.severity.as_deref(), Some("SEV2"));
    assert_eq!(
        i.url.as_deref(),
        Some("https://acme.pagerduty.com/incidents/PD-1")
    );
    let labels: Vec<(&str, &str)> = i
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels, vec![("region", "eu-west-1"), ("team", "payments")]);
}

#[test]
fn an_incident_without_extras_has_none_and_empty_ones_are_none() {
    let i = incident(
        r#"{"type":"incident","id":"i","service":"s","started_at":"2026-03-01T00:00:00Z","title":"","severity":null}"#,
    );
    assert_eq!((i.title, i.severity, i.url), (None, None, None));
    assert!(i.labels.is_empty());
}

#[test]
fn unknown_fields_are_one_warning_per_name_not_per_line() {
    let parsed = parse_jsonl(MIXED, "import");
    assert!(parsed.errors.is_empty());
    assert_eq!(parsed.events.len(), 21);
    let warnings = parsed.unknown_fields.warnings();
    let got: Vec<(Option<&str>, usize, usize)> = warnings
        .iter()
        .map(|w| (w.field.as_deref(), w.lines, w.first_line))
        .collect();
    assert_eq!(
        got,
        vec![(Some("urgency"), 4, 17), (Some("assignee"), 1, 20)]
    );
    assert_eq!(
        warnings[0].message,
        "field \"urgency\" is not read by Socle: ignored on 4 lines, the first line 17"
    );
    assert_eq!(
        warnings[1].message,
        "field \"assignee\" is not read by Socle: ignored on 1 line, the first line 20"
    );
}

#[test]
fn a_field_of_another_type_is_ignored_with_a_warning() {
    // A title on a deployment and an environment on a change are not read.
    let text = "{\"type\":\"deployment\",\"id\":\"d\",\"service\":\"s\",\"environment\":\"prod\",\"finished_at\":\"2026-03-01T00:00:00Z\",\"title\":\"v1.2\"}\n\
                {\"type\":\"change\",\"id\":\"c\",\"service\":\"s\",\"committed_at\":\"2026-03-01T00:00:00Z\",\"environment\":\"prod\",\"resolved_at\":null}\n";
    let parsed = parse_jsonl(text, "import");
    assert_eq!(parsed.events.len(), 2);
    let got: Vec<(Option<String>, usize, usize)> = parsed
        .unknown_fields
        .warnings()
        .into_iter()
        .map(|w| (w.field, w.lines, w.first_line))
        .collect();
    // `null` is no value: nothing was ignored.
    assert_eq!(
        got,
        vec![
            (Some("title".into()), 1, 1),
            (Some("environment".into()), 1, 2)
        ]
    );
}

#[test]
fn a_name_repeated_in_one_line_counts_that_line_once() {
    let parsed = parse_jsonl(
        r#"{"type":"change","id":"c","service":"s","committed_at":"2026-03-01T00:00:00Z","x":1,"x":2}"#,
        "import",
    );
    let w = parsed.unknown_fields.warnings();
    assert_eq!((w.len(), w[0].lines), (1, 1));
}

#[test]
fn past_the_listed_names_the_others_are_counted_together() {
    let fields: String = (0..MAX_UNKNOWN_FIELDS + 5)
        .map(|i| format!(",\"f{i:03}\":0"))
        .collect();
    let line = format!(
        "{{\"type\":\"change\",\"id\":\"c\",\"service\":\"s\",\"committed_at\":\"2026-03-01T00:00:00Z\"{fields}}}"
    );
    let parsed = parse_jsonl(&format!("{line}\n{line}\n"), "import");
    let w = parsed.unknown_fields.warnings();
    assert_eq!(w.len(), MAX_UNKNOWN_FIELDS + 1);
    let last: &Warning = w.last().unwrap();
    assert_eq!(
        (last.field.as_deref(), last.lines, last.first_line),
        (None, 2, 1)
    );
}

#[test]
fn parallel_parsing_reports_the_same_warnings() {
    let mut text = String::new();
    for i in 0..30_000 {
        let extra = if i % 1000 == 7 {
            ",\"urgency\":\"high\""
        } else {
            ""
        };
        text.push_str(&format!(
            "{{\"type\":\"incident\",\"id\":\"i{i}\",\"service\":\"s\",\"started_at\":\"2026-03-01T00:00:00Z\"{extra}}}\n"
        ));
    }
    let serial = parse_jsonl(&text, "import");
    let w = serial.unknown_fields.warnings();
    assert_eq!((w[0].lines, w[0].first_line), (30, 8));
    for threads in [2, 3, 5] {
        assert_eq!(parse_jsonl_parallel(&text, "import", threads), serial);
    }
}

#[test]
fn malformed_json_and_missing_required_fields_are_still_errors() {
    assert!(error("{\"type\":\"incident\",").contains("EOF"));
    assert!(
        error(r#"{"type":"incident","service":"s","started_at":"2026-03-01T00:00:00Z"}"#)
            .contains("missing field `id`")
    );
    assert!(error(r#"{"type":"incident","id":null,"service":"s"}"#).contains("invalid type: null"));
    assert!(
        error(r#"{"type":"incident","id":"i","id":"j","service":"s"}"#)
            .contains("duplicate field `id`")
    );
    assert_eq!(
        error(r#"{"type":"incident","id":"i","service":"s"}"#),
        "an incident needs `started_at`"
    );
}

#[test]
fn the_extras_are_bounded() {
    let line = |extra: &str| {
        format!(
            "{{\"type\":\"incident\",\"id\":\"i\",\"service\":\"s\",\"started_at\":\"2026-03-01T00:00:00Z\",{extra}}}"
        )
    };
    let long = "é".repeat(1_025);
    assert_eq!(
        error(&line(&format!("\"title\":\"{long}\""))),
        "`title` must be at most 1024 characters"
    );
    assert!(
        incident(&line(&format!("\"title\":\"{}\"", "é".repeat(1_024))))
            .title
            .is_some()
    );
    assert_eq!(
        error(&line("\"severity\":\"a\\nb\"")),
        "`severity` contains a control character"
    );
    assert_eq!(
        error(&line(&format!(
            "\"url\":\"https://x/{}\"",
            "é".repeat(1_100)
        ))),
        "`url` must be at most 2048 characters"
    );
    let many: Vec<String> = (0..65).map(|i| format!("\"k{i}\":\"v\"")).collect();
    assert_eq!(
        error(&line(&format!("\"labels\":{{{}}}", many.join(",")))),
        "`labels`: at most 64 per incident"
    );
    assert!(error(&line("\"labels\":{\"team\":1}")).contains("invalid type: integer `1`"));
    assert!(error(&line("\"labels\":[\"team\"]")).contains("invalid type: sequence"));
    assert_eq!(
        error(&line("\"labels\":{\"\":\"x\"}")),
        "`labels` must be 1 to 256 characters"
    );
}
