//! Reading catalog locations: a file, a directory (recursive discovery of `catalog-info.yaml`),
//! a glob, or a Git repository at a branch — following `Location` entities to more files.
//!
//! The result is a plain value ([`LocationRead`]): what was found, what failed, and which files
//! could not be read (so that the store keeps their previous entities). Writing is the store's job.

pub mod definitions;
pub mod pipelines;
pub mod source;
pub mod targets;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use socle_catalog::{
    DocContext, Entity, EntityError, Limits, PlaceholderReadError, PlaceholderReader,
};

pub use source::{
    CommitInfo, Entry, FsSource, GitSource, NoRemotes, RemoteRepos, Revision, Source, SourceError,
    commit_history, commit_history_at,
};

/// A registered location: where to read catalog files from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationSpec {
    /// `file` (a file, a directory or a glob on disk) or `git` (a repository at a branch).
    #[serde(rename = "type")]
    pub kind: LocationKind,
    /// For `file`: a path, directory or glob. For `git`: a repository path, a `file://` URL or
    /// an `https://` URL (read through a local mirror the server keeps).
    pub target: String,
    /// For `git`: the branch (default: the repository's HEAD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// For `git`: a file, directory or glob inside the repository (default: the whole tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationKind {
    File,
    Git,
}

impl LocationSpec {
    pub fn file(target: impl Into<String>) -> Self {
        Self {
            kind: LocationKind::File,
            target: target.into(),
            branch: None,
            path: None,
        }
    }

    /// A stable key naming the location (`file:/abs/path` or `git:repo?ref=main&path=x`).
    pub fn key(&self) -> String {
        match self.kind {
            LocationKind::File => format!("file:{}", self.target),
            LocationKind::Git => {
                let mut k = format!("git:{}", self.target);
                let mut sep = '?';
                if let Some(b) = &self.branch {
                    k.push_str(&format!("{sep}ref={b}"));
                    sep = '&';
                }
                if let Some(p) = &self.path {
                    k.push_str(&format!("{sep}path={p}"));
                }
                k
            }
        }
    }
}

/// What reading a location produced.
#[derive(Debug, Default)]
pub struct LocationRead {
    /// Valid entities, in discovery order.
    pub entities: Vec<Entity>,
    /// Everything rejected, with file, line, path and rule.
    pub errors: Vec<EntityError>,
    /// `managed-by-location` keys of files that could not be read or parsed: their previous
    /// entities must be kept.
    pub files_failed: BTreeSet<String>,
    /// The location as a whole could not be read (missing root, unreadable repository): nothing
    /// it previously provided may be removed.
    pub unreadable: bool,
    /// For Git locations: the commit that was read.
    pub commit: Option<String>,
}

/// Progress of a long read: `Discovered(n)` more files to read, `Read(n)` more files done.
#[derive(Clone, Copy, Debug)]
pub enum ProgressEvent {
    Discovered(u64),
    Read(u64),
}

/// A progress callback, called from reader threads.
pub type Progress = std::sync::Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// Reads a location and everything its `Location` entities point at.
pub fn read_location(spec: &LocationSpec, limits: &Limits) -> LocationRead {
    read_location_with_progress(spec, limits, None)
}

/// [`read_location`], reporting progress.
pub fn read_location_with_progress(
    spec: &LocationSpec,
    limits: &Limits,
    progress: Option<&Progress>,
) -> LocationRead {
    read_location_with(spec, limits, progress, &NoRemotes)
}

