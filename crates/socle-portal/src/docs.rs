//! TechDocs: an entity's Markdown docs, read from where the entity came from.
//!
//! The entity's `backstage.io/techdocs-ref: dir:<path>` names a directory relative to its
//! catalog file; its `docs/` folder holds the pages. The file is found through the entity's
//! `backstage.io/managed-by-location`, which must belong to a registered location: a directory
//! on disk (the docs folder must stay inside the location's directory, links included) or a Git
//! repository (read at the registered branch's head with gix). Pages are bounded in size.

use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_ingest::{FsSource, GitSource, LocationKind, LocationSpec, Source};

/// Largest Markdown page or image served.
pub const MAX_FILE: usize = 2 * 1024 * 1024;

/// An entity's docs folder.
pub struct Docs {
    source: Box<dyn Source + Send>,
    /// The docs folder inside the source (`""` or `sub/dir/docs/`).
    prefix: String,
    /// Where the docs come from, for the page footer: a path inside the location (never a
    /// path of the server's file system).
    pub origin: String,
}

/// Why docs cannot be shown (all of these are the user's to fix, none are internal).
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("this entity has no `backstage.io/techdocs-ref` annotation (e.g. `dir:.`)")]
    NoAnnotation,
    #[error("`backstage.io/techdocs-ref: {0}` is not supported: only `dir:<path>` is read")]
    Unsupported(String),
    #[error("the entity's location {0} is not a registered location Socle can read")]
    Location(String),
    #[error("{0}")]
    Read(String),
}

