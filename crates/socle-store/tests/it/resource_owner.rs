//! A provisioned resource's owner: saved the first time, never replaced (issue 12).

use std::collections::BTreeSet;

use socle_store::{Store, StoreError};

use super::open;
use super::record;

const TEAM_A: &str = "group:default/team-a";

fn owned(
    uid: &str,
    used_by: &[&str],
    owner: Option<&str>,
    params: &str,
) -> socle_store::ResourceRecord {
    socle_store::ResourceRecord {
        owner: owner.map(str::to_owned),
        params_hash: Some(params.to_owned()),
        ..record(uid, used_by, "pw")
    }
}

fn users(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

async fn the_first_owner_is_kept(store: &Store) {
    store
        .apply_resources(
            "dev",
            &users(&["orders"]),
            &[owned("orders-db", &["orders"], Some(TEAM_A), "p1")],
            1,
        )
        .await
        .unwrap();
    // A later save without an owner (the CLI's `workload generate`) keeps it, and the params move.
    store
        .apply_resources(
            "dev",
            &users(&["tool"]),
            &[owned("orders-db", &["tool"], None, "p2")],
            2,
        )
        .await
        .unwrap();
    let own = store.resource_ownership("dev").await.unwrap();
    assert_eq!(own["orders-db"].owner.as_deref(), Some(TEAM_A));
    assert_eq!(own["orders-db"].params_hash.as_deref(), Some("p2"));
    assert_eq!(own["orders-db"].used_by, users(&["orders", "tool"]));
    let rows = store.list_resources(Some("dev")).await.unwrap();
    assert_eq!(rows[0].owner.as_deref(), Some(TEAM_A));
}
both!(the_first_owner_is_kept);

async fn a_save_naming_another_owner_is_refused(store: &Store) {
    store
        .apply_resources(
            "dev",
            &users(&["orders"]),
            &[owned("orders-db", &["orders"], Some(TEAM_A), "p1")],
            1,
        )
        .await
        .unwrap();
    // Team B saw no owner, provisioned it as its own meanwhile: nothing of its save is kept.
    let e = store
        .apply_resources(
            "dev",
            &users(&["billing"]),
            &[owned(
                "orders-db",
                &["billing"],
                Some("group:default/team-b"),
                "p9",
            )],
            2,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::User(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "resource orders-db in dev is owned by group:default/team-a, not by group:default/team-b: it was provisioned by that team meanwhile; deploy again"
    );
    let own = store.resource_ownership("dev").await.unwrap();
    assert_eq!(
        (
            own["orders-db"].owner.as_deref(),
            own["orders-db"].params_hash.as_deref()
        ),
        (Some(TEAM_A), Some("p1"))
    );
    assert_eq!(own["orders-db"].used_by, users(&["orders"]));
}
both!(a_save_naming_another_owner_is_refused);

async fn an_unowned_resource_is_adopted_by_the_first_team_that_saves_it(store: &Store) {
    store
        .apply_resources(
            "dev",
            &users(&["orders"]),
            &[owned("orders-db", &["orders"], None, "p1")],
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        store.resource_ownership("dev").await.unwrap()["orders-db"].owner,
        None
    );
    store
        .apply_resources(
            "dev",
            &users(&["orders"]),
            &[owned("orders-db", &["orders"], Some(TEAM_A), "p1")],
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        store.resource_ownership("dev").await.unwrap()["orders-db"]
            .owner
            .as_deref(),
        Some(TEAM_A)
    );
}
both!(an_unowned_resource_is_adopted_by_the_first_team_that_saves_it);