/// [`read_location`], reporting progress, with `https://` Git locations read through `remotes`.
pub fn read_location_with(
    spec: &LocationSpec,
    limits: &Limits,
    progress: Option<&Progress>,
    remotes: &dyn RemoteRepos,
) -> LocationRead {
    let origin = spec.key();
    match spec.kind {
        LocationKind::File => {
            let (root, rel) = file_root(&spec.target);
            match FsSource::new(&root) {
                Ok(src) => read_source(&src, &rel, &origin, limits, progress),
                Err(e) => unreadable(&spec.target, "location.unreadable", e.to_string()),
            }
        }
        LocationKind::Git => match GitSource::open_with(
            &spec.target,
            spec.branch
                .as_deref()
                .map_or(Revision::Head, Revision::Branch),
            remotes,
        ) {
            Ok(src) => {
                let mut read = read_source(
                    &src,
                    spec.path.as_deref().unwrap_or(""),
                    &origin,
                    limits,
                    progress,
                );
                read.commit = Some(src.commit().to_owned());
                read
            }
            Err(e) => unreadable(&spec.target, "location.git", e.to_string()),
        },
    }
}

/// A file location's sandbox and what to read in it: the directory named (everything in
/// it), or the one that holds the file or glob (and that file or glob, relative to it).
fn file_root(target: &str) -> (PathBuf, String) {
    let path = Path::new(target);
    if path.is_dir() {
        return (path.to_path_buf(), String::new());
    }
    let glob_start = target.find(['*', '?', '[', '{']);
    let split_at = match glob_start {
        Some(g) => target[..g].rfind('/').map_or(0, |i| i + 1),
        None => target.rfind('/').map_or(0, |i| i + 1),
    };
    let dir = &target[..split_at];
    let dir = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    (dir.to_path_buf(), target[split_at..].to_owned())
}

fn unreadable(target: &str, rule: &str, message: String) -> LocationRead {
    LocationRead {
        errors: vec![EntityError::file(target, rule, message)],
        unreadable: true,
        ..Default::default()
    }
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

fn is_catalog_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "catalog-info.yaml" || name == "catalog-info.yml" || is_contract_file(rel)
}

/// A data contract (ODCS): read as the catalog entity of its data product.
fn is_contract_file(rel: &str) -> bool {
    rel.ends_with(".odcs.yaml") || rel.ends_with(".odcs.yml")
}

/// The entity of a data contract file, or its problems as catalog errors.
/// `upstream`: the contracts it is derived from, through a pipeline's lineage (`dependsOn`).
fn read_contract(
    text: &str,
    ctx: &DocContext<'_>,
    upstream: &[String],
) -> (Vec<Entity>, Vec<EntityError>) {
    let loaded = socle_data::load(text, &ctx.file, ctx.limits)
        .and_then(|c| socle_data::to_entity(&c).map(|v| (c.position(), v)));
    match loaded {
        Ok(((line, column), mut value)) => {
            add_depends_on(&mut value, upstream);
            let node = socle_catalog::yaml::Node::from_json(&value, line, column);
            match socle_catalog::process_document(&node, ctx) {
                Ok(e) => (vec![e], Vec::new()),
                Err(errors) => (Vec::new(), errors),
            }
        }
        Err(errors) => (
            Vec::new(),
            errors
                .into_iter()
                .map(|e| EntityError {
                    line: e.line,
                    column: e.column,
                    path: e.path,
                    ..EntityError::file(&e.file, &e.rule, e.message)
                })
                .collect(),
        ),
    }
}

fn add_depends_on(entity: &mut serde_json::Value, refs: &[String]) {
    if refs.is_empty() {
        return;
    }
    let Some(spec) = entity.get_mut("spec").and_then(|s| s.as_object_mut()) else {
        return;
    };
    let deps = spec
        .entry("dependsOn")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let Some(list) = deps.as_array_mut() {
        for r in refs {
            if !list.iter().any(|v| v.as_str() == Some(r)) {
                list.push(serde_json::Value::String(r.clone()));
            }
        }
    }
}

/// Expands a target (relative to the source root) into files: a file, a directory (every
/// `catalog-info.yaml` below it), or a glob.
fn expand(src: &dyn Source, rel: &str) -> Result<Vec<String>, SourceError> {
    if is_glob(rel) {
        let glob = globset::GlobBuilder::new(rel)
            .literal_separator(true)
            .build()
            .map_err(|source| SourceError::Glob {
                pattern: rel.to_owned(),
                source,
            })?
            .compile_matcher();
        return Ok(src
            .files()?
            .into_iter()
            .filter(|f| glob.is_match(f))
            .collect());
    }
    match src.entry(rel) {
        Entry::File => Ok(vec![rel.to_owned()]),
        Entry::Dir => {
            let prefix = if rel.is_empty() {
                String::new()
            } else {
                format!("{rel}/")
            };
            Ok(src
                .files()?
                .into_iter()
                .filter(|f| f.starts_with(&prefix) && is_catalog_file(f))
                .collect())
        }
        Entry::Missing => Err(SourceError::Missing(src.display(rel))),
    }
}

