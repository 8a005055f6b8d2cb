//! Reading locations: discovery, Location entities, placeholders, and the sandbox.

use std::path::Path;

use socle_catalog::Limits;
use socle_ingest::{LocationSpec, read_location, validate};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn api(name: &str, definition: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    {definition}\n"
    )
}

fn location(name: &str, targets: &[&str]) -> String {
    let list: String = targets.iter().map(|t| format!("    - {t}\n")).collect();
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  targets:\n{list}"
    )
}

#[test]
fn directories_globs_and_location_chains() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "a/catalog-info.yaml", &api("a", "\"x\""));
    write(root, "b/c/catalog-info.yml", &api("c", "\"x\""));
    write(root, "b/other.yaml", &api("other", "\"x\""));
    // A directory finds every catalog-info.yaml/.yml below it, and only those.
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    let mut names: Vec<String> = read
        .entities
        .iter()
        .map(|e| e.entity_ref.name().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "c"]);
    // A glob.
    let read = read_location(
        &LocationSpec::file(format!("{}/b/*.yaml", root.display())),
        &Limits::default(),
    );
    assert_eq!(read.entities.len(), 1);
    assert_eq!(read.entities[0].entity_ref.name(), "other");
    // Location entities, with a cycle (root → sub → root), read each file once.
    write(
        root,
        "root.yaml",
        &location("root", &["./sub/loc.yaml", "./a/catalog-info.yaml"]),
    );
    write(
        root,
        "sub/loc.yaml",
        &location("sub", &["../root.yaml", "../b/*.yaml"]),
    );
    let read = read_location(
        &LocationSpec::file(root.join("root.yaml").to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    let mut refs: Vec<String> = read
        .entities
        .iter()
        .map(|e| e.entity_ref.to_string())
        .collect();
    refs.sort();
    assert_eq!(
        refs,
        [
            "api:default/a",
            "api:default/other",
            "location:default/root",
            "location:default/sub"
        ]
    );
    let a = read
        .entities
        .iter()
        .find(|e| e.entity_ref.name() == "a")
        .unwrap();
    let v = a.value();
    let ann = &v["metadata"]["annotations"];
    assert!(
        ann["backstage.io/managed-by-location"]
            .as_str()
            .unwrap()
            .ends_with("/a/catalog-info.yaml")
    );
    assert!(
        ann["backstage.io/managed-by-origin-location"]
            .as_str()
            .unwrap()
            .ends_with("/root.yaml")
    );
}

#[test]
fn placeholders_resolve_next_to_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "spec/openapi.yaml",
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\n",
    );
    write(root, "spec/meta.json", "{\"a\": [1, 2]}");
    write(
        root,
        "catalog-info.yaml",
        &format!(
            "{}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\n  annotations:\n    x: y\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  extra:\n    $json: ./spec/meta.json\n  doc:\n    $yaml: ./spec/openapi.yaml\n",
            api("t", "$text: ./spec/openapi.yaml")
        ),
    );
    let report = validate(
        &[LocationSpec::file(
            root.join("catalog-info.yaml").to_string_lossy(),
        )],
        &Limits::default(),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let read = read_location(
        &LocationSpec::file(root.join("catalog-info.yaml").to_string_lossy()),
        &Limits::default(),
    );
    let t = read
        .entities
        .iter()
        .find(|e| e.entity_ref.name() == "t")
        .unwrap();
    assert_eq!(
        t.value()["spec"]["definition"],
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\n"
    );
    let c = read
        .entities
        .iter()
        .find(|e| e.entity_ref.name() == "c")
        .unwrap();
    assert_eq!(c.value()["spec"]["extra"], serde_json::json!({"a": [1, 2]}));
    assert_eq!(c.value()["spec"]["doc"]["info"]["title"], "t");
}

