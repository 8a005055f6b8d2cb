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
    #[command(after_help = "Example:\n  socle template list -o json")]
    List {
        /// How to print the result: table (default), json or yaml.
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
    #[command(
        after_help = "Example:\n  socle template run python-fastapi-service --values v.yaml --dry-run -d out"
    )]
    Run(Box<RunArgs>),
    /// Check a template directory for its author: YAML and schema errors, steps whose action
    /// this Socle does not run, skeletons that are missing — each with file and line. Exits 1
    /// on any error. Needs no store.
    #[command(
        after_help = "Example:\n  socle template validate ./my-template\n  socle template validate -o json golden-paths/rust-axum-service"
    )]
    Validate {
        /// The template's directory (holding template.yaml).
        dir: PathBuf,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Recorded runs, newest first.
    #[command(after_help = "Example:\n  socle template runs --template rust-axum-service")]
    Runs {
        /// Only runs of this template.
        #[arg(long)]
        template: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
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
    /// How to print the result: table (default), json or yaml.
    #[arg(long, short, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Subcommand)]
pub enum CreateCmd {
    /// A new service from the default golden path (Rust, axum): `socle create service orders-api`.
    #[command(
        after_help = "Example:\n  socle create service orders-api --owner team-a\n  socle create service billing --owner team-a --system payments --template python-fastapi-service"
    )]
    Service(CreateServiceArgs),
}

/// `socle create service NAME`: the default golden path (Rust, axum).
#[derive(Args)]
pub struct CreateServiceArgs {
    /// The service name: 3 to 40 lowercase letters, digits and dashes.
    pub name: String,
    /// The owning group (a group of the catalog, e.g. team-a or group:default/team-a).
    #[arg(long)]
    pub owner: Option<String>,
    /// One line saying what the service does (default: "The NAME service").
    #[arg(long)]
    pub description: Option<String>,
    /// The system it belongs to (required for production services).
    #[arg(long)]
    pub system: Option<String>,
    /// Where to publish the repository (default: a repository Socle hosts,
    /// https://socle.local/OWNER/NAME, kept under the data directory's repositories/).
    #[arg(long)]
    pub repo_url: Option<String>,
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
    let (github_api, gitlab_api) = c.git_hosts.apis()?;
    let config = socle_app::AppConfig {
        github_api,
        gitlab_api,
        remotes: c.git_hosts.net.remotes(&c.store.data_dir)?,
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

/// A check of a run's values against the application (the catalog) before the run.
type ValuesCheck = fn(&socle_app::App, &Map<String, Value>) -> anyhow::Result<()>;

/// What `socle create service` adds to a template run: a check of the values before anything
/// runs, and the commands to try next after a completed run.
#[derive(Default)]
struct RunHooks {
    check: Option<ValuesCheck>,
    next: Option<fn(&socle_store::TemplateRun) -> String>,
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
    hooks: RunHooks,
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
    if let Some(check) = hooks.check {
        check(&state, &values)?;
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
    let mut written = c
        .output_dir
        .as_ref()
        .map(|d| format!("  {} files written to {}\n", count_files(d), d.display()));
    if let Some(next) = hooks.next.filter(|_| ok && !run.dry_run) {
        written.get_or_insert_default().push_str(&next(&run));
    }
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
            Ok(Outcome::list(output, &list, |l| {
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
            run_template(&a.template, Map::new(), a.common, RunHooks::default()).await
        }
        TemplateCmd::Validate { dir, output } => validate(&dir, output),
        TemplateCmd::Runs {
            template,
            store,
            output,
        } => {
            let store = store.open_to_read().await?;
            let runs = store.list_template_runs(template.as_deref(), 50).await?;
            Outcome::list(output, &runs, |rs| {
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
    super::must_exist(dir)?;
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
            (_, 1) => format!("{}: 1 error\n", r.file),
            (_, n) => format!("{}: {n} errors\n", r.file),
        })?
        .table_stderr(lines)
        .failed(failed),
    )
}

/// Where `socle create service` publishes by default: a repository Socle hosts, under
/// `<data-dir>/repositories/socle.local/<owner>/<name>.git`.
pub const HOSTED_REPOSITORIES: &str = "https://socle.local";

pub async fn create(cmd: CreateCmd) -> anyhow::Result<Outcome> {
    let CreateCmd::Service(a) = cmd;
    let mut values = Map::new();
    let interactive = !a.common.no_input && std::io::stdin().is_terminal();
    if a.owner.is_none() && !interactive {
        anyhow::bail!(
            "--owner is required: the group that owns {} (e.g. --owner team-a; `socle catalog list --kind group` lists them)",
            a.name
        );
    }
    let description = a
        .description
        .unwrap_or_else(|| format!("The {} service", a.name));
    values.insert("description".into(), Value::String(description));
    if let Some(o) = &a.owner {
        let team = o.rsplit(['/', ':']).next().unwrap_or(o);
        let repo = a
            .repo_url
            .clone()
            .unwrap_or_else(|| format!("{HOSTED_REPOSITORIES}/{team}/{}", a.name));
        values.insert("repoUrl".into(), Value::String(repo));
        values.insert("owner".into(), Value::String(o.clone()));
    } else if let Some(r) = &a.repo_url {
        values.insert("repoUrl".into(), Value::String(r.clone()));
    }
    if let Some(s) = a.system {
        values.insert("system".into(), Value::String(s));
    }
    values.insert("name".into(), Value::String(a.name));
    let hooks = RunHooks {
        check: Some(owner_exists),
        next: Some(next_commands),
    };
    run_template(&a.template, values, a.common, hooks).await
}

/// The owner must be a group of the catalog: said before anything runs, with the groups that
/// look closest.
fn owner_exists(app: &socle_app::App, values: &Map<String, Value>) -> anyhow::Result<()> {
    let Some(owner) = values.get("owner").and_then(Value::as_str) else {
        return Ok(());
    };
    let wanted = match socle_catalog::EntityRef::parse(owner, Some("group"), "default") {
        Ok(r) => r.to_string(),
        Err(e) => anyhow::bail!("--owner {owner:?}: {e}"),
    };
    let snap = app.snapshot();
    if snap.get(&wanted).is_some() {
        return Ok(());
    }
    let name = wanted.rsplit('/').next().unwrap_or(&wanted);
    let mut groups: Vec<&str> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "group")
        .map(|e| e.entity_ref.rsplit('/').next().unwrap_or_default())
        .collect();
    groups.sort_by_key(|g| strsim::levenshtein(g, name));
    groups.truncate(5);
    anyhow::bail!(
        "no group {wanted} in the catalog{}",
        if groups.is_empty() {
            " (it has no groups: register your organisation first)".to_owned()
        } else {
            format!("; closest: {}", groups.join(", "))
        }
    )
}

/// What to try after a service was created.
fn next_commands(run: &socle_store::TemplateRun) -> String {
    let name = run
        .parameters
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("SERVICE");
    let mut s = format!(
        "\nNext:\n  socle catalog get component:default/{name}\n  socle deployments list --service {name}\n  socle deploy --promote {name} --from dev --to staging\n  socle dora report --service {name}\n"
    );
    let repo = run
        .output
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|l| l["title"] == "Repository")
        .and_then(|l| l["url"].as_str());
    if let Some(url) = repo {
        s.push_str(&format!("  git clone {url}\n"));
    }
    s
}