struct SourceReader<'a> {
    src: &'a dyn Source,
    dir: &'a str,
    max_bytes: usize,
}

impl PlaceholderReader for SourceReader<'_> {
    fn read(&self, _base: &str, target: &str) -> Result<String, PlaceholderReadError> {
        if target.contains("://") {
            return Err(PlaceholderReadError::RemoteUrl {
                target: target.to_owned(),
            });
        }
        let boxed = |e: SourceError| PlaceholderReadError::Source(Box::new(e));
        let rel = source::join_relative(self.dir, target).map_err(boxed)?;
        let bytes = self.src.read(&rel, self.max_bytes).map_err(boxed)?;
        String::from_utf8(bytes).map_err(|e| PlaceholderReadError::NotUtf8 {
            file: self.src.display(&rel),
            source: e,
        })
    }
}

struct FileResult {
    key: String,
    entities: Vec<Entity>,
    errors: Vec<EntityError>,
    ok: bool,
}

fn read_file(
    src: &dyn Source,
    rel: &str,
    origin: &str,
    limits: &Limits,
    lineage: &pipelines::PipelineLineage,
) -> FileResult {
    let display = src.display(rel);
    let key = src.location_key(rel);
    let fail = |rule: &str, message: String, line: Option<u32>| FileResult {
        key: key.clone(),
        entities: Vec::new(),
        errors: vec![EntityError {
            line,
            ..EntityError::file(&display, rule, message)
        }],
        ok: false,
    };
    let bytes = match src.read(rel, limits.max_file_bytes) {
        Ok(b) => b,
        Err(e @ SourceError::TooLarge { .. }) => {
            return fail("file.too-large", e.to_string(), None);
        }
        Err(e) => return fail("file.unreadable", e.to_string(), None),
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u32
                + 1;
            return fail(
                "file.encoding",
                format!(
                    "file is not valid UTF-8: invalid byte at offset {}",
                    e.valid_up_to()
                ),
                Some(line),
            );
        }
    };
    let reader = SourceReader {
        src,
        dir: source::parent(rel),
        max_bytes: limits.max_file_bytes,
    };
    let ctx = DocContext {
        file: display.as_str().into(),
        location: key.as_str().into(),
        origin,
        reader: &reader,
        limits,
    };
    let (entities, mut errors) = if is_contract_file(rel) {
        read_contract(text, &ctx, lineage.upstream_of(rel))
    } else {
        socle_catalog::process_text(text, &ctx)
    };
    let entities = definitions::check(text, &display, entities, &mut errors, limits);
    let ok = !errors
        .iter()
        .any(|e| e.rule == "yaml.syntax" || e.rule == "yaml.limits");
    FileResult {
        key,
        entities,
        errors,
        ok,
    }
}

