//! The run's workspace: every path an action names is relative to it and stays inside it.

use std::path::{Component, Path, PathBuf};

/// Most files a run may write.
pub const MAX_FILES: usize = 5_000;
/// Largest file a run may write.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// Most bytes a run may write in all.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;

/// A path that would leave its sandbox, or a limit reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SandboxError(pub String);

/// Checks a relative path: no absolute path, no `..`, no empty name; `.` parts are dropped.
pub fn relative(p: &str) -> Result<PathBuf, SandboxError> {
    let path = Path::new(p);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(SandboxError(format!("{p:?} leaves the workspace (`..`)")));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(SandboxError(format!(
                    "{p:?} is absolute: paths are relative to the workspace"
                )));
            }
        }
    }
    Ok(out)
}

/// `root/rel`, refusing to go through a symbolic link on the way.
pub fn join(root: &Path, rel: &str) -> Result<PathBuf, SandboxError> {
    let rel = relative(rel)?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        if let Ok(m) = std::fs::symlink_metadata(&cur)
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

/// Counts what a run writes and stops it at the limits.
#[derive(Debug, Default)]
pub struct Budget {
    files: usize,
    bytes: u64,
}

impl Budget {
    pub fn charge(&mut self, path: &Path, len: u64) -> Result<(), SandboxError> {
        if len > MAX_FILE_BYTES {
            return Err(SandboxError(format!(
                "{}: {len} bytes, more than {MAX_FILE_BYTES} per file",
                path.display()
            )));
        }
        self.files += 1;
        self.bytes += len;
        if self.files > MAX_FILES {
            return Err(SandboxError(format!("more than {MAX_FILES} files written")));
        }
        if self.bytes > MAX_TOTAL_BYTES {
            return Err(SandboxError(format!(
                "more than {MAX_TOTAL_BYTES} bytes written"
            )));
        }
        Ok(())
    }
}
