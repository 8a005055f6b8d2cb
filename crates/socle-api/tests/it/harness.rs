use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hyper::StatusCode;
use serde_json::Value;
use socle_api::{AppState, ServerConfig};
use socle_catalog::Limits;
use socle_store::{Role, Store, StoreConfig};
use socle_testkit::Backend;

pub struct Server {
    pub addr: SocketAddr,
    pub admin: String,
    pub dir: tempfile::TempDir,
    /// Where the store is, to open a second handle (as the CLI or another replica would).
    pub store_config: StoreConfig,
    _running: socle_testkit::Running,
}

/// Starts a server on `backend` (`sqlite` or `postgres`); None when PostgreSQL is not configured.
pub async fn start(backend: &str) -> Option<Server> {
    start_with(
        backend,
        ServerConfig {
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await
}

/// Same, with a given server configuration (limits are set small for the tests).
pub async fn start_with(backend: &str, server_config: ServerConfig) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let config = socle_testkit::store_config(Backend::parse(backend), dir.path(), "socle_api")?;
    let store = Store::open(&config).await.unwrap();
    let (_, admin) = store
        .create_token("admin", "serviceaccount:admin", Role::Admin, 1)
        .await
        .unwrap();
    let limits = Limits {
        max_file_bytes: 64 * 1024,
        ..Limits::default()
    };
    let state = AppState::new(
        store,
        ServerConfig {
            limits,
            gitops_root: dir.path().join("gitops-root"),
            ..server_config
        },
    )
    .await
    .unwrap();
    socle_api::spawn_background(state.clone());
    let running = socle_testkit::serve(socle_api::router(state)).await;
    Some(Server {
        addr: running.addr,
        admin,
        dir,
        store_config: config,
        _running: running,
    })
}

impl Server {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, text) = self.call_raw(method, path, token, body).await;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let bytes = match body {
            Some(b) => {
                headers.push(("content-type", "application/json"));
                b.to_string().into_bytes()
            }
            None => Vec::new(),
        };
        let r = socle_testkit::request(self.addr, method, path, &headers, bytes).await;
        (r.status, r.body)
    }

    /// A request with raw bytes and the given headers (webhooks, JSON Lines).
    pub async fn call_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let r = socle_testkit::request(self.addr, method, path, headers, body).await;
        (
            r.status,
            serde_json::from_str(&r.body).unwrap_or(Value::String(r.body)),
        )
    }

    /// A new token for `user:default/<user>` with `role` (the user must be in the catalog).
    pub async fn token(&self, user: &str, role: &str) -> String {
        let (status, t) = self
            .call(
                "POST",
                "/api/v1/tokens",
                Some(&self.admin),
                Some(serde_json::json!({"name": user, "subject": format!("user:default/{user}"), "role": role})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{t}");
        t["secret"].as_str().unwrap().to_owned()
    }

    /// Writes `text` as the catalog directory's `catalog-info.yaml` and registers it (as admin).
    pub async fn register_catalog(&self, text: &str) -> (String, Value) {
        let dir = self.catalog_dir();
        std::fs::write(dir.join("catalog-info.yaml"), text).unwrap();
        self.register(&dir).await
    }

    pub fn catalog_dir(&self) -> PathBuf {
        let p = self.dir.path().join("catalog");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// Registers a file location (as admin) and returns (location id, refresh outcome).
    pub async fn register(&self, target: &Path) -> (String, Value) {
        let (status, body) = self
            .call(
                "POST",
                "/api/v1/locations",
                Some(&self.admin),
                Some(serde_json::json!({"type": "file", "target": target.to_string_lossy()})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["location"]["id"].as_str().unwrap().to_owned(),
            body["outcome"].clone(),
        )
    }

    pub async fn refresh(&self, id: &str) -> Value {
        let (status, body) = self
            .call(
                "POST",
                &format!("/api/v1/locations/{id}/refresh"),
                Some(&self.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["outcome"].clone()
    }
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(s) = crate::harness::start("sqlite").await {
                    super::$name(&s).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(s) = crate::harness::start("postgres").await {
                    super::$name(&s).await;
                }
            }
        }
    };
}
pub(crate) use both;

/// Runs `$name(backend)` on SQLite and on PostgreSQL: for tests that start their own server
/// (a particular configuration or setup).
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name("sqlite").await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name("postgres").await;
            }
        }
    };
}
pub(crate) use both_backends;

pub const GOOD: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: Takes the money
  tags: [rust, payments]
spec:
  type: service
  lifecycle: production
  owner: team-a
  providesApis: [payments-api]
  dependsOn: [resource:payments-db]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: |
    openapi: 3.0.0
";
