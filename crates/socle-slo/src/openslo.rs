//! OpenSLO `openslo/v1`: an `SLO` with its indicator inline or as an `indicatorRef` to an `SLI`
//! document of the same file, a `ratioMetric` (good or bad over total) read from Prometheus, a
//! day/week time window, and `alertPolicies` (inline or `alertPolicyRef` to an `AlertPolicy`).
//!
//! Mapping (Sloth only imports `v1alpha`; this follows the same choices): one SLO per
//! objective (`<slo>-<index>`), good/total becomes Sloth's `1 - good/total` raw ratio, bad/total
//! becomes an events SLI; a counter query without `{{.window}}` is read as
//! `sum(rate(<query>[{{.window}}]))`; an alert policy enables the page and ticket alerts, named
//! after the policy, with its labels.

use serde::Deserialize;
use socle_catalog::yaml::{Node, Seg};

use crate::gofmt::PromDuration;
use crate::model::{AlertMeta, Field, Labels, Sli, Slo};
use crate::query::has_window;
use crate::spec::{DocProblem, good_total_ratio, origin};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metadata {
    name: String,
    labels: Labels,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SloDoc {
    metadata: Metadata,
    spec: SloSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SloSpec {
    service: String,
    description: String,
    indicator: Option<SliDoc>,
    indicator_ref: Option<String>,
    time_window: Vec<TimeWindow>,
    objectives: Vec<Objective>,
    alert_policies: Vec<AlertPolicyEntry>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SliDoc {
    metadata: Metadata,
    spec: SliSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SliSpec {
    ratio_metric: Option<RatioMetric>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RatioMetric {
    counter: bool,
    good: Option<MetricHolder>,
    bad: Option<MetricHolder>,
    total: Option<MetricHolder>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MetricHolder {
    metric_source: MetricSource,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MetricSource {
    #[serde(rename = "type")]
    kind: String,
    spec: MetricSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MetricSpec {
    query: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TimeWindow {
    duration: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Objective {
    target: Option<f64>,
    target_percent: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AlertPolicyEntry {
    kind: String,
    metadata: Metadata,
    alert_policy_ref: Option<String>,
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

fn decode<T: for<'de> Deserialize<'de>>(node: &Node) -> Result<T, DocProblem> {
    serde_json::from_value(node.to_json()).map_err(|e| (vec![], e.to_string()))
}

/// A document of the file with this kind and `metadata.name`.
fn find<'a>(all: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    all.iter().find(|n| {
        let v = n.to_json();
        v["apiVersion"] == "openslo/v1" && v["kind"] == kind && v["metadata"]["name"] == name
    })
}

/// OpenSLO's duration shorthand for SLO windows: `<n>d` or `<n>w` (`m`/`h` too).
fn window(duration: &str) -> Option<PromDuration> {
    PromDuration::parse(duration).ok().filter(|d| d.0 > 0)
}

fn query(
    holder: &Option<MetricHolder>,
    counter: bool,
    what: &str,
    at: &[Seg],
) -> Result<Option<String>, DocProblem> {
    let Some(h) = holder else { return Ok(None) };
    let src = &h.metric_source;
    if !src.kind.eq_ignore_ascii_case("prometheus") {
        return Err((
            at.to_vec(),
            format!(
                "the {what} metric source type must be Prometheus, not {:?}",
                src.kind
            ),
        ));
    }
    let q = src.spec.query.trim().to_owned();
    Ok(Some(if counter && !has_window(&q) {
        format!("sum(rate({q}[{{{{.window}}}}]))")
    } else {
        q
    }))
}

fn sli_of(sli: &SliDoc, at: &[Seg]) -> Result<Sli, DocProblem> {
    let Some(r) = &sli.spec.ratio_metric else {
        return Err((
            at.to_vec(),
            "only ratioMetric indicators are supported".into(),
        ));
    };
    let total = query(&r.total, r.counter, "total", at)?;
    let good = query(&r.good, r.counter, "good", at)?;
    let bad = query(&r.bad, r.counter, "bad", at)?;
    match (good, bad, total) {
        (Some(g), None, Some(t)) => Ok(Sli::Raw {
            error_ratio_query: good_total_ratio(&g, &t),
        }),
        (None, Some(b), Some(t)) => Ok(Sli::Events {
            error_query: b,
            total_query: t,
        }),
        _ => Err((
            at.to_vec(),
            "a ratioMetric needs total and exactly one of good or bad".into(),
        )),
    }
}

fn alerts(spec: &SloSpec, all: &[Node]) -> Result<AlertMeta, DocProblem> {
    let Some(first) = spec.alert_policies.first() else {
        return Ok(AlertMeta::disabled());
    };
    let at = vec![key("spec"), key("alertPolicies"), Seg::Index(0)];
    let meta: Metadata = match &first.alert_policy_ref {
        Some(r) => {
            let node = find(all, "AlertPolicy", r).ok_or_else(|| {
                (
                    at.clone(),
                    format!("no AlertPolicy named {r:?} in this file"),
                )
            })?;
            decode::<SliDoc>(node).map(|d| d.metadata)?
        }
        None if first.kind == "AlertPolicy" || !first.metadata.name.is_empty() => Metadata {
            name: first.metadata.name.clone(),
            labels: first.metadata.labels.clone(),
        },
        None => {
            return Err((
                at,
                "an alert policy needs metadata.name or alertPolicyRef".into(),
            ));
        }
    };
    Ok(AlertMeta {
        disable: false,
        name: meta.name,
        labels: meta.labels,
        annotations: Labels::new(),
    })
}

/// Maps an `openslo/v1` `SLO` document (`node`) with the other documents of its file (`all`).
pub(crate) fn map_slo(node: &Node, all: &[Node]) -> Result<Vec<Slo>, DocProblem> {
    let doc: SloDoc = decode(node)?;
    let spec = &doc.spec;
    let ind_at = vec![key("spec"), key("indicator")];
    let sli = match (&spec.indicator, &spec.indicator_ref) {
        (Some(i), None) => sli_of(i, &ind_at)?,
        (None, Some(r)) => {
            let at = vec![key("spec"), key("indicatorRef")];
            let n = find(all, "SLI", r)
                .ok_or_else(|| (at.clone(), format!("no SLI named {r:?} in this file")))?;
            sli_of(&decode::<SliDoc>(n)?, &at)?
        }
        _ => {
            return Err((
                vec![key("spec")],
                "exactly one of indicator or indicatorRef is required".into(),
            ));
        }
    };
    let win_at = vec![key("spec"), key("timeWindow")];
    let period = match spec.time_window.as_slice() {
        [] => None,
        [w] => Some(window(&w.duration).ok_or_else(|| {
            (
                win_at.clone(),
                format!("invalid time window duration {:?}", w.duration),
            )
        })?),
        _ => return Err((win_at, "only one time window is supported".into())),
    };
    let alert = alerts(spec, all)?;
    if spec.objectives.is_empty() {
        return Err((
            vec![key("spec"), key("objectives")],
            "at least one objective is required".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, o) in spec.objectives.iter().enumerate() {
        let base = vec![key("spec"), key("objectives"), Seg::Index(i)];
        let objective = match (o.target, o.target_percent) {
            (Some(t), None) => t * 100.0,
            (None, Some(p)) => p,
            _ => {
                return Err((
                    base,
                    "exactly one of target or targetPercent is required".into(),
                ));
            }
        };
        let mut target = base.clone();
        target.push(key(if o.target.is_some() {
            "target"
        } else {
            "targetPercent"
        }));
        let paths = vec![
            (Field::Slo, base.clone()),
            (Field::Name, vec![key("metadata"), key("name")]),
            (Field::Service, vec![key("spec"), key("service")]),
            (Field::Objective, target),
            (Field::Sli, ind_at.clone()),
            (Field::RawQuery, ind_at.clone()),
            (Field::ErrorQuery, ind_at.clone()),
            (Field::TotalQuery, ind_at.clone()),
            (Field::Period, vec![key("spec"), key("timeWindow")]),
            (Field::AlertName, vec![key("spec"), key("alertPolicies")]),
            (Field::PageAlert, vec![key("spec"), key("alertPolicies")]),
            (Field::TicketAlert, vec![key("spec"), key("alertPolicies")]),
        ];
        out.push(Slo {
            id: format!("{}-{}-{i}", spec.service, doc.metadata.name),
            name: format!("{}-{i}", doc.metadata.name),
            description: spec.description.clone(),
            service: spec.service.clone(),
            sli: sli.clone(),
            period,
            objective,
            labels: doc.metadata.labels.clone(),
            page_alert: alert.clone(),
            ticket_alert: alert.clone(),
            plugins: Vec::new(),
            origin: origin(node, paths),
        });
    }
    Ok(out)
}
