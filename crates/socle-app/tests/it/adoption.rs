//! Weekly adoption snapshots: taken once per week whatever the replicas, and read back by the
//! weekly series (docs and SLOs week by week). Both databases.

use std::sync::Arc;
use std::time::Duration;

use socle_adoption::WeekSource;
use socle_app::adoption::SnapshotOutcome;
use socle_app::{Actor, App, AppConfig, FixedClock, Principal};
use socle_store::{Role, Store, StoreConfig};
use socle_testkit::Backend;

/// Wednesday 2026-10-21T10:00:00Z.
const T0: i64 = 1_792_368_000_000 + 2 * DAY + 10 * HOUR;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const TTL: Duration = Duration::from_secs(3600);

fn component(name: &str, owner: &str, annotations: &[&str]) -> String {
    let mut a = String::new();
    for key in annotations {
        a.push_str(&format!("    {key}: x\n"));
    }
    let annotations = if a.is_empty() {
        String::new()
    } else {
        format!("  annotations:\n{a}")
    };
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{annotations}spec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n---\n"
    )
}

/// team-a: one service with docs and an SLO, one with nothing; team-b: one with docs.
fn catalog(extra: &str) -> String {
    let group = |name: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n---\n"
        )
    };
    let docs = "backstage.io/techdocs-ref";
    let slo = "socle.dev/slo";
    [
        group("team-a"),
        group("team-b"),
        component("one", "team-a", &[docs, slo]),
        component("two", "team-a", &[]),
        component("three", "team-b", &[docs]),
        extra.to_owned(),
    ]
    .concat()
}

fn admin() -> Actor {
    Actor::Principal(Principal {
        token_id: "t".into(),
        subject: "serviceaccount:admin".into(),
        role: Role::Admin,
    })
}

/// An App ("replica") named `instance` on the store `config`, on `clock`.
async fn replica(config: &StoreConfig, instance: &str, clock: Arc<FixedClock>) -> Arc<App> {
    let store = Store::open(config).await.unwrap();
    let settings = AppConfig {
        refresh_interval: None,
        instance: instance.into(),
        ..Default::default()
    };
    App::with_clock(store, settings, clock).await.unwrap()
}

async fn register(app: &App, dir: &std::path::Path, yaml: &str) {
    let file = dir.join("catalog.yaml");
    let again = file.exists();
    std::fs::write(&file, yaml).unwrap();
    let spec = socle_ingest::LocationSpec::file(file.to_string_lossy().into_owned());
    if again {
        app.refresh(&spec).await.unwrap();
        return;
    }
    app.store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "user:default/admin",
            socle_store::LocationTrust::Organisation,
            T0,
        )
        .await
        .unwrap();
    app.refresh(&spec).await.unwrap();
}

async fn two_replicas_take_a_weeks_snapshot_once(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_app") else {
        return;
    };
    let clock = FixedClock::at(T0);
    let a = replica(&config, "replica-a", clock.clone()).await;
    register(&a, dir.path(), &catalog("")).await;
    let b = replica(&config, "replica-b", clock.clone()).await;
    let (ta, tb) = tokio::join!(a.adoption_snapshot_tick(TTL), b.adoption_snapshot_tick(TTL));
    let mut outcomes = [ta.unwrap(), tb.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [SnapshotOutcome::OtherReplica, SnapshotOutcome::Taken]
    );
    // Two hours later the lease has expired; whoever takes it finds the week taken.
    clock.advance(2 * HOUR);
    assert_eq!(
        b.adoption_snapshot_tick(TTL).await.unwrap(),
        SnapshotOutcome::AlreadyTaken
    );
    // b holds the lease now.
    assert_eq!(
        a.adoption_snapshot_tick(TTL).await.unwrap(),
        SnapshotOutcome::OtherReplica
    );
    let week = socle_adoption::week_start(T0);
    let org = a
        .store
        .adoption_weeks("organisation", week, week + 7 * DAY)
        .await
        .unwrap();
    assert_eq!(org.len(), 1);
    let c = &org[0].counts;
    assert_eq!(
        (
            c.services,
            c.golden_path,
            c.deployed,
            c.with_docs,
            c.with_slo
        ),
        (3, 0, 0, 2, 1)
    );
    let team_a = a
        .store
        .adoption_weeks("group:default/team-a", week, week + 7 * DAY)
        .await
        .unwrap();
    let c = &team_a[0].counts;
    assert_eq!((c.services, c.with_docs, c.with_slo), (2, 1, 1));
    // A week later the next week's snapshot is taken.
    clock.advance(7 * DAY);
    assert_eq!(
        b.adoption_snapshot_tick(TTL).await.unwrap(),
        SnapshotOutcome::Taken
    );
}

