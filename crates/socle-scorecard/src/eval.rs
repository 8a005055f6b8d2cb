//! Evaluation: a scorecard's rules compiled once into one Rego engine, every entity's facts
//! evaluated against it (in parallel, one engine per worker thread), levels from the results.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::builtin;
use crate::model::{Check, Scorecard, Subject};
use crate::native::Native;

/// The time one entity's evaluation of one scorecard may take (all its rules together).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The largest facts document evaluated, in bytes of JSON (bounds the memory a check can build
/// from it); a larger one is an error of that entity.
pub const MAX_FACTS_BYTES: usize = 256 * 1024;
/// The longest message a rule may return (longer ones are cut).
pub const MAX_MESSAGE: usize = 512;

const PACKAGE: &str = "socle.scorecard";

/// Where a fact came from and when it was read (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactSource {
    pub source: String,
    pub at: i64,
}

/// An entity's facts: the document checks read as `input` (see the crate documentation), and
/// the source and time of each top-level fact.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Facts {
    pub entity_ref: String,
    pub doc: serde_json::Map<String, Value>,
    pub provenance: BTreeMap<String, FactSource>,
}

impl Facts {
    /// What filters look at, read from `entity` (and the resolved `owner` / `system` refs when
    /// the collector set them).
    pub fn subject(&self) -> Subject {
        let entity = self.doc.get("entity");
        let at = |path: &[&str]| {
            let mut v = entity?;
            for p in path {
                v = v.get(p)?;
            }
            v.as_str().map(str::to_owned)
        };
        let namespace = at(&["metadata", "namespace"]).unwrap_or_else(|| "default".into());
        let resolved = |top: &str, field: &str, kind: &str| {
            self.doc
                .get(top)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    at(&["spec", field]).and_then(|s| {
                        socle_catalog::EntityRef::parse(&s, Some(kind), &namespace)
                            .ok()
                            .map(|r| r.as_str().to_owned())
                    })
                })
        };
        Subject {
            kind: at(&["kind"]).unwrap_or_default(),
            spec_type: at(&["spec", "type"]),
            lifecycle: at(&["spec", "lifecycle"]),
            tags: entity
                .and_then(|e| e.get("metadata")?.get("tags")?.as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            owner: resolved("owner", "owner", "group"),
            system: resolved("system", "system", "system"),
        }
    }

    /// The value at a dotted path (`repository.present.readme`), null when absent.
    pub fn at(&self, path: &str) -> Value {
        let mut parts = path.split('.');
        let Some(first) = parts.next() else {
            return Value::Null;
        };
        let mut v = self.doc.get(first);
        for p in parts {
            v = v.and_then(|x| x.get(p));
        }
        v.cloned().unwrap_or(Value::Null)
    }
}

/// A failing rule's fact: its path, its value and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FactShown {
    pub path: String,
    pub value: Value,
    pub source: Option<FactSource>,
}

/// One rule's outcome for one entity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleResult {
    pub id: String,
    pub level: String,
    pub title: String,
    pub passed: bool,
    /// What to do (failing rules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixit: Option<String>,
    /// What the check said failed (failing rules only, when it says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The facts it read (failing rules only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<FactShown>,
}

/// One scorecard's result for one entity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardResult {
    pub scorecard: String,
    pub entity: String,
    /// The level held; `None` when a rule of the first level fails (or on error).
    pub level: Option<String>,
    #[serde(skip)]
    pub level_index: Option<usize>,
    pub passed: usize,
    pub total: usize,
    pub rules: Vec<RuleResult>,
    /// Why the checks could not be evaluated (time limit, a Rego error, facts too large).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The level an entity holds: the highest level such that every rule of it and of every lower
/// level passes. `outcomes` are `(level index, passed)`; `None` when a first-level rule fails.
pub fn level_of(levels: usize, outcomes: impl IntoIterator<Item = (usize, bool)>) -> Option<usize> {
    let first_failing = outcomes
        .into_iter()
        .filter(|(_, passed)| !passed)
        .map(|(l, _)| l)
        .min();
    match first_failing {
        Some(l) => l.checked_sub(1),
        None => levels.checked_sub(1),
    }
}

fn rule_module(index: usize, source: &str) -> String {
    format!(
        "package {PACKAGE}.r{index}\n{source}\ndefault pass := false\ndefault message := \"\"\n"
    )
}

fn new_engine() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine.set_strict_builtin_errors(false);
    engine
}

