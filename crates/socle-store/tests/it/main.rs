//! Store tests. Every test runs on SQLite, and on PostgreSQL when `SOCLE_TEST_DATABASE_URL`
//! is set (CI sets it); each PostgreSQL run gets a schema of its own.

use std::collections::BTreeSet;

use socle_catalog::{DocContext, Entity, EntityError, Limits, NoReader};
use socle_store::{ApplyInput, EntityFilter, Role, Store, StoreConfig};

struct TestStore {
    store: Store,
    /// Where it is (a test may open its own connection to it).
    config: StoreConfig,
    _dir: tempfile::TempDir,
}

fn test_key() -> socle_store::SecretKey {
    socle_store::SecretKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

async fn open(backend: &str) -> Option<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path(), None);
    if backend == "postgres" {
        let url = match std::env::var("SOCLE_TEST_DATABASE_URL") {
            Ok(u) => u,
            Err(_) => {
                assert!(
                    std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                    "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
                );
                eprintln!("SOCLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
                return None;
            }
        };
        config.database_url = Some(url);
        let n: u64 = rand_suffix();
        config.pg_schema = Some(format!("socle_test_{n}"));
    }
    config.secret_key = Some(test_key());
    let store = Store::open(&config).await.unwrap();
    assert_eq!(store.backend_name(), backend);
    Some(TestStore {
        store,
        config,
        _dir: dir,
    })
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ (u64::from(std::process::id()) << 32) ^ (&t as *const u64 as u64)
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = super::open("sqlite").await {
                    super::$name(&s.store).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = super::open("postgres").await {
                    super::$name(&s.store).await;
                }
            }
        }
    };
}

mod adoption;
mod backup;
mod catalog_load;
mod catalog_log;
mod data_grants;
mod data_quality;
mod data_runs;
mod deploy_save;
mod dora_incidents;
mod dora_log;
mod findings;
mod live_runs;
mod notifications;
mod read_only;
mod resource_owner;
mod score_counts;
mod slo;
mod sso;
mod surveys;
mod upgrade;

fn parse(file: &str, text: &str) -> (Vec<Entity>, Vec<EntityError>) {
    let limits = Limits::default();
    let location = format!("file:{file}");
    let ctx = DocContext {
        file: file.into(),
        location: location.as_str().into(),
        origin: "file:root",
        reader: &NoReader,
        limits: &limits,
    };
    socle_catalog::process_text(text, &ctx)
}

fn component(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n---\n"
    )
}

const GROUP: &str = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\n";

async fn apply(store: &Store, key: &str, text: &str, failed: &[&str]) -> socle_store::ApplyOutcome {
    let (entities, errors) = parse("/repo/catalog-info.yaml", text);
    let failed: BTreeSet<String> = failed.iter().map(|s| s.to_string()).collect();
    store
        .apply_location(
            key,
            ApplyInput {
                entities: &entities,
                errors,
                files_failed: &failed,
                unreadable: false,
                revision: None,
            },
            1000,
        )
        .await
        .unwrap()
}

async fn refs(store: &Store) -> Vec<String> {
    store
        .list_entities(&EntityFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity_ref)
        .collect()
}

