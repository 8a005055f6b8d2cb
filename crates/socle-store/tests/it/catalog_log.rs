//! The catalog's change log: every generation names what it touched, and a reader gets, for the
//! refs it names, the rows its read model must rebuild.

use socle_store::{CatalogChanges, Store};

use super::{GROUP, apply, component, open};

async fn org_location(store: &Store, key: &str) {
    store
        .add_location(
            key,
            &serde_json::json!({"type": "file", "target": key}),
            "test",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
}

async fn delta(store: &Store, since: i64, neighbours: &[&str]) -> socle_store::CatalogDelta {
    let named: Vec<String> = neighbours.iter().map(|s| s.to_string()).collect();
    match store.catalog_delta(since, move |_| named).await.unwrap() {
        CatalogChanges::Delta(d) => d,
        other => panic!("expected a delta since {since}, got {other:?}"),
    }
}

async fn a_generation_names_the_entities_it_touched(store: &Store) {
    org_location(store, "file:a").await;
    let g0 = store.catalog_generation().await.unwrap();
    assert!(matches!(
        store.catalog_delta(g0, |_| Vec::new()).await.unwrap(),
        CatalogChanges::Unchanged
    ));
    apply(
        store,
        "file:a",
        &format!(
            "{GROUP}{}{}",
            component("one", "team-a"),
            component("two", "team-a")
        ),
        &[],
    )
    .await;
    let g1 = store.catalog_generation().await.unwrap();
    let d = delta(store, g0, &[]).await;
    assert_eq!(d.generation, g1);
    assert_eq!(
        d.touched,
        [
            "component:default/one",
            "component:default/two",
            "group:default/team-a"
        ]
    );
    // `two` goes, `one` changes owner (team-b does not exist: a missing target is affected too).
    apply(
        store,
        "file:a",
        &format!("{GROUP}{}", component("one", "team-b")),
        &[],
    )
    .await;
    let d = delta(store, g1, &["group:default/team-a"]).await;
    assert_eq!(
        d.touched,
        ["component:default/one", "component:default/two"]
    );
    assert_eq!(
        d.affected,
        [
            "component:default/one",
            "component:default/two",
            "group:default/team-a",
            "group:default/team-b"
        ]
    );
    let present: Vec<&str> = d.entities.iter().map(|e| e.entity_ref.as_str()).collect();
    assert_eq!(present, ["component:default/one", "group:default/team-a"]);
    let rels: Vec<(&str, &str, &str)> = d
        .relations
        .iter()
        .map(|r| (r.source.as_str(), r.kind.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        rels,
        [("component:default/one", "ownedBy", "group:default/team-b")]
    );
    assert!(d.organisation_locations.contains("file:a"));
    // Both generations at once: their refs together.
    let d = delta(store, g0, &[]).await;
    assert_eq!(
        d.touched,
        [
            "component:default/one",
            "component:default/two",
            "group:default/team-a"
        ]
    );
}
both!(a_generation_names_the_entities_it_touched);

async fn an_unchanged_refresh_moves_nothing(store: &Store) {
    org_location(store, "file:a").await;
    apply(store, "file:a", &component("one", "team-a"), &[]).await;
    let g = store.catalog_generation().await.unwrap();
    apply(store, "file:a", &component("one", "team-a"), &[]).await;
    assert_eq!(store.catalog_generation().await.unwrap(), g);
    assert!(matches!(
        store.catalog_delta(g, |_| Vec::new()).await.unwrap(),
        CatalogChanges::Unchanged
    ));
}
both!(an_unchanged_refresh_moves_nothing);

async fn a_deleted_location_names_what_it_owned(store: &Store) {
    org_location(store, "file:a").await;
    apply(
        store,
        "file:a",
        &format!(
            "{}{}",
            component("one", "team-a"),
            component("two", "team-a")
        ),
        &[],
    )
    .await;
    let g = store.catalog_generation().await.unwrap();
    store.delete_location("file:a").await.unwrap();
    let d = delta(store, g, &[]).await;
    assert_eq!(
        d.touched,
        ["component:default/one", "component:default/two"]
    );
    assert!(d.entities.is_empty());
    assert!(d.relations.is_empty());
}
both!(a_deleted_location_names_what_it_owned);

async fn a_reader_older_than_the_log_rebuilds(store: &Store) {
    // Generation 0 has no row before it: a store written before the log existed looks the same.
    org_location(store, "file:a").await;
    apply(store, "file:a", &component("one", "team-a"), &[]).await;
    let g = store.catalog_generation().await.unwrap();
    assert!(matches!(
        store.catalog_delta(g - 1, |_| Vec::new()).await.unwrap(),
        CatalogChanges::Delta(_)
    ));
    assert!(matches!(
        store.catalog_delta(-5, |_| Vec::new()).await.unwrap(),
        CatalogChanges::Rebuild
    ));
}
both!(a_reader_older_than_the_log_rebuilds);

async fn the_log_keeps_the_newest_generations_only(store: &Store) {
    org_location(store, "file:a").await;
    apply(store, "file:a", &component("one", "team-0"), &[]).await;
    let first = store.catalog_generation().await.unwrap();
    for i in 1..=socle_store::KEPT_GENERATIONS {
        apply(
            store,
            "file:a",
            &component("one", &format!("team-{i}")),
            &[],
        )
        .await;
    }
    let last = store.catalog_generation().await.unwrap();
    assert_eq!(last - first, socle_store::KEPT_GENERATIONS);
    // `first`'s successor is the oldest row kept: a reader at `first` is served, one before
    // it rebuilds.
    assert!(matches!(
        store.catalog_delta(first, |_| Vec::new()).await.unwrap(),
        CatalogChanges::Delta(_)
    ));
    assert!(matches!(
        store
            .catalog_delta(first - 1, |_| Vec::new())
            .await
            .unwrap(),
        CatalogChanges::Rebuild
    ));
}
both!(the_log_keeps_the_newest_generations_only);

/// An apply of many entities (here: from 3) takes the large path: on SQLite the index by target
/// is dropped and built again in one sort. The relations must read back by target as by
/// source, and the index must exist afterwards.
async fn a_large_apply_keeps_relations_by_target(store: &Store) {
    let store = store.clone().with_large_apply(3);
    org_location(&store, "file:big").await;
    let text: String = std::iter::once(GROUP.to_owned())
        .chain((0..5).map(|i| component(&format!("c{i}"), "team-a")))
        .collect();
    let out = apply(&store, "file:big", &text, &[]).await;
    assert_eq!(out.added, 6);
    let inverse = store.relations_of("group:default/team-a").await.unwrap();
    let owned: Vec<&str> = inverse
        .iter()
        .filter(|r| r.kind == "ownerOf")
        .map(|r| r.target.as_str())
        .collect();
    assert_eq!(
        owned,
        (0..5)
            .map(|i| format!("component:default/c{i}"))
            .collect::<Vec<_>>()
    );
    if store.backend_name() == "sqlite" {
        let indexes = store.sqlite_catalog_indexes_for_tests().await.unwrap();
        assert!(
            indexes.iter().any(|i| i == "relations_target"),
            "{indexes:?}"
        );
    }
}
both!(a_large_apply_keeps_relations_by_target);

/// A large apply's commit leaves the checkpoint to a task of its own; its connection must not
/// go back to the pool with checkpoints off (every later commit would grow the log).
async fn a_large_apply_hands_its_connection_back_checkpointing(store: &Store) {
    if store.backend_name() != "sqlite" {
        return;
    }
    let store = store.clone().with_large_apply(3);
    org_location(&store, "file:big").await;
    let text: String = std::iter::once(GROUP.to_owned())
        .chain((0..5).map(|i| component(&format!("c{i}"), "team-a")))
        .collect();
    assert_eq!(apply(&store, "file:big", &text, &[]).await.added, 6);
    let settings = store.sqlite_autocheckpoints_for_tests().await.unwrap();
    assert!(!settings.is_empty());
    assert!(settings.iter().all(|&pages| pages == 1000), "{settings:?}");
    assert_eq!(
        store
            .get_entity("component:default/c4")
            .await
            .unwrap()
            .unwrap()
            .name,
        "c4"
    );
}
both!(a_large_apply_hands_its_connection_back_checkpointing);
