//! Hostile input into the catalog loader (`process_text`): arbitrary bytes, generated YAML with
//! anchors, aliases, tags and hostile scalars, alias bombs, deep nesting, multi-byte characters
//! at every position, very long strings, placeholders with hostile content. Never a panic:
//! entities, or errors that name the file, a rule and (for anything inside the text) a line.

use proptest::prelude::*;
use socle_catalog::{
    DocContext, Entity, EntityError, Limits, NoReader, PlaceholderReadError, PlaceholderReader,
    process_text,
};

const ENTITY: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  description: Takes orders\n  tags: [a, b]\n  annotations:\n    x.io/y: \"z\"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn: [resource:db]\n";

fn process_with(
    text: &str,
    reader: &dyn PlaceholderReader,
    limits: &Limits,
) -> (Vec<Entity>, Vec<EntityError>) {
    let ctx = DocContext {
        file: "f.yaml".into(),
        location: "file:f.yaml".into(),
        origin: "file:f.yaml",
        reader,
        limits,
    };
    process_text(text, &ctx)
}

fn process(text: &str) -> (Vec<Entity>, Vec<EntityError>) {
    process_with(text, &NoReader, &Limits::default())
}

/// Every error names the file, a rule, a message and the line it is about.
fn check_errors(errors: &[EntityError]) -> Result<(), TestCaseError> {
    for e in errors {
        prop_assert_eq!(e.file.as_str(), "f.yaml");
        prop_assert!(!e.rule.is_empty() && !e.message.is_empty(), "{:?}", e);
        prop_assert!(e.line.is_some_and(|l| l > 0), "no line: {:?}", e);
    }
    Ok(())
}

/// Scalars that have broken parsers: quotes, indicators, document markers, tags, multi-byte
/// and invisible characters, numbers out of range.
fn hostile_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{0,12}",
        "\\PC{0,24}",
        Just("\"unterminated".to_owned()),
        Just("'it''s'".to_owned()),
        Just("---".to_owned()),
        Just("...".to_owned()),
        Just("!!binary aGVsbG8=".to_owned()),
        Just("!!str 3".to_owned()),
        Just("!custom x".to_owned()),
        Just("~".to_owned()),
        Just("1e999".to_owned()),
        Just("-0x7fffffffffffffffff".to_owned()),
        Just(".nan".to_owned()),
        Just("aaaaaaaaaaaaaaaaaa\u{e9}".to_owned()),
        Just("\u{feff}\u{2028}\u{301}😀".to_owned()),
        Just("? complex".to_owned()),
        Just("<<: *a".to_owned()),
        Just("{$text: x}".to_owned()),
        Just("\"\\u0000\\ud800\"".to_owned()),
    ]
}

/// YAML text in flow style: scalars, sequences, mappings, anchors, aliases and tags, nested.
fn flow_yaml() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![hostile_scalar(), "[a-c]".prop_map(|n| format!("*{n}")),];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z$<]{1,4}", inner.clone()), 0..6).prop_map(|v| {
                let entries: Vec<String> =
                    v.into_iter().map(|(k, x)| format!("{k}: {x}")).collect();
                format!("{{{}}}", entries.join(", "))
            }),
            ("[a-c]", inner.clone()).prop_map(|(n, x)| format!("&{n} {x}")),
            inner.prop_map(|x| format!("!!seq {x}")),
        ]
    })
}

/// `levels` of anchors, each naming the previous one `fanout` times.
fn laughs(levels: usize, fanout: usize) -> String {
    let mut s = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: lol\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  x:\n    l0: &l0 \"lol\"\n",
    );
    for i in 1..levels {
        let refs = vec![format!("*l{}", i - 1); fanout].join(", ");
        s.push_str(&format!("    l{i}: &l{i} [{refs}]\n"));
    }
    s
}

/// A reader whose every file holds the same (hostile) content.
struct Serves(String);

