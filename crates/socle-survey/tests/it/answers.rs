use std::collections::BTreeMap;

use socle_survey::{Answer, AnswerError, load};

fn survey() -> socle_survey::Survey {
    load(
        "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: s}
spec:
  opens: 2026-01-01
  closes: 2026-12-31
  questions:
    - {id: l, type: likert, text: L}
    - {id: e, type: enps, text: E}
    - {id: m, type: multiple, options: [a, b, c], text: M}
    - {id: s, type: single, options: [x, y], text: S, required: false}
    - {id: t, type: text, text: T}
",
        "s.yaml",
    )
    .unwrap()
    .remove(0)
}

fn raw(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect()
}

#[test]
fn a_complete_response_is_kept_in_the_surveys_terms() {
    let a = survey()
        .check_answers(&raw(&[
            ("l", &["4"]),
            ("e", &["10"]),
            ("m", &["c", "a", "c"]),
            ("t", &["  more docs\u{7}\n "]),
        ]))
        .unwrap();
    assert_eq!(a["l"], Answer::Scale(4));
    assert_eq!(a["e"], Answer::Scale(10));
    assert_eq!(a["m"], Answer::Choices(vec!["a".into(), "c".into()]));
    assert_eq!(a["t"], Answer::Text("more docs".into()));
    assert!(!a.contains_key("s"));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        r#"{"e":10,"l":4,"m":["a","c"],"t":"more docs"}"#
    );
}

#[test]
fn out_of_range_unknown_and_missing_answers_are_each_named() {
    let e = survey()
        .check_answers(&raw(&[
            ("l", &["6"]),
            ("m", &["d"]),
            ("s", &["z"]),
            ("zz", &["1"]),
            ("t", &[&"x".repeat(1001)]),
        ]))
        .unwrap_err();
    let shown: Vec<String> = e.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "zz: this survey has no such question",
            "l: a whole number from 1 to 5",
            "e: an answer is required",
            "m: \"d\" is not an option; the options are: a, b, c",
            "s: one of: x, y",
            "t: at most 1000 bytes",
        ]
    );
    let big: BTreeMap<String, Vec<String>> = (0..101).map(|i| (format!("q{i}"), vec![])).collect();
    assert_eq!(
        survey().check_answers(&big).unwrap_err(),
        [AnswerError::TooLarge]
    );
}

proptest::proptest! {
    /// Any response, however odd, is either refused with named problems or kept within the
    /// survey's terms: scale values in range, options among the survey's, texts bounded.
    #[test]
    fn any_response_is_refused_or_within_the_surveys_terms(
        fields in proptest::collection::btree_map(
            proptest::prop_oneof!["[lemstz]", "\\PC{0,8}"],
            proptest::collection::vec(proptest::prop_oneof!["[0-9]{1,3}", "[abcxy]", "\\PC{0,40}"], 0..4),
            0..8,
        )
    ) {
        let s = survey();
        match s.check_answers(&fields) {
            Err(errors) => proptest::prop_assert!(!errors.is_empty()),
            Ok(answers) => {
                for (id, a) in &answers {
                    let q = s.questions.iter().find(|q| &q.id == id).unwrap();
                    match (a, q.kind.scale()) {
                        (Answer::Scale(v), Some((lo, hi))) => proptest::prop_assert!((lo..=hi).contains(v)),
                        (Answer::Choices(c), None) => proptest::prop_assert!(c.iter().all(|o| q.kind.options().contains(o))),
                        (Answer::Text(t), None) => proptest::prop_assert!(
                            t.len() <= 1000 && (q.kind.options().is_empty() || q.kind.options().contains(t))
                        ),
                        _ => proptest::prop_assert!(false, "{id}: {a:?}"),
                    }
                }
            }
        }
    }
}
