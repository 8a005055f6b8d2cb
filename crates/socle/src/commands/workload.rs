//! `socle workload …`: validate Score files, and resolve and render them for an environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;
use socle_catalog::Limits;

use super::setup::{LimitArgs, StoreArgs, read_platform};
use crate::output::{self, Format, Outcome};
use socle_app::preview::OutputDir;

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum WorkloadCmd {
    /// Preview: resolve resources and render deployment files for an environment into a
    /// directory. Nothing of the platform changes (no store write, no de-provisioning, no new
    /// credentials for resources that exist); names and credentials are kept between runs in
    /// the directory's `.socle-preview/`, and files an earlier run wrote and this one does not
    /// are removed.
    #[command(
        after_help = "Example:\n  socle workload generate score.yaml --env local --image ghcr.io/acme/api:1.2.0 -d deploy\n  docker compose -f deploy/compose.yaml up"
    )]
    Generate {
        /// Score files (score.yaml); several make one application.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The environment (from the platform configuration).
        #[arg(long, default_value = "local")]
        env: String,
        /// Where to write the files.
        #[arg(long, short = 'd', default_value = "deploy")]
        output_dir: PathBuf,
        /// Platform configuration directory (default: the shipped configuration).
        #[arg(long)]
        platform: Option<PathBuf>,
        /// Compose: publish a port, HOST_PORT:WORKLOAD:CONTAINER_PORT.
        #[arg(long)]
        publish: Vec<String>,
        /// Override a property of every workload before validation: PATH=VALUE
        /// (e.g. containers.web.variables.DEBUG=true; an empty value removes it).
        #[arg(long = "override-property", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Compose project name (default: the output directory's name).
        #[arg(long)]
        project: Option<String>,
        /// Image for containers whose image is `.` (or for the only container).
        #[arg(long)]
        image: Option<String>,
        /// Seed for generated credentials (default: random). The same seed, inputs and kept
        /// state give the same files.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        limits: LimitArgs,
        /// The store whose environment state (live names and credentials) the preview reuses,
        /// read only; none is created.
        #[command(flatten)]
        store: StoreArgs,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
    },
    /// Parse and validate Score files offline (schema, placeholders, resource graph). Exit 1 on errors.
    #[command(after_help = "Example:\n  socle workload validate score.yaml")]
    Validate {
        /// Score files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// How to print the result: table (default), json or yaml.
        #[arg(long, short, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

pub async fn run(cmd: WorkloadCmd) -> anyhow::Result<Outcome> {
    match cmd {
        WorkloadCmd::Generate {
            files,
            env,
            output_dir,
            platform,
            publish,
            overrides,
            project,
            image,
            seed,
            limits,
            store,
            output,
        } => {
            generate(GenerateArgs {
                store,
                image,
                output,
                overrides,
                files,
                env,
                output_dir,
                platform,
                publish,
                project,
                seed,
                limits: limits.limits(),
            })
            .await
        }
        WorkloadCmd::Validate {
            files,
            output,
            limits,
        } => validate(files, output, &limits.limits()),
    }
}

struct GenerateArgs {
    store: StoreArgs,
    image: Option<String>,
    /// How to print the result: table (default), json or yaml.
    output: Format,
    overrides: Vec<String>,
    /// Score files to check.
    files: Vec<PathBuf>,
    env: String,
    output_dir: PathBuf,
    platform: Option<PathBuf>,
    publish: Vec<String>,
    project: Option<String>,
    seed: Option<u64>,
    limits: Limits,
}

/// The Score files a command read, by workload name: where each came from and its text, so that
/// a problem found after parsing (resolution, rendering) is shown at its `file:line`.
#[derive(Default)]
struct ScoreFiles(BTreeMap<String, ScoreFile>);

struct ScoreFile {
    path: PathBuf,
    text: String,
}

impl ScoreFiles {
    /// The directory of the workload's file (where its `source` files are read from).
    fn dir(&self, workload: &str) -> PathBuf {
        self.0
            .get(workload)
            .and_then(|f| f.path.parent().map(PathBuf::from))
            .unwrap_or_default()
    }

    /// A resolution error at its field in the workload's file: `file:line:column path: message`.
    fn locate(&self, e: &socle_platform::ResolveError, limits: &Limits) -> String {
        match self.0.get(&e.workload) {
            Some(f) => socle_score::locate_error(
                &f.text,
                &f.path.display().to_string(),
                &e.keys,
                &e.rule,
                e.message.clone(),
                limits,
            )
            .to_string(),
            None => e.to_string(),
        }
    }

    /// A problem of a workload as a whole: `file: message`.
    fn of_workload(&self, workload: &str, message: impl std::fmt::Display) -> String {
        match self.0.get(workload) {
            Some(f) => format!("{}: {message}", f.path.display()),
            None => format!("workload {workload}: {message}"),
        }
    }
}

/// The workloads read from `a.files` (with the overrides applied) and their files, or None when
/// any is invalid (the errors are printed, each at its `file:line`).
fn read_workloads(
    a: &GenerateArgs,
) -> anyhow::Result<Option<(Vec<socle_score::Workload>, ScoreFiles)>> {
    let overrides = a
        .overrides
        .iter()
        .map(|o| socle_score::parse_override(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--override-property: {e}"))?;
    let mut workloads = Vec::new();
    let mut files = ScoreFiles::default();
    let mut failed = false;
    for f in &a.files {
        let parsed = read_score_file(f, &a.limits)
            .map_err(|e| vec![e])
            .and_then(|text| {
                socle_score::parse_workload_with_overrides(
                    &text,
                    &f.display().to_string(),
                    &a.limits,
                    &overrides,
                )
                .map(|w| (w, text))
            });
        match parsed {
            Ok((mut w, text)) => {
                if let Some(image) = &a.image {
                    socle_deploy::set_image(&mut w, image);
                }
                files.0.insert(
                    w.name().to_owned(),
                    ScoreFile {
                        path: f.clone(),
                        text,
                    },
                );
                workloads.push(w);
            }
            Err(errors) => {
                failed = true;
                for e in errors {
                    eprintln!("{e}");
                }
            }
        }
    }
    Ok((!failed).then_some((workloads, files)))
}

/// `--seed`, else one from the clock.
fn seed(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.finish()
    })
}

async fn generate(a: GenerateArgs) -> anyhow::Result<Outcome> {
    for f in &a.files {
        super::must_exist(f)?;
    }
    let config = read_platform(a.platform.as_ref(), &a.limits)?;
    let Some(environment) = config.environments.get(&a.env) else {
        let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        bail!(
            "unknown environment \"{}\"; this platform has: {}",
            a.env,
            known.join(", ")
        );
    };
    let Some((mut workloads, files)) = read_workloads(&a)? else {
        return super::exit(true);
    };
    // Kubernetes carries files in ConfigMaps: `source` files are read now, as a deploy does
    // (Compose mounts them from the output directory instead).
    if environment.target == socle_platform::Target::Kubernetes {
        let mut failed = false;
        for w in &mut workloads {
            if let Err(e) = socle_deploy::inline_file_sources(w, &files.dir(w.name()), &a.limits) {
                eprintln!("{}", files.of_workload(w.name(), e));
                failed = true;
            }
        }
        if failed {
            return super::exit(true);
        }
    }
    let out = OutputDir::new(&a.output_dir);
    // The live state of the environment (read only), then what earlier previews kept here.
    let stored = match a.store.open_existing_read_only().await? {
        Some(store) => store.resource_state(&a.env).await?,
        None => Default::default(),
    };
    let state = socle_app::preview::starting_state(stored, out.kept_state()?);
    let runner =
        socle_deploy::ProcessRunner::new(a.platform.clone().unwrap_or_else(|| PathBuf::from(".")));
    let input = socle_platform::ResolveInput {
        workloads: &workloads,
        env: environment,
        config: &config,
        state: &state,
        seed: seed(a.seed),
        limits: &a.limits,
        runner: Some(&runner),
    };
    let resolution = match socle_platform::resolve(&input) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                eprintln!("{}", files.locate(&e, &a.limits));
            }
            return super::exit(true);
        }
    };
    let rendered = if environment.target == socle_platform::Target::Kubernetes {
        kubernetes_files(&a, environment, &workloads, &resolution)
    } else {
        compose_files(&a, &files, &resolution)
    };
    let rendered = match rendered {
        Ok(r) => r,
        Err(Rendering::Workload { workload, message }) => {
            eprintln!("{}", files.of_workload(&workload, message));
            return super::exit(true);
        }
        Err(Rendering::Other(e)) => return Err(e),
    };
    let kept: socle_app::preview::ResourceStates = resolution
        .resources
        .values()
        .map(|r| (r.uid.clone(), r.state.clone()))
        .collect();
    let written = out.write(&rendered, &kept)?;
    let summary = GenerateSummary {
        output_dir: a.output_dir.display().to_string(),
        environment: a.env.clone(),
        workloads: resolution
            .workloads
            .iter()
            .map(|w| w.workload.name().to_owned())
            .collect(),
        resources: resolution.resources.keys().cloned().collect(),
        written: written.written,
        removed: written.removed,
    };
    Outcome::new(a.output, &summary, |s| {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut text = format!(
            "wrote {} under {} ({}, {}) for {}\n",
            plural(s.written.len(), "file", "files"),
            s.output_dir,
            plural(s.workloads.len(), "workload", "workloads"),
            plural(s.resources.len(), "resource", "resources"),
            s.environment
        );
        for w in &s.written {
            text.push_str(&format!("  {w}\n"));
        }
        for r in &s.removed {
            text.push_str(&format!("removed {r} (no longer generated)\n"));
        }
        text
    })
}

