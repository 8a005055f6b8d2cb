//! Planning and judging checks without a server: the parsers never panic and read what they
//! write, the plan of a contract is datacontract-cli's, and verdicts follow the threshold.

use proptest::prelude::*;
use serde_json::json;
use socle_catalog::Limits;
use socle_data::quality::duration::iso8601_seconds;
use socle_data::quality::evaluate::{Measured, evaluate};
use socle_data::quality::{Verdict, guard, plan};

proptest! {
    #[test]
    fn iso_durations_never_panic(s in "\\PC{0,24}") {
        let _ = iso8601_seconds(&s);
    }

    #[test]
    fn iso_durations_read_what_they_state(d in 0u32..400, h in 0u32..48, m in 0u32..120, s in 0u32..120) {
        let text = format!("P{d}DT{h}H{m}M{s}S");
        prop_assert_eq!(iso8601_seconds(&text), Some(i64::from(d) * 86_400 + i64::from(h) * 3_600 + i64::from(m) * 60 + i64::from(s)));
    }

    #[test]
    fn the_query_guard_never_panics(s in "\\PC{0,80}") {
        let _ = guard::refusal(&s);
    }

    #[test]
    fn a_substituted_name_is_one_identifier(name in "\\PC{1,20}") {
        let q = guard::substitute("SELECT count(*) FROM {object}", &name, None, None);
        prop_assert!(guard::refusal(&q).is_none(), "{}", q);
    }
}

fn checks(yaml: &str) -> Vec<socle_data::quality::Check> {
    checks_at("v3.1.0", yaml)
}

fn checks_at(api: &str, yaml: &str) -> Vec<socle_data::quality::Check> {
    let text = format!(
        "apiVersion: {api}\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: s\n    type: postgres\n    host: h\n    port: 5432\n    database: d\n    schema: p\nschema:\n{yaml}"
    );
    let c = socle_data::load(&text, "t.odcs.yaml", &Limits::default()).unwrap();
    let spec = c.test_spec().unwrap();
    plan(&spec, &spec.servers[0])
}

#[test]
fn a_primary_key_is_a_not_null_and_a_unique_check() {
    let keys: Vec<String> =
        checks("  - name: t\n    properties:\n      - name: id\n        primaryKey: true\n")
            .into_iter()
            .map(|c| c.key)
            .collect();
    assert_eq!(
        keys,
        [
            "t__id__field_is_present",
            "t__id__field_primary_key_required",
            "t__id__field_primary_key_unique"
        ]
    );
}

#[test]
fn a_composite_key_is_unique_as_a_tuple_in_key_order() {
    let cs = checks(
        "  - name: t\n    properties:\n      - name: b\n        primaryKey: true\n        primaryKeyPosition: 2\n      - name: a\n        primaryKey: true\n        primaryKeyPosition: 1\n",
    );
    let last = cs.last().unwrap();
    assert_eq!(last.key, "t__primary_key_unique");
    assert_eq!(
        last.name,
        "Check that primary key (a, b) has no duplicate values"
    );
}

#[test]
fn a_second_rule_of_one_metric_on_one_column_keeps_its_own_key() {
    let cs = checks(
        "  - name: t\n    properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            mustBe: 0\n          - metric: nullValues\n            mustBeLessThan: 5\n",
    );
    let keys: Vec<&str> = cs.iter().map(|c| c.key.as_str()).collect();
    assert!(keys.contains(&"t__a__field_null_values"));
    assert!(keys.contains(&"t__a__field_null_values__2"));
}

#[test]
fn a_percent_threshold_compares_the_share_of_rows() {
    let cs = checks(
        "  - name: t\n    properties:\n      - name: a\n        quality:\n          - metric: nullValues\n            mustBeLessOrEqualTo: 10\n            unit: percent\n",
    );
    let c = cs
        .iter()
        .find(|c| c.key == "t__a__field_null_values")
        .unwrap();
    let pass = evaluate(c, Measured::Count { value: 1, rows: 10 });
    assert_eq!(pass.result, Verdict::Passed);
    let fail = evaluate(c, Measured::Count { value: 1, rows: 6 });
    assert_eq!(fail.result, Verdict::Failed);
    assert_eq!(
        fail.reason.as_deref(),
        Some("Actual missing_count(a) was 16.666667% (1 of 6 rows), expected <= 10%")
    );
}

#[test]
fn a_warning_severity_makes_a_miss_a_warning() {
    let cs = checks(
        "  - name: t\n    quality:\n      - metric: rowCount\n        mustBeBetween: [1, 5]\n        severity: warning\n",
    );
    let r = evaluate(&cs[0], Measured::Count { value: 9, rows: 9 });
    assert_eq!(r.result, Verdict::Warning);
    assert_eq!(r.threshold.as_deref(), Some("between 1 and 5"));
    assert_eq!(r.value, Some(json!(9)));
}

#[test]
fn a_rule_that_writes_is_planned_as_failed_and_never_sent() {
    let cs = checks(
        "  - name: t\n    quality:\n      - type: sql\n        query: UPDATE t SET a = 1\n        mustBe: 0\n",
    );
    let r = evaluate(&cs[0], Measured::Scalar(Some(0.0)));
    assert_eq!(r.result, Verdict::Failed);
    assert_eq!(r.metric, "unsupported");
}

#[test]
fn v3_0_rule_is_read_as_metric() {
    let cs = checks_at(
        "v3.0.2",
        "  - name: t\n    quality:\n      - rule: rowCount\n        mustBe: 3\n",
    );
    assert_eq!(cs[0].key, "t__row_count");
}
