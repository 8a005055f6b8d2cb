//! The demo organisation embedded in the binary (`socle serve --demo`), and the synthetic
//! organisation generator used by benchmarks.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

mod dora;
mod synthetic;

pub use dora::{DemoService, dora_history, dora_history_of};
pub use synthetic::{Rng, SyntheticOrg, generate};

/// Northwind Logistics: Backstage descriptors for a realistic company.
pub static DEMO: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/demo");

/// Writes the demo organisation under `dir` and returns the path of its root `Location` file.
pub fn extract(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    write_dir(&DEMO, dir)?;
    Ok(dir.join("catalog-info.yaml"))
}

fn write_dir(d: &Dir<'_>, root: &Path) -> std::io::Result<()> {
    for f in d.files() {
        let target = root.join(f.path());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, f.contents())?;
    }
    for sub in d.dirs() {
        write_dir(sub, root)?;
    }
    Ok(())
}
