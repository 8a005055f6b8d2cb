//! The SLO model every spec format maps to (Sloth's `PromSLO`), and the errors that point into
//! the file an SLO came from.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::gofmt::PromDuration;

/// Labels and annotations: sorted, as Prometheus and Sloth's YAML output print them.
pub type Labels = BTreeMap<String, String>;

/// Which format a group of SLOs was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecKind {
    /// Sloth's `version: prometheus/v1`.
    Prometheus,
    /// Sloth's Kubernetes `PrometheusServiceLevel` (`sloth.slok.dev/v1`).
    Kubernetes,
    /// OpenSLO `openslo/v1alpha` `SLO` (the form Sloth imports).
    OpenSloV1Alpha,
    /// OpenSLO `openslo/v1` `SLO` (with its `SLI` and `AlertPolicy` documents).
    OpenSloV1,
}

impl SpecKind {
    /// Sloth's `sloth_spec` label value.
    pub fn spec_label(self) -> &'static str {
        match self {
            SpecKind::Prometheus => "prometheus/v1",
            SpecKind::Kubernetes => "sloth.slok.dev/v1",
            SpecKind::OpenSloV1Alpha => "openslo/v1alpha",
            SpecKind::OpenSloV1 => "openslo/v1",
        }
    }

    /// Sloth's `sloth_mode` label value (the CLI generator).
    pub fn mode_label(self) -> &'static str {
        match self {
            SpecKind::Prometheus => "cli-gen-prom",
            SpecKind::Kubernetes => "cli-gen-k8s",
            SpecKind::OpenSloV1Alpha | SpecKind::OpenSloV1 => "cli-gen-openslo",
        }
    }
}

/// How an SLO measures its errors.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sli {
    /// Error and total event queries, each with `{{.window}}`.
    Events {
        error_query: String,
        total_query: String,
    },
    /// One error ratio query with `{{.window}}`.
    Raw { error_ratio_query: String },
    /// A Sloth SLI plugin (Go code Sloth loads): read, never run.
    Plugin { id: String },
    /// No SLI given.
    Missing,
    /// More than one SLI type given.
    Ambiguous,
}

/// One alert (page or ticket) of an SLO.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AlertMeta {
    pub disable: bool,
    pub name: String,
    pub labels: Labels,
    pub annotations: Labels,
}

impl AlertMeta {
    pub fn disabled() -> Self {
        Self {
            disable: true,
            ..Self::default()
        }
    }
}

/// An SLO, whatever format it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub service: String,
    pub sli: Sli,
    /// The SLO period the spec sets (OpenSLO time windows); `None`: the generator's default.
    pub period: Option<PromDuration>,
    /// Percent, e.g. 99.9.
    pub objective: f64,
    pub labels: Labels,
    pub page_alert: AlertMeta,
    pub ticket_alert: AlertMeta,
    /// Sloth SLO plugins declared (Go code Sloth loads): read, never run.
    pub plugins: Vec<String>,
    /// Where the SLO is written in its document.
    #[serde(skip)]
    pub(crate) origin: Origin,
}

/// Kubernetes metadata of a `PrometheusServiceLevel`, carried to the `PrometheusRule` it becomes.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct K8sMeta {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
    pub annotations: Labels,
}

/// The SLOs of one YAML document.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloGroup {
    pub kind: SpecKind,
    pub k8s: Option<K8sMeta>,
    pub slos: Vec<Slo>,
    /// Line where the document starts.
    pub line: u32,
}

/// Which SLO field a validation rule is about: each format names it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Slo,
    Name,
    Service,
    Objective,
    Period,
    Labels,
    Sli,
    ErrorQuery,
    TotalQuery,
    RawQuery,
    Alerting,
    AlertName,
    PageAlert,
    TicketAlert,
    Plugins,
}

/// Where an SLO's fields are written: the field path and line of each, resolved at load time.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Origin {
    pub(crate) positions: Vec<(Field, String, u32)>,
}

impl Origin {
    /// The path and line of `field` (the SLO entry's when the format has no such field).
    pub(crate) fn locate(&self, field: Field) -> (String, u32) {
        self.positions
            .iter()
            .find(|(f, _, _)| *f == field)
            .or_else(|| self.positions.iter().find(|(f, _, _)| *f == Field::Slo))
            .map(|(_, p, l)| (p.clone(), *l))
            .unwrap_or_default()
    }
}

/// A problem in an SLO file, with its position and field path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct SloError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Field path, e.g. `slos[1].objective`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SloError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}
