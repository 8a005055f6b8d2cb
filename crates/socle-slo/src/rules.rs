//! Prometheus rules equal to Sloth's (`internal/plugin/slo/core/{sli,metadata,alert}_rules_v1`):
//! SLI error-ratio recordings for every alert window and the SLO period, metadata recordings, and
//! the multi-window multi-burn-rate page and ticket alerts.

use serde::Serialize;

use crate::gofmt::{PromDuration, go_f, go_g};
use crate::model::{AlertMeta, K8sMeta, Labels, Sli, Slo, SloGroup, SpecKind};
use crate::query::render;
use crate::windows::{Window, WindowCatalog, Windows};

/// One Prometheus rule (recording or alerting).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    #[serde(skip_serializing_if = "Labels::is_empty")]
    pub annotations: Labels,
}

/// A named group of rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// Which rules to leave out (Sloth's `--disable-recordings` / `--disable-alerts`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Only {
    #[default]
    Everything,
    Recordings,
    Alerts,
}

/// How rules are generated.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// The SLO period of SLOs whose spec does not set one.
    pub default_period: PromDuration,
    pub windows: WindowCatalog,
    /// Labels added to every SLO (they win over the spec's).
    pub extra_labels: Labels,
    /// The `sloth_version` label value.
    pub version: String,
    pub only: Only,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            default_period: PromDuration::days(30),
            windows: WindowCatalog::default(),
            extra_labels: Labels::new(),
            version: format!("socle-{}", env!("CARGO_PKG_VERSION")),
            only: Only::Everything,
        }
    }
}

/// A generation failure (an SLO that did not pass validation).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SLO {slo:?}: {message}")]
pub struct GenerateError {
    pub slo: String,
    pub message: String,
}

const SLI_METRIC: &str = "slo:sli_error:ratio_rate";

fn sli_metric(window: PromDuration) -> String {
    format!("{SLI_METRIC}{window}")
}

fn id_labels(slo: &Slo) -> Labels {
    Labels::from([
        ("sloth_id".to_owned(), slo.id.clone()),
        ("sloth_service".to_owned(), slo.service.clone()),
        ("sloth_slo".to_owned(), slo.name.clone()),
    ])
}

