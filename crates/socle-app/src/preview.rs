//! The output directory of a preview (`socle workload generate`): what a deploy would render,
//! written to files, with nothing of the platform changed. Resources keep their names and
//! credentials between runs through a state file in the directory itself (as score-compose
//! keeps `.score-compose/state.yaml`), never through the store; the files a run wrote and the
//! next one does not are removed, and nothing else is touched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

/// Kept state and the list of written files, inside the output directory.
pub const STATE_DIR: &str = ".socle-preview";
const STATE_FILE: &str = "state.json";
const WRITTEN_FILE: &str = "written.json";
/// Files larger than this in the state directory are not read (a corrupt or foreign file).
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// Resource state by resource uid (what `socle_platform::ResolveInput::state` takes).
pub type ResourceStates = BTreeMap<String, Map<String, Value>>;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a preview state file ({message}); remove it to start afresh")]
    State { path: String, message: String },
    #[error("{0}: a file to write must be a relative path without `..`")]
    Path(String),
}

/// What [`OutputDir::write`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// Files written, relative to the directory, sorted.
    pub written: Vec<String>,
    /// Files an earlier run wrote that this one did not, removed.
    pub removed: Vec<String>,
}

/// A preview's output directory.
#[derive(Debug, Clone)]
pub struct OutputDir {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PreviewError + '_ {
    move |source| PreviewError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// `rel` as a path under a directory, refused when absolute or climbing out.
fn relative(rel: &str) -> Result<PathBuf, PreviewError> {
    let p = Path::new(rel);
    let ok = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(PreviewError::Path(rel.to_owned()))
    }
}