/// Checks that a rule's Rego compiles (as the evaluation will load it) and evaluates on an
/// empty input.
pub fn check_rego(source: &str) -> Result<(), String> {
    if source
        .lines()
        .any(|l| l.trim_start().starts_with("package "))
    {
        return Err("write the rules without a package line (Socle adds its own)".into());
    }
    let mut engine = new_engine();
    engine
        .add_policy("check.rego".into(), rule_module(0, source))
        .map_err(|e| e.to_string())?;
    engine.set_input(regorus::Value::new_object());
    engine
        .eval_rule(format!("data.{PACKAGE}.r0.pass"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A scorecard ready to evaluate: its built-in rules in Rust ([`Native`]), its other rules
/// compiled into one engine (not run when it has none).
#[derive(Clone)]
pub struct Compiled {
    pub card: Scorecard,
    engine: regorus::Engine,
    /// Per rule: its native form, or `None` when the engine evaluates it.
    native: Vec<Option<Native>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("card", &self.card.name)
            .finish()
    }
}

/// A scorecard's rules that could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("scorecard {scorecard}, rule {rule}: {message}")]
pub struct CompileError {
    pub scorecard: String,
    pub rule: String,
    pub message: String,
}

impl Compiled {
    /// Compiles every rule once, with the default time limit.
    pub fn new(card: Scorecard) -> Result<Self, CompileError> {
        Self::with_timeout(card, DEFAULT_TIMEOUT)
    }

    pub fn with_timeout(card: Scorecard, timeout: Duration) -> Result<Self, CompileError> {
        Self::with_options(card, timeout, true)
    }

    /// With `native: false`, the built-in rules run as Rego too (to compare both).
    pub fn with_options(
        card: Scorecard,
        timeout: Duration,
        native: bool,
    ) -> Result<Self, CompileError> {
        let mut engine = new_engine();
        let mut results = String::new();
        let natives: Vec<Option<Native>> = card
            .rules
            .iter()
            .map(|r| match &r.check {
                Check::Builtin { name, params } if native => Native::of(name, params),
                _ => None,
            })
            .collect();
        for (i, rule) in card.rules.iter().enumerate() {
            if natives[i].is_some() {
                continue;
            }
            let err = |message: String| CompileError {
                scorecard: card.name.clone(),
                rule: rule.id.clone(),
                message,
            };
            let source = match &rule.check {
                Check::Builtin { name, params } => builtin::expand(name, params).map_err(err)?.rego,
                Check::Rego { source } => source.clone(),
            };
            engine
                .add_policy(
                    format!("{}/{}.rego", card.name, rule.id),
                    rule_module(i, &source),
                )
                .map_err(|e| err(e.to_string()))?;
            results.push_str(&format!(
                "  \"r{i}\": {{\"pass\": data.{PACKAGE}.r{i}.pass == true, \"message\": data.{PACKAGE}.r{i}.message}},\n"
            ));
        }
        engine
            .add_policy(
                format!("{}/results.rego", card.name),
                format!("package {PACKAGE}\nresults := {{\n{results}}}\n"),
            )
            .map_err(|e| CompileError {
                scorecard: card.name.clone(),
                rule: String::new(),
                message: e.to_string(),
            })?;
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: timeout,
            check_interval: NonZeroU32::new(32).expect("non-zero"),
        });
        Ok(Self {
            card,
            engine,
            native: natives,
        })
    }

    /// Whether some rule needs the Rego engine.
    fn has_rego(&self) -> bool {
        self.native.iter().any(Option::is_none)
    }

    /// The content probes (`file-matches`) its rules need from the facts collector.
    pub fn probes(&self) -> Vec<builtin::ContentProbe> {
        self.card
            .rules
            .iter()
            .filter_map(|r| match &r.check {
                Check::Builtin { name, params } => builtin::probe_of(name, params),
                Check::Rego { .. } => None,
            })
            .collect()
    }

    /// Evaluates one entity with a given engine (a clone of this scorecard's).
    fn eval_with(
        &self,
        engine: &mut regorus::Engine,
        input: Option<&regorus::Value>,
        facts: &Facts,
        now: i64,
    ) -> CardResult {
        let v = match input.filter(|_| self.has_rego()) {
            Some(input) => {
                engine.set_input(input.clone());
                match engine.eval_rule(format!("data.{PACKAGE}.results")) {
                    Ok(v) => v,
                    Err(e) => return self.failed(facts, e.to_string()),
                }
            }
            None => regorus::Value::Undefined,
        };
        self.result(&v, facts, now)
    }

    fn failed(&self, facts: &Facts, message: String) -> CardResult {
        CardResult {
            scorecard: self.card.name.clone(),
            entity: facts.entity_ref.clone(),
            level: None,
            level_index: None,
            passed: 0,
            total: self.card.rules.len(),
            rules: Vec::new(),
            error: Some(message),
        }
    }

    /// One rule's outcome: natively, or read from the engine's results `v`.
    fn outcome(
        &self,
        i: usize,
        v: &regorus::Value,
        facts: &Facts,
        now: i64,
    ) -> (bool, Option<String>) {
        if let Some(n) = &self.native[i] {
            return n.eval(&facts.doc, now);
        }
        let r = &v[&regorus::Value::from(format!("r{i}"))];
        let passed = matches!(
            &r[&regorus::Value::from("pass")],
            regorus::Value::Bool(true)
        );
        let message = match &r[&regorus::Value::from("message")] {
            regorus::Value::String(s) if !s.is_empty() => Some(s.to_string()),
            _ => None,
        };
        (passed, message)
    }

    fn result(&self, v: &regorus::Value, facts: &Facts, now: i64) -> CardResult {
        let card = &self.card;
        let mut rules = Vec::with_capacity(card.rules.len());
        for (i, rule) in card.rules.iter().enumerate() {
            let (passed, message) = self.outcome(i, v, facts, now);
            let message: Option<String> = message.map(|m| m.chars().take(MAX_MESSAGE).collect());
            rules.push(RuleResult {
                id: rule.id.clone(),
                level: card.levels[rule.level].clone(),
                title: rule.title.clone(),
                passed,
                fixit: (!passed).then(|| rule.fixit.clone()),
                message: if passed { None } else { message },
                facts: if passed {
                    Vec::new()
                } else {
                    rule.facts
                        .iter()
                        .map(|p| FactShown {
                            path: p.clone(),
                            value: facts.at(p),
                            source: p
                                .split('.')
                                .next()
                                .and_then(|top| facts.provenance.get(top).cloned()),
                        })
                        .collect()
                },
            });
        }
        let level_index = level_of(
            card.levels.len(),
            card.rules
                .iter()
                .zip(&rules)
                .map(|(r, o)| (r.level, o.passed)),
        );
        CardResult {
            scorecard: card.name.clone(),
            entity: facts.entity_ref.clone(),
            level: level_index.map(|l| card.levels[l].clone()),
            level_index,
            passed: rules.iter().filter(|r| r.passed).count(),
            total: rules.len(),
            rules,
            error: None,
        }
    }
}

