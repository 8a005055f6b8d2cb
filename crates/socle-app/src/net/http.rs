//! One outbound HTTP/1.1 exchange over plain TCP or TLS (rustls, [`TlsRoots`]): the host
//! actions' REST calls and Prometheus queries. No connection pool: each call is a few requests
//! to one host.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::TlsRoots;

/// How long a TCP connection and a TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a base URL points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub tls: bool,
    /// `host` or `host:port` as written (the `Host` header).
    pub authority: String,
    /// The host name or IP address, without brackets (TLS server name).
    pub host: String,
    pub port: u16,
}

/// Why an exchange failed before a response arrived.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{url}: only http:// and https:// URLs are supported")]
    Scheme { url: String },
    #[error("{url}: no host in the URL")]
    NoHost { url: String },
    #[error("{addr}: connection timed out")]
    ConnectTimeout { addr: String },
    #[error("{addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr}: TLS: {source}")]
    Tls {
        addr: String,
        source: std::io::Error,
    },
    #[error("{host:?} is not a valid TLS server name")]
    ServerName { host: String },
    /// The HTTP/1 handshake failed.
    #[error(transparent)]
    Handshake(hyper::Error),
}

impl Endpoint {
    /// The endpoint of `url` (`http://` or `https://`, default ports 80 and 443). User
    /// information in the URL is refused: credentials travel in headers, never in URLs.
    pub fn of(url: &str) -> Result<Self, NetError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(NetError::Scheme {
                url: url.to_owned(),
            });
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(NetError::NoHost {
                url: url.to_owned(),
            });
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_port(authority).ok_or_else(|| NetError::NoHost {
            url: url.to_owned(),
        })?;
        Ok(Self {
            tls,
            authority: authority.to_owned(),
            host: host.to_owned(),
            port: port.unwrap_or(default_port),
        })
    }

    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → (host, port); None when the port is not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(p.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// A request sender over a fresh connection to `endpoint` (TLS verified against `roots`).
async fn connect(
    endpoint: &Endpoint,
    roots: &TlsRoots,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, NetError> {
    let addr = endpoint.addr();
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&addr))
        .await
        .map_err(|_| NetError::ConnectTimeout { addr: addr.clone() })?
        .map_err(|source| NetError::Connect {
            addr: addr.clone(),
            source,
        })?;
    if !endpoint.tls {
        return handshake(tcp).await;
    }
    let name = ServerName::try_from(endpoint.host.clone()).map_err(|_| NetError::ServerName {
        host: endpoint.host.clone(),
    })?;
    let connector = tokio_rustls::TlsConnector::from(roots.client_config());
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| NetError::ConnectTimeout { addr: addr.clone() })?
        .map_err(|source| NetError::Tls { addr, source })?;
    handshake(tls).await
}

async fn handshake<S>(
    stream: S,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, NetError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(NetError::Handshake)?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Why an [`exchange`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// No connection (or an untrusted certificate).
    #[error(transparent)]
    Net(NetError),
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Send(hyper::Error),
    /// Reading the answer failed, or it was larger than the limit.
    #[error(transparent)]
    Body(Box<dyn std::error::Error + Send + Sync>),
}

/// Sends `request` (its `host` and `user-agent` set here) over a fresh connection to
/// `endpoint`, waits at most `timeout` for the answer and reads at most `max_body` bytes of it:
/// (status, body).
pub async fn exchange(
    endpoint: &Endpoint,
    roots: &TlsRoots,
    mut request: hyper::Request<Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
) -> Result<(u16, Bytes), ExchangeError> {
    use http_body_util::BodyExt as _;
    let headers = request.headers_mut();
    if let Ok(host) = hyper::header::HeaderValue::from_str(&endpoint.authority) {
        headers.insert(hyper::header::HOST, host);
    }
    headers.insert(
        hyper::header::USER_AGENT,
        hyper::header::HeaderValue::from_static("socle"),
    );
    let mut sender = connect(endpoint, roots).await.map_err(ExchangeError::Net)?;
    let response = tokio::time::timeout(timeout, sender.send_request(request))
        .await
        .map_err(|_| ExchangeError::Timeout)?
        .map_err(ExchangeError::Send)?;
    let status = response.status().as_u16();
    let body = http_body_util::Limited::new(response.into_body(), max_body)
        .collect()
        .await
        .map_err(ExchangeError::Body)?
        .to_bytes();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_urls() {
        let e = Endpoint::of("https://api.github.com/repos").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.authority.as_str()),
            (true, "api.github.com", 443, "api.github.com")
        );
        let e = Endpoint::of("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (e.tls, e.port, e.addr()),
            (false, 8080, "127.0.0.1:8080".into())
        );
        let e = Endpoint::of("https://[::1]:8443/x").unwrap();
        assert_eq!((e.host.as_str(), e.addr()), ("::1", "[::1]:8443".into()));
    }

    #[test]
    fn credentials_and_other_schemes_in_urls_are_refused() {
        assert!(matches!(
            Endpoint::of("https://user:pw@github.com/"),
            Err(NetError::NoHost { .. })
        ));
        assert!(matches!(
            Endpoint::of("ftp://github.com/"),
            Err(NetError::Scheme { .. })
        ));
        assert!(matches!(
            Endpoint::of("https://host:notaport/"),
            Err(NetError::NoHost { .. })
        ));
    }
}
