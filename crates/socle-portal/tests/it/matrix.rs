//! The portal's authorisation matrix: every portal route × every actor → allowed or refused,
//! from one table that must name exactly the routes `socle_portal::routes` declares (a new page
//! or form cannot be added without deciding who may use it). The API's routes have their own
//! matrix in `socle-api/tests/it/matrix.rs`.
//!
//! Actors: anonymous, a viewer, a member of another team (bob, team-b), a member of the owning
//! team (alice, team-a owns svc-a), an admin; each signed in with a session and posting its
//! session's CSRF token. "Allowed" means past authorisation: any status but 401 and 403, never
//! a 5xx.

use std::collections::BTreeSet;

use hyper::StatusCode;

use crate::harness::{BACKENDS, Server, start};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Allowed,
    Unauthenticated,
    Forbidden,
}
use Expect::{Allowed as Y, Forbidden as F, Unauthenticated as U};

/// Per actor: [anonymous, viewer, other team, owner, admin].
type Row = [Expect; 5];
/// Pages and assets: anyone (reads are open on loopback, as in the harness).
const READ: Row = [Y, Y, Y, Y, Y];
/// Any signed-in member.
const MEMBER: Row = [U, F, Y, Y, Y];
/// Members of the owning team, and admins.
const OWNER: Row = [U, F, F, Y, Y];
/// Anyone signed in (signing out is a form with the session's CSRF token).
const SIGNED_IN: Row = [U, Y, Y, Y, Y];
/// A person's own things (personal tokens): any signed-in `user:`, not a service account.
const PERSON: Row = [U, Y, Y, Y, F];
/// Admins only (the platform team's triage).
const ADMIN: Row = [U, F, F, F, Y];
/// Answering a survey: people of the catalog with a member's role (not a viewer, not a
/// service account).
const RESPONDENT: Row = [U, F, Y, Y, F];
/// Signing in with a token that is not valid: refused to everyone.
const BAD_TOKEN: Row = [U, U, U, U, U];

struct Op {
    method: &'static str,
    route: &'static str,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    row: Row,
}

const fn get(route: &'static str, path: &'static str) -> Op {
    Op {
        method: "GET",
        route,
        path,
        form: &[],
        row: READ,
    }
}

const fn post(
    route: &'static str,
    path: &'static str,
    form: &'static [(&'static str, &'static str)],
    row: Row,
) -> Op {
    Op {
        method: "POST",
        route,
        path,
        form,
        row,
    }
}

#[rustfmt::skip]
const TABLE: &[Op] = &[
    get("/", "/"),
    get("/catalog", "/catalog?q=svc"),
    get("/catalog/{kind}/{namespace}/{name}", "/catalog/component/default/svc-a"),
    get("/catalog/{kind}/{namespace}/{name}/docs", "/catalog/component/default/svc-a/docs"),
    get("/catalog/{kind}/{namespace}/{name}/docs/{*path}", "/catalog/component/default/svc-a/docs/guide.md"),
    get("/teams", "/teams"),
    get("/create", "/create"),
    get("/create/{template}", "/create/rust-axum-service"),
    // Fails validation (no owner): past authorisation, nothing created.
    post("/create/{template}", "/create/rust-axum-service", &[("p.name", "orders")], MEMBER),
    get("/create/runs/{id}", "/create/runs/nope"),
    get("/create/live/{key}", "/create/live/nope"),
    get("/deployments", "/deployments"),
    post("/deployments/promote", "/deployments/promote", &[("service", "svc-a"), ("from", "dev"), ("to", "staging")], OWNER),
    post("/deployments/rollback", "/deployments/rollback", &[("service", "svc-a"), ("environment", "dev")], OWNER),
    post("/deployments/act", "/deployments/act", &[("op", "promote svc-a dev staging")], OWNER),
    get("/dora", "/dora"),
    get("/slos", "/slos"),
    get("/data", "/data"),
    get("/data/runs", "/data/runs"),
    get("/data/runs/{id}", "/data/runs/nope"),
    post("/data/access", "/data/access", &[("product", "nope"), ("classification", "pii"), ("purpose", "matrix of who may ask"), ("days", "7")], MEMBER),
    post("/data/access/decide", "/data/access/decide", &[("id", "nope"), ("decision", "approve"), ("back", "/data")], MEMBER),
    post("/data/access/revoke", "/data/access/revoke", &[("id", "nope"), ("back", "/data")], MEMBER),
    get("/scorecards", "/scorecards"),
    get("/scorecards/{name}", "/scorecards/production-readiness"),
    get("/campaigns", "/campaigns"),
    get("/campaigns/{name}", "/campaigns/nope"),
    get("/catalog/{kind}/{namespace}/{name}/slos", "/catalog/component/default/svc-a/slos"),
    get("/catalog/{kind}/{namespace}/{name}/slos/rules", "/catalog/component/default/svc-a/slos/rules"),
    get("/catalog/{kind}/{namespace}/{name}/slos/rules.yaml", "/catalog/component/default/svc-a/slos/rules.yaml"),
    get("/signin", "/signin"),
    post("/signin", "/signin", &[("token", "socle_not_a_token"), ("next", "/")], BAD_TOKEN),
    // Single sign-on is not configured in the harness: 404 for everyone (tests/it/oidc.rs).
    get("/auth/oidc/start", "/auth/oidc/start?next=/"),
    get("/auth/oidc/callback", "/auth/oidc/callback?code=c&state=s"),
    Op { method: "GET", route: "/tokens", path: "/tokens", form: &[], row: PERSON },
    post("/tokens", "/tokens", &[("name", "matrix"), ("role", "viewer")], PERSON),
    post("/tokens/revoke", "/tokens/revoke", &[("id", "nope")], PERSON),
    Op { method: "GET", route: "/feedback", path: "/feedback", form: &[], row: SIGNED_IN },
    post("/feedback", "/feedback", &[("rating", "4"), ("comment", "matrix")], SIGNED_IN),
    post("/feedback/status", "/feedback/status", &[("id", "nope"), ("status", "planned")], ADMIN),
    get("/surveys", "/surveys"),
    Op { method: "GET", route: "/surveys/{name}", path: "/surveys/devex", form: &[], row: SIGNED_IN },
    // No DevEx round may be open today (409) or it is, and the answer is taken once: past
    // authorisation either way.
    post("/surveys/{name}", "/surveys/devex", &[("recommend", "9")], RESPONDENT),
    get("/surveys/{name}/results", "/surveys/devex/results"),
    Op { method: "GET", route: "/adoption", path: "/adoption", form: &[], row: SIGNED_IN },
    Op { method: "GET", route: "/adoption.json", path: "/adoption.json?since=30d", form: &[], row: SIGNED_IN },
    get("/static/socle.css", "/static/socle.css"),
    get("/static/socle.js", "/static/socle.js"),
    // Last: it ends the session.
    post("/signout", "/signout", &[], SIGNED_IN),
];

