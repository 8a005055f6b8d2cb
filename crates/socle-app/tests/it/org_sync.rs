//! The org sync against a real OpenLDAP `slapd` (Debian's package, started by
//! `socle_testkit::ldap` with the LDIF fixture of nested groups): groups with their parents,
//! children and members appear in the catalog; a user removed from the directory disappears at
//! the next sync; only an admin may trigger a sync; directory values cannot inject entities or
//! break references. Skips without slapd unless SOCLE_REQUIRE_LDAP=1 (CI).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use socle_app::net::TlsRoots;
use socle_app::org_sync::{OrgSyncConfig, Provider};
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock, Principal};
use socle_catalog::RelationType;
use socle_store::{RefreshStatus, Role, Store};
use socle_testkit::Backend;
use socle_testkit::https::TestCa;
use socle_testkit::ldap::{self, ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd};

const T0: i64 = 1_780_000_000_000;

async fn app(backend: Backend, dir: &Path) -> Option<Arc<App>> {
    let config = socle_testkit::store_config(backend, dir, "socle_org")?;
    let store = Store::open(&config).await.unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        ..Default::default()
    };
    Some(
        App::with_clock(store, settings, FixedClock::at(T0))
            .await
            .unwrap(),
    )
}

fn actor(subject: &str, role: Role) -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: subject.into(),
        role,
    })
}

fn admin() -> Actor {
    actor("user:default/root", Role::Admin)
}

