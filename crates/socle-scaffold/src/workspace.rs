//! The run's workspace: every path an action names is relative to it and stays inside it.
//!
//! The engine and its actions reach the workspace only through the [`Workspace`] trait:
//! [`MemWorkspace`] keeps it in memory (tests, previews), `crate::disk::DiskWorkspace` puts it
//! in a directory (the API and the CLI).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

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

/// Counts what a run writes and stops it at the limits.
#[derive(Debug, Default)]
pub struct Budget {
    files: usize,
    bytes: u64,
}

impl Budget {
    /// Counts one file of `len` bytes written at `rel` (relative to the workspace).
    pub fn charge(&mut self, rel: &str, len: u64) -> Result<(), SandboxError> {
        if len > MAX_FILE_BYTES {
            return Err(SandboxError(format!(
                "{rel}: {len} bytes, more than {MAX_FILE_BYTES} per file"
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

/// What a workspace operation could not do.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {rel}: {source}")]
    Write { rel: String, source: std::io::Error },
    #[error("cannot read {rel}: {source}")]
    Read { rel: String, source: std::io::Error },
    #[error("cannot rename {from} to {to}: {source}")]
    Rename {
        from: String,
        to: String,
        source: std::io::Error,
    },
    /// A symbolic link met while collecting files to publish.
    #[error("{path} is a symbolic link: not published")]
    SymlinkNotPublished { path: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// Only on disk; never followed.
    Symlink,
}

/// One entry of [`Workspace::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsEntry {
    /// Relative to the directory listed, `/`-separated.
    pub path: String,
    pub kind: EntryKind,
}

/// The files a run writes. Every `rel` is relative to the workspace and checked with
/// [`relative`]; implementations refuse to go through symbolic links.
pub trait Workspace: Send + Sync {
    fn read(&self, rel: &str) -> Result<Vec<u8>, WorkspaceError>;
    /// Writes a file, creating the directories above it.
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), WorkspaceError>;
    fn exists(&self, rel: &str) -> Result<bool, WorkspaceError>;
    /// Everything below `dir` (`.`: the whole workspace), depth first, names sorted, a
    /// directory before what it holds; `dir` itself is not listed.
    fn list(&self, dir: &str) -> Result<Vec<WsEntry>, WorkspaceError>;
    /// Moves a file or directory, creating the directories above `to`.
    fn rename(&self, from: &str, to: &str) -> Result<(), WorkspaceError>;
    /// Removes a file, or a directory and everything in it.
    fn remove(&self, rel: &str) -> Result<(), WorkspaceError>;
}

/// The order of a depth-first walk that yields what a directory holds before the directory
/// itself (names sorted): deleting in this order never deletes a directory before its entries.
pub fn contents_first(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.split('/'), b.split('/'));
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) => match p.cmp(q) {
                Ordering::Equal => {}
                other => return other,
            },
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        }
    }
}

/// The order of [`Workspace::list`]: a directory before what it holds, names sorted.
fn dirs_first(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// `rel` as a key: `/`-separated, no `.` parts (empty: the workspace itself).
fn key(rel: &str) -> Result<String, SandboxError> {
    Ok(relative(rel)?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

fn not_found(rel: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{rel}: no such file or directory"),
    )
}

fn under<'k>(path: &'k str, dir: &str) -> Option<&'k str> {
    if dir.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(dir)?.strip_prefix('/')
    }
}

#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
}

impl Tree {
    fn mkdirs(&mut self, rel: &str) -> Result<(), WorkspaceError> {
        let mut cur = String::new();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(part);
            if self.files.contains_key(&cur) {
                return Err(WorkspaceError::CreateDir {
                    path: cur.clone(),
                    source: std::io::Error::other("a file is in the way"),
                });
            }
            self.dirs.insert(cur.clone());
        }
        Ok(())
    }
}

/// A workspace in memory: what a unit test or a preview needs, no disk.
#[derive(Debug, Default)]
pub struct MemWorkspace {
    tree: Mutex<Tree>,
}

