//! OpenID Connect sign-in for the portal: the authorization code flow with PKCE (S256), state
//! and nonce (random, single use, expiring, bound to the browser by a cookie whose hash the
//! login row keeps), discovery, the JWKS with key rotation, ID token validation ([`id_token`])
//! and the sign-in resolver ([`resolver`]). The logins in progress and the sessions live in the
//! store, so any replica can finish what another began. HTTP handlers are the portal's.

pub mod config;
pub mod id_token;
mod provider;
pub mod resolver;

use std::sync::atomic::Ordering;

use base64::Engine as _;
use rand::Rng as _;
use sha2::{Digest, Sha256};
use socle_store::{OidcLogin, SsoSession};

pub use config::{ClientSecret, OidcConfig, UserClaim};
pub use resolver::Resolved;

use crate::App;
use crate::audit::{AuditAction, AuditOutcome};
use crate::net::TlsRoots;

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenProblem {
    #[error("it is not a well-formed signed token")]
    Malformed,
    #[error("it is signed with {0}; only RS256 and ES256 are accepted")]
    Algorithm(String),
    #[error("it is signed with a key the identity provider does not publish")]
    UnknownKey,
    #[error("its signature does not verify")]
    Signature,
    #[error("it was issued by another issuer")]
    Issuer,
    #[error("its audience is not this Socle (wrong client)")]
    Audience,
    #[error("it has expired")]
    Expired,
    #[error("it was issued in the future")]
    IssuedInFuture,
    #[error("it is not valid yet")]
    NotYetValid,
    #[error("its nonce does not match this sign-in")]
    Nonce,
    #[error("it has no {0} claim")]
    MissingClaim(String),
}

/// Why a sign-in failed. Every message is fit to show the person signing in.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("single sign-on is not configured")]
    NotConfigured,
    #[error("single sign-on is misconfigured: {0}")]
    Config(String),
    #[error("this sign-in is unknown, has expired or was already used; start again")]
    UnknownState,
    #[error("this sign-in was started in another browser; start again")]
    OtherBrowser,
    #[error("the identity provider refused the sign-in: {0}")]
    ProviderRefused(String),
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the identity provider's answer is not valid: {0}")]
    BadAnswer(String),
    #[error("the identity provider refused the authorization code: {0}")]
    CodeRefused(String),
    #[error("the ID token is refused: {0}")]
    InvalidToken(IdTokenProblem),
    #[error("{0}")]
    UnknownUser(String),
    #[error("the store failed: {0}")]
    Store(#[from] socle_store::StoreError),
}

impl OidcError {
    /// A failure of Socle or of the provider (rather than a refusal of this sign-in).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Unreachable(_) | Self::BadAnswer(_) | Self::Config(_)
        )
    }
}

/// The provider client of an [`App`] with its settings.
pub struct Oidc {
    pub config: OidcConfig,
    provider: provider::ProviderClient,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("config", &self.config)
            .finish()
    }
}

impl Oidc {
    pub fn new(config: OidcConfig, roots: TlsRoots) -> Result<Self, OidcError> {
        config.validate()?;
        Ok(Self {
            config,
            provider: provider::ProviderClient::new(roots),
        })
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> u64 {
        self.provider.jwks_fetches.load(Ordering::Relaxed)
    }
}

/// A started sign-in: where to send the browser, and the binding cookie's value.
#[derive(Debug)]
pub struct LoginStart {
    pub authorize_url: String,
    pub binding: String,
    pub max_age_s: i64,
}

/// The provider's answer at the callback.
#[derive(Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider says: it must be ours.
    pub iss: Option<String>,
}

