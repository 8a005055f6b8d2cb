//! Facet counts: exact numbers, multi-select semantics, ordering, cap.

use crate::common::*;
use socle_search::{MAX_FACET_VALUES, SearchDoc, SearchIndex, SearchQuery};

#[test]
fn facets_over_everything() {
    let index = catalog_index();
    let res = index.search(&text("")).unwrap();
    let f = &res.facets;
    assert_eq!(
        counts(&f.kind),
        vec![
            ("component", 5),
            ("api", 1),
            ("group", 1),
            ("resource", 1),
            ("system", 1),
            ("user", 1),
        ]
    );
    assert_eq!(
        counts(&f.owner),
        vec![(TEAM_A, 4), (TEAM_B, 2), (TEAM_C, 2)]
    );
    assert_eq!(
        counts(&f.spec_type),
        vec![
            ("service", 4),
            ("database", 1),
            ("openapi", 1),
            ("team", 1),
            ("website", 1),
        ]
    );
    assert_eq!(
        counts(&f.tag),
        vec![
            ("java", 3),
            ("payments", 2),
            ("frontend", 1),
            ("legacy", 1),
            ("postgres", 1),
            ("react", 1),
            ("rest", 1),
            ("rust", 1),
        ]
    );
    assert_eq!(
        counts(&f.lifecycle),
        vec![("production", 4), ("deprecated", 1), ("experimental", 1)]
    );
}

#[test]
fn a_facets_own_filter_does_not_narrow_its_counts() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            kind: vec!["component".into()],
            owner: vec![TEAM_A.into()],
            ..text("")
        })
        .unwrap();
    assert_eq!(res.total, 2);
    let f = &res.facets;
    // kind: narrowed by owner=team-a only.
    assert_eq!(
        counts(&f.kind),
        vec![("component", 2), ("api", 1), ("resource", 1)]
    );
    // owner: narrowed by kind=component only.
    assert_eq!(
        counts(&f.owner),
        vec![(TEAM_A, 2), (TEAM_B, 2), (TEAM_C, 1)]
    );
    // Fields without a filter: narrowed by both filters.
    assert_eq!(counts(&f.spec_type), vec![("service", 2)]);
    assert_eq!(counts(&f.tag), vec![("java", 2), ("payments", 1)]);
    assert_eq!(
        counts(&f.lifecycle),
        vec![("experimental", 1), ("production", 1)]
    );
}

#[test]
fn facets_follow_the_text_query() {
    let index = catalog_index();
    let res = index
        .search(&SearchQuery {
            tag: vec!["java".into()],
            ..text("payments")
        })
        .unwrap();
    // Text matches 5 docs; java narrows to payments-api and payments-worker.
    assert_eq!(res.total, 2);
    let f = &res.facets;
    assert_eq!(counts(&f.kind), vec![("component", 2)]);
    assert_eq!(counts(&f.owner), vec![(TEAM_A, 2)]);
    // The tag facet ignores the tag filter: all tags of the 5 text matches.
    assert_eq!(
        counts(&f.tag),
        vec![
            ("java", 2),
            ("payments", 2),
            ("frontend", 1),
            ("postgres", 1),
            ("react", 1),
            ("rest", 1),
        ]
    );
}

#[test]
fn no_match_means_empty_facets() {
    let index = catalog_index();
    let res = index.search(&text("doesnotexist")).unwrap();
    assert_eq!(res.total, 0);
    assert!(res.facets.kind.is_empty());
    assert!(res.facets.tag.is_empty());
    // Filters that match nothing still report counts for their own field.
    let res = index
        .search(&SearchQuery {
            kind: vec!["template".into()],
            ..text("")
        })
        .unwrap();
    assert_eq!(res.total, 0);
    assert_eq!(counts(&res.facets.kind)[0], ("component", 5));
    assert!(res.facets.owner.is_empty());
}

#[test]
fn facets_are_capped_at_50_values_sorted_by_count_then_value() {
    // 60 tags; tag-i is carried by i+1 docs for i < 5, by 1 doc otherwise.
    let mut docs: Vec<SearchDoc> = Vec::new();
    for i in 0..60u32 {
        let copies = if i < 5 { i + 1 } else { 1 };
        for c in 0..copies {
            docs.push(doc(
                &format!("component:default/c{i:02}-{c}"),
                None,
                None,
                &[&format!("tag-{i:02}")],
                None,
                None,
                None,
            ));
        }
    }
    let index = SearchIndex::build(docs).unwrap();
    let res = index.search(&text("")).unwrap();
    assert_eq!(res.total, 5 + 4 + 3 + 2 + 1 + 55);
    let tags = counts(&res.facets.tag);
    assert_eq!(tags.len(), MAX_FACET_VALUES);
    assert_eq!(
        &tags[..7],
        &[
            ("tag-04", 5),
            ("tag-03", 4),
            ("tag-02", 3),
            ("tag-01", 2),
            ("tag-00", 1),
            ("tag-05", 1),
            ("tag-06", 1),
        ]
    );
    assert_eq!(tags[49], ("tag-49", 1));
    assert_eq!(counts(&res.facets.kind), vec![("component", 70)]);
}

#[test]
fn facets_are_exact_across_segments() {
    // One bulk segment plus several incremental ones, with replacements.
    let index = catalog_index();
    for batch in 0..4 {
        let docs: Vec<SearchDoc> = (0..5)
            .map(|i| {
                doc(
                    &format!("component:default/extra-{batch}-{i}"),
                    None,
                    None,
                    &["java", "extra"],
                    Some(TEAM_B),
                    Some("library"),
                    Some("production"),
                )
            })
            .collect();
        index.apply(docs, Vec::new()).unwrap();
    }
    // Replace two catalog docs (changing their owner) in yet another segment.
    let mut catalog = catalog();
    let replaced: Vec<SearchDoc> = catalog
        .drain(..)
        .filter(|d| d.entity_ref.starts_with("component:default/payments-"))
        .map(|mut d| {
            d.owner = Some(TEAM_C.into());
            d
        })
        .collect();
    assert_eq!(replaced.len(), 2);
    index.apply(replaced, Vec::new()).unwrap();

    let res = index.search(&text("")).unwrap();
    assert_eq!(res.total, 30);
    assert_eq!(index.len(), 30);
    let f = &res.facets;
    assert_eq!(
        counts(&f.owner),
        vec![(TEAM_B, 22), (TEAM_C, 4), (TEAM_A, 2)]
    );
    assert_eq!(
        counts(&f.tag)[..3],
        [("java", 23), ("extra", 20), ("payments", 2)]
    );
    assert_eq!(counts(&f.spec_type)[..2], [("library", 20), ("service", 4)]);
    assert_eq!(counts(&f.lifecycle)[0], ("production", 24));
    assert_eq!(counts(&f.kind)[0], ("component", 25));
}
