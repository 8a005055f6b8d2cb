//! Hostile `${{ }}` expressions and templates: compiling and evaluating never panics, every
//! evaluation ends within its fuel, and a template file with hostile expressions loads or is
//! refused with located errors.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};
use socle_scaffold::expr::Expr;

fn ctx() -> Value {
    json!({
        "parameters": {"name": "shop", "n": 3, "on": true, "tags": ["a", "é"], "repoUrl": "github.com?owner=acme&repo=shop",
                       "deep": {"a": {"b": {"c": [1, {"d": "x"}]}}}},
        "steps": {"a": {"output": {"x": "y"}}},
        "user": {"ref": "user:default/ann"},
        "secrets": {},
        "each": {"key": "k", "value": "v"},
    })
}

/// Pieces of expressions: names from the context, operators, literals (small numbers, so that
/// repeated strings stay small), Backstage's and minijinja's filters and functions, Nunjucks'
/// `dump` and JavaScript's methods, delimiters.
fn token() -> impl Strategy<Value = String> {
    let fixed = [
        "parameters",
        "parameters.name",
        "parameters.tags",
        "parameters.deep.a.b.c[1].d",
        "steps",
        "steps['a'].output.x",
        "steps.missing.output",
        "user.ref",
        "secrets",
        "each.value",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        ".",
        "|",
        "+",
        "-",
        "*",
        "/",
        "//",
        "%",
        "**",
        "~",
        "===",
        "!==",
        "==",
        "<",
        ">=",
        "and",
        "or",
        "not",
        "if",
        "else",
        "in",
        "is",
        "parseRepoUrl",
        "parseEntityRef",
        "pick('x')",
        "projectSlug",
        "upper",
        "join(',')",
        "replace('a','b')",
        "tojson",
        "dump",
        "dump(2)",
        "parameters.name.split('')",
        "parameters.tags.length",
        ".length",
        ".split(',', 2)",
        ".replace('a', '$&$`')",
        ".includes('a')",
        ".startsWith('s')",
        ".toUpperCase()",
        ".trim()",
        ".join('-')",
        "length",
        "first",
        "default('d')",
        "range(5)",
        "dict(a=1)",
        "namespace()",
        "loop",
        "none",
        "true",
        "undefined",
        "1e308",
        "-9223372036854775808",
        "340282366920938463463374607431768211456",
        "${{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "\\",
        "'",
        "\"",
        "\u{e9}",
        "😀",
        "\u{301}",
    ];
    prop_oneof![
        4 => prop::sample::select(fixed.to_vec()).prop_map(str::to_owned),
        1 => "[0-9]{1,3}",
        1 => "'[^'\\\\]{0,8}'",
        1 => "\\PC{0,3}",
    ]
}

fn expression() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..24).prop_map(|t| t.join(" "))
}

