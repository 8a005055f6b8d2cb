//! Full-text matching: tokenisation, prefix search, ranking, lenient input.

use crate::common::*;
use socle_search::{SearchIndex, SearchQuery};

#[test]
fn empty_text_matches_everything_sorted_by_entity_ref() {
    let index = catalog_index();
    let res = index.search(&text("")).unwrap();
    assert_eq!(res.total, 10);
    assert_eq!(
        refs(&res),
        vec![
            "api:default/payments",
            "component:default/checkout-web",
            "component:default/inventory",
            "component:default/payments-api",
            "component:default/payments-worker",
            "component:default/search",
            "group:default/team-a",
            "resource:default/payments-db",
            "system:default/commerce",
            "user:default/jdoe",
        ]
    );
    assert!(res.hits.iter().all(|h| h.score == 0.0));
}

#[test]
fn word_is_found_inside_dashed_names_and_descriptions() {
    let index = catalog_index();
    let res = index.search(&text("payments")).unwrap();
    assert_eq!(res.total, 5);
    assert_eq!(
        sorted_refs(&res),
        vec![
            "api:default/payments",
            "component:default/checkout-web",
            "component:default/payments-api",
            "component:default/payments-worker",
            "resource:default/payments-db",
        ]
    );
    assert_ranked(&res);
    // Name matches (boost 3) rank above a description-only match.
    assert_eq!(
        res.hits.last().unwrap().entity_ref,
        "component:default/checkout-web"
    );
    assert!(res.hits.iter().all(|h| h.score > 0.0));
}

#[test]
fn last_word_matches_as_prefix() {
    let index = catalog_index();
    for typed in ["p", "pa", "paym", "PAYMEN", "payments"] {
        let res = index.search(&text(typed)).unwrap();
        assert!(res.total >= 5, "{typed}: {}", res.total);
        assert!(
            refs(&res).contains(&"component:default/payments-api"),
            "{typed}"
        );
    }
    let res = index.search(&text("paym")).unwrap();
    assert_eq!(res.total, 5);
    assert_ranked(&res);

    // Only the last word is a prefix: "paym worker" needs the full word.
    assert_eq!(index.search(&text("paym worker")).unwrap().total, 0);
    let res = index.search(&text("payments work")).unwrap();
    assert_eq!(refs(&res), vec!["component:default/payments-worker"]);

    // A trailing space completes the word: no prefix expansion.
    assert_eq!(index.search(&text("paym ")).unwrap().total, 0);
    assert_eq!(index.search(&text("paym*")).unwrap().total, 5);

    // A prefix of nothing.
    assert_eq!(index.search(&text("zzz")).unwrap().total, 0);
    assert_eq!(index.search(&text("paymentsx")).unwrap().total, 0);
}

#[test]
fn exact_word_ranks_above_prefix_only_match() {
    let index = SearchIndex::build([
        doc(
            "component:default/a-cart",
            None,
            None,
            &[],
            None,
            None,
            None,
        ),
        doc(
            "component:default/b-cartography",
            None,
            None,
            &[],
            None,
            None,
            None,
        ),
    ])
    .unwrap();
    let res = index.search(&text("cart")).unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/a-cart",
            "component:default/b-cartography"
        ]
    );
    assert!(res.hits[0].score > res.hits[1].score);
    // Entity ref order would put `a-cart` first too; check the reverse naming.
    let index = SearchIndex::build([
        doc(
            "component:default/a-cartography",
            None,
            None,
            &[],
            None,
            None,
            None,
        ),
        doc(
            "component:default/b-cart",
            None,
            None,
            &[],
            None,
            None,
            None,
        ),
    ])
    .unwrap();
    let res = index.search(&text("cart")).unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/b-cart",
            "component:default/a-cartography"
        ]
    );
}

#[test]
fn all_words_must_match() {
    let index = catalog_index();
    let res = index.search(&text("payments-api")).unwrap();
    assert_eq!(
        sorted_refs(&res),
        vec![
            "api:default/payments",
            "component:default/checkout-web",
            "component:default/payments-api",
        ]
    );
    assert_eq!(res.hits[0].entity_ref, "component:default/payments-api");
    assert_eq!(index.search(&text("payments rust")).unwrap().total, 0);
}