impl OutputDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn state_path(&self, name: &str) -> PathBuf {
        self.root.join(STATE_DIR).join(name)
    }

    /// A JSON file of the state directory, or None when absent.
    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, PreviewError> {
        let path = self.state_path(name);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let invalid = |message: String| PreviewError::State {
            path: path.display().to_string(),
            message,
        };
        if meta.len() > MAX_STATE_BYTES {
            return Err(invalid(format!("larger than {MAX_STATE_BYTES} bytes")));
        }
        let text = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| invalid(e.to_string()))
    }

    /// The resource state earlier runs kept here (empty for a new directory).
    pub fn kept_state(&self) -> Result<ResourceStates, PreviewError> {
        Ok(self.read_json(STATE_FILE)?.unwrap_or_default())
    }

    /// Writes `files` (relative paths) and `state`, removes what an earlier run wrote and this
    /// one does not, and keeps `.env` and the state out of Git (`.gitignore`).
    pub fn write(
        &self,
        files: &BTreeMap<String, Vec<u8>>,
        state: &ResourceStates,
    ) -> Result<Written, PreviewError> {
        let mut targets = Vec::with_capacity(files.len());
        for rel in files.keys() {
            targets.push(relative(rel)?);
        }
        let before: BTreeSet<String> = self.read_json(WRITTEN_FILE)?.unwrap_or_default();
        for (path, content) in targets.iter().zip(files.values()) {
            let p = self.root.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&p, content).map_err(io(&p))?;
        }
        let mut removed = Vec::new();
        for rel in before.iter().filter(|r| !files.contains_key(*r)) {
            // A listed path that is not plainly relative was not written by us: left alone.
            let Ok(path) = relative(rel) else { continue };
            let p = self.root.join(&path);
            match std::fs::remove_file(&p) {
                Ok(()) => {
                    removed.push(rel.clone());
                    self.prune_empty_parents(&path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&p)(e)),
            }
        }
        let dir = self.root.join(STATE_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let written: BTreeSet<&String> = files.keys().collect();
        self.write_json(WRITTEN_FILE, &written)?;
        self.write_json(STATE_FILE, state)?;
        self.ignore_private_files()?;
        Ok(Written {
            written: files.keys().cloned().collect(),
            removed,
        })
    }

    fn write_json(&self, name: &str, value: &impl serde::Serialize) -> Result<(), PreviewError> {
        let path = self.state_path(name);
        let text = serde_json::to_vec_pretty(value).map_err(|e| PreviewError::State {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(io(&path))
    }

    /// Adds `.env` and the state directory to the directory's `.gitignore` (kept otherwise).
    fn ignore_private_files(&self) -> Result<(), PreviewError> {
        let path = self.root.join(".gitignore");
        let mut text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let mut changed = false;
        for entry in [".env", &format!("{STATE_DIR}/")] {
            if !text.lines().any(|l| l.trim() == entry) {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(entry);
                text.push('\n');
                changed = true;
            }
        }
        if changed {
            std::fs::write(&path, text).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Removes the now empty directories between a removed file and the root.
    fn prune_empty_parents(&self, rel: &Path) {
        let mut dir = rel.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if std::fs::remove_dir(self.root.join(d)).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
}

/// The state a preview starts from: the environment's stored state (what live deployments
/// use) wins over what earlier previews kept here, so a preview shows the live names and
/// credentials and never invents new ones for a resource that exists.
pub fn starting_state(stored: ResourceStates, kept: ResourceStates) -> ResourceStates {
    let mut out = kept;
    out.extend(stored);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    fn state(uid: &str, pw: &str) -> ResourceStates {
        let mut m = Map::new();
        m.insert("password".into(), Value::String(pw.into()));
        BTreeMap::from([(uid.to_owned(), m)])
    }

    #[test]
    fn the_state_written_is_the_state_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::new(tmp.path());
        assert!(out.kept_state().unwrap().is_empty());
        out.write(&files(&[("compose.yaml", "x")]), &state("db-1", "pw"))
            .unwrap();
        assert_eq!(out.kept_state().unwrap(), state("db-1", "pw"));
    }

    #[test]
    fn files_an_earlier_run_wrote_and_this_one_does_not_are_removed_and_others_kept() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let out = OutputDir::new(tmp.path());
        out.write(
            &files(&[("compose.yaml", "a"), ("mounts/api/etc/motd", "hi")]),
            &ResourceStates::new(),
        )
        .unwrap();
        let w = out
            .write(&files(&[("compose.yaml", "b")]), &ResourceStates::new())
            .unwrap();
        assert_eq!(w.removed, ["mounts/api/etc/motd"]);
        assert!(
            !tmp.path().join("mounts").exists(),
            "empty directories pruned"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("compose.yaml")).unwrap(),
            "b"
        );
    }

    #[test]
    fn a_path_climbing_out_is_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutputDir::new(tmp.path().join("out"));
        let e = out
            .write(
                &files(&[("a.yaml", "x"), ("../escape", "x")]),
                &ResourceStates::new(),
            )
            .unwrap_err();
        assert!(matches!(e, PreviewError::Path(p) if p == "../escape"));
        assert!(!tmp.path().join("out").exists());
        assert!(!tmp.path().join("escape").exists());
    }

    #[test]
    fn a_forged_written_list_removes_nothing_outside_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("precious");
        std::fs::write(&outside, "keep").unwrap();
        let root = tmp.path().join("out");
        std::fs::create_dir_all(root.join(STATE_DIR)).unwrap();
        std::fs::write(
            root.join(STATE_DIR).join(WRITTEN_FILE),
            r#"["../precious", "/etc/hostname"]"#,
        )
        .unwrap();
        let w = OutputDir::new(&root)
            .write(&files(&[("compose.yaml", "x")]), &ResourceStates::new())
            .unwrap();
        assert!(w.removed.is_empty());
        assert_eq!(std::fs::read_to_string(outside).unwrap(), "keep");
    }

    #[test]
    fn env_and_the_state_are_kept_out_of_git_once() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(".gitignore"), "target").unwrap();
        let out = OutputDir::new(tmp.path());
        for _ in 0..2 {
            out.write(&files(&[(".env", "A=1")]), &ResourceStates::new())
                .unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(".gitignore")).unwrap(),
            "target\n.env\n.socle-preview/\n"
        );
    }

    #[test]
    fn a_corrupt_state_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(STATE_DIR)).unwrap();
        std::fs::write(tmp.path().join(STATE_DIR).join(STATE_FILE), "{not json").unwrap();
        let e = OutputDir::new(tmp.path()).kept_state().unwrap_err();
        assert!(
            e.to_string()
                .contains("state.json: not a preview state file"),
            "{e}"
        );
    }

    #[test]
    fn the_stored_state_wins_over_the_kept_one() {
        let s = starting_state(state("db-1", "live"), state("db-1", "old"));
        assert_eq!(s, state("db-1", "live"));
        let s = starting_state(state("db-1", "live"), state("cache-2", "kept"));
        assert_eq!(s.len(), 2);
    }
}
