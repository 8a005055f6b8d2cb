//! `socle backup` / `socle restore` underneath: a SQLite store copied while open (`VACUUM
//! INTO`), restored into an empty data directory with its entities, tokens and deployments; a
//! restore refuses a target in use, one with data (unless forced) and a file that is no Socle
//! store; PostgreSQL says to use pg_dump.

use std::path::Path;

use socle_store::backup::{self, PG_DUMP_HINT};
use socle_store::{DeploymentRecord, DeploymentStatus, Role, Store, StoreConfig, StoreError};

use super::{GROUP, apply, component};

async fn sqlite(dir: &Path) -> Store {
    Store::open(&StoreConfig::new(dir, None)).await.unwrap()
}

/// A store with entities, a token and a deployment; returns the token's secret.
async fn fill(store: &Store) -> String {
    store
        .add_location(
            "file:/repo",
            &serde_json::json!({"type": "file", "target": "/repo"}),
            "cli:ops",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    let text = format!("{GROUP}{}", component("shop", "team-a"));
    let out = apply(store, "file:/repo", &text, &[]).await;
    assert_eq!(out.added, 2);
    let (_, secret) = store
        .create_token("ci", "serviceaccount:ci", Role::Admin, 5)
        .await
        .unwrap();
    store
        .record_deployment(DeploymentRecord {
            id: String::new(),
            seq: 0,
            service: "shop".into(),
            environment: "dev".into(),
            version: "1.2.3".into(),
            images: vec!["web=shop:1.2.3".into()],
            gitops_commit: "c0ffee".into(),
            source_commit: String::new(),
            changed: true,
            status: DeploymentStatus::Success,
            actor: "serviceaccount:ci".into(),
            kind: "deploy".into(),
            spec: "{}".into(),
            created_at: 7,
        })
        .await
        .unwrap();
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_open_restores_entities_tokens_and_deployments() {
    let src = tempfile::tempdir().unwrap();
    let store = sqlite(src.path()).await;
    let secret = fill(&store).await;
    let file = src.path().join("backup.db");
    let info = store.backup_to(&file).await.unwrap();
    assert_eq!((info.entities, info.tokens, info.deployments), (2, 1, 1));
    assert_eq!(info.migration, socle_store::schema_version());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup holds secrets: owner only");
    }
    // The source carries on.
    assert!(
        store
            .get_entity("component:default/shop")
            .await
            .unwrap()
            .is_some()
    );

    let dst = tempfile::tempdir().unwrap();
    let restored = backup::restore(&file, &dst.path().join("socle.db"), false)
        .await
        .unwrap();
    assert_eq!(
        (restored.entities, restored.tokens, restored.deployments),
        (2, 1, 1)
    );
    let copy = sqlite(dst.path()).await;
    let shop = copy
        .get_entity("component:default/shop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shop,
        store
            .get_entity("component:default/shop")
            .await
            .unwrap()
            .unwrap()
    );
    let who = copy.authenticate(&secret, 10).await.unwrap().unwrap();
    assert_eq!(who.subject, "serviceaccount:ci");
    let d = copy.list_deployments(Some("shop"), None, 5).await.unwrap();
    assert_eq!((d.len(), d[0].version.as_str()), (1, "1.2.3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_never_overwrites_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path()).await;
    let file = dir.path().join("existing.db");
    std::fs::write(&file, "keep me").unwrap();
    let e = store.backup_to(&file).await.unwrap_err();
    assert!(matches!(e, StoreError::User(_)), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_refuses_a_store_in_use_and_one_with_data_unless_forced() {
    let src = tempfile::tempdir().unwrap();
    let store = sqlite(src.path()).await;
    fill(&store).await;
    let file = src.path().join("backup.db");
    store.backup_to(&file).await.unwrap();

    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("socle.db");
    let running = sqlite(dst.path()).await;
    running
        .create_token("other", "serviceaccount:other", Role::Viewer, 1)
        .await
        .unwrap();
    let e = backup::restore(&file, &target, true).await.unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
    running.close().await;

    let e = backup::restore(&file, &target, false).await.unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    let kept = sqlite(dst.path()).await;
    assert_eq!(kept.list_tokens().await.unwrap()[0].name, "other");
    kept.close().await;

    let info = backup::restore(&file, &target, true).await.unwrap();
    assert_eq!(info.entities, 2);
    let replaced = sqlite(dst.path()).await;
    assert_eq!(replaced.list_tokens().await.unwrap()[0].name, "ci");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_socle_store_is_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database at all, just text").unwrap();
    let target = dir.path().join("data/socle.db");
    let e = backup::restore(&junk, &target, false).await.unwrap_err();
    assert!(e.to_string().contains("not a Socle store"), "{e}");
    assert!(!target.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_store_is_backed_up_with_pg_dump() {
    let Some(t) = super::open("postgres").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = t
        .store
        .backup_to(&dir.path().join("b.db"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), PG_DUMP_HINT);
}
