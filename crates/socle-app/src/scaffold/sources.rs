//! Where a template and its skeleton come from: the golden paths built into the binary, the
//! catalog's `Template` entities — read from local files (the skeleton next to the file) or
//! from a Git location (the skeleton read from the same commit's tree with gix, no checkout) —
//! and, for template authors, a directory given on the command line.

use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_catalog::entity::{MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION};
use socle_ingest::Source as _;
use socle_scaffold::builtin::{DirSource, EmbeddedSource, MAX_SKELETON_FILES, Source};
use socle_scaffold::workspace::{MAX_FILE_BYTES, SandboxError, relative};
use socle_scaffold::{Engine, Template};

use crate::App;
use crate::error::{AppError, ErrorCode};

/// Where a listed template's skeleton is read from. Opening it may read a Git tree: that is
/// done only for a run ([`TemplateOrigin::open`]), never for a listing.
pub enum TemplateOrigin {
    /// A golden path embedded in the binary.
    Builtin(EmbeddedSource),
    /// A directory on this machine (a catalog file location, or `socle template run ./dir`).
    Dir(PathBuf),
    /// A `Template` entity read from a Git location: the repository, the branch the location
    /// follows, the template file's directory in the tree, and the registered location whose
    /// last-read commit the skeleton is read at (the template and its skeleton from one commit).
    Git {
        repo: String,
        branch: String,
        dir: String,
        location: String,
    },
}

impl TemplateOrigin {
    /// The skeleton source, for a run (blocking: a Git tree is walked). `revision` is the commit
    /// the template was read at (None: the branch's tip).
    pub fn open(
        &self,
        revision: Option<&str>,
        remotes: &crate::ingest::Remotes,
    ) -> Result<Box<dyn Source>, AppError> {
        Ok(match self {
            Self::Builtin(src) => Box::new(EmbeddedSource { dir: src.dir }),
            Self::Dir(root) => Box::new(DirSource { root: root.clone() }),
            Self::Git {
                repo, branch, dir, ..
            } => {
                let rev = revision.map_or(socle_ingest::Revision::Branch(branch), |c| {
                    socle_ingest::Revision::Commit(c)
                });
                let tree = socle_ingest::GitSource::open_with(repo, rev, remotes.0.as_ref())
                    .map_err(|e| {
                        AppError::new(
                            ErrorCode::Unavailable,
                            format!("the template's repository cannot be read: {e}"),
                        )
                    })?;
                Box::new(GitTreeSource {
                    tree,
                    base: dir.clone(),
                })
            }
        })
    }

    /// The commit a Git template was read at: its registered location's last read (None for
    /// other origins, or when the location is gone).
    pub async fn revision(&self, state: &App) -> Result<Option<String>, AppError> {
        let Self::Git { location, .. } = self else {
            return Ok(None);
        };
        Ok(state
            .store
            .get_location(location)
            .await?
            .and_then(|l| l.revision))
    }
}

/// A template's directory in one commit of a Git repository: the files a skeleton names, read
/// from the tree (symbolic links are not blobs: not copied), bounded like a directory's.
pub struct GitTreeSource {
    tree: socle_ingest::GitSource,
    /// The template file's directory in the tree (`""`: the root).
    base: String,
}