#[test]
fn nothing_escapes_the_location() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("secret.txt");
    std::fs::write(&outside, "s3cr3t").unwrap();
    let root = tmp.path().join("repo");
    write(
        &root,
        "catalog-info.yaml",
        &format!(
            "{}---\n{}",
            api("t", "$text: ../secret.txt"),
            location("l", &["../secret.txt", "/etc/hostname"])
        ),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, root.join("link.txt")).unwrap();
    write(
        &root,
        "sub/catalog-info.yaml",
        &api("u", "$text: ../link.txt"),
    );
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.entities.iter().all(|e| !e.body.contains("s3cr3t")));
    let msgs: Vec<String> = read
        .errors
        .iter()
        .map(|e| format!("{} {}", e.rule, e.message))
        .collect();
    assert_eq!(read.errors.len(), 4, "{msgs:#?}");
    assert!(
        msgs.iter().any(|m| m.starts_with("placeholder.read")
            && m.contains("leaves the location's root directory")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("location.target") && m.contains("\"../secret.txt\" leaves")),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("location.target") && m.contains("is absolute")),
        "{msgs:#?}"
    );
    #[cfg(unix)]
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("placeholder.read") && m.contains("is a link that leaves")),
        "{msgs:#?}"
    );
}

#[test]
fn remote_targets_are_refused_with_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "catalog-info.yaml",
        &location("l", &["https://example.com/catalog-info.yaml"]),
    );
    let read = read_location(
        &LocationSpec::file(tmp.path().to_string_lossy()),
        &Limits::default(),
    );
    assert_eq!(read.errors.len(), 1);
    assert!(
        read.errors[0]
            .message
            .contains("https://example.com/catalog-info.yaml")
    );
    assert_eq!(read.errors[0].path, "spec.target");
}

#[test]
fn a_missing_location_is_unreadable_not_empty() {
    let read = read_location(
        &LocationSpec::file("/nonexistent/socle/catalog-info.yaml"),
        &Limits::default(),
    );
    assert!(read.unreadable);
    assert_eq!(read.errors[0].rule, "location.unreadable");
}

#[test]
fn the_documents_per_file_cap_is_a_limit_like_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let docs: Vec<String> = (0..3).map(|i| api(&format!("a{i}"), "\"x\"")).collect();
    write(tmp.path(), "catalog-info.yaml", &docs.join("---\n"));
    let spec = LocationSpec::file(tmp.path().to_string_lossy());
    let read = read_location(&spec, &Limits::default());
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(read.entities.len(), 3);
    let lower = Limits {
        max_documents: 2,
        ..Limits::default()
    };
    let read = read_location(&spec, &lower);
    assert!(read.entities.is_empty());
    assert_eq!(read.errors.len(), 1, "{:#?}", read.errors);
    let e = &read.errors[0];
    assert_eq!(e.rule, "yaml.limits");
    assert_eq!(e.message, "the file has more than 2 documents: refused");
    assert!(e.file.ends_with("catalog-info.yaml"), "{}", e.file);
    // The file failed: what it gave before is kept by the store.
    assert_eq!(read.files_failed.len(), 1);
}

const CONTRACT: &str = "apiVersion: v3.1.0
kind: DataContract
id: orders-contract
name: orders
version: 1.0.0
status: active
team:
  name: team-a
customProperties:
  - property: producedBy
    value: orders-api
";

#[test]
fn a_data_contract_in_a_directory_is_the_entity_of_its_data_product() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "data/orders.odcs.yaml", CONTRACT);
    write(root, "data/readme.yaml", "not: a contract\n");
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(read.entities.len(), 1);
    let e = &read.entities[0];
    assert_eq!(e.entity_ref.to_string(), "datacontract:default/orders");
    assert!(e.file.ends_with("data/orders.odcs.yaml"), "{}", e.file);
    let mut relations: Vec<String> = e
        .relations
        .iter()
        .map(|(t, r)| format!("{} {r}", t.as_str()))
        .collect();
    relations.sort();
    assert_eq!(
        relations,
        [
            "dependsOn component:default/orders-api",
            "ownedBy group:default/team-a"
        ]
    );
}

