//! A quality rule's comparator (`mustBe`, `mustBeBetween`, …) and what a failed check becomes
//! under the rule's severity.

use serde::Serialize;
use serde_json::Value;

use super::spec::QualitySpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "between")]
    Between,
    #[serde(rename = "not_between")]
    NotBetween,
}

/// A comparison applied to a measured value. The bounds are numbers as the contract wrote them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threshold {
    pub op: Op,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value2: Option<Value>,
}

impl Threshold {
    pub fn new(op: Op, value: impl Into<Value>) -> Self {
        Self {
            op,
            value: value.into(),
            value2: None,
        }
    }

    /// The comparator a quality rule declares, or `None` if it has none (or a malformed
    /// between). The first present comparator wins, in ODCS's order.
    pub fn of(q: &QualitySpec) -> Option<Self> {
        let single = [
            (Op::Eq, &q.must_be),
            (Op::Ne, &q.must_not_be),
            (Op::Gt, &q.must_be_greater_than),
            (Op::Ge, &q.must_be_greater_or_equal_to),
            (Op::Lt, &q.must_be_less_than),
            (Op::Le, &q.must_be_less_or_equal_to),
        ];
        for (op, v) in single {
            if let Some(v) = v {
                return Some(Self::new(op, v.clone()));
            }
        }
        for (op, v) in [
            (Op::Between, &q.must_be_between),
            (Op::NotBetween, &q.must_not_be_between),
        ] {
            if let Some(pair) = v {
                return match pair.as_slice() {
                    [a, b] => Some(Self {
                        op,
                        value: a.clone(),
                        value2: Some(b.clone()),
                    }),
                    _ => None,
                };
            }
        }
        None
    }

    /// Whether `actual` meets the threshold. A bound that is not a number fails every value.
    pub fn passes(&self, actual: f64) -> bool {
        let Some(v) = self.value.as_f64() else {
            return false;
        };
        let v2 = self.value2.as_ref().and_then(Value::as_f64);
        match self.op {
            Op::Eq => actual == v,
            Op::Ne => actual != v,
            Op::Gt => actual > v,
            Op::Ge => actual >= v,
            Op::Lt => actual < v,
            Op::Le => actual <= v,
            Op::Between => v2.is_some_and(|b| v <= actual && actual <= b),
            Op::NotBetween => v2.is_some_and(|b| !(v <= actual && actual <= b)),
        }
    }

    /// `= 0`, `<= 10`, `between 1 and 5`: as datacontract-cli words it.
    pub fn describe(&self) -> String {
        let v = show(&self.value);
        let v2 = self.value2.as_ref().map(show).unwrap_or_default();
        match self.op {
            Op::Between => format!("between {v} and {v2}"),
            Op::NotBetween => format!("not between {v} and {v2}"),
            Op::Eq => format!("= {v}"),
            Op::Ne => format!("!= {v}"),
            Op::Gt => format!("> {v}"),
            Op::Ge => format!(">= {v}"),
            Op::Lt => format!("< {v}"),
            Op::Le => format!("<= {v}"),
        }
    }
}

/// A value as Python's `str()` shows it (strings bare, numbers as written).
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    Warning,
    Failed,
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Warning => "warning",
            Self::Failed => "failed",
            Self::Error => "error",
        }
    }
}

/// What a check that misses its threshold becomes: a warning for a non-blocking severity
/// (`info`, `warning`, `warn`, `low`, `minor`, `trivial`), a failure otherwise.
pub fn failure_verdict(severity: Option<&str>) -> Verdict {
    let s = severity.unwrap_or_default().trim().to_ascii_lowercase();
    if matches!(
        s.as_str(),
        "info" | "warning" | "warn" | "low" | "minor" | "trivial"
    ) {
        Verdict::Warning
    } else {
        Verdict::Failed
    }
}