/// A finished sign-in: the session and where to go.
#[derive(Debug)]
pub struct SignedIn {
    pub session: SsoSession,
    pub next: String,
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The PKCE S256 challenge of a verifier (RFC 7636 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl App {
    fn oidc(&self) -> Result<&Oidc, OidcError> {
        self.config.oidc.as_deref().ok_or(OidcError::NotConfigured)
    }

    /// Starts a sign-in: a login row (state, nonce, PKCE verifier, browser binding) and the
    /// provider's authorization URL. `next` must already be a safe local path.
    pub async fn oidc_begin(&self, next: &str) -> Result<LoginStart, OidcError> {
        let oidc = self.oidc()?;
        let c = &oidc.config;
        let d = oidc.provider.discovery(c).await?;
        let (state, nonce, verifier, binding) = (
            random_b64(32),
            random_b64(32),
            random_b64(32),
            random_b64(32),
        );
        let ttl_ms = c.login_ttl.as_millis() as i64;
        let now = self.now_ms();
        let login = OidcLogin {
            binding_hash: sha256_hex(&binding),
            nonce: nonce.clone(),
            verifier: verifier.clone(),
            next_path: next.to_owned(),
            expires_at: now + ttl_ms,
        };
        self.store.begin_oidc_login(&state, &login, now).await?;
        let e = provider::enc;
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let authorize_url = format!(
            "{}{sep}response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
            d.authorization_endpoint,
            e(&c.client_id),
            e(&c.redirect_url),
            e(&c.scopes.join(" ")),
            state,
            nonce,
            pkce_challenge(&verifier),
        );
        Ok(LoginStart {
            authorize_url,
            binding,
            max_age_s: ttl_ms / 1000,
        })
    }

    /// Finishes a sign-in at the callback: the state is taken (good once), the browser must be
    /// the one that began it, the code is redeemed with the PKCE verifier, the ID token
    /// validated, the person resolved to a catalog User and a session opened. Audited, refusals
    /// included.
    pub async fn oidc_complete(
        &self,
        cb: Callback,
        binding: Option<&str>,
        ttl_ms: i64,
    ) -> Result<SignedIn, OidcError> {
        self.oidc()?;
        let result = self.oidc_complete_inner(cb, binding, ttl_ms).await;
        let (who, outcome, detail) = match &result {
            Ok(s) => (
                s.session.principal.subject.clone(),
                AuditOutcome::Ok,
                String::new(),
            ),
            Err(e) if e.is_failure() => ("anonymous".into(), AuditOutcome::Failed, e.to_string()),
            Err(e) => ("anonymous".into(), AuditOutcome::Denied, e.to_string()),
        };
        let audit = self
            .record(&who, AuditAction::SessionOpen, "oidc", outcome, &detail)
            .await;
        if let (Err(e), Ok(_)) = (audit, &result) {
            return Err(OidcError::Config(format!("audit log: {}", e.message)));
        }
        result
    }

    async fn oidc_complete_inner(
        &self,
        cb: Callback,
        binding: Option<&str>,
        ttl_ms: i64,
    ) -> Result<SignedIn, OidcError> {
        let oidc = self.oidc()?;
        let c = &oidc.config;
        let state = cb.state.as_deref().unwrap_or_default();
        let login = self
            .store
            .take_oidc_login(state, self.now_ms())
            .await?
            .ok_or(OidcError::UnknownState)?;
        let bound = binding.is_some_and(|b| {
            subtle::ConstantTimeEq::ct_eq(sha256_hex(b).as_bytes(), login.binding_hash.as_bytes())
                .into()
        });
        if !bound {
            return Err(OidcError::OtherBrowser);
        }
        if cb.iss.as_deref().is_some_and(|iss| iss != c.issuer) {
            return Err(OidcError::ProviderRefused(
                "the answer comes from another issuer".into(),
            ));
        }
        if let Some(e) = cb.error {
            return Err(OidcError::ProviderRefused(
                crate::audit::clip(&e, 100).into_owned(),
            ));
        }
        let code = cb
            .code
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| OidcError::ProviderRefused("no authorization code".into()))?;
        let d = oidc.provider.discovery(c).await?;
        let answer = oidc.provider.redeem(c, &d, &code, &login.verifier).await?;
        let token = answer
            .id_token
            .ok_or_else(|| OidcError::BadAnswer("the token endpoint gave no ID token".into()))?;
        let claims = self
            .validate_id_token(oidc, &d.jwks_uri, &token, &login.nonce)
            .await?;
        let resolved = resolver::resolve(&self.snapshot(), c, &claims)?;
        let session = self
            .store
            .open_sso_session(&resolved.user, resolved.role, self.now_ms(), ttl_ms)
            .await?;
        Ok(SignedIn {
            session,
            next: login.next_path,
        })
    }

    async fn validate_id_token(
        &self,
        oidc: &Oidc,
        jwks_uri: &str,
        token: &str,
        nonce: &str,
    ) -> Result<id_token::IdClaims, OidcError> {
        let c = &oidc.config;
        let (alg, kid) = id_token::header(token).map_err(OidcError::InvalidToken)?;
        let jwk = oidc
            .provider
            .key(jwks_uri, kid.as_deref(), alg, c.jwks_min_refetch)
            .await?;
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)
            .map_err(|e| OidcError::BadAnswer(format!("JWKS key: {e}")))?;
        let expected = id_token::Expected {
            issuer: &c.issuer,
            client_id: &c.client_id,
            nonce,
            now_s: self.now_ms() / 1000,
            skew_s: c.skew.as_secs() as i64,
        };
        id_token::validate(token, alg, &key, &expected).map_err(OidcError::InvalidToken)
    }

    /// Where to send the browser after a local sign-out of an SSO session: the provider's
    /// `end_session_endpoint` (RP-initiated logout) when it offers one.
    pub async fn oidc_logout_url(&self) -> Option<String> {
        let oidc = self.config.oidc.as_deref()?;
        let d = oidc.provider.discovery(&oidc.config).await.ok()?;
        let end = d.end_session_endpoint.as_ref()?;
        let sep = if end.contains('?') { '&' } else { '?' };
        Some(format!(
            "{end}{sep}client_id={}&post_logout_redirect_uri={}",
            provider::enc(&oidc.config.client_id),
            provider::enc(&oidc.config.post_logout_url())
        ))
    }

    /// The provider's name for the sign-in page, when single sign-on is configured.
    pub fn oidc_provider_name(&self) -> Option<&str> {
        self.config
            .oidc
            .as_ref()
            .map(|o| o.config.provider_name.as_str())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            super::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