#[test]
fn an_invalid_data_contract_is_refused_with_its_line_and_path() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "orders.odcs.yaml",
        &CONTRACT.replace("status: active", "status: [active]"),
    );
    let read = read_location(
        &LocationSpec::file(root.join("orders.odcs.yaml").to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.entities.is_empty());
    assert_eq!(read.errors.len(), 1, "{:#?}", read.errors);
    let e = &read.errors[0];
    assert_eq!(
        (e.rule.as_str(), e.path.as_str(), e.line),
        ("odcs.schema", "status", Some(6))
    );
}

#[test]
fn a_pipeline_s_lineage_makes_each_contract_depend_on_the_contracts_it_is_built_from() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/data-pipeline");
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    let mut depends: Vec<String> = read
        .entities
        .iter()
        .flat_map(|e| {
            e.relations
                .iter()
                .filter(|(t, _)| t.as_str() == "dependsOn")
                .map(move |(_, r)| format!("{} → {r}", e.entity_ref))
        })
        .collect();
    depends.sort();
    assert_eq!(
        depends,
        [
            "datacontract:default/customers → component:default/shop-pipeline",
            "datacontract:default/customers → datacontract:default/orders_raw",
            "datacontract:default/orders → component:default/shop-pipeline",
            "datacontract:default/orders → datacontract:default/orders_raw",
            "datacontract:default/orders_raw → component:default/shop-pipeline",
            "datacontract:default/revenue_by_day → component:default/shop-pipeline",
            "datacontract:default/revenue_by_day → datacontract:default/orders",
        ]
    );
    let job = read
        .entities
        .iter()
        .find(|e| e.entity_ref.to_string() == "component:default/shop-pipeline")
        .expect("the pipeline's component");
    assert_eq!(job.entity_ref.kind(), "component");
}

#[test]
fn a_pipeline_that_cannot_be_read_adds_no_relation_and_keeps_its_contracts() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "data/orders.odcs.yaml", CONTRACT);
    write(
        root,
        "data/models/a.sql",
        "{{ config(contract='orders.odcs.yaml') }}select * from {{ ref('missing') }}",
    );
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(read.entities.len(), 1);
    let mut relations: Vec<String> = read.entities[0]
        .relations
        .iter()
        .map(|(t, r)| format!("{} {r}", t.as_str()))
        .collect();
    relations.sort();
    assert_eq!(
        relations,
        [
            "dependsOn component:default/orders-api",
            "ownedBy group:default/team-a"
        ]
    );
}

#[test]
fn dedupe_keeps_the_first_of_each_ref_in_order_and_names_it() {
    use socle_catalog::{Entity, EntityRef};
    let entity = |name: &str, file: &str, line: u32| Entity {
        entity_ref: EntityRef::new("component", "default", name),
        body: format!("{{\"n\":\"{name}\",\"file\":\"{file}\"}}"),
        relations: Default::default(),
        file: file.into(),
        location: "loc".into(),
        line,
    };
    let mut errors = Vec::new();
    let kept = socle_ingest::dedupe(
        vec![
            entity("a", "one.yaml", 1),
            entity("b", "one.yaml", 5),
            entity("a", "two.yaml", 3),
            entity("c", "two.yaml", 9),
            entity("b", "three.yaml", 2),
        ],
        &mut errors,
    );
    let kept: Vec<(String, &str)> = kept
        .iter()
        .map(|e| (e.entity_ref.to_string(), &*e.file))
        .collect();
    assert_eq!(
        kept,
        [
            ("component:default/a".to_owned(), "one.yaml"),
            ("component:default/b".to_owned(), "one.yaml"),
            ("component:default/c".to_owned(), "two.yaml"),
        ]
    );
    let reported: Vec<(&str, Option<u32>, &str)> = errors
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        reported,
        [
            (
                "two.yaml",
                Some(3),
                "duplicate entity component:default/a: it is already defined at one.yaml:1"
            ),
            (
                "three.yaml",
                Some(2),
                "duplicate entity component:default/b: it is already defined at one.yaml:5"
            ),
        ]
    );
}
