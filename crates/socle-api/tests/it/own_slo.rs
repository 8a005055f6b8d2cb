//! Socle's own SLOs (`deploy/slo/socle.yaml`) read series Socle exports: every selector of their
//! SLI queries names a metric `/metrics` shows after traffic, with the labels it matches on, and
//! the latency SLO's bucket bound is one of the histogram's.

use std::collections::BTreeSet;

use hyper::StatusCode;

use crate::harness::{Server, both};

fn queries() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/slo/socle.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let groups = socle_slo::load(&text, "deploy/slo/socle.yaml", &Default::default()).unwrap();
    let mut out = Vec::new();
    for slo in groups.iter().flat_map(|g| &g.slos) {
        match &slo.sli {
            socle_slo::Sli::Events {
                error_query,
                total_query,
            } => out.extend([error_query.clone(), total_query.clone()]),
            other => panic!("{}: unexpected SLI {other:?}", slo.name),
        }
    }
    out
}

/// `metric{labels} value` lines of the exposition: metric name → the label names seen, and the
/// full `name{labels}` text of each series.
fn exposition(
    text: &str,
) -> (
    std::collections::BTreeMap<String, BTreeSet<String>>,
    Vec<String>,
) {
    let mut names = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    let mut series = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let head = line.rsplit_once(' ').map_or(line, |(h, _)| h);
        series.push(head.to_owned());
        let (name, labels) = head.split_once('{').unwrap_or((head, ""));
        let set = names.entry(name.to_owned()).or_default();
        for pair in labels
            .trim_end_matches('}')
            .split(',')
            .filter(|p| !p.is_empty())
        {
            if let Some((k, _)) = pair.split_once('=') {
                set.insert(k.to_owned());
            }
        }
    }
    (names, series)
}

async fn socles_own_slos_read_series_socle_exports(s: &Server) {
    for _ in 0..3 {
        let (status, _) = s.call("GET", "/api/v1/entities", None, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, text) = s.call_raw("GET", "/metrics", Some(&s.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (names, series) = exposition(&text);
    let qs = queries();
    assert_eq!(qs.len(), 4, "two SLOs, each an error and a total query");
    for q in &qs {
        for sel in socle_slo::query::selectors(q).unwrap() {
            let metric = sel.metric.clone().expect("a metric name");
            let labels = names
                .get(&metric)
                .unwrap_or_else(|| panic!("{q}: /metrics has no {metric}"));
            for (label, value) in &sel.labels {
                assert!(labels.contains(label), "{q}: {metric} has no label {label}");
                if label == "le" {
                    let bucket = format!("le=\"{value}\"");
                    assert!(
                        series
                            .iter()
                            .any(|s| s.starts_with(&metric) && s.contains(&bucket)),
                        "{q}: no bucket {bucket} in /metrics"
                    );
                }
            }
        }
    }
}
both!(socles_own_slos_read_series_socle_exports);
