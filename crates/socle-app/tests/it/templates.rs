//! Golden paths: the engine that only loads templates knows every action the application's
//! engine runs, so a listing without a store shows what the server offers.

use socle_app::{App, AppConfig};
use socle_store::Store;
use socle_testkit::Backend;

async fn app(dir: &std::path::Path) -> std::sync::Arc<App> {
    let config = socle_testkit::store_config(Backend::Sqlite, dir, "socle_app").unwrap();
    let store = Store::open(&config).await.unwrap();
    App::new(
        store,
        AppConfig {
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loading_engine_knows_every_action_and_output_of_the_applications_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let app = app(tmp.path()).await;
    // Every action by id, with the outputs it declares: a template validated without a store
    // gets the same checks (a reference to an output an action lacks) as one the server runs.
    let running = socle_app::scaffold::engine(&app, &socle_app::Actor::Anonymous).table();
    let loading = socle_app::scaffold::loading_engine(&Default::default()).table();
    assert_eq!(loading, running);
    assert!(running.contains_key("publish:github:pull-request"));
    assert!(running.contains_key("notification:send"));
}

#[test]
fn every_builtin_golden_path_loads_without_an_application() {
    let engine = socle_app::scaffold::loading_engine(&Default::default());
    let (loaded, failed) = socle_app::scaffold::builtin_templates(&engine);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(loaded.len(), socle_scaffold::builtin::golden_paths().len());
    assert!(loaded.len() >= 3);
}
