//! Scorecard files: defaults, and errors at their line and field path.

use socle_scorecard::{Check, ScorecardError, builtin_scorecards, load};

fn errors(text: &str) -> Vec<ScorecardError> {
    load(text, "cards.yaml").expect_err("refused")
}

const HEAD: &str = "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata:\n  name: c\nspec:\n";

#[test]
fn levels_default_to_bronze_silver_gold_and_rules_to_the_first() {
    let text = format!("{HEAD}  rules:\n    - id: owner\n      check: {{builtin: has-owner}}\n");
    let card = load(&text, "c.yaml").expect("loads").remove(0);
    assert_eq!(card.levels, ["Bronze", "Silver", "Gold"]);
    assert_eq!(card.rules[0].level, 0);
    assert_eq!(card.rules[0].title, "Has an owner");
}

#[test]
fn custom_levels_and_owner_filters_in_full() {
    let text = format!(
        "{HEAD}  levels: [Basic, Good, Great, Stellar]\n  filter:\n    owner: [team-a, group:platform/ops]\n  rules:\n    - id: owner\n      level: Great\n      check: {{builtin: has-owner}}\n"
    );
    let card = load(&text, "c.yaml").expect("loads").remove(0);
    assert_eq!(card.levels.len(), 4);
    assert_eq!(card.rules[0].level, 2);
    assert_eq!(
        card.filter.owner,
        ["group:default/team-a", "group:platform/ops"]
    );
}

#[test]
fn an_unknown_builtin_is_named_at_its_line() {
    let text = format!("{HEAD}  rules:\n    - id: a\n      check: {{builtin: has-pony}}\n");
    let e = errors(&text);
    assert_eq!(e[0].line, Some(8));
    assert_eq!(e[0].path, "spec.rules[0].check.params");
    assert!(
        e[0].message.contains("unknown built-in check \"has-pony\""),
        "{}",
        e[0].message
    );
}

#[test]
fn an_unknown_level_lists_the_levels() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      level: Platinum\n      check: {{builtin: has-owner}}\n"
    );
    let e = errors(&text);
    assert_eq!(
        (e[0].line, e[0].path.as_str()),
        (Some(8), "spec.rules[0].level")
    );
    assert!(e[0].message.contains("Bronze, Silver, Gold"));
}

#[test]
fn a_repeated_rule_id_is_refused() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      check: {{builtin: has-owner}}\n    - id: a\n      check: {{builtin: has-system}}\n"
    );
    let e = errors(&text);
    assert_eq!(
        (e[0].line, e[0].path.as_str()),
        (Some(9), "spec.rules[1].id")
    );
}

#[test]
fn bad_builtin_params_are_named() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      check: {{builtin: deployed-recently, params: {{days: many}}}}\n"
    );
    let e = errors(&text);
    assert!(e[0].message.starts_with("days:"), "{}", e[0].message);
}

#[test]
fn rego_that_does_not_compile_is_refused_at_its_field() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      title: T\n      fixit: F\n      check:\n        rego: |\n          pass if {{ x == }}\n"
    );
    let e = errors(&text);
    assert_eq!(e[0].path, "spec.rules[0].check.rego");
    // The block's first line.
    assert_eq!(e[0].line, Some(12));
}

#[test]
fn rego_with_its_own_package_is_refused() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      title: T\n      fixit: F\n      check:\n        rego: |\n          package evil\n          pass := true\n"
    );
    assert!(errors(&text)[0].message.contains("without a package line"));
}

#[test]
fn a_rego_rule_needs_a_title_and_fixit() {
    let text = format!("{HEAD}  rules:\n    - id: a\n      check:\n        rego: pass := true\n");
    let e = errors(&text);
    assert_eq!(e[0].path, "spec.rules[0].title");
}

#[test]
fn unknown_fields_and_kinds_are_errors() {
    let e = errors(
        "apiVersion: socle.dev/v1alpha1\nkind: Scorecard\nmetadata: {name: c}\nspec:\n  rules: []\n  colour: red\n",
    );
    assert!(e[0].message.contains("colour"), "{}", e[0].message);
    let e = errors(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec: {rules: []}\n",
    );
    assert!(e[0].message.contains("not a scorecard"));
}

#[test]
fn the_error_display_names_file_line_and_path() {
    let text = format!(
        "{HEAD}  rules:\n    - id: a\n      level: Platinum\n      check: {{builtin: has-owner}}\n"
    );
    let shown = errors(&text)[0].to_string();
    assert!(
        shown.starts_with("cards.yaml:8: spec.rules[0].level: unknown level"),
        "{shown}"
    );
}

#[test]
fn the_builtin_production_readiness_scorecard_loads_with_builtin_checks() {
    let cards = builtin_scorecards();
    assert_eq!(cards[0].name, "production-readiness");
    assert_eq!(cards[0].levels, ["Bronze", "Silver", "Gold"]);
    assert!(
        cards[0]
            .rules
            .iter()
            .all(|r| matches!(r.check, Check::Builtin { .. }))
    );
}
