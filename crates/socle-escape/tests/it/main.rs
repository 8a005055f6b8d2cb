//! Escaping tests: hostile values rendered into YAML and JSON templates in every position come
//! back as exactly one, unchanged value — or the render is refused; never an extra key.

use std::collections::BTreeMap;

use minijinja::Environment;
use proptest::prelude::*;
use socle_escape::{Format, install, prepare, quoted, yaml_scalar};

/// Values that broke out of their field before: newlines, document markers, quotes, template
/// syntax, YAML tags and anchors, flow indicators, comments, very long strings.
fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "plain",
        "team-a",
        "x\nkind: Group\nmetadata:\n  name: pwn",
        "x\n---\napiVersion: v1\nkind: ClusterRoleBinding",
        "\"quoted\"",
        "'single'",
        "it's",
        "a: b",
        "a #comment",
        "{{ 7*7 }}",
        "${{ values.secret }}",
        "!!python/object:os.system",
        "&anchor",
        "*alias",
        "[1, 2]",
        "{a: 1}",
        "- item",
        "? key",
        "| block",
        "> folded",
        "%YAML 1.1",
        "@at",
        "`tick`",
        "true",
        "No",
        "null",
        "~",
        "0x1F",
        "1e3",
        "012",
        "1Gi",
        "",
        " leading",
        "trailing ",
        "tab\there",
        "back\\slash",
        "del\u{7f}c1\u{85}nel",
        "line\u{2028}sep",
        "\u{feff}bom",
        "é unicode ünïcödé 日本",
        "\r\ncrlf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(100_000));
    v.push("\"\n".repeat(1000));
    v
}

fn render(name: &str, open: &str, source: &str, value: &str) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax.keep_trailing_newline(true);
    if open == "${{" {
        syntax.variable_delimiters("${{", "}}");
    }
    env.set_syntax(syntax.build().unwrap());
    install(&mut env);
    let prepared = prepare(source, Format::for_path(name), open, "}}").into_owned();
    let t = env.template_from_named_str(name, &prepared)?;
    t.render(minijinja::context! { v => value })
}

const YAML: &str = "name: ${{ v }}\ndescription: \"${{ v }}\"\nmixed: \"Hello ${{ v }}!\"\nlist: [${{ v }}]\nitems:\n  - ${{ v }}\n";

#[test]
fn yaml_values_stay_one_value_in_every_position() {
    for value in hostile() {
        let out = render("catalog-info.yaml", "${{", YAML, &value).unwrap();
        let doc: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str(&out)
            .unwrap_or_else(|e| panic!("{value:?} gave invalid YAML {out:?}: {e}"));
        let keys: Vec<&str> = doc.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["description", "items", "list", "mixed", "name"],
            "{out}"
        );
        assert_eq!(doc["name"], value.as_str(), "{out}");
        assert_eq!(doc["description"], value.as_str(), "{out}");
        assert_eq!(doc["mixed"], format!("Hello {value}!").as_str(), "{out}");
        assert_eq!(doc["list"], serde_json::json!([value]), "{out}");
        assert_eq!(doc["items"], serde_json::json!([value]), "{out}");
    }
}

#[test]
fn yaml_single_quoted_values_are_escaped_or_refused() {
    for value in hostile() {
        match render("a.yml", "{{", "key: '{{ v }}'\n", &value) {
            Ok(out) => {
                let doc: BTreeMap<String, String> = serde_saphyr::from_str(&out)
                    .unwrap_or_else(|e| panic!("{value:?} gave invalid YAML {out:?}: {e}"));
                assert_eq!(doc.len(), 1, "{out}");
                assert_eq!(doc["key"], value, "{out}");
            }
            Err(e) => {
                assert!(value.chars().any(char::is_control), "{value:?}: {e}");
                assert!(e.to_string().contains("single-quoted"), "{e}");
            }
        }
    }
}

#[test]
fn json_values_stay_one_value_in_every_position() {
    let source = "{\"name\": ${{ v }}, \"greeting\": \"Hello ${{ v }}\", \"tags\": [${{ v }}]}";
    for value in hostile() {
        let out = render("package.json", "${{", source, &value).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{value:?} gave invalid JSON {out:?}: {e}"));
        assert_eq!(
            doc,
            serde_json::json!({"name": value, "greeting": format!("Hello {value}"), "tags": [value]})
        );
    }
}

#[test]
fn toml_strings_use_only_escapes_toml_reads() {
    let out = render(
        "Cargo.toml",
        "${{",
        "name = ${{ v }}\nd = \"a ${{ v }}\"\n",
        "x\"\n[dependencies]\nevil = \"1\"\u{7f}",
    )
    .unwrap();
    assert_eq!(
        out,
        "name = \"x\\\"\\n[dependencies]\\nevil = \\\"1\\\"\\u007f\"\nd = \"a x\\\"\\n[dependencies]\\nevil = \\\"1\\\"\\u007f\"\n"
    );
}

#[test]
fn toml_literal_strings_refuse_what_they_cannot_hold() {
    let e = render("Cargo.toml", "${{", "name = '${{ v }}'\n", "it's").unwrap_err();
    assert!(e.to_string().contains("TOML literal string"), "{e}");
    assert_eq!(
        render("Cargo.toml", "${{", "name = '${{ v }}'\n", "ok").unwrap(),
        "name = 'ok'\n"
    );
}

#[test]
fn text_files_are_not_escaped() {
    assert_eq!(
        render("README.md", "${{", "# ${{ v }}\n", "a \"b\"\nc").unwrap(),
        "# a \"b\"\nc\n"
    );
}

