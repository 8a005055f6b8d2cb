//! A model's Jinja, rendered with minijinja as dbt renders it: `ref('model')` becomes the
//! model's quoted relation, `source('src', 'table')` the raw table's, `config(...)` nothing,
//! `this` the model's own relation. Each function records what it was called with. Undefined
//! variables are errors, rendering is bounded by fuel and the result by size.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};
use regex::Regex;

use super::{
    Call, Config, MAX_MODEL_BYTES, MAX_NAME, Materialized, ModelFile, PipelineError, RENDER_FUEL,
    RenderTarget, Tier, line_of, model_name,
};

/// What a render recorded (a render-local minijinja extension).
#[derive(Default)]
struct Recorded {
    refs: Vec<String>,
    sources: Vec<String>,
    config: Config,
}

/// A model as rendered, before its SQL is read.
#[derive(Debug)]
pub struct Rendered {
    pub name: String,
    pub file: String,
    pub sql: String,
    pub config: Config,
    pub config_line: usize,
    pub relation: String,
    pub refs: Vec<Call>,
    pub sources: Vec<Call>,
}

/// The template environment of one pipeline (the models it may refer to, where relations are).
pub struct Renderer<'t> {
    env: Environment<'static>,
    target: &'t RenderTarget,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

fn ref_fn(
    known: Arc<BTreeSet<String>>,
    target: RenderTarget,
) -> impl Fn(&mut State<'_, '_>, String) -> Result<String, Error> + Send + Sync + 'static {
    move |state, name| {
        if !known.contains(&name) {
            return Err(invalid(format!(
                "ref({name:?}): there is no model named {name:?} (a model is a models/**/NAME.sql file)"
            )));
        }
        let rec = state.get_or_insert_extension(Recorded::default());
        if !rec.refs.contains(&name) {
            rec.refs.push(name.clone());
        }
        Ok(target.model_relation(&name))
    }
}

fn source_fn(
    target: RenderTarget,
) -> impl Fn(&mut State<'_, '_>, String, String) -> Result<String, Error> + Send + Sync + 'static {
    move |state, source, table| {
        for part in [&source, &table] {
            if part.is_empty() || part.len() > MAX_NAME {
                return Err(invalid(format!(
                    "source({source:?}, {table:?}): names must be 1 to {MAX_NAME} characters"
                )));
            }
        }
        let key = format!("{source}.{table}");
        let rec = state.get_or_insert_extension(Recorded::default());
        if !rec.sources.contains(&key) {
            rec.sources.push(key);
        }
        Ok(super::relation(Some(target.source_schema(&source)), &table))
    }
}

fn config_fn(state: &mut State<'_, '_>, kwargs: Kwargs) -> Result<String, Error> {
    let mut config = state
        .get_extension::<Recorded>()
        .map(|r| r.config.clone())
        .unwrap_or_default();
    for key in kwargs.args() {
        let value: String = kwargs.get(key)?;
        match key {
            "materialized" => {
                config.materialized = Materialized::parse(&value).ok_or_else(|| {
                    invalid(format!(
                        "config(materialized={value:?}): a model is materialized as 'view' or 'table'"
                    ))
                })?;
            }
            "tier" => {
                config.tier = Some(Tier::parse(&value).ok_or_else(|| {
                    invalid(format!(
                        "config(tier={value:?}): the tier is 'bronze', 'silver' or 'gold'"
                    ))
                })?);
            }
            "contract" => {
                if value.is_empty()
                    || value.starts_with('/')
                    || value.split(['/', '\\']).any(|p| p == "..")
                {
                    return Err(invalid(format!(
                        "config(contract={value:?}): the contract is a path inside the pipeline's directory"
                    )));
                }
                config.contract = Some(value);
            }
            other => {
                return Err(invalid(format!(
                    "config({other}=…): unknown setting (Socle reads materialized, tier and contract)"
                )));
            }
        }
    }
    state.get_or_insert_extension(Recorded::default()).config = config;
    Ok(String::new())
}

