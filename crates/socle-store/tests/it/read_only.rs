//! A store opened read-only (previews) reads what is there and writes nothing.

use socle_store::{Store, StoreConfig};

/// The same store twice: read-write, then read-only (None: PostgreSQL is not configured).
async fn pair(backend: &str, dir: &std::path::Path) -> Option<(Store, Store)> {
    let mut config = StoreConfig::new(dir, None);
    if backend == "postgres" {
        config.database_url = Some(std::env::var("SOCLE_TEST_DATABASE_URL").ok()?);
        config.pg_schema = Some(format!("socle_test_ro_{}", super::rand_suffix()));
    }
    config.secret_key = Some(super::test_key());
    let writer = Store::open(&config).await.unwrap();
    config.read_only = true;
    let reader = Store::open(&config).await.unwrap();
    Some((writer, reader))
}

async fn reads_but_never_writes(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let Some((writer, reader)) = pair(backend, dir.path()).await else {
        return;
    };
    writer
        .create_token("ci", "serviceaccount:ci", socle_store::Role::Member, 1)
        .await
        .unwrap();
    assert_eq!(reader.list_tokens().await.unwrap().len(), 1);
    let refused = reader
        .create_token("x", "serviceaccount:x", socle_store::Role::Member, 2)
        .await;
    assert!(refused.is_err(), "a read-only store wrote");
    assert_eq!(writer.list_tokens().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_store_reads_but_never_writes() {
    reads_but_never_writes("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_postgres_store_reads_but_never_writes() {
    reads_but_never_writes("postgres").await;
}
