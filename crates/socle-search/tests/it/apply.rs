//! Incremental updates: replace, delete, visibility, concurrency.

use std::sync::Arc;

use crate::common::*;
use socle_search::{SearchIndex, SearchQuery};

#[test]
fn upsert_replaces_by_entity_ref() {
    let index = catalog_index();
    assert_eq!(
        refs(&index.search(&text("handles")).unwrap()),
        vec!["component:default/payments-api"]
    );

    let mut updated = catalog().remove(0);
    assert_eq!(updated.entity_ref, "component:default/payments-api");
    updated.description = Some("Settles ledger entries".into());
    updated.owner = Some(TEAM_B.into());
    updated.tags = vec!["kotlin".into()];
    index.apply([updated], Vec::new()).unwrap();

    // Visible on return; the old version is gone.
    assert_eq!(index.len(), 10);
    assert_eq!(index.search(&text("handles")).unwrap().total, 0);
    let res = index.search(&text("ledger")).unwrap();
    assert_eq!(refs(&res), vec!["component:default/payments-api"]);
    assert_eq!(res.hits[0].owner.as_deref(), Some(TEAM_B));
    let f = index.search(&text("")).unwrap().facets;
    assert_eq!(
        counts(&f.owner),
        vec![(TEAM_A, 3), (TEAM_B, 3), (TEAM_C, 2)]
    );
    assert_eq!(counts(&f.tag)[..2], [("java", 2), ("frontend", 1)]);
    assert!(counts(&f.tag).contains(&("kotlin", 1)));
    assert!(counts(&f.tag).contains(&("payments", 1)));
}

#[test]
fn upsert_key_is_case_insensitive() {
    let index = catalog_index();
    let mut updated = catalog().remove(0);
    updated.entity_ref = "Component:Default/Payments-API".into();
    updated.title = Some("Renamed".into());
    index.apply([updated], Vec::new()).unwrap();
    assert_eq!(index.len(), 10);
    let res = index.search(&text("renamed")).unwrap();
    assert_eq!(refs(&res), vec!["component:default/payments-api"]);
}

#[test]
fn delete_removes_documents() {
    let index = catalog_index();
    index
        .apply(
            Vec::new(),
            vec![
                "user:default/jdoe".to_owned(),
                "RESOURCE:default/Payments-DB".to_owned(),
                "component:default/does-not-exist".to_owned(),
                String::new(),
            ],
        )
        .unwrap();
    assert_eq!(index.len(), 8);
    assert_eq!(index.search(&text("jane")).unwrap().total, 0);
    let res = index.search(&text("")).unwrap();
    assert_eq!(res.total, 8);
    assert!(!refs(&res).contains(&"resource:default/payments-db"));
    assert_eq!(counts(&res.facets.owner)[0], (TEAM_A, 3));
    assert!(
        !counts(&res.facets.tag)
            .iter()
            .any(|(t, _)| *t == "postgres")
    );
    // Deleting again is a no-op.
    index
        .apply(Vec::new(), vec!["user:default/jdoe".to_owned()])
        .unwrap();
    assert_eq!(index.len(), 8);
}

#[test]
fn upsert_and_delete_of_the_same_ref_in_one_batch_deletes_it() {
    let index = catalog_index();
    let doc = catalog().remove(0);
    index
        .apply([doc], vec!["component:default/payments-api".to_owned()])
        .unwrap();
    assert_eq!(index.len(), 9);
    assert_eq!(index.search(&text("handles")).unwrap().total, 0);
}

#[test]
fn duplicate_upserts_in_one_batch_keep_the_last() {
    let index = SearchIndex::new().unwrap();
    assert!(index.is_empty());
    let mut first = doc(
        "component:default/x",
        Some("first"),
        None,
        &[],
        None,
        None,
        None,
    );
    let mut second = first.clone();
    second.title = Some("second".into());
    first.tags = vec!["one".into()];
    index.apply([first, second], Vec::new()).unwrap();
    assert_eq!(index.len(), 1);
    let res = index.search(&text("")).unwrap();
    assert_eq!(res.hits[0].title.as_deref(), Some("second"));
    assert!(res.facets.tag.is_empty());
}

#[test]
fn incremental_index_from_scratch_matches_bulk_build() {
    let bulk = catalog_index();
    let incremental = SearchIndex::new().unwrap();
    for chunk in catalog().chunks(3) {
        incremental.apply(chunk.to_vec(), Vec::new()).unwrap();
    }
    for q in ["", "paym", "payments api", "java", "team"] {
        let a = bulk.search(&text(q)).unwrap();
        let b = incremental.search(&text(q)).unwrap();
        assert_eq!(a.total, b.total, "{q}");
        assert_eq!(sorted_refs(&a), sorted_refs(&b), "{q}");
        assert_eq!(counts(&a.facets.tag), counts(&b.facets.tag), "{q}");
        assert_eq!(counts(&a.facets.owner), counts(&b.facets.owner), "{q}");
    }
}

#[test]
fn searches_run_concurrently_with_apply() {
    let index = Arc::new(catalog_index());
    let writer = {
        let index = Arc::clone(&index);
        std::thread::spawn(move || {
            for i in 0..20 {
                let d = doc(
                    &format!("component:default/concurrent-{i:02}"),
                    None,
                    Some("concurrent update"),
                    &[],
                    Some(TEAM_C),
                    None,
                    None,
                );
                index.apply([d], Vec::new()).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                let mut last = 0;
                for _ in 0..50 {
                    let res = index.search(&text("concurrent")).unwrap();
                    // Monotonic: a reader never sees an older snapshot.
                    assert!(res.total >= last);
                    assert_eq!(res.hits.len(), res.total.min(20));
                    last = res.total;
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    let res = index
        .search(&SearchQuery {
            limit: 100,
            ..text("concurrent")
        })
        .unwrap();
    assert_eq!(res.total, 20);
    assert_eq!(res.hits.len(), 20);
    assert_eq!(index.len(), 30);
}
