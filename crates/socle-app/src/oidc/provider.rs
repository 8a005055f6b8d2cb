//! The provider as Socle talks to it, over `net` (rustls; http:// only on this machine):
//! discovery (cached an hour), the JWKS (cached; refetched when a token names an unknown key, at
//! most once per `jwks_min_refetch`) and the token endpoint. Answers are bounded in size and
//! time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::OidcError;
use super::config::{OidcConfig, checked_url};
use crate::net::{self, TlsRoots};

/// The largest discovery document or JWKS read.
const MAX_DOCUMENT: usize = 256 * 1024;
/// The largest token endpoint answer read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;
/// At most this many keys in a JWKS.
const MAX_KEYS: usize = 64;
/// How long one exchange with the provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a discovery document is trusted.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The parts of the discovery document Socle uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// The token endpoint's successful answer.
#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    pub id_token: Option<String>,
}

/// A JWKS whose keys are read one by one.
#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct TokenErrorAnswer {
    error: String,
}

struct JwksCache {
    keys: Vec<Jwk>,
    fetched_at: Option<Instant>,
}

pub(crate) struct ProviderClient {
    roots: TlsRoots,
    discovery: Mutex<Option<(Arc<Discovery>, Instant)>>,
    jwks: Mutex<JwksCache>,
    /// How many times the JWKS was fetched (metrics, tests).
    pub(crate) jwks_fetches: std::sync::atomic::AtomicU64,
}

