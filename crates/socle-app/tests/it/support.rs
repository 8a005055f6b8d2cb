//! What several test files share: registering a file location, and a signed-in person.

use socle_app::{Actor, App, Principal};
use socle_store::{LocationTrust, Role};

/// The time the tests' locations are registered at.
const REGISTERED_AT: i64 = 1_780_000_000_000;

/// Writes `yaml` to `dir/name`, registers it as a file location of `trust` and reads it.
pub async fn register(
    app: &App,
    dir: &std::path::Path,
    name: &str,
    yaml: &str,
    trust: LocationTrust,
) {
    let file = dir.join(name);
    std::fs::write(&file, yaml).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    app.store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "user:default/admin",
            trust,
            REGISTERED_AT,
        )
        .await
        .unwrap();
    app.refresh(&spec).await.unwrap();
}

/// `user:default/<name>` with `role`.
pub fn user(name: &str, role: Role) -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: format!("user:default/{name}"),
        role,
    })
}

/// An application over `store` that never refreshes locations by itself (a replica of the
/// tests: it moves when told to reload).
pub async fn replica(store: &socle_store::Store) -> std::sync::Arc<App> {
    App::new(
        store.clone(),
        socle_app::AppConfig {
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}