/// The facts as Rego checks read them: the document with `now` (Unix seconds) and `ref` set.
fn input_of(facts: &Facts, now: i64) -> regorus::Value {
    let mut doc = facts.doc.clone();
    doc.insert("now".into(), Value::from(now));
    doc.insert("ref".into(), Value::from(facts.entity_ref.clone()));
    regorus::Value::from(Value::Object(doc))
}

/// Counts bytes written (the size of a JSON text without building it).
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        if self.0 > MAX_FACTS_BYTES {
            return Err(std::io::Error::other("too large"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `Err` when the facts document is larger than [`MAX_FACTS_BYTES`] of JSON.
fn check_size(facts: &Facts) -> Result<(), String> {
    let mut c = Counter(0);
    match serde_json::to_writer(&mut c, &facts.doc) {
        Ok(()) => Ok(()),
        Err(_) => Err(format!(
            "the facts document is more than {MAX_FACTS_BYTES} bytes"
        )),
    }
}

/// Evaluates every scorecard whose filter selects the entity. `now` is Unix seconds.
pub fn evaluate(cards: &[Compiled], facts: &Facts, now: i64) -> Vec<CardResult> {
    let mut engines: Vec<regorus::Engine> = cards.iter().map(|c| c.engine.clone()).collect();
    evaluate_with(cards, &mut engines, facts, now)
}

fn evaluate_with(
    cards: &[Compiled],
    engines: &mut [regorus::Engine],
    facts: &Facts,
    now: i64,
) -> Vec<CardResult> {
    let subject = facts.subject();
    let selected: Vec<usize> = (0..cards.len())
        .filter(|&i| cards[i].card.filter.matches(&subject))
        .collect();
    if selected.is_empty() {
        return Vec::new();
    }
    if let Err(e) = check_size(facts) {
        return selected
            .iter()
            .map(|&i| cards[i].failed(facts, e.clone()))
            .collect();
    }
    let input = selected
        .iter()
        .any(|&i| cards[i].has_rego())
        .then(|| input_of(facts, now));
    selected
        .into_iter()
        .map(|i| cards[i].eval_with(&mut engines[i], input.as_ref(), facts, now))
        .collect()
}

/// Evaluates many entities in parallel (rayon; one engine per scorecard per worker), each
/// against every scorecard whose filter selects it. Results are in the entities' order.
pub fn evaluate_all(cards: &[Compiled], entities: &[Facts], now: i64) -> Vec<Vec<CardResult>> {
    entities
        .par_iter()
        .map_init(
            || cards.iter().map(|c| c.engine.clone()).collect::<Vec<_>>(),
            |engines, facts| evaluate_with(cards, engines, facts, now),
        )
        .collect()
}
