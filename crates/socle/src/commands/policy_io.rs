//! `socle policy eval|test`'s files and output: `--policy` files or directories (only `*.rego`,
//! plus the built-in pack's `rules.json`), `--data` files or directories (JSON/YAML), the input
//! documents, and conftest's output formats (rendered by `socle_policy::report`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use socle_catalog::Limits;
use socle_ingest::Source;
use socle_policy::{CheckResult, Message, PolicyError, PolicySet};

use crate::output::{Format, Outcome};

/// A file read for `parse_config_file` may be at most this large.
const MAX_CONFIG_FILE: u64 = 4 << 20;

/// `socle policy eval -o …`: conftest's formats (`stdout` is Socle's conftest-like lines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyFormat {
    #[default]
    Stdout,
    Json,
    Yaml,
    Table,
    Tap,
    Junit,
    Github,
    Sarif,
}

/// How `socle policy eval` runs.
pub struct EvalMode {
    pub combine: bool,
    pub fail_on_warn: bool,
    /// How to print the result: table (default), json or yaml.
    pub output: PolicyFormat,
}

/// The policy and data files of a run, read.
pub struct Sources {
    pub policies: Vec<(String, String)>,
    pub data: Vec<(String, String)>,
    /// Where `parse_config_file` paths are resolved: the first policy's directory.
    base: PathBuf,
}

fn read_tree(
    path: &Path,
    keep: impl Fn(&str) -> bool,
    out: &mut Vec<(String, String)>,
) -> anyhow::Result<()> {
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.push((path.display().to_string(), text));
        return Ok(());
    }
    let source = socle_ingest::FsSource::new(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut files = source.files().map_err(|e| anyhow::anyhow!("{e}"))?;
    files.sort();
    for rel in files {
        if rel.split('/').any(|p| p.starts_with('.')) || !keep(&rel) {
            continue;
        }
        let file = path.join(&rel);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        out.push((file.display().to_string(), text));
    }
    Ok(())
}

impl Sources {
    /// Reads `policy` (files as given; from directories only `*.rego`) and `data` (files as
    /// given; from directories `*.json`, `*.yaml`, `*.yml`). No policy: the built-in pack, if
    /// `builtin_if_none`.
    pub fn read(
        policy: &[PathBuf],
        data: &[PathBuf],
        builtin_if_none: bool,
    ) -> anyhow::Result<Self> {
        let mut policies = Vec::new();
        if policy.is_empty() && builtin_if_none {
            policies = socle_policy::builtin_files();
        }
        for p in policy {
            read_tree(p, |rel| rel.ends_with(".rego"), &mut policies)?;
        }
        let mut data_files = Vec::new();
        for d in data {
            read_tree(
                d,
                |rel| [".json", ".yaml", ".yml"].iter().any(|e| rel.ends_with(e)),
                &mut data_files,
            )?;
        }
        let base = match policy.first() {
            Some(p) if p.is_file() => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            Some(p) => p.clone(),
            None => PathBuf::from("."),
        };
        Ok(Self {
            policies,
            data: data_files,
            base,
        })
    }

    pub fn load(&self, namespace: &str) -> Result<PolicySet, PolicyError> {
        let reader = Arc::new(FileReader(self.base.clone()));
        PolicySet::load_parts(&self.policies, &self.data, namespace, reader)
    }
}

/// Serves `parse_config_file` from the policy's directory, bounded in size.
struct FileReader(PathBuf);

impl socle_policy::ConfigReader for FileReader {
    fn read(&self, path: &str) -> Result<String, String> {
        let file = self.0.join(path);
        let len = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        if len > MAX_CONFIG_FILE {
            return Err(format!(
                "{}: {len} bytes, at most {MAX_CONFIG_FILE}",
                file.display()
            ));
        }
        std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
    }
}

/// The documents of every input file, `(file name, document)`; unreadable documents are
/// reported on standard error and counted.
/// The input files: a file as given, a directory's YAML and JSON files below it (hidden ones
/// skipped, in path order), as `conftest test DIR` reads them.
fn input_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let before = out.len();
        for entry in walkdir::WalkDir::new(p)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        {
            let entry = entry.with_context(|| format!("cannot read {}", p.display()))?;
            let is_input = entry.file_type().is_file()
                && entry
                    .path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| matches!(x, "yaml" | "yml" | "json"));
            if is_input {
                out.push(entry.into_path());
            }
        }
        anyhow::ensure!(
            out.len() > before,
            "{}: no YAML or JSON files in this directory",
            p.display()
        );
    }
    Ok(out)
}

