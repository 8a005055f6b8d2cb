//! A deploy's resource state and its record are saved in one transaction (issue 17): a failure
//! between the two — here the record's INSERT refused by a trigger the test installs, as a crash
//! at that point would leave it — keeps neither, on both backends.

use std::collections::BTreeSet;
use std::str::FromStr;

use socle_store::{DeploymentRecord, DeploymentStatus, Store, StoreConfig};
use sqlx::Connection;

use super::{open, record};

fn deployment(version: &str) -> DeploymentRecord {
    DeploymentRecord {
        id: String::new(),
        seq: 0,
        service: "orders".into(),
        environment: "dev".into(),
        version: version.into(),
        images: vec![format!("web=ghcr.io/acme/orders:{version}")],
        gitops_commit: format!("commit-{version}"),
        source_commit: String::new(),
        changed: true,
        status: DeploymentStatus::Success,
        actor: "user:default/alice".into(),
        kind: "deploy".into(),
        spec: "{}".into(),
        created_at: 1_000,
    }
}

fn orders() -> BTreeSet<String> {
    ["orders".to_owned()].into()
}

/// Installs (or drops) a trigger that refuses every INSERT into `deployments`, through a
/// connection of the test's own.
async fn refuse_records(config: &StoreConfig, refuse: bool) {
    match &config.database_url {
        None => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(config.data_dir.join("socle.db"))
                .busy_timeout(std::time::Duration::from_secs(30));
            let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            let sql = if refuse {
                "CREATE TRIGGER refuse_records BEFORE INSERT ON deployments BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
            } else {
                "DROP TRIGGER refuse_records"
            };
            sqlx::query(sql).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Some(url) => {
            let schema = config.pg_schema.clone().unwrap();
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)
                .unwrap()
                .options([("search_path", schema.as_str())]);
            let mut c = sqlx::PgConnection::connect_with(&opts).await.unwrap();
            let sql = if refuse {
                "CREATE FUNCTION refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$; \
                 CREATE TRIGGER refuse_records BEFORE INSERT ON deployments FOR EACH ROW EXECUTE FUNCTION refuse_records()"
            } else {
                "DROP TRIGGER refuse_records ON deployments"
            };
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
    }
}

async fn password(store: &Store, uid: &str) -> Option<String> {
    let state = store.resource_state("dev").await.unwrap();
    state
        .get(uid)
        .map(|s| s["password"].as_str().unwrap().to_owned())
}

async fn a_deploy_is_saved_whole(store: &Store) {
    let (applied, rec) = store
        .save_deploy(
            "dev",
            &orders(),
            &[record("orders-db", &["orders"], "pw1")],
            deployment("1.0.0"),
        )
        .await
        .unwrap();
    assert_eq!(applied.saved, vec!["orders-db".to_owned()]);
    assert_eq!((rec.id.as_str(), rec.seq), ("d000001", 1));
    assert_eq!(password(store, "orders-db").await.as_deref(), Some("pw1"));
    let listed = store
        .list_deployments(Some("orders"), Some("dev"), 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![rec]);
    let row = &store.list_resources(Some("dev")).await.unwrap()[0];
    assert_eq!(row.updated_at, 1_000, "the state's time is the record's");
}

async fn a_failure_between_state_and_record_keeps_neither(store: &Store, config: &StoreConfig) {
    store
        .save_deploy(
            "dev",
            &orders(),
            &[record("orders-db", &["orders"], "pw1")],
            deployment("1.0.0"),
        )
        .await
        .unwrap();
    refuse_records(config, true).await;
    let failed = store
        .save_deploy(
            "dev",
            &orders(),
            &[
                record("orders-db", &["orders"], "pw2"),
                record("orders-cache", &["orders"], "pw3"),
            ],
            deployment("2.0.0"),
        )
        .await;
    let err = failed.expect_err("the record's insert is refused");
    assert!(err.to_string().contains("simulated crash"), "{err}");
    // The state is the first deploy's: not updated, nothing added.
    assert_eq!(password(store, "orders-db").await.as_deref(), Some("pw1"));
    assert_eq!(password(store, "orders-cache").await, None);
    let listed = store.list_deployments(None, None, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|d| d.version.as_str())
            .collect::<Vec<_>>(),
        ["1.0.0"]
    );
    // The numbering did not move either: the next record is the second.
    refuse_records(config, false).await;
    let (_, next) = store
        .save_deploy(
            "dev",
            &orders(),
            &[record("orders-db", &["orders"], "pw2")],
            deployment("2.0.0"),
        )
        .await
        .unwrap();
    assert_eq!(next.id, "d000002");
    assert_eq!(password(store, "orders-db").await.as_deref(), Some("pw2"));
}

macro_rules! on_both {
    ($name:ident, $($arg:ident),*) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = super::open("sqlite").await {
                    super::$name(&s.store $(, &s.$arg)*).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = super::open("postgres").await {
                    super::$name(&s.store $(, &s.$arg)*).await;
                }
            }
        }
    };
}

on_both!(a_deploy_is_saved_whole,);
on_both!(a_failure_between_state_and_record_keeps_neither, config);
