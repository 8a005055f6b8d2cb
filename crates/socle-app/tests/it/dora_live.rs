//! The live delivery index: every replica over one store applies the store's change log, so a
//! report asked of any replica after an event was recorded through another reflects it — an
//! incident resolved later included — and equals a report indexed from every stored event.
//! Both backends.

use crate::support::replica;
use socle_app::dora::{LiveDora, Scope};
use socle_dora::{Deployment, Event, Incident, Window};
use socle_store::Store;
use socle_testkit::Backend;

const T0: i64 = 1_780_000_000_000;
const HOUR: i64 = 3_600_000;

fn deployment(id: &str, at: i64) -> Event {
    Event::Deployment(Deployment {
        source: "argocd".into(),
        id: id.into(),
        service: "shop".into(),
        environment: "production".into(),
        status: "success".into(),
        finished_at: at,
        changes: vec![],
        commit: None,
    })
}

fn incident(resolved_at: Option<i64>) -> Event {
    Event::Incident(Incident {
        source: "pagerduty".into(),
        id: "PD-1".into(),
        service: "shop".into(),
        started_at: T0 + HOUR,
        resolved_at,
        deployment: Some("d1".into()),
        title: None,
        severity: None,
        url: None,
        labels: Default::default(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reports_what_another_recorded() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some(config) = socle_testkit::store_config(backend, dir.path(), "socle_dora_live")
        else {
            continue;
        };
        let store = Store::open(&config).await.unwrap();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let w = Window::last_days(T0 + 24 * HOUR, 7);
        a.store_events(vec![deployment("d1", T0)]).await.unwrap();
        let first = b.dora_report(&Scope::Org, w, false).await.unwrap();
        assert_eq!((first.deployments, first.failed_deployments), (1, 0));

        a.store_events(vec![deployment("d2", T0 + 2 * HOUR), incident(None)])
            .await
            .unwrap();
        let r = b.dora_report(&Scope::Org, w, false).await.unwrap();
        assert_eq!(
            (r.deployments, r.failed_deployments, r.incidents_resolved),
            (2, 1, 0),
            "{backend:?}"
        );
        a.store_events(vec![incident(Some(T0 + 4 * HOUR))])
            .await
            .unwrap();
        let r = b.dora_report(&Scope::Org, w, false).await.unwrap();
        assert_eq!(
            (r.incidents_resolved, r.recovery_time_median_hours),
            (1, Some(3.0)),
            "{backend:?}"
        );
        let fresh = LiveDora::load(&store, &socle_dora::Options::default())
            .await
            .unwrap();
        assert_eq!(
            fresh.dataset().report(None, w, true),
            b.dora_dataset().await.unwrap().report(None, w, true)
        );
    }
}
