//! The delivery events' change log: a reader applies what changed since its watermark and
//! never skips a row whose transaction took its number before another's but committed after.

use socle_dora::{Change, Deployment, Event, Incident};
use socle_store::Store;

use super::open;

fn deployment(id: &str, status: &str) -> Event {
    Event::Deployment(Deployment {
        source: "argocd".into(),
        id: id.into(),
        service: "checkout".into(),
        environment: "production".into(),
        status: status.into(),
        finished_at: 1_700_000_000_000,
        changes: vec!["c1".into(), "c2".into()],
        commit: Some("c2".into()),
    })
}

fn change(id: &str) -> Event {
    Event::Change(Change {
        source: "github".into(),
        id: id.into(),
        service: "checkout".into(),
        committed_at: 1_699_000_000_000,
        parent: None,
    })
}

fn incident(resolved_at: Option<i64>) -> Event {
    Event::Incident(Incident {
        source: "pagerduty".into(),
        id: "PD-1".into(),
        service: "checkout".into(),
        started_at: 1_700_000_100_000,
        resolved_at,
        deployment: Some("d1".into()),
        title: Some("500s".into()),
        severity: None,
        url: None,
        labels: Default::default(),
    })
}

fn keys(events: &[Event]) -> Vec<(String, String)> {
    let mut k: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let (s, id) = e.key();
            (s.to_owned(), id.to_owned())
        })
        .collect();
    k.sort();
    k
}

async fn the_log_holds_what_was_written_after_the_watermark(store: &Store) {
    store.dora_upsert(vec![change("c0")]).await.unwrap();
    let w = store.dora_watermark().await.unwrap();
    let written = vec![deployment("d1", "success"), change("c1"), incident(None)];
    store.dora_upsert(written.clone()).await.unwrap();
    let log = store.dora_log_since(w).await.unwrap();
    for e in &written {
        assert!(
            log.events.contains(e),
            "{e:?} missing from {:?}",
            log.events
        );
    }
    let again = store.dora_log_since(log.next).await.unwrap();
    if store.backend_name() == "sqlite" {
        assert_eq!(
            keys(&log.events),
            keys(&written),
            "c0 came before the watermark"
        );
        assert!(again.events.is_empty(), "{:?}", again.events);
    } else {
        // PostgreSQL re-reads from the oldest transaction still running anywhere in the
        // cluster (other tests' too): rows already read may come again, never new ones.
        for e in &again.events {
            assert!(log.events.contains(e) || e == &change("c0"), "{e:?}");
        }
    }
}

both!(the_log_holds_what_was_written_after_the_watermark);

async fn an_identical_redelivery_is_not_logged_a_changed_one_is(store: &Store) {
    store
        .dora_upsert(vec![deployment("d1", "success"), incident(None)])
        .await
        .unwrap();
    let w = store.dora_log_since(0).await.unwrap().next;
    // What a reader at `w` reads: nothing on SQLite; on PostgreSQL, rows of transactions that
    // may have been running when `w` was taken (other tests' too) come again.
    let before = keys(&store.dora_log_since(w).await.unwrap().events);
    store
        .dora_upsert(vec![deployment("d1", "success"), incident(None)])
        .await
        .unwrap();
    assert_eq!(keys(&store.dora_log_since(w).await.unwrap().events), before);
    let resolved = incident(Some(1_700_000_900_000));
    store.dora_upsert(vec![resolved.clone()]).await.unwrap();
    let after = store.dora_log_since(w).await.unwrap().events;
    assert!(after.contains(&resolved), "{after:?}");
    assert!(!after.contains(&incident(None)));
    if store.backend_name() == "sqlite" {
        assert_eq!(after, vec![resolved]);
    }
}

both!(an_identical_redelivery_is_not_logged_a_changed_one_is);

/// Transaction A numbers its rows first but commits after B. On PostgreSQL B commits while A
/// is open (their numbers are transaction ids, A's the smaller): a reader that saw B must
/// still read A's rows once A commits. On SQLite B waits for A's write lock.
async fn a_transaction_committed_late_is_not_skipped(store: &Store) {
    let start = store.dora_watermark().await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let a = {
        let store = store.clone();
        tokio::spawn(async move { store.dora_import(rx).await })
    };
    tx.send(Ok(vec![deployment("late", "success")]))
        .await
        .unwrap();
    // A has written its batch (the channel has room again once A took it) and stays open.
    tx.reserve().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let b = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .dora_upsert(vec![deployment("early", "success")])
                .await
        })
    };
    let postgres = store.backend_name() == "postgres";
    let mut b = Some(b);
    if postgres {
        b.take().unwrap().await.unwrap().unwrap();
    }
    let first = store.dora_log_since(start).await.unwrap();
    let seen_first = keys(&first.events);
    if postgres {
        assert_eq!(seen_first, vec![("argocd".into(), "early".into())]);
    } else {
        assert!(seen_first.is_empty(), "{seen_first:?}");
    }
    drop(tx);
    a.await.unwrap().unwrap();
    if let Some(b) = b {
        b.await.unwrap().unwrap();
    }
    let second = store.dora_log_since(first.next).await.unwrap();
    let all: std::collections::BTreeSet<_> =
        seen_first.into_iter().chain(keys(&second.events)).collect();
    assert!(
        all.contains(&("argocd".into(), "late".into())),
        "the late commit was skipped: first read up to {}, second read {:?}",
        first.next,
        second.events
    );
    assert!(all.contains(&("argocd".into(), "early".into())));
}

