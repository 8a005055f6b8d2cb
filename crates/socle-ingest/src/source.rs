//! Sources: a sandboxed view of files, either a directory on disk or a tree in a Git commit.
//! Paths are always relative to the source's root and can never leave it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// What a relative path names inside a source.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    File,
    Dir,
    Missing,
}

/// Why a source could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "target \"{target}\" is absolute; targets must be relative to the file that names them"
    )]
    Absolute { target: String },
    #[error("target \"{target}\" leaves the location's root directory")]
    TargetLeavesRoot { target: String },
    #[error("path \"{rel}\" leaves the location's root directory")]
    PathLeavesRoot { rel: String },
    #[error("cannot open directory {}: {source}", path.display())]
    OpenDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is a link that leaves the location's root directory {}",
        path.display(),
        root.display()
    )]
    LinkEscapes { path: PathBuf, root: PathBuf },
    #[error("cannot list {}: {source}", root.display())]
    List {
        root: PathBuf,
        source: walkdir::Error,
    },
    #[error("file is {len} bytes, more than the limit of {max} bytes")]
    TooLarge { len: u64, max: usize },
    #[error(
        "cannot read {repo}: {scheme}:// repositories are not fetched here; register a local clone, a file:// URL or an https:// repository through the server or the CLI"
    )]
    Remote { repo: String, scheme: String },
    #[error("cannot read {repo}: only local repositories (a path or file://) are read")]
    NotLocal { repo: String },
    /// A Git repository, reference, commit, tree or blob that could not be read (gix's
    /// message, with what was being read and where).
    #[error("{0}")]
    Git(String),
    /// A file or directory that is not in the source (its display name).
    #[error("{0} does not exist")]
    Missing(String),
    #[error("invalid glob \"{pattern}\": {source}")]
    Glob {
        pattern: String,
        source: globset::Error,
    },
}

/// A read-only, sandboxed file tree.
pub trait Source: Sync {
    /// A human name for a relative path (used in errors and as `Entity::file`).
    fn display(&self, rel: &str) -> String;
    /// The `backstage.io/managed-by-location` value for a file.
    fn location_key(&self, rel: &str) -> String;
    fn entry(&self, rel: &str) -> Entry;
    /// Every file path in the source, relative, `/`-separated, sorted.
    fn files(&self) -> Result<Vec<String>, SourceError>;
    /// Reads a file, refusing files larger than `max_bytes`.
    fn read(&self, rel: &str, max_bytes: usize) -> Result<Vec<u8>, SourceError>;
}

/// Normalises `target` relative to directory `base` (both relative to the root): resolves `.` and
/// `..`, and refuses absolute paths and paths that climb out of the root.
pub fn join_relative(base: &str, target: &str) -> Result<String, SourceError> {
    if target.starts_with('/') || Path::new(target).has_root() {
        return Err(SourceError::Absolute {
            target: target.to_owned(),
        });
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(SourceError::TargetLeavesRoot {
                        target: target.to_owned(),
                    });
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// The directory part of a relative path (`a/b/c.yaml` → `a/b`).
pub fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A directory on disk. Symbolic links that resolve outside the root are refused.
pub struct FsSource {
    root: PathBuf,
}

impl FsSource {
    pub fn new(root: &Path) -> Result<Self, SourceError> {
        let root = root.canonicalize().map_err(|source| SourceError::OpenDir {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Self { root })
    }

    fn path(&self, rel: &str) -> Result<PathBuf, SourceError> {
        let p = self.root.join(rel);
        if Path::new(rel).components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        }) {
            return Err(SourceError::PathLeavesRoot {
                rel: rel.to_owned(),
            });
        }
        Ok(p)
    }

    fn checked(&self, rel: &str) -> Result<PathBuf, SourceError> {
        let p = self.path(rel)?;
        let real = p.canonicalize().map_err(|source| SourceError::Read {
            path: p.clone(),
            source,
        })?;
        if !real.starts_with(&self.root) {
            return Err(SourceError::LinkEscapes {
                path: p,
                root: self.root.clone(),
            });
        }
        Ok(real)
    }
}

impl Source for FsSource {
    fn display(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }
    fn location_key(&self, rel: &str) -> String {
        format!("file:{}", self.root.join(rel).display())
    }
    fn entry(&self, rel: &str) -> Entry {
        match self.checked(rel) {
            Ok(p) if p.is_dir() => Entry::Dir,
            Ok(p) if p.is_file() => Entry::File,
            _ => Entry::Missing,
        }
    }
    fn files(&self) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        for entry in walkdir::WalkDir::new(&self.root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|source| SourceError::List {
                root: self.root.clone(),
                source,
            })?;
            if entry.file_type().is_file()
                && let Ok(rel) = entry.path().strip_prefix(&self.root)
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        Ok(out)
    }
    fn read(&self, rel: &str, max_bytes: usize) -> Result<Vec<u8>, SourceError> {
        let p = self.checked(rel)?;
        let unreadable = |source| SourceError::Read {
            path: p.clone(),
            source,
        };
        let len = std::fs::metadata(&p).map_err(unreadable)?.len();
        if len > max_bytes as u64 {
            return Err(SourceError::TooLarge {
                len,
                max: max_bytes,
            });
        }
        std::fs::read(&p).map_err(unreadable)
    }
}

