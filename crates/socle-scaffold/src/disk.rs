//! The edge: a run's workspace and a template's skeleton on disk. The engine and its actions see
//! only the [`Workspace`] and [`Source`] traits; this module is the one place of the crate that
//! touches the file system.

use std::path::{Path, PathBuf};

use crate::builtin::{MAX_SKELETON_FILES, Source};
use crate::workspace::{EntryKind, SandboxError, Workspace, WorkspaceError, WsEntry, relative};

/// `root/rel`, refusing to go through a symbolic link on the way.
pub fn join(root: &Path, rel: &str) -> Result<PathBuf, SandboxError> {
    join_checked(root, rel, true)
}

/// `root/rel`; with `last`, the last part may not be a symbolic link either.
fn join_checked(root: &Path, rel: &str, last: bool) -> Result<PathBuf, SandboxError> {
    let rel = relative(rel)?;
    let mut cur = root.to_path_buf();
    let n = rel.components().count();
    for (i, c) in rel.components().enumerate() {
        cur.push(c);
        if (last || i + 1 < n)
            && let Ok(m) = std::fs::symlink_metadata(&cur)
            && m.file_type().is_symlink()
        {
            return Err(SandboxError(format!(
                "{} is a symbolic link: not followed",
                rel.display()
            )));
        }
    }
    Ok(cur)
}

/// A workspace in a directory (an existing, empty one; the caller removes it).
#[derive(Debug, Clone)]
pub struct DiskWorkspace {
    root: PathBuf,
}

impl DiskWorkspace {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Workspace for DiskWorkspace {
    fn read(&self, rel: &str) -> Result<Vec<u8>, WorkspaceError> {
        let path = join(&self.root, rel)?;
        std::fs::read(&path).map_err(|source| WorkspaceError::Read {
            rel: rel.to_owned(),
            source,
        })
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), WorkspaceError> {
        let path = join(&self.root, rel)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| WorkspaceError::CreateDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| WorkspaceError::Write {
            rel: rel.to_owned(),
            source,
        })
    }

    fn exists(&self, rel: &str) -> Result<bool, WorkspaceError> {
        Ok(join(&self.root, rel)?.exists())
    }

    fn list(&self, dir: &str) -> Result<Vec<WsEntry>, WorkspaceError> {
        let base = join(&self.root, dir)?;
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
        {
            let e = e.map_err(std::io::Error::from)?;
            let ft = e.file_type();
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            let path = e.path().strip_prefix(&base).unwrap_or(e.path());
            out.push(WsEntry {
                path: path.to_string_lossy().replace('\\', "/"),
                kind,
            });
        }
        Ok(out)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), WorkspaceError> {
        let src = join(&self.root, from)?;
        let dst = join(&self.root, to)?;
        if let Some(p) = dst.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::rename(&src, &dst).map_err(|source| WorkspaceError::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
            source,
        })
    }

    fn remove(&self, rel: &str) -> Result<(), WorkspaceError> {
        // A symbolic link itself may be removed (not what it points at).
        let path = join_checked(&self.root, rel, false)?;
        if std::fs::symlink_metadata(&path)?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        Ok(())
    }
}

/// A template directory on disk. Symbolic links in it are refused, not followed.
pub struct DirSource {
    pub root: PathBuf,
}

impl Source for DirSource {
    fn files(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, SandboxError> {
        let rel = relative(dir)?;
        let base = self.root.join(&rel);
        let meta = std::fs::symlink_metadata(&base)
            .map_err(|e| SandboxError(format!("{dir:?} not found next to the template: {e}")))?;
        if meta.file_type().is_symlink() {
            return Err(SandboxError(format!(
                "{dir:?} is a symbolic link: not followed"
            )));
        }
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&base)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| SandboxError(format!("cannot read {dir:?}: {e}")))?;
            let ft = entry.file_type();
            let path = entry.path().strip_prefix(&base).unwrap_or(entry.path());
            if ft.is_symlink() {
                return Err(SandboxError(format!(
                    "skeleton file {} is a symbolic link: refused (a link could point outside the template)",
                    Path::new(dir).join(path).display()
                )));
            }
            if ft.is_file() {
                if out.len() >= MAX_SKELETON_FILES {
                    return Err(SandboxError(format!(
                        "{dir:?} has more than {MAX_SKELETON_FILES} files"
                    )));
                }
                let bytes = std::fs::read(entry.path()).map_err(|e| {
                    SandboxError(format!("cannot read {}: {e}", entry.path().display()))
                })?;
                out.push((path.to_string_lossy().replace('\\', "/"), bytes));
            }
        }
        Ok(out)
    }
    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}
