//! `socle slo …`: SLO specs (Sloth `prometheus/v1`, `PrometheusServiceLevel`, OpenSLO) checked,
//! turned into Prometheus rules equal to Sloth's, and into Grafana dashboards. Needs no store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use socle_slo::{
    GenerateOptions, LoadOptions, Only, PromDuration, RuleWrapping, SloError, SloGroup,
    WindowCatalog,
};

use crate::output::{self, Format, Outcome};

#[derive(Subcommand)]
pub enum SloCmd {
    /// Check SLO specs with Sloth's rules (names, objective, queries with {{.window}} and valid
    /// PromQL, alerts, a supported SLO period, no SLO defined twice). Prints the SLOs found;
    /// errors go to stderr as `file:line: path: message`; exits 1 on any error.
    #[command(
        after_help = "Example:\n  socle slo validate slo.yaml\n  socle slo validate --window 28d -o json services/*/slo.yaml"
    )]
    Validate {
        #[command(flatten)]
        specs: SpecArgs,
        /// Allow the same SLO (service and name) in several files.
        #[arg(long)]
        ignore_duplicates: bool,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Write the Prometheus rules of every spec (SLI recordings per window, metadata recordings,
    /// multi-window multi-burn-rate page and ticket alerts), equal to Sloth's: one
    /// `<file>.rules.yaml` per spec file in --output-dir (a prometheus-operator PrometheusRule
    /// for a PrometheusServiceLevel).
    #[command(
        after_help = "Example:\n  socle slo generate slo.yaml -d rules\n  socle slo generate --window 28d --extra-labels env=prod slo.yaml -d rules"
    )]
    Generate {
        #[command(flatten)]
        specs: SpecArgs,
        #[command(flatten)]
        generate: GenerateArgs,
        /// The directory the rule files are written to (created if missing).
        #[arg(long, short = 'd')]
        output_dir: PathBuf,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Error budgets now (or --at) from a Prometheus HTTP API: per SLO the SLI over the period,
    /// the remaining budget, burn rates over 5m…3d, time to exhaustion at the current rate and
    /// the alerts that would fire. The SLI queries run as written in the spec.
    #[command(
        after_help = "Example:\n  socle slo budget slo.yaml --prometheus-url http://prometheus:9090\n  socle slo budget slo.yaml --prometheus-url http://127.0.0.1:9090 --at 2026-12-01T00:00:00Z -o json"
    )]
    Budget {
        #[command(flatten)]
        specs: SpecArgs,
        /// The Prometheus HTTP API (http:// or https://), e.g. the one of the environment.
        #[arg(long, env = "SOCLE_PROMETHEUS_URL")]
        prometheus_url: String,
        /// PEM certificates trusted for an https:// Prometheus besides the system's store.
        #[arg(long, env = "SOCLE_CA_FILE")]
        ca_file: Option<std::path::PathBuf>,
        /// When to compute the budgets (RFC 3339; default: now).
        #[arg(long)]
        at: Option<String>,
        /// Queries in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// A catalog entity's SLOs (its `socle.dev/slo` file) with their error budgets in one
    /// environment, measured as the server measures them: the environment's Prometheus
    /// (`slo.prometheusUrl` in the platform configuration) or counts pushed to Socle.
    #[command(after_help = "Example:
  socle slo status shop
  socle slo status component:default/shop --env staging -o json")]
    Status(super::slo_status::StatusArgs),
    /// Write a Grafana dashboard per service (`<service>.dashboard.json`, Grafana's import
    /// format): objective, remaining error budget, burn rates and SLI per window, read from the
    /// rules `socle slo generate` writes.
    #[command(after_help = "Example:\n  socle slo dashboard slo.yaml -d dashboards")]
    Dashboard {
        #[command(flatten)]
        specs: SpecArgs,
        /// The directory the dashboards are written to (created if missing).
        #[arg(long, short = 'd')]
        output_dir: PathBuf,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
}

#[derive(Args)]
pub struct SpecArgs {
    /// SLO spec files (YAML; several documents per file allowed).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The SLO period of specs that set none (Sloth's --default-slo-period): 30d or 28d with the
    /// built-in windows, or a period of --windows-file.
    #[arg(long, default_value = "30d")]
    window: String,
    /// Alert windows (`AlertWindows`, sloth.slok.dev/v1) replacing the built-in 30d and 28d
    /// catalog; repeat for several periods.
    #[arg(long)]
    windows_file: Vec<PathBuf>,
}

#[derive(Args)]
pub struct GenerateArgs {
    /// A label added to every rule, `key=value` (repeatable; wins over the spec's labels).
    #[arg(long = "extra-labels", short = 'l', value_name = "KEY=VALUE")]
    extra_labels: Vec<String>,
    /// Only the alert rules.
    #[arg(long, conflicts_with = "disable_alerts")]
    disable_recordings: bool,
    /// Only the recording rules.
    #[arg(long)]
    disable_alerts: bool,
    /// Write plain Prometheus rule files (`groups:`) for PrometheusServiceLevel specs too,
    /// instead of prometheus-operator PrometheusRules (for promtool, or Prometheus without the
    /// operator).
    #[arg(long)]
    rule_files: bool,
}

pub async fn run(cmd: SloCmd) -> anyhow::Result<Outcome> {
    match cmd {
        SloCmd::Validate {
            specs,
            ignore_duplicates,
            output,
        } => validate(&specs, ignore_duplicates, output),
        SloCmd::Generate {
            specs,
            generate: g,
            output_dir,
            output,
        } => generate(&specs, &g, &output_dir, output),
        SloCmd::Dashboard {
            specs,
            output_dir,
            output,
        } => dashboard(&specs, &output_dir, output),
        SloCmd::Status(args) => super::slo_status::run(args).await,
        SloCmd::Budget {
            specs,
            prometheus_url,
            ca_file,
            at,
            concurrency,
            output,
        } => {
            let net = super::setup::NetArgs {
                ca_file,
                ..Default::default()
            };
            let client = socle_app::slo::PrometheusHttp::with_tls(&prometheus_url, net.tls()?)?;
            budget(&specs, client, at.as_deref(), concurrency, output).await
        }
    }
}

fn load_options(specs: &SpecArgs) -> anyhow::Result<LoadOptions> {
    let period = PromDuration::parse(&specs.window).context("--window")?;
    let windows = if specs.windows_file.is_empty() {
        WindowCatalog::default()
    } else {
        let mut texts = Vec::new();
        for f in &specs.windows_file {
            super::must_exist(f)?;
            texts.push(
                std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read {}", f.display()))?,
            );
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        WindowCatalog::from_yaml_documents(&refs).context("--windows-file")?
    };
    if windows.get(period).is_none() {
        let known: Vec<String> = windows.periods().iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "--window {period}: no alert windows for this SLO period (known: {})",
            known.join(", ")
        );
    }
    Ok(LoadOptions {
        default_period: period,
        windows,
        ..LoadOptions::default()
    })
}

/// Every file read and checked: the groups of the valid ones (with their file), and every error.
struct Loaded {
    files: Vec<(String, Vec<SloGroup>)>,
    errors: Vec<SloError>,
}

fn load_all(specs: &SpecArgs, options: &LoadOptions) -> anyhow::Result<Loaded> {
    for f in &specs.files {
        super::must_exist(f)?;
    }
    let mut loaded = Vec::new();
    let mut errors = Vec::new();
    for f in &specs.files {
        let name = f.display().to_string();
        let len = std::fs::metadata(f)
            .with_context(|| format!("cannot read {name}"))?
            .len();
        if len > options.limits.max_file_bytes as u64 {
            errors.push(SloError {
                file: name,
                line: None,
                path: String::new(),
                message: format!(
                    "the file is {len} bytes, more than the limit of {} bytes",
                    options.limits.max_file_bytes
                ),
            });
            continue;
        }
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        match socle_slo::load(&text, &name, options) {
            Ok(groups) => loaded.push((name, groups)),
            Err(e) => errors.extend(e),
        }
    }
    Ok(Loaded {
        files: loaded,
        errors,
    })
}

#[derive(Serialize)]
struct SloRow {
    file: String,
    service: String,
    name: String,
    id: String,
    objective: f64,
    period: String,
    spec: &'static str,
}

fn rows(loaded: &[(String, Vec<SloGroup>)], default: PromDuration) -> Vec<SloRow> {
    let mut out = Vec::new();
    for (file, groups) in loaded {
        for g in groups {
            for s in &g.slos {
                out.push(SloRow {
                    file: file.clone(),
                    service: s.service.clone(),
                    name: s.name.clone(),
                    id: s.id.clone(),
                    objective: s.objective,
                    period: s.period.unwrap_or(default).to_string(),
                    spec: g.kind.spec_label(),
                });
            }
        }
    }
    out
}

#[derive(Serialize)]
struct ValidateReport {
    valid: bool,
    slos: Vec<SloRow>,
    errors: Vec<SloError>,
}

fn validate(specs: &SpecArgs, ignore_duplicates: bool, output: Format) -> anyhow::Result<Outcome> {
    let options = load_options(specs)?;
    let Loaded {
        files: loaded,
        mut errors,
    } = load_all(specs, &options)?;
    if !ignore_duplicates {
        errors.extend(socle_slo::duplicates(&loaded));
    }
    let report = ValidateReport {
        valid: errors.is_empty(),
        slos: rows(&loaded, options.default_period),
        errors,
    };
    let lines: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    let failed = !report.valid;
    Ok(Outcome::new(output, &report, |r| {
        let table_rows: Vec<Vec<String>> = r
            .slos
            .iter()
            .map(|s| {
                vec![
                    s.service.clone(),
                    s.name.clone(),
                    socle_slo::gofmt::go_f(s.objective),
                    s.period.clone(),
                    s.file.clone(),
                ]
            })
            .collect();
        let mut t = output::table(
            &["SERVICE", "SLO", "OBJECTIVE %", "PERIOD", "FILE"],
            &table_rows,
        );
        t.push_str(&format!(
            "{} SLOs, {} errors\n",
            r.slos.len(),
            r.errors.len()
        ));
        t
    })?
    .table_stderr(lines)
    .failed(failed))
}

/// Refuses the run with every error, one `file:line: …` per line.
fn refuse(errors: &[SloError]) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow::bail!("{}", lines.join("\n"))
}

