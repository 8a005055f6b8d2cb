//! Loading a template: everything that can be checked before a run is checked here, so that a
//! run never fails half-way through for a reason visible in the file.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use socle_catalog::Limits;
use socle_catalog::yaml::{Node, Seg, parse_documents, path_string};

use crate::expr::Expr;
use crate::params;

pub const API_VERSION: &str = "scaffolder.backstage.io/v1beta3";
/// Most steps in one template.
pub const MAX_STEPS: usize = 100;

/// A problem in a template file, located and explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateError {
    pub file: String,
    pub line: Option<u32>,
    /// Field path, e.g. `spec.steps[1].action`.
    pub path: String,
    /// Stable id: `yaml`, `kind`, `action.unknown`, `step.duplicate-id`, `parameters.schema`,
    /// `expression.syntax`, `reference.step`, `reference.output`, …
    pub rule: String,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        write!(f, ": {} [{}]", self.message, self.rule)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub action: String,
    pub input: Value,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub if_: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub each: Option<Value>,
}

/// A loaded, checked template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub name: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    #[serde(rename = "type")]
    pub spec_type: String,
    pub tags: Vec<String>,
    pub parameters: Value,
    pub steps: Vec<Step>,
    pub output: Value,
    /// Parameters referenced by expressions but declared by no page (allowed, reported).
    pub warnings: Vec<String>,
    /// Steps whose action this Socle does not run (rule `action.unknown`, with file and line):
    /// the template loads and is listed, a run fails at the first such step, and
    /// `socle template validate` reports them as errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<TemplateError>,
}

/// What the loader needs to know of an action: its declared outputs (None: not declared).
pub type ActionTable = BTreeMap<String, Option<Vec<&'static str>>>;

struct Ctx<'a> {
    file: &'a str,
    root: &'a Node,
    errors: Vec<TemplateError>,
    unsupported: Vec<TemplateError>,
}

impl Ctx<'_> {
    fn located(&self, path: &[Seg], rule: &str, message: impl Into<String>) -> TemplateError {
        let (line, _) = self.root.locate(path);
        TemplateError {
            file: self.file.to_owned(),
            line: Some(line),
            path: path_string(path),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }

    fn err(&mut self, path: &[Seg], rule: &str, message: impl Into<String>) {
        let e = self.located(path, rule, message);
        self.errors.push(e);
    }
}