/// What `workload generate` did.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct GenerateSummary {
    output_dir: String,
    environment: String,
    workloads: Vec<String>,
    resources: Vec<String>,
    /// Files written, relative to the output directory.
    written: Vec<String>,
    /// Files an earlier run wrote that this one no longer does, removed.
    removed: Vec<String>,
}

/// Why rendering failed: a problem of one workload (shown at its file), or another.
enum Rendering {
    Workload { workload: String, message: String },
    Other(anyhow::Error),
}

impl From<socle_render::RenderError> for Rendering {
    fn from(e: socle_render::RenderError) -> Self {
        match e {
            socle_render::RenderError::Workload { workload, message } => {
                Rendering::Workload { workload, message }
            }
            other => Rendering::Other(other.into()),
        }
    }
}

impl From<socle_render::PublishError> for Rendering {
    fn from(e: socle_render::PublishError) -> Self {
        Rendering::Other(anyhow::anyhow!("--publish: {e}"))
    }
}

fn kubernetes_files(
    a: &GenerateArgs,
    environment: &socle_platform::Environment,
    workloads: &[socle_score::Workload],
    resolution: &socle_platform::Resolution,
) -> Result<BTreeMap<String, Vec<u8>>, Rendering> {
    let ownership = workloads
        .iter()
        .map(|w| {
            let ann = |k: &str| {
                w.metadata
                    .get("annotations")
                    .and_then(|a| a.get(k))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let own = socle_render::Ownership {
                entity: ann("socle.dev/entity")
                    .or_else(|| Some(format!("component:default/{}", w.name()))),
                team: ann("socle.dev/team"),
            };
            (w.name().to_owned(), own)
        })
        .collect();
    let opts = socle_render::KubernetesOptions {
        secret_store: format!("socle-{}", a.env),
        ownership,
    };
    let manifests = socle_render::render_kubernetes(resolution, environment, &opts)?;
    let files = socle_render::to_yaml_files(&manifests)?;
    Ok(files
        .into_iter()
        .map(|(path, text)| (path, text.into_bytes()))
        .collect())
}

fn compose_files(
    a: &GenerateArgs,
    files: &ScoreFiles,
    resolution: &socle_platform::Resolution,
) -> Result<BTreeMap<String, Vec<u8>>, Rendering> {
    let publish = a
        .publish
        .iter()
        .map(|p| p.parse())
        .collect::<Result<Vec<socle_render::Publish>, socle_render::PublishError>>()?;
    let project = a.project.clone().unwrap_or_else(|| {
        std::fs::canonicalize(&a.output_dir)
            .or_else(|_| std::path::absolute(&a.output_dir))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "socle".into())
    });
    let opts = socle_render::ComposeOptions {
        project,
        publish,
        mounts_dir: "mounts".into(),
    };
    let read = |workload: &str, src: &str| {
        let path = files.dir(workload).join(src);
        std::fs::read(&path).map_err(|source| socle_render::SourceReadError { path, source })
    };
    let (compose, written) = socle_render::render_compose(resolution, &opts, &read)?;
    let mut files = written.files;
    files.insert("compose.yaml".into(), compose.into_bytes());
    Ok(files)
}

