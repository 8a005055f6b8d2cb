//! Repository facts: which files an entity's repository holds, read with gix from the Git
//! location its catalog entry came from (`backstage.io/managed-by-location: git:REPO?ref=B&path=P`)
//! at the tip the catalog read, or from the directory of a file location. Only registered
//! locations are read; files and patterns are bounded.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use socle_ingest::{FsSource, GitSource, LocationKind, LocationSpec, RemoteRepos, Source};
use socle_scorecard::ContentProbe;

/// Most files listed from one repository, and the largest file a pattern is matched against.
pub const MAX_FILES: usize = 100_000;
pub const MAX_PROBE_BYTES: usize = 256 * 1024;
/// Most content probes evaluated per repository.
pub const MAX_PROBES: usize = 32;

/// Where an entity's repository is: a registered Git location (repository, branch) with the
/// folder of its catalog file, or a registered directory.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoRef {
    Git { repo: String, branch: String },
    Dir(std::path::PathBuf),
}

/// The repository of an entity from its `managed-by-location`, when that is a registered
/// location.
pub fn repo_of(location: &str, registered: &[LocationSpec]) -> Option<RepoRef> {
    if let Some(rest) = location.strip_prefix("git:") {
        let (repo, query) = rest.rsplit_once("?ref=")?;
        let (branch, _path) = query.split_once("&path=")?;
        return registered
            .iter()
            .any(|l| l.kind == LocationKind::Git && l.target == repo)
            .then(|| RepoRef::Git {
                repo: repo.to_owned(),
                branch: branch.to_owned(),
            });
    }
    let file = std::path::PathBuf::from(location.strip_prefix("file:")?);
    let dir = file.parent()?.canonicalize().ok()?;
    registered
        .iter()
        .filter(|l| l.kind == LocationKind::File)
        .filter_map(|l| {
            let p = std::path::PathBuf::from(&l.target);
            let root = if p.is_dir() {
                p
            } else {
                p.parent()?.to_path_buf()
            };
            root.canonicalize().ok()
        })
        .any(|root| dir.starts_with(&root))
        .then_some(RepoRef::Dir(dir))
}

fn is_readme(f: &str) -> bool {
    let lower = f.to_ascii_lowercase();
    lower == "readme" || lower.starts_with("readme.")
}

/// The facts of one repository: what is present, the CI workflows, the probes' answers.
pub fn read(repo: &RepoRef, probes: &[ContentProbe], remotes: &dyn RemoteRepos) -> Value {
    let source: Box<dyn Source> = match repo {
        RepoRef::Git { repo, branch } => match GitSource::open_cached(repo, branch, remotes) {
            Ok(s) => Box::new(s),
            Err(e) => return json!({"read": false, "error": e.to_string()}),
        },
        RepoRef::Dir(dir) => match FsSource::new(dir) {
            Ok(s) => Box::new(s),
            Err(e) => return json!({"read": false, "error": e.to_string()}),
        },
    };
    let files = match source.files() {
        Ok(f) => f,
        Err(e) => return json!({"read": false, "error": e.to_string()}),
    };
    let files: Vec<String> = files.into_iter().take(MAX_FILES).collect();
    let has = |pred: &dyn Fn(&str) -> bool| files.iter().any(|f| pred(f));
    let workflows: Vec<&str> = files
        .iter()
        .filter_map(|f| f.strip_prefix(".github/workflows/"))
        .filter(|f| !f.contains('/') && (f.ends_with(".yml") || f.ends_with(".yaml")))
        .collect();
    let mut matches = BTreeMap::new();
    for p in probes.iter().take(MAX_PROBES) {
        let key = socle_scorecard::builtin::probe_key(&p.path, &p.pattern);
        let hit = regex_lite_match(&*source, &p.path, &p.pattern);
        matches.insert(key, Value::Bool(hit));
    }
    json!({
        "read": true,
        "present": {
            "readme": has(&|f: &str| !f.contains('/') && is_readme(f)),
            "codeowners": has(&|f: &str| matches!(f, "CODEOWNERS" | ".github/CODEOWNERS" | "docs/CODEOWNERS")),
            "dockerfile": has(&|f: &str| f == "Dockerfile"),
            "renovate": has(&|f: &str| matches!(f, "renovate.json" | "renovate.json5" | ".renovaterc" | ".renovaterc.json" | ".github/renovate.json" | ".github/renovate.json5")),
        },
        "workflows": workflows,
        "files": files.len(),
        "matches": matches,
    })
}

/// Whether the file at `path` exists and a line of it matches `pattern` (Rust regex syntax,
/// size-bounded); false when it cannot be read or the pattern is invalid.
fn regex_lite_match(source: &dyn Source, path: &str, pattern: &str) -> bool {
    let Ok(re) = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .multi_line(true)
        .build()
    else {
        return false;
    };
    let Ok(bytes) = source.read(path, MAX_PROBE_BYTES) else {
        return false;
    };
    re.is_match(&String::from_utf8_lossy(&bytes))
}