/// The message of a step whose action is not run here (the load's and the run's).
pub fn unsupported_message(action: &str, actions: &ActionTable) -> String {
    format!(
        "action {action:?} is not supported (supported: {})",
        actions.keys().cloned().collect::<Vec<_>>().join(", ")
    )
}

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Every expression string inside a value, with its path.
fn strings<'v>(v: &'v Value, path: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, &'v str)>) {
    match v {
        Value::String(s) if s.contains("${{") => out.push((path.clone(), s.as_str())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                strings(x, path, out);
                path.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                path.push(key(k));
                strings(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(s.len());
    &s[..end]
}

/// `steps.<id>.output.<key>` / `steps['<id>'].output.<key>` references in an expression.
pub fn step_refs(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("steps") {
        let before_ok = i == 0
            || !rest[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let after = &rest[i + 5..];
        rest = after;
        if !before_ok {
            continue;
        }
        let (id, tail) = if let Some(a) = after.strip_prefix('.') {
            let id = ident(a);
            (id.to_owned(), &a[id.len()..])
        } else if let Some(a) = after
            .strip_prefix("['")
            .or_else(|| after.strip_prefix("[\""))
        {
            match a.find(['\'', '"']) {
                Some(end) => (a[..end].to_owned(), a.get(end + 2..).unwrap_or("")),
                None => continue,
            }
        } else {
            continue;
        };
        if id.is_empty() {
            continue;
        }
        let output = tail
            .strip_prefix(".output.")
            .map(ident)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        out.push((id, output));
    }
    out
}

/// `parameters.<name>` references in an expression.
fn param_refs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("parameters.") {
        let before_ok = i == 0
            || !rest[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let after = &rest[i + "parameters.".len()..];
        if before_ok {
            let id = ident(after);
            if !id.is_empty() {
                out.push(id.to_owned());
            }
        }
        rest = after;
    }
    out
}

/// Parses and checks a template. `actions` lists the actions this Socle runs; a step naming
/// another action does not stop the template from loading (see [`Template::unsupported`]).
pub fn load(
    text: &str,
    file: &str,
    actions: &ActionTable,
    limits: &Limits,
) -> Result<Template, Vec<TemplateError>> {
    let fail = |rule: &str, line: Option<u32>, message: String| {
        vec![TemplateError {
            file: file.to_owned(),
            line,
            path: String::new(),
            rule: rule.to_owned(),
            message,
        }]
    };
    let docs = parse_documents(text, limits).map_err(|e| fail("yaml", e.line, e.message))?;
    let Some(root) = docs.first() else {
        return Err(fail("yaml", None, "the file holds no document".into()));
    };
    let doc = root.to_json();
    let mut cx = Ctx {
        file,
        root,
        errors: Vec::new(),
        unsupported: Vec::new(),
    };
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if s(&doc, "apiVersion") != API_VERSION || s(&doc, "kind") != "Template" {
        cx.err(
            &[key("apiVersion")],
            "kind",
            format!(
                "expected apiVersion {API_VERSION} and kind Template, found {:?} / {:?}",
                s(&doc, "apiVersion"),
                s(&doc, "kind")
            ),
        );
        return Err(cx.errors);
    }
    let meta = doc.get("metadata").cloned().unwrap_or(Value::Null);
    let spec = doc.get("spec").cloned().unwrap_or(Value::Null);
    let name = s(&meta, "name");
    if name.is_empty() {
        cx.err(
            &[key("metadata"), key("name")],
            "metadata.name",
            "a template needs metadata.name",
        );
    }
    let parameters = spec.get("parameters").cloned().unwrap_or(Value::Null);
    for (i, message) in params::check_schemas(&parameters) {
        let mut p = vec![key("spec"), key("parameters")];
        if parameters.is_array() {
            p.push(Seg::Index(i));
        }
        cx.err(
            &p,
            "parameters.schema",
            format!("not a valid JSON Schema: {message}"),
        );
    }
    let declared = params::declared(&parameters);

    let expr = Expr::new();
    let mut steps: Vec<Step> = Vec::new();
    let raw_steps = spec
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if raw_steps.is_empty() {
        cx.err(
            &[key("spec"), key("steps")],
            "steps.empty",
            "a template needs at least one step",
        );
    }
    if raw_steps.len() > MAX_STEPS {
        cx.err(
            &[key("spec"), key("steps")],
            "steps.limit",
            format!("{} steps: at most {MAX_STEPS}", raw_steps.len()),
        );
    }
    let mut warnings = Vec::new();
    let mut check_exprs = |cx: &mut Ctx, base: Vec<Seg>, v: &Value, earlier: &[Step]| {
        let mut found = Vec::new();
        let mut path = base;
        strings(v, &mut path, &mut found);
        for (p, text) in found {
            if let Err(e) = expr.check(text) {
                cx.err(
                    &p,
                    "expression.syntax",
                    format!("{text:?} does not compile: {e}"),
                );
                continue;
            }
            for (id, output) in step_refs(text) {
                match earlier.iter().find(|s| s.id == id) {
                    None => cx.err(
                        &p,
                        "reference.step",
                        format!("{text:?} refers to step {id:?}, which is not an earlier step"),
                    ),
                    Some(step) => {
                        if let (Some(out), Some(Some(declared))) =
                            (&output, actions.get(&step.action))
                            && !declared.contains(&out.as_str())
                        {
                            cx.err(
                                &p,
                                "reference.output",
                                format!(
                                    "{text:?} uses output {out:?} of step {id:?}, but {} has no such output (it has: {})",
                                    step.action,
                                    if declared.is_empty() { "none".to_owned() } else { declared.join(", ") }
                                ),
                            );
                        }
                    }
                }
            }
            for p in param_refs(text) {
                if !declared.contains(&p) && !warnings.contains(&p) {
                    warnings.push(p);
                }
            }
        }
    };
    for (i, raw) in raw_steps.iter().enumerate() {
        let base = vec![key("spec"), key("steps"), Seg::Index(i)];
        let at = |k: &str| {
            let mut p = base.clone();
            p.push(key(k));
            p
        };
        let action = s(raw, "action");
        let id = raw
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("step-{}", i + 1), str::to_owned);
        if action.is_empty() {
            cx.err(&at("action"), "action.missing", "a step needs an action");
        } else if !actions.contains_key(&action) {
            let e = cx.located(
                &at("action"),
                "action.unknown",
                unsupported_message(&action, actions),
            );
            cx.unsupported.push(e);
        }
        if steps.iter().any(|s| s.id == id) {
            cx.err(
                &at("id"),
                "step.duplicate-id",
                format!("step id {id:?} is used twice"),
            );
        }
        let step = Step {
            name: raw
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| id.clone(), str::to_owned),
            id,
            action,
            input: raw
                .get("input")
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
            if_: raw.get("if").cloned(),
            each: raw.get("each").cloned(),
        };
        check_exprs(&mut cx, at("input"), &step.input, &steps);
        if let Some(v) = &step.if_ {
            check_exprs(&mut cx, at("if"), v, &steps);
        }
        if let Some(v) = &step.each {
            check_exprs(&mut cx, at("each"), v, &steps);
        }
        steps.push(step);
    }
    let output = spec.get("output").cloned().unwrap_or(Value::Null);
    check_exprs(&mut cx, vec![key("spec"), key("output")], &output, &steps);
    if !cx.errors.is_empty() {
        // A template that does not load reports every problem, unsupported actions included.
        let mut errors = cx.errors;
        errors.append(&mut cx.unsupported);
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    Ok(Template {
        title: meta
            .get("title")
            .and_then(Value::as_str)
            .map_or_else(|| name.clone(), str::to_owned),
        description: s(&meta, "description"),
        tags: meta
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        owner: s(&spec, "owner"),
        spec_type: s(&spec, "type"),
        name,
        parameters,
        steps,
        output,
        warnings,
        unsupported: cx.unsupported,
    })
}