fn documents(paths: &[PathBuf]) -> anyhow::Result<(Vec<(String, serde_json::Value)>, usize)> {
    let limits = Limits::default();
    let mut out = Vec::new();
    let mut errors = 0;
    for f in &input_files(paths)? {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        match socle_catalog::yaml::parse_documents(&text, &limits) {
            Ok(docs) => out.extend(docs.iter().map(|d| (name.clone(), d.to_json()))),
            Err(e) => {
                eprintln!("{name}:{}: {}", e.line.unwrap_or(0), e.message);
                errors += 1;
            }
        }
    }
    Ok((out, errors))
}

pub fn eval(set: &PolicySet, files: &[PathBuf], mode: EvalMode) -> anyhow::Result<Outcome> {
    let (docs, mut errors) = documents(files)?;
    let mut results = Vec::new();
    if mode.combine {
        match set.check_combined(&docs) {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("{e}");
                errors += 1;
            }
        }
    } else {
        for (name, doc) in &docs {
            match set.check(doc, name) {
                Ok(r) => results.push(r),
                Err(e) => {
                    eprintln!("{e}");
                    errors += 1;
                }
            }
        }
    }
    let failures: usize = results.iter().map(|r| r.failures.len()).sum();
    let warnings: usize = results.iter().map(|r| r.warnings.len()).sum();
    let failed = failures > 0 || errors > 0 || (mode.fail_on_warn && warnings > 0);
    let text = |s: String| Outcome::new(Format::Table, &(), |_| s);
    use socle_policy::report;
    let outcome = match mode.output {
        PolicyFormat::Json => Outcome::new(Format::Json, &results, |_| String::new()),
        PolicyFormat::Yaml => Outcome::new(Format::Yaml, &results, |_| String::new()),
        PolicyFormat::Stdout => text(stdout(&results)),
        PolicyFormat::Table => text(report::table(&results)),
        PolicyFormat::Tap => text(report::tap(&results)),
        PolicyFormat::Junit => text(report::junit(&results)),
        PolicyFormat::Github => text(report::github(&results)),
        PolicyFormat::Sarif => text(report::sarif(&results, env!("CARGO_PKG_VERSION"))),
    }?;
    Ok(outcome.failed(failed))
}

/// Socle's lines: `FAIL - file - object path: message [rule, checkov ids]`, `WARN …`,
/// `EXCP - file - query`, then the counts.
fn stdout(results: &[CheckResult]) -> String {
    let mut s = String::new();
    for r in results {
        for (level, list) in [("FAIL", &r.failures), ("WARN", &r.warnings)] {
            for m in list {
                s.push_str(&finding_line(level, &r.filename, m));
            }
        }
        for m in &r.exceptions {
            s.push_str(&format!("EXCP - {} - {}\n", r.filename, m.msg));
        }
    }
    let count = |f: fn(&CheckResult) -> usize| results.iter().map(f).sum::<usize>();
    s.push_str(&format!(
        "{} failures, {} warnings",
        count(|r| r.failures.len()),
        count(|r| r.warnings.len())
    ));
    let exceptions = count(|r| r.exceptions.len());
    if exceptions > 0 {
        s.push_str(&format!(", {exceptions} exceptions"));
    }
    s + "\n"
}

fn finding_line(level: &str, file: &str, m: &Message) -> String {
    let meta = |k: &str| m.metadata.get(k).and_then(|v| v.as_str());
    let checkov: Vec<&str> = m
        .metadata
        .get("checkov")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    format!(
        "{level} - {file} - {}{}: {} [{}{}]\n",
        meta("object").unwrap_or("-"),
        meta("path").map(|p| format!(" {p}")).unwrap_or_default(),
        m.msg,
        meta("rule").unwrap_or("-"),
        if checkov.is_empty() {
            String::new()
        } else {
            format!(", {}", checkov.join(" "))
        }
    )
}
