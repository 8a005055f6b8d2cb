//! JSON Lines events and timestamps under hostile input: never a panic, every bad line reported
//! with its number; multi-byte characters anywhere (a timestamp used to be sliced at byte 19).

use proptest::prelude::*;
use socle_dora::events::{format_timestamp, parse_timestamp};
use socle_dora::jsonl::{parse_jsonl, parse_jsonl_parallel};

#[test]
fn a_multi_byte_character_across_byte_19_is_not_a_panic() {
    let err = parse_timestamp("aaaaaaaaaaaaaaaaaa\u{e9}")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "timestamp \"aaaaaaaaaaaaaaaaaa\u{e9}\" is not RFC 3339 (e.g. 2026-01-05T10:00:00Z)"
    );
}

#[test]
fn a_local_time_is_still_named_as_such() {
    let err = parse_timestamp("2026-01-05T10:00:00")
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no timezone"), "{err}");
}

#[test]
fn multi_byte_characters_at_every_position_of_a_timestamp() {
    let ts = "2026-01-05T10:00:00.123+02:00";
    for c in ['\u{e9}', '€', '😀', '\u{301}'] {
        for i in (0..=ts.len()).filter(|i| ts.is_char_boundary(*i)) {
            let s = format!("{}{c}{}", &ts[..i], &ts[i..]);
            let err = parse_timestamp(&s).unwrap_err().to_string();
            assert!(err.contains(&format!("{s:?}")), "{c:?} at {i}: {err}");
        }
    }
}

/// More than 1 MiB of lines padded with two-byte characters, so that the parallel parser's cut
/// points fall inside characters.
fn padded_lines(pad: char, lines: usize) -> String {
    let mut text = String::new();
    for i in 0..lines {
        let service = pad.to_string().repeat(40 + i % 7);
        text.push_str(&format!(
            "{{\"type\":\"change\",\"id\":\"c{i}\",\"service\":\"{service}\",\"committed_at\":\"2026-01-05T10:00:00Z\"}}\n"
        ));
        if i % 100 == 0 {
            text.push_str(&format!("{{\"type\":\"change\",\"id\":\"{service}\"}}\n"));
        }
    }
    text
}

#[test]
fn parallel_parsing_cuts_between_lines_whatever_the_characters() {
    let text = padded_lines('\u{e9}', 10_000);
    assert!(text.len() > 1 << 20);
    let parsed = parse_jsonl(&text, "import");
    assert_eq!(parsed.events.len(), 10_000);
    assert_eq!(parsed.errors.len(), 100);
    for threads in 2..=7 {
        let p = parse_jsonl_parallel(&text, "import", threads);
        assert_eq!(p.events, parsed.events, "{threads} threads");
        assert_eq!(p.errors, parsed.errors, "{threads} threads");
    }
}

/// A JSON value of any shape: hostile strings, extreme numbers, nesting.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,30}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("aaaaaaaaaaaaaaaaaa\u{e9}")),
        Just(serde_json::Value::from("2026-01-05T10:00:00\u{e9}+02:00")),
        Just(serde_json::Value::from("+999999-01-01T00:00:00Z")),
        Just(serde_json::Value::from(
            "9999-12-31T23:59:60.999999999-23:59"
        )),
        (0usize..3000).prop_map(|n| serde_json::Value::from("é".repeat(n))),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An event line: known fields with values of any shape, sometimes an unknown field.
fn event_line() -> impl Strategy<Value = String> {
    let field = prop::sample::select(vec![
        "type",
        "id",
        "service",
        "source",
        "environment",
        "status",
        "finished_at",
        "changes",
        "commit",
        "committed_at",
        "parent",
        "started_at",
        "resolved_at",
        "deployment",
        "extra",
    ]);
    let kind = prop::sample::select(vec!["deployment", "change", "incident", "other"]);
    (kind, prop::collection::vec((field, json_value()), 0..10)).prop_map(|(kind, fields)| {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), kind.into());
        m.insert("id".into(), "e1".into());
        m.insert("service".into(), "svc".into());
        for (k, v) in fields {
            m.insert(k.to_owned(), v);
        }
        serde_json::Value::Object(m).to_string()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_reports_every_bad_line(text in "\\PC{0,400}(\n\\PC{0,80}){0,8}") {
        let socle_dora::Parsed { events, errors, .. } = parse_jsonl(&text, "import");
        let lines = text.lines().count();
        prop_assert!(events.len() + errors.len() <= lines);
        for e in &errors {
            prop_assert!(e.line >= 1 && e.line <= lines, "{:?}", e);
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn generated_event_lines_are_read_or_reported(lines in prop::collection::vec(event_line(), 1..12)) {
        let text = lines.join("\n");
        let socle_dora::Parsed { events, errors, .. } = parse_jsonl(&text, "import");
        prop_assert_eq!(events.len() + errors.len(), lines.len());
        for e in &events {
            let (source, id) = e.key();
            prop_assert!(!id.is_empty() && id.len() <= socle_dora::events::MAX_NAME);
            prop_assert!(!source.is_empty() && !id.chars().any(char::is_control));
        }
    }

    #[test]
    fn any_timestamp_text_is_read_or_refused(s in "[0-9T:.+Z\\-]{0,40}|\\PC{0,40}") {
        match parse_timestamp(&s) {
            Ok(ms) => prop_assert_eq!(parse_timestamp(&format_timestamp(ms)), Ok(ms)),
            Err(m) => {
                let quoted = format!("{s:?}");
                prop_assert!(m.to_string().contains(&quoted), "{}", m);
            }
        }
    }

    #[test]
    fn formatted_times_read_back(ms in -62_135_596_800_000i64..253_402_300_799_999) {
        prop_assert_eq!(parse_timestamp(&format_timestamp(ms)), Ok(ms));
    }

    #[test]
    fn any_millisecond_value_formats_without_a_panic(ms in any::<i64>()) {
        let s = format_timestamp(ms);
        prop_assert!(s.is_empty() || parse_timestamp(&s) == Ok(ms));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn parallel_and_serial_parsing_agree(pad in prop_oneof![Just('é'), Just('€'), Just('😀')], threads in 2usize..9) {
        let text = padded_lines(pad, 6_000);
        prop_assume!(text.len() > 1 << 20);
        prop_assert_eq!(parse_jsonl_parallel(&text, "import", threads), parse_jsonl(&text, "import"));
    }
}
