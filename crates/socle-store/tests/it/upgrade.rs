//! In-place upgrade: a SQLite store as the previous release (schema 0013) left it — committed
//! as `tests/fixtures/store-0013.db` — is opened by this binary, migrated in place, and its
//! catalog, tokens and deployments are still readable.
//!
//! The fixture is made by [`make_fixture`] with that release's migrations and its SQL (never
//! this release's store API, whose columns may be newer): `SOCLE_BLESS=1 cargo test -p
//! socle-store --test it upgrade` rewrites it.

use std::path::Path;

use socle_store::{Role, Store, StoreConfig};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-0013.db");
/// The schema the fixture was made at.
const FIXTURE_SCHEMA: i64 = 13;
/// A token of the fixture (its SHA-256 is stored): it must still authenticate.
const TOKEN: &str = "socle_0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN_HASH: &str = "9ab3a7d6287d40344482e1e7ad2e8c57d766fe124fc5fe8256f63707506c649f";
const T0: i64 = 1_760_000_000_000;

const GROUP: &str = r#"{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"team-a","namespace":"default","annotations":{"backstage.io/managed-by-location":"file:/srv/catalog/org.yaml","backstage.io/managed-by-origin-location":"file:/srv/catalog"}},"spec":{"type":"team","children":[]}}"#;
const SHOP: &str = r#"{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"shop","namespace":"default","annotations":{"backstage.io/managed-by-location":"file:/srv/catalog/shop.yaml","backstage.io/managed-by-origin-location":"file:/srv/catalog"}},"spec":{"type":"service","lifecycle":"production","owner":"group:default/team-a"}}"#;

/// Writes the fixture: schema 0013 and its data, in 0013's SQL.
async fn make_fixture(path: &Path) {
    let _ = std::fs::remove_file(path);
    let pool = socle_store::create_sqlite_at(path, FIXTURE_SCHEMA)
        .await
        .unwrap();
    let statements: &[(&str, &[&str])] = &[
        (
            "INSERT INTO locations (key, spec, created_at, created_by, refreshed_at, status, errors, entity_count, revision, trust) \
             VALUES ($1, $2, $3, 'cli:ops', $3, 'ok', '[]', 2, NULL, 'organisation')",
            &[
                "file:/srv/catalog",
                r#"{"type":"file","target":"/srv/catalog"}"#,
            ],
        ),
        (
            "INSERT INTO entities (ref, kind, namespace, name, location_key, file_key, etag, body, updated_at) \
             VALUES ('group:default/team-a', 'group', 'default', 'team-a', 'file:/srv/catalog', 'file:/srv/catalog/org.yaml', 'e1', $1, $2)",
            &[GROUP],
        ),
        (
            "INSERT INTO entities (ref, kind, namespace, name, location_key, file_key, etag, body, updated_at) \
             VALUES ('component:default/shop', 'component', 'default', 'shop', 'file:/srv/catalog', 'file:/srv/catalog/shop.yaml', 'e2', $1, $2)",
            &[SHOP],
        ),
        (
            "INSERT INTO relations (source_ref, type, target_ref) VALUES ('component:default/shop', 'ownedBy', 'group:default/team-a')",
            &[],
        ),
        (
            "INSERT INTO tokens (id, name, subject, role, hash, created_at) VALUES ('0011223344556677', 'ci', 'serviceaccount:ci', 'member', $1, $2)",
            &[TOKEN_HASH],
        ),
        (
            "INSERT INTO deployments (id, seq, service, environment, version, images, gitops_commit, source_commit, changed, status, actor, kind, spec, created_at) \
             VALUES ('d000001', 1, 'shop', 'dev', '1.0.0', '[\"web=ghcr.io/acme/shop:1.0.0\"]', 'abc123', '', 1, 'success', 'serviceaccount:ci', 'deploy', '{}', $1)",
            &[],
        ),
        (
            "UPDATE meta SET value = 1 WHERE key IN ('catalog_generation', 'deployment_seq')",
            &[],
        ),
    ];
    for (sql, binds) in statements {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(*sql));
        for b in *binds {
            q = q.bind(*b);
        }
        // The time goes in the placeholder after the others, where the statement has one.
        if sql.contains(&format!("${}", binds.len() + 1)) {
            q = q.bind(T0);
        }
        q.execute(&pool).await.unwrap();
    }
    sqlx::query("VACUUM").execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_of_the_previous_release_is_upgraded_in_place() {
    if std::env::var_os("SOCLE_BLESS").is_some() {
        make_fixture(Path::new(FIXTURE)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("socle.db");
    std::fs::copy(FIXTURE, &db).unwrap();
    let before = socle_store::backup::inspect(&db).await.unwrap();
    assert_eq!(before.migration, FIXTURE_SCHEMA);

    let store = Store::open(&StoreConfig::new(dir.path(), None))
        .await
        .unwrap();
    let shop = store
        .get_entity("component:default/shop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shop.body, SHOP);
    let rels = store.relations_of("component:default/shop").await.unwrap();
    assert!(
        rels.iter()
            .any(|r| r.kind == "ownedBy" && r.target == "group:default/team-a"),
        "{rels:?}"
    );
    let loc = store
        .get_location("file:/srv/catalog")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loc.trust, socle_store::LocationTrust::Organisation);
    let who = store.authenticate(TOKEN, T0 + 1).await.unwrap().unwrap();
    assert_eq!(
        (who.subject.as_str(), who.role),
        ("serviceaccount:ci", Role::Member)
    );
    let deployments = store
        .list_deployments(Some("shop"), None, 10)
        .await
        .unwrap();
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].images, vec!["web=ghcr.io/acme/shop:1.0.0"]);
    assert_eq!(store.catalog_generation().await.unwrap(), 1);
    store.close().await;

    let after = socle_store::backup::inspect(&db).await.unwrap();
    assert_eq!(after.migration, socle_store::schema_version());
    assert_eq!((after.entities, after.tokens, after.deployments), (2, 1, 1));
}