#[tokio::test]
async fn two_replicas_take_a_weeks_snapshot_once_sqlite() {
    two_replicas_take_a_weeks_snapshot_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_replicas_take_a_weeks_snapshot_once_postgres() {
    two_replicas_take_a_weeks_snapshot_once(Backend::Postgres).await;
}

async fn the_weekly_series_reads_docs_and_slos_from_the_snapshots(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_app") else {
        return;
    };
    let clock = FixedClock::at(T0);
    let app = replica(&config, "replica-a", clock.clone()).await;
    register(&app, dir.path(), &catalog("")).await;
    // Taken on Wednesday, not at the week's turn: it stands for its own week.
    assert_eq!(
        app.take_adoption_snapshot().await.unwrap(),
        SnapshotOutcome::Taken
    );
    // Two weeks later team-b has a new service with docs and an SLO.
    clock.advance(14 * DAY);
    register(
        &app,
        dir.path(),
        &catalog(&component(
            "four",
            "team-b",
            &["backstage.io/techdocs-ref", "socle.dev/slo"],
        )),
    )
    .await;
    let report = app
        .adoption_overview(&admin(), Some("28d"))
        .await
        .unwrap()
        .adoption;
    let row = |w: &socle_adoption::AdoptionWeek| {
        (
            w.from.clone(),
            w.counted_from,
            w.services,
            w.with_docs,
            w.with_slo,
        )
    };
    let rows: Vec<_> = report.weekly.iter().map(row).collect();
    let weeks: Vec<_> = rows.iter().map(|r| r.1).collect();
    assert_eq!(
        weeks,
        [
            WeekSource::Rebuilt,
            WeekSource::Rebuilt,
            WeekSource::Snapshot,
            WeekSource::Rebuilt,
            WeekSource::Live
        ],
        "{rows:?}"
    );
    // The stored week (19 Oct) as the snapshot counted it; the current week from the catalog.
    assert_eq!(
        rows[2],
        (
            "2026-10-19T00:00:00Z".to_owned(),
            WeekSource::Snapshot,
            3,
            Some(2),
            Some(1)
        )
    );
    assert_eq!(
        rows[4],
        (
            "2026-11-02T00:00:00Z".to_owned(),
            WeekSource::Live,
            4,
            Some(3),
            Some(2)
        )
    );
    // A team's series reads its own snapshot: team-b had one service, with docs.
    let team = app
        .adoption_team(&admin(), "team-b", Some("28d"))
        .await
        .unwrap()
        .adoption;
    let stored = team
        .weekly
        .iter()
        .find(|w| w.counted_from == WeekSource::Snapshot)
        .unwrap();
    assert_eq!(
        (stored.services, stored.with_docs, stored.with_slo),
        (1, Some(1), Some(0))
    );
}

#[tokio::test]
async fn the_weekly_series_reads_docs_and_slos_from_the_snapshots_sqlite() {
    the_weekly_series_reads_docs_and_slos_from_the_snapshots(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_weekly_series_reads_docs_and_slos_from_the_snapshots_postgres() {
    the_weekly_series_reads_docs_and_slos_from_the_snapshots(Backend::Postgres).await;
}