impl MemWorkspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every file, path → content.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.lock().files.clone()
    }

    /// A file as text (None: missing or not UTF-8).
    pub fn text(&self, rel: &str) -> Option<String> {
        let k = key(rel).ok()?;
        String::from_utf8(self.lock().files.get(&k)?.clone()).ok()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Workspace for MemWorkspace {
    fn read(&self, rel: &str) -> Result<Vec<u8>, WorkspaceError> {
        let k = key(rel)?;
        self.lock()
            .files
            .get(&k)
            .cloned()
            .ok_or_else(|| WorkspaceError::Read {
                rel: rel.to_owned(),
                source: not_found(rel),
            })
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), WorkspaceError> {
        let k = key(rel)?;
        let mut t = self.lock();
        if k.is_empty() || t.dirs.contains(&k) {
            return Err(WorkspaceError::Write {
                rel: rel.to_owned(),
                source: std::io::Error::other("is a directory"),
            });
        }
        if let Some((parent, _)) = k.rsplit_once('/') {
            t.mkdirs(parent)?;
        }
        t.files.insert(k, bytes.to_vec());
        Ok(())
    }

    fn exists(&self, rel: &str) -> Result<bool, WorkspaceError> {
        let k = key(rel)?;
        let t = self.lock();
        Ok(k.is_empty() || t.files.contains_key(&k) || t.dirs.contains(&k))
    }

    fn list(&self, dir: &str) -> Result<Vec<WsEntry>, WorkspaceError> {
        let d = key(dir)?;
        let t = self.lock();
        if !d.is_empty() && !t.dirs.contains(&d) {
            return Err(WorkspaceError::Io(not_found(dir)));
        }
        let files = t.files.keys().map(|k| (k, EntryKind::File));
        let dirs = t.dirs.iter().map(|k| (k, EntryKind::Dir));
        let mut out: Vec<WsEntry> = files
            .chain(dirs)
            .filter_map(|(k, kind)| {
                let path = under(k, &d)?.to_owned();
                Some(WsEntry { path, kind })
            })
            .collect();
        out.sort_by(|a, b| dirs_first(&a.path, &b.path));
        Ok(out)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), WorkspaceError> {
        let (f, dst) = (key(from)?, key(to)?);
        let mut t = self.lock();
        let failed = |source| WorkspaceError::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
            source,
        };
        if f.is_empty() || dst.is_empty() || under(&dst, &f).is_some() {
            return Err(failed(std::io::Error::other(
                "cannot move a directory into itself",
            )));
        }
        if let Some((parent, _)) = dst.rsplit_once('/') {
            t.mkdirs(parent)?;
        }
        if let Some(bytes) = t.files.remove(&f) {
            if t.dirs.contains(&dst) {
                t.files.insert(f, bytes);
                return Err(failed(std::io::Error::other("a directory is in the way")));
            }
            t.files.insert(dst, bytes);
            return Ok(());
        }
        if !t.dirs.contains(&f) {
            return Err(failed(not_found(from)));
        }
        let moved = |k: &String| under(k, &f).map(|rest| format!("{dst}/{rest}"));
        let files: Vec<_> = t
            .files
            .keys()
            .filter_map(|k| Some((k.clone(), moved(k)?)))
            .collect();
        for (old, new) in files {
            let bytes = t.files.remove(&old).unwrap_or_default();
            t.files.insert(new, bytes);
        }
        let dirs: Vec<_> = t
            .dirs
            .iter()
            .filter_map(|k| Some((k.clone(), moved(k)?)))
            .collect();
        for (old, new) in dirs {
            t.dirs.remove(&old);
            t.dirs.insert(new);
        }
        t.dirs.remove(&f);
        t.dirs.insert(dst);
        Ok(())
    }

    fn remove(&self, rel: &str) -> Result<(), WorkspaceError> {
        let k = key(rel)?;
        let mut t = self.lock();
        if t.files.remove(&k).is_some() {
            return Ok(());
        }
        if k.is_empty() || !t.dirs.remove(&k) {
            return Err(WorkspaceError::Io(not_found(rel)));
        }
        t.files.retain(|p, _| under(p, &k).is_none());
        t.dirs.retain(|p| under(p, &k).is_none());
        Ok(())
    }
}

/// Every file below `dir`, path below `dir` → content, as Git will hold them: a symbolic link
/// is an error, not followed.
pub fn files_under(
    ws: &dyn Workspace,
    dir: &str,
) -> Result<BTreeMap<String, Vec<u8>>, WorkspaceError> {
    let base = key(dir)?;
    let mut out = BTreeMap::new();
    for e in ws.list(dir)? {
        match e.kind {
            EntryKind::Symlink => {
                let path = if base.is_empty() {
                    e.path
                } else {
                    format!("{base}/{}", e.path)
                };
                return Err(WorkspaceError::SymlinkNotPublished { path });
            }
            EntryKind::File => {
                let full = if base.is_empty() {
                    e.path.clone()
                } else {
                    format!("{base}/{}", e.path)
                };
                out.insert(e.path, ws.read(&full)?);
            }
            EntryKind::Dir => {}
        }
    }
    Ok(out)
}

/// A file as text, or None when it cannot be read or is not UTF-8; only a path that leaves the
/// workspace is an error.
pub fn read_text(ws: &dyn Workspace, rel: &str) -> Result<Option<String>, SandboxError> {
    match ws.read(rel) {
        Err(WorkspaceError::Sandbox(e)) => Err(e),
        r => Ok(r.ok().and_then(|b| String::from_utf8(b).ok())),
    }
}