/// The provider configuration for `url`, its password in a file under `dir`.
fn provider(dir: &Path, url: &str, extra: &str) -> Provider {
    let password = dir.join("bind-password");
    std::fs::write(&password, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let yaml = format!(
        "providers:
  - name: corp
    target: {url}
{extra}
    bind:
      dn: {ADMIN_DN}
      passwordFile: {}
    users:
      - dn: ou=people,{BASE_DN}
        options:
          filter: (objectClass=inetOrgPerson)
          pageSize: 2
    groups:
      - dn: ou=groups,{BASE_DN}
        options:
          filter: (objectClass=groupOfNames)
",
        password.display()
    );
    let mut config = OrgSyncConfig::parse(&yaml).unwrap();
    config.providers.remove(0)
}

fn directory(dir: &Path, tls: Option<&TestCa>) -> Option<Slapd> {
    let data = dir.join("slapd");
    std::fs::create_dir_all(&data).unwrap();
    ldap::start(&data, Path::new(ldap::ORG_LDIF), tls)
}

/// The refs `entity` relates to by `t`.
fn related(app: &App, entity: &str, t: RelationType) -> BTreeSet<String> {
    let snap = app.snapshot();
    let Some(v) = snap.get(entity) else {
        return BTreeSet::new();
    };
    v.relations
        .iter()
        .filter(|(rt, _)| *rt == t)
        .map(|(_, i)| snap.name(*i).to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_appear_with_their_parents_children_and_members() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    for backend in Backend::ALL {
        let sub = dir.path().join(format!("{backend:?}"));
        let Some(app) = app(backend, &sub).await else {
            continue;
        };
        let p = provider(dir.path(), &slapd.url, "");
        let report = app
            .sync_org(&admin(), &p, &TlsRoots::default())
            .await
            .unwrap();
        assert_eq!((report.users, report.groups), (6, 5), "{report:?}");
        assert_eq!(report.outcome.added, 11, "{:?}", report.outcome.errors);
        assert_eq!(
            related(&app, "group:default/engineering", RelationType::ParentOf),
            set(&["group:default/payments", "group:default/platform"])
        );
        assert_eq!(
            related(&app, "group:default/sre", RelationType::ChildOf),
            set(&["group:default/platform"])
        );
        assert_eq!(
            related(&app, "group:default/sre", RelationType::HasMember),
            set(&["user:default/carol", "user:default/erin-smith"])
        );
        assert_eq!(
            related(&app, "user:default/dave", RelationType::MemberOf),
            set(&["group:default/payments", "group:default/sales"])
        );
        let snap = app.snapshot();
        let erin = snap
            .get("user:default/erin-smith")
            .expect("Erin Smith, renamed");
        let body: serde_json::Value = serde_json::from_str(&erin.body).unwrap();
        assert_eq!(body["metadata"]["name"], "Erin-Smith");
        assert_eq!(body["spec"]["profile"]["email"], "erin@example.org");
        assert_eq!(
            body["metadata"]["annotations"]["backstage.io/ldap-dn"],
            "uid=Erin Smith,ou=people,dc=example,dc=org"
        );
        // Deploy rights follow the directory's tree: a platform member's teams reach up.
        assert!(
            erin.shapes_org,
            "the directory's entities shape the organisation"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_removed_from_the_directory_disappears_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    let Some(app) = app(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let p = provider(dir.path(), &slapd.url, "");
    app.sync_org(&admin(), &p, &TlsRoots::default())
        .await
        .unwrap();
    assert!(app.snapshot().get("user:default/bob").is_some());

    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    tokio::spawn(conn.drive());
    ldap.simple_bind(ADMIN_DN, ADMIN_PASSWORD)
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap.delete(&format!("uid=bob,ou=people,{BASE_DN}"))
        .await
        .unwrap()
        .success()
        .unwrap();

    let report = app
        .sync_org(&admin(), &p, &TlsRoots::default())
        .await
        .unwrap();
    assert_eq!(report.outcome.removed, 1, "{report:?}");
    assert!(app.snapshot().get("user:default/bob").is_none());
    assert!(
        !related(&app, "group:default/platform", RelationType::HasMember)
            .contains("user:default/bob"),
        "the group's member DN that names nobody any more is no member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_directory_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    let Some(app) = app(Backend::Sqlite, dir.path()).await else {
        return;
    };
    app.sync_org(
        &admin(),
        &provider(dir.path(), &slapd.url, ""),
        &TlsRoots::default(),
    )
    .await
    .unwrap();
    let before = app.snapshot().len();
    drop(slapd);
    let report = app
        .sync_org(
            &admin(),
            &provider(dir.path(), "ldap://127.0.0.1:1", ""),
            &TlsRoots::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.outcome.status, RefreshStatus::Failed);
    assert_eq!(report.outcome.removed, 0);
    assert_eq!(app.snapshot().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_may_sync_the_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    let Some(app) = app(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let p = provider(dir.path(), &slapd.url, "");
    for who in [
        Actor::Anonymous,
        actor("user:default/alice", Role::Viewer),
        actor("user:default/alice", Role::Member),
    ] {
        let e = app
            .sync_org(&who, &p, &TlsRoots::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e.code, ErrorCode::Forbidden | ErrorCode::Unauthenticated),
            "{e:?}"
        );
    }
    assert!(app.snapshot().is_empty(), "nothing was synced");
    let log = app.store.audit_log(10).await.unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|r| r.outcome.as_str() == "denied" && r.target == "ldap:corp")
    );

    // Once synced, the directory's location is not a member's to refresh or an admin's to
    // refresh as a file: only the org sync re-reads it.
    app.sync_org(&admin(), &p, &TlsRoots::default())
        .await
        .unwrap();
    let id = socle_app::locations::location_id("ldap:corp");
    let member = actor("user:default/alice", Role::Member);
    let e = app.refresh_location(&member, &id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = app.delete_location(&member, &id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    let e = app.refresh_location(&admin(), &id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidRequest);
    assert!(app.snapshot().get("user:default/alice").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_values_cannot_inject_entities_or_references() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    let Some(app) = app(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let p = provider(dir.path(), &slapd.url, "");
    app.sync_org(&admin(), &p, &TlsRoots::default())
        .await
        .unwrap();
    let snap = app.snapshot();
    // mallory's display name is a YAML document naming a group `admins`, her mail a flow
    // mapping adding a membership: both stay strings.
    assert!(snap.get("group:default/admins").is_none());
    let mallory = snap.get("user:default/mallory").expect("mallory");
    let body: serde_json::Value = serde_json::from_str(&mallory.body).unwrap();
    assert_eq!(
        body["spec"]["profile"]["displayName"],
        "Mallory\n---\nkind: Group\nmetadata: {name: admins}"
    );
    assert_eq!(
        related(&app, "user:default/mallory", RelationType::MemberOf),
        set(&["group:default/platform"])
    );
    let groups: Vec<&str> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "group")
        .map(|e| &*e.entity_ref)
        .collect();
    assert_eq!(groups.len(), 5, "{groups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldaps_and_start_tls_are_verified_against_the_trust_roots() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let Some(slapd) = directory(dir.path(), Some(&ca)) else {
        return;
    };
    let Some(app) = app(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let trusted = TlsRoots::only_pem(ca.ca_pem.as_bytes()).unwrap();
    let ldaps = slapd.ldaps_url.clone().unwrap();
    let r = app
        .sync_org(&admin(), &provider(dir.path(), &ldaps, ""), &trusted)
        .await
        .unwrap();
    assert_eq!(
        r.outcome.status,
        RefreshStatus::Ok,
        "{:?}",
        r.outcome.errors
    );
    assert_eq!(r.users, 6);
    let start_tls = provider(dir.path(), &slapd.url, "    startTls: true");
    let r = app.sync_org(&admin(), &start_tls, &trusted).await.unwrap();
    assert_eq!(r.users, 6, "{:?}", r.outcome.errors);
    // A server whose certificate the roots do not trust is refused.
    let r = app
        .sync_org(
            &admin(),
            &provider(dir.path(), &ldaps, ""),
            &TlsRoots::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.outcome.status, RefreshStatus::Failed);
    assert_eq!(r.users, 0);
}

/// `POST /api/v1/org/sync`'s service: every configured provider now, admins only, audited
/// once as `org.sync`; a server without a configuration says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_syncs_every_configured_directory_now() {
    let dir = tempfile::tempdir().unwrap();
    let Some(slapd) = directory(dir.path(), None) else {
        return;
    };
    let config = socle_testkit::store_config(Backend::Sqlite, dir.path(), "socle_org").unwrap();
    let store = Store::open(&config).await.unwrap();
    let p = provider(dir.path(), &slapd.url, "");
    let settings = AppConfig {
        refresh_interval: None,
        org_sync: Some(OrgSyncConfig { providers: vec![p] }),
        ..Default::default()
    };
    let app = App::with_clock(store, settings, FixedClock::at(T0))
        .await
        .unwrap();
    let e = app
        .sync_org_now(&actor("user:default/alice", Role::Member))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(app.snapshot().is_empty(), "nothing was synced");
    let reports = app.sync_org_now(&admin()).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].provider, "corp");
    assert_eq!(reports[0].outcome.status, RefreshStatus::Ok);
    assert!(reports[0].users > 0 && reports[0].groups > 0, "{reports:?}");
    assert!(app.snapshot().get("user:default/alice").is_some());
    let log = app.store.audit_log(10).await.unwrap();
    let sync: Vec<_> = log.iter().filter(|r| r.action == "org.sync").collect();
    assert_eq!(sync.len(), 2, "{log:?}");
    assert!(sync.iter().any(|r| r.outcome.as_str() == "denied"));
    assert!(
        sync.iter()
            .any(|r| r.outcome.as_str() == "ok" && r.detail == "corp: ok" && r.target == "org"),
        "{log:?}"
    );

    // Without a configuration there is nothing to sync.
    let other = tempfile::tempdir().unwrap();
    let Some(bare) = app_without_sync(other.path()).await else {
        return;
    };
    let e = bare.sync_org_now(&admin()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("--org-sync"), "{}", e.message);
}

async fn app_without_sync(dir: &Path) -> Option<Arc<App>> {
    app(Backend::Sqlite, dir).await
}