/// `(METHOD, route)` for every `.route("…", get(…).post(…))` in the portal's `lib.rs`.
fn declared_routes() -> BTreeSet<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeSet::new();
    for chunk in text.split(".route(").skip(1) {
        let Some(start) = chunk.find('"') else {
            continue;
        };
        let rest = &chunk[start + 1..];
        let Some(end) = rest.find('"') else { continue };
        let route = &rest[..end];
        let handlers = rest[end..].split(".route(").next().unwrap_or_default();
        let handlers = handlers.split(".layer(").next().unwrap_or_default();
        for m in ["get", "post", "put", "patch", "delete"] {
            if handlers.contains(&format!("{m}(")) {
                out.insert((m.to_uppercase(), route.to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_portal_route_has_a_row() {
    let declared = declared_routes();
    let rows: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|o| (o.method.to_owned(), o.route.to_owned()))
        .collect();
    assert!(declared.len() > 15, "{declared:?}");
    assert_eq!(
        declared.difference(&rows).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "portal routes without a row in the authorisation matrix"
    );
    assert_eq!(
        rows.difference(&declared).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "rows for portal routes that do not exist"
    );
}

/// A signed-in actor: session secret and CSRF token.
struct Session {
    secret: String,
    csrf: String,
}

async fn session(s: &Server, token: &str) -> Session {
    let (secret, _) = s.sign_in(token).await;
    let csrf = s.csrf(&secret).await;
    Session { secret, csrf }
}

async fn call(s: &Server, o: &Op, who: Option<&Session>) -> StatusCode {
    let cookie = who.map(|w| w.secret.as_str());
    if o.method == "GET" {
        return s.get(o.path, cookie).await.status;
    }
    let mut form = o.form.to_vec();
    if let Some(w) = who {
        form.push(("csrf", w.csrf.as_str()));
    }
    s.post_form(o.path, cookie, &form, &[]).await.status
}

#[tokio::test]
async fn every_portal_route_refuses_whom_it_must() {
    for backend in BACKENDS {
        let Some(s) = start(backend, false).await else {
            continue;
        };
        s.deploy("svc-a", "dev").await;
        s.deploy("svc-a", "dev").await;
        let (_, viewer) = s
            .state
            .store
            .create_token("val", "user:default/val", socle_store::Role::Viewer, 1)
            .await
            .unwrap();
        let actors = [
            None,
            Some(session(&s, &viewer).await),
            Some(session(&s, &s.bob).await),
            Some(session(&s, &s.alice).await),
            Some(session(&s, &s.admin).await),
        ];
        let names = ["anonymous", "viewer", "other team", "owner", "admin"];
        let mut wrong = Vec::new();
        for o in TABLE {
            for (i, actor) in actors.iter().enumerate() {
                let status = call(&s, o, actor.as_ref()).await;
                let got = match status {
                    StatusCode::UNAUTHORIZED => U,
                    StatusCode::FORBIDDEN => F,
                    _ => Y,
                };
                if got != o.row[i] || status.is_server_error() {
                    wrong.push(format!(
                        "{backend}: {} {} as {}: {status}, expected {:?}",
                        o.method, o.path, names[i], o.row[i]
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