fn read_source(
    src: &dyn Source,
    rel: &str,
    origin: &str,
    limits: &Limits,
    progress: Option<&Progress>,
) -> LocationRead {
    let mut out = LocationRead::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut level = match expand(src, rel) {
        Ok(files) => files,
        Err(e) => return unreadable(&src.display(rel), "location.target", e.to_string()),
    };
    let no_lineage = pipelines::PipelineLineage::default();
    let mut lineage: Option<pipelines::PipelineLineage> = None;
    for depth in 0..=limits.max_location_depth {
        level.retain(|f| seen.insert(f.clone()));
        if level.is_empty() {
            break;
        }
        if seen.len() > limits.max_files_per_location {
            out.errors.push(EntityError::file(
                &src.display(rel),
                "location.too-many-files",
                format!(
                    "location expands to more than {} files",
                    limits.max_files_per_location
                ),
            ));
            out.unreadable = true;
            return out;
        }
        if depth == limits.max_location_depth {
            out.errors.push(EntityError::file(
                &src.display(&level[0]),
                "location.too-deep",
                format!(
                    "Location entities are nested more than {} deep",
                    limits.max_location_depth
                ),
            ));
            break;
        }
        if let Some(p) = progress {
            p(ProgressEvent::Discovered(level.len() as u64));
        }
        if lineage.is_none() && level.iter().any(|f| is_contract_file(f)) {
            let files = src.files().unwrap_or_default();
            lineage = Some(pipelines::read(src, &files, limits));
        }
        let lineage_now = lineage.as_ref().unwrap_or(&no_lineage);
        let results: Vec<(String, FileResult)> = level
            .par_iter()
            .map(|f| {
                let r = read_file(src, f, origin, limits, lineage_now);
                if let Some(p) = progress {
                    p(ProgressEvent::Read(1));
                }
                (f.clone(), r)
            })
            .collect();
        let mut next = Vec::new();
        // Sized once: a million entities moved into a vector that doubles would be copied
        // again at each doubling, the old buffer alive during the copy.
        out.entities
            .reserve(results.iter().map(|(_, r)| r.entities.len()).sum());
        for (rel_file, r) in results {
            for e in &r.entities {
                if e.entity_ref.kind() != "location" {
                    continue;
                }
                let spec = e.location_targets();
                for target in spec.targets {
                    match targets::follow(
                        src,
                        &rel_file,
                        spec.kind.as_deref(),
                        &target,
                        spec.presence,
                    ) {
                        Ok(files) => next.extend(files),
                        Err(m) => out.errors.push(EntityError {
                            entity: Some(e.entity_ref.to_string()),
                            path: "spec.target".into(),
                            value: Some(target.clone()),
                            line: Some(e.line),
                            ..EntityError::file(&e.file, "location.target", m.to_string())
                        }),
                    }
                }
            }
            if !r.ok {
                out.files_failed.insert(r.key);
            }
            out.entities.extend(r.entities);
            out.errors.extend(r.errors);
        }
        level = next;
    }
    out
}

/// One entity of a validation report, with its sorted relations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntity {
    #[serde(rename = "ref")]
    pub entity_ref: String,
    pub relations: Vec<ReportRelation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRelation {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

/// The offline answer of `socle catalog validate`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ValidationReport {
    pub entities: Vec<ReportEntity>,
    pub errors: Vec<EntityError>,
    /// Relations whose target does not exist (`source type target`).
    pub dangling: Vec<String>,
}

/// Removes entities that appear more than once across `reads` (first one wins), reporting each
/// duplicate as a `entity.duplicate` error that names both places.
pub fn dedupe(mut entities: Vec<Entity>, errors: &mut Vec<EntityError>) -> Vec<Entity> {
    // In place: a million entities are not copied into a second vector, and the index of
    // first places borrows their refs instead of cloning them (~250 MB less at the peak).
    let mut keep = vec![true; entities.len()];
    {
        let mut first: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(entities.len());
        for (i, e) in entities.iter().enumerate() {
            let Some(&at) = first.get(e.entity_ref.as_str()) else {
                first.insert(e.entity_ref.as_str(), i);
                continue;
            };
            keep[i] = false;
            let (file, line) = (&entities[at].file, entities[at].line);
            errors.push(EntityError {
                line: Some(e.line),
                entity: Some(e.entity_ref.to_string()),
                value: Some(e.entity_ref.to_string()),
                ..EntityError::file(
                    &e.file,
                    "entity.duplicate",
                    format!(
                        "duplicate entity {}: it is already defined at {file}:{line}",
                        e.entity_ref
                    ),
                )
            });
        }
    }
    let mut kept = keep.into_iter();
    entities.retain(|_| kept.next().unwrap_or(true));
    entities
}

