//! Data pipeline runs (migration 0050): a run and its models written together and read back
//! in run order; listed newest first, by pipeline; bounded.

use socle_store::{
    CheckCounts, DataRunModelRecord, DataRunRecord, MAX_DATA_RUN_MODELS, ModelStatus, Store,
    StoreError,
};

use super::open;

fn model(name: &str, status: ModelStatus, reason: Option<&str>) -> DataRunModelRecord {
    DataRunModelRecord {
        model: name.into(),
        tier: Some("gold".into()),
        materialized: "table".into(),
        status,
        duration_ms: 12,
        checks: CheckCounts {
            passed: 3,
            warning: 0,
            failed: 1,
            error: 0,
        },
        reason: reason.map(Into::into),
    }
}

fn run(
    id: &str,
    pipeline: &str,
    started_at: i64,
    models: Vec<DataRunModelRecord>,
) -> DataRunRecord {
    DataRunRecord {
        id: id.into(),
        pipeline: pipeline.into(),
        target_schema: "analytics".into(),
        started_at,
        finished_at: started_at + 50,
        passed: false,
        model_count: models.len() as i64,
        failed: 1,
        skipped: 1,
        models,
    }
}

async fn a_run_is_read_back_with_its_models_in_order(store: &Store) {
    let r = run(
        "r1",
        "shop",
        1_000,
        vec![
            model("revenue", ModelStatus::Failed, Some("2 checks failed")),
            model(
                "report",
                ModelStatus::Skipped,
                Some("revenue failed its gold checks"),
            ),
            model("orders", ModelStatus::Passed, None),
        ],
    );
    store.record_data_run(&r).await.unwrap();
    assert_eq!(store.data_run("r1").await.unwrap(), r);
}
both!(a_run_is_read_back_with_its_models_in_order);

async fn runs_are_listed_newest_first_by_pipeline(store: &Store) {
    for (id, pipeline, at) in [("a", "shop", 1), ("b", "shop", 3), ("c", "crm", 2)] {
        store
            .record_data_run(&run(id, pipeline, at, vec![]))
            .await
            .unwrap();
    }
    let ids = |runs: Vec<DataRunRecord>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_data_runs(None, 10).await.unwrap()),
        ["b", "c", "a"]
    );
    assert_eq!(
        ids(store.list_data_runs(Some("shop"), 10).await.unwrap()),
        ["b", "a"]
    );
    assert_eq!(ids(store.list_data_runs(None, 1).await.unwrap()), ["b"]);
}
both!(runs_are_listed_newest_first_by_pipeline);

async fn an_unknown_run_is_not_found_and_an_oversized_one_is_refused(store: &Store) {
    assert!(matches!(
        store.data_run("nope").await,
        Err(StoreError::NotFound(_))
    ));
    let many = vec![model("m", ModelStatus::Passed, None); MAX_DATA_RUN_MODELS + 1];
    let e = store.record_data_run(&run("big", "p", 1, many)).await;
    assert!(matches!(e, Err(StoreError::Invalid(_))), "{e:?}");
    assert!(matches!(
        store.data_run("big").await,
        Err(StoreError::NotFound(_))
    ));
}
both!(an_unknown_run_is_not_found_and_an_oversized_one_is_refused);
