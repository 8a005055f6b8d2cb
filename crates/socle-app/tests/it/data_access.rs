//! Data access grants through `App`: asked by a member, refused by the policy or decided by the
//! product's owner team (never by the requester, never by another team), expiring, revocable,
//! seen only by those it concerns, every step audited.

use std::sync::Arc;

use socle_app::data_access::{AccessRequest, Decision, GrantState};
use socle_app::{Actor, App, AppConfig, ErrorCode, FixedClock, Principal};
use socle_store::{LocationTrust, Role, Store};
use socle_testkit::Backend;

use crate::support::{register, user};

const T0: i64 = 1_780_000_000_000;
const DAY: i64 = 86_400_000;

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-checkout
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: analytics
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: olga
spec:
  memberOf: [team-checkout]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [analytics, team-checkout]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve
spec:
  memberOf: [analytics]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: lone
spec:
  memberOf: []
";

const CONTRACT: &str = include_str!("../../../../examples/orders.odcs.yaml");
const ORDERS: &str = "datacontract:default/orders";

async fn app(
    backend: Backend,
    dir: &std::path::Path,
    policy: Option<&str>,
) -> Option<(Arc<App>, Arc<FixedClock>)> {
    let config = socle_testkit::store_config(backend, dir, "socle_app")?;
    let store = Store::open(&config).await.unwrap();
    let data_access = policy.map(|p| {
        Arc::new(
            socle_app::data_access::access_policy(&[("data-access/extra.rego".into(), p.into())])
                .unwrap(),
        )
    });
    let settings = AppConfig {
        refresh_interval: None,
        gitops_root: dir.join("gitops"),
        data_access,
        ..Default::default()
    };
    let clock = FixedClock::at(T0);
    let app = App::with_clock(store, settings, clock.clone())
        .await
        .unwrap();
    register(&app, dir, "org.yaml", ORG, LocationTrust::Organisation).await;
    register(&app, dir, "orders.odcs.yaml", CONTRACT, LocationTrust::Team).await;
    Some((app, clock))
}

fn ask(days: u32, purpose: &str) -> AccessRequest {
    AccessRequest {
        product: "orders".into(),
        classification: "PII".into(),
        purpose: purpose.into(),
        days,
        team: Some("analytics".into()),
    }
}

