//! Deterministic ordering, limit and offset.

use crate::common::*;
use socle_search::{DEFAULT_LIMIT, MAX_LIMIT, SearchDoc, SearchIndex, SearchQuery};

/// `n` documents with identical searchable content ("twin service"), whose
/// refs are inserted in a scrambled order.
fn twins(n: usize) -> Vec<SearchDoc> {
    let mut docs: Vec<SearchDoc> = (0..n)
        .map(|i| {
            let mut d = doc(
                &format!("component:default/twin-{i:03}"),
                Some("Twin service"),
                None,
                &["twin"],
                None,
                None,
                None,
            );
            d.name = "twin".into();
            d
        })
        .collect();
    // Deterministic scramble.
    let len = docs.len();
    for i in 0..len {
        docs.swap(i, (i * 7919 + 13) % len);
    }
    docs
}

fn expected_refs(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("component:default/twin-{i:03}"))
        .collect()
}

#[test]
fn ties_are_broken_by_entity_ref_across_segments() {
    let docs = twins(150);
    let index = SearchIndex::build(docs[..60].to_vec()).unwrap();
    for chunk in docs[60..].chunks(30) {
        index.apply(chunk.to_vec(), Vec::new()).unwrap();
    }
    for q in ["twin", "twi", "", "twin service"] {
        let res = index
            .search(&SearchQuery {
                limit: 100,
                ..text(q)
            })
            .unwrap();
        assert_eq!(res.total, 150, "{q}");
        let scores: Vec<f32> = res.hits.iter().map(|h| h.score).collect();
        assert!(scores.windows(2).all(|w| w[0] == w[1]), "{q}: {scores:?}");
        let got: Vec<String> = res.hits.iter().map(|h| h.entity_ref.clone()).collect();
        assert_eq!(got, expected_refs(150)[..100], "{q}");
    }
}

#[test]
fn same_query_same_answer() {
    let index = catalog_index();
    let first = index.search(&text("payments")).unwrap();
    for _ in 0..5 {
        let again = index.search(&text("payments")).unwrap();
        assert_eq!(refs(&first), refs(&again));
        let s1: Vec<f32> = first.hits.iter().map(|h| h.score).collect();
        let s2: Vec<f32> = again.hits.iter().map(|h| h.score).collect();
        assert_eq!(s1, s2);
    }
}

#[test]
fn pages_concatenate_to_the_full_ordering() {
    let docs = twins(95);
    let index = SearchIndex::build(docs[..50].to_vec()).unwrap();
    index.apply(docs[50..].to_vec(), Vec::new()).unwrap();
    for q in ["", "twin"] {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let res = index
                .search(&SearchQuery {
                    limit: 7,
                    offset,
                    ..text(q)
                })
                .unwrap();
            assert_eq!(res.total, 95);
            if res.hits.is_empty() {
                break;
            }
            assert!(res.hits.len() <= 7);
            all.extend(res.hits.into_iter().map(|h| h.entity_ref));
            offset += 7;
        }
        assert_eq!(all, expected_refs(95), "{q}");
    }
}

#[test]
fn limit_defaults_and_caps() {
    let index = SearchIndex::build(twins(150)).unwrap();
    let res = index.search(&text("")).unwrap();
    assert_eq!(res.total, 150);
    assert_eq!(res.hits.len(), DEFAULT_LIMIT);
    assert_eq!(res.hits.len(), 20);

    let res = index
        .search(&SearchQuery {
            limit: 1000,
            ..text("")
        })
        .unwrap();
    assert_eq!(res.hits.len(), MAX_LIMIT);
    assert_eq!(res.hits.len(), 100);

    let res = index
        .search(&SearchQuery {
            limit: 3,
            offset: 10,
            ..text("twin")
        })
        .unwrap();
    assert_eq!(
        refs(&res),
        vec![
            "component:default/twin-010",
            "component:default/twin-011",
            "component:default/twin-012",
        ]
    );

    // Offset past the end: empty page, total and facets still reported.
    let res = index
        .search(&SearchQuery {
            offset: 150,
            ..text("twin")
        })
        .unwrap();
    assert_eq!(res.total, 150);
    assert!(res.hits.is_empty());
    assert_eq!(counts(&res.facets.tag), vec![("twin", 150)]);

    let res = index
        .search(&SearchQuery {
            offset: 145,
            ..text("")
        })
        .unwrap();
    assert_eq!(res.hits.len(), 5);
    assert_eq!(res.hits[4].entity_ref, "component:default/twin-149");

    // Huge offsets do not overflow.
    let res = index
        .search(&SearchQuery {
            offset: usize::MAX,
            limit: usize::MAX,
            ..text("")
        })
        .unwrap();
    assert!(res.hits.is_empty());
    assert_eq!(res.total, 150);
}