#[test]
fn safe_and_tojson_opt_out() {
    assert_eq!(
        render(
            "a.yaml",
            "{{",
            "a: {{ v | safe }}\nb: {{ v | tojson }}\n",
            "x: y"
        )
        .unwrap(),
        "a: x: y\nb: \"x: y\"\n"
    );
}

#[test]
fn raw_blocks_keep_their_expressions() {
    let source = "run: \"{% raw %}${{ github.sha }}{% endraw %} ${{ v }}\"\n";
    assert_eq!(
        render("ci.yml", "${{", source, "a\"b").unwrap(),
        "run: \"${{ github.sha }} a\\\"b\"\n"
    );
}

#[test]
fn whitespace_control_survives_the_rewrite() {
    let out = render("a.yaml", "{{", "k: \"x {{- v -}} y\"\n", "v\"").unwrap();
    assert_eq!(out, "k: \"xv\\\"y\"\n");
}

#[test]
fn plain_yaml_scalars_only_when_unambiguous() {
    for (s, plain) in [
        ("team-a", true),
        ("payments.api_v2", true),
        ("user@example.com", true),
        ("My service name", true),
        ("1Gi", true),
        ("true", false),
        ("Off", false),
        ("12", false),
        ("1.5", false),
        ("1e10", false),
        ("0o17", false),
        ("a: b", false),
        ("-x", false),
        ("a  b", false),
        ("", false),
    ] {
        assert_eq!(yaml_scalar(s) == s, plain, "{s:?}");
    }
}

#[test]
fn quoted_escapes_separators_and_controls() {
    assert_eq!(
        quoted("a\u{2028}b\u{0}c\u{9f}"),
        "\"a\\u2028b\\u0000c\\u009f\""
    );
}

#[test]
fn format_follows_the_extension() {
    assert_eq!(Format::for_path("dir/catalog-info.YAML"), Format::Yaml);
    assert_eq!(Format::for_path(".github/workflows/ci.yml"), Format::Yaml);
    assert_eq!(Format::for_path("package.json"), Format::Json);
    assert_eq!(Format::for_path("Cargo.toml"), Format::Toml);
    assert_eq!(Format::for_path("src/main.rs"), Format::Text);
    assert_eq!(Format::for_path("Dockerfile"), Format::Text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_string_round_trips_through_yaml(value in any::<String>()) {
        let out = render("x.yaml", "${{", YAML, &value).unwrap();
        let doc: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str(&out).unwrap();
        prop_assert_eq!(doc.len(), 5);
        prop_assert_eq!(&doc["name"], &serde_json::Value::String(value.clone()));
        prop_assert_eq!(&doc["mixed"], &serde_json::Value::String(format!("Hello {value}!")));
    }

    #[test]
    fn any_string_round_trips_through_json(value in any::<String>()) {
        let out = render("x.json", "{{", "{\"a\": {{ v }}, \"b\": \"<{{ v }}>\"}", &value).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        prop_assert_eq!(doc, serde_json::json!({"a": value, "b": format!("<{value}>")}));
    }
}

#[test]
fn a_value_inside_a_plain_scalar_is_kept_or_refused() {
    let source = "name: ${{ v }}-high-error-rate\nsummary: ${{ v }} answers too slowly.\n";
    let out = render("slo.yaml", "${{", source, "true").unwrap();
    assert_eq!(
        out,
        "name: true-high-error-rate\nsummary: true answers too slowly.\n"
    );
    for value in hostile() {
        match render("slo.yaml", "${{", source, &value) {
            Ok(out) => {
                let doc: BTreeMap<String, String> = serde_saphyr::from_str(&out)
                    .unwrap_or_else(|e| panic!("{value:?} gave invalid YAML {out:?}: {e}"));
                assert_eq!(doc["name"], format!("{value}-high-error-rate"), "{out}");
            }
            Err(e) => assert!(e.to_string().contains("unquoted YAML text"), "{e}"),
        }
    }
}

#[test]
fn a_value_in_a_comment_stays_on_its_line() {
    let out = render(
        "ci.yml",
        "${{",
        "# CI for ${{ v }}: tests\nkey: 1\n",
        "x\nkind: Group",
    )
    .unwrap();
    assert_eq!(out, "# CI for x kind: Group: tests\nkey: 1\n");
}

/// Renders `source` (a YAML file) with nothing defined, under `behavior`.
fn render_undefined(
    source: &str,
    behavior: minijinja::UndefinedBehavior,
) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(behavior);
    install(&mut env);
    let prepared = prepare(source, Format::Yaml, "{{", "}}").into_owned();
    env.template_from_named_str("t.yaml", &prepared)?
        .render(minijinja::context! { params => minijinja::context! {} })
}

#[test]
fn an_undefined_value_is_named_wherever_it_stands_when_undefined_is_strict() {
    let places = [
        "host: {{ params.host }}\n",
        "host: \"{{ params.host }}:80\"\n",
        "host: '{{ params.host }}:80'\n",
        "host: api-{{ params.host }}\n",
        "# for {{ params.host }}\nhost: x\n",
    ];
    for source in places {
        let e = render_undefined(source, minijinja::UndefinedBehavior::Strict).unwrap_err();
        assert_eq!(
            e.kind(),
            minijinja::ErrorKind::UndefinedError,
            "{source}: {e}"
        );
        assert!(
            e.to_string().contains("`params.host` is undefined"),
            "{source}: {e}"
        );
    }
    // Where undefined values are allowed (golden paths' chainable undefined), they are nothing.
    for source in &places[1..] {
        let out = render_undefined(source, minijinja::UndefinedBehavior::Chainable).unwrap();
        assert!(!out.contains("params"), "{source}: {out}");
    }
}
