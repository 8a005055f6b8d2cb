//! The authorisation matrix: every API route × every actor → allowed or refused (401/403),
//! from one table. The table must name exactly the routes the server's source declares, so a
//! route cannot be added without deciding who may call it.
//!
//! Actors: anonymous, a token that is not valid, a viewer, a member of another team (eve, in
//! team-b), a member of the owning team (ann, in team-a, which owns `shop`), an admin. "Allowed"
//! means the request got past authorisation: any status but 401 and 403, and never a 5xx.

use std::collections::BTreeSet;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
}
use Expect::{Allowed as Y, Forbidden as F, Unauthenticated as U};

/// Who may call a route, per actor: [anonymous, invalid token, viewer, other team, owner, admin].
type Row = [Expect; 6];
/// Health and the API description: anyone.
const OPEN: Row = [Y, Y, Y, Y, Y, Y];
/// Reads: open on loopback (the harness), but an invalid token is refused.
const READ: Row = [Y, U, Y, Y, Y, Y];
/// Any member (their own locations, golden-path runs).
const MEMBER: Row = [U, U, F, Y, Y, Y];
/// Members of the owning team (or a parent team), and admins.
const OWNER: Row = [U, U, F, F, Y, Y];
/// Admins only.
const ADMIN: Row = [U, U, F, F, F, Y];
/// Anyone signed in, for what is theirs (their notifications).
const SIGNED_IN: Row = [U, U, Y, Y, Y, Y];
/// People of the catalog with a member's token (a survey's respondents): not a service account.
const PERSON: Row = [U, U, F, Y, Y, F];
/// Webhooks authenticate by signature, not by token (and none is configured here).
const SIGNED_PAYLOAD: Row = [U, U, U, U, U, U];

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
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
kind: User
metadata:
  name: val
spec:
  memberOf: []
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

const SHOP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n";

/// One operation: method, the path as the router declares it, the path to call, the body.
struct Op {
    method: &'static str,
    route: &'static str,
    path: String,
    body: Option<Value>,
    row: Row,
}

fn op(method: &'static str, route: &'static str, path: &str, body: Option<Value>, row: Row) -> Op {
    Op {
        method,
        route,
        path: path.to_owned(),
        body,
        row,
    }
}

