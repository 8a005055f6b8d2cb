//! A Grafana dashboard per service, reading the rules Sloth (and Socle) record: per SLO, the
//! objective, the remaining error budget over the period, the current and period burn rates,
//! the SLI error ratio per window and the alerts' burn-rate thresholds.
//!
//! The JSON is Grafana's import format: an `__inputs` datasource the importer picks, a
//! `datasource` template variable for provisioned use, stable `uid`s.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::gofmt::PromDuration;
use crate::model::{Slo, SloGroup};

/// Grafana's dashboard schema version this JSON is written for.
pub const SCHEMA_VERSION: u32 = 39;

const DS: &str = "${datasource}";

fn ds() -> Value {
    json!({"type": "prometheus", "uid": DS})
}

/// `{sloth_id="…", sloth_service="…", sloth_slo="…"}`: ids are `[A-Za-z0-9._-]` by validation.
fn selector(slo: &Slo) -> String {
    format!(
        "{{sloth_id=\"{}\", sloth_service=\"{}\", sloth_slo=\"{}\"}}",
        slo.id, slo.service, slo.name
    )
}

fn target(expr: String, legend: &str, ref_id: &str) -> Value {
    json!({"datasource": ds(), "expr": expr, "legendFormat": legend, "refId": ref_id})
}

fn stat(
    id: u32,
    title: &str,
    expr: String,
    unit: &str,
    grid: (u32, u32, u32, u32),
    thresholds: Value,
) -> Value {
    let (x, y, w, h) = grid;
    json!({
        "id": id,
        "type": "stat",
        "title": title,
        "datasource": ds(),
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [target(expr, "", "A")],
        "fieldConfig": {"defaults": {"unit": unit, "decimals": 3, "thresholds": thresholds}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false}, "colorMode": "value", "graphMode": "area"}
    })
}

fn timeseries(
    id: u32,
    title: &str,
    targets: Vec<Value>,
    unit: &str,
    grid: (u32, u32, u32, u32),
) -> Value {
    let (x, y, w, h) = grid;
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": ds(),
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right", "showLegend": true, "calcs": ["lastNotNull"]}, "tooltip": {"mode": "multi", "sort": "desc"}}
    })
}

fn steps(steps: &[(Option<f64>, &str)]) -> Value {
    json!({
        "mode": "absolute",
        "steps": steps.iter().map(|(v, c)| json!({"color": c, "value": v})).collect::<Vec<_>>()
    })
}

/// The panels of one SLO, starting at row `y` with panel ids from `first_id`.
fn slo_panels(slo: &Slo, period: PromDuration, y: u32, first_id: u32) -> Vec<Value> {
    let s = selector(slo);
    let period = slo.period.unwrap_or(period);
    let id = |n: u32| first_id + n;
    let ratio = steps(&[(None, "red"), (Some(0.0), "orange"), (Some(0.25), "green")]);
    let burn = steps(&[(None, "green"), (Some(1.0), "orange"), (Some(6.0), "red")]);
    vec![
        json!({"id": id(0), "type": "row", "title": format!("{} — {}", slo.service, slo.name), "collapsed": false, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}),
        stat(
            id(1),
            "Objective",
            format!("slo:objective:ratio{s}"),
            "percentunit",
            (0, y + 1, 4, 5),
            steps(&[(None, "blue")]),
        ),
        stat(
            id(2),
            "Error budget remaining (period)",
            format!("slo:period_error_budget_remaining:ratio{s}"),
            "percentunit",
            (4, y + 1, 5, 5),
            ratio,
        ),
        stat(
            id(3),
            "SLI error ratio (period)",
            format!("slo:sli_error:ratio_rate{period}{s}"),
            "percentunit",
            (9, y + 1, 5, 5),
            steps(&[(None, "text")]),
        ),
        stat(
            id(4),
            "Burn rate (now)",
            format!("slo:current_burn_rate:ratio{s}"),
            "none",
            (14, y + 1, 5, 5),
            burn.clone(),
        ),
        stat(
            id(5),
            "Burn rate (period)",
            format!("slo:period_burn_rate:ratio{s}"),
            "none",
            (19, y + 1, 5, 5),
            burn,
        ),
        timeseries(
            id(6),
            "Burn rate by window",
            vec![target(
                format!(
                    "slo:sli_error:ratio_rate5m{s} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{s} or slo:sli_error:ratio_rate1h{s} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{s} or slo:sli_error:ratio_rate6h{s} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{s} or slo:sli_error:ratio_rate1d{s} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{s} or slo:sli_error:ratio_rate3d{s} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{s}"
                ),
                "{{sloth_window}}",
                "A",
            )],
            "none",
            (0, y + 6, 12, 8),
        ),
        timeseries(
            id(7),
            "Error budget remaining (period)",
            vec![target(
                format!("slo:period_error_budget_remaining:ratio{s}"),
                "remaining",
                "A",
            )],
            "percentunit",
            (12, y + 6, 12, 8),
        ),
    ]
}

/// Grafana's `uid`: at most 40 characters of `[A-Za-z0-9_-]`, stable for a service.
pub fn dashboard_uid(service: &str) -> String {
    let clean: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let uid = format!("slo-{clean}");
    if uid.len() <= 40 {
        return uid;
    }
    // FNV-1a keeps long names distinct after truncation.
    let hash = service.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", &uid[..31], hash as u32)
}

/// One dashboard per service, in service order, from every SLO of `groups` (`default_period`:
/// the SLO period of SLOs whose spec sets none).
pub fn dashboards(groups: &[SloGroup], default_period: PromDuration) -> BTreeMap<String, Value> {
    let mut by_service: BTreeMap<String, Vec<&Slo>> = BTreeMap::new();
    for slo in groups.iter().flat_map(|g| &g.slos) {
        by_service.entry(slo.service.clone()).or_default().push(slo);
    }
    by_service
        .into_iter()
        .map(|(service, slos)| {
            let panels: Vec<Value> = slos
                .iter()
                .enumerate()
                .flat_map(|(i, slo)| slo_panels(slo, default_period, i as u32 * 14, i as u32 * 10 + 1))
                .collect();
            let dashboard = json!({
                "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
                "__requires": [{"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}],
                "uid": dashboard_uid(&service),
                "title": format!("SLOs / {service}"),
                "tags": ["slo", "socle", "sloth"],
                "editable": true,
                "schemaVersion": SCHEMA_VERSION,
                "version": 1,
                "time": {"from": "now-30d", "to": "now"},
                "refresh": "1m",
                "templating": {"list": [{
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"},
                    "hide": 0
                }]},
                "annotations": {"list": []},
                "panels": panels
            });
            (service, dashboard)
        })
        .collect()
}
