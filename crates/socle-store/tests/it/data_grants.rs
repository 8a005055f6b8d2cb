//! Data access grants: a decision is taken once (the second loses), only an approved grant is
//! revoked, an approval expires `days` after it, and lists filter as asked.

use socle_store::{GrantDecision, GrantQuery, GrantStatus, NewGrant, Store};

use super::open;

const DAY: i64 = 86_400_000;

fn request(requester: &str, product: &str, at: i64) -> NewGrant {
    NewGrant {
        product: product.into(),
        owner: "group:default/data".into(),
        requester: requester.into(),
        team: "group:default/analytics".into(),
        purpose: "churn model".into(),
        classification: "pii".into(),
        columns: vec!["customers.email".into(), "customers.phone".into()],
        days: 30,
        requested_at: at,
    }
}

fn decision(approve: bool, by: &str, at: i64) -> GrantDecision<'_> {
    GrantDecision {
        approve,
        by,
        at,
        note: Some("ok for the quarter"),
    }
}

async fn a_request_is_stored_pending_with_its_columns(store: &Store) {
    let g = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/customers",
            1000,
        ))
        .await
        .unwrap();
    assert_eq!(g.status, GrantStatus::Pending);
    assert_eq!(g.columns, ["customers.email", "customers.phone"]);
    assert_eq!((g.days, g.requested_at, g.expires_at), (30, 1000, None));
    assert_eq!(store.grant(&g.id).await.unwrap(), Some(g.clone()));
    assert_eq!(
        store.pending_grants_of("user:default/ann").await.unwrap(),
        1
    );
}
both!(a_request_is_stored_pending_with_its_columns);

async fn an_approval_expires_after_its_days_and_a_second_decision_loses(store: &Store) {
    let g = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/customers",
            1000,
        ))
        .await
        .unwrap();
    assert!(
        store
            .decide_grant(&g.id, &decision(true, "user:default/olga", 5000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_grant(&g.id, &decision(false, "user:default/otto", 6000))
            .await
            .unwrap()
    );
    let g = store.grant(&g.id).await.unwrap().unwrap();
    assert_eq!(g.status, GrantStatus::Approved);
    assert_eq!(g.decided_by.as_deref(), Some("user:default/olga"));
    assert_eq!(g.decided_at, Some(5000));
    assert_eq!(g.expires_at, Some(5000 + 30 * DAY));
    assert_eq!(g.note.as_deref(), Some("ok for the quarter"));
    assert_eq!(
        store.pending_grants_of("user:default/ann").await.unwrap(),
        0
    );
}
both!(an_approval_expires_after_its_days_and_a_second_decision_loses);

async fn a_denied_grant_has_no_expiry_and_cannot_be_revoked(store: &Store) {
    let g = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/customers",
            1000,
        ))
        .await
        .unwrap();
    assert!(
        store
            .decide_grant(&g.id, &decision(false, "user:default/olga", 5000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_grant(&g.id, "user:default/olga", 6000)
            .await
            .unwrap()
    );
    let g = store.grant(&g.id).await.unwrap().unwrap();
    assert_eq!(
        (g.status, g.expires_at, g.revoked_at),
        (GrantStatus::Denied, None, None)
    );
}
both!(a_denied_grant_has_no_expiry_and_cannot_be_revoked);

async fn only_an_approved_grant_is_revoked_once(store: &Store) {
    let g = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/customers",
            1000,
        ))
        .await
        .unwrap();
    assert!(
        !store
            .revoke_grant(&g.id, "user:default/ann", 2000)
            .await
            .unwrap(),
        "pending"
    );
    store
        .decide_grant(&g.id, &decision(true, "user:default/olga", 3000))
        .await
        .unwrap();
    assert!(
        store
            .revoke_grant(&g.id, "user:default/ann", 4000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_grant(&g.id, "user:default/olga", 5000)
            .await
            .unwrap(),
        "twice"
    );
    let g = store.grant(&g.id).await.unwrap().unwrap();
    assert_eq!(g.status, GrantStatus::Revoked);
    assert_eq!(
        (g.revoked_by.as_deref(), g.revoked_at),
        (Some("user:default/ann"), Some(4000))
    );
}
both!(only_an_approved_grant_is_revoked_once);

async fn lists_filter_by_product_requester_and_status_newest_first(store: &Store) {
    let a = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/customers",
            1,
        ))
        .await
        .unwrap();
    let b = store
        .create_grant(&request(
            "user:default/bob",
            "datacontract:default/customers",
            2,
        ))
        .await
        .unwrap();
    let c = store
        .create_grant(&request(
            "user:default/ann",
            "datacontract:default/orders",
            3,
        ))
        .await
        .unwrap();
    store
        .decide_grant(&b.id, &decision(true, "user:default/olga", 4))
        .await
        .unwrap();
    let ids = |v: Vec<socle_store::GrantRecord>| v.into_iter().map(|g| g.id).collect::<Vec<_>>();
    let q = |product, requester, status| GrantQuery {
        product,
        requester,
        status,
        limit: 10,
    };
    assert_eq!(
        ids(store.grants(&q(None, None, None)).await.unwrap()),
        [c.id.clone(), b.id.clone(), a.id.clone()]
    );
    assert_eq!(
        ids(store
            .grants(&q(Some("datacontract:default/customers"), None, None))
            .await
            .unwrap()),
        [b.id.clone(), a.id.clone()]
    );
    assert_eq!(
        ids(store
            .grants(&q(None, Some("user:default/ann"), None))
            .await
            .unwrap()),
        [c.id.clone(), a.id.clone()]
    );
    assert_eq!(
        ids(store
            .grants(&q(None, None, Some(GrantStatus::Approved)))
            .await
            .unwrap()),
        vec![b.id.clone()]
    );
    let one = GrantQuery {
        limit: 1,
        ..Default::default()
    };
    assert_eq!(ids(store.grants(&one).await.unwrap()), vec![c.id.clone()]);
}
both!(lists_filter_by_product_requester_and_status_newest_first);
