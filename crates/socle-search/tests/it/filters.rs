//! Exact, case-insensitive filters: AND across fields, OR within a field.

use crate::common::*;
use socle_search::SearchQuery;

fn all() -> SearchQuery {
    text("")
}

#[test]
fn single_filter() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(res.total, 5);
    assert_eq!(
        refs(&res),
        vec![
            "component:default/checkout-web",
            "component:default/inventory",
            "component:default/payments-api",
            "component:default/payments-worker",
            "component:default/search",
        ]
    );
}

#[test]
fn or_within_a_field() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            kind: vec!["api".into(), "resource".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec!["api:default/payments", "resource:default/payments-db"]
    );
    let res = index
        .search(&SearchQuery {
            lifecycle: vec!["experimental".into(), "deprecated".into(), "nope".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/inventory",
            "component:default/payments-worker"
        ]
    );
}

#[test]
fn and_across_fields() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into()],
            owner: vec![TEAM_A.into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/payments-api",
            "component:default/payments-worker"
        ]
    );
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into()],
            owner: vec![TEAM_A.into()],
            lifecycle: vec!["production".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(refs(&res), vec!["component:default/payments-api"]);
    // AND with OR inside: (component|api) & team-a & production.
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into(), "api".into()],
            owner: vec![TEAM_A.into()],
            lifecycle: vec!["production".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec!["api:default/payments", "component:default/payments-api"]
    );
    // Contradiction.
    let res = index
        .search(&SearchQuery {
            kind: vec!["api".into()],
            spec_type: vec!["service".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(res.total, 0);
    assert!(res.hits.is_empty());
}

#[test]
fn filters_are_case_insensitive_and_trimmed() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            owner: vec![" GROUP:Default/Team-B ".into()],
            spec_type: vec!["SERVICE".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(refs(&res), vec!["component:default/search"]);
    // Indexed tag `Legacy` matches filter `LEGACY`.
    let res = index
        .search(&SearchQuery {
            tag: vec!["LEGACY".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(refs(&res), vec!["component:default/inventory"]);
}

#[test]
fn tag_filter_matches_any_of_a_documents_tags() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            tag: vec!["java".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/inventory",
            "component:default/payments-api",
            "component:default/payments-worker",
        ]
    );
    let res = index
        .search(&SearchQuery {
            tag: vec!["payments".into(), "rust".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "api:default/payments",
            "component:default/payments-api",
            "component:default/search",
        ]
    );
}

#[test]
fn filters_are_exact_not_tokenised() {
    let index = catalog_index();
    for owner in ["team-a", "group:default/team", "group:default/team-a/x"] {
        let res = index
            .search(&SearchQuery {
                owner: vec![owner.into()],
                ..all()
            })
            .unwrap();
        assert_eq!(res.total, 0, "{owner}");
    }
}

#[test]
fn missing_values_never_match_a_filter() {
    let index = catalog_index();
    // system:default/commerce and user:default/jdoe have no spec type.
    let res = index
        .search(&SearchQuery {
            spec_type: vec!["".into(), "none".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(res.total, 0);
    // A blank-only list is no filter at all.
    let res = index
        .search(&SearchQuery {
            lifecycle: vec!["  ".into()],
            ..all()
        })
        .unwrap();
    assert_eq!(res.total, 10);
}

#[test]
fn filters_combine_with_text() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into()],
            ..text("paym")
        })
        .unwrap();
    assert_eq!(
        sorted_refs(&res),
        vec![
            "component:default/checkout-web",
            "component:default/payments-api",
            "component:default/payments-worker",
        ]
    );
    assert_ranked(&res);
    let res = index
        .search(&SearchQuery {
            owner: vec![TEAM_B.into()],
            ..text("payments")
        })
        .unwrap();
    assert_eq!(refs(&res), vec!["component:default/checkout-web"]);
}
