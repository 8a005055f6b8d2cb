//! Platform configuration as code: the environments a platform team offers and the resource
//! definitions that say how each environment provides each resource type — then matching a
//! workload's resource to the most specific definition, and running template provisioners.
//!
//! Pure: the caller hands in file contents, previous resource state and a random seed.

pub mod config;
pub mod grants;
pub mod manifests;
pub mod matching;
pub mod provision;
pub mod resolve;

pub use config::{
    Environment, EnvironmentSlo, GitOps, ManifestKind, PlatformConfig, Provisioner,
    ResourceDefinition, SloGate, Target, default_config, load_config,
};
pub use grants::{ResourceGrant, SharedResource};
pub use matching::{MatchError, ResourceRequest, match_definition};
pub use provision::{
    CommandError, ComposeFragment, ProvisionError, ProvisionRequest, Provisioned, WorkloadsContext,
    provision, resource_uid,
};
pub use resolve::{
    Part, Resolution, ResolveError, ResolveInput, Resolved, ResolvedContainer, ResolvedResource,
    ResolvedWorkload, params_fingerprint, resolve,
};

/// A located problem in platform configuration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub path: String,
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.message, self.rule)
    }
}
