//! The real-server test harness shared by the API, portal and application suites: a store on
//! SQLite or PostgreSQL (every suite runs on both), a server on port 0 that stops when dropped,
//! and a small HTTP/1 client. No mocks: the suites talk to what `socle serve` runs.

pub mod https;
pub mod ldap;
pub mod prometheus;

use std::net::SocketAddr;
use std::path::Path;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use socle_store::StoreConfig;

/// The databases every store-backed suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    /// `sqlite` or `postgres`.
    pub fn parse(name: &str) -> Backend {
        match name {
            "postgres" => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// A store configuration under `dir` on `backend`, with a fresh secret key; on PostgreSQL
/// (`SOCLE_TEST_DATABASE_URL`) a schema of its own named `<prefix>_<unique>`. None when
/// PostgreSQL is not configured — unless `SOCLE_REQUIRE_POSTGRES` is set, which fails the test.
pub fn store_config(backend: Backend, dir: &Path, prefix: &str) -> Option<StoreConfig> {
    let mut config = StoreConfig::new(dir.join("data"), None);
    config.secret_key = Some(socle_store::SecretKey::generate());
    if backend == Backend::Postgres {
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
            .expect("after 1970")
            .as_nanos() as u64
            ^ u64::from(std::process::id());
        config.pg_schema = Some(format!("{prefix}_{n}"));
    }
    Some(config)
}

/// A server on 127.0.0.1, port 0; stopped when dropped.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves `app` (with client addresses, as `socle serve` does) until the result is dropped.
pub async fn serve(app: axum::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
    });
    Running {
        addr,
        stop: Some(tx),
    }
}

/// A response: status, headers, body as text.
pub struct Reply {
    pub status: hyper::StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: String,
}

/// One HTTP/1 request on a new connection (`host` is set unless `headers` names one).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    match try_request(addr, method, path, headers, body).await {
        Ok(reply) => reply,
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// [`request`], with what went wrong (no connection, a connection closed before the answer)
/// as an error instead of a panic: for a request to a server a test is about to kill.
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Reply, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("the server accepts: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("an HTTP/1 handshake: {e}"))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder().method(method).uri(path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header("host", "test");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("a valid request: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("a response: {e}"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("a body: {e}"))?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
