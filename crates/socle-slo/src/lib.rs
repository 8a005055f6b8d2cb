//! Service level objectives: Sloth's `prometheus/v1` spec, its Kubernetes
//! `PrometheusServiceLevel` form and OpenSLO (`openslo/v1alpha` as Sloth imports it, and
//! `openslo/v1`) read with positions and checked with Sloth's rules; Prometheus recording and
//! multi-window multi-burn-rate alert rules equal to Sloth's; a Grafana dashboard per service.
//!
//! Pure: works on text it is given; reading files and writing rules are the CLI's.

pub mod budget;
pub mod dashboard;
pub mod gofmt;
pub mod load;
pub mod model;
mod openslo;
pub mod query;
pub mod rules;
mod spec;
pub mod validate;
pub mod windows;

pub use gofmt::{PromDuration, go_g};
pub use load::{LoadOptions, duplicates, load};
pub use model::{AlertMeta, K8sMeta, Labels, Sli, Slo, SloError, SloGroup, SpecKind};
pub use rules::{
    GenerateOptions, Only, Rule, RuleGroup, RuleWrapping, group_rules, sli_query, slo_rules,
    to_yaml,
};
pub use windows::{WindowCatalog, Windows};
