//! Hostile Score files: arbitrary bytes, generated workloads with hostile values and
//! placeholders, alias bombs, deep nesting, multi-byte characters at every position, very long
//! strings. Never a panic: a workload, or errors naming the file and a rule (and a line for
//! anything inside the text).

use proptest::prelude::*;
use socle_catalog::Limits;
use socle_score::{
    ScoreError, Workload, parse_override, parse_workload, parse_workload_with_overrides,
};

const WORKLOAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  web:\n    image: nginx\n    variables:\n      DB: \"${resources.db.host}:${resources.db.port}\"\n      NAME: ${metadata.name}\n    files:\n      /etc/x.conf:\n        content: \"a $$ b\"\nservice:\n  ports:\n    http:\n      port: 80\nresources:\n  db:\n    type: postgres\n";

fn parse(text: &str) -> Result<Workload, Vec<ScoreError>> {
    parse_workload(text, "score.yaml", &Limits::default())
}

/// Errors name the file, a rule, a message, and a line unless they are about the whole file.
fn check(r: &Result<Workload, Vec<ScoreError>>) -> Result<(), TestCaseError> {
    if let Err(errors) = r {
        prop_assert!(!errors.is_empty());
        for e in errors {
            prop_assert_eq!(e.file.as_str(), "score.yaml");
            prop_assert!(!e.rule.is_empty() && !e.message.is_empty(), "{:?}", e);
            let whole_file = matches!(
                e.rule.as_str(),
                "document.empty" | "document.multiple" | "file.too-large"
            );
            prop_assert!(
                whole_file || e.line.is_some_and(|l| l > 0),
                "no line: {:?}",
                e
            );
        }
    }
    Ok(())
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,10}",
        "\\PC{0,20}",
        Just("${resources.db.host}".to_owned()),
        Just("${resources.nope.x}".to_owned()),
        Just("${metadata.name".to_owned()),
        Just("${resources.db.a\\.b}".to_owned()),
        Just("$${escaped}".to_owned()),
        Just("${}".to_owned()),
        Just("${resources.\u{e9}}".to_owned()),
        Just("aaaaaaaaaaaaaaaaaa\u{e9}".to_owned()),
        Just("😀${metadata.name}\u{301}".to_owned()),
        Just("---".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        Just("!!binary aGk=".to_owned()),
        Just("70000".to_owned()),
        Just("-1".to_owned()),
        Just("1e999".to_owned()),
    ]
}

/// A workload whose names and values come from `values` (quoted, so that YAML reads them as
/// given) or raw (so that they can break the YAML).
fn generated(values: &[String], raw: bool) -> String {
    let v = |i: usize| {
        let s = &values[i % values.len()];
        if raw { s.clone() } else { format!("{s:?}") }
    };
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {}\ncontainers:\n  {}:\n    image: {}\n    variables:\n      {}: {}\n    files:\n      {}:\n        content: {}\nservice:\n  ports:\n    {}:\n      port: {}\nresources:\n  {}:\n    type: {}\n    params: {{k: {}}}\n",
        v(0),
        v(1),
        v(2),
        v(3),
        v(4),
        v(5),
        v(6),
        v(7),
        v(8),
        v(9),
        v(10),
        v(11)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_read_or_refused_with_lines(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        check(&parse(&String::from_utf8_lossy(&bytes)))?;
    }

    #[test]
    fn generated_workloads_are_read_or_refused_with_lines(values in prop::collection::vec(hostile(), 12), raw in any::<bool>()) {
        let r = parse(&generated(&values, raw));
        check(&r)?;
        if let Ok(w) = r {
            prop_assert_eq!(w.containers.len(), 1);
        }
    }

    #[test]
    fn hostile_text_anywhere_in_a_workload(cut in 0usize..WORKLOAD.len(), frag in hostile()) {
        let cut = (0..=cut).rev().find(|i| WORKLOAD.is_char_boundary(*i)).unwrap_or(0);
        check(&parse(&format!("{}{frag}{}", &WORKLOAD[..cut], &WORKLOAD[cut..])))?;
    }

    #[test]
    fn alias_bombs_are_refused_or_small(levels in 1usize..14, fanout in 1usize..12) {
        let mut text = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  l0: &l0 \"lol\"\n");
        for i in 1..levels {
            text.push_str(&format!("  l{i}: &l{i} [{}]\n", vec![format!("*l{}", i - 1); fanout].join(", ")));
        }
        text.push_str("containers:\n  web:\n    image: nginx\n");
        // A small node budget keeps each case fast; the default one is tested in the catalog.
        let limits = Limits { max_nodes: 5_000, ..Limits::default() };
        let r = parse_workload(&text, "score.yaml", &limits);
        check(&r)?;
        if fanout.pow(levels as u32 - 1) > 5_000 {
            prop_assert_eq!(r.map(|_| ()).unwrap_err()[0].rule.clone(), "yaml.limits");
        }
    }

    #[test]
    fn deep_nesting_is_refused(depth in 1usize..300) {
        let text = format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  x: {}1{}\ncontainers:\n  web:\n    image: nginx\n", "[".repeat(depth), "]".repeat(depth));
        let r = parse(&text);
        check(&r)?;
        if depth + 2 > Limits::default().max_depth {
            prop_assert_eq!(r.map(|_| ()).unwrap_err()[0].rule.clone(), "yaml.limits");
        }
    }

    #[test]
    fn overrides_of_any_text_are_applied_or_refused(o in "\\PC{0,40}") {
        if let Ok(over) = parse_override(&o) {
            check(&parse_workload_with_overrides(WORKLOAD, "score.yaml", &Limits::default(), &[over]))?;
        }
    }
}

proptest! {
    // Each case validates up to 800 KB against the schema: fewer cases keep the suite fast.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn long_strings_are_read_or_refused(len in 1usize..200_000, c in prop_oneof![Just('a'), Just('é'), Just('😀'), Just('$')]) {
        let long: String = std::iter::repeat_n(c, len).collect();
        let text = WORKLOAD.replace("image: nginx", &format!("image: {long:?}")).replace("NAME: ${metadata.name}", &format!("NAME: {long:?}"));
        check(&parse(&text))?;
    }
}

#[test]
fn the_sample_workload_is_valid() {
    let w = parse(WORKLOAD).unwrap();
    assert_eq!(w.containers.len(), 1);
}

#[test]
fn multi_byte_characters_at_every_position() {
    for c in ['é', '€', '😀', '\u{301}', '\u{feff}', '\u{2028}'] {
        for i in (0..=WORKLOAD.len()).filter(|i| WORKLOAD.is_char_boundary(*i)) {
            let text = format!("{}{c}{}", &WORKLOAD[..i], &WORKLOAD[i..]);
            if let Err(errors) = parse(&text) {
                for e in errors {
                    assert_eq!(e.file, "score.yaml");
                    assert!(e.line.is_some_and(|l| l > 0), "{c:?} at {i}: {e:?}");
                }
            }
        }
    }
}
