//! The GitOps repository of an environment: a (bare) Git repository that Argo CD or Flux watch.
//! Written with gix — no `git` process. A commit replaces exactly the paths a deploy owns.

use std::collections::BTreeMap;
use std::path::Path;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use crate::DeployError;

/// What a commit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The branch head after the call.
    pub commit: String,
    /// The head before.
    pub previous: Option<String>,
    /// False when the tree did not change (no commit was made).
    pub changed: bool,
}

fn git_err(what: &str, e: impl std::fmt::Display) -> DeployError {
    DeployError::Git(format!("{what}: {e}"))
}

/// Opens the repository at `path`, creating a bare one if there is none.
pub fn open_or_init(path: &Path) -> Result<gix::Repository, DeployError> {
    if path.exists() {
        gix::open(path).map_err(|e| git_err(&format!("cannot open {}", path.display()), e))
    } else {
        std::fs::create_dir_all(path)
            .map_err(|e| git_err(&format!("cannot create {}", path.display()), e))?;
        gix::init_bare(path).map_err(|e| {
            git_err(
                &format!("cannot create a bare repository at {}", path.display()),
                e,
            )
        })
    }
}

/// The head commit of `branch`, if the branch exists.
pub fn head(repo: &gix::Repository, branch: &str) -> Result<Option<gix::ObjectId>, DeployError> {
    match repo
        .try_find_reference(&format!("refs/heads/{branch}"))
        .map_err(|e| git_err("cannot read refs", e))?
    {
        Some(mut r) => Ok(Some(
            r.peel_to_id()
                .map_err(|e| git_err("cannot resolve branch", e))?
                .detach(),
        )),
        None => Ok(None),
    }
}

/// How many times a commit is rebuilt when another writer (a process, a replica) moved the
/// branch or held its lock meanwhile.
const COMMIT_ATTEMPTS: u32 = 8;

/// Replaces the subtrees `replace` (paths relative to the repository root) with `files`
/// (paths relative to the root too), then commits on `branch` — unless nothing changed. When
/// another writer moved the branch between the read and the update (the update expects the head
/// it read), the commit is rebuilt on the new head, a few times with a short backoff.
pub fn commit(
    repo: &gix::Repository,
    branch: &str,
    replace: &[String],
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
    author: (&str, &str),
    now_seconds: i64,
) -> Result<CommitOutcome, DeployError> {
    let mut attempt = 0;
    loop {
        let parent = head(repo, branch)?;
        match commit_once(
            repo,
            branch,
            parent,
            replace,
            files,
            message,
            author,
            now_seconds,
        ) {
            Err(e) if attempt + 1 < COMMIT_ATTEMPTS && head(repo, branch)? != parent => {
                tracing::debug!(error = %e, attempt, "the branch moved; committing again");
            }
            Err(e)
                if attempt + 1 < COMMIT_ATTEMPTS
                    && e.to_string().contains("prepare reference edit") =>
            {
                if remove_stale_lock(repo, branch) {
                    // No backoff: the lock's holder is gone.
                    attempt += 1;
                    continue;
                }
                tracing::debug!(error = %e, attempt, "the branch is locked; committing again");
            }
            other => return other,
        }
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_millis(2 << attempt));
    }
}

