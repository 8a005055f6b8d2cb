//! Secret values kept out of what a run records and shows: the values of secret parameters
//! (wherever their page declares them, see [`params::secret_paths`]) and of the run's
//! `secrets`, replaced by `***` wherever they appear — parameters, log lines, step outputs and
//! errors, the run's output — in the forms a message may quote them in (as is, JSON-escaped,
//! Rust-escaped, as the expression engine prints a string inside a list or an object).

use serde_json::{Map, Value};

use crate::engine::{LogLine, RunError, RunResult};
use crate::params;

const MASK: &str = "***";

/// The secret values of one run, and how to take them out of text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is replaced whole.
    needles: Vec<String>,
}

fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        Value::Object(m) => m.values().for_each(|x| leaves(x, out)),
        Value::Null | Value::Bool(_) => {}
    }
}

impl Redactor {
    /// The secrets of a run: secret parameters (per `parameters`, the template's pages) among
    /// `values`, and every value in `secrets`.
    pub fn new(parameters: &Value, values: &Value, secrets: &Value) -> Self {
        let mut values = values.clone();
        let mut raw = Vec::new();
        for v in params::redact_secrets(parameters, &mut values) {
            leaves(&v, &mut raw);
        }
        leaves(secrets, &mut raw);
        let mut needles = Vec::new();
        for s in raw.into_iter().filter(|s| !s.is_empty() && s != MASK) {
            // As JSON, Rust and the expression engine (a Python-like repr) quote it.
            let quoted = [
                serde_json::to_string(&s).unwrap_or_default(),
                format!("{s:?}"),
                format!("{:?}", minijinja::Value::from(s.as_str())),
            ];
            // Each starts and ends with an ASCII quote.
            needles.extend(quoted.iter().map(|q| q[1..q.len() - 1].to_owned()));
            needles.push(s);
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Self { needles }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `s` with every secret replaced by `***`.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
    }

    fn text_in_place(&self, s: &mut String) {
        if self.needles.iter().any(|n| s.contains(n.as_str())) {
            *s = self.text(s);
        }
    }

    /// Every string (keys too) of `v` redacted.
    pub fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.text_in_place(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => {
                let entries = std::mem::take(m);
                *m = entries
                    .into_iter()
                    .map(|(k, mut x)| {
                        self.value(&mut x);
                        (self.text(&k), x)
                    })
                    .collect::<Map<String, Value>>();
            }
            Value::Number(n) => {
                if self.needles.contains(&n.to_string()) {
                    *v = Value::String(MASK.into());
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    pub fn log(&self, log: &mut [LogLine]) {
        for l in log {
            self.text_in_place(&mut l.message);
        }
    }

    /// Everything a run result holds; secret parameters become `***` whatever their value.
    pub fn result(&self, template_parameters: &Value, r: &mut RunResult) {
        params::redact_secrets(template_parameters, &mut r.parameters);
        if self.is_empty() {
            return;
        }
        self.value(&mut r.parameters);
        self.log(&mut r.log);
        for s in &mut r.steps {
            self.value(&mut s.output);
            if let Some(e) = &mut s.error {
                self.text_in_place(e);
            }
        }
        self.value(&mut r.output);
        match &mut r.error {
            Some(RunError::Parameters { errors }) => {
                for e in errors {
                    self.text_in_place(&mut e.message);
                    self.text_in_place(&mut e.path);
                }
            }
            Some(RunError::Step { message, .. } | RunError::Output { message }) => {
                self.text_in_place(message);
            }
            Some(RunError::Cancelled { .. }) | None => {}
        }
    }
}