/// The tree of one commit of a Git repository, read with gix (no `git` process).
pub struct GitSource {
    repo: gix::ThreadSafeRepository,
    name: String,
    branch: String,
    commit: String,
    blobs: BTreeMap<String, gix::ObjectId>,
}

/// Brings a remote Git repository (`https://…`) to a local repository [`GitSource`] can read.
/// The network lives behind this seam (socle-app's mirrors); [`NoRemotes`] refuses every URL.
pub trait RemoteRepos: Send + Sync {
    /// A local repository holding `branch` (None: the remote's HEAD) of `url`, as fresh as the
    /// remote.
    fn local(&self, url: &str, branch: Option<&str>) -> Result<PathBuf, SourceError>;

    /// Whether a member (not only an admin) may register `url`: it is under a Git host the
    /// platform configured.
    fn open_to_members(&self, _url: &str) -> bool {
        false
    }

    /// The local copy of `url` as the last read left it, without reaching the network (pages
    /// that show a repository's files read this; refreshes keep it current).
    fn cached(&self, _url: &str) -> Option<PathBuf> {
        None
    }
}

/// Reads no remote repository: an `https://` location is an error saying so.
pub struct NoRemotes;

impl RemoteRepos for NoRemotes {
    fn local(&self, url: &str, _branch: Option<&str>) -> Result<PathBuf, SourceError> {
        Err(SourceError::Remote {
            repo: url.to_owned(),
            scheme: url.split_once("://").map_or("", |(s, _)| s).to_owned(),
        })
    }
}