impl PlaceholderReader for Serves {
    fn read(&self, _base: &str, _target: &str) -> Result<String, PlaceholderReadError> {
        Ok(self.0.clone())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_give_entities_or_located_errors(bytes in prop::collection::vec(any::<u8>(), 0..1500)) {
        let text = String::from_utf8_lossy(&bytes);
        let (_, errors) = process(&text);
        check_errors(&errors)?;
    }

    #[test]
    fn generated_yaml_gives_entities_or_located_errors(a in flow_yaml(), b in flow_yaml(), c in flow_yaml()) {
        let text = format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: gen\n  annotations: {a}\n  labels: {b}\nspec: {c}\n");
        let (entities, errors) = process(&text);
        check_errors(&errors)?;
        prop_assert!(entities.len() <= 1);
    }

    #[test]
    fn generated_yaml_anywhere_in_an_entity(cut in 0usize..ENTITY.len(), frag in flow_yaml()) {
        let cut = (0..=cut).rev().find(|i| ENTITY.is_char_boundary(*i)).unwrap_or(0);
        let text = format!("{}{frag}{}", &ENTITY[..cut], &ENTITY[cut..]);
        let (_, errors) = process(&text);
        check_errors(&errors)?;
    }

    #[test]
    fn alias_bombs_of_any_shape_are_bounded(levels in 1usize..14, fanout in 1usize..12) {
        let text = laughs(levels, fanout);
        // A small node budget keeps each case fast; the default one is tested in `yaml.rs`.
        let limits = Limits { max_nodes: 5_000, ..Limits::default() };
        let (entities, errors) = process_with(&text, &NoReader, &limits);
        check_errors(&errors)?;
        // Either refused by a budget, or within it.
        match entities.first() {
            Some(e) => prop_assert!(e.body.matches("lol").count() <= 5_000),
            None => prop_assert_eq!(errors[0].rule.as_str(), "yaml.limits"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_past_the_depth_budget(opens in prop::collection::vec(prop_oneof![Just('['), Just('{')], 1..400)) {
        let mut value = String::new();
        for o in &opens {
            value.push(*o);
            if *o == '{' {
                value.push_str("k: ");
            }
        }
        value.push('1');
        for o in opens.iter().rev() {
            value.push(if *o == '[' { ']' } else { '}' });
        }
        let text = format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: deep\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  x: {value}\n");
        let (entities, errors) = process(&text);
        check_errors(&errors)?;
        if opens.len() + 2 > Limits::default().max_depth {
            prop_assert!(entities.is_empty());
            prop_assert_eq!(errors[0].rule.as_str(), "yaml.limits");
        } else {
            prop_assert_eq!(entities.len(), 1, "{:?}", errors);
        }
    }

    #[test]
    fn long_strings_anywhere(len in 1usize..200_000, c in prop_oneof![Just('a'), Just('é'), Just('😀'), Just('-'), Just(' ')], field in 0usize..3) {
        let long: String = std::iter::repeat_n(c, len).collect();
        let text = match field {
            0 => ENTITY.replace("name: svc", &format!("name: \"{long}\"")),
            1 => ENTITY.replace("Takes orders", &format!("\"{long}\"")),
            _ => ENTITY.replace("resource:db", &format!("\"{long}\"")),
        };
        let (entities, errors) = process(&text);
        check_errors(&errors)?;
        prop_assert_eq!(entities.len() + usize::from(!errors.is_empty()), 1);
    }

    #[test]
    fn placeholders_with_hostile_content_stay_within_the_budgets(
        content in prop_oneof![
            "\\PC{0,200}",
            flow_yaml(),
            (1usize..12, 1usize..12).prop_map(|(l, f)| laughs(l, f)),
            (1usize..20_000).prop_map(|n| "x".repeat(n)),
        ],
        kind in prop_oneof![Just("$text"), Just("$json"), Just("$yaml")],
        times in 1usize..40,
    ) {
        let refs = vec![format!("{{{kind}: f}}"); times].join(", ");
        let text = format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ph\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  docs: [{refs}]\n");
        // Small budgets, so that they are reached with small files.
        let limits = Limits {
            max_placeholder_bytes: 16 * 1024,
            max_placeholders: 32,
            max_placeholder_file_bytes: 24 * 1024,
            max_nodes: 20_000,
            ..Limits::default()
        };
        let (entities, errors) = process_with(&text, &Serves(content), &limits);
        check_errors(&errors)?;
        for e in &entities {
            prop_assert!(e.body.len() <= text.len() + 2 * limits.max_placeholder_bytes);
        }
    }
}

/// Multi-byte and invisible characters inserted at every character boundary of a valid entity.
#[test]
fn multi_byte_characters_at_every_position() {
    for c in ['é', '€', '😀', '\u{301}', '\u{feff}', '\u{2028}', '\u{0}'] {
        for i in (0..=ENTITY.len()).filter(|i| ENTITY.is_char_boundary(*i)) {
            let text = format!("{}{c}{}", &ENTITY[..i], &ENTITY[i..]);
            let (entities, errors) = process(&text);
            for e in &errors {
                assert_eq!(e.file, "f.yaml");
                assert!(e.line.is_some_and(|l| l > 0), "{c:?} at {i}: {e:?}");
            }
            assert_eq!(
                entities.len() + usize::from(!errors.is_empty()),
                1,
                "{c:?} at {i}"
            );
        }
    }
}