impl Source for GitTreeSource {
    fn files(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, SandboxError> {
        let rel = relative(dir)?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        let full = [self.base.as_str(), rel.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        if self.tree.entry(&full) == socle_ingest::Entry::Missing {
            return Err(SandboxError(format!(
                "{dir:?} not found next to the template in {}",
                self.tree.display(&self.base)
            )));
        }
        let prefix = if full.is_empty() {
            String::new()
        } else {
            format!("{full}/")
        };
        let mut out = Vec::new();
        let all = self.tree.files().map_err(|e| SandboxError(e.to_string()))?;
        for path in all.iter().filter(|p| p.starts_with(&prefix)) {
            if out.len() >= MAX_SKELETON_FILES {
                return Err(SandboxError(format!(
                    "{dir:?} has more than {MAX_SKELETON_FILES} files"
                )));
            }
            let bytes = self
                .tree
                .read(path, usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX))
                .map_err(|e| SandboxError(format!("{}: {e}", self.tree.display(path))))?;
            out.push((path[prefix.len()..].to_owned(), bytes));
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        self.tree.display(&self.base)
    }
}

/// `git:<repo>?ref=<branch>&path=<file>` (a Git location's `managed-by-location`) → (repo,
/// branch, file).
fn parse_git_location(location: &str) -> Option<(String, String, String)> {
    let rest = location.strip_prefix("git:")?;
    let at = rest.rfind("?ref=")?;
    let (repo, tail) = (&rest[..at], &rest[at + "?ref=".len()..]);
    let (branch, path) = tail.split_once("&path=")?;
    Some((repo.to_owned(), branch.to_owned(), path.to_owned()))
}

/// A catalog `Template` entity's origin and the file name its errors give, from its
/// annotations (None: a location kind templates cannot run from).
pub(crate) fn catalog_origin(body: &Value) -> Option<(TemplateOrigin, String)> {
    let annotation = |key: &str| {
        body.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let location = annotation(MANAGED_BY_LOCATION);
    if let Some(file) = location.strip_prefix("file:") {
        let dir = Path::new(file).parent()?.to_path_buf();
        return Some((TemplateOrigin::Dir(dir), file.to_owned()));
    }
    let (repo, branch, path) = parse_git_location(&location)?;
    let dir = socle_ingest::source::parent(&path).to_owned();
    let file = format!("{repo}@{branch}:{path}");
    Some((
        TemplateOrigin::Git {
            repo,
            branch,
            dir,
            location: annotation(MANAGED_BY_ORIGIN_LOCATION),
        },
        file,
    ))
}

/// Most bytes of a `template.yaml` read from a directory.
pub const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// Why a template directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateDirError {
    #[error("{dir}: no template.yaml in this directory")]
    Missing { dir: String },
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {len} bytes, more than {MAX_TEMPLATE_BYTES}")]
    TooLarge { file: String, len: u64 },
    #[error("{file}: not UTF-8 text")]
    NotText { file: String },
}

impl From<TemplateDirError> for AppError {
    fn from(e: TemplateDirError) -> Self {
        AppError::bad_request(e.to_string())
    }
}

/// The `template.yaml` of a template directory (its text and the name errors give it).
pub fn read_template_dir(dir: &Path) -> Result<(String, String), TemplateDirError> {
    let path = dir.join("template.yaml");
    let file = path.display().to_string();
    let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => TemplateDirError::Missing {
            dir: dir.display().to_string(),
        },
        _ => TemplateDirError::Read {
            file: file.clone(),
            source: e,
        },
    })?;
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateDirError::TooLarge {
            file,
            len: meta.len(),
        });
    }
    let bytes = std::fs::read(&path).map_err(|source| TemplateDirError::Read {
        file: file.clone(),
        source,
    })?;
    let text =
        String::from_utf8(bytes).map_err(|_| TemplateDirError::NotText { file: file.clone() })?;
    Ok((text, file))
}

/// The template of a directory, loaded by `engine`, with its origin (the directory).
pub fn dir_template(engine: &Engine, dir: &Path) -> Result<(Template, TemplateOrigin), AppError> {
    let (text, file) = read_template_dir(dir)?;
    let t = engine.load(&text, &file).map_err(|errors| {
        AppError::bad_request(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    Ok((t, TemplateOrigin::Dir(dir.to_path_buf())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_location_names_its_repository_branch_and_file() {
        assert_eq!(
            parse_git_location("git:/srv/t.git?ref=main&path=templates/hello/template.yaml"),
            Some((
                "/srv/t.git".into(),
                "main".into(),
                "templates/hello/template.yaml".into()
            ))
        );
        assert_eq!(
            parse_git_location("git:file:///r?x.git?ref=dev&path=t.yaml"),
            Some(("file:///r?x.git".into(), "dev".into(), "t.yaml".into()))
        );
        assert_eq!(parse_git_location("file:/srv/t.yaml"), None);
        assert_eq!(parse_git_location("git:/srv/t.git"), None);
    }
}
