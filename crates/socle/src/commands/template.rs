//! `socle template …` and `socle create service`: golden paths from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::setup::{AppSetup, GitHostArgs, StoreArgs, open_app};
use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum TemplateCmd {
    /// The built-in golden paths (the API also offers the catalog's Template entities).
    List {
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Run a golden path: render it, publish the repository, register it, deploy it.
    ///
    /// TEMPLATE is a name (see `socle template list`) or a template directory (a path starting
    /// with `.` or `/`, or a directory holding template.yaml), run without registering it.
    /// Values come from --values (YAML or JSON), then --set; missing ones are asked for when a
    /// terminal is attached. --dry-run renders into --output-dir and runs no side effect.
    /// Ctrl-C cancels the run between steps and undoes what it did.
    Run(Box<RunArgs>),
    /// Check a template directory for its author: YAML and schema errors, steps whose action
    /// this Socle does not run, skeletons that are missing — each with file and line. Exits 1
    /// on any error. Needs no store.
    Validate {
        /// The template's directory (holding template.yaml).
        dir: PathBuf,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Recorded runs, newest first.
    Runs {
        #[arg(long)]
        template: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Args)]
pub struct RunArgs {
    /// The template's name (see `socle template list`), or a template directory.
    pub template: String,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

#[derive(Args)]
pub struct CommonRunArgs {
    /// A YAML or JSON file of parameter values.
    #[arg(long)]
    pub values: Option<PathBuf>,
    /// A parameter value, `name=value` (JSON values such as true or 3 keep their type).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Render only: no repository, no registration, no deployment.
    #[arg(long)]
    pub dry_run: bool,
    /// Where a dry run writes the rendered files (a new or empty directory, unless --force).
    #[arg(long, short = 'd')]
    pub output_dir: Option<PathBuf>,
    /// Let a dry run write into a directory that already holds files (they may be overwritten).
    #[arg(long, requires = "output_dir")]
    pub force: bool,
    /// Never ask for missing values.
    #[arg(long)]
    pub no_input: bool,
    /// Platform configuration directory (default: the shipped configuration).
    #[arg(long)]
    pub platform: Option<PathBuf>,
    /// Guardrails enforced by the deploy step.
    #[arg(long, default_value = "builtin")]
    pub guardrails: String,
    #[command(flatten)]
    pub git_hosts: GitHostArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, short, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Subcommand)]
pub enum CreateCmd {
    /// A new service from the default golden path (Rust, axum): `socle create service orders-api`.
    Service(CreateServiceArgs),
}

/// `socle create service NAME`: the default golden path (Rust, axum).
#[derive(Args)]
pub struct CreateServiceArgs {
    pub name: String,
    /// The owning group.
    #[arg(long)]
    pub owner: Option<String>,
    /// The golden path to use.
    #[arg(long, default_value = "rust-axum-service")]
    pub template: String,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

fn parse_set(s: &str) -> anyhow::Result<(String, Value)> {
    let (k, v) = s
        .split_once('=')
        .with_context(|| format!("--set {s:?}: expected NAME=VALUE"))?;
    let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
    Ok((k.to_owned(), value))
}

async fn state(c: &CommonRunArgs) -> anyhow::Result<Arc<socle_app::App>> {
    let store = c.store.open().await?;
    let base = AppSetup {
        store: &c.store,
        platform: c.platform.as_ref(),
        guardrails: &c.guardrails,
        limits: socle_catalog::Limits::default(),
    }
    .config()?;
    let config = socle_app::AppConfig {
        github_api: c.git_hosts.apis().0,
        gitlab_api: c.git_hosts.apis().1,
        ..base
    };
    open_app(store, config).await
}

/// Asks for the values a template still needs (terminal only).
fn prompt(
    template: &socle_scaffold::Template,
    values: &mut Map<String, Value>,
) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for page in socle_scaffold::params::pages(&template.parameters) {
        let required: Vec<&str> = page
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(props) = page.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (name, schema) in props {
            if values.contains_key(name) {
                continue;
            }
            let default = schema.get("default");
            if !required.contains(&name.as_str()) && default.is_none() {
                continue;
            }
            let title = schema.get("title").and_then(Value::as_str).unwrap_or(name);
            let mut q = title.to_string();
            if let Some(d) = schema.get("description").and_then(Value::as_str) {
                q.push_str(&format!(" — {d}"));
            }
            if let Some(e) = schema.get("enum").and_then(Value::as_array) {
                q.push_str(&format!(
                    " [{}]",
                    e.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join("/")
                ));
            }
            if let Some(d) = default {
                q.push_str(&format!(" (default {d})"));
            }
            eprint!("{q}: ");
            std::io::stderr().flush()?;
            let answer = lines.next().transpose()?.unwrap_or_default();
            let answer = answer.trim();
            if answer.is_empty() {
                continue; // the default applies, or validation reports it missing
            }
            let v = match schema.get("type").and_then(Value::as_str) {
                Some("boolean") => Value::Bool(matches!(answer, "y" | "yes" | "true" | "1")),
                Some("integer" | "number") => {
                    serde_json::from_str(answer).unwrap_or(Value::String(answer.into()))
                }
                _ => Value::String(answer.to_owned()),
            };
            values.insert(name.clone(), v);
        }
    }
    Ok(())
}

/// A path (`./t`, `/srv/t`, `../t`) or an existing directory holding template.yaml names a
/// template directory; anything else is a template's name.
fn template_ref(template: &str) -> socle_app::scaffold::TemplateRef {
    let path = std::path::Path::new(template);
    let looks_like_path = template.starts_with('.') || template.starts_with('/');
    if looks_like_path || path.join("template.yaml").is_file() {
        socle_app::scaffold::TemplateRef::Dir(path.to_path_buf())
    } else {
        socle_app::scaffold::TemplateRef::Name(template.to_owned())
    }
}

/// Cancels `cancel` on Ctrl-C (the run stops between steps and undoes what it did).
fn cancel_on_ctrl_c(cancel: socle_scaffold::Cancel) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling: the run stops before its next step and undoes what it did");
            cancel.cancel();
        }
    });
}