/// Reads, validates and relates the given locations without any store.
pub fn validate(specs: &[LocationSpec], limits: &Limits) -> ValidationReport {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for spec in specs {
        let read = read_location(spec, limits);
        all.extend(read.entities);
        errors.extend(read.errors);
    }
    let entities = dedupe(all, &mut errors);
    let view =
        socle_catalog::CatalogView::build(entities.iter().map(|e| (&e.entity_ref, &e.relations)));
    let mut report: Vec<ReportEntity> = entities
        .iter()
        .map(|e| ReportEntity {
            entity_ref: e.entity_ref.to_string(),
            relations: view
                .of(&e.entity_ref)
                .iter()
                .map(|(t, target)| ReportRelation {
                    kind: t.as_str().to_owned(),
                    target: target.to_string(),
                })
                .collect(),
        })
        .collect();
    report.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
    ValidationReport {
        entities: report,
        errors,
        dangling: view
            .dangling
            .iter()
            .map(|r| format!("{} {} {}", r.source, r.kind, r.target))
            .collect(),
    }
}

/// Whether a location may shape the organisation (the store keeps it per location: an admin's
/// registration is trusted, a member's is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Registered by a member: its groups and users are refused.
    Team,
    /// Registered by an admin (or from the server's own configuration).
    Organisation,
}

/// A read made ready for the store: groups and users removed unless the location is trusted
/// ([`enforce_trust`]), repeated refs refused ([`dedupe`]), each with its error.
pub fn admit(read: LocationRead, trust: Trust) -> LocationRead {
    let mut errors = read.errors;
    let entities = enforce_trust(read.entities, trust, &mut errors);
    let entities = dedupe(entities, &mut errors);
    LocationRead {
        entities,
        errors,
        ..read
    }
}

/// The kinds that shape the organisation: who belongs to which team, which team is part of which.
/// Deploy rights follow them, so only trusted locations may provide them.
pub const ORGANISATION_KINDS: &[&str] = &["group", "user"];

/// Whether a location of this trust may provide an entity of this kind: groups and users (the
/// organisation), scorecards and campaigns (the platform's standards, run against every team's
/// entities) come only from a location an admin registered.
pub fn trusted_only(kind: &str) -> bool {
    ORGANISATION_KINDS.contains(&kind) || socle_scorecard::DEFINITION_KINDS.contains(&kind)
}

/// Removes the entities a location of this trust may not provide — groups and users, scorecards
/// and campaigns, from a location a member registered — and reports each as an
/// `organisation.untrusted` (`scorecard.untrusted`) error on the location. The error names no entity on purpose: a previous version (from before the location
/// lost the right) must disappear, not be kept as for an ordinary rejected entity.
pub fn enforce_trust(
    entities: Vec<Entity>,
    trust: Trust,
    errors: &mut Vec<EntityError>,
) -> Vec<Entity> {
    if trust == Trust::Organisation {
        return entities;
    }
    let (refused, kept): (Vec<Entity>, Vec<Entity>) = entities
        .into_iter()
        .partition(|e| trusted_only(e.entity_ref.kind()));
    for e in refused {
        let r = e.entity_ref.to_string();
        let (rule, message) = if ORGANISATION_KINDS.contains(&e.entity_ref.kind()) {
            (
                "organisation.untrusted",
                format!(
                    "{r}: groups and users (teams, hierarchy, membership) decide who may deploy what, \
                     so only a location registered by an admin may define them; this location was \
                     registered by a member. Ask the platform team to add it to the organisation's catalog"
                ),
            )
        } else {
            (
                "scorecard.untrusted",
                format!(
                    "{r}: scorecards and campaigns are the platform's standards, run against every \
                     team's entities, so only a location registered by an admin may define them; \
                     this location was registered by a member. Ask the platform team to add it to \
                     the organisation's catalog"
                ),
            )
        };
        errors.push(EntityError {
            line: Some(e.line),
            path: "kind".into(),
            value: Some(r.clone()),
            ..EntityError::file(&e.file, rule, message)
        });
    }
    kept
}
