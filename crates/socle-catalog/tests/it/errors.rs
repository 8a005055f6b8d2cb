//! Golden files for the catalog's error messages: each `tests/data/errors/<case>.yaml` is read as
//! a catalog file and every error it gives, in full (`file:line:column entity path: message
//! [rule]`), is compared with `<case>.expected`. `SOCLE_BLESS=1` rewrites them.

use std::path::{Path, PathBuf};

use socle_catalog::{DocContext, Limits, NoReader, process_text};
use socle_golden::Golden;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/errors");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/data/errors")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

#[test]
fn error_messages_match_the_golden_files() {
    let cases = cases();
    assert!(cases.len() >= 8, "{} cases", cases.len());
    let mut golden = Golden::new();
    for case in cases {
        let file = case.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&case).unwrap();
        let ctx = DocContext {
            file: file.as_str().into(),
            location: format!("file:{file}").into(),
            origin: "file:catalog-info.yaml",
            reader: &NoReader,
            limits: &Limits::default(),
        };
        let (_, errors) = process_text(&text, &ctx);
        assert!(!errors.is_empty(), "{file}: no error");
        let shown: String = errors.iter().map(|e| format!("{e}\n")).collect();
        golden.check(&case.with_extension("expected"), shown.as_bytes());
    }
    golden.finish();
}
