//! Levels follow OpsLevel/Port semantics on a hand-made fixture.

use proptest::prelude::*;
use serde_json::{Value, json};
use socle_scorecard::{evaluate, evaluate_all, level_of};

use crate::{NOW, compile, facts, fixture};

#[test]
fn the_fixture_entities_hold_the_documented_levels() {
    let card = compile(fixture());
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../data/entities.json")).expect("cases");
    let mut wrong = Vec::new();
    for case in &cases {
        let f = facts("x", case["facts"].clone());
        let got = evaluate(std::slice::from_ref(&card), &f, NOW);
        assert_eq!(got.len(), 1, "{}", case["case"]);
        let level = got[0].level.clone().map(Value::from).unwrap_or(Value::Null);
        if level != case["expect"] {
            wrong.push(format!(
                "{}: got {level}, expected {}",
                case["case"], case["expect"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_failing_rule_carries_its_fixit_message_and_facts() {
    let card = compile(fixture());
    let f = facts(
        "f",
        json!({"entity": {"kind": "Component", "metadata": {"name": "f", "description": "F.", "annotations": {"socle.dev/tier": "9"}}, "spec": {"type": "service", "owner": "team-a"}}}),
    );
    let r = evaluate(std::slice::from_ref(&card), &f, NOW).remove(0);
    let tier = r
        .rules
        .iter()
        .find(|r| r.id == "tier-annotation")
        .expect("rule");
    assert!(!tier.passed);
    assert_eq!(
        tier.fixit.as_deref(),
        Some("Add the annotation socle.dev/tier (1, 2 or 3).")
    );
    assert_eq!(tier.message.as_deref(), Some("tier is 9"));
    assert_eq!(tier.facts[0].path, "entity.metadata.annotations");
    assert_eq!(tier.facts[0].value, json!({"socle.dev/tier": "9"}));
    let owner = r.rules.iter().find(|r| r.id == "owner").expect("rule");
    assert!(owner.passed && owner.fixit.is_none() && owner.facts.is_empty());
    assert_eq!((r.passed, r.total), (2, 5));
}

#[test]
fn the_filter_leaves_other_entities_unscored() {
    let card = compile(fixture());
    let website = facts(
        "w",
        json!({"entity": {"kind": "Component", "metadata": {"name": "w"}, "spec": {"type": "website", "owner": "team-a"}}}),
    );
    let api = facts(
        "a",
        json!({"entity": {"kind": "API", "metadata": {"name": "a"}, "spec": {"type": "service"}}}),
    );
    let results = evaluate_all(std::slice::from_ref(&card), &[website, api], NOW);
    assert_eq!(results, vec![Vec::new(), Vec::new()]);
}

#[test]
fn a_scorecard_whose_rules_all_pass_gives_the_top_level_even_with_empty_levels() {
    // Gold has no rules of its own here: passing Bronze and Silver is enough.
    assert_eq!(level_of(3, [(0, true), (1, true)]), Some(2));
    assert_eq!(level_of(3, [(0, true), (1, false)]), Some(0));
    assert_eq!(level_of(3, [(0, false), (2, true)]), None);
}

/// Builds fixture facts passing exactly the rules of `mask` (bit i = rule i of the fixture).
fn facts_for(mask: u8) -> Value {
    let bit = |i: u8| mask & (1 << i) != 0;
    let mut entity = json!({"kind": "Component", "metadata": {"name": "p", "annotations": {}}, "spec": {"type": "service"}});
    if bit(0) {
        entity["spec"]["owner"] = json!("team-a");
    }
    if bit(1) {
        entity["metadata"]["description"] = json!("P.");
    }
    if bit(3) {
        entity["metadata"]["annotations"]["socle.dev/tier"] = json!("2");
    }
    json!({
        "entity": entity,
        "repository": {"present": {"readme": bit(2)}},
        "deployments": {"production": {"at": if bit(4) { NOW - 3600 } else { 0 }}},
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The level is the highest one with every rule at or below it passing, and a rule that
    /// starts passing never lowers it.
    #[test]
    fn levels_are_monotone(outcomes in proptest::collection::vec((0usize..4, any::<bool>()), 0..20), flip in 0usize..20) {
        let level = level_of(4, outcomes.clone());
        for (l, passed) in &outcomes {
            if level.is_some_and(|h| *l <= h) {
                prop_assert!(*passed, "a failing rule at or below the level held");
            }
        }
        let next = level.map_or(0, |h| h + 1);
        if next < 4 {
            prop_assert!(outcomes.iter().any(|(l, p)| *l == next && !p), "the next level was reachable");
        }
        let mut better = outcomes.clone();
        if let Some(o) = better.get_mut(flip) {
            o.1 = true;
        }
        prop_assert!(level_of(4, better).map_or(-1, |l| l as i64) >= level.map_or(-1, |l| l as i64));
    }

    /// Through Rego: the fixture's level for facts passing a given set of rules is the model's.
    #[test]
    fn evaluated_levels_match_the_model(mask in 0u8..32) {
        let card = compile(fixture());
        let rule_levels = [0usize, 0, 1, 1, 2];
        let expected = level_of(3, rule_levels.iter().enumerate().map(|(i, l)| (*l, mask & (1 << i) != 0)));
        let got = evaluate(std::slice::from_ref(&card), &facts("p", facts_for(mask)), NOW).remove(0);
        prop_assert_eq!(got.level_index, expected);
        prop_assert_eq!(got.passed, mask.count_ones() as usize);
    }
}