/// Which commit of a repository a [`GitSource`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision<'a> {
    /// The repository's HEAD.
    Head,
    /// The tip of a branch.
    Branch(&'a str),
    /// One commit, by its full hexadecimal id (the one a location was last read at).
    Commit(&'a str),
}

impl GitSource {
    /// Opens `repo` (a path or a `file://` URL to a bare or non-bare repository) at `branch`
    /// (`None`: the repository's HEAD).
    pub fn open(repo: &str, branch: Option<&str>) -> Result<Self, SourceError> {
        Self::open_at(repo, branch.map_or(Revision::Head, Revision::Branch))
    }

    /// Opens `repo` at a revision (a local repository only: see [`GitSource::open_with`]).
    pub fn open_at(repo: &str, revision: Revision<'_>) -> Result<Self, SourceError> {
        Self::open_with(repo, revision, &NoRemotes)
    }

    /// Opens `repo` at a revision; an `https://` repository is read from the local copy
    /// `remotes` keeps up to date (its name stays the URL). [`GitSource::open_cached`] reads the
    /// copy without fetching.
    pub fn open_with(
        repo: &str,
        revision: Revision<'_>,
        remotes: &dyn RemoteRepos,
    ) -> Result<Self, SourceError> {
        use SourceError::Git;
        let mirrored;
        let path = match repo.split_once("://") {
            None => repo,
            Some(("file", rest)) => rest,
            Some(("https" | "http", _)) => {
                let branch = match revision {
                    Revision::Branch(b) => Some(b),
                    Revision::Head | Revision::Commit(_) => None,
                };
                mirrored = remotes.local(repo, branch)?;
                mirrored
                    .to_str()
                    .ok_or_else(|| Git(format!("{}: not a UTF-8 path", mirrored.display())))?
            }
            Some((scheme, _)) => {
                return Err(SourceError::Remote {
                    repo: repo.to_owned(),
                    scheme: scheme.to_owned(),
                });
            }
        };
        let r =
            gix::open(path).map_err(|e| Git(format!("cannot open Git repository {repo}: {e}")))?;
        let (branch_name, id) = match revision {
            Revision::Commit(c) => {
                let id = gix::ObjectId::from_hex(c.as_bytes())
                    .map_err(|e| Git(format!("{c:?} is not a commit id: {e}")))?;
                (c.to_owned(), id)
            }
            Revision::Branch(b) => {
                let mut reference = r
                    .find_reference(&format!("refs/heads/{b}"))
                    .map_err(|e| Git(format!("branch \"{b}\" not found in {repo}: {e}")))?;
                let id = reference
                    .peel_to_id()
                    .map_err(|e| Git(format!("cannot resolve branch \"{b}\" in {repo}: {e}")))?;
                (b.to_owned(), id.detach())
            }
            Revision::Head => {
                let id = r
                    .head_id()
                    .map_err(|e| Git(format!("{repo} has no HEAD commit: {e}")))?;
                let name = r
                    .head_name()
                    .ok()
                    .flatten()
                    .map(|n| n.shorten().to_string())
                    .unwrap_or_else(|| "HEAD".to_owned());
                (name, id.detach())
            }
        };
        let commit = r
            .find_object(id)
            .map_err(|e| Git(format!("cannot read commit {id} in {repo}: {e}")))?
            .peel_to_commit()
            .map_err(|e| Git(format!("{id} in {repo} is not a commit: {e}")))?;
        let tree = commit
            .tree()
            .map_err(|e| Git(format!("cannot read the tree of {id} in {repo}: {e}")))?;
        let mut recorder = gix::traverse::tree::Recorder::default();
        tree.traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| Git(format!("cannot walk the tree of {id} in {repo}: {e}")))?;
        drop(tree);
        drop(commit);
        let blobs = recorder
            .records
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| (e.filepath.to_string(), e.oid))
            .collect();
        Ok(Self {
            repo: r.into_sync(),
            name: repo.to_owned(),
            branch: branch_name,
            commit: id.to_string(),
            blobs,
        })
    }

    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// Opens `repo` at `branch`; an `https://` repository from the copy the last read left
    /// (no network: an error when there is none yet).
    pub fn open_cached(
        repo: &str,
        branch: &str,
        remotes: &dyn RemoteRepos,
    ) -> Result<Self, SourceError> {
        if !(repo.starts_with("https://") || repo.starts_with("http://")) {
            return Self::open_at(repo, Revision::Branch(branch));
        }
        let local = remotes.cached(repo).ok_or_else(|| {
            SourceError::Git(format!(
                "{repo} has not been fetched yet: refresh its location"
            ))
        })?;
        let mut source = Self::open_at(
            local.to_str().ok_or_else(|| {
                SourceError::Git(format!("{}: not a UTF-8 path", local.display()))
            })?,
            Revision::Branch(branch),
        )
        .map_err(|e| SourceError::Git(e.to_string().replace(&*local.to_string_lossy(), repo)))?;
        source.name = repo.to_owned();
        Ok(source)
    }
}

