//! Sloth's validation corpus (testdata/validate, validate_with_duplicates): the verdicts of
//! validate_test.go, file by file and directory by directory.

use std::path::{Path, PathBuf};

use socle_slo::{LoadOptions, SloGroup, duplicates, load};

use crate::conformance::corpus;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

type Loaded = Vec<(String, Result<Vec<SloGroup>, Vec<socle_slo::SloError>>)>;

fn load_dir(dir: &Path) -> Loaded {
    yaml_files(dir)
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let r = load(&text, &name, &LoadOptions::default());
            (name, r)
        })
        .collect()
}

/// Sloth's verdict on a directory: every file valid, and (unless duplicates are ignored) no SLO
/// id defined twice.
fn verdict(loaded: &Loaded, ignore_duplicates: bool) -> bool {
    let all_valid = loaded.iter().all(|(_, r)| r.is_ok());
    let ok: Vec<(String, Vec<SloGroup>)> = loaded
        .iter()
        .filter_map(|(n, r)| r.as_ref().ok().map(|g| (n.clone(), g.clone())))
        .collect();
    all_valid && (ignore_duplicates || duplicates(&ok).is_empty())
}

#[test]
fn every_good_file_is_valid() {
    let Some(dir) = corpus() else { return };
    let loaded = load_dir(&dir.join("testdata/validate/good"));
    assert_eq!(loaded.len(), 7);
    for (name, r) in &loaded {
        assert!(r.is_ok(), "{name}: {r:#?}");
    }
    // validate_test.go: the good directory passes with --ignore-slo-duplicates (aa, ab and ba
    // define the same SLOs, so it fails without it).
    assert!(verdict(&loaded, true));
    assert!(!verdict(&loaded, false));
}

#[test]
fn every_bad_file_is_refused_for_the_reason_it_was_made_bad() {
    let Some(dir) = corpus() else { return };
    let loaded = load_dir(&dir.join("testdata/validate/bad"));
    assert_eq!(loaded.len(), 7);
    // (file, path of the error, line of the `# BAD!` mark)
    let expected = [
        ("bad-aa.yaml", "slos[1].objective", 28),
        ("bad-ab.yaml", "slos[1].objective", 28),
        ("bad-ba.yaml", "slos[1].objective", 28),
        ("bad-k8s.yaml", "spec.service", 7),
        ("bad-multi-k8s.yaml", "spec.slos[0].alerting.name", 22),
        ("bad-multi.yaml", "slos[1].sli", 77),
    ];
    for (file, path, line) in expected {
        let (_, r) = loaded.iter().find(|(n, _)| n == file).unwrap();
        let errors = r.as_ref().expect_err(file);
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.line == Some(line)),
            "{file}: {errors:#?}"
        );
    }
    // bad-openslo.yaml only changes the time window to 28 days, which Sloth's built-in catalog
    // (google-28d.yaml) supports: Sloth accepts the file alone; the directory fails on the others.
    let (_, openslo) = loaded
        .iter()
        .find(|(n, _)| n == "bad-openslo.yaml")
        .unwrap();
    assert_eq!(
        openslo.as_ref().unwrap()[0].slos[0].period,
        Some(socle_slo::PromDuration::days(28))
    );
    assert!(!verdict(&loaded, true));
}

#[test]
fn the_whole_validate_directory_fails() {
    let Some(dir) = corpus() else { return };
    assert!(!verdict(&load_dir(&dir.join("testdata/validate")), false));
}

#[test]
fn duplicated_slos_fail_unless_duplicates_are_ignored() {
    let Some(dir) = corpus() else { return };
    let base = dir.join("testdata/validate_with_duplicates");
    for sub in ["", "prom", "k8s", "openslo"] {
        let loaded = load_dir(&base.join(sub));
        assert!(loaded.iter().all(|(_, r)| r.is_ok()), "{sub}: {loaded:#?}");
        assert!(!verdict(&loaded, false), "{sub}: duplicates must fail");
        assert!(
            verdict(&loaded, true),
            "{sub}: valid when duplicates are ignored"
        );
    }
    let one = base.join("bad-prom-multi-duplicates.yaml");
    let text = std::fs::read_to_string(&one).unwrap();
    let groups = load(&text, "multi.yaml", &LoadOptions::default()).unwrap();
    let dups = duplicates(&[("multi.yaml".into(), groups)]);
    assert_eq!(dups.len(), 2, "{dups:#?}");
    assert_eq!(dups[0].line, Some(51));
}
