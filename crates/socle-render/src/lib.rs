//! Renderers: a resolved deployment (see `socle_platform::resolve`) becomes a Compose file or
//! Kubernetes manifests. Pure and deterministic: the same inputs give byte-identical files.

pub mod compose;
pub mod kubernetes;

pub use compose::{
    ComposeOptions, Publish, PublishError, RenderedFiles, SourceReadError, render_compose,
};
pub use kubernetes::{KubernetesOptions, Ownership, render_kubernetes, to_yaml_files};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("workload {workload}: {message}")]
    Workload { workload: String, message: String },
    #[error("resource {uid} (definition {definition}): {message}")]
    Resource {
        uid: String,
        definition: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}
