//! Data quality history: runs listed newest first without their checks, the latest run of each
//! product with its checks, a product's history capped, and what is refused.

use serde_json::json;
use socle_store::{CheckCounts, NewQualityRun, QualityOrigin, QualityVerdict, Store};

use super::open;

fn run(product: &str, ran_at: i64, failed: i64) -> NewQualityRun {
    NewQualityRun {
        product: product.into(),
        server: "production".into(),
        origin: QualityOrigin::Api,
        recorded_by: "user:default/ann".into(),
        ran_at,
        duration_ms: 120,
        result: if failed > 0 {
            QualityVerdict::Failed
        } else {
            QualityVerdict::Passed
        },
        counts: CheckCounts {
            passed: 10,
            warning: 1,
            failed,
            error: 0,
        },
        freshness_s: Some(3600),
        checks: json!([{"name": "row count", "result": if failed > 0 { "failed" } else { "passed" }, "at": ran_at}]),
    }
}

async fn history_is_newest_first_without_checks(store: &Store) {
    for (at, failed) in [(1_000, 0), (3_000, 2), (2_000, 0)] {
        store
            .record_quality_run(&run("datacontract:default/orders", at, failed))
            .await
            .unwrap();
    }
    store
        .record_quality_run(&run("datacontract:default/other", 5_000, 0))
        .await
        .unwrap();
    let h = store
        .quality_history("datacontract:default/orders", 10)
        .await
        .unwrap();
    let seen: Vec<(i64, QualityVerdict, i64)> = h
        .iter()
        .map(|r| (r.ran_at, r.result, r.counts.failed))
        .collect();
    assert_eq!(
        seen,
        [
            (3_000, QualityVerdict::Failed, 2),
            (2_000, QualityVerdict::Passed, 0),
            (1_000, QualityVerdict::Passed, 0)
        ]
    );
    assert!(h.iter().all(|r| r.checks.is_null()));
    assert_eq!(h[0].freshness_s, Some(3600));
    assert_eq!(h[0].origin, QualityOrigin::Api);
    let two = store
        .quality_history("datacontract:default/orders", 2)
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
}
both!(history_is_newest_first_without_checks);

async fn the_latest_run_of_each_product_comes_with_its_checks(store: &Store) {
    for (p, at) in [("a", 1_000), ("a", 4_000), ("b", 2_000), ("c", 3_000)] {
        store
            .record_quality_run(&run(&format!("datacontract:default/{p}"), at, 0))
            .await
            .unwrap();
    }
    let all = store.latest_quality(None).await.unwrap();
    let seen: Vec<(&str, i64)> = all.iter().map(|r| (r.product.as_str(), r.ran_at)).collect();
    assert_eq!(
        seen,
        [
            ("datacontract:default/a", 4_000),
            ("datacontract:default/b", 2_000),
            ("datacontract:default/c", 3_000)
        ]
    );
    assert_eq!(all[0].checks[0]["at"], 4_000);
    let some = store
        .latest_quality(Some(&["datacontract:default/c".to_owned()]))
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].product, "datacontract:default/c");
    let one = store.quality_run(&all[1].id).await.unwrap().unwrap();
    assert_eq!(one, all[1]);
    assert_eq!(store.quality_run("nope").await.unwrap(), None);
}
both!(the_latest_run_of_each_product_comes_with_its_checks);

async fn a_product_keeps_its_newest_runs_only(store: &Store) {
    let keep = socle_store::MAX_QUALITY_RUNS_KEPT;
    for at in 0..keep + 3 {
        store
            .record_quality_run(&run("datacontract:default/busy", at, 0))
            .await
            .unwrap();
    }
    store
        .record_quality_run(&run("datacontract:default/quiet", 0, 0))
        .await
        .unwrap();
    let h = store
        .quality_history("datacontract:default/busy", 5_000)
        .await
        .unwrap();
    assert_eq!(h.len() as i64, keep);
    assert_eq!(h.last().unwrap().ran_at, 3, "the three oldest runs went");
    assert_eq!(
        store
            .quality_history("datacontract:default/quiet", 10)
            .await
            .unwrap()
            .len(),
        1,
        "another product's runs stay"
    );
}
both!(a_product_keeps_its_newest_runs_only);

async fn malformed_runs_are_refused(store: &Store) {
    let mut negative = run("datacontract:default/orders", 1, 0);
    negative.counts.failed = -1;
    let mut not_array = run("datacontract:default/orders", 1, 0);
    not_array.checks = json!({"a": 1});
    let mut huge = run("datacontract:default/orders", 1, 0);
    huge.checks = json!(["x".repeat(socle_store::MAX_QUALITY_CHECKS_BYTES)]);
    let mut no_product = run("", 1, 0);
    no_product.product.clear();
    for bad in [negative, not_array, huge, no_product] {
        let e = store.record_quality_run(&bad).await.unwrap_err();
        assert!(matches!(e, socle_store::StoreError::Invalid(_)), "{e:?}");
    }
    assert!(
        store
            .quality_history("datacontract:default/orders", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
both!(malformed_runs_are_refused);