async fn run_template(
    template: &str,
    mut values: Map<String, Value>,
    c: CommonRunArgs,
) -> anyhow::Result<Outcome> {
    let target = template_ref(template);
    if let Some(f) = &c.values {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let docs = socle_catalog::yaml::parse_documents(&text, &socle_catalog::Limits::default())
            .map_err(|e| {
            anyhow::anyhow!("{}:{}: {}", f.display(), e.line.unwrap_or(0), e.message)
        })?;
        if let Some(Value::Object(m)) = docs.first().map(|d| d.to_json()) {
            for (k, v) in m {
                values.entry(k).or_insert(v);
            }
        }
    }
    for s in &c.set {
        let (k, v) = parse_set(s)?;
        values.insert(k, v);
    }
    let state = state(&c).await?;
    let principal = socle_store::Principal {
        token_id: "cli".into(),
        subject: super::cli_actor(),
        role: socle_store::Role::Admin,
    };
    if !c.no_input && std::io::stdin().is_terminal() {
        let engine =
            socle_app::scaffold::engine(&state, &socle_app::scaffold::caller(principal.clone()));
        let found = match &target {
            socle_app::scaffold::TemplateRef::Dir(d) => {
                socle_app::scaffold::sources::dir_template(&engine, d)
                    .ok()
                    .map(|(t, _)| t)
            }
            socle_app::scaffold::TemplateRef::Name(n) => {
                socle_app::scaffold::templates(&state, &engine)
                    .into_iter()
                    .find(|(t, _)| &t.name == n)
                    .map(|(t, _)| t)
            }
        };
        if let Some(t) = found {
            prompt(&t, &mut values)?;
        }
    }
    if c.output_dir.is_some() && !c.dry_run {
        anyhow::bail!(
            "--output-dir goes with --dry-run (a real run publishes the repository instead)"
        );
    }
    if let Some(d) = &c.output_dir {
        let occupied = std::fs::read_dir(d).is_ok_and(|mut entries| entries.next().is_some());
        if occupied && !c.force {
            anyhow::bail!(
                "{} is not empty: a dry run would overwrite its files; choose a new directory or pass --force",
                d.display()
            );
        }
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let label = target.label();
    let mut req = socle_app::scaffold::RunRequest::new(target, Value::Object(values), c.dry_run);
    req.keep = c.output_dir.clone();
    let cancel = socle_scaffold::Cancel::new();
    cancel_on_ctrl_c(cancel.clone());
    req.cancel = Some(cancel);
    let result = socle_app::scaffold::run(&state, Some(principal.clone()), req).await;
    // Audited like a run through the API or the portal (the detail: the run's id).
    let out = state
        .audited_with(
            &socle_app::Actor::Principal(principal),
            socle_app::AuditAction::TemplateRun,
            &label,
            result,
            |o| o.run.id.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let run = out.run;
    let ok = run.status == socle_store::RunStatus::Completed;
    // What is there now, not what the run meant to write (a failed run writes less).
    let written = c
        .output_dir
        .as_ref()
        .map(|d| format!("  {} files written to {}\n", count_files(d), d.display()));
    Ok(Outcome::new(c.output, &run, |r| run_table(r, written))?.failed(!ok))
}

/// Files under `dir`.
fn count_files(dir: &std::path::Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

/// A run as `socle template run` shows it: its steps, parameter errors and links.
fn run_table(r: &socle_store::TemplateRun, written: Option<String>) -> String {
    let mut s = format!(
        "{} {} ({}){}\n",
        r.id,
        r.template,
        r.status,
        if r.dry_run { ", dry run" } else { "" }
    );
    for step in r.steps.as_array().into_iter().flatten() {
        s.push_str(&format!(
            "  {:<10} {} ({}){}\n",
            step["status"].as_str().unwrap_or_default(),
            step["name"].as_str().unwrap_or_default(),
            step["action"].as_str().unwrap_or_default(),
            step["error"]
                .as_str()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(e) = &r.error {
        if let Some(errors) = e.get("errors").and_then(Value::as_array) {
            for pe in errors {
                s.push_str(&format!(
                    "  parameter {}: {}\n",
                    pe["path"].as_str().filter(|p| !p.is_empty()).unwrap_or("/"),
                    pe["message"].as_str().unwrap_or_default()
                ));
            }
        } else {
            s.push_str(&format!("  error: {e}\n"));
        }
    }
    for link in r
        .output
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        s.push_str(&format!(
            "  {}: {}\n",
            link["title"].as_str().unwrap_or("link"),
            link.get("url")
                .or(link.get("entityRef"))
                .and_then(Value::as_str)
                .unwrap_or_default()
        ));
    }
    if let Some(w) = written {
        s.push_str(&w);
    }
    s
}

pub async fn run(cmd: TemplateCmd) -> anyhow::Result<Outcome> {
    match cmd {
        TemplateCmd::List { output } => {
            // Listing runs nothing: the platform's actions need only be known by name.
            let engine = socle_app::scaffold::loading_engine(&socle_catalog::Limits::default());
            let (templates, failed) = socle_app::scaffold::builtin_templates(&engine);
            for f in &failed {
                eprintln!("error: built-in template {f}");
            }
            let list: Vec<Value> = templates
                .into_iter()
                .map(|t| json!({"name": t.name, "title": t.title, "description": t.description, "tags": t.tags}))
                .collect();
            Ok(Outcome::new(output, &list, |l| {
                let rows: Vec<Vec<String>> = l
                    .iter()
                    .map(|t| {
                        vec![
                            t["name"].as_str().unwrap_or_default().to_owned(),
                            t["title"].as_str().unwrap_or_default().to_owned(),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "TITLE"], &rows)
            })?
            .failed(!failed.is_empty()))
        }
        TemplateCmd::Run(a) => {
            let a = *a;
            run_template(&a.template, Map::new(), a.common).await
        }
        TemplateCmd::Validate { dir, output } => validate(&dir, output),
        TemplateCmd::Runs {
            template,
            store,
            output,
        } => {
            let store = store.open_to_read().await?;
            let runs = store.list_template_runs(template.as_deref(), 50).await?;
            Outcome::new(output, &runs, |rs| {
                let rows: Vec<Vec<String>> = rs
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            r.template.clone(),
                            r.status.to_string(),
                            r.actor.clone(),
                            socle_dora::events::format_timestamp(r.created_at),
                        ]
                    })
                    .collect();
                output::table(&["RUN", "TEMPLATE", "STATUS", "BY", "AT"], &rows)
            })
        }
    }
}

/// What `socle template validate` reports.
#[derive(serde::Serialize)]
struct Validation {
    /// The template's name (None when it does not load).
    template: Option<String>,
    file: String,
    valid: bool,
    errors: Vec<socle_scaffold::TemplateError>,
}

/// `socle template validate DIR`: every problem of a template directory, located.
fn validate(dir: &std::path::Path, output: Format) -> anyhow::Result<Outcome> {
    let (text, file) = socle_app::scaffold::sources::read_template_dir(dir)?;
    // The platform's actions by name and outputs: no store is needed to check a template.
    let engine = socle_app::scaffold::loading_engine(&socle_catalog::Limits::default());
    let source = socle_scaffold::builtin::DirSource {
        root: dir.to_path_buf(),
    };
    let errors = engine.validate(&text, &file, &source);
    let template = engine.load(&text, &file).ok().map(|t| t.name);
    let report = Validation {
        template,
        file,
        valid: errors.is_empty(),
        errors,
    };
    let failed = !report.valid;
    let lines: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    Ok(
        Outcome::new(output, &report, |r| match (&r.template, r.errors.len()) {
            (Some(name), 0) => format!("{}: template {name} is valid\n", r.file),
            (_, n) => format!("{}: {n} error(s)\n", r.file),
        })?
        .table_stderr(lines)
        .failed(failed),
    )
}

pub async fn create(cmd: CreateCmd) -> anyhow::Result<Outcome> {
    let CreateCmd::Service(a) = cmd;
    let mut values = Map::new();
    values.insert("name".into(), Value::String(a.name));
    if let Some(o) = a.owner {
        values.insert("owner".into(), Value::String(o));
    }
    run_template(&a.template, values, a.common).await
}
