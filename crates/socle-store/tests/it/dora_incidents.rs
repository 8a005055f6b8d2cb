//! Incidents keep what their tool sent (title, severity, URL, labels) and are listed by service
//! and window, newest first.

use socle_dora::{Event, Incident, parse_timestamp};
use socle_store::{IncidentQuery, Store};

use super::open;

fn ms(t: &str) -> i64 {
    parse_timestamp(t).unwrap()
}

fn incident(
    source: &str,
    id: &str,
    service: &str,
    started: &str,
    resolved: Option<&str>,
) -> Incident {
    Incident {
        source: source.into(),
        id: id.into(),
        service: service.into(),
        started_at: ms(started),
        resolved_at: resolved.map(ms),
        deployment: None,
        title: None,
        severity: None,
        url: None,
        labels: Default::default(),
    }
}

fn detailed() -> Incident {
    Incident {
        title: Some("Checkout returns 500s <b>".into()),
        severity: Some("SEV2".into()),
        url: Some("https://acme.pagerduty.com/incidents/PD-1".into()),
        labels: [("team", "payments"), ("region", "eu-west-1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        deployment: Some("checkout-7".into()),
        ..incident(
            "pagerduty",
            "PD-1",
            "checkout",
            "2026-03-05T10:00:00Z",
            Some("2026-03-05T11:30:00Z"),
        )
    }
}

async fn incident_details_are_kept(store: &Store) {
    let w = store
        .dora_upsert(vec![Event::Incident(detailed())])
        .await
        .unwrap();
    assert_eq!((w.received, w.changed), (1, 1));
    let (_, _, loaded) = store.dora_load().await.unwrap();
    assert_eq!(loaded, vec![detailed()]);
    // Re-delivered as is: nothing changes (labels compare equal whatever order they came in).
    let w = store
        .dora_upsert(vec![Event::Incident(detailed())])
        .await
        .unwrap();
    assert_eq!(w.changed, 0);
    // A new title, or a label less, is a new version.
    let retitled = Incident {
        title: Some("Checkout down".into()),
        ..detailed()
    };
    let w = store
        .dora_upsert(vec![Event::Incident(retitled)])
        .await
        .unwrap();
    assert_eq!(w.changed, 1);
    let mut fewer = detailed();
    fewer.labels.remove("region");
    fewer.title = Some("Checkout down".into());
    let w = store
        .dora_upsert(vec![Event::Incident(fewer.clone())])
        .await
        .unwrap();
    assert_eq!(w.changed, 1);
    let (_, _, loaded) = store.dora_load().await.unwrap();
    assert_eq!(loaded, vec![fewer]);
    // None of them at all.
    let bare = incident(
        "pagerduty",
        "PD-1",
        "checkout",
        "2026-03-05T10:00:00Z",
        None,
    );
    store
        .dora_upsert(vec![Event::Incident(bare.clone())])
        .await
        .unwrap();
    let (_, _, loaded) = store.dora_load().await.unwrap();
    assert_eq!(loaded, vec![bare]);
}
both!(incident_details_are_kept);

async fn incidents_are_listed_by_service_and_window(store: &Store) {
    let events = vec![
        // Resolved before the window.
        incident(
            "pagerduty",
            "old",
            "checkout",
            "2026-02-01T00:00:00Z",
            Some("2026-02-28T23:00:00Z"),
        ),
        // Started before, resolved inside: it was open in the window.
        incident(
            "pagerduty",
            "long",
            "checkout",
            "2026-02-20T00:00:00Z",
            Some("2026-03-02T00:00:00Z"),
        ),
        detailed(),
        incident(
            "gitlab",
            "9",
            "search",
            "2026-03-07T01:00:00Z",
            Some("2026-03-07T05:00:00Z"),
        ),
        // Still open.
        incident(
            "pagerduty",
            "open",
            "checkout",
            "2026-03-10T00:00:00Z",
            None,
        ),
        // Started at the window's end (exclusive).
        incident(
            "pagerduty",
            "later",
            "checkout",
            "2026-03-15T00:00:00Z",
            None,
        ),
    ];
    store
        .dora_upsert(events.into_iter().map(Event::Incident).collect())
        .await
        .unwrap();
    let ids = |v: Vec<Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let q = IncidentQuery {
        services: None,
        from: ms("2026-03-01T00:00:00Z"),
        to: ms("2026-03-15T00:00:00Z"),
        limit: 100,
    };
    assert_eq!(
        ids(store.dora_incidents(&q).await.unwrap()),
        vec!["open", "9", "PD-1", "long"]
    );
    let checkout = ["checkout".to_owned()];
    let only = IncidentQuery {
        services: Some(&checkout),
        ..q
    };
    let listed = store.dora_incidents(&only).await.unwrap();
    assert_eq!(listed[1], detailed());
    assert_eq!(ids(listed), vec!["open", "PD-1", "long"]);
    let limited = IncidentQuery { limit: 2, ..only };
    assert_eq!(
        ids(store.dora_incidents(&limited).await.unwrap()),
        vec!["open", "PD-1"]
    );
    let nobody: [String; 0] = [];
    let none = IncidentQuery {
        services: Some(&nobody),
        ..q
    };
    assert!(store.dora_incidents(&none).await.unwrap().is_empty());
    // Many services (several queries): still the newest first, at most the limit.
    let mut many: Vec<String> = (0..1200).map(|i| format!("svc-{i}")).collect();
    many.push("search".into());
    many.push("checkout".into());
    let spread = IncidentQuery {
        services: Some(&many),
        limit: 3,
        ..q
    };
    assert_eq!(
        ids(store.dora_incidents(&spread).await.unwrap()),
        vec!["open", "9", "PD-1"]
    );
}
both!(incidents_are_listed_by_service_and_window);

async fn known_change_ids_are_found_whatever_their_source(store: &Store) {
    let change = |source: &str, id: &str| {
        Event::Change(socle_dora::Change {
            source: source.into(),
            id: id.into(),
            service: "checkout".into(),
            committed_at: 0,
            parent: None,
        })
    };
    store
        .dora_upsert(vec![change("github", "aaa"), change("gitlab", "bbb")])
        .await
        .unwrap();
    let ids: Vec<String> = ["aaa", "bbb", "ccc"].map(String::from).into();
    let known = store.dora_known_changes(&ids).await.unwrap();
    assert_eq!(
        known,
        ["aaa".to_owned(), "bbb".to_owned()].into_iter().collect()
    );
    assert!(store.dora_known_changes(&[]).await.unwrap().is_empty());
}
both!(known_change_ids_are_found_whatever_their_source);