const PURPOSE: &str = "churn model for the third quarter";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_approves_a_request_and_the_grant_expires_after_its_days() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, clock)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let eve = user("eve", Role::Member);
        let g = app
            .request_data_access(&eve, ask(30, PURPOSE))
            .await
            .unwrap();
        assert_eq!(g.state, GrantState::Pending);
        assert_eq!(g.grant.product, ORDERS);
        assert_eq!(g.grant.owner, "group:default/team-checkout");
        assert_eq!(g.grant.team, "group:default/analytics");
        assert_eq!(g.grant.classification, "pii");
        assert_eq!(g.grant.columns, ["orders.customer_email"]);
        clock.advance(1000);
        let olga = user("olga", Role::Member);
        let g = app
            .decide_data_access(
                &olga,
                &g.grant.id,
                Decision::Approve,
                Some("until the model ships"),
            )
            .await
            .unwrap();
        assert_eq!(g.state, GrantState::Active);
        assert_eq!(g.grant.expires_at, Some(T0 + 1000 + 30 * DAY));
        let active = app
            .data_access_active(&eve, "user:default/eve", "orders", "pii")
            .await
            .unwrap();
        assert_eq!(active.map(|a| a.grant.id), Some(g.grant.id.clone()));
        clock.advance(30 * DAY);
        let now = app.data_access_grants(&eve, Some("orders")).await.unwrap();
        assert_eq!(now[0].state, GrantState::Expired);
        assert!(
            app.data_access_active(&eve, "user:default/eve", "orders", "pii")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_decides_on_their_own_request_even_in_the_owner_team() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let ann = user("ann", Role::Member);
        let g = app
            .request_data_access(&ann, ask(30, PURPOSE))
            .await
            .unwrap();
        let err = app
            .decide_data_access(&ann, &g.grant.id, Decision::Approve, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden, "{err:?}");
        let admin_is_ann = Actor::Principal(Principal {
            token_id: "t2".into(),
            subject: "user:default/ann".into(),
            role: Role::Admin,
        });
        let err = app
            .decide_data_access(&admin_is_ann, &g.grant.id, Decision::Approve, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden, "an admin's own request too");
        let stored = app.store.grant(&g.grant.id).await.unwrap().unwrap();
        assert_eq!(stored.status, socle_store::GrantStatus::Pending);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_another_team_neither_decides_nor_sees_others_grants() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let ann = user("ann", Role::Member);
        let g = app
            .request_data_access(&ann, ask(30, PURPOSE))
            .await
            .unwrap();
        let eve = user("eve", Role::Member);
        let err = app
            .decide_data_access(&eve, &g.grant.id, Decision::Approve, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden);
        let err = app.revoke_data_access(&eve, &g.grant.id).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden);
        assert!(
            app.data_access_grants(&eve, Some("orders"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(app.data_access_grants(&eve, None).await.unwrap().is_empty());
        let viewer = user("vic", Role::Viewer);
        assert!(
            app.data_access_grants(&viewer, Some("orders"))
                .await
                .unwrap()
                .is_empty()
        );
        // The owners and admins see it.
        let olga = user("olga", Role::Member);
        assert_eq!(
            app.data_access_grants(&olga, Some("orders"))
                .await
                .unwrap()
                .len(),
            1
        );
        let admin = user("root", Role::Admin);
        assert_eq!(app.data_access_grants(&admin, None).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_and_viewers_cannot_ask() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let err = app
            .request_data_access(&Actor::Anonymous, ask(30, PURPOSE))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
        let err = app
            .request_data_access(&user("vic", Role::Viewer), ask(30, PURPOSE))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden);
        let err = app
            .data_access_grants(&Actor::Anonymous, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_policy_refuses_personal_data_past_90_days_a_vague_purpose_and_no_team() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let eve = user("eve", Role::Member);
        let err = app
            .request_data_access(&eve, ask(91, PURPOSE))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden);
        assert!(
            err.message.contains("at most 90 days; 91 were asked"),
            "{}",
            err.message
        );
        let err = app
            .request_data_access(&eve, ask(30, "stuff"))
            .await
            .unwrap_err();
        assert!(err.message.contains("purpose"), "{}", err.message);
        let mut lone = ask(30, PURPOSE);
        lone.team = None;
        let err = app
            .request_data_access(&user("lone", Role::Member), lone)
            .await
            .unwrap_err();
        assert!(
            err.message.contains("belongs to no team"),
            "{}",
            err.message
        );
        // Asking for a team one is not in is refused before the policy.
        let mut other = ask(30, PURPOSE);
        other.team = Some("team-checkout".into());
        let err = app.request_data_access(&eve, other).await.unwrap_err();
        assert!(
            err.message
                .contains("not a member of group:default/team-checkout"),
            "{}",
            err.message
        );
        assert!(
            app.store
                .grants(&Default::default())
                .await
                .unwrap()
                .is_empty(),
            "nothing stored"
        );
        let log = app.store.audit_log(10).await.unwrap();
        assert_eq!(log.len(), 4);
        assert!(
            log.iter()
                .all(|e| e.action == "data_access.request" && e.outcome == "denied")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platforms_own_rules_are_added_to_the_builtin_ones() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let extra = "package socle.data.access\nimport rego.v1\n\
                     deny contains \"no access to personal data for marketing\" if contains(lower(input.purpose), \"marketing\")\n";
        let Some((app, _)) = app(backend, dir.path(), Some(extra)).await else {
            continue;
        };
        let eve = user("eve", Role::Member);
        let err = app
            .request_data_access(&eve, ask(30, "Marketing campaign for Q3"))
            .await
            .unwrap_err();
        assert!(err.message.contains("for marketing"), "{}", err.message);
        let err = app
            .request_data_access(&eve, ask(91, PURPOSE))
            .await
            .unwrap_err();
        assert!(
            err.message.contains("at most 90 days"),
            "the built-in rules still hold"
        );
        app.request_data_access(&eve, ask(30, PURPOSE))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_is_revoked_once_and_every_step_is_audited() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, _)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let eve = user("eve", Role::Member);
        let olga = user("olga", Role::Member);
        let g = app
            .request_data_access(&eve, ask(30, PURPOSE))
            .await
            .unwrap();
        let err = app.revoke_data_access(&eve, &g.grant.id).await.unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::Conflict,
            "a pending request is not revoked"
        );
        app.decide_data_access(&olga, &g.grant.id, Decision::Approve, None)
            .await
            .unwrap();
        let err = app
            .decide_data_access(&olga, &g.grant.id, Decision::Deny, None)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Conflict, "decided once");
        let r = app.revoke_data_access(&eve, &g.grant.id).await.unwrap();
        assert_eq!(r.state, GrantState::Revoked);
        assert_eq!(r.grant.revoked_by.as_deref(), Some("user:default/eve"));
        let mut log: Vec<(String, String, String)> = app
            .store
            .audit_log(20)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("data_access."))
            .map(|e| (e.actor, e.action, e.outcome))
            .collect();
        log.reverse();
        let want = [
            ("eve", "data_access.request", "ok"),
            ("eve", "data_access.revoke", "failed"),
            ("olga", "data_access.approve", "ok"),
            ("olga", "data_access.deny", "failed"),
            ("eve", "data_access.revoke", "ok"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (format!("user:default/{a}"), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(log, want);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_says_whether_a_person_may_read_the_columns_now() {
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        let Some((app, clock)) = app(backend, dir.path(), None).await else {
            continue;
        };
        let eve = user("eve", Role::Member);
        let olga = user("olga", Role::Member);
        let before = app
            .data_access_check(&eve, None, "orders", "pii")
            .await
            .unwrap();
        assert!(!before.allowed);
        let g = app
            .request_data_access(&eve, ask(30, PURPOSE))
            .await
            .unwrap();
        app.decide_data_access(&olga, &g.grant.id, Decision::Approve, None)
            .await
            .unwrap();
        let mine = app
            .data_access_check(&eve, None, "orders", "PII")
            .await
            .unwrap();
        assert!(mine.allowed);
        assert_eq!(mine.user, "user:default/eve");
        assert_eq!(mine.grant.map(|g| g.grant.id), Some(g.grant.id.clone()));
        let by_owner = app
            .data_access_check(&olga, Some("user:default/eve"), "orders", "pii")
            .await
            .unwrap();
        assert!(by_owner.allowed, "the owners may ask about a consumer");
        let other = app
            .data_access_check(&eve, None, "orders", "confidential")
            .await
            .unwrap();
        assert!(!other.allowed, "another classification is not granted");
        let err = app
            .data_access_check(
                &user("lone", Role::Member),
                Some("user:default/eve"),
                "orders",
                "pii",
            )
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::Forbidden, "{err:?}");
        clock.advance(31 * DAY);
        let expired = app
            .data_access_check(&eve, None, "orders", "pii")
            .await
            .unwrap();
        assert!(!expired.allowed, "an expired grant allows nothing");
    }
}
