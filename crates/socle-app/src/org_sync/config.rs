//! The org sync's configuration: which directories to read and how their entries map to
//! catalog groups and users, in the shape of Backstage's LDAP org provider
//! (`catalog.providers.ldapOrg`): a target, a bind, and lists of user and group searches, each
//! with a base DN, options (scope, filter, paging) and an attribute map.
//!
//! The bind password is never in the file: it names a file (`passwordFile`, e.g. a mounted
//! Kubernetes Secret) or an environment variable (`passwordEnv`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Longest configuration file read.
const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: larger than {MAX_CONFIG_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("invalid org sync configuration: {0}")]
    Parse(String),
    #[error("provider {provider}: {message}")]
    Invalid { provider: String, message: String },
    #[error("provider {provider}: cannot read the bind password: {message}")]
    Password { provider: String, message: String },
}

/// The whole file: one or more directories.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrgSyncConfig {
    pub providers: Vec<Provider>,
}

/// One directory and what to read from it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provider {
    /// A short name: the catalog location is `ldap:<name>`.
    pub name: String,
    /// `ldap://host:389` or `ldaps://host:636`.
    pub target: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub start_tls: bool,
    /// The account to bind as (none: an anonymous bind).
    #[serde(default)]
    pub bind: Option<Bind>,
    /// Seconds between two syncs under `socle serve` (default one hour).
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// A whole sync must end within this many seconds (default 120).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    #[serde(default)]
    pub limits: SyncLimits,
    pub users: Vec<Search<UserMap>>,
    pub groups: Vec<Search<GroupMap>>,
}

/// How to authenticate.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bind {
    pub dn: String,
    /// A file holding the password (trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
}

/// Bounds on what one sync reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncLimits {
    /// Entries (users and groups together): beyond it the sync fails and changes nothing.
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
    /// Bytes of one attribute value: longer values are dropped with an error.
    #[serde(default = "default_max_value")]
    pub max_value_bytes: usize,
    /// Members of one group.
    #[serde(default = "default_max_members")]
    pub max_members: usize,
    /// Depth of the group tree: a deeper (or cyclic) chain loses its parent link, with an error.
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
}

impl Default for SyncLimits {
    fn default() -> Self {
        Self {
            max_entries: default_max_entries(),
            max_value_bytes: default_max_value(),
            max_members: default_max_members(),
            max_depth: default_max_depth(),
        }
    }
}

fn default_interval() -> u64 {
    3600
}
fn default_timeout() -> u64 {
    120
}
fn default_max_entries() -> usize {
    50_000
}
fn default_max_value() -> usize {
    4096
}
fn default_max_members() -> usize {
    10_000
}
fn default_max_depth() -> usize {
    32
}

/// A search: where, how, and which attributes become which fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Search<M> {
    /// The base DN, e.g. `ou=people,dc=example,dc=org`.
    pub dn: String,
    #[serde(default)]
    pub options: SearchOptions,
    #[serde(default)]
    pub map: M,
}

/// How to search under the base DN.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchOptions {
    #[serde(default)]
    pub scope: Scope,
    /// An LDAP filter (RFC 4515), default `(objectClass=*)`.
    #[serde(default = "default_filter")]
    pub filter: String,
    /// Page size for the simple paged results control (RFC 2696); 0: no paging.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            scope: Scope::default(),
            filter: default_filter(),
            page_size: default_page_size(),
        }
    }
}

fn default_filter() -> String {
    "(objectClass=*)".into()
}
fn default_page_size() -> u32 {
    500
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Base,
    One,
    #[default]
    Sub,
}

/// Which attribute holds each field of a User (Backstage's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserMap {
    #[serde(default = "uid")]
    pub name: String,
    #[serde(default = "cn")]
    pub display_name: String,
    #[serde(default = "mail")]
    pub email: String,
    #[serde(default)]
    pub picture: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Group DNs the user belongs to (needs the directory's memberOf overlay).
    #[serde(default = "member_of")]
    pub member_of: String,
}

impl Default for UserMap {
    fn default() -> Self {
        Self {
            name: uid(),
            display_name: cn(),
            email: mail(),
            picture: None,
            description: None,
            member_of: member_of(),
        }
    }
}

/// Which attribute holds each field of a Group (Backstage's defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupMap {
    #[serde(default = "cn")]
    pub name: String,
    #[serde(default = "cn")]
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub picture: Option<String>,
    #[serde(default = "description")]
    pub description: String,
    /// The group's `spec.type`: an attribute, else `typeDefault`.
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default = "team")]
    pub type_default: String,
    #[serde(default = "member_of")]
    pub member_of: String,
    /// DNs of the group's members: users, or groups nested under it.
    #[serde(default = "member")]
    pub members: String,
}

impl Default for GroupMap {
    fn default() -> Self {
        Self {
            name: cn(),
            display_name: cn(),
            email: None,
            picture: None,
            description: description(),
            r#type: None,
            type_default: team(),
            member_of: member_of(),
            members: member(),
        }
    }
}

fn uid() -> String {
    "uid".into()
}
fn cn() -> String {
    "cn".into()
}
fn mail() -> String {
    "mail".into()
}
fn description() -> String {
    "description".into()
}
fn team() -> String {
    "team".into()
}
fn member_of() -> String {
    "memberOf".into()
}
fn member() -> String {
    "member".into()
}

impl OrgSyncConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::parse(&String::from_utf8_lossy(&text))
    }

    /// Parses and checks a configuration's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.providers.is_empty() {
            return Err(ConfigError::Parse("no providers".into()));
        }
        let mut names = std::collections::BTreeSet::new();
        for p in &self.providers {
            let invalid = |message: &str| ConfigError::Invalid {
                provider: p.name.clone(),
                message: message.to_owned(),
            };
            if !socle_catalog::rules::is_dns_label(&p.name) {
                return Err(invalid("name must be a DNS label ([a-z0-9-], at most 63)"));
            }
            if !names.insert(p.name.as_str()) {
                return Err(invalid("two providers have this name"));
            }
            if !(p.target.starts_with("ldap://") || p.target.starts_with("ldaps://")) {
                return Err(invalid("target must be an ldap:// or ldaps:// URL"));
            }
            if p.start_tls && p.target.starts_with("ldaps://") {
                return Err(invalid(
                    "startTls is for ldap:// targets (ldaps:// is TLS already)",
                ));
            }
            if p.interval_seconds < 60 || p.timeout_seconds == 0 || p.timeout_seconds > 3600 {
                return Err(invalid(
                    "intervalSeconds must be at least 60 and timeoutSeconds 1-3600",
                ));
            }
            if p.users.is_empty() && p.groups.is_empty() {
                return Err(invalid("no users or groups to read"));
            }
            if let Some(b) = &p.bind
                && b.password_file.is_some() == b.password_env.is_some()
            {
                return Err(invalid(
                    "bind needs exactly one of passwordFile and passwordEnv",
                ));
            }
        }
        Ok(())
    }
}

impl Provider {
    /// The catalog location the provider's groups and users belong to.
    pub fn location_key(&self) -> String {
        format!("{}{}", super::LOCATION_PREFIX, self.name)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_seconds)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

impl Bind {
    /// The password, from its file or environment variable.
    pub fn password(&self, provider: &str) -> Result<String, ConfigError> {
        let err = |message: String| ConfigError::Password {
            provider: provider.to_owned(),
            message,
        };
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(format!("{}: {e}", path.display())))?;
            return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
        }
        if let Some(var) = &self.password_env {
            return std::env::var(var).map_err(|_| err(format!("{var} is not set")));
        }
        Err(err("no passwordFile or passwordEnv".into()))
    }
}
