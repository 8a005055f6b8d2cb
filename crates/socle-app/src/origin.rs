//! Where an entity came from: the registered location holding its catalog file, read as a
//! sandboxed tree, so that files an entity's annotations name beside it (TechDocs' `docs/`, the
//! SLO file of `socle.dev/slo`) can be read.
//!
//! The file is found through the entity's `backstage.io/managed-by-location`, which must belong
//! to a registered location: a directory on disk (nothing read may leave the location's
//! directory, symlinks included) or a Git repository (read at the registered branch as the last
//! refresh left it — an `https://` repository from its mirror, with no fetch). Blocking: call it
//! off the async workers.

use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_ingest::source::{join_relative, parent};
use socle_ingest::{FsSource, GitSource, LocationKind, LocationSpec, RemoteRepos, Source};

/// Why an entity's files cannot be read (all of these are the user's to fix).
#[derive(Debug, thiserror::Error)]
pub enum OriginError {
    #[error("the entity's location {0} is not a registered location Socle can read")]
    Location(String),
    #[error("{0}")]
    Read(String),
}

/// The value of an annotation of an entity's JSON body.
pub fn annotation<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

enum Place {
    /// A directory on disk (canonical): the sandbox.
    Dir(PathBuf),
    /// A Git tree.
    Git(Box<GitSource>, String),
}

/// The location an entity came from, and its catalog file's folder inside it.
pub struct EntityOrigin {
    place: Place,
    /// The catalog file's folder, relative to the location's root (`""` at the root).
    dir: String,
}

/// A folder of an entity's origin, read as a tree of its own.
pub struct OriginTree {
    source: Box<dyn Source + Send>,
    /// The folder inside `source` (`""` or `sub/dir/`).
    prefix: String,
    /// Where the folder is, for people: a path inside the location (never a path of the
    /// server's file system), or `repo@branch:path/`.
    pub label: String,
}

impl EntityOrigin {
    /// Finds the origin of an entity (its JSON body) among the registered locations.
    pub fn locate(
        body: &Value,
        locations: &[LocationSpec],
        remotes: &dyn RemoteRepos,
    ) -> Result<Self, OriginError> {
        let location = annotation(body, "backstage.io/managed-by-location").unwrap_or_default();
        let unknown = || OriginError::Location(location.to_owned());
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
                .ok_or_else(unknown)?;
            let rel_file = file
                .strip_prefix(&root)
                .map_err(|_| unknown())?
                .to_string_lossy()
                .replace('\\', "/");
            return Ok(Self {
                dir: parent(&rel_file).to_owned(),
                place: Place::Dir(root),
            });
        }
        if let Some(rest) = location.strip_prefix("git:") {
            let (repo, query) = rest.rsplit_once("?ref=").ok_or_else(unknown)?;
            let (branch, path) = query.split_once("&path=").ok_or_else(unknown)?;
            if !locations
                .iter()
                .any(|l| l.kind == LocationKind::Git && l.target == repo)
            {
                return Err(unknown());
            }
            let source = GitSource::open_cached(repo, branch, remotes)
                .map_err(|e| OriginError::Read(e.to_string()))?;
            let name = repo
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(repo);
            return Ok(Self {
                dir: parent(path).to_owned(),
                place: Place::Git(Box::new(source), format!("{name}@{branch}")),
            });
        }
        Err(unknown())
    }

    /// The path of `rel` (relative to the catalog file's folder) inside the location; `..` may
    /// climb towards the location's root, never out of it.
    pub fn path_of(&self, rel: &str) -> Result<String, OriginError> {
        join_relative(&self.dir, rel).map_err(|e| OriginError::Read(e.to_string()))
    }

    /// Reads a file named relative to the catalog file's folder, at most `max_bytes`.
    pub fn read(&self, rel: &str, max_bytes: usize) -> Result<Vec<u8>, OriginError> {
        let path = self.path_of(rel)?;
        let missing = |e: socle_ingest::SourceError| {
            tracing::debug!("origin: {e}");
            OriginError::Read(format!(
                "cannot read {path} in the entity's location (missing, or larger than {max_bytes} bytes)"
            ))
        };
        match &self.place {
            Place::Dir(root) => FsSource::new(root)
                .map_err(|e| OriginError::Read(e.to_string()))?
                .read(&path, max_bytes)
                .map_err(missing),
            Place::Git(source, _) => source.read(&path, max_bytes).map_err(missing),
        }
    }

    /// A folder named relative to the catalog file's folder, as a tree of its own.
    pub fn tree(self, rel_dir: &str) -> Result<OriginTree, OriginError> {
        let folder = self.path_of(rel_dir)?;
        match self.place {
            Place::Dir(root) => {
                // Messages name the folder inside the location, never a path of the server.
                let real = root.join(&folder).canonicalize().map_err(|_| {
                    OriginError::Read(format!(
                        "there is no {folder}/ folder in the entity's location"
                    ))
                })?;
                if !real.starts_with(&root) {
                    return Err(OriginError::Read(format!(
                        "{folder} leaves the location's directory"
                    )));
                }
                let source = FsSource::new(&real).map_err(|e| OriginError::Read(e.to_string()))?;
                Ok(OriginTree {
                    source: Box::new(source),
                    prefix: String::new(),
                    label: folder,
                })
            }
            Place::Git(source, name) => {
                let prefix = if folder.is_empty() {
                    String::new()
                } else {
                    format!("{folder}/")
                };
                Ok(OriginTree {
                    label: format!("{name}:{prefix}"),
                    source,
                    prefix,
                })
            }
        }
    }
}

impl OriginTree {
    /// Every file of the folder, relative to it, at most `max` of them.
    pub fn files(&self, max: usize) -> Result<Vec<String>, OriginError> {
        Ok(self
            .source
            .files()
            .map_err(|e| OriginError::Read(e.to_string()))?
            .into_iter()
            .filter_map(|f| f.strip_prefix(&self.prefix).map(str::to_owned))
            .take(max)
            .collect())
    }

    /// A file of the folder (`rel` already normalised), at most `max_bytes`.
    pub fn read(&self, rel: &str, max_bytes: usize) -> Result<Vec<u8>, OriginError> {
        self.source
            .read(&format!("{}{rel}", self.prefix), max_bytes)
            .map_err(|e| OriginError::Read(e.to_string()))
    }
}

impl crate::App {
    /// The registered locations, as specifications (what [`EntityOrigin::locate`] looks in).
    pub async fn location_specs(&self) -> Result<Vec<LocationSpec>, crate::error::AppError> {
        Ok(self
            .store
            .list_locations()
            .await?
            .into_iter()
            .filter_map(|l| serde_json::from_value(l.spec).ok())
            .collect())
    }
}