both!(a_transaction_committed_late_is_not_skipped);

/// The start-up load in batches reads what `dora_load` reads — also a page holding a value the
/// packed SQLite reading cannot split (read again row by row).
async fn the_batched_load_reads_every_event(store: &Store) {
    let odd = Event::Deployment(Deployment {
        id: "odd\u{1f}id\u{1e}".into(),
        commit: None,
        changes: vec![],
        ..match deployment("x", "failure") {
            Event::Deployment(d) => d,
            _ => unreachable!(),
        }
    });
    let mut written = vec![
        deployment("d1", "success"),
        odd,
        change("c1"),
        Event::Change(Change {
            parent: Some("c1".into()),
            ..match change("c2") {
                Event::Change(c) => c,
                _ => unreachable!(),
            }
        }),
        incident(Some(1_700_000_900_000)),
    ];
    store.dora_upsert(written.clone()).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let n = store.dora_load_batches(&tx).await.unwrap();
    drop(tx);
    let mut read = Vec::new();
    while let Some(batch) = rx.recv().await {
        read.extend(batch.into_events());
    }
    assert_eq!(n, 5);
    let order = |e: &Event| format!("{e:?}");
    read.sort_by_key(order);
    written.sort_by_key(order);
    assert_eq!(read, written);
}

both!(the_batched_load_reads_every_event);

/// An import of 100,000 events or more takes SQLite's large-import path (the index of changes
/// by id dropped, then built again before the commit): every event is there, lookups by id
/// answer, and the index is back.
#[tokio::test]
async fn a_large_import_keeps_the_index_by_id_and_every_event() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&socle_store::StoreConfig::new(dir.path(), None))
        .await
        .unwrap();
    let events: Vec<Event> = (0..100_010).map(|i| change(&format!("{i:040x}"))).collect();
    let w = store.dora_upsert(events).await.unwrap();
    assert_eq!((w.received, w.changed), (100_010, 100_010));
    let known = store
        .dora_known_changes(&[format!("{:040x}", 99_999), "nope".to_owned()])
        .await
        .unwrap();
    assert_eq!(known.len(), 1);
    let (_, changes, _) = store.dora_load().await.unwrap();
    assert_eq!(changes.len(), 100_010);
    drop(store);
    let url = format!("sqlite://{}?mode=ro", dir.path().join("socle.db").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'dora_changes_by_id'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(n, 1, "the index by id is built again");
}

fn change_of(id: &str, service: &str) -> Event {
    Event::Change(Change {
        service: service.into(),
        ..match change(id) {
            Event::Change(c) => c,
            _ => unreachable!(),
        }
    })
}

/// A large import on SQLite is staged and merged in key order: across its batches the last
/// version of an event wins, a re-sent identical event changes nothing (stored before or earlier
/// in the import), and the three tables all get their rows.
#[tokio::test]
async fn a_large_import_keeps_the_last_version_of_each_event_and_counts_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&socle_store::StoreConfig::new(dir.path(), None))
        .await
        .unwrap();
    // Stored before: two changes, one to be re-sent identical, one changed.
    store
        .dora_upsert(vec![change_of("s-same", "a"), change_of("s-moved", "a")])
        .await
        .unwrap();
    let generation = store.dora_generation().await.unwrap();
    let bulk: Vec<Event> = (0..100_000)
        .map(|i| change_of(&format!("{i:040x}"), "bulk"))
        .collect();
    let batches = vec![
        bulk,
        vec![
            change_of("s-same", "a"),                  // identical to the stored one
            change_of("s-moved", "b"),                 // a newer version of a stored one
            change_of(&format!("{:040x}", 7), "bulk"), // identical to one earlier in the import
            change_of(&format!("{:040x}", 8), "x"),    // changed, then changed again below
            deployment("d1", "success"),
            incident(None),
        ],
        vec![
            change_of(&format!("{:040x}", 8), "y"),
            incident(Some(1_700_000_900_000)),
        ],
    ];
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for b in batches {
        tx.send(Ok(b)).await.unwrap();
    }
    drop(tx);
    let w = store.dora_import(rx).await.unwrap();
    assert_eq!(w.received, 100_000 + 6 + 2);
    // 100,000 new; s-moved; 8 twice; d1; the incident opened, then resolved.
    assert_eq!(w.changed, 100_000 + 1 + 2 + 1 + 2);
    assert_eq!(store.dora_generation().await.unwrap(), generation + 1);
    let (deployments, changes, incidents) = store.dora_load().await.unwrap();
    assert_eq!(changes.len(), 100_002);
    let service_of = |id: &str| {
        changes
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.service.as_str())
    };
    assert_eq!(service_of("s-same"), Some("a"));
    assert_eq!(service_of("s-moved"), Some("b"));
    assert_eq!(service_of(&format!("{:040x}", 8)), Some("y"));
    assert_eq!(service_of(&format!("{:040x}", 7)), Some("bulk"));
    assert_eq!(deployments.len(), 1);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].resolved_at, Some(1_700_000_900_000));
}