fn table(location_id: &str, catalog_dir: &str) -> Vec<Op> {
    let deploy = json!({"workload": SHOP, "environment": "dev", "image": "ghcr.io/acme/shop:1"});
    let incident = json!({"id": "INC-1", "service": "shop", "started_at": "2026-01-05T11:00:00Z"});
    let waiver = json!({"rule": "image-tag", "entity": "component:default/shop", "environment": "dev",
        "reason": "r", "owner": "group:default/team-a", "expires_at": 4_102_444_800_000_i64});
    let token = json!({"name": "t", "subject": "user:default/val", "role": "viewer"});
    let run = json!({"values": {"name": "orders"}, "dry_run": true});
    let sarif =
        json!({"entity": "component:default/shop", "sarif": {"version": "2.1.0", "runs": []}});
    let file_location = json!({"type": "file", "target": catalog_dir});
    let git_elsewhere = json!({"type": "git", "target": "/srv/elsewhere.git"});
    let loc = format!("/api/v1/locations/{location_id}");
    let refresh = format!("{loc}/refresh");
    vec![
        op("GET", "/healthz", "/healthz", None, OPEN),
        op("GET", "/readyz", "/readyz", None, OPEN),
        op("GET", "/api/openapi.json", "/api/openapi.json", None, OPEN),
        op("GET", "/metrics", "/metrics", None, READ),
        op("GET", "/api/v1/whoami", "/api/v1/whoami", None, READ),
        op("GET", "/api/v1/entities", "/api/v1/entities", None, READ),
        op("GET", "/api/v1/entities/{kind}/{namespace}/{name}", "/api/v1/entities/component/default/shop", None, READ),
        op("GET", "/api/v1/entities/{kind}/{namespace}/{name}/relations", "/api/v1/entities/component/default/shop/relations", None, READ),
        op("GET", "/api/v1/relations/dangling", "/api/v1/relations/dangling", None, READ),
        op("GET", "/api/v1/search", "/api/v1/search?q=shop", None, READ),
        op("GET", "/api/v1/facets", "/api/v1/facets", None, READ),
        op("GET", "/api/v1/locations", "/api/v1/locations", None, READ),
        op("GET", "/api/v1/locations/{id}", &loc, None, READ),
        op("POST", "/api/v1/locations", "/api/v1/locations", Some(git_elsewhere), [U, U, F, F, F, Y]),
        op("POST", "/api/v1/locations", "/api/v1/locations", Some(file_location), ADMIN),
        op("POST", "/api/v1/locations/{id}/refresh", &refresh, None, ADMIN),
        op("POST", "/api/v1/refresh", "/api/v1/refresh", None, ADMIN),
        op("POST", "/api/v1/org/sync", "/api/v1/org/sync", None, ADMIN),
        op("GET", "/api/v1/tokens", "/api/v1/tokens", None, ADMIN),
        op("POST", "/api/v1/tokens", "/api/v1/tokens", Some(token), ADMIN),
        op("DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/nope", None, ADMIN),
        op("GET", "/api/v1/audit", "/api/v1/audit", None, ADMIN),
        op("GET", "/api/v1/deployments", "/api/v1/deployments", None, READ),
        op("POST", "/api/v1/deployments", "/api/v1/deployments", Some(deploy), OWNER),
        op("POST", "/api/v1/deployments/promote", "/api/v1/deployments/promote", Some(json!({"service": "shop", "from": "dev", "to": "staging"})), OWNER),
        op("POST", "/api/v1/deployments/rollback", "/api/v1/deployments/rollback", Some(json!({"service": "shop", "environment": "staging"})), OWNER),
        op("GET", "/api/v1/resources", "/api/v1/resources", None, READ),
        op("GET", "/api/v1/secret-store/{environment}/{uid}", "/api/v1/secret-store/dev/nope", None, ADMIN),
        op("POST", "/api/v1/policy/eval", "/api/v1/policy/eval", Some(json!({"documents": "kind: ConfigMap\n"})), READ),
        op("POST", "/api/v1/policy/test", "/api/v1/policy/test", Some(json!({"files": {}})), ADMIN),
        op("GET", "/api/v1/policy/waivers", "/api/v1/policy/waivers", None, READ),
        op("POST", "/api/v1/policy/waivers", "/api/v1/policy/waivers", Some(waiver), ADMIN),
        op("DELETE", "/api/v1/policy/waivers/{id}", "/api/v1/policy/waivers/nope", None, ADMIN),
        op("GET", "/api/v1/policy/results", "/api/v1/policy/results?entity=shop", None, READ),
        op("GET", "/api/v1/policy/entities/{kind}/{namespace}/{name}", "/api/v1/policy/entities/component/default/shop", None, READ),
        op("POST", "/api/v1/dora/events", "/api/v1/dora/events", Some(Value::String(
            "{\"type\":\"incident\",\"id\":\"i9\",\"service\":\"shop\",\"started_at\":\"2026-01-05T11:00:00Z\"}\n".into())), OWNER),
        op("POST", "/api/v1/dora/incidents", "/api/v1/dora/incidents", Some(incident), OWNER),
        op("GET", "/api/v1/dora/incidents", "/api/v1/dora/incidents?service=shop", None, READ),
        op("POST", "/api/v1/dora/webhooks/github", "/api/v1/dora/webhooks/github", Some(json!({})), SIGNED_PAYLOAD),
        op("POST", "/api/v1/dora/webhooks/gitlab", "/api/v1/dora/webhooks/gitlab", Some(json!({})), SIGNED_PAYLOAD),
        op("GET", "/api/v1/dora/report", "/api/v1/dora/report", None, READ),
        op("GET", "/api/v1/dora/teams", "/api/v1/dora/teams", None, READ),
        op("GET", "/api/v1/dora/scopes", "/api/v1/dora/scopes", None, READ),
        op("GET", "/api/v1/templates", "/api/v1/templates", None, READ),
        op("GET", "/api/v1/templates/{name}", "/api/v1/templates/rust-axum-service", None, READ),
        op("POST", "/api/v1/templates/{name}/runs", "/api/v1/templates/rust-axum-service/runs", Some(run), MEMBER),
        op("GET", "/api/v1/templates/runs", "/api/v1/templates/runs", None, READ),
        op("GET", "/api/v1/templates/runs/{id}", "/api/v1/templates/runs/nope", None, READ),
        op("GET", "/api/v1/notifications", "/api/v1/notifications", None, SIGNED_IN),
        op("GET", "/api/v1/slos", "/api/v1/slos", None, READ),
        op("GET", "/api/v1/data/products", "/api/v1/data/products", None, READ),
        op("GET", "/api/v1/data/products/{name}/quality", "/api/v1/data/products/nope/quality", None, READ),
        op("POST", "/api/v1/data/products/{name}/quality", "/api/v1/data/products/nope/quality",
            Some(json!({"server": "production", "checks": [{"name": "row count", "result": "passed"}]})), MEMBER),
        op("GET", "/api/v1/data/products/{name}/lineage", "/api/v1/data/products/nope/lineage", None, READ),
        op("GET", "/api/v1/data/runs", "/api/v1/data/runs", None, READ),
        op("GET", "/api/v1/data/runs/{id}", "/api/v1/data/runs/nope", None, READ),
        op("GET", "/api/v1/data/access", "/api/v1/data/access", None, SIGNED_IN),
        op("GET", "/api/v1/data/access/check", "/api/v1/data/access/check?product=nope&classification=pii", None, SIGNED_IN),
        op("POST", "/api/v1/data/access", "/api/v1/data/access", Some(json!({"product": "nope", "classification": "pii",
            "purpose": "matrix of who may ask", "days": 7})), MEMBER),
        op("POST", "/api/v1/data/access/{id}/approve", "/api/v1/data/access/nope/approve", Some(json!({})), MEMBER),
        op("POST", "/api/v1/data/access/{id}/deny", "/api/v1/data/access/nope/deny", Some(json!({"note": "no"})), MEMBER),
        op("POST", "/api/v1/data/access/{id}/revoke", "/api/v1/data/access/nope/revoke", None, MEMBER),
        op("GET", "/api/v1/entities/{kind}/{namespace}/{name}/slos", "/api/v1/entities/component/default/shop/slos", None, READ),
        op("POST", "/api/v1/slo/events", "/api/v1/slo/events", Some(json!({"entity": "shop", "slo": "availability", "environment": "prod",
            "intervals": [{"start": "2026-01-05T11:00:00Z", "end": "2026-01-05T11:01:00Z", "good": 9, "total": 10}]})), OWNER),
        op("GET", "/api/v1/scorecards", "/api/v1/scorecards", None, READ),
        op("GET", "/api/v1/scorecards/{name}", "/api/v1/scorecards/production-readiness", None, READ),
        op("GET", "/api/v1/campaigns", "/api/v1/campaigns", None, READ),
        op("GET", "/api/v1/campaigns/{name}", "/api/v1/campaigns/nope", None, READ),
        op("GET", "/api/v1/campaigns/{name}/teams/{team}", "/api/v1/campaigns/nope/teams/team-a", None, READ),
        op("GET", "/api/v1/campaigns/{name}/promotion", "/api/v1/campaigns/nope/promotion?into=production-readiness&level=Gold", None, READ),
        op("GET", "/api/v1/scorecards/{name}/history", "/api/v1/scorecards/production-readiness/history?team=team-a&days=7", None, READ),
        op("GET", "/api/v1/entities/{kind}/{namespace}/{name}/scorecards", "/api/v1/entities/component/default/shop/scorecards", None, READ),
        op("GET", "/api/v1/entities/{kind}/{namespace}/{name}/findings", "/api/v1/entities/component/default/shop/findings", None, READ),
        op("POST", "/api/v1/findings", "/api/v1/findings", Some(sarif), OWNER),
        op("GET", "/api/v1/surveys", "/api/v1/surveys", None, READ),
        op("GET", "/api/v1/surveys/{name}", "/api/v1/surveys/devex", None, READ),
        op("POST", "/api/v1/surveys/{name}/answers", "/api/v1/surveys/devex/answers", Some(json!({"answers": {"recommend": 9}})), PERSON),
        op("GET", "/api/v1/feedback", "/api/v1/feedback", None, SIGNED_IN),
        op("POST", "/api/v1/feedback", "/api/v1/feedback", Some(json!({"page": "/", "rating": 4, "comment": "matrix"})), SIGNED_IN),
        op("POST", "/api/v1/feedback/{id}/status", "/api/v1/feedback/nope/status", Some(json!({"status": "planned"})), ADMIN),
        op("GET", "/api/v1/surveys/{name}/results", "/api/v1/surveys/devex/results", None, READ),
        op("GET", "/api/v1/adoption", "/api/v1/adoption?since=30d", None, SIGNED_IN),
        op("GET", "/api/v1/adoption/teams/{team}", "/api/v1/adoption/teams/team-a", None, OWNER),
        // Last: it removes the location the rows above use.
        op("DELETE", "/api/v1/locations/{id}", &loc, None, ADMIN),
    ]
}

