//! A local HTTPS server for tests: a private CA made on the spot ([`TestCa`]), any axum router
//! served over TLS with a certificate for `localhost` and `127.0.0.1` ([`serve_tls`]), and a
//! Git smart-HTTP host that runs the real `git http-backend` CGI from Debian's `git`, behind
//! Basic authentication ([`git_http_backend`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority made for one test, and a server certificate it signed.
pub struct TestCa {
    /// The CA certificate (PEM): what a client must trust.
    pub ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
    /// The server certificate and its key (PEM), for servers the tests start as processes.
    pub server_cert_pem: String,
    pub server_key_pem: String,
}

impl TestCa {
    /// A new CA and a certificate for `localhost` and `127.0.0.1`.
    pub fn new() -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Socle test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = rcgen::CertifiedIssuer::self_signed(ca, ca_key).expect("a self-signed CA");
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server parameters");
        let cert = params
            .signed_by(&key, &issuer)
            .expect("a server certificate");
        Self {
            ca_pem: issuer.pem(),
            server_cert: cert.der().clone(),
            server_key: key.serialize_der(),
            server_cert_pem: cert.pem(),
            server_key_pem: key.serialize_pem(),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![self.server_cert.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone())),
            )
            .expect("a server configuration");
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `router` over TLS on 127.0.0.1 (a free port); returns the address.
pub async fn serve_tls(router: Router, ca: &TestCa) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

/// What the Git host saw: the `Authorization` header of every request (None: none sent).
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<Option<String>>>>);

impl Seen {
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.0.lock().expect("lock").clone()
    }
}

/// A Git host over HTTPS: `git http-backend` serving every repository under `root`
/// (`https://ADDR/PATH` is `root/PATH`). With `password`, a request without Basic credentials
/// carrying that password gets 401.
pub fn git_http_backend(root: PathBuf, password: Option<String>, seen: Seen) -> Router {
    Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (root, password, seen) = (root.clone(), password.clone(), seen.clone());
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                seen.0.lock().expect("lock").push(auth.clone());
                let user = auth
                    .as_deref()
                    .and_then(basic_user_with(password.as_deref()));
                if password.is_some() && user.is_none() {
                    return Response::builder()
                        .status(StatusCode::UNAUTHORIZED)
                        .header("www-authenticate", "Basic realm=\"git\"")
                        .body(Body::from("authentication required"))
                        .expect("a response");
                }
                cgi(&root, &method, &uri, &headers, body, user.as_deref()).await
            }
        },
    )
}

/// The user of a Basic header whose password is `password` (any user when no password is
/// required).
fn basic_user_with(password: Option<&str>) -> impl Fn(&str) -> Option<String> + '_ {
    move |header: &str| {
        let b64 = header.strip_prefix("Basic ")?;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, pw) = text.split_once(':')?;
        (password.is_none() || password == Some(pw)).then(|| user.to_owned())
    }
}

/// Runs `git http-backend` for one request (RFC 3875 CGI).
async fn cgi(
    root: &std::path::Path,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    user: Option<&str>,
) -> Response {
    use tokio::io::AsyncWriteExt as _;
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    if let Some(u) = user {
        cmd.env("REMOTE_USER", u);
    }
    for (name, value) in headers {
        let Ok(v) = value.to_str() else { continue };
        let var = name.as_str().to_ascii_uppercase().replace('-', "_");
        match var.as_str() {
            "CONTENT_TYPE" => cmd.env("CONTENT_TYPE", v),
            "AUTHORIZATION" | "CONTENT_LENGTH" => continue,
            _ => cmd.env(format!("HTTP_{var}"), v),
        };
    }
    let mut child = cmd.spawn().expect("git http-backend (Debian's git)");
    let mut stdin = child.stdin.take().expect("stdin");
    tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child
        .wait_with_output()
        .await
        .expect("git http-backend output");
    cgi_response(&out.stdout)
}

/// A CGI program's output (headers, a blank line, the body) as a response.
fn cgi_response(out: &[u8]) -> Response {
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            out.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        });
    let Some((end, body_at)) = split else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from("bad CGI output"))
            .expect("a response");
    };
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&out[..end]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split(' ').next().and_then(|c| c.parse().ok());
            response = response.status(code.unwrap_or(500));
        } else {
            response = response.header(name.trim(), value);
        }
    }
    response
        .body(Body::from(out[body_at..].to_vec()))
        .expect("a response")
}
