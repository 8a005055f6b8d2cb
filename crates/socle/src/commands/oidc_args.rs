//! `socle serve --oidc-*`: single sign-on through an OpenID provider.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use socle_app::oidc::{Oidc, OidcConfig, UserClaim};

/// Single sign-on (OpenID Connect). With `--oidc-issuer`, the portal offers "Sign in with
/// <provider>" beside token sign-in.
#[derive(Args, Clone, Default)]
pub struct OidcArgs {
    /// The provider's issuer URL (https://, or http:// on this machine); its discovery document
    /// is `<issuer>/.well-known/openid-configuration`.
    #[arg(long, env = "SOCLE_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_redirect_url"])]
    oidc_issuer: Option<String>,
    /// This Socle's client id at the provider.
    #[arg(long, env = "SOCLE_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    /// A file holding the client secret (never on the command line); or the environment
    /// variable SOCLE_OIDC_CLIENT_SECRET.
    #[arg(long, env = "SOCLE_OIDC_CLIENT_SECRET_FILE")]
    oidc_client_secret_file: Option<PathBuf>,
    /// Where the provider sends the browser back: `<public URL of Socle>/auth/oidc/callback`
    /// (registered at the provider).
    #[arg(long, env = "SOCLE_OIDC_REDIRECT_URL")]
    oidc_redirect_url: Option<String>,
    /// The claim naming the catalog User: `email` (matched with `spec.profile.email`) or
    /// another claim whose value is the User's name.
    #[arg(long, env = "SOCLE_OIDC_USER_CLAIM", default_value = "email")]
    oidc_user_claim: String,
    /// A claim listing the person's groups (off by default); only used with --oidc-admin-group.
    #[arg(long, env = "SOCLE_OIDC_GROUPS_CLAIM")]
    oidc_groups_claim: Option<String>,
    /// People in this group (of the groups claim) sign in as admins; everyone else as members.
    #[arg(long, env = "SOCLE_OIDC_ADMIN_GROUP", requires = "oidc_groups_claim")]
    oidc_admin_group: Option<String>,
    /// The provider's name on the sign-in page (default: the issuer's host).
    #[arg(long, env = "SOCLE_OIDC_PROVIDER_NAME")]
    oidc_provider_name: Option<String>,
    /// Scopes asked for, space-separated.
    #[arg(
        long,
        env = "SOCLE_OIDC_SCOPES",
        default_value = "openid email profile"
    )]
    oidc_scopes: String,
}

impl OidcArgs {
    /// The provider client, when an issuer is given (outbound HTTPS trusts `roots`).
    pub fn oidc(&self, roots: socle_app::net::TlsRoots) -> anyhow::Result<Option<Arc<Oidc>>> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        // A configuration file's issuer is not checked by clap's `requires` (defaults are not).
        anyhow::ensure!(
            self.oidc_client_id
                .as_deref()
                .is_some_and(|c| !c.is_empty())
                && self
                    .oidc_redirect_url
                    .as_deref()
                    .is_some_and(|u| !u.is_empty()),
            "single sign-on needs --oidc-client-id and --oidc-redirect-url with --oidc-issuer"
        );
        let secret = match &self.oidc_client_secret_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .trim()
                .to_owned(),
            None => std::env::var("SOCLE_OIDC_CLIENT_SECRET").context(
                "single sign-on needs the client secret: --oidc-client-secret-file or SOCLE_OIDC_CLIENT_SECRET",
            )?,
        };
        let mut config = OidcConfig::new(
            issuer,
            self.oidc_client_id.as_deref().unwrap_or_default(),
            &secret,
            self.oidc_redirect_url.as_deref().unwrap_or_default(),
        );
        config.user_claim = UserClaim::parse(&self.oidc_user_claim);
        config.groups_claim = self.oidc_groups_claim.clone();
        config.admin_group = self.oidc_admin_group.clone();
        config.scopes = self
            .oidc_scopes
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if let Some(name) = &self.oidc_provider_name {
            config.provider_name = name.clone();
        }
        Ok(Some(Arc::new(Oidc::new(config, roots)?)))
    }
}