impl Source for GitSource {
    fn display(&self, rel: &str) -> String {
        format!("{}@{}:{}", self.name, self.branch, rel)
    }
    fn location_key(&self, rel: &str) -> String {
        format!("git:{}?ref={}&path={}", self.name, self.branch, rel)
    }
    fn entry(&self, rel: &str) -> Entry {
        if rel.is_empty() {
            return Entry::Dir;
        }
        if self.blobs.contains_key(rel) {
            return Entry::File;
        }
        let prefix = format!("{rel}/");
        match self.blobs.range(prefix.clone()..).next() {
            Some((k, _)) if k.starts_with(&prefix) => Entry::Dir,
            _ => Entry::Missing,
        }
    }
    fn files(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.blobs.keys().cloned().collect())
    }
    fn read(&self, rel: &str, max_bytes: usize) -> Result<Vec<u8>, SourceError> {
        use SourceError::Git;
        let id = self
            .blobs
            .get(rel)
            .ok_or_else(|| SourceError::Missing(self.display(rel)))?;
        let repo = self.repo.to_thread_local();
        let header = repo
            .find_header(*id)
            .map_err(|e| Git(format!("cannot read {}: {e}", self.display(rel))))?;
        if header.size() > max_bytes as u64 {
            return Err(SourceError::TooLarge {
                len: header.size(),
                max: max_bytes,
            });
        }
        let blob = repo
            .find_object(*id)
            .map_err(|e| Git(format!("cannot read {}: {e}", self.display(rel))))?;
        Ok(blob.detach().data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_targets_stay_inside() {
        assert_eq!(join_relative("a/b", "./c.yaml").unwrap(), "a/b/c.yaml");
        assert_eq!(join_relative("a/b", "../c.yaml").unwrap(), "a/c.yaml");
        assert_eq!(join_relative("", "x/./y.yaml").unwrap(), "x/y.yaml");
        assert!(
            join_relative("a", "../../etc/passwd")
                .unwrap_err()
                .to_string()
                .contains("leaves")
        );
        assert!(
            join_relative("a", "/etc/passwd")
                .unwrap_err()
                .to_string()
                .contains("absolute")
        );
    }
}

/// One commit of a first-parent history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    /// The first parent (None for a root commit).
    pub parent: Option<String>,
    /// Committer time, milliseconds since the epoch.
    pub time_ms: i64,
}

/// The first-parent history of `branch` (None: HEAD) in a local repository, newest first, at
/// most `limit` commits — the changes that deployments of this repository ship.
pub fn commit_history(
    repo: &str,
    branch: Option<&str>,
    limit: usize,
) -> Result<Vec<CommitInfo>, SourceError> {
    use SourceError::Git;
    let r = open_local(repo)?;
    let start = match branch {
        Some(b) => r
            .find_reference(&format!("refs/heads/{b}"))
            .map_err(|e| Git(format!("branch \"{b}\" not found in {repo}: {e}")))?
            .peel_to_id()
            .map_err(|e| Git(format!("cannot resolve branch \"{b}\" in {repo}: {e}")))?
            .detach(),
        None => r
            .head_id()
            .map_err(|e| Git(format!("{repo} has no HEAD commit: {e}")))?
            .detach(),
    };
    first_parent_walk(&r, repo, start, limit)
}

/// The first-parent history that ends at `commit` (a full hexadecimal id), newest first, at
/// most `limit` commits: what a deployment of that commit shipped, whichever branch holds it.
pub fn commit_history_at(
    repo: &str,
    commit: &str,
    limit: usize,
) -> Result<Vec<CommitInfo>, SourceError> {
    let r = open_local(repo)?;
    let id = gix::ObjectId::from_hex(commit.as_bytes())
        .map_err(|e| SourceError::Git(format!("{commit:?} is not a full commit id: {e}")))?;
    first_parent_walk(&r, repo, id, limit)
}

fn open_local(repo: &str) -> Result<gix::Repository, SourceError> {
    let path = repo.strip_prefix("file://").unwrap_or(repo);
    if path.contains("://") {
        return Err(SourceError::NotLocal {
            repo: repo.to_owned(),
        });
    }
    gix::open(path).map_err(|e| SourceError::Git(format!("cannot open Git repository {repo}: {e}")))
}

fn first_parent_walk(
    r: &gix::Repository,
    repo: &str,
    start: gix::ObjectId,
    limit: usize,
) -> Result<Vec<CommitInfo>, SourceError> {
    use SourceError::Git;
    let mut cur = Some(start);
    let mut out = Vec::new();
    while let Some(id) = cur {
        if out.len() >= limit {
            break;
        }
        let c = r
            .find_commit(id)
            .map_err(|e| Git(format!("cannot read commit {id} in {repo}: {e}")))?;
        let time = c.time().map_err(|e| {
            Git(format!(
                "cannot read the time of commit {id} in {repo}: {e}"
            ))
        })?;
        let parent = c.parent_ids().next().map(|p| p.detach());
        out.push(CommitInfo {
            id: id.to_string(),
            parent: parent.map(|p| p.to_string()),
            time_ms: time.seconds * 1000,
        });
        cur = parent;
    }
    Ok(out)
}
