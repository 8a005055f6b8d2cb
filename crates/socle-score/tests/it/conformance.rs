use std::path::{Path, PathBuf};

use socle_catalog::Limits;
use socle_score::{PlaceholderError, Reference, parse_workload, resource_graph};

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/score");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
        "conformance corpus missing at {}",
        p.display()
    );
    None
}

fn score_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != "expected" {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "yaml")
                && !p.to_string_lossy().ends_with(".compose.yaml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_score_file_of_the_corpus_is_valid() {
    let Some(dir) = corpus() else { return };
    let files = score_files(&dir);
    assert!(files.len() >= 20, "found only {} Score files", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let w = parse_workload(&text, &f.to_string_lossy(), &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e:#?}", f.display()));
        assert!(!w.name().is_empty());
        assert!(!w.containers.is_empty(), "{}", f.display());
        resource_graph(&w).unwrap();
    }
}

#[test]
fn the_full_sample_is_read_completely() {
    let Some(dir) = corpus() else { return };
    let f = dir.join("spec-samples/score-full.yaml");
    let w = parse_workload(
        &std::fs::read_to_string(&f).unwrap(),
        "score-full.yaml",
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(w.name(), "example-workload-name123");
    let (cname, c) = w.containers.iter().next().unwrap();
    assert!(!cname.is_empty());
    assert!(!c.image.is_empty());
    assert!(!w.ports.is_empty());
    assert!(!w.resources.is_empty());
    // The deprecated array forms fold into the map form, keyed by target.
    let old = parse_workload(
        &std::fs::read_to_string(dir.join("spec-samples/score-deprecated-files-and-volumes.yaml"))
            .unwrap(),
        "old.yaml",
        &Limits::default(),
    )
    .unwrap();
    let files: usize = old.containers.values().map(|c| c.files.len()).sum();
    let volumes: usize = old.containers.values().map(|c| c.volumes.len()).sum();
    assert!(files > 0 && volumes > 0);
    assert!(
        old.containers
            .values()
            .flat_map(|c| c.files.keys())
            .all(|t| t.starts_with('/'))
    );
}

#[test]
fn placeholders_of_the_compose_examples() {
    let Some(dir) = corpus() else { return };
    let text =
        std::fs::read_to_string(dir.join("compose-examples/02-environment/score.yaml")).unwrap();
    let w = parse_workload(&text, "score.yaml", &Limits::default()).unwrap();
    let c = &w.containers["hello"];
    let refs = socle_score::references(&c.variables["NAME"]).unwrap();
    assert_eq!(
        refs,
        vec![Reference::Resource {
            name: "env".into(),
            path: vec!["NAME".into()]
        }]
    );
    let escaped = socle_score::substitute(&c.variables["ESCAPED"], &mut |_| {
        Err(PlaceholderError::Unresolved("none".into()))
    })
    .unwrap();
    assert_eq!(escaped, "$_${fizzbuzz}");
    let name = socle_score::substitute(&c.variables["WORKLOAD_NAME"], &mut |r| match r {
        Reference::Metadata(p) => Ok(w.metadata[&p[0]].as_str().unwrap().to_owned()),
        _ => Err(PlaceholderError::Unresolved("?".into())),
    })
    .unwrap();
    assert_eq!(name, "hello-world");
}
