//! A full load of the catalog: the generation, every entity in ref order with its location's
//! trust, then every relation — page after page on SQLite, row by row where a page does not
//! split.

use socle_store::{CatalogSink, LoadedEntity, LocationTrust, Store};

use super::{GROUP, apply, component, open};

/// What a load gave, in the order it gave it.
#[derive(Default)]
struct Collected {
    entities: Vec<(String, bool, serde_json::Value)>,
    /// Entities given before `entities_done`, and whether it came more than once.
    done_after: Vec<usize>,
    relations: Vec<String>,
}

impl CatalogSink for Collected {
    fn entity(&mut self, e: LoadedEntity<'_>) {
        assert!(self.done_after.is_empty(), "an entity after entities_done");
        let body = serde_json::from_str(e.body).expect("the body is JSON");
        self.entities
            .push((e.entity_ref.to_owned(), e.organisation, body));
    }
    fn entities_done(&mut self) {
        self.done_after.push(self.entities.len());
    }
    fn relation(&mut self, source: &str, kind: &str, target: &str) {
        assert_eq!(self.done_after.len(), 1, "a relation before entities_done");
        self.relations.push(format!("{source} {kind} {target}"));
    }
}

async fn location(store: &Store, key: &str, trust: LocationTrust) {
    let spec = serde_json::json!({"type": "file", "target": key});
    store
        .add_location(key, &spec, "test", trust, 1)
        .await
        .unwrap();
}

async fn load(store: &Store) -> (i64, Collected) {
    let mut sink = Collected::default();
    let generation = store.load_catalog(&mut sink).await.unwrap();
    (generation, sink)
}

async fn a_load_gives_every_entity_in_ref_order_with_its_locations_trust(store: &Store) {
    location(store, "file:a", LocationTrust::Organisation).await;
    location(store, "file:b", LocationTrust::Team).await;
    let names = ["delta", "alpha", "charlie", "bravo", "echo"];
    let text: String = names.iter().map(|n| component(n, "team-a")).collect();
    apply(store, "file:a", &format!("{GROUP}{text}"), &[]).await;
    apply(store, "file:b", &component("foxtrot", "team-a"), &[]).await;
    // Two entities a page: the last page holds two, and one more read finds nothing.
    let (generation, got) = load(&store.clone().with_load_page(2)).await;
    assert_eq!(generation, store.catalog_generation().await.unwrap());
    let refs: Vec<(&str, bool)> = got
        .entities
        .iter()
        .map(|(r, org, _)| (r.as_str(), *org))
        .collect();
    assert_eq!(
        refs,
        [
            ("component:default/alpha", true),
            ("component:default/bravo", true),
            ("component:default/charlie", true),
            ("component:default/delta", true),
            ("component:default/echo", true),
            ("component:default/foxtrot", false),
            ("group:default/team-a", true),
        ]
    );
    assert_eq!(got.done_after, [7]);
    assert_eq!(got.entities[0].2["metadata"]["name"], "alpha");
    assert_eq!(got.entities[0].2["spec"]["owner"], "team-a");
    assert_eq!(got.relations.len(), 6, "{:?}", got.relations);
}
both!(a_load_gives_every_entity_in_ref_order_with_its_locations_trust);

async fn a_load_pages_the_same_as_it_reads_whole(store: &Store) {
    location(store, "file:a", LocationTrust::Organisation).await;
    let text: String = (0..7)
        .map(|i| component(&format!("c{i}"), "team-a"))
        .collect();
    apply(store, "file:a", &format!("{GROUP}{text}"), &[]).await;
    let (_, whole) = load(store).await;
    for rows in [1, 3, 7, 8] {
        let (_, paged) = load(&store.clone().with_load_page(rows)).await;
        assert_eq!(paged.entities, whole.entities, "{rows} rows a page");
        let (mut a, mut b) = (paged.relations, whole.relations.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b, "{rows} rows a page");
    }
    assert_eq!(whole.entities.len(), 8);
}
both!(a_load_pages_the_same_as_it_reads_whole);

async fn every_relation_loads_back_as_written(store: &Store) {
    location(store, "file:a", LocationTrust::Organisation).await;
    // A target with both separators in it: its page cannot be split and is read row by row.
    let yaml = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: one\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn: [\"component:we\\x1eird\\\"\\x1fname\\\\é\"]\n---\n";
    let out = apply(store, "file:a", yaml, &[]).await;
    assert_eq!(out.added, 1, "{:?}", out.errors);
    for rows in [1, 2, 100] {
        let (_, got) = load(&store.clone().with_load_page(rows)).await;
        let mut seen = got.relations;
        seen.sort();
        assert_eq!(
            seen,
            [
                "component:default/one dependsOn component:default/we\u{1e}ird\"\u{1f}name\\é",
                "component:default/one ownedBy group:default/team-a",
            ],
            "{rows} rows a page"
        );
    }
}
both!(every_relation_loads_back_as_written);
