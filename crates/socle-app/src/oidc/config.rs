//! How Socle signs people in through an OpenID provider: the provider, this client, and how a
//! person the provider vouches for becomes a catalog User with a role.

use std::time::Duration;

use crate::net::Endpoint;

use super::OidcError;

/// Which claim names the catalog User.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserClaim {
    /// `email`, compared (case-insensitively) with the Users' `spec.profile.email`. A provider
    /// that says `email_verified: false` is not believed.
    Email,
    /// Another claim whose value is the User's name (`user:default/<value>`).
    Name(String),
}

impl UserClaim {
    /// `email` or another claim's name.
    pub fn parse(s: &str) -> Self {
        if s == "email" {
            Self::Email
        } else {
            Self::Name(s.to_owned())
        }
    }
}

/// A client secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// The OpenID Connect settings (`socle serve --oidc-*`).
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The issuer (its discovery document is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Where the provider sends the browser back: `<public base URL>/auth/oidc/callback`.
    pub redirect_url: String,
    /// What the sign-in page calls the provider ("Sign in with …").
    pub provider_name: String,
    pub scopes: Vec<String>,
    pub user_claim: UserClaim,
    /// A claim listing the person's groups (off by default). Groups only choose a role: the
    /// organisation itself comes from the catalog.
    pub groups_claim: Option<String>,
    /// Members of this group (in `groups_claim`) sign in as admins.
    pub admin_group: Option<String>,
    /// At most one JWKS refetch per interval when a token names a key Socle does not know.
    pub jwks_min_refetch: Duration,
    /// How long a started sign-in may take.
    pub login_ttl: Duration,
    /// Clock skew allowed on `exp`, `iat` and `nbf`.
    pub skew: Duration,
}

impl OidcConfig {
    /// Settings with the defaults for everything but the provider and the client.
    pub fn new(issuer: &str, client_id: &str, secret: &str, redirect_url: &str) -> Self {
        // Kept as written: the ID tokens' `iss` must be exactly this (some providers end it with `/`).
        let issuer = issuer.to_owned();
        Self {
            provider_name: Endpoint::of(&issuer)
                .map(|e| e.host)
                .unwrap_or_else(|_| issuer.clone()),
            issuer,
            client_id: client_id.to_owned(),
            client_secret: ClientSecret(secret.to_owned()),
            redirect_url: redirect_url.to_owned(),
            scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
            user_claim: UserClaim::Email,
            groups_claim: None,
            admin_group: None,
            jwks_min_refetch: Duration::from_secs(30),
            login_ttl: Duration::from_secs(600),
            skew: Duration::from_secs(60),
        }
    }

    /// Checks the settings: URLs over https (http only to this machine), a client, `openid`.
    pub fn validate(&self) -> Result<(), OidcError> {
        checked_url(&self.issuer)?;
        checked_url(&self.redirect_url)?;
        if self.client_id.is_empty() || self.client_secret.0.is_empty() {
            return Err(OidcError::Config(
                "a client id and a client secret are needed".into(),
            ));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(OidcError::Config("the scopes must include openid".into()));
        }
        if self.admin_group.is_some() && self.groups_claim.is_none() {
            return Err(OidcError::Config(
                "an admin group needs a groups claim (--oidc-groups-claim)".into(),
            ));
        }
        Ok(())
    }

    /// Where the provider may send the browser after signing out: the portal's home.
    pub fn post_logout_url(&self) -> String {
        let base = self
            .redirect_url
            .find("://")
            .and_then(|i| {
                self.redirect_url[i + 3..]
                    .find('/')
                    .map(|j| &self.redirect_url[..i + 3 + j])
            })
            .unwrap_or(&self.redirect_url);
        format!("{base}/")
    }
}

/// A provider URL: `https://`, or `http://` to a loopback address (tests, a local provider).
pub(crate) fn checked_url(url: &str) -> Result<Endpoint, OidcError> {
    let e = Endpoint::of(url).map_err(|e| OidcError::Config(e.to_string()))?;
    let loopback = e
        .host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
        || e.host == "localhost";
    if !e.tls && !loopback {
        return Err(OidcError::Config(format!(
            "{url}: the identity provider must be reached over https:// (http:// only on this machine)"
        )));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_this_machine() {
        assert!(checked_url("http://127.0.0.1:9000/").is_ok());
        assert!(checked_url("https://login.example.com").is_ok());
        let e = checked_url("http://login.example.com").unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn the_post_logout_url_is_the_portal_home() {
        let c = OidcConfig::new(
            "https://idp.example/",
            "socle",
            "s",
            "https://socle.example:8443/auth/oidc/callback",
        );
        assert_eq!(c.post_logout_url(), "https://socle.example:8443/");
        assert_eq!(c.issuer, "https://idp.example/");
        assert_eq!(c.provider_name, "idp.example");
    }

    #[test]
    fn the_secret_is_never_printed() {
        let c = OidcConfig::new("https://i", "c", "hunter2", "https://s/cb");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
