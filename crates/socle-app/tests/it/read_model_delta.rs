//! The read model moves by deltas: after each catalog change made through one replica, another
//! replica applies the store's change log and ends up with exactly what a full load of the same
//! database builds (entities, relations, owners, dangling relations and search results), while
//! the views the change did not touch stay shared with its previous generation. Both backends.

use std::sync::Arc;

use crate::support::replica;
use socle_app::App;
use socle_app::snapshot::Snapshot;
use socle_search::SearchQuery;
use socle_store::{LocationTrust, Store};
use socle_testkit::Backend;

const ORG: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: [team-c]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-c}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
";

const ORG_WITHOUT_B: &str = "
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: [team-c]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-c}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a, team-c]}
";

const SERVICES: &str = "
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: shop}
spec: {owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-1, tags: [java]}
spec: {type: service, lifecycle: production, owner: team-a, system: shop, dependsOn: [component:svc-2, resource:orders-db], providesApis: [orders-api]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-2}
spec: {type: website, lifecycle: experimental, owner: team-b}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: orders-api}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: '{}'}
";

const SERVICES_CHANGED: &str = "
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: shop}
spec: {owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-1, tags: [kotlin]}
spec: {type: service, lifecycle: production, owner: team-b, dependsOn: [component:svc-3, resource:orders-db]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-3}
spec: {type: service, lifecycle: production, owner: team-c, system: shop, dependsOn: [component:svc-1]}
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: orders-db}
spec: {type: database, owner: team-a}
";

const OTHER: &str = "
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: far-away}
spec: {type: service, lifecycle: production, owner: team-b}
";

/// Everything a reader can see of a snapshot, by name (ids differ between a delta and a load).
fn dump(s: &Snapshot) -> Vec<String> {
    let mut out: Vec<String> = s
        .entities
        .iter()
        .map(|v| {
            format!(
                "{} owner={:?} org={} type={:?} lifecycle={:?} tags={:?}",
                s.entity_json(v),
                v.owner.map(|o| s.name(o)),
                v.shapes_org,
                v.spec_type,
                v.lifecycle,
                v.tags
            )
        })
        .collect();
    out.extend(
        s.dangling
            .iter()
            .map(|(a, t, d)| format!("dangling {} {} {}", s.name(*a), t.as_str(), s.name(*d))),
    );
    out
}

fn searches(app: &App) -> Vec<serde_json::Value> {
    ["", "svc", "team-b", "kotlin", "shop"]
        .into_iter()
        .map(|text| {
            let q = SearchQuery {
                text: text.into(),
                by_ref: true,
                limit: 100,
                ..Default::default()
            };
            serde_json::to_value(app.search().search(&q).unwrap()).unwrap()
        })
        .collect()
}

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn spec(&self, name: &str) -> socle_ingest::LocationSpec {
        socle_ingest::LocationSpec::file(self.dir.join(name).to_string_lossy().into_owned())
    }
    async fn write(&self, app: &App, name: &str, yaml: &str) {
        std::fs::write(self.dir.join(name), yaml).unwrap();
        app.refresh(&self.spec(name)).await.unwrap();
    }
    async fn register(&self, app: &App, name: &str, yaml: &str, trust: LocationTrust) {
        std::fs::write(self.dir.join(name), yaml).unwrap();
        let spec = self.spec(name);
        app.store
            .add_location(
                &spec.key(),
                &serde_json::to_value(&spec).unwrap(),
                "test",
                trust,
                1,
            )
            .await
            .unwrap();
        app.refresh(&spec).await.unwrap();
    }
}

/// `b` moves to the store's generation; it must equal a full load, and it must have got there
/// by a delta (`far-away`, never touched, keeps its view).
async fn check(step: &str, store: &Store, b: &App, untouched: &str) {
    let before = b.snapshot();
    // What the delta says scorecards must rescore is what differs between the two snapshots.
    let around = before.clone();
    let socle_store::CatalogChanges::Delta(delta) = store
        .catalog_delta(before.generation, move |t| around.neighbours(t))
        .await
        .unwrap()
    else {
        panic!("{step}: the change log gave no delta");
    };
    let applied = before.apply(delta);
    let mut changed = applied.changed.clone();
    changed.sort();
    let mut diff = socle_app::scorecards::evaluate::changed_entities(&before, &applied.snapshot);
    diff.sort();
    assert_eq!(changed, diff, "{step}");
    assert!(
        b.reload_if_changed().await.unwrap(),
        "{step}: nothing to apply"
    );
    let after = b.snapshot();
    let fresh = replica(store).await;
    assert_eq!(after.generation, fresh.snapshot().generation, "{step}");
    assert_eq!(dump(&after), dump(&fresh.snapshot()), "{step}");
    assert_eq!(searches(b), searches(&fresh), "{step}");
    let shared = |s: &Snapshot| {
        s.entities
            .iter()
            .find(|v| &*v.entity_ref == untouched)
            .cloned()
    };
    let refs = |s: &Snapshot| {
        s.entities
            .iter()
            .map(|v| v.entity_ref.to_string())
            .collect::<Vec<_>>()
    };
    let (Some(was), Some(is)) = (shared(&before), shared(&after)) else {
        panic!(
            "{step}: {untouched} is missing: {:?} then {:?}",
            refs(&before),
            refs(&after)
        );
    };
    assert!(
        Arc::ptr_eq(&was, &is),
        "{step}: an untouched view was rebuilt: a full reload, not a delta"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_moved_by_deltas_equals_a_full_load() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_delta") else {
            continue;
        };
        let store = Store::open(&config).await.unwrap();
        let a = replica(&store).await;
        let files = Files {
            dir: dir.path().to_path_buf(),
        };
        files
            .register(&a, "org.yaml", ORG, LocationTrust::Organisation)
            .await;
        files
            .register(&a, "other.yaml", OTHER, LocationTrust::Team)
            .await;
        let b = replica(&store).await;
        let far = "component:default/far-away";

        files
            .register(&a, "services.yaml", SERVICES, LocationTrust::Team)
            .await;
        check("a location registered", &store, &b, far).await;
        files.write(&a, "services.yaml", SERVICES_CHANGED).await;
        check(
            "owners moved, one entity gone, a missing target appeared",
            &store,
            &b,
            far,
        )
        .await;
        files.write(&a, "org.yaml", ORG_WITHOUT_B).await;
        check(
            "a group others point at removed",
            &store,
            &b,
            "system:default/shop",
        )
        .await;
        files.write(&a, "org.yaml", ORG).await;
        check("the group back", &store, &b, far).await;
        a.store
            .delete_location(&files.spec("services.yaml").key())
            .await
            .unwrap();
        check("a location deleted", &store, &b, far).await;
        let owner = b
            .snapshot()
            .get(far)
            .and_then(|v| v.owner)
            .map(|o| b.snapshot().name(o).to_owned());
        assert_eq!(
            owner.as_deref(),
            Some("group:default/team-b"),
            "{backend:?}"
        );
    }
}