impl ProviderClient {
    pub(crate) fn new(roots: TlsRoots) -> Self {
        Self {
            roots,
            discovery: Mutex::new(None),
            jwks: Mutex::new(JwksCache {
                keys: Vec::new(),
                fetched_at: None,
            }),
            jwks_fetches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The discovery document (cached); its issuer must be exactly the configured one.
    pub(crate) async fn discovery(&self, config: &OidcConfig) -> Result<Arc<Discovery>, OidcError> {
        let mut cached = self.discovery.lock().await;
        if let Some((d, at)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let (status, body) = self.get(&url).await?;
        if status != 200 {
            return Err(OidcError::BadAnswer(format!("discovery: HTTP {status}")));
        }
        let d: Discovery = serde_json::from_slice(&body)
            .map_err(|e| OidcError::BadAnswer(format!("discovery: {e}")))?;
        if d.issuer != config.issuer {
            return Err(OidcError::BadAnswer(format!(
                "discovery names the issuer {:?}, not {:?}",
                d.issuer, config.issuer
            )));
        }
        for u in [&d.authorization_endpoint, &d.token_endpoint, &d.jwks_uri] {
            checked_url(u)?;
        }
        if let Some(u) = &d.end_session_endpoint {
            checked_url(u)?;
        }
        let d = Arc::new(d);
        *cached = Some((d.clone(), Instant::now()));
        Ok(d)
    }

    /// The key a token's header names: from the cache, or after one refetch of the JWKS when
    /// the cache is older than `min_refetch` (a rotated key), or never fetched.
    pub(crate) async fn key(
        &self,
        jwks_uri: &str,
        kid: Option<&str>,
        alg: jsonwebtoken::Algorithm,
        min_refetch: Duration,
    ) -> Result<Jwk, OidcError> {
        let mut cache = self.jwks.lock().await;
        if cache.fetched_at.is_some()
            && let Some(k) = pick(&cache.keys, kid, alg)
        {
            return Ok(k);
        }
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= min_refetch);
        if !stale {
            return Err(OidcError::InvalidToken(super::IdTokenProblem::UnknownKey));
        }
        let (status, body) = self.get(jwks_uri).await?;
        self.jwks_fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if status != 200 {
            return Err(OidcError::BadAnswer(format!("JWKS: HTTP {status}")));
        }
        let set: RawJwks = serde_json::from_slice(&body)
            .map_err(|e| OidcError::BadAnswer(format!("JWKS: {e}")))?;
        if set.keys.len() > MAX_KEYS {
            return Err(OidcError::BadAnswer(format!(
                "JWKS: more than {MAX_KEYS} keys"
            )));
        }
        // Keys of types or algorithms Socle does not know (encryption keys, other curves) are
        // left aside rather than failing the whole set.
        cache.keys = set
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
            .collect();
        cache.fetched_at = Some(Instant::now());
        pick(&cache.keys, kid, alg)
            .ok_or(OidcError::InvalidToken(super::IdTokenProblem::UnknownKey))
    }

    /// Exchanges a code at the token endpoint (client_secret_basic, or client_secret_post
    /// when the provider only offers that).
    pub(crate) async fn redeem(
        &self,
        config: &OidcConfig,
        discovery: &Discovery,
        code: &str,
        verifier: &str,
    ) -> Result<TokenAnswer, OidcError> {
        let basic = discovery
            .token_endpoint_auth_methods_supported
            .as_ref()
            .is_none_or(|m| m.iter().any(|m| m == "client_secret_basic"));
        let mut form = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
            enc(code),
            enc(&config.redirect_url),
            enc(verifier)
        );
        let mut req = hyper::Request::post(origin_form(&discovery.token_endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if basic {
            use base64::Engine as _;
            let pair = format!(
                "{}:{}",
                enc(&config.client_id),
                enc(&config.client_secret.0)
            );
            let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
            req = req.header("authorization", format!("Basic {b64}"));
        } else {
            form.push_str(&format!(
                "&client_id={}&client_secret={}",
                enc(&config.client_id),
                enc(&config.client_secret.0)
            ));
        }
        let req = req
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| OidcError::BadAnswer(e.to_string()))?;
        let endpoint = checked_url(&discovery.token_endpoint)?;
        let (status, body) = net::exchange(&endpoint, &self.roots, req, TIMEOUT, MAX_TOKEN_ANSWER)
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        if status != 200 {
            let error = serde_json::from_slice::<TokenErrorAnswer>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("HTTP {status}"));
            return Err(OidcError::CodeRefused(
                crate::audit::clip(&error, 100).into_owned(),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| OidcError::BadAnswer(format!("token: {e}")))
    }

    async fn get(&self, url: &str) -> Result<(u16, Bytes), OidcError> {
        let endpoint = checked_url(url)?;
        let req = hyper::Request::get(origin_form(url))
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| OidcError::BadAnswer(e.to_string()))?;
        net::exchange(&endpoint, &self.roots, req, TIMEOUT, MAX_DOCUMENT)
            .await
            .map_err(|e| OidcError::Unreachable(format!("{url}: {e}")))
    }
}

/// A signing key for `alg` named `kid` (or the only one for `alg` when the token names none).
fn pick(keys: &[Jwk], kid: Option<&str>, alg: jsonwebtoken::Algorithm) -> Option<Jwk> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, PublicKeyUse};
    let fits = |k: &&Jwk| {
        let for_signing = k
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature);
        let kty = match (&k.algorithm, alg) {
            (AlgorithmParameters::RSA(_), jsonwebtoken::Algorithm::RS256) => true,
            (AlgorithmParameters::EllipticCurve(p), jsonwebtoken::Algorithm::ES256) => {
                p.curve == EllipticCurve::P256
            }
            _ => false,
        };
        let alg_ok = k
            .common
            .key_algorithm
            .is_none_or(|a| a.to_string() == format!("{alg:?}"));
        for_signing && kty && alg_ok
    };
    let mut candidates = keys.iter().filter(fits);
    match kid {
        Some(kid) => candidates
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let first = candidates.next()?;
            candidates.next().is_none().then(|| first.clone())
        }
    }
}

/// `/path?query` of an absolute URL (the request line of HTTP/1.1 to an origin server).
fn origin_form(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_owned(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_owned(),
    }
}

pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_of_urls() {
        assert_eq!(origin_form("http://127.0.0.1:9/a/b?c=1"), "/a/b?c=1");
        assert_eq!(origin_form("https://idp.example"), "/");
        assert_eq!(origin_form("https://idp.example?x"), "/?x");
    }
}