fn extra_labels(args: &[String]) -> anyhow::Result<socle_slo::Labels> {
    let mut out = socle_slo::Labels::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .with_context(|| format!("--extra-labels {a:?}: expected key=value"))?;
        if k.is_empty() || k == "__name__" || v.is_empty() {
            anyhow::bail!(
                "--extra-labels {a:?}: the key and the value must be non-empty, and the key not __name__"
            );
        }
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

/// `dir/<file stem><suffix>` for each input, refusing two inputs that would write one file.
fn output_names(
    loaded: &[(String, Vec<SloGroup>)],
    dir: &Path,
    suffix: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for (file, _) in loaded {
        let stem = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "slo".into());
        let path = dir.join(format!("{stem}{suffix}"));
        if let Some(other) = seen.insert(path.clone(), file.clone()) {
            anyhow::bail!(
                "{file} and {other} would both be written to {}: rename one",
                path.display()
            );
        }
        out.push(path);
    }
    Ok(out)
}

#[derive(Serialize)]
struct Written {
    input: String,
    output: String,
    slos: usize,
    groups: usize,
    rules: usize,
}

fn written_table(items: &[Written]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|w| {
            vec![
                w.input.clone(),
                w.slos.to_string(),
                w.groups.to_string(),
                w.rules.to_string(),
                w.output.clone(),
            ]
        })
        .collect();
    output::table(&["INPUT", "SLOS", "GROUPS", "RULES", "OUTPUT"], &rows)
}