async fn reingest_replaces_exactly_what_the_location_owns(store: &Store) {
    store
        .add_location(
            "file:a",
            &serde_json::json!({"type":"file","target":"a"}),
            "test",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    store
        .add_location(
            "file:b",
            &serde_json::json!({"type":"file","target":"b"}),
            "test",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    let g0 = store.catalog_generation().await.unwrap();
    let out = apply(
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
    assert_eq!((out.added, out.updated, out.removed), (3, 0, 0));
    assert_eq!(out.status.as_str(), "ok");
    apply(store, "file:b", &component("three", "team-b"), &[]).await;
    assert!(store.catalog_generation().await.unwrap() > g0);

    // `two` removed from the source: it disappears; b's entity is untouched.
    let out = apply(
        store,
        "file:a",
        &format!("{GROUP}{}", component("one", "team-a")),
        &[],
    )
    .await;
    assert_eq!(
        (out.added, out.updated, out.unchanged, out.removed),
        (0, 0, 2, 1)
    );
    assert_eq!(
        refs(store).await,
        vec![
            "component:default/one",
            "component:default/three",
            "group:default/team-a"
        ]
    );

    // Relations and inverses; the owner of `three` does not exist: dangling.
    let rels = store.relations_of("group:default/team-a").await.unwrap();
    assert_eq!(rels.len(), 1);
    assert_eq!(
        (rels[0].kind.as_str(), rels[0].target.as_str()),
        ("ownerOf", "component:default/one")
    );
    let dangling = store.dangling_relations().await.unwrap();
    assert_eq!(dangling.len(), 1);
    assert_eq!(dangling[0].target, "group:default/team-b");

    // Nothing changes: generation stays.
    let g1 = store.catalog_generation().await.unwrap();
    let out = apply(
        store,
        "file:a",
        &format!("{GROUP}{}", component("one", "team-a")),
        &[],
    )
    .await;
    assert_eq!(out.unchanged, 2);
    assert_eq!(store.catalog_generation().await.unwrap(), g1);
    let loc = store.get_location("file:a").await.unwrap().unwrap();
    assert_eq!(loc.entity_count, 2);
    assert_eq!(loc.status.as_str(), "ok");

    // Deleting a location removes what it owns.
    assert_eq!(store.delete_location("file:b").await.unwrap(), 1);
    assert_eq!(
        refs(store).await,
        vec!["component:default/one", "group:default/team-a"]
    );
}
both!(reingest_replaces_exactly_what_the_location_owns);

async fn conflicts_are_reported_on_both_and_never_overwrite(store: &Store) {
    for k in ["file:a", "file:b"] {
        store
            .add_location(
                k,
                &serde_json::json!({"type":"file","target":k}),
                "test",
                socle_store::LocationTrust::Organisation,
                1,
            )
            .await
            .unwrap();
    }
    apply(store, "file:a", &component("svc", "team-a"), &[]).await;
    let out = apply(store, "file:b", &component("svc", "team-z"), &[]).await;
    assert_eq!(out.added, 0);
    assert_eq!(out.status.as_str(), "errors");
    assert_eq!(out.errors[0].rule, "location.conflict");
    assert!(
        out.errors[0]
            .message
            .contains("already provided by location file:a"),
        "{}",
        out.errors[0].message
    );
    let e = store
        .get_entity("component:default/svc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.location_key, "file:a");
    assert!(e.body.contains("team-a"));
    for k in ["file:a", "file:b"] {
        let loc = store.get_location(k).await.unwrap().unwrap();
        assert_eq!(loc.conflicts.len(), 1, "{k}");
        assert_eq!(
            (
                loc.conflicts[0].owner.as_str(),
                loc.conflicts[0].claimant.as_str()
            ),
            ("file:a", "file:b")
        );
    }
    // Once b stops claiming it, the conflict is gone.
    apply(store, "file:b", "", &[]).await;
    assert!(
        store
            .get_location("file:a")
            .await
            .unwrap()
            .unwrap()
            .conflicts
            .is_empty()
    );
}
both!(conflicts_are_reported_on_both_and_never_overwrite);

async fn failures_keep_the_previous_good_state(store: &Store) {
    store
        .add_location(
            "file:a",
            &serde_json::json!({"type":"file","target":"a"}),
            "test",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    apply(
        store,
        "file:a",
        &format!("{GROUP}{}", component("one", "team-a")),
        &[],
    )
    .await;
    // The file fails to parse: its entities are kept.
    let out = apply(
        store,
        "file:a",
        "kind: [",
        &["file:/repo/catalog-info.yaml"],
    )
    .await;
    assert_eq!(out.removed, 0);
    assert_eq!(out.kept, 2);
    assert_eq!(out.errors[0].rule, "yaml.syntax");
    assert_eq!(
        refs(store).await,
        vec!["component:default/one", "group:default/team-a"]
    );
    // One entity becomes invalid: the previous version of it stays, the other is updated.
    let bad = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: one\nspec:\n  type: service\n  owner: team-a\n";
    let group2 = GROUP.replace("type: team", "type: squad");
    let out = apply(store, "file:a", &format!("{group2}{bad}"), &[]).await;
    assert_eq!((out.updated, out.removed, out.kept), (1, 0, 1));
    assert_eq!(out.errors[0].rule, "spec.lifecycle.required");
    let one = store
        .get_entity("component:default/one")
        .await
        .unwrap()
        .unwrap();
    assert!(one.body.contains("\"lifecycle\":\"production\""));
    // The whole location unreadable: nothing changes.
    let (entities, _) = parse("/repo/x.yaml", "");
    let out = store
        .apply_location(
            "file:a",
            ApplyInput {
                entities: &entities,
                errors: vec![EntityError::file("a", "location.unreadable", "gone")],
                files_failed: &BTreeSet::new(),
                unreadable: true,
                revision: None,
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(out.status.as_str(), "failed");
    assert_eq!(refs(store).await.len(), 2);
    assert_eq!(
        store.get_location("file:a").await.unwrap().unwrap().status,
        socle_store::RefreshStatus::Failed
    );
}
both!(failures_keep_the_previous_good_state);

async fn tokens_are_hashed_and_revocable(store: &Store) {
    assert_eq!(store.token_count().await.unwrap(), 0);
    let (rec, secret) = store
        .create_token("ci", "serviceaccount:ci", Role::Member, 10)
        .await
        .unwrap();
    assert!(secret.starts_with("socle_"));
    let p = store.authenticate(&secret, 11).await.unwrap().unwrap();
    assert_eq!(
        (p.subject.as_str(), p.role),
        ("serviceaccount:ci", Role::Member)
    );
    assert!(
        store
            .authenticate("socle_wrong", 11)
            .await
            .unwrap()
            .is_none()
    );
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(11));
    assert!(!serde_json::to_string(&listed).unwrap().contains(&secret));
    store.revoke_token(&rec.id, 12).await.unwrap();
    assert!(store.authenticate(&secret, 13).await.unwrap().is_none());
    assert!(store.revoke_token(&rec.id, 14).await.is_err());
}
both!(tokens_are_hashed_and_revocable);

async fn audit_log_and_leases(store: &Store) {
    store
        .audit("user:default/ann", "location.create", "file:a", "ok", "", 1)
        .await
        .unwrap();
    store
        .audit(
            "user:default/bob",
            "location.delete",
            "file:a",
            "denied",
            "role viewer",
            2,
        )
        .await
        .unwrap();
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].actor.as_str(), log[0].outcome.as_str(), log[0].seq),
        ("user:default/bob", "denied", 2)
    );
    assert!(store.try_lease("refresh", "r1", 100, 50).await.unwrap());
    assert!(!store.try_lease("refresh", "r2", 120, 50).await.unwrap());
    assert!(store.try_lease("refresh", "r1", 130, 50).await.unwrap());
    assert!(store.try_lease("refresh", "r2", 200, 50).await.unwrap());
}
both!(audit_log_and_leases);

async fn pagination_is_keyset_ordered(store: &Store) {
    store
        .add_location(
            "file:a",
            &serde_json::json!({}),
            "t",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    let text: String = (0..25)
        .map(|i| component(&format!("c{i:02}"), "team-a"))
        .collect();
    apply(store, "file:a", &text, &[]).await;
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .list_entities(&EntityFilter {
                kind: Some("Component".into()),
                after: after.clone(),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| e.entity_ref.clone());
        seen.extend(page.into_iter().map(|e| e.entity_ref));
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "component:default/c00");
    assert_eq!(seen[24], "component:default/c24");
    assert_eq!(store.count_entities().await.unwrap(), 25);
}
both!(pagination_is_keyset_ordered);

pub(crate) fn record(uid: &str, used_by: &[&str], password: &str) -> socle_store::ResourceRecord {
    socle_store::ResourceRecord {
        uid: uid.into(),
        kind: "postgres".into(),
        definition: "postgres-kubernetes".into(),
        used_by: used_by.iter().map(|s| s.to_string()).collect(),
        state: serde_json::json!({"password": password})
            .as_object()
            .unwrap()
            .clone(),
        outputs: serde_json::json!({"host": "db", "password": password})
            .as_object()
            .unwrap()
            .clone(),
        secrets: ["password".to_string()].into(),
        owner: None,
        params_hash: None,
    }
}

async fn resources_keep_state_and_are_deprovisioned(store: &Store) {
    let shop: std::collections::BTreeSet<String> = ["shop".to_string()].into();
    let out = store
        .apply_resources(
            "dev",
            &shop,
            &[
                record("shop-db", &["shop"], "pw-1"),
                record("shared", &["shop"], "pw-2"),
            ],
            1,
        )
        .await
        .unwrap();
    assert_eq!(out.saved, ["shop-db", "shared"]);
    let billing: std::collections::BTreeSet<String> = ["billing".to_string()].into();
    store
        .apply_resources(
            "dev",
            &billing,
            &[record("shared", &["billing"], "pw-2")],
            2,
        )
        .await
        .unwrap();
    let state = store.resource_state("dev").await.unwrap();
    assert_eq!(state["shop-db"]["password"], "pw-1");
    assert!(store.resource_state("prod").await.unwrap().is_empty());
    let rows = store.list_resources(Some("dev")).await.unwrap();
    assert_eq!(
        rows.iter()
            .find(|r| r.uid == "shared")
            .unwrap()
            .used_by
            .iter()
            .collect::<Vec<_>>(),
        ["billing", "shop"]
    );
    // shop stops using both: its own db goes, the shared one stays for billing.
    let out = store.apply_resources("dev", &shop, &[], 3).await.unwrap();
    assert_eq!(out.removed, ["shop-db"]);
    let rows = store.list_resources(None).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].used_by.iter().collect::<Vec<_>>(), ["billing"]);
    let outs = store.resource_outputs("dev", "shared").await.unwrap();
    assert_eq!(outs.outputs["password"], "pw-2");
    assert_eq!(outs.secrets.iter().collect::<Vec<_>>(), ["password"]);
    assert!(matches!(
        store.resource_outputs("dev", "nope").await,
        Err(socle_store::StoreError::NotFound(_))
    ));
}
both!(resources_keep_state_and_are_deprovisioned);

#[tokio::test]
async fn resource_secrets_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path(), None);
    config.secret_key = Some(test_key());
    let store = Store::open(&config).await.unwrap();
    let users: std::collections::BTreeSet<String> = ["shop".to_string()].into();
    store
        .apply_resources(
            "dev",
            &users,
            &[record("shop-db", &["shop"], "plaintext-password-1234")],
            1,
        )
        .await
        .unwrap();
    store.close().await;
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(23).any(|w| w == b"plaintext-password-1234"),
            "password found in plaintext on disk"
        );
    }
    // Without the key, or with another key, nothing is readable.
    config.secret_key = None;
    let store = Store::open(&config).await.unwrap();
    assert!(
        store
            .resource_state("dev")
            .await
            .unwrap_err()
            .to_string()
            .contains("no secret key")
    );
    config.secret_key = Some(socle_store::SecretKey::generate());
    let store = Store::open(&config).await.unwrap();
    assert!(
        store
            .resource_state("dev")
            .await
            .unwrap_err()
            .to_string()
            .contains("not the one they were sealed with")
    );
}