fn call_line(text: &str, function: &str, name: &str) -> usize {
    let last = name.rsplit('.').next().unwrap_or(name);
    let pattern = format!(r#"{function}\s*\([^)]*['"]{}['"]"#, regex::escape(last));
    match Regex::new(&pattern) {
        Ok(re) => line_of(text, &re),
        Err(_) => 1,
    }
}

/// The line of a model's `config(...)` call (1 when there is none).
pub fn config_line(text: &str) -> usize {
    static RE: OnceLock<Regex> = OnceLock::new();
    line_of(
        text,
        RE.get_or_init(|| Regex::new(r"config\s*\(").expect("pattern")),
    )
}

impl<'t> Renderer<'t> {
    /// An environment where `ref()` knows `models`.
    pub fn new(target: &'t RenderTarget, models: BTreeSet<String>) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(RENDER_FUEL));
        env.set_recursion_limit(50);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_function("ref", ref_fn(Arc::new(models), target.clone()));
        env.add_function("source", source_fn(target.clone()));
        env.add_function("config", config_fn);
        Self { env, target }
    }

    /// Renders one model file.
    pub fn render(&self, file: &ModelFile) -> Result<Rendered, PipelineError> {
        let fail = |line, message: String| PipelineError::new(&file.path, line, message);
        let name = model_name(&file.path)
            .ok_or_else(|| fail(None, "not a .sql model file".into()))?
            .to_owned();
        if file.text.len() > MAX_MODEL_BYTES {
            return Err(fail(
                None,
                format!(
                    "the model is {} bytes, more than the limit of {MAX_MODEL_BYTES}",
                    file.text.len()
                ),
            ));
        }
        let relation = self.target.model_relation(&name);
        let ctx = minijinja::context! { this => relation.clone() };
        let captured = self
            .env
            .template_from_named_str(&file.path, &file.text)
            .and_then(|t| t.render_captured(ctx))
            .map_err(|e| fail(e.line(), jinja_message(&e)))?;
        // Leading lines are kept, so a line of the SQL is the line of the file it came from.
        let sql = captured
            .output()
            .trim_end()
            .trim_end_matches(';')
            .trim_end();
        if sql.len() > MAX_MODEL_BYTES {
            return Err(fail(
                None,
                format!("the rendered model is more than {MAX_MODEL_BYTES} bytes"),
            ));
        }
        if sql.trim().is_empty() {
            return Err(fail(None, "the model renders no SQL".into()));
        }
        let rec = captured.state().get_extension::<Recorded>();
        let calls = |names: Option<&Vec<String>>, function: &str| -> Vec<Call> {
            names
                .into_iter()
                .flatten()
                .map(|n| Call {
                    name: n.clone(),
                    line: call_line(&file.text, function, n),
                })
                .collect()
        };
        Ok(Rendered {
            name,
            file: file.path.clone(),
            sql: sql.to_owned(),
            config: rec.map(|r| r.config.clone()).unwrap_or_default(),
            config_line: config_line(&file.text),
            relation,
            refs: calls(rec.map(|r| &r.refs), "ref"),
            sources: calls(rec.map(|r| &r.sources), "source"),
        })
    }
}

fn jinja_message(e: &Error) -> String {
    match e.kind() {
        ErrorKind::OutOfFuel => {
            format!("rendering the model took more than {RENDER_FUEL} steps (a loop too long?)")
        }
        // Socle's own functions' refusals say all there is to say.
        ErrorKind::InvalidOperation => e.detail().unwrap_or("invalid operation").to_owned(),
        _ => match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> Result<Rendered, PipelineError> {
        let target = RenderTarget {
            schema: Some("analytics".into()),
            sources: [("shop".to_owned(), "landing".to_owned())].into(),
        };
        let r = Renderer::new(&target, ["orders".to_owned(), "raw".to_owned()].into());
        r.render(&ModelFile {
            path: "models/gold/rev.sql".into(),
            text: text.into(),
        })
    }

    #[test]
    fn ref_source_and_config_are_recorded_and_rendered() {
        let m = render(
            "{{ config(materialized='table', tier='gold', contract='c/rev.odcs.yaml') }}\nselect * from {{ ref('orders') }}\njoin {{ source('shop', 'items') }} using (id);\n",
        )
        .unwrap();
        assert_eq!(
            m.sql,
            "\nselect * from \"analytics\".\"orders\"\njoin \"landing\".\"items\" using (id)"
        );
        assert_eq!(
            m.config,
            Config {
                materialized: Materialized::Table,
                tier: Some(Tier::Gold),
                contract: Some("c/rev.odcs.yaml".into())
            }
        );
        assert_eq!(
            m.refs,
            vec![Call {
                name: "orders".into(),
                line: 2
            }]
        );
        assert_eq!(
            m.sources,
            vec![Call {
                name: "shop.items".into(),
                line: 3
            }]
        );
        assert_eq!(m.relation, "\"analytics\".\"rev\"");
    }

    #[test]
    fn an_unknown_ref_is_an_error_at_its_line() {
        let e = render("select 1\nfrom {{ ref('nope') }}").unwrap_err();
        assert_eq!(e.file, "models/gold/rev.sql");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("no model named \"nope\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn config_values_are_checked() {
        for bad in [
            "{{ config(materialized='table; drop table x') }}select 1",
            "{{ config(tier='platinum') }}select 1",
            "{{ config(contract='../../etc/passwd') }}select 1",
            "{{ config(post_hook='drop table x') }}select 1",
        ] {
            let e = render(bad).unwrap_err();
            assert_eq!(e.line, Some(1), "{bad}: {e}");
        }
    }

    #[test]
    fn a_quote_in_a_source_name_stays_inside_the_identifier() {
        let m = render("select * from {{ source('shop', 'a\"; drop table x; --') }}").unwrap();
        assert_eq!(
            m.sql,
            "select * from \"landing\".\"a\"\"; drop table x; --\""
        );
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel() {
        let e = render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}select 1").unwrap_err();
        assert!(e.message.contains("steps"), "{}", e.message);
    }

    #[test]
    fn an_undefined_variable_is_an_error() {
        let e = render("select {{ nope }}").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
