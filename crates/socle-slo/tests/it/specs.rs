//! Spec reading beyond Sloth's corpus: OpenSLO v1, error positions, and what a hostile spec
//! cannot do to the rules it generates.

use socle_slo::{GenerateOptions, LoadOptions, Sli, group_rules, load};

const OPENSLO_V1: &str = r#"apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{service="checkout",code=~"5.."}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{service="checkout"}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: checkout-burn
  labels:
    severity: page
spec:
  conditions: []
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
  labels:
    tier: "1"
spec:
  service: checkout
  indicatorRef: checkout-errors
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - targetPercent: 99.5
  alertPolicies:
    - alertPolicyRef: checkout-burn
"#;

#[test]
fn openslo_v1_slo_reads_its_sli_and_alert_policy() {
    let groups = load(OPENSLO_V1, "openslo.yaml", &LoadOptions::default()).unwrap();
    assert_eq!(groups.len(), 1);
    let slo = &groups[0].slos[0];
    assert_eq!(slo.id, "checkout-availability-0");
    assert_eq!(slo.objective, 99.5);
    assert_eq!(slo.period, Some(socle_slo::PromDuration::days(28)));
    assert_eq!(
        slo.sli,
        Sli::Events {
            error_query:
                "sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[{{.window}}]))"
                    .into(),
            total_query: "sum(rate(http_requests_total{service=\"checkout\"}[{{.window}}]))".into(),
        }
    );
    assert_eq!(slo.page_alert.name, "checkout-burn");
    assert_eq!(slo.page_alert.labels["severity"], "page");
    let rules = group_rules(&groups[0], &GenerateOptions::default()).unwrap();
    let info = rules[1]
        .rules
        .iter()
        .find(|r| r.record.as_deref() == Some("sloth_slo_info"))
        .unwrap();
    assert_eq!(info.labels["sloth_spec"], "openslo/v1");
    assert_eq!(rules[0].rules.last().unwrap().labels["sloth_window"], "4w");
}

#[test]
fn openslo_v1_with_a_missing_sli_reference_is_refused_at_the_reference() {
    let text = OPENSLO_V1.replace("indicatorRef: checkout-errors", "indicatorRef: nope");
    let errors = load(&text, "openslo.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors[0].path, "spec.indicatorRef");
    assert_eq!(errors[0].line, Some(36));
    assert!(errors[0].message.contains("\"nope\""));
}

const K8S: &str = r#"apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: svc
spec:
  service: svc
  slos:
    - name: ok
      objective: 99
      sli:
        events:
          errorQuery: sum(rate(e[{{.window}}]))
          totalQuery: sum(rate(t[5m]))
      alerting:
        pageAlert:
          disable: true
        ticketAlert:
          disable: true
"#;

#[test]
fn a_query_without_the_window_variable_is_refused_at_its_camel_case_field() {
    let errors = load(K8S, "slo.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.slos[0].sli.events.totalQuery");
    assert_eq!(errors[0].line, Some(13));
    assert_eq!(
        errors[0].to_string(),
        "slo.yaml:13: spec.slos[0].sli.events.totalQuery: the total query must contain the {{.window}} variable"
    );
}

#[test]
fn invalid_promql_is_refused() {
    let text = K8S.replace("sum(rate(t[5m]))", "sum(rate(t[{{.window}}])");
    let errors = load(&text, "slo.yaml", &LoadOptions::default()).unwrap_err();
    assert!(errors[0].message.contains("invalid PromQL"), "{errors:#?}");
}

#[test]
fn a_wrong_type_is_reported_with_its_field_path_and_line() {
    let text = K8S.replace("objective: 99", "objective: [99]");
    let errors = load(&text, "slo.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors[0].path, "spec.slos[0].objective");
    assert_eq!(errors[0].line, Some(9));
}

#[test]
fn a_service_name_cannot_break_out_of_the_label_matchers() {
    // The service lands unescaped in every generated selector: the name rule is what keeps
    // `"} or vector(1) {` out of the rules.
    let text = K8S
        .replace("service: svc", "service: 'svc\"} or vector(1) or x{a=\"'")
        .replace("sum(rate(t[5m]))", "sum(rate(t[{{.window}}]))");
    let errors = load(&text, "slo.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.service");
}

#[test]
fn label_values_with_quotes_and_newlines_stay_values_in_the_yaml() {
    let text = K8S
        .replace("sum(rate(t[5m]))", "sum(rate(t[{{.window}}]))")
        .replace(
            "  slos:",
            "  labels:\n    note: \"a: b\\n- c: 'd'\\\"\"\n  slos:",
        );
    let groups = load(&text, "slo.yaml", &LoadOptions::default()).unwrap();
    let rules = group_rules(&groups[0], &GenerateOptions::default()).unwrap();
    let yaml = socle_slo::to_yaml(
        &groups[0],
        &rules,
        "slo.yaml",
        socle_slo::RuleWrapping::RuleFile,
    )
    .unwrap();
    let docs =
        socle_catalog::yaml::parse_documents(&yaml, &socle_catalog::Limits::default()).unwrap();
    let v = docs[0].to_json();
    assert_eq!(
        v["groups"][0]["rules"][0]["labels"]["note"],
        "a: b\n- c: 'd'\""
    );
}

#[test]
fn a_file_name_cannot_inject_yaml_through_the_header_comment() {
    let groups = load(
        &K8S.replace("sum(rate(t[5m]))", "sum(rate(t[{{.window}}]))"),
        "x",
        &LoadOptions::default(),
    )
    .unwrap();
    let rules = group_rules(&groups[0], &GenerateOptions::default()).unwrap();
    let yaml = socle_slo::to_yaml(
        &groups[0],
        &rules,
        "a\nevil: true\n",
        socle_slo::RuleWrapping::AsSloth,
    )
    .unwrap();
    let docs =
        socle_catalog::yaml::parse_documents(&yaml, &socle_catalog::Limits::default()).unwrap();
    assert!(docs[0].to_json().get("evil").is_none());
}

#[test]
fn an_alias_bomb_is_refused_not_expanded() {
    let mut text = String::from("version: prometheus/v1\nservice: s\nlabels:\n  a0: &a0 x\n");
    for i in 1..30 {
        text.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let errors = load(&text, "bomb.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1);
}

#[test]
fn a_period_without_alert_windows_is_refused() {
    let options = LoadOptions {
        default_period: socle_slo::PromDuration::days(7),
        ..LoadOptions::default()
    };
    let text = K8S.replace("sum(rate(t[5m]))", "sum(rate(t[{{.window}}]))");
    let errors = load(&text, "slo.yaml", &options).unwrap_err();
    assert!(
        errors[0].message.contains("1w SLO period is not supported"),
        "{errors:#?}"
    );
}
