//! Notifications end to end: a golden path's `notification:send` reaches the users and teams it
//! names (a component's owners for a component), `GET /api/v1/notifications` lists only the
//! caller's, anonymous callers get 401, a member cannot broadcast, and a run that fails later
//! retracts what it sent. On SQLite and PostgreSQL.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: engineering
spec:
  type: department
  children: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  parent: engineering
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve
spec:
  memberOf: [team-b]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
spec:
  type: service
  lifecycle: production
  owner: team-a
";

/// A catalog template that notifies whom its values say, then fails when asked to.
const NOTIFY: &str = "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: notify
spec:
  owner: team-a
  type: service
  parameters:
    properties:
      recipients: {type: string, enum: [broadcast, entity]}
      refs: {type: array, items: {type: string}}
      title: {type: string}
      fail: {type: boolean, default: false}
  steps:
    - id: tell
      action: notification:send
      input:
        recipients: ${{ parameters.recipients }}
        entityRefs: ${{ parameters.refs }}
        title: ${{ parameters.title }}
        info: Created by a golden path
        link: /catalog/default/component/shop
        severity: high
    - id: boom
      if: ${{ parameters.fail }}
      action: fs:read
      input:
        path: missing.txt
";

struct Org {
    ann: String,
    eve: String,
}

async fn setup(s: &Server) -> Org {
    s.register_catalog(ORG).await;
    let dir = s.catalog_dir().join("templates/notify");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("catalog-info.yaml"), NOTIFY).unwrap();
    s.register(&dir).await;
    Org {
        ann: s.token("ann", "member").await,
        eve: s.token("eve", "member").await,
    }
}

async fn notify(s: &Server, token: &str, values: Value) -> (StatusCode, Value) {
    s.call(
        "POST",
        "/api/v1/templates/notify/runs",
        Some(token),
        Some(json!({"values": values})),
    )
    .await
}

async fn titles(s: &Server, token: Option<&str>) -> Vec<String> {
    let (status, page) = s.call("GET", "/api/v1/notifications", token, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_teams_notification_reaches_its_members_and_no_one_else(s: &Server) {
    let org = setup(s).await;
    let (status, run) = notify(
        s,
        &org.ann,
        json!({"recipients": "entity", "refs": ["group:default/team-a"], "title": "shop created"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (_, page) = s
        .call("GET", "/api/v1/notifications", Some(&org.ann), None)
        .await;
    assert_eq!(page["totalItems"], 1, "{page}");
    assert_eq!(page["nextCursor"], Value::Null);
    let n = &page["items"][0];
    assert_eq!(n["title"], "shop created");
    assert_eq!(n["description"], "Created by a golden path");
    assert_eq!(n["link"], "/catalog/default/component/shop");
    assert_eq!(n["severity"], "high");
    assert_eq!(n["recipients"], json!(["group:default/team-a"]));
    assert_eq!(n["origin"], "user:default/ann via golden path notify");
    // eve (team-b) does not see team-a's notification.
    assert_eq!(titles(s, Some(&org.eve)).await, Vec::<String>::new());
}
both!(a_teams_notification_reaches_its_members_and_no_one_else);

async fn anonymous_and_invalid_callers_get_401(s: &Server) {
    let _ = setup(s).await;
    let (status, e) = s.call("GET", "/api/v1/notifications", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{e}");
    let (status, _) = s
        .call("GET", "/api/v1/notifications", Some("not-a-token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
both!(anonymous_and_invalid_callers_get_401);

async fn a_parent_team_and_a_components_owners_are_reached(s: &Server) {
    let org = setup(s).await;
    for (refs, title) in [
        (json!(["group:default/engineering"]), "to the department"),
        (json!(["component:default/shop"]), "to shop's owners"),
        (json!(["user:default/eve"]), "to eve"),
    ] {
        let (status, run) = notify(
            s,
            &org.ann,
            json!({"recipients": "entity", "refs": refs, "title": title}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{run}");
    }
    assert_eq!(
        titles(s, Some(&org.ann)).await,
        vec!["to shop's owners", "to the department"]
    );
    assert_eq!(titles(s, Some(&org.eve)).await, vec!["to eve"]);
}
both!(a_parent_team_and_a_components_owners_are_reached);

async fn a_member_cannot_broadcast_an_admin_can(s: &Server) {
    let org = setup(s).await;
    let (status, e) = notify(
        s,
        &org.ann,
        json!({"recipients": "broadcast", "title": "to everyone"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let step_error = e["error"]["details"]["steps"][0]["error"].as_str().unwrap();
    assert!(step_error.contains("admins only"), "{step_error}");
    assert_eq!(titles(s, Some(&org.eve)).await, Vec::<String>::new());
    let (status, run) = notify(
        s,
        &s.admin,
        json!({"recipients": "broadcast", "title": "maintenance tonight"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(titles(s, Some(&org.eve)).await, vec!["maintenance tonight"]);
    assert_eq!(titles(s, Some(&org.ann)).await, vec!["maintenance tonight"]);
}
both!(a_member_cannot_broadcast_an_admin_can);

async fn a_failed_run_retracts_its_notification_and_bad_refs_are_named(s: &Server) {
    let org = setup(s).await;
    let (status, e) = notify(
        s,
        &org.ann,
        json!({"recipients": "entity", "refs": ["group:default/team-a"], "title": "half done", "fail": true}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let log = e["error"]["details"]["log"].to_string();
    assert!(log.contains("undid notification:send"), "{log}");
    assert_eq!(titles(s, Some(&org.ann)).await, Vec::<String>::new());
    let (status, e) = notify(
        s,
        &org.ann,
        json!({"recipients": "entity", "refs": ["group:default/nope"], "title": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("group:default/nope is not in the catalog"),
        "{e}"
    );
}
both!(a_failed_run_retracts_its_notification_and_bad_refs_are_named);

async fn notifications_page_with_a_cursor(s: &Server) {
    let org = setup(s).await;
    for i in 1..=3 {
        let (status, run) = notify(
            s,
            &org.ann,
            json!({"recipients": "entity", "refs": ["user:default/ann"], "title": format!("n{i}")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{run}");
    }
    let (_, p1) = s
        .call("GET", "/api/v1/notifications?limit=2", Some(&org.ann), None)
        .await;
    assert_eq!(p1["totalItems"], 3);
    let got: Vec<&str> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec!["n3", "n2"]);
    let cursor = p1["nextCursor"].as_str().unwrap();
    let (_, p2) = s
        .call(
            "GET",
            &format!("/api/v1/notifications?limit=2&cursor={cursor}"),
            Some(&org.ann),
            None,
        )
        .await;
    assert_eq!(p2["items"][0]["title"], "n1");
    assert_eq!(p2["nextCursor"], Value::Null);
    let (status, e) = s
        .call(
            "GET",
            "/api/v1/notifications?cursor=run-1",
            Some(&org.ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
}
both!(notifications_page_with_a_cursor);
