//! Readiness (`/readyz`'s checks): the database answers and the read model is in step with the
//! store — or was within `STALE_AFTER`; a replica whose read model stays behind, or whose
//! database is gone, is not ready. Both backends.

use std::sync::Arc;

use socle_app::locations::NewLocation;
use socle_app::readiness::{CheckStatus, STALE_AFTER};
use socle_app::{Actor, App, AppConfig, FixedClock, Principal};
use socle_store::{Role, Store};
use socle_testkit::Backend;

const T0: i64 = 1_780_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_store_or_without_its_database_is_not_ready() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_ready") else {
            continue;
        };
        let store = Store::open(&config).await.unwrap();
        let settings = || AppConfig {
            refresh_interval: None,
            ..Default::default()
        };
        let clock = FixedClock::at(T0);
        let app = App::with_clock(store.clone(), settings(), clock.clone())
            .await
            .unwrap();
        let r = app.readiness().await;
        assert!(r.ready, "{r:?}");
        assert_eq!(r.database.status, CheckStatus::Ok);
        assert_eq!(r.read_model.store_generation, Some(r.read_model.generation));

        // Another replica (an App over the same store) changes the catalog.
        let other: Arc<App> = App::new(store.clone(), settings()).await.unwrap();
        let catalog = dir.path().join("catalog-info.yaml");
        std::fs::write(
            &catalog,
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: shop}\nspec: {type: service, lifecycle: production, owner: team-a}\n",
        )
        .unwrap();
        let admin = Actor::Principal(Principal {
            token_id: "t".into(),
            subject: "user:default/root".into(),
            role: Role::Admin,
        });
        other
            .create_location(
                &admin,
                NewLocation {
                    kind: socle_ingest::LocationKind::File,
                    target: catalog.to_string_lossy().into_owned(),
                    branch: None,
                    path: None,
                },
            )
            .await
            .unwrap();
        // Behind, but only just: still ready (the next poll catches up).
        let r = app.readiness().await;
        assert!(r.ready, "{r:?}");
        assert!(
            r.read_model.store_generation > Some(r.read_model.generation),
            "{r:?}"
        );
        // Behind for longer than STALE_AFTER: not ready, and says why.
        clock.advance(STALE_AFTER.as_millis() as i64 + 1);
        let r = app.readiness().await;
        assert!(!r.ready, "{r:?}");
        assert_eq!(r.read_model.status, CheckStatus::Stale);
        assert_eq!(r.database.status, CheckStatus::Ok);
        assert!(r.read_model.synced_ms_ago > STALE_AFTER.as_millis() as i64);
        // The poll reloads it: ready again, with the entity.
        assert!(app.reload_if_changed().await.unwrap());
        let r = app.readiness().await;
        assert!(r.ready, "{r:?}");
        assert_eq!(r.read_model.entities, 1);

        // The database gone: not ready.
        store.close().await;
        let r = app.readiness().await;
        assert!(!r.ready, "{r:?}");
        assert_eq!(r.database.status, CheckStatus::Unavailable);
        assert_eq!(r.read_model.store_generation, None);
    }
}
