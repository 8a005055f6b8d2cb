//! The spec formats as written (serde), and their mapping to the [`Slo`] model, as Sloth maps
//! them (`internal/storage/io/{sloth,k8s_sloth,openslo}.go`).

use std::collections::BTreeMap;

use serde::Deserialize;
use socle_catalog::yaml::{Node, Seg, path_string};

use crate::gofmt::PromDuration;
use crate::model::{AlertMeta, Field, K8sMeta, Labels, Origin, Sli, Slo, SloGroup, SpecKind};

// ---- Sloth `prometheus/v1` (snake_case) and `PrometheusServiceLevel` (camelCase) ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PromSpec {
    pub version: String,
    pub service: String,
    pub labels: Labels,
    #[serde(alias = "sloPlugins")]
    pub slo_plugins: Option<Plugins>,
    pub slos: Vec<PromSlo>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct K8sDoc {
    pub metadata: K8sMetadata,
    pub spec: PromSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct K8sMetadata {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
    pub annotations: Labels,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Plugins {
    pub chain: Vec<PluginRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PluginRef {
    pub id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PromSlo {
    pub name: String,
    pub description: String,
    pub objective: f64,
    pub plugins: Option<Plugins>,
    pub labels: Labels,
    pub sli: PromSli,
    pub alerting: Alerting,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct PromSli {
    pub raw: Option<SliRaw>,
    pub events: Option<SliEvents>,
    pub plugin: Option<PluginRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SliRaw {
    #[serde(alias = "errorRatioQuery")]
    pub error_ratio_query: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct SliEvents {
    #[serde(alias = "errorQuery")]
    pub error_query: String,
    #[serde(alias = "totalQuery")]
    pub total_query: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Alerting {
    pub name: String,
    pub labels: Labels,
    pub annotations: Labels,
    #[serde(alias = "pageAlert")]
    pub page_alert: Alert,
    #[serde(alias = "ticketAlert")]
    pub ticket_alert: Alert,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Alert {
    pub disable: bool,
    pub labels: Labels,
    pub annotations: Labels,
}

fn merged(a: &Labels, b: &Labels) -> Labels {
    let mut out = a.clone();
    out.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

fn alert_meta(alerting: &Alerting, alert: &Alert) -> AlertMeta {
    if alert.disable {
        return AlertMeta::disabled();
    }
    AlertMeta {
        disable: false,
        name: alerting.name.clone(),
        labels: merged(&alerting.labels, &alert.labels),
        annotations: merged(&alerting.annotations, &alert.annotations),
    }
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Field paths (relative to the document) of a Sloth SLO at `base`, in snake or camel case.
fn sloth_paths(base: &[Seg], service: &[Seg], camel: bool) -> Vec<(Field, Vec<Seg>)> {
    let c = |snake: &'static str, camel_name: &'static str| if camel { camel_name } else { snake };
    let at = |rest: &[&str]| {
        let mut p = base.to_vec();
        p.extend(rest.iter().map(|k| key(k)));
        p
    };
    vec![
        (Field::Slo, base.to_vec()),
        (Field::Name, at(&["name"])),
        (Field::Service, service.to_vec()),
        (Field::Objective, at(&["objective"])),
        (Field::Labels, at(&["labels"])),
        (Field::Sli, at(&["sli"])),
        (
            Field::ErrorQuery,
            at(&["sli", "events", c("error_query", "errorQuery")]),
        ),
        (
            Field::TotalQuery,
            at(&["sli", "events", c("total_query", "totalQuery")]),
        ),
        (
            Field::RawQuery,
            at(&["sli", "raw", c("error_ratio_query", "errorRatioQuery")]),
        ),
        (Field::Alerting, at(&["alerting"])),
        (Field::AlertName, at(&["alerting", "name"])),
        (
            Field::PageAlert,
            at(&["alerting", c("page_alert", "pageAlert")]),
        ),
        (
            Field::TicketAlert,
            at(&["alerting", c("ticket_alert", "ticketAlert")]),
        ),
        (Field::Plugins, at(&["plugins"])),
    ]
}

/// Resolves field paths to the path text and line written in `node`.
pub(crate) fn origin(node: &Node, paths: Vec<(Field, Vec<Seg>)>) -> Origin {
    Origin {
        positions: paths
            .into_iter()
            .map(|(f, p)| (f, path_string(&p), node.locate(&p).0))
            .collect(),
    }
}

/// Sloth's mapping of a `prometheus/v1` spec (or a `PrometheusServiceLevel`'s spec).
pub(crate) fn map_prom(spec: &PromSpec, node: &Node, base: &[Seg], camel: bool) -> Vec<Slo> {
    let group_plugins: Vec<String> = spec
        .slo_plugins
        .iter()
        .flat_map(|p| p.chain.iter().map(|c| c.id.clone()))
        .collect();
    let mut service_path = base.to_vec();
    service_path.push(key("service"));
    spec.slos
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut slo_path = base.to_vec();
            slo_path.extend([key("slos"), Seg::Index(i)]);
            let sli = match (&s.sli.events, &s.sli.raw, &s.sli.plugin) {
                (None, None, None) => Sli::Missing,
                (Some(e), None, None) => Sli::Events {
                    error_query: e.error_query.clone(),
                    total_query: e.total_query.clone(),
                },
                (None, Some(r), None) => Sli::Raw {
                    error_ratio_query: r.error_ratio_query.clone(),
                },
                (None, None, Some(p)) => Sli::Plugin { id: p.id.clone() },
                _ => Sli::Ambiguous,
            };
            let mut plugins = group_plugins.clone();
            plugins.extend(
                s.plugins
                    .iter()
                    .flat_map(|p| p.chain.iter().map(|c| c.id.clone())),
            );
            Slo {
                id: format!("{}-{}", spec.service, s.name),
                name: s.name.clone(),
                description: s.description.clone(),
                service: spec.service.clone(),
                sli,
                period: None,
                objective: s.objective,
                labels: merged(&spec.labels, &s.labels),
                page_alert: alert_meta(&s.alerting, &s.alerting.page_alert),
                ticket_alert: alert_meta(&s.alerting, &s.alerting.ticket_alert),
                plugins,
                origin: origin(node, sloth_paths(&slo_path, &service_path, camel)),
            }
        })
        .collect()
}

// ---- OpenSLO `openslo/v1alpha` (what Sloth imports) ----

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct OsloAlphaDoc {
    pub metadata: OsloMetadata,
    pub spec: OsloAlphaSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct OsloMetadata {
    pub name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OsloAlphaSpec {
    pub service: String,
    pub description: String,
    pub objectives: Vec<OsloAlphaObjective>,
    pub time_windows: Vec<OsloAlphaWindow>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OsloAlphaObjective {
    pub ratio_metrics: Option<OsloAlphaRatio>,
    pub target: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct OsloAlphaRatio {
    pub good: OsloAlphaQuery,
    pub total: OsloAlphaQuery,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct OsloAlphaQuery {
    pub source: String,
    pub query_type: String,
    pub query: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct OsloAlphaWindow {
    pub count: u64,
    pub unit: String,
}

/// Sloth's error ratio from OpenSLO's good/total queries.
pub(crate) fn good_total_ratio(good: &str, total: &str) -> String {
    format!("\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n")
}

/// A problem with a document as a whole (a path relative to the document, and a message).
pub(crate) type DocProblem = (Vec<Seg>, String);

/// Sloth's mapping of an OpenSLO `v1alpha` SLO: one SLO per objective, alerts disabled.
pub(crate) fn map_openslo_alpha(doc: &OsloAlphaDoc, node: &Node) -> Result<Vec<Slo>, DocProblem> {
    let spec = &doc.spec;
    if spec.objectives.is_empty() {
        return Err((
            vec![key("spec"), key("objectives")],
            "at least one objective is required".into(),
        ));
    }
    let windows = vec![key("spec"), key("timeWindows")];
    let period = match spec.time_windows.as_slice() {
        [] => None,
        [w] if w.unit.eq_ignore_ascii_case("day") => Some(PromDuration::days(w.count)),
        [_] => return Err((windows, "only day-based time windows are supported".into())),
        _ => return Err((windows, "only one time window is supported".into())),
    };
    let mut out = Vec::new();
    for (i, o) in spec.objectives.iter().enumerate() {
        let base = vec![key("spec"), key("objectives"), Seg::Index(i)];
        let at = |k: &str| {
            let mut p = base.clone();
            p.push(key(k));
            p
        };
        let Some(ratio) = &o.ratio_metrics else {
            return Err((base, "only ratioMetrics objectives are supported".into()));
        };
        for (which, q) in [("good", &ratio.good), ("total", &ratio.total)] {
            let mut p = at("ratioMetrics");
            p.push(key(which));
            if q.source != "prometheus" && q.source != "sloth" {
                return Err((
                    p,
                    format!("the {which} query source must be prometheus or sloth"),
                ));
            }
            if q.query_type != "promql" {
                return Err((
                    p,
                    format!(
                        "unsupported {which} query type {:?}: expected promql",
                        q.query_type
                    ),
                ));
            }
        }
        let Some(target) = o.target else {
            return Err((at("target"), "the objective target is required".into()));
        };
        let mut paths = vec![
            (Field::Slo, base.clone()),
            (Field::Name, vec![key("metadata"), key("name")]),
            (Field::Service, vec![key("spec"), key("service")]),
            (Field::Objective, at("target")),
            (Field::RawQuery, at("ratioMetrics")),
            (Field::Sli, at("ratioMetrics")),
            (Field::Period, windows.clone()),
        ];
        paths.shrink_to_fit();
        out.push(Slo {
            id: format!("{}-{}-{i}", spec.service, doc.metadata.name),
            name: format!("{}-{i}", doc.metadata.name),
            description: spec.description.clone(),
            service: spec.service.clone(),
            sli: Sli::Raw {
                error_ratio_query: good_total_ratio(&ratio.good.query, &ratio.total.query),
            },
            period,
            objective: target * 100.0,
            labels: BTreeMap::new(),
            page_alert: AlertMeta::disabled(),
            ticket_alert: AlertMeta::disabled(),
            plugins: Vec::new(),
            origin: origin(node, paths),
        });
    }
    Ok(out)
}

/// The group a mapped document makes.
pub(crate) fn group(kind: SpecKind, k8s: Option<K8sMeta>, slos: Vec<Slo>, node: &Node) -> SloGroup {
    SloGroup {
        kind,
        k8s,
        slos,
        line: node.line,
    }
}
