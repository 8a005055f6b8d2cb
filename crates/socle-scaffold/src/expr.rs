//! `${{ … }}` expressions over `parameters`, `steps.<id>.output`, `user`, `secrets`, `each`
//! (and `values` in skeleton files), evaluated with minijinja configured for that syntax.
//!
//! A string that is exactly one expression keeps the expression's type (a boolean stays a
//! boolean, an object an object), as in Backstage; any other string is rendered as text.
//! The Nunjucks and JavaScript that templates use (`===`, `dump`, string methods, `.length`,
//! undefined members) are in [`crate::nunjucks`]. Every evaluation is bounded by fuel.

use minijinja::value::Value as MjValue;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::nunjucks::{self, rewrite_expression, rewrite_template};

/// Instructions one evaluation may use (a `for` over a large range runs out of it).
pub const FUEL: u64 = 200_000;

/// An expression that did not compile or failed to evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExprError {
    pub message: String,
}

fn err(e: minijinja::Error) -> ExprError {
    let mut message = e.to_string();
    if let Some(d) = e.detail()
        && !message.contains(d)
    {
        message.push_str(": ");
        message.push_str(d);
    }
    ExprError { message }
}

/// The expression environment.
pub struct Expr {
    env: Environment<'static>,
}

impl Default for Expr {
    fn default() -> Self {
        Self::new()
    }
}

/// `${{ expr }}` alone (and nothing else) → `Some(expr)`.
pub fn whole_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("${{")?.strip_suffix("}}")?;
    if inner.contains("${{") || inner.contains("}}") {
        return None;
    }
    Some(inner.trim())
}

impl Expr {
    pub fn new() -> Self {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .variable_delimiters("${{", "}}")
            .keep_trailing_newline(true)
            .build()
            .expect("valid delimiters");
        env.set_syntax(syntax);
        // As in Nunjucks, a member of an undefined value is undefined, and renders as nothing
        // (`${{ github.head_ref }}` in a skeleton's workflow file).
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(100);
        env.add_filter("parseRepoUrl", parse_repo_url_filter);
        env.add_filter("parseEntityRef", parse_entity_ref);
        env.add_filter("pick", pick);
        env.add_filter("projectSlug", project_slug);
        env.add_filter("dump", nunjucks::dump);
        env.set_unknown_method_callback(nunjucks::js_method);
        // Values rendered into YAML, JSON and TOML files are escaped for that format.
        socle_escape::install(&mut env);
        Self { env }
    }

    /// Checks that a string's expressions compile (without evaluating them).
    pub fn check(&self, s: &str) -> Result<(), ExprError> {
        if !s.contains("${{") {
            return Ok(());
        }
        match whole_expression(s) {
            Some(e) => self
                .env
                .compile_expression(&rewrite_expression(e, "}}").0)
                .map(|_| ())
                .map_err(err),
            None => self
                .env
                .template_from_str(&rewrite_template(s))
                .map(|_| ())
                .map_err(err),
        }
    }

    /// Evaluates a string: typed when it is one whole expression, else rendered text.
    pub fn eval_str(&self, s: &str, ctx: &Value) -> Result<Value, ExprError> {
        if !s.contains("${{") {
            return Ok(Value::String(s.to_owned()));
        }
        let ctx = MjValue::from(minijinja::value::Serde(ctx));
        match whole_expression(s) {
            Some(e) => {
                let source = rewrite_expression(e, "}}").0;
                let compiled = self.env.compile_expression(&source).map_err(err)?;
                let v = compiled.eval(ctx).map_err(err)?;
                to_json(&v)
            }
            None => {
                let source = rewrite_template(s);
                let t = self.env.template_from_str(&source).map_err(err)?;
                Ok(Value::String(t.render(ctx).map_err(err)?))
            }
        }
    }

    /// Renders text (a skeleton file) against a context.
    pub fn render_text(&self, s: &str, ctx: &Value) -> Result<String, ExprError> {
        let source = rewrite_template(s);
        let t = self.env.template_from_str(&source).map_err(err)?;
        t.render(MjValue::from(minijinja::value::Serde(ctx)))
            .map_err(err)
    }

    /// Renders a skeleton file named `path` (its name after rendering): in a YAML, JSON or TOML
    /// file every value is escaped for that format and for where it stands (alone, inside a
    /// double- or single-quoted string) — see `socle_escape`. Other files render as text.
    pub fn render_file(&self, path: &str, s: &str, ctx: &Value) -> Result<String, ExprError> {
        let format = socle_escape::Format::for_path(path);
        let source = rewrite_template(s);
        let source = socle_escape::prepare(&source, format, "${{", "}}");
        let t = self
            .env
            .template_from_named_str(path, &source)
            .map_err(err)?;
        t.render(MjValue::from(minijinja::value::Serde(ctx)))
            .map_err(err)
    }