/// `(METHOD, route)` for every `.route("…", get(…).post(…))` in the API's source.
fn declared_routes() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for chunk in text.split(".route(").skip(1) {
            let Some(start) = chunk.find('"') else {
                continue;
            };
            let rest = &chunk[start + 1..];
            let Some(end) = rest.find('"') else { continue };
            let route = &rest[..end];
            if !route.starts_with('/') {
                continue;
            }
            // The handlers: up to the next route or the end of the builder.
            let handlers = rest[end..].split([';', '}']).next().unwrap_or_default();
            for m in ["get", "post", "put", "patch", "delete"] {
                if handlers.contains(&format!("{m}(")) {
                    out.insert((m.to_uppercase(), route.to_owned()));
                }
            }
        }
    }
    out
}

#[test]
fn every_declared_route_has_a_row() {
    let declared = declared_routes();
    let rows: BTreeSet<(String, String)> = table("x", "/x")
        .iter()
        .map(|o| (o.method.to_owned(), o.route.to_owned()))
        .collect();
    assert!(declared.len() > 40, "{declared:?}");
    assert_eq!(
        declared.difference(&rows).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes without a row in the authorisation matrix"
    );
    assert_eq!(
        rows.difference(&declared).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "rows for routes that do not exist"
    );
}

async fn call(s: &Server, o: &Op, token: Option<&str>) -> StatusCode {
    match &o.body {
        Some(Value::String(lines)) => {
            let auth = token.map(|t| format!("Bearer {t}"));
            let mut headers = vec![("content-type", "application/x-ndjson")];
            if let Some(a) = &auth {
                headers.push(("authorization", a.as_str()));
            }
            s.call_bytes(o.method, &o.path, &headers, lines.clone().into_bytes())
                .await
                .0
        }
        body => s.call(o.method, &o.path, token, body.clone()).await.0,
    }
}

async fn every_route_refuses_whom_it_must(s: &Server) {
    let (location, _) = s.register_catalog(ORG).await;
    let second = s.dir.path().join("second");
    std::fs::create_dir_all(&second).unwrap();
    let actors: [Option<String>; 6] = [
        None,
        Some("socle_not_a_token".into()),
        Some(s.token("val", "viewer").await),
        Some(s.token("eve", "member").await),
        Some(s.token("ann", "member").await),
        Some(s.admin.clone()),
    ];
    let names = [
        "anonymous",
        "invalid token",
        "viewer",
        "other team",
        "owner",
        "admin",
    ];
    let mut wrong = Vec::new();
    for o in table(&location, &second.to_string_lossy()) {
        for (i, actor) in actors.iter().enumerate() {
            let status = call(s, &o, actor.as_deref()).await;
            let got = match status {
                StatusCode::UNAUTHORIZED => U,
                StatusCode::FORBIDDEN => F,
                _ => Y,
            };
            if got != o.row[i] || status.is_server_error() {
                wrong.push(format!(
                    "{} {} as {}: {status}, expected {:?}",
                    o.method, o.path, names[i], o.row[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
both!(every_route_refuses_whom_it_must);
