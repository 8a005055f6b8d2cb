//! Golden-path runs in progress (migration 0031): any replica reads the log the running one
//! writes; the end is written once; old runs are forgotten; logs are bounded.

use socle_store::{LIVE_RUN_RETENTION_MS, LiveOutcome, MAX_LIVE_LOG_BYTES, Store};

use super::open;

async fn a_live_run_grows_then_ends_once(store: &Store) {
    store
        .start_live_run("k1", "user:default/ann", "svc", 1_000)
        .await
        .unwrap();
    let r = store.get_live_run("k1").await.unwrap().unwrap();
    assert_eq!(
        (r.log.as_str(), r.outcome.clone(), r.updated_at),
        ("[]", None, 1_000)
    );
    assert_eq!(
        (r.actor.as_str(), r.template.as_str()),
        ("user:default/ann", "svc")
    );
    store
        .update_live_run("k1", "[{\"step\":\"a\"}]", 1_500)
        .await
        .unwrap();
    let r = store.get_live_run("k1").await.unwrap().unwrap();
    assert_eq!(
        (r.log.as_str(), r.updated_at),
        ("[{\"step\":\"a\"}]", 1_500)
    );
    store
        .finish_live_run("k1", "[1]", &LiveOutcome::Recorded("run-1".into()), 2_000)
        .await
        .unwrap();
    // A late log write or a second end change nothing.
    store.update_live_run("k1", "[2]", 2_500).await.unwrap();
    store
        .finish_live_run("k1", "[3]", &LiveOutcome::ServerError, 3_000)
        .await
        .unwrap();
    let r = store.get_live_run("k1").await.unwrap().unwrap();
    assert_eq!(r.outcome, Some(LiveOutcome::Recorded("run-1".into())));
    assert_eq!((r.log.as_str(), r.updated_at), ("[1]", 2_000));
    for (key, outcome) in [
        ("k2", LiveOutcome::Refused("no such template".into())),
        ("k3", LiveOutcome::ServerError),
    ] {
        store.start_live_run(key, "a", "t", 4_000).await.unwrap();
        store
            .finish_live_run(key, "[]", &outcome, 4_100)
            .await
            .unwrap();
        assert_eq!(
            store.get_live_run(key).await.unwrap().unwrap().outcome,
            Some(outcome)
        );
    }
    assert!(store.get_live_run("nope").await.unwrap().is_none());
    assert!(store.get_live_run(&"k".repeat(65)).await.unwrap().is_none());
    // Too long a log is refused.
    let big = "x".repeat(MAX_LIVE_LOG_BYTES + 1);
    assert!(store.update_live_run("k2", &big, 5_000).await.is_err());
    // Starting a run forgets those started before the retention.
    store
        .start_live_run("k4", "a", "t", 4_000 + LIVE_RUN_RETENTION_MS + 1)
        .await
        .unwrap();
    assert!(store.get_live_run("k1").await.unwrap().is_none());
    assert!(store.get_live_run("k4").await.unwrap().is_some());
}
both!(a_live_run_grows_then_ends_once);
