use std::net::SocketAddr;

use hyper::StatusCode;
use socle_api::{AppState, ServerConfig};
use socle_store::{Role, Store};

pub const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

pub struct Server {
    pub addr: SocketAddr,
    pub admin: String,
    /// Member of team-a (`user:default/alice`).
    pub alice: String,
    /// Member of team-b (`user:default/bob`).
    pub bob: String,
    pub _dir: tempfile::TempDir,
    pub state: std::sync::Arc<AppState>,
    _running: socle_testkit::Running,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

/// The fixture catalog: two teams, their users, two services, an API with an OpenAPI
/// definition, a system, and docs for svc-a — with hostile text in places.
pub const CATALOG: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: [], members: [alice]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: [], members: [bob]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a], profile: {email: alice@example.com}}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: [team-b], profile: {email: bob@example.com}}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: shop}
spec: {owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc-a
  title: "Service A <script>alert('title')</script>"
  description: "Sells things <img src=x onerror=alert(1)>"
  tags: [rust]
  annotations:
    backstage.io/techdocs-ref: dir:.
    socle.dev/slo: slo.yaml
  links:
    - {url: "javascript:alert(1)", title: evil link}
    - {url: "https://example.com/runbook", title: Runbook}
spec: {type: service, lifecycle: production, owner: team-a, system: shop, providesApis: [orders-api], dependsOn: [component:svc-b]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-b, description: The B service}
spec: {type: service, lifecycle: experimental, owner: team-b}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: orders-api}
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: |
    openapi: 3.0.0
    info: {title: Orders, version: 1.0.0}
    paths:
      /orders:
        get: {summary: List orders, responses: {'200': {description: ok}}}
        post: {summary: "Create an order <script>x()</script>", responses: {'201': {description: created}}}
"#;

/// svc-a's SLO: 99% availability, with Sloth's page and ticket alerts.
pub const SLO_FILE: &str = r#"version: "prometheus/v1"
service: "svc-a"
slos:
  - name: "availability"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="svc-a",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="svc-a"}[{{.window}}]))
    alerting:
      name: SvcAAvailability
      page_alert:
        labels:
          severity: page
      ticket_alert:
        labels:
          severity: ticket
"#;

/// team-a's orders data product (ODCS v3.1.0), produced by svc-a; a column's description tries
/// markup.
pub const CONTRACT: &str = r#"apiVersion: v3.1.0
kind: DataContract
id: orders-contract
name: orders
version: 1.0.0
status: active
domain: sales
team:
  name: team-a
schema:
  - name: orders
    physicalType: table
    description: "Orders <script>alert('contract')</script>"
    properties:
      - name: order_id
        logicalType: string
        primaryKey: true
      - name: email
        logicalType: string
        classification: pii
customProperties:
  - property: tier
    value: gold
  - property: producedBy
    value: svc-a
"#;

pub const DOCS_INDEX: &str = "# Service A\n\nHello **docs**.\n\n<script>alert('docs')</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![diagram](img/d.png)\n\nSee the [guide](guide.md#setup) and [secrets](../../etc/passwd).\n";

pub fn workload(name: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  web:\n    image: ghcr.io/acme/{name}:1.0.0\n"
    )
}

pub async fn start(backend: &str, auth_reads: bool) -> Option<Server> {
    start_with(backend, |c: &mut ServerConfig| c.auth_reads = auth_reads).await
}

/// With the built-in guardrails enforced.
pub async fn start_guarded(backend: &str) -> Option<Server> {
    start_with(backend, |c: &mut ServerConfig| {
        c.guardrails = Some(socle_policy::PolicySet::builtin(None).unwrap())
    })
    .await
}