    /// Evaluates every string inside a value (objects and arrays recursively).
    pub fn eval_value(&self, v: &Value, ctx: &Value) -> Result<Value, ExprError> {
        Ok(match v {
            Value::String(s) => self.eval_str(s, ctx)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.eval_value(i, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    let v = self.eval_value(v, ctx)?;
                    // An undefined whole expression leaves the key out, as Backstage does.
                    if !v.is_null() || !is_whole(map.get(k)) {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

fn is_whole(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::String(s)) if whole_expression(s).is_some())
}

fn to_json(v: &MjValue) -> Result<Value, ExprError> {
    if v.is_undefined() || v.is_none() {
        return Ok(Value::Null);
    }
    serde_json::to_value(v).map_err(|e| ExprError {
        message: format!("the expression's value cannot be used: {e}"),
    })
}

/// A repository location: Backstage's RepoUrlPicker form (`github.com?owner=acme&repo=shop`,
/// every query parameter kept: `organization`, `workspace`, `project`…) or a URL
/// (`https://github.com/acme/shop`, owner possibly nested: `platform/tools`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    pub host: String,
    /// `owner` and `repo`, and any other parameter of the picker form, in order.
    pub params: Vec<(String, String)>,
}

impl RepoUrl {
    fn param(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
    /// The owner: `owner`, else `organization`, else `workspace`.
    pub fn owner(&self) -> Option<&str> {
        ["owner", "organization", "workspace"]
            .iter()
            .find_map(|k| self.param(k))
            .filter(|o| !o.is_empty())
    }
    pub fn repo(&self) -> &str {
        self.param("repo").unwrap_or_default()
    }
}

/// A `repoUrl` of neither form, or without a repository name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url:?} is neither host?owner=…&repo=… nor https://host/owner/repo")]
pub struct RepoUrlError {
    pub url: String,
}

/// Parses a [`RepoUrl`]; the repository name is required.
pub fn parse_repo_url(url: &str) -> Result<RepoUrl, RepoUrlError> {
    let bad = || RepoUrlError {
        url: url.to_owned(),
    };
    let out = if let Some((host, query)) = url.split_once('?') {
        RepoUrl {
            host: host.to_owned(),
            params: query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    } else if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let mut parts = rest
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .split('/');
        let host = parts.next().filter(|h| !h.is_empty()).ok_or_else(bad)?;
        let segs: Vec<&str> = parts.collect();
        if segs.len() < 2 {
            return Err(bad());
        }
        RepoUrl {
            host: host.to_owned(),
            params: vec![
                ("owner".into(), segs[..segs.len() - 1].join("/")),
                ("repo".into(), segs[segs.len() - 1].to_owned()),
            ],
        }
    } else {
        return Err(bad());
    };
    if out.repo().is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// The `parseRepoUrl` filter: `{host, owner, repo, …}`.
fn parse_repo_url_filter(url: String) -> Result<MjValue, minijinja::Error> {
    let r = parse_repo_url(&url).map_err(|e| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("parseRepoUrl: {e}"),
        )
    })?;
    let mut out = Map::new();
    out.insert("host".into(), Value::String(r.host));
    for (k, v) in r.params {
        out.insert(k, Value::String(v));
    }
    Ok(MjValue::from(minijinja::value::Serde(&out)))
}

/// `[kind:][namespace/]name` → `{kind, namespace, name}`; options `defaultKind`,
/// `defaultNamespace`.
fn parse_entity_ref(r: String, options: Option<MjValue>) -> Result<MjValue, minijinja::Error> {
    let opt = |k: &str| {
        options
            .as_ref()
            .and_then(|o| o.get_attr(k).ok())
            .filter(|v| !v.is_undefined() && !v.is_none())
            .map(|v| v.to_string())
    };
    let (kind, rest) = match r.split_once(':') {
        Some((k, rest)) => (Some(k.to_owned()), rest),
        None => (opt("defaultKind"), r.as_str()),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((n, name)) => (n.to_owned(), name.to_owned()),
        None => (
            opt("defaultNamespace").unwrap_or_else(|| "default".into()),
            rest.to_owned(),
        ),
    };
    if name.is_empty() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("parseEntityRef: {r:?} has no name"),
        ));
    }
    let mut out = Map::new();
    if let Some(k) = kind {
        out.insert("kind".into(), Value::String(k.to_ascii_lowercase()));
    }
    out.insert("namespace".into(), Value::String(namespace));
    out.insert("name".into(), Value::String(name));
    Ok(MjValue::from(minijinja::value::Serde(&out)))
}

fn pick(obj: MjValue, key: String) -> Result<MjValue, minijinja::Error> {
    Ok(obj.get_attr(&key).unwrap_or(MjValue::UNDEFINED))
}

/// `github.com?owner=acme&repo=shop` → `acme/shop`.
fn project_slug(url: String) -> Result<String, minijinja::Error> {
    let r = parse_repo_url(&url).map_err(|e| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("projectSlug: {e}"),
        )
    })?;
    Ok(match r.param("owner") {
        Some(o) => format!("{o}/{}", r.repo()),
        None => r.repo().to_owned(),
    })
}