fn annotation<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Finds the docs of an entity (its JSON body), given the registered locations.
pub fn locate(
    body: &Value,
    locations: &[LocationSpec],
    remotes: &dyn socle_ingest::RemoteRepos,
) -> Result<Docs, DocsError> {
    let techdocs = annotation(body, "backstage.io/techdocs-ref").ok_or(DocsError::NoAnnotation)?;
    let dir = techdocs
        .strip_prefix("dir:")
        .ok_or_else(|| DocsError::Unsupported(techdocs.to_owned()))?
        .trim();
    let location = annotation(body, "backstage.io/managed-by-location").unwrap_or_default();
    if let Some(file) = location.strip_prefix("file:") {
        let file = Path::new(file);
        // The registered directory that holds the file: the sandbox.
        let root = locations
            .iter()
            .filter(|l| l.kind == LocationKind::File)
            .filter_map(|l| {
                let p = PathBuf::from(&l.target);
                let dir = if p.is_dir() {
                    p
                } else {
                    p.parent()?.to_path_buf()
                };
                dir.canonicalize().ok()
            })
            .filter(|root| file.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .ok_or_else(|| DocsError::Location(location.to_owned()))?;
        let rel_file = file
            .strip_prefix(&root)
            .map_err(|_| DocsError::Location(location.to_owned()))?
            .to_string_lossy()
            .replace('\\', "/");
        let rel_dir =
            socle_ingest::source::join_relative(socle_ingest::source::parent(&rel_file), dir)
                .map_err(|e| DocsError::Read(e.to_string()))?;
        let docs_rel = if rel_dir.is_empty() {
            "docs".to_owned()
        } else {
            format!("{rel_dir}/docs")
        };
        let docs_abs = root.join(&docs_rel);
        // Messages name the folder inside the location, never a path of the server.
        let real = docs_abs.canonicalize().map_err(|_| {
            DocsError::Read(format!(
                "there is no {docs_rel}/ folder in the entity's location"
            ))
        })?;
        if !real.starts_with(&root) {
            return Err(DocsError::Read(format!(
                "{docs_rel} leaves the location's directory"
            )));
        }
        let source = FsSource::new(&real).map_err(|e| DocsError::Read(e.to_string()))?;
        return Ok(Docs {
            source: Box::new(source),
            prefix: String::new(),
            origin: docs_rel,
        });
    }
    if let Some(rest) = location.strip_prefix("git:") {
        let (repo, query) = rest
            .rsplit_once("?ref=")
            .ok_or_else(|| DocsError::Location(location.to_owned()))?;
        let (branch, path) = query
            .split_once("&path=")
            .ok_or_else(|| DocsError::Location(location.to_owned()))?;
        if !locations
            .iter()
            .any(|l| l.kind == LocationKind::Git && l.target == repo)
        {
            return Err(DocsError::Location(location.to_owned()));
        }
        // An https:// repository from the mirror the catalog's last read left: no fetch per page.
        let source = GitSource::open_cached(repo, branch, remotes)
            .map_err(|e| DocsError::Read(e.to_string()))?;
        let rel_dir = socle_ingest::source::join_relative(socle_ingest::source::parent(path), dir)
            .map_err(|e| DocsError::Read(e.to_string()))?;
        let prefix = if rel_dir.is_empty() {
            "docs/".to_owned()
        } else {
            format!("{rel_dir}/docs/")
        };
        return Ok(Docs {
            origin: format!(
                "{}@{branch}:{prefix}",
                repo.trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(repo)
            ),
            source: Box::new(source),
            prefix,
        });
    }
    Err(DocsError::Location(location.to_owned()))
}

impl Docs {
    /// The Markdown pages, relative to the docs folder, sorted (`index.md` first).
    pub fn pages(&self) -> Result<Vec<String>, DocsError> {
        let mut out: Vec<String> = self
            .source
            .files()
            .map_err(|e| DocsError::Read(e.to_string()))?
            .into_iter()
            .filter_map(|f| f.strip_prefix(&self.prefix).map(str::to_owned))
            .filter(|f| f.ends_with(".md"))
            .take(1000)
            .collect();
        out.sort_by_key(|f| (f != "index.md" && f != "README.md", f.clone()));
        Ok(out)
    }

    /// A file of the docs folder (`rel` has been checked by [`clean`]).
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, DocsError> {
        let rel =
            clean(rel).ok_or_else(|| DocsError::Read(format!("{rel}: not a path inside docs/")))?;
        self.source
            .read(&format!("{}{rel}", self.prefix), MAX_FILE)
            .map_err(|e| {
                tracing::debug!("docs: {e}");
                DocsError::Read(format!(
                    "there is no page {rel} in the docs folder (or it is larger than {} MB)",
                    MAX_FILE / (1024 * 1024)
                ))
            })
    }
}

/// A relative path inside the docs folder: no `..`, no absolute path, no backslash.
pub fn clean(rel: &str) -> Option<String> {
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Resolves a relative link found in page `current` (both relative to the docs folder):
/// `../b.md#x` from `guide/a.md` → `b.md#x`. None when it climbs out.
pub fn resolve_link(current: &str, link: &str) -> Option<String> {
    if link.starts_with('/') {
        return None;
    }
    let (path, frag) = match link.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (link, None),
    };
    let base = socle_ingest::source::parent(current);
    let joined = socle_ingest::source::join_relative(base, path).ok()?;
    let mut out = clean(&joined)?;
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}

/// The content type of a docs asset (images only; anything else is not served).
pub fn asset_type(rel: &str) -> Option<&'static str> {
    let ext = rel.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_inside_the_docs_folder() {
        assert_eq!(
            resolve_link("guide/a.md", "../b.md#x").as_deref(),
            Some("b.md#x")
        );
        assert_eq!(
            resolve_link("a.md", "img/arch.png").as_deref(),
            Some("img/arch.png")
        );
        assert_eq!(resolve_link("a.md", "../../etc/passwd"), None);
        assert_eq!(resolve_link("a.md", "/etc/passwd"), None);
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("a/./b.md").as_deref(), Some("a/b.md"));
        assert_eq!(asset_type("x.PNG"), Some("image/png"));
        assert_eq!(asset_type("x.html"), None);
    }
}
