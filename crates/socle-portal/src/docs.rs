//! TechDocs: an entity's Markdown docs, read from where the entity came from.
//!
//! The entity's `backstage.io/techdocs-ref: dir:<path>` names a directory relative to its
//! catalog file; its `docs/` folder holds the pages, read through the entity's origin
//! (`socle_app::origin`: a registered directory on disk — nothing read leaves it, links included
//! — or a Git repository at the registered branch). Pages are bounded in size.

use serde_json::Value;
use socle_app::origin::{EntityOrigin, OriginError, OriginTree, annotation};
use socle_ingest::LocationSpec;

/// Largest Markdown page or image served.
pub const MAX_FILE: usize = 2 * 1024 * 1024;

/// An entity's docs folder.
pub struct Docs {
    tree: OriginTree,
    /// Where the docs come from, for the page footer: a path inside the location (never a path
    /// of the server's file system).
    pub origin: String,
}

/// Why docs cannot be shown (all of these are the user's to fix, none are internal).
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("this entity has no `backstage.io/techdocs-ref` annotation (e.g. `dir:.`)")]
    NoAnnotation,
    #[error("`backstage.io/techdocs-ref: {0}` is not supported: only `dir:<path>` is read")]
    Unsupported(String),
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("{0}")]
    Read(String),
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
    let docs_dir = if dir.is_empty() || dir == "." {
        "docs".to_owned()
    } else {
        format!("{}/docs", dir.trim_end_matches('/'))
    };
    let tree = EntityOrigin::locate(body, locations, remotes)?.tree(&docs_dir)?;
    Ok(Docs {
        origin: tree.label.clone(),
        tree,
    })
}

impl Docs {
    /// The Markdown pages, relative to the docs folder, sorted (`index.md` first).
    pub fn pages(&self) -> Result<Vec<String>, DocsError> {
        let mut out: Vec<String> = self
            .tree
            .files(usize::MAX)?
            .into_iter()
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
        self.tree.read(&rel, MAX_FILE).map_err(|e| {
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
