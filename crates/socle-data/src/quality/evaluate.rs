//! A planned check and what the engine measured, turned into a verdict with the value, the
//! threshold and a reason worded like datacontract-cli's.

use serde::Serialize;
use serde_json::{Map, Value};

use super::plan::{Category, Check, Metric};
use super::threshold::{Verdict, failure_verdict, show};
use super::types;

/// Most failed rows shown per check.
pub const MAX_SAMPLES: usize = 5;

/// What an engine measured for one check.
#[derive(Clone, Debug, PartialEq)]
pub enum Measured {
    /// A count of rows (missing, invalid) or of keys (duplicates), or the row count, with the
    /// table's row count.
    Count { value: i64, rows: i64 },
    /// Whether the column exists.
    Present(bool),
    /// The column's native type, if the column exists.
    NativeType(Option<String>),
    /// Seconds since the newest (freshness) or oldest (retention) value, and that value; `None`
    /// when the column holds no value.
    Age(Option<(i64, String)>),
    /// A custom query's first value (`None`: no row, or NULL).
    Scalar(Option<f64>),
    /// The check could not be evaluated (missing column, a query error).
    Failed(String),
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub key: String,
    pub category: Category,
    #[serde(rename = "type")]
    pub check_type: String,
    pub name: String,
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub metric: &'static str,
    pub result: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<i64>,
    /// Freshness and retention: seconds since the newest (oldest) value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// At most [`MAX_SAMPLES`] failing rows (identifier columns and the checked column, never
    /// a sensitive one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Map<String, Value>>,
}

/// A float as Python prints it (`20.0`, `33.333333`).
pub fn py_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn rounded(f: f64) -> f64 {
    (f * 1e6).round() / 1e6
}

fn base(check: &Check) -> CheckResult {
    CheckResult {
        key: check.key.clone(),
        category: check.category,
        check_type: check.check_type.clone(),
        name: check.name.clone(),
        table: check.table.clone(),
        field: check.field.clone(),
        metric: check.metric.label(),
        result: Verdict::Passed,
        reason: None,
        value: None,
        threshold: check.threshold.as_ref().map(|t| t.describe()),
        row_count: None,
        age_seconds: None,
        samples: vec![],
    }
}

/// The result of a check that was not run (its verdict decided when planned).
pub fn not_run(check: &Check) -> Option<CheckResult> {
    let Metric::NotRun { verdict, reason } = &check.metric else {
        return None;
    };
    let mut r = base(check);
    r.result = *verdict;
    r.reason = Some(reason.clone());
    Some(r)
}

/// The verdict on `check` given what was measured.
pub fn evaluate(check: &Check, measured: Measured) -> CheckResult {
    if let Some(r) = not_run(check) {
        return r;
    }
    let mut r = base(check);
    let target = check.field.clone().unwrap_or_else(|| check.table.clone());
    let fail = |r: &mut CheckResult, verdict: Verdict, reason: String| {
        r.result = verdict;
        r.reason = Some(reason);
    };
    match (&check.metric, measured) {
        (_, Measured::Failed(reason)) => fail(&mut r, Verdict::Failed, reason),
        (Metric::FieldPresent, Measured::Present(false)) => {
            let f = check.field.as_deref().unwrap_or_default();
            fail(
                &mut r,
                Verdict::Failed,
                format!("Required column '{f}' is missing"),
            );
        }
        (Metric::FieldPresent, Measured::Present(true)) => {}
        (
            Metric::FieldType { expected } | Metric::FieldPhysicalType { expected },
            Measured::NativeType(actual),
        ) => {
            let f = check.field.as_deref().unwrap_or_default();
            let physical = matches!(check.metric, Metric::FieldPhysicalType { .. });
            match actual {
                None => fail(&mut r, Verdict::Failed, format!("Column '{f}' is missing")),
                Some(a) => {
                    r.value = Some(Value::String(a.clone()));
                    let ok = if physical {
                        types::physical_matches(expected, &a)
                    } else {
                        types::logical_matches(expected, &a)
                    };
                    if !ok && physical {
                        let reason =
                            format!("expected physical type '{expected}' but the column is '{a}'");
                        fail(&mut r, Verdict::Failed, reason);
                    } else if !ok {
                        let reason = format!("Expected type '{expected}' but column is '{a}'");
                        fail(&mut r, Verdict::Failed, reason);
                    }
                }
            }
        }
        (Metric::Freshness { seconds } | Metric::Retention { seconds }, Measured::Age(age)) => {
            let f = check.field.as_deref().unwrap_or_default();
            let label = if matches!(check.metric, Metric::Retention { .. }) {
                "Retention"
            } else {
                "Freshness"
            };
            match age {
                None => fail(
                    &mut r,
                    Verdict::Failed,
                    format!("No timestamp value found in '{f}'"),
                ),
                Some((age, at)) => {
                    r.value = Some(Value::String(at));
                    r.age_seconds = Some(age);
                    r.threshold = Some(format!("< {seconds}s"));
                    if age >= *seconds {
                        let reason =
                            format!("{label} is {age}s, which exceeds the threshold of {seconds}s");
                        fail(&mut r, Verdict::Failed, reason);
                    }
                }
            }
        }
        (Metric::CustomSql { .. }, Measured::Scalar(value)) => {
            r.value = value.map(Value::from);
            judge(check, &mut r, &target, value, None);
        }
        (_, Measured::Count { value, rows }) => {
            r.value = Some(Value::from(value));
            r.row_count = Some(rows);
            judge(check, &mut r, &target, Some(value as f64), Some(rows));
        }
        (metric, other) => fail(
            &mut r,
            Verdict::Error,
            format!(
                "internal: {} cannot be judged from {other:?}",
                metric.label()
            ),
        ),
    }
    r
}

/// A measured number against the threshold (as a percentage of `rows` for `unit: percent`).
fn judge(check: &Check, r: &mut CheckResult, target: &str, value: Option<f64>, rows: Option<i64>) {
    let Some(t) = &check.threshold else {
        return;
    };
    let metric = check.metric.label();
    let percent = (check.percent && check.metric.counts_bad_rows()).then(|| match (value, rows) {
        (Some(v), Some(n)) if n > 0 => rounded(v / n as f64 * 100.0),
        _ => 0.0,
    });
    let compared = percent.or(value);
    if compared.is_some_and(|v| t.passes(v)) {
        return;
    }
    let shown = value.map_or("None".to_owned(), |v| {
        if v.fract() == 0.0 && matches!(check.metric, Metric::CustomSql { .. }) {
            show(&Value::from(v))
        } else if v.fract() == 0.0 {
            format!("{}", v as i64)
        } else {
            format!("{v}")
        }
    });
    let reason = match percent {
        Some(p) => format!(
            "Actual {metric}({target}) was {}% ({shown} of {} rows), expected {}%",
            py_float(p),
            rows.unwrap_or_default(),
            t.describe()
        ),
        None => format!(
            "Actual {metric}({target}) was {shown}, expected {}",
            t.describe()
        ),
    };
    r.result = failure_verdict(check.severity.as_deref());
    r.reason = Some(reason);
}

/// The run's overall verdict: the worst of its checks (passed when there are none).
pub fn overall(results: &[CheckResult]) -> Verdict {
    results
        .iter()
        .map(|r| r.result)
        .max()
        .unwrap_or(Verdict::Passed)
}