fn generate(
    specs: &SpecArgs,
    g: &GenerateArgs,
    dir: &Path,
    output: Format,
) -> anyhow::Result<Outcome> {
    let options = load_options(specs)?;
    let extra = extra_labels(&g.extra_labels)?;
    let Loaded {
        files: loaded,
        mut errors,
    } = load_all(specs, &options)?;
    errors.extend(socle_slo::duplicates(&loaded));
    refuse(&errors)?;
    let gen_options = GenerateOptions {
        default_period: options.default_period,
        windows: options.windows.clone(),
        extra_labels: extra,
        only: match (g.disable_recordings, g.disable_alerts) {
            (true, _) => Only::Alerts,
            (_, true) => Only::Recordings,
            _ => Only::Everything,
        },
        ..GenerateOptions::default()
    };
    let outputs = output_names(&loaded, dir, ".rules.yaml")?;
    let mut written = Vec::new();
    let mut files = Vec::new();
    for ((file, groups), path) in loaded.iter().zip(&outputs) {
        let mut text = String::new();
        let (mut n_groups, mut n_rules) = (0, 0);
        for group in groups {
            let rules =
                socle_slo::group_rules(group, &gen_options).with_context(|| file.clone())?;
            n_groups += rules.len();
            n_rules += rules.iter().map(|r| r.rules.len()).sum::<usize>();
            let wrapping = if g.rule_files {
                RuleWrapping::RuleFile
            } else {
                RuleWrapping::AsSloth
            };
            text.push_str(&socle_slo::to_yaml(group, &rules, file, wrapping)?);
        }
        if n_rules == 0 {
            anyhow::bail!("{file}: no rules to write (every alert and recording is disabled)");
        }
        files.push((path.clone(), text));
        written.push(Written {
            input: file.clone(),
            output: path.display().to_string(),
            slos: groups.iter().map(|g| g.slos.len()).sum(),
            groups: n_groups,
            rules: n_rules,
        });
    }
    write_files(dir, &files)?;
    Outcome::list(output, &written, written_table)
}