/// Ok, or an error that says something; and within a time only fuel can give.
fn bounded(f: impl FnOnce() -> Result<Value, String>) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let r = f();
    prop_assert!(
        start.elapsed() < Duration::from_secs(10),
        "ran {:?}",
        start.elapsed()
    );
    if let Err(m) = r {
        prop_assert!(!m.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn whole_expressions_never_panic(e in expression()) {
        let x = Expr::new();
        let s = format!("${{{{ {e} }}}}");
        let _ = x.check(&s);
        bounded(|| x.eval_str(&s, &ctx()).map_err(|e| e.message))?;
    }

    #[test]
    fn text_with_expressions_never_panics(before in "\\PC{0,12}", e in expression(), after in "\\PC{0,12}") {
        let x = Expr::new();
        let s = format!("{before}${{{{ {e} }}}}{after}");
        let _ = x.check(&s);
        bounded(|| x.eval_str(&s, &ctx()).map_err(|e| e.message))?;
        bounded(|| x.render_text(&s, &ctx()).map(Value::String).map_err(|e| e.message))?;
    }

    #[test]
    fn statements_never_panic(e in expression(), body in expression()) {
        let x = Expr::new();
        for s in [
            format!("{{% for i in {e} %}}${{{{ {body} }}}}{{% endfor %}}"),
            format!("{{% if {e} %}}x{{% else %}}${{{{ {body} }}}}{{% endif %}}"),
            format!("{{% set v = {e} %}}${{{{ v ~ {body} }}}}"),
            format!("{{% macro m(a) %}}${{{{ m(a) }}}}{{% endmacro %}}${{{{ m({e}) }}}}"),
        ] {
            bounded(|| x.render_text(&s, &ctx()).map(Value::String).map_err(|e| e.message))?;
        }
    }

    #[test]
    fn values_with_expressions_never_panic(keys in prop::collection::vec("\\PC{0,6}", 1..4), e in expression()) {
        let x = Expr::new();
        let mut v = json!(format!("${{{{ {e} }}}}"));
        for k in keys {
            v = json!({ k: [v, "${{ parameters.name }}"] });
        }
        bounded(|| x.eval_value(&v, &ctx()).map_err(|e| e.message))?;
    }

    #[test]
    fn text_without_expressions_is_kept_as_is(s in "\\PC{0,64}") {
        prop_assume!(!s.contains("${{"));
        prop_assert_eq!(Expr::new().eval_str(&s, &ctx()).unwrap(), Value::String(s.clone()));
    }

    #[test]
    fn string_literals_evaluate_to_themselves(s in "[^'\\\\{}%#$]{0,40}") {
        prop_assert_eq!(Expr::new().eval_str(&format!("${{{{ '{s}' }}}}"), &ctx()).unwrap(), Value::String(s.clone()));
    }

    #[test]
    fn templates_with_hostile_expressions_load_or_are_refused_with_lines(e in expression(), name in "\\PC{0,20}") {
        let text = format!(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  parameters:\n    properties:\n      name: {{type: string}}\n  steps:\n    - id: log\n      name: {name:?}\n      if: {cond:?}\n      action: debug:log\n      input:\n        message: {msg:?}\n  output:\n    x: {out:?}\n",
            cond = format!("${{{{ {e} }}}}"),
            msg = format!("a ${{{{ {e} }}}} b"),
            out = format!("${{{{ steps.log.output.{e} }}}}"),
        );
        match crate::engine().load(&text, "t.yaml") {
            Ok(t) => prop_assert_eq!(t.steps.len(), 1),
            Err(errors) => {
                for err in errors {
                    prop_assert_eq!(err.file.as_str(), "t.yaml");
                    prop_assert!(err.line.is_some(), "{:?}", err);
                }
            }
        }
    }
}

#[test]
fn runaway_loops_run_out_of_fuel() {
    let x = Expr::new();
    let s = "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}";
    let start = Instant::now();
    let err = x.render_text(s, &ctx()).unwrap_err();
    assert!(err.message.contains("fuel"), "{}", err.message);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn runaway_recursion_is_refused() {
    let x = Expr::new();
    let s = "{% macro m(a) %}${{ m(a) }}{% endmacro %}${{ m(1) }}";
    let err = x.render_text(s, &ctx()).unwrap_err();
    assert!(
        err.message.contains("recursion") || err.message.contains("fuel"),
        "{}",
        err.message
    );
}

#[test]
fn huge_repeated_strings_run_out_of_fuel() {
    let err = Expr::new()
        .eval_str("${{ 'x' * 1000000000000 }}", &ctx())
        .unwrap_err();
    assert!(err.message.contains("fuel"), "{}", err.message);
}

#[test]
fn doubling_a_string_runs_out_of_fuel() {
    let s = "{% set ns = namespace(a='x') %}{% for i in range(60) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}${{ ns.a | length }}";
    let err = Expr::new().render_text(s, &ctx()).unwrap_err();
    assert!(err.message.contains("fuel"), "{}", err.message);
}
