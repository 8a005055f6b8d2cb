//! Pushed SLI counts and kept budgets, on SQLite and PostgreSQL.

use socle_store::{SloInterval, SloKey, SloStatus, Store, StoreError};

use super::open;

fn key(slo: &str) -> SloKey {
    SloKey {
        entity: "component:default/shop".into(),
        slo: slo.into(),
        environment: "prod".into(),
    }
}

fn iv(start_ms: i64, end_ms: i64, good: i64, total: i64) -> SloInterval {
    SloInterval {
        start_ms,
        end_ms,
        good,
        total,
    }
}

async fn counts_sum_the_intervals_ending_in_the_window(store: &Store) {
    let k = key("availability");
    store
        .record_slo_events(&k, &[iv(0, 60_000, 90, 100), iv(60_000, 120_000, 99, 100)])
        .await
        .unwrap();
    let all = store.slo_counts(&k, 0, 120_000).await.unwrap();
    assert_eq!((all.good, all.total, all.intervals), (189, 200, 2));
    assert_eq!(all.error_ratio(), Some(11.0 / 200.0));
    // (60 000, 120 000]: only the second interval ends there.
    let last = store.slo_counts(&k, 60_000, 120_000).await.unwrap();
    assert_eq!((last.good, last.total), (99, 100));
    let none = store.slo_counts(&k, 120_000, 180_000).await.unwrap();
    assert_eq!(none.error_ratio(), None);
    // Another SLO of the same entity is counted apart.
    let other = store.slo_counts(&key("latency"), 0, 120_000).await.unwrap();
    assert_eq!(other.total, 0);
}
both!(counts_sum_the_intervals_ending_in_the_window);

async fn a_redelivered_interval_replaces_the_first(store: &Store) {
    let k = key("availability");
    store
        .record_slo_events(&k, &[iv(0, 60_000, 0, 100)])
        .await
        .unwrap();
    store
        .record_slo_events(&k, &[iv(0, 60_000, 100, 100)])
        .await
        .unwrap();
    let c = store.slo_counts(&k, 0, 60_000).await.unwrap();
    assert_eq!((c.good, c.total, c.intervals), (100, 100, 1));
}
both!(a_redelivered_interval_replaces_the_first);

async fn impossible_intervals_are_refused_and_nothing_is_written(store: &Store) {
    let k = key("availability");
    for bad in [
        iv(60_000, 60_000, 1, 1),
        iv(0, 60_000, 2, 1),
        iv(0, 60_000, -1, 1),
        iv(0, 2 * 86_400_000, 1, 1),
    ] {
        let e = store
            .record_slo_events(&k, &[iv(0, 1, 1, 1), bad])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    }
    assert!(matches!(
        store.record_slo_events(&k, &[]).await.unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert_eq!(
        store.slo_counts(&k, -1, i64::MAX).await.unwrap().intervals,
        0
    );
}
both!(impossible_intervals_are_refused_and_nothing_is_written);

fn status(entity: &str, slo: &str, remaining: Option<f64>) -> SloStatus {
    SloStatus {
        entity: entity.into(),
        environment: "prod".into(),
        slo: slo.into(),
        measured_at: 5,
        remaining,
        budget: serde_json::json!({"slo": slo, "remaining": remaining}),
    }
}

async fn kept_budgets_list_the_least_left_first_and_no_data_last(store: &Store) {
    store
        .save_slo_status(
            "component:default/a",
            "prod",
            &[
                status("component:default/a", "x", Some(0.5)),
                status("component:default/a", "y", None),
            ],
        )
        .await
        .unwrap();
    store
        .save_slo_status(
            "component:default/b",
            "prod",
            &[status("component:default/b", "z", Some(-1.0))],
        )
        .await
        .unwrap();
    let list = store.list_slo_status(Some("prod"), None, 10).await.unwrap();
    let order: Vec<&str> = list.iter().map(|s| s.slo.as_str()).collect();
    assert_eq!(order, ["z", "x", "y"]);
    assert_eq!(list[0].budget["remaining"], -1.0);
    // A new measurement replaces the entity's SLOs: `y` left its file.
    store
        .save_slo_status(
            "component:default/a",
            "prod",
            &[status("component:default/a", "x", Some(0.9))],
        )
        .await
        .unwrap();
    let a = store
        .list_slo_status(Some("prod"), Some("component:default/a"), 10)
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].remaining, Some(0.9));
    assert!(
        store
            .list_slo_status(Some("dev"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
both!(kept_budgets_list_the_least_left_first_and_no_data_last);