/// Prometheus' `LabelSet.String()` of the id labels. Ids, services and names are restricted to
/// `[A-Za-z0-9._-]` by validation, so quoting needs no escapes.
fn filter(slo: &Slo) -> String {
    let parts: Vec<String> = id_labels(slo)
        .iter()
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn merge(base: Labels, over: &Labels) -> Labels {
    let mut out = base;
    out.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The SLI error ratio over `window`, as Sloth's recording rule computes it from the spec's
/// queries (`None` for an SLI that has no query).
pub fn sli_query(slo: &Slo, window: PromDuration) -> Option<String> {
    let w = window.to_string();
    match &slo.sli {
        Sli::Events {
            error_query,
            total_query,
        } => Some(render(
            &format!("({error_query})\n/\n({total_query})\n"),
            &w,
        )),
        Sli::Raw { error_ratio_query } => Some(render(&format!("({error_ratio_query})"), &w)),
        Sli::Plugin { .. } | Sli::Missing | Sli::Ambiguous => None,
    }
}

fn sli_rule(slo: &Slo, window: PromDuration, period: PromDuration, ws: &Windows) -> Rule {
    let w = window.to_string();
    let expr = if window == period && window != ws.page_quick.short {
        let short = sli_metric(ws.page_quick.short);
        let f = filter(slo);
        format!(
            "sum_over_time({short}{f}[{w}])\n/ ignoring (sloth_window)\ncount_over_time({short}{f}[{w}])\n"
        )
    } else {
        sli_query(slo, window).unwrap_or_default()
    };
    let mut labels = id_labels(slo);
    labels.insert("sloth_window".into(), w);
    Rule {
        record: Some(sli_metric(window)),
        alert: None,
        expr,
        labels: merge(labels, &slo.labels),
        annotations: Labels::new(),
    }
}

fn record(name: &str, expr: String, labels: &Labels) -> Rule {
    Rule {
        record: Some(name.to_owned()),
        alert: None,
        expr,
        labels: labels.clone(),
        annotations: Labels::new(),
    }
}

fn burn_rate_expr(metric: &str, f: &str) -> String {
    format!(
        "{metric}{f}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{f}\n"
    )
}

fn metadata_rules(
    slo: &Slo,
    kind: SpecKind,
    period: PromDuration,
    ws: &Windows,
    version: &str,
) -> Vec<Rule> {
    let labels = merge(id_labels(slo), &slo.labels);
    let ratio = go_g(slo.objective / 100.0);
    let f = filter(slo);
    let mut info = labels.clone();
    info.extend([
        ("sloth_version".to_owned(), version.to_owned()),
        ("sloth_mode".to_owned(), kind.mode_label().to_owned()),
        ("sloth_spec".to_owned(), kind.spec_label().to_owned()),
        ("sloth_objective".to_owned(), go_f(slo.objective)),
    ]);
    vec![
        record("slo:objective:ratio", format!("vector({ratio})"), &labels),
        record(
            "slo:error_budget:ratio",
            format!("vector(1-{ratio})"),
            &labels,
        ),
        record(
            "slo:time_period:days",
            format!("vector({})", go_g(period.hours_f64() / 24.0)),
            &labels,
        ),
        record(
            "slo:current_burn_rate:ratio",
            burn_rate_expr(&sli_metric(ws.page_quick.short), &f),
            &labels,
        ),
        record(
            "slo:period_burn_rate:ratio",
            burn_rate_expr(&sli_metric(period), &f),
            &labels,
        ),
        record(
            "slo:period_error_budget_remaining:ratio",
            format!("1 - slo:period_burn_rate:ratio{f}"),
            &labels,
        ),
        record("sloth_slo_info", "vector(1)".into(), &info),
    ]
}

fn alert_rule(
    slo: &Slo,
    meta: &AlertMeta,
    severity: &str,
    ws: &Windows,
    quick: &Window,
    slow: &Window,
) -> Rule {
    let f = filter(slo);
    let budget = go_g((100.0 - slo.objective) / 100.0);
    let qf = go_g(ws.burn_rate(quick));
    let sf = go_g(ws.burn_rate(slow));
    let (qs, ql, ss, sl) = (
        sli_metric(quick.short),
        sli_metric(quick.long),
        sli_metric(slow.short),
        sli_metric(slow.long),
    );
    let expr = format!(
        "(\n    max({qs}{f} > ({qf} * {budget})) without (sloth_window)\n    and\n    max({ql}{f} > ({qf} * {budget})) without (sloth_window)\n)\nor\n(\n    max({ss}{f} > ({sf} * {budget})) without (sloth_window)\n    and\n    max({sl}{f} > ({sf} * {budget})) without (sloth_window)\n)\n"
    );
    let annotations = Labels::from([
        (
            "title".to_owned(),
            format!("({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast."),
        ),
        (
            "summary".to_owned(),
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.".to_owned(),
        ),
    ]);
    Rule {
        record: None,
        alert: Some(meta.name.clone()),
        expr,
        labels: merge(
            Labels::from([("sloth_severity".to_owned(), severity.to_owned())]),
            &meta.labels,
        ),
        annotations: merge(annotations, &meta.annotations),
    }
}

/// The three rule groups of one SLO (empty groups left out), as Sloth orders them.
pub fn slo_rules(
    slo: &Slo,
    kind: SpecKind,
    options: &GenerateOptions,
) -> Result<Vec<RuleGroup>, GenerateError> {
    let mut slo = slo.clone();
    slo.labels = merge(slo.labels, &options.extra_labels);
    let period = slo.period.unwrap_or(options.default_period);
    let ws = options.windows.get(period).ok_or_else(|| GenerateError {
        slo: slo.id.clone(),
        message: format!("the {period} SLO period is not supported"),
    })?;
    let mut windows = ws.alert_windows();
    windows.push(period);
    let mut groups = Vec::new();
    if options.only != Only::Alerts {
        groups.push(RuleGroup {
            name: format!("sloth-slo-sli-recordings-{}", slo.id),
            rules: windows
                .iter()
                .map(|w| sli_rule(&slo, *w, period, ws))
                .collect(),
        });
        groups.push(RuleGroup {
            name: format!("sloth-slo-meta-recordings-{}", slo.id),
            rules: metadata_rules(&slo, kind, period, ws, &options.version),
        });
    }
    if options.only != Only::Recordings {
        let mut alerts = Vec::new();
        if !slo.page_alert.disable {
            alerts.push(alert_rule(
                &slo,
                &slo.page_alert,
                "page",
                ws,
                &ws.page_quick,
                &ws.page_slow,
            ));
        }
        if !slo.ticket_alert.disable {
            alerts.push(alert_rule(
                &slo,
                &slo.ticket_alert,
                "ticket",
                ws,
                &ws.ticket_quick,
                &ws.ticket_slow,
            ));
        }
        if !alerts.is_empty() {
            groups.push(RuleGroup {
                name: format!("sloth-slo-alerts-{}", slo.id),
                rules: alerts,
            });
        }
    }
    Ok(groups)
}

/// Every rule group of an SLO group, SLO after SLO.
pub fn group_rules(
    group: &SloGroup,
    options: &GenerateOptions,
) -> Result<Vec<RuleGroup>, GenerateError> {
    let mut out = Vec::new();
    for slo in &group.slos {
        out.extend(slo_rules(slo, group.kind, options)?);
    }
    Ok(out)
}

#[derive(Serialize)]
struct RuleFile<'a> {
    groups: &'a [RuleGroup],
}

#[derive(Serialize)]
struct PrometheusRule<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: RuleMeta,
    spec: RuleFile<'a>,
}