/// How old a branch's lock file must be to be taken for a dead writer's. A ref update holds its
/// lock for milliseconds; a writer killed while holding it (SIGKILL, a lost node) leaves the file
/// behind, and without this every later commit to the branch would fail until someone deleted
/// it by hand. Writers through Socle hold the environment's deploy lease, which outlives a dead
/// holder by at least 10 s (a 15 s lease renewed every 5 s), so the next holder finds the lock
/// at least that old.
pub const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes `branch`'s lock file when it is older than [`STALE_LOCK`]; true when it did.
fn remove_stale_lock(repo: &gix::Repository, branch: &str) -> bool {
    let lock = repo
        .common_dir()
        .join("refs/heads")
        .join(format!("{branch}.lock"));
    let age = std::fs::metadata(&lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok());
    match age {
        Some(age) if age >= STALE_LOCK => match std::fs::remove_file(&lock) {
            Ok(()) => {
                tracing::warn!(
                    lock = %lock.display(),
                    age_s = age.as_secs(),
                    "removed a stale branch lock left by a writer that died holding it"
                );
                true
            }
            Err(e) => {
                tracing::debug!(lock = %lock.display(), error = %e, "a stale lock not removed");
                false
            }
        },
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn commit_once(
    repo: &gix::Repository,
    branch: &str,
    parent: Option<gix::ObjectId>,
    replace: &[String],
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
    author: (&str, &str),
    now_seconds: i64,
) -> Result<CommitOutcome, DeployError> {
    let base_tree = match parent {
        Some(p) => repo
            .find_commit(p)
            .map_err(|e| git_err("cannot read the branch head", e))?
            .tree_id()
            .map_err(|e| git_err("cannot read the head's tree", e))?
            .detach(),
        None => gix::ObjectId::empty_tree(repo.object_hash()),
    };
    let mut editor = repo
        .edit_tree(base_tree)
        .map_err(|e| git_err("cannot edit the tree", e))?;
    for path in replace {
        editor
            .remove(path.as_str())
            .map_err(|e| git_err(&format!("cannot remove {path}"), e))?;
    }
    for (path, content) in files {
        let blob = repo
            .write_blob(content)
            .map_err(|e| git_err("cannot write a blob", e))?;
        editor
            .upsert(path.as_str(), EntryKind::Blob, blob)
            .map_err(|e| git_err(&format!("cannot add {path}"), e))?;
    }
    let tree = editor
        .write()
        .map_err(|e| git_err("cannot write the tree", e))?
        .detach();
    if tree == base_tree && parent.is_some() {
        return Ok(CommitOutcome {
            commit: parent.map(|p| p.to_string()).unwrap_or_default(),
            previous: parent.map(|p| p.to_string()),
            changed: false,
        });
    }
    let signature = gix::actor::Signature {
        name: author.0.into(),
        email: author.1.into(),
        time: gix::date::Time::new(now_seconds, 0),
    };
    let mut buf = gix::date::parse::TimeBuf::default();
    let sig = signature.to_ref(&mut buf);
    let id = repo
        .commit_as(
            sig,
            sig,
            format!("refs/heads/{branch}").as_str(),
            message,
            tree,
            parent,
        )
        .map_err(|e| git_err("cannot commit", e))?;
    Ok(CommitOutcome {
        commit: id.to_string(),
        previous: parent.map(|p| p.to_string()),
        changed: true,
    })
}

/// Moves `branch` back to `commit` (undoing a commit whose deploy failed afterwards).
pub fn reset(repo: &gix::Repository, branch: &str, to: Option<&str>) -> Result<(), DeployError> {
    use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
    let name: gix::refs::FullName = format!("refs/heads/{branch}")
        .try_into()
        .map_err(|e| git_err("bad branch name", e))?;
    let change = match to {
        Some(c) => Change::Update {
            log: LogChange {
                mode: RefLog::AndReference,
                force_create_reflog: false,
                message: "socle: undo a failed deploy".into(),
            },
            expected: PreviousValue::Any,
            new: gix::refs::Target::Object(
                gix::ObjectId::from_hex(c.as_bytes()).map_err(|e| git_err("bad commit id", e))?,
            ),
        },
        None => Change::Delete {
            expected: PreviousValue::Any,
            log: RefLog::AndReference,
        },
    };
    repo.edit_reference(RefEdit {
        change,
        name,
        deref: false,
    })
    .map_err(|e| git_err("cannot move the branch back", e))?;
    Ok(())
}

/// Every file under `prefix` at the head of `branch` (for tests and inspection).
pub fn files_at(
    repo: &gix::Repository,
    branch: &str,
    prefix: &str,
) -> Result<BTreeMap<String, Vec<u8>>, DeployError> {
    let Some(head) = head(repo, branch)? else {
        return Ok(BTreeMap::new());
    };
    let tree = repo
        .find_commit(head)
        .map_err(|e| git_err("read", e))?
        .tree()
        .map_err(|e| git_err("read", e))?;
    let mut rec = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut rec)
        .map_err(|e| git_err("walk", e))?;
    let mut out = BTreeMap::new();
    for e in rec.records {
        let path = e.filepath.to_str_lossy().into_owned();
        if e.mode.is_blob() && path.starts_with(prefix) {
            let data = repo
                .find_object(e.oid)
                .map_err(|e| git_err("read blob", e))?
                .detach()
                .data;
            out.insert(path, data);
        }
    }
    Ok(out)
}

/// The commits of `branch`, newest first: `(id, message)`.
pub fn log(repo: &gix::Repository, branch: &str) -> Result<Vec<(String, String)>, DeployError> {
    let mut out = Vec::new();
    let mut cur = head(repo, branch)?;
    while let Some(id) = cur {
        let c = repo
            .find_commit(id)
            .map_err(|e| git_err("read commit", e))?;
        let msg = c
            .message_raw()
            .map_err(|e| git_err("read message", e))?
            .to_str_lossy()
            .into_owned();
        out.push((id.to_string(), msg));
        cur = c.parent_ids().next().map(|p| p.detach());
    }
    Ok(out)
}
