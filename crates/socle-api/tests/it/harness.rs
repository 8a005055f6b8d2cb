use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::Bytes;
use serde_json::Value;
use socle_api::{AppState, ServerConfig};
use socle_catalog::Limits;
use socle_store::{Role, Store, StoreConfig};

pub struct Server {
    pub addr: SocketAddr,
    pub admin: String,
    pub dir: tempfile::TempDir,
    /// Where the store is, to open a second handle (as the CLI or another replica would).
    pub store_config: StoreConfig,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
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
    let mut config = StoreConfig::new(dir.path().join("data"), None);
    config.secret_key = Some(socle_store::SecretKey::generate());
    if backend == "postgres" {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            return None;
        };
        config.database_url = Some(url);
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            ^ u64::from(std::process::id());
        config.pg_schema = Some(format!("socle_api_{n}"));
    }
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(socle_api::serve(state, listener, async {
        let _ = rx.await;
    }));
    Some(Server {
        addr,
        admin,
        dir,
        store_config: config,
        stop: Some(tx),
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
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "test");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(b.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let resp = sender.send_request(req.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A request with raw bytes and the given headers (webhooks, JSON Lines).
    pub async fn call_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "test");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned())),
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