fn write_files(dir: &Path, files: &[(PathBuf, String)]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (path, text) in files {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Board {
    service: String,
    uid: String,
    output: String,
    slos: usize,
}

fn dashboard(specs: &SpecArgs, dir: &Path, output: Format) -> anyhow::Result<Outcome> {
    let options = load_options(specs)?;
    let Loaded {
        files: loaded,
        mut errors,
    } = load_all(specs, &options)?;
    errors.extend(socle_slo::duplicates(&loaded));
    refuse(&errors)?;
    let groups: Vec<SloGroup> = loaded.into_iter().flat_map(|(_, g)| g).collect();
    let boards = socle_slo::dashboard::dashboards(&groups, options.default_period);
    let mut files = Vec::new();
    let mut items = Vec::new();
    for (service, board) in &boards {
        // Services are `[A-Za-z0-9._-]` by validation: a safe file name.
        let path = dir.join(format!("{service}.dashboard.json"));
        files.push((path.clone(), serde_json::to_string_pretty(board)? + "\n"));
        items.push(Board {
            service: service.clone(),
            uid: board["uid"].as_str().unwrap_or_default().to_owned(),
            output: path.display().to_string(),
            slos: groups
                .iter()
                .flat_map(|g| &g.slos)
                .filter(|s| &s.service == service)
                .count(),
        });
    }
    write_files(dir, &files)?;
    Outcome::list(output, &items, |items| {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|b| {
                vec![
                    b.service.clone(),
                    b.slos.to_string(),
                    b.uid.clone(),
                    b.output.clone(),
                ]
            })
            .collect();
        output::table(&["SERVICE", "SLOS", "UID", "OUTPUT"], &rows)
    })
}

async fn budget(
    specs: &SpecArgs,
    client: socle_app::slo::PrometheusHttp,
    at: Option<&str>,
    concurrency: usize,
    output: Format,
) -> anyhow::Result<Outcome> {
    let options = load_options(specs)?;
    let at = match at {
        Some(t) => {
            socle_dora::events::parse_timestamp(t)
                .map_err(|e| anyhow::anyhow!("--at {t:?}: {e}"))? as f64
                / 1000.0
        }
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs_f64(),
    };
    let Loaded {
        files: loaded,
        mut errors,
    } = load_all(specs, &options)?;
    errors.extend(socle_slo::duplicates(&loaded));
    refuse(&errors)?;
    let groups: Vec<SloGroup> = loaded.into_iter().flat_map(|(_, g)| g).collect();
    let budgets = socle_app::slo::budgets(
        &client,
        &groups,
        options.default_period,
        &options.windows,
        at,
        concurrency.clamp(1, 64),
    )
    .await?;
    Outcome::list(output, &budgets, budget_table)
}

fn percent(v: Option<f64>) -> String {
    v.map_or("no data".into(), |v| format!("{:.3}%", v * 100.0))
}

pub(crate) fn budget_table(items: &[socle_slo::budget::Budget]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|b| {
            let burns: Vec<String> = b
                .windows
                .iter()
                .filter(|w| w.window != b.period)
                .map(|w| w.burn_rate.map_or("-".into(), |r| format!("{r:.2}")))
                .collect();
            vec![
                b.service.clone(),
                b.slo.clone(),
                format!("{}%", socle_slo::gofmt::go_f(b.objective)),
                percent(b.sli),
                percent(b.remaining),
                burns.join(" "),
                b.seconds_to_exhaustion
                    .map_or("-".into(), |s| format!("{:.1} d", s / 86_400.0)),
                b.firing
                    .iter()
                    .map(|f| format!("{f:?}").to_lowercase())
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        })
        .collect();
    output::table(
        &[
            "SERVICE",
            "SLO",
            "OBJECTIVE",
            "SLI",
            "BUDGET LEFT",
            "BURN 5m 30m 1h 2h 6h 1d 3d",
            "EXHAUSTED IN",
            "FIRING",
        ],
        &rows,
    )
}
