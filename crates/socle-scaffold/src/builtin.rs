//! Where skeletons come from: a template's directory on disk, or the golden paths embedded in the
//! binary (`golden-paths/` of the repository).

use std::path::Path;

use include_dir::{Dir, include_dir};

pub use crate::disk::DirSource;
use crate::workspace::{SandboxError, relative};

static GOLDEN_PATHS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../golden-paths");

/// Most files read from one skeleton.
pub const MAX_SKELETON_FILES: usize = 5_000;

/// The files a template may read: its own directory and nothing else.
pub trait Source: Send + Sync {
    /// Every file below `dir` (relative to the template's directory), as (path below `dir`,
    /// content), sorted.
    fn files(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, SandboxError>;
    /// Where the template comes from, for messages.
    fn describe(&self) -> String;
}

/// A golden path embedded in the binary.
pub struct EmbeddedSource {
    pub dir: &'static Dir<'static>,
}

fn collect(dir: &'static Dir<'static>, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for f in dir.files() {
        let p = f.path().strip_prefix(base).unwrap_or(f.path());
        out.push((
            p.to_string_lossy().replace('\\', "/"),
            f.contents().to_vec(),
        ));
    }
    for d in dir.dirs() {
        collect(d, base, out);
    }
}

impl Source for EmbeddedSource {
    fn files(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, SandboxError> {
        let rel = relative(dir)?;
        let full = self.dir.path().join(&rel);
        let sub = self
            .dir
            .get_dir(&full)
            .ok_or_else(|| SandboxError(format!("{dir:?} not found in the built-in template")))?;
        let mut out = Vec::new();
        collect(sub, sub.path(), &mut out);
        out.sort();
        Ok(out)
    }
    fn describe(&self) -> String {
        format!("built-in {}", self.dir.path().display())
    }
}

/// The built-in golden paths: (template.yaml text, source of its skeleton).
pub fn golden_paths() -> Vec<(String, &'static str, EmbeddedSource)> {
    let mut out: Vec<_> = GOLDEN_PATHS
        .dirs()
        .filter_map(|d| {
            let t = d.get_file(d.path().join("template.yaml"))?;
            Some((
                d.path().display().to_string(),
                t.contents_utf8()?,
                EmbeddedSource { dir: d },
            ))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
