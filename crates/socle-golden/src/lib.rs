//! Golden files: a test compares what it generates with files kept beside its inputs, byte for
//! byte, and reports every difference at once. `SOCLE_BLESS=1 cargo test …` rewrites the files
//! instead (then read the diff in review: a golden file must show correct behaviour, not just
//! whatever the code prints).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Collects mismatches; [`Golden::finish`] fails the test with all of them.
pub struct Golden {
    bless: bool,
    failures: Vec<String>,
}

impl Default for Golden {
    fn default() -> Self {
        Self::new()
    }
}

impl Golden {
    pub fn new() -> Self {
        Self {
            bless: std::env::var("SOCLE_BLESS").is_ok_and(|v| v == "1"),
            failures: Vec::new(),
        }
    }

    /// `path` must hold exactly `actual`.
    pub fn check(&mut self, path: &Path, actual: &[u8]) {
        let expected = std::fs::read(path).ok();
        if expected.as_deref() == Some(actual) {
            return;
        }
        if self.bless {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create the golden file's directory");
            }
            std::fs::write(path, actual).expect("write the golden file");
            return;
        }
        self.failures.push(match expected {
            None => format!(
                "{}: missing (generated {} bytes)",
                path.display(),
                actual.len()
            ),
            Some(e) => format!(
                "{}: differs\n{}",
                path.display(),
                first_difference(&e, actual)
            ),
        });
    }

    /// `dir` must hold exactly `files` (relative path → content): no file missing, different or
    /// left over. Blessing removes the left-over ones.
    pub fn check_dir(&mut self, dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
        for (rel, content) in files {
            self.check(&dir.join(rel), content);
        }
        let mut present = Vec::new();
        list(dir, dir, &mut present);
        for rel in present {
            if files.contains_key(&rel) {
                continue;
            }
            let path = dir.join(&rel);
            if self.bless {
                std::fs::remove_file(&path).expect("remove a left-over golden file");
            } else {
                self.failures
                    .push(format!("{}: not generated any more", path.display()));
            }
        }
    }

    /// Fails with every mismatch found.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} golden file(s) differ (SOCLE_BLESS=1 rewrites them; check the diff):\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

fn list(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            list(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The first line that differs, both versions.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let (e, a) = (
        String::from_utf8_lossy(expected),
        String::from_utf8_lossy(actual),
    );
    let (mut el, mut al) = (e.split('\n'), a.split('\n'));
    let mut n = 1;
    loop {
        match (el.next(), al.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return "  (same lines; line endings or encoding differ)".into(),
            (x, y) => {
                return format!(
                    "  line {n}\n  expected: {}\n  actual:   {}",
                    x.map_or("<end of file>".into(), |l| format!("{l:?}")),
                    y.map_or("<end of file>".into(), |l| format!("{l:?}"))
                );
            }
        }
    }
}
