//! Backstage conformance: the relations the real Backstage catalog computes for its own examples
//! (`conformance/backstage/expected-relations.json`) must be exactly ours.

use std::collections::BTreeMap;
use std::path::PathBuf;

use socle_catalog::{Limits, RelationType};
use socle_ingest::{LocationSpec, validate};

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
        "SOCLE_REQUIRE_CONFORMANCE is set but {} is missing",
        p.display()
    );
    eprintln!("conformance corpus not found at {}; skipping", p.display());
    None
}

#[test]
fn backstage_examples_relations_match_backstage() {
    let Some(dir) = corpus() else { return };
    let ex = dir.join("examples");
    let specs: Vec<LocationSpec> = [
        "all.yaml",
        "acme/org.yaml",
        "components/invalid-component.yaml",
        "components/different-namespace.yaml",
    ]
    .iter()
    .map(|p| LocationSpec::file(ex.join(p).to_string_lossy().into_owned()))
    .collect();
    let report = validate(&specs, &Limits::default());

    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected-relations.json")).unwrap(),
    )
    .unwrap();
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in expected["entities"].as_array().unwrap() {
        let r = e["ref"].as_str().unwrap().to_owned();
        if r.starts_with("location:") {
            continue;
        }
        let rels = e["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        want.insert(r, rels);
    }
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &report.entities {
        if e.entity_ref.starts_with("location:") {
            continue;
        }
        let mut rels: Vec<String> = e
            .relations
            .iter()
            .map(|r| format!("{} {}", r.kind, r.target))
            .collect();
        rels.sort();
        got.insert(e.entity_ref.clone(), rels);
    }
    // Offline, the three entities whose $text points at github.com are rejected with an error
    // naming the URL (the corpus README allows it); every other accepted entity must match.
    let remote = [
        "api:default/spotify",
        "api:default/wayback-archive",
        "api:default/wayback-search",
    ];
    for r in remote {
        if !got.contains_key(r) {
            let err = report
                .errors
                .iter()
                .find(|e| e.entity.as_deref() == Some(r))
                .unwrap_or_else(|| panic!("no error for {r}"));
            assert!(
                err.message.contains("https://github.com/"),
                "{r}: {}",
                err.message
            );
            assert_eq!(err.rule, "placeholder.read");
            // What the rejected entity emitted disappears with it: the inverse of each of its
            // own relations, on the entity at the other end.
            for rel in want.remove(r).unwrap() {
                let (t, target) = rel.split_once(' ').unwrap();
                // An API emits only ownedBy (spec.owner) and partOf (spec.system).
                if t != "ownedBy" && t != "partOf" {
                    continue;
                }
                let inverse = format!("{} {r}", RelationType::parse(t).unwrap().inverse());
                if let Some(rels) = want.get_mut(target) {
                    rels.retain(|x| *x != inverse);
                }
            }
        }
    }
    // petstore-webhook: we resolve the relative $text next to the file, which Backstage cannot.
    let webhook = got.remove("api:default/petstore-webhook");
    let webhook = webhook.expect("petstore-webhook should be accepted (relative $text resolved)");
    assert_eq!(webhook, vec!["ownedBy group:default/team-c".to_owned()]);
    // backstage-mcp-server: an API of type mcp-server (remotes, no definition), which the
    // oracle's catalog model (1.10.3) refuses and the current one (its mcp-server layer)
    // accepts, with an API's relations.
    let mcp = got.remove("api:default/backstage-mcp-server");
    let mcp = mcp.expect("backstage-mcp-server should be accepted (an API of type mcp-server)");
    assert_eq!(mcp, vec!["ownedBy group:default/team-a".to_owned()]);
    for rels in got.values_mut() {
        rels.retain(|x| {
            !x.ends_with(" api:default/petstore-webhook")
                && !x.ends_with(" api:default/backstage-mcp-server")
        });
    }

    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}\nerrors: {:#?}",
        report.errors
    );
    for (r, rels) in &want {
        assert_eq!(&got[r], rels, "relations of {r}");
    }

    // The rejected ones, each with a clear message naming the field.
    let invalid = report
        .errors
        .iter()
        .filter(|e| e.entity.as_deref() == Some("component:default/invalid component"))
        .collect::<Vec<_>>();
    assert!(
        invalid.iter().any(|e| e.path == "metadata.name"
            && e.rule == "metadata.name.format"
            && e.line == Some(4)),
        "{invalid:#?}"
    );
    assert!(
        invalid
            .iter()
            .any(|e| e.rule == "metadata.tags.format" && e.value.as_deref() == Some("go 1.15.3")),
        "{invalid:#?}"
    );
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.entity.as_deref() != Some("api:default/backstage-mcp-server")),
        "{:#?}",
        report.errors
    );
}