#[derive(Serialize)]
struct RuleMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<Labels>,
    labels: Labels,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    namespace: String,
}

/// The YAML text of a generation failure while serialising (never expected: plain data).
#[derive(Debug, thiserror::Error)]
#[error("could not write rules as YAML: {0}")]
pub struct YamlWriteError(String);

/// What a spec's rules are written as.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RuleWrapping {
    /// As Sloth writes them: a Prometheus rule file, or for a `PrometheusServiceLevel` a
    /// prometheus-operator `PrometheusRule`.
    #[default]
    AsSloth,
    /// Always a Prometheus rule file (`groups:`), e.g. for `promtool` or a Prometheus without
    /// the operator.
    RuleFile,
}

/// One YAML document (with its `---` header) for an SLO group's rules.
pub fn to_yaml(
    group: &SloGroup,
    groups: &[RuleGroup],
    source: &str,
    wrapping: RuleWrapping,
) -> Result<String, YamlWriteError> {
    let body = match (&group.kind, &group.k8s, wrapping) {
        (SpecKind::Kubernetes, Some(k), RuleWrapping::AsSloth) => {
            serde_saphyr::to_string(&prometheus_rule(k, groups))
        }
        _ => serde_saphyr::to_string(&RuleFile { groups }),
    }
    .map_err(|e| YamlWriteError(e.to_string()))?;
    let source = source.replace(['\n', '\r'], " ");
    Ok(format!(
        "---\n# Code generated by Socle from {source} (Sloth-compatible rules).\n# DO NOT EDIT.\n\n{body}"
    ))
}

fn prometheus_rule<'a>(k: &K8sMeta, groups: &'a [RuleGroup]) -> PrometheusRule<'a> {
    let mut labels = k.labels.clone();
    labels.insert("app.kubernetes.io/component".into(), "SLO".into());
    labels.insert("app.kubernetes.io/managed-by".into(), "sloth".into());
    PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: RuleMeta {
            annotations: (!k.annotations.is_empty()).then(|| k.annotations.clone()),
            labels,
            name: k.name.clone(),
            namespace: k.namespace.clone(),
        },
        spec: RuleFile { groups },
    }
}