#[derive(serde::Serialize)]
struct WorkloadSummary {
    file: String,
    name: String,
    containers: Vec<String>,
    resources: Vec<serde_json::Value>,
    /// Resources in provisioning order (each after those its params refer to).
    order: Vec<String>,
}

/// A Score file's text, or the error that stands for it.
pub(super) fn read_score_file(
    f: &Path,
    limits: &Limits,
) -> Result<String, socle_score::ScoreError> {
    let error = |rule: &str, message: String| socle_score::ScoreError {
        file: f.display().to_string(),
        line: None,
        column: None,
        path: String::new(),
        rule: rule.into(),
        message,
    };
    let len = std::fs::metadata(f)
        .map_err(|e| {
            error(
                "file.unreadable",
                format!("cannot read {}: {e}", f.display()),
            )
        })?
        .len();
    if len > limits.max_file_bytes as u64 {
        return Err(error(
            "file.too-large",
            format!(
                "file is {len} bytes, more than the limit of {} bytes",
                limits.max_file_bytes
            ),
        ));
    }
    let bytes = std::fs::read(f).map_err(|e| {
        error(
            "file.unreadable",
            format!("cannot read {}: {e}", f.display()),
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        error(
            "file.encoding",
            format!(
                "the file is not UTF-8 text: invalid byte at offset {}",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn validate(files: Vec<PathBuf>, output: Format, limits: &Limits) -> anyhow::Result<Outcome> {
    for f in &files {
        super::must_exist(f)?;
    }
    let mut workloads = Vec::new();
    let mut errors: Vec<socle_score::ScoreError> = Vec::new();
    for f in &files {
        let display = f.display().to_string();
        let text = match read_score_file(f, limits) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match socle_score::parse_workload(&text, &display, limits) {
            Ok(w) => {
                let order = socle_score::resource_graph(&w)
                    .map(|g| g.order)
                    .unwrap_or_default();
                workloads.push(WorkloadSummary {
                    file: display,
                    name: w.name().to_owned(),
                    containers: w.containers.keys().cloned().collect(),
                    resources: w
                        .resources
                        .iter()
                        .map(|(n, r)| serde_json::json!({"name": n, "type": r.kind, "class": r.class, "id": r.id}))
                        .collect(),
                    order,
                });
            }
            Err(e) => errors.extend(e),
        }
    }
    let value = serde_json::json!({"workloads": workloads, "errors": errors});
    Ok(Outcome::new(output, &value, |_| {
        let rows: Vec<Vec<String>> = workloads
            .iter()
            .map(|w| {
                vec![
                    w.name.clone(),
                    w.containers.join(","),
                    w.order.join(" → "),
                    w.file.clone(),
                ]
            })
            .collect();
        let mut s = output::table(
            &["WORKLOAD", "CONTAINERS", "RESOURCES (ORDER)", "FILE"],
            &rows,
        );
        s.push_str(&format!(
            "{} valid, {} errors\n",
            workloads.len(),
            errors.len()
        ));
        s
    })?
    .table_stderr(errors.iter().map(ToString::to_string))
    .failed(!errors.is_empty()))
}