/// With the server configuration as `configure` leaves it.
pub async fn start_with(
    backend: &str,
    configure: impl FnOnce(&mut ServerConfig),
) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let config = socle_testkit::store_config(
        socle_testkit::Backend::parse(backend),
        dir.path(),
        "socle_portal",
    )?;
    let store = Store::open(&config).await.unwrap();
    let (_, admin) = store
        .create_token("admin", "serviceaccount:admin", Role::Admin, 1)
        .await
        .unwrap();
    let (_, alice) = store
        .create_token("alice", "user:default/alice", Role::Member, 1)
        .await
        .unwrap();
    let (_, bob) = store
        .create_token("bob", "user:default/bob", Role::Member, 1)
        .await
        .unwrap();
    // The catalog and svc-a's docs.
    let cat = dir.path().join("catalog");
    std::fs::create_dir_all(cat.join("docs/img")).unwrap();
    std::fs::write(cat.join("catalog-info.yaml"), CATALOG).unwrap();
    std::fs::write(cat.join("docs/index.md"), DOCS_INDEX).unwrap();
    std::fs::write(cat.join("slo.yaml"), SLO_FILE).unwrap();
    std::fs::write(cat.join("orders.odcs.yaml"), CONTRACT).unwrap();
    std::fs::write(
        cat.join("docs/guide.md"),
        "# Guide\n\n## Setup\n\nRun it.\n",
    )
    .unwrap();
    std::fs::write(cat.join("docs/img/d.png"), b"\x89PNG\r\n\x1a\nfake").unwrap();
    std::fs::write(dir.path().join("secret.md"), "# top secret").unwrap();
    let spec = socle_ingest::LocationSpec::file(
        cat.canonicalize().unwrap().to_string_lossy().into_owned(),
    );
    store
        .add_location(
            &spec.key(),
            &serde_json::to_value(&spec).unwrap(),
            "test",
            socle_store::LocationTrust::Organisation,
            1,
        )
        .await
        .unwrap();
    let out = socle_app::ingest::refresh_location(
        &store,
        &spec,
        &Default::default(),
        1,
        None,
        &socle_app::ingest::Remotes::none(),
    )
    .await
    .unwrap();
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut server_config = ServerConfig {
        refresh_interval: None,
        gitops_root: dir.path().join("gitops-root"),
        ..Default::default()
    };
    configure(&mut server_config);
    let state = AppState::new(store, server_config).await.unwrap();
    let running = socle_testkit::serve(socle_api::router_with(
        state.clone(),
        socle_portal::routes(),
    ))
    .await;
    Some(Server {
        addr: running.addr,
        admin,
        alice,
        bob,
        _dir: dir,
        state,
        _running: running,
    })
}

impl Server {
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Resp {
        let mut all = vec![("host", "portal.test")];
        all.extend_from_slice(headers);
        let r = socle_testkit::request(
            self.addr,
            method,
            path,
            &all,
            body.unwrap_or_default().into_bytes(),
        )
        .await;
        Resp {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let c = cookie.map(|c| format!("socle_session={c}"));
        let h: Vec<(&str, &str)> = c.iter().map(|c| ("cookie", c.as_str())).collect();
        self.request("GET", path, &h, None).await
    }

    /// A form POST (urlencoded pairs) with an optional session.
    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        pairs: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Resp {
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let c = cookie.map(|c| format!("socle_session={c}"));
        let mut h: Vec<(&str, &str)> = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(c) = &c {
            h.push(("cookie", c));
        }
        h.extend_from_slice(extra);
        self.request("POST", path, &h, Some(body)).await
    }

    /// Signs in with a token; returns (session secret, Set-Cookie header).
    pub async fn sign_in(&self, token: &str) -> (String, String) {
        let r = self
            .post_form("/signin", None, &[("token", token), ("next", "/")], &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let set = r
            .headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let secret = set
            .strip_prefix("socle_session=")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        (secret, set)
    }

    /// The CSRF token of the forms a signed-in user gets.
    pub async fn csrf(&self, cookie: &str) -> String {
        let page = self.get("/", Some(cookie)).await.body;
        let i = page
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        page[i + 19..].split('"').next().unwrap().to_owned()
    }

    /// Deploys a workload to an environment through the API, as admin.
    pub async fn deploy(&self, name: &str, env: &str) {
        let r = self.try_deploy(name, env).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }

    pub async fn try_deploy(&self, name: &str, env: &str) -> Resp {
        self.try_deploy_text(&workload(name), env).await
    }

    pub async fn try_deploy_text(&self, workload: &str, env: &str) -> Resp {
        let body = serde_json::json!({"workload": workload, "environment": env}).to_string();
        let auth = format!("Bearer {}", self.admin);
        self.request(
            "POST",
            "/api/v1/deployments",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            Some(body),
        )
        .await
    }
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