async fn waivers_expire_and_results_are_kept(store: &Store) {
    let base = socle_store::Waiver {
        id: String::new(),
        rule: "image-tag".into(),
        entity: "component:default/api".into(),
        environment: String::new(),
        reason: "preview".into(),
        owner: "group:default/a".into(),
        expires_at: 100,
        created_by: "t".into(),
        created_at: 10,
        revoked_at: None,
    };
    let all_envs = store.create_waiver(base.clone()).await.unwrap();
    let dev_only = store
        .create_waiver(socle_store::Waiver {
            rule: "privileged".into(),
            environment: "dev".into(),
            expires_at: 50,
            ..base.clone()
        })
        .await
        .unwrap();
    let rules = |ws: Vec<socle_store::Waiver>| {
        ws.into_iter()
            .map(|w| w.rule)
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        rules(
            store
                .active_waivers("component:default/api", "dev", 20)
                .await
                .unwrap()
        ),
        ["image-tag", "privileged"].map(String::from).into()
    );
    assert_eq!(
        rules(
            store
                .active_waivers("component:default/api", "prod", 20)
                .await
                .unwrap()
        ),
        ["image-tag"].map(String::from).into()
    );
    assert_eq!(
        rules(
            store
                .active_waivers("component:default/api", "dev", 60)
                .await
                .unwrap()
        ),
        ["image-tag"].map(String::from).into()
    );
    assert!(
        store
            .active_waivers("component:default/api", "dev", 100)
            .await
            .unwrap()
            .is_empty()
    );
    store.revoke_waiver(&all_envs.id, 30).await.unwrap();
    assert_eq!(
        rules(
            store
                .active_waivers("component:default/api", "dev", 31)
                .await
                .unwrap()
        ),
        ["privileged"].map(String::from).into()
    );
    assert_eq!(store.list_waivers().await.unwrap().len(), 2);
    let _ = dev_only;
    store
        .record_policy_result(
            "component:default/api",
            "dev",
            1,
            "blocked",
            &serde_json::json!({"violations": [{"rule": "x"}]}),
        )
        .await
        .unwrap();
    store
        .record_policy_result(
            "component:default/api",
            "prod",
            2,
            "pass",
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    let r = store
        .policy_results("component:default/api", None, 10)
        .await
        .unwrap();
    assert_eq!(
        r.iter().map(|x| x.outcome.as_str()).collect::<Vec<_>>(),
        ["pass", "blocked"]
    );
    assert_eq!(r[1].findings["violations"][0]["rule"], "x");
    assert_eq!(
        store
            .policy_results("component:default/api", Some("dev"), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
both!(waivers_expire_and_results_are_kept);

both!(dora_events_are_idempotent);
async fn dora_events_are_idempotent(store: &Store) {
    let text = r#"
{"type":"deployment","id":"d1","service":"payments","environment":"production","status":"success","finished_at":"2026-01-05T10:00:00Z","changes":["c1","c2"]}
{"type":"change","id":"c1","service":"payments","committed_at":"2026-01-04T08:00:00Z"}
{"type":"change","id":"c2","service":"payments","committed_at":"2026-01-04T09:00:00+01:00","parent":"c1"}
{"type":"incident","id":"i1","service":"payments","started_at":"2026-01-05T11:00:00Z","deployment":"d1"}
"#;
    let socle_dora::Parsed { events, errors, .. } = socle_dora::parse_jsonl(text, "import");
    assert!(errors.is_empty());
    let g0 = store.dora_generation().await.unwrap();
    let w = store.dora_upsert(events.clone()).await.unwrap();
    assert_eq!((w.received, w.changed), (4, 4));
    let g1 = store.dora_generation().await.unwrap();
    assert_eq!(g1, g0 + 1);
    // Re-delivered: nothing changes, not even the generation.
    let w = store.dora_upsert(events.clone()).await.unwrap();
    assert_eq!((w.received, w.changed), (4, 0));
    assert_eq!(store.dora_generation().await.unwrap(), g1);
    // The incident is resolved later; the same key twice in one batch: the last one wins.
    let later = socle_dora::parse_jsonl(
        "{\"type\":\"incident\",\"id\":\"i1\",\"service\":\"payments\",\"started_at\":\"2026-01-05T11:00:00Z\",\"deployment\":\"d1\"}\n\
         {\"type\":\"incident\",\"id\":\"i1\",\"service\":\"payments\",\"started_at\":\"2026-01-05T11:00:00Z\",\"resolved_at\":\"2026-01-05T13:30:00Z\",\"deployment\":\"d1\"}",
        "import",
    )
    .events;
    let w = store.dora_upsert(later).await.unwrap();
    assert_eq!((w.received, w.changed), (1, 1));
    let (d, c, i) = store.dora_load().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].changes, vec!["c1".to_owned(), "c2".to_owned()]);
    let mut c = c;
    c.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(c[1].parent.as_deref(), Some("c1"));
    assert_eq!(
        c[1].committed_at,
        socle_dora::parse_timestamp("2026-01-04T08:00:00Z").unwrap()
    );
    assert_eq!(i.len(), 1);
    assert_eq!(
        i[0].resolved_at,
        Some(socle_dora::parse_timestamp("2026-01-05T13:30:00Z").unwrap())
    );
}

#[tokio::test]
async fn the_sqlite_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::new(dir.path().join("data"), None))
        .await
        .unwrap();
    store.catalog_generation().await.unwrap();
    for name in ["socle.db", "socle.db-wal"] {
        let mode = std::fs::metadata(dir.path().join("data").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
    }
}

/// A member's location cannot take over an entity the moment its first location drops it (the
/// service's deploy rights and resources would follow the new owner field); the same location,
/// an admin's location, or anyone once the first location is unregistered, can.
async fn a_dropped_entity_is_not_a_members_to_take(store: &Store) {
    use socle_store::LocationTrust::{Organisation, Team};
    for (key, trust) in [("file:a", Team), ("git:b", Team), ("file:c", Organisation)] {
        store
            .add_location(key, &serde_json::json!({}), "t", trust, 1)
            .await
            .unwrap();
    }
    apply(store, "file:a", &component("payments", "team-a"), &[]).await;
    let out = apply(store, "git:b", &component("payments", "team-b"), &[]).await;
    assert_eq!(out.errors[0].rule, "location.conflict");
    // The first location drops it for a while.
    assert_eq!(apply(store, "file:a", "", &[]).await.removed, 1);
    let out = apply(store, "git:b", &component("payments", "team-b"), &[]).await;
    assert_eq!(out.added, 0);
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0].message.contains("still registered"),
        "{}",
        out.errors[0].message
    );
    assert_eq!(refs(store).await, Vec::<String>::new());
    // Its own location may bring it back.
    assert_eq!(
        apply(store, "file:a", &component("payments", "team-a"), &[])
            .await
            .added,
        1
    );
    assert_eq!(apply(store, "file:a", "", &[]).await.removed, 1);
    // An admin's location may move it.
    assert_eq!(
        apply(store, "file:c", &component("payments", "team-c"), &[])
            .await
            .added,
        1
    );
    assert_eq!(apply(store, "file:c", "", &[]).await.removed, 1);
    // Once the location that dropped it is gone, it is free.
    store.delete_location("file:c").await.unwrap();
    store.delete_location("file:a").await.unwrap();
    let out = apply(store, "git:b", &component("payments", "team-b"), &[]).await;
    assert_eq!(out.added, 1, "{:?}", out.errors);
}
both!(a_dropped_entity_is_not_a_members_to_take);
