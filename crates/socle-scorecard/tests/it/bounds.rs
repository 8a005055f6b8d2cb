//! Bounds: a check's time, the facts' size, a check's runtime error — each an error of that
//! entity, never of the whole evaluation.

use std::time::Duration;

use serde_json::json;
use socle_scorecard::{Compiled, evaluate, load};

use crate::{NOW, facts};

fn card(rego: &str) -> socle_scorecard::Scorecard {
    let text = format!(
        "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {{name: b}}\nspec:\n  rules:\n    - id: r\n      title: T\n      fixit: F\n      check:\n        rego: |\n{}\n",
        rego.lines()
            .map(|l| format!("          {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    load(&text, "b.yaml").expect("loads").remove(0)
}

#[test]
fn a_check_past_its_time_limit_is_an_error_of_that_entity() {
    let c = Compiled::with_timeout(
        card("pass if {\n  some i in numbers.range(1, input.n)\n  some j in numbers.range(1, input.n)\n  i * j == -1\n}"),
        Duration::from_millis(50),
    )
    .expect("compiles");
    let started = std::time::Instant::now();
    let r = evaluate(
        &[c],
        &facts(
            "slow",
            json!({"entity": {"kind": "Component"}, "n": 100000}),
        ),
        NOW,
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = r[0].error.as_deref().expect("an error");
    assert!(
        err.to_lowercase().contains("time") || err.contains("limit"),
        "{err}"
    );
    assert_eq!(r[0].level, None);
}

#[test]
fn facts_larger_than_the_bound_are_an_error_of_that_entity() {
    let c = Compiled::new(card("pass := true")).expect("compiles");
    let big = "x".repeat(300 * 1024);
    let r = evaluate(
        &[c],
        &facts("big", json!({"entity": {"kind": "Component"}, "blob": big})),
        NOW,
    );
    assert!(
        r[0].error
            .as_deref()
            .unwrap_or_default()
            .contains("more than")
    );
}

#[test]
fn a_check_with_conflicting_values_is_an_error_not_a_pass() {
    let c =
        Compiled::new(card("pass := true if input.a\npass := false if input.b")).expect("compiles");
    let r = evaluate(
        &[c],
        &facts(
            "x",
            json!({"entity": {"kind": "Component"}, "a": true, "b": true}),
        ),
        NOW,
    );
    assert!(r[0].error.is_some());
    assert_eq!(r[0].level, None);
}

#[test]
fn messages_are_cut() {
    let c = Compiled::new(card(
        "message := concat(\"\", [\"y\" | some _ in numbers.range(1, 5000)])",
    ))
    .expect("compiles");
    let r = evaluate(
        &[c],
        &facts("x", json!({"entity": {"kind": "Component"}})),
        NOW,
    );
    assert_eq!(
        r[0].rules[0].message.as_ref().map(|m| m.chars().count()),
        Some(512)
    );
}