#[test]
fn matches_title_description_tags_owner_and_spec_type() {
    let index = catalog_index();
    // title
    assert_eq!(
        refs(&index.search(&text("jane")).unwrap()),
        vec!["user:default/jdoe"]
    );
    assert_eq!(
        refs(&index.search(&text("commerce platform")).unwrap()),
        vec!["system:default/commerce"]
    );
    // description
    assert_eq!(
        refs(&index.search(&text("monolith")).unwrap()),
        vec!["component:default/inventory"]
    );
    // tags (case-insensitive)
    assert_eq!(
        refs(&index.search(&text("LEGACY")).unwrap()),
        vec!["component:default/inventory"]
    );
    assert_eq!(
        refs(&index.search(&text("postgres")).unwrap()),
        vec!["resource:default/payments-db"]
    );
    // owner (full ref); the trailing space ends the word `c` (no prefix).
    let res = index.search(&text("team-c ")).unwrap();
    assert_eq!(
        sorted_refs(&res),
        vec!["component:default/inventory", "system:default/commerce"]
    );
    // spec_type
    assert_eq!(
        refs(&index.search(&text("openapi")).unwrap()),
        vec!["api:default/payments"]
    );
    assert_eq!(
        refs(&index.search(&text("website")).unwrap()),
        vec!["component:default/checkout-web"]
    );
    // Lifecycle and kind are filters only, not text.
    assert_eq!(index.search(&text("deprecated")).unwrap().total, 0);
}

#[test]
fn accents_are_folded() {
    let index = SearchIndex::build([doc(
        "component:default/cafe",
        Some("Café Übersicht"),
        None,
        &[],
        None,
        None,
        None,
    )])
    .unwrap();
    assert_eq!(index.search(&text("cafe")).unwrap().total, 1);
    assert_eq!(index.search(&text("ÜBERSICHT")).unwrap().total, 1);
    assert_eq!(index.search(&text("café")).unwrap().total, 1);
}

#[test]
fn special_characters_never_fail() {
    let index = catalog_index();
    let nasty = [
        "\"",
        "\"payments",
        "payments\"",
        "'payments'",
        "kind:component",
        "title:\"x",
        "a:b:c",
        ":::",
        "(((",
        ")",
        "[1 TO 2]",
        "{}",
        "*",
        "paym*",
        "?",
        "~2",
        "^3",
        "\\",
        "+-&&||!",
        "AND OR NOT",
        "NOT payments",
        "-payments",
        "/regex/",
        "\u{0}",
        "\u{1F680} rocket",
        "\t\n",
        "SELECT * FROM x; --",
        "<script>alert(1)</script>",
    ];
    for input in nasty {
        let res = index.search(&text(input));
        assert!(res.is_ok(), "{input:?}: {:?}", res.err());
    }
    // Operators are plain separators: these are just "payments".
    for input in [
        "\"payments",
        "payments\"",
        "'payments'",
        "paym*",
        "-payments",
    ] {
        assert_eq!(index.search(&text(input)).unwrap().total, 5, "{input:?}");
    }
    // Text made only of punctuation has no words: matches everything.
    assert_eq!(index.search(&text(":::")).unwrap().total, 10);
    assert_eq!(index.search(&text("\"")).unwrap().total, 10);
    // `kind:component` is two words, `kind` matches nothing.
    assert_eq!(index.search(&text("kind:component")).unwrap().total, 0);
}

#[test]
fn overlong_text_is_a_user_error() {
    let index = catalog_index();
    let err = index
        .search(&text(&"x".repeat(socle_search::MAX_TEXT_LEN + 1)))
        .unwrap_err();
    assert!(err.is_user_error());
    // At the limit it is fine.
    let ok = index.search(&text(&"x ".repeat(socle_search::MAX_TEXT_LEN / 2)));
    assert!(ok.is_ok());
}

#[test]
fn hits_carry_stored_fields() {
    let index = catalog_index();
    let res = index.search(&text("payments worker")).unwrap();
    assert_eq!(res.hits.len(), 1);
    let hit = &res.hits[0];
    assert_eq!(hit.entity_ref, "component:default/payments-worker");
    assert_eq!(hit.kind, "component");
    assert_eq!(hit.name, "payments-worker");
    assert_eq!(hit.title, None);
    assert_eq!(
        hit.description.as_deref(),
        Some("Background jobs for payments")
    );
    assert_eq!(hit.owner.as_deref(), Some(TEAM_A));
    assert_eq!(hit.spec_type.as_deref(), Some("service"));
}

#[test]
fn query_and_results_serde() {
    let q: SearchQuery = serde_json::from_str(r#"{"text":"paym","kind":["Component"]}"#).unwrap();
    assert_eq!(q.limit, 0);
    assert!(q.owner.is_empty());
    let index = catalog_index();
    let res = index.search(&q).unwrap();
    // payments-api, payments-worker, checkout-web (description).
    assert_eq!(res.total, 3);
    let json = serde_json::to_value(&res).unwrap();
    assert_eq!(json["total"], 3);
    assert_eq!(json["hits"].as_array().unwrap().len(), 3);
    assert_eq!(json["facets"]["kind"][0]["value"], "component");
    assert_eq!(json["facets"]["kind"][0]["count"], 3);
    assert_eq!(json["facets"]["kind"][1]["value"], "api");
    assert_eq!(json["facets"]["kind"][1]["count"], 1);
    assert!(json["hits"][0]["score"].as_f64().unwrap() > 0.0);
}
