use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use socle_catalog::{EntityRef, Limits};
use socle_data::entity::slug;
use socle_data::{OdcsVersion, load, to_entity};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/odcs")
}

#[derive(serde::Deserialize)]
struct Expected {
    valid: bool,
    errors: Vec<String>,
}

/// `schema[0].properties[1].logicalType` → `$.schema[0].properties[1].logicalType`, as
/// check-jsonschema prints paths.
fn dollar(path: &str) -> String {
    if path.is_empty() {
        "$".into()
    } else {
        format!("$.{path}")
    }
}

#[test]
fn every_example_gets_check_jsonschemas_verdict_error_path_by_error_path() {
    let expected: BTreeMap<String, Expected> = serde_json::from_str(
        &std::fs::read_to_string(corpus().join("expected.json")).expect("conformance/odcs"),
    )
    .unwrap();
    assert_eq!(expected.len(), 9, "the corpus: {:?}", expected.keys());
    for (file, want) in &expected {
        let text = std::fs::read_to_string(corpus().join(file)).unwrap();
        let got = load(&text, file, &Limits::default());
        match (&got, want.valid) {
            (Ok(_), true) => {}
            (Err(errors), false) => {
                let mut paths: Vec<String> = errors.iter().map(|e| dollar(&e.path)).collect();
                paths.sort();
                paths.dedup();
                assert_eq!(paths, want.errors, "{file}: {errors:#?}");
                assert!(errors.iter().all(|e| e.rule == "odcs.schema"), "{file}");
            }
            (Ok(_), false) => panic!("{file}: accepted, check-jsonschema refuses it"),
            (Err(e), true) => panic!("{file}: refused, check-jsonschema accepts it: {e:#?}"),
        }
    }
}

#[test]
fn a_schema_error_points_at_its_line() {
    let text =
        std::fs::read_to_string(corpus().join("data-types/all-data-types.odcs.yaml")).unwrap();
    let errors = load(&text, "types.odcs.yaml", &Limits::default()).unwrap_err();
    let e = errors
        .iter()
        .find(|e| e.path == "schema[0].properties[2].logicalType")
        .unwrap();
    let line = e.line.unwrap() as usize;
    assert!(
        text.lines()
            .nth(line - 1)
            .unwrap()
            .contains("logicalType: timestamp"),
        "line {line}: {e}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("types.odcs.yaml:{line}:")),
        "{e}"
    );
}

const MINIMAL: &str = "apiVersion: v3.1.0
kind: DataContract
id: orders-contract
name: Orders
version: 1.0.0
status: active
domain: sales
team:
  name: team-a
tags: [Finance, 'Order Data']
schema:
  - name: orders
    physicalType: table
    properties:
      - name: order_id
        logicalType: string
        primaryKey: true
      - name: email
        logicalType: string
        classification: pii
customProperties:
  - property: tier
    value: Gold
  - property: system
    value: shop
  - property: producedBy
    value: [orders-api]
  - property: consumedBy
    value: component:default/reporting
";

#[test]
fn a_contract_becomes_the_catalog_entity_of_its_data_product() {
    let c = load(MINIMAL, "orders.odcs.yaml", &Limits::default()).unwrap();
    assert_eq!(c.version, OdcsVersion::V3_1);
    let e = to_entity(&c).unwrap();
    assert_eq!(e["apiVersion"], "socle.dev/v1alpha1");
    assert_eq!(e["kind"], "DataContract");
    assert_eq!(e["metadata"]["name"], "Orders");
    assert_eq!(
        e["metadata"]["tags"],
        serde_json::json!(["finance", "order-data"])
    );
    assert_eq!(
        e["metadata"]["annotations"]["socle.dev/odcs-id"],
        "orders-contract"
    );
    let spec = &e["spec"];
    assert_eq!(spec["owner"], "team-a");
    assert_eq!(spec["lifecycle"], "active");
    assert_eq!(spec["domain"], "sales");
    assert_eq!(spec["tier"], "gold");
    assert_eq!(spec["system"], "shop");
    assert_eq!(spec["dependsOn"], serde_json::json!(["orders-api"]));
    assert_eq!(
        spec["dependencyOf"],
        serde_json::json!(["component:default/reporting"])
    );
    assert_eq!(spec["schema"][0]["properties"][1]["classification"], "pii");
    assert_eq!(spec["schema"][0]["properties"][0]["primaryKey"], true);
}

#[test]
fn the_full_example_is_owned_by_its_team() {
    let text = std::fs::read_to_string(corpus().join("all/full-example.odcs.yaml")).unwrap();
    let c = load(&text, "full.odcs.yaml", &Limits::default()).unwrap();
    let e = to_entity(&c).unwrap();
    assert_eq!(e["metadata"]["name"], "my-quantum");
    assert_eq!(e["spec"]["owner"], "my-team");
    assert_eq!(e["spec"]["servers"][0]["type"], "postgres");
}

#[test]
fn a_contract_without_an_owner_says_how_to_name_one() {
    let text = MINIMAL.replace("team:\n  name: team-a\n", "");
    let c = load(&text, "o.odcs.yaml", &Limits::default()).unwrap();
    let errors = to_entity(&c).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].rule, "odcs.owner");
    assert!(
        errors[0].message.contains("custom property `owner`"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_tier_outside_the_medallion_is_refused_at_its_line() {
    let text = MINIMAL.replace("value: Gold", "value: platinum");
    let c = load(&text, "t.odcs.yaml", &Limits::default()).unwrap();
    let errors = to_entity(&c).unwrap_err();
    assert_eq!(errors[0].path, "customProperties[0].value");
    let line = errors[0].line.unwrap() as usize;
    assert_eq!(
        text.lines().nth(line - 1).unwrap().trim(),
        "value: platinum"
    );
}

#[test]
fn a_producer_that_is_not_a_reference_is_refused() {
    let text = MINIMAL.replace("value: [orders-api]", "value: [{name: x}]");
    let c = load(&text, "p.odcs.yaml", &Limits::default()).unwrap();
    let errors = to_entity(&c).unwrap_err();
    assert_eq!(errors[0].rule, "odcs.custom-property");
    assert!(
        errors[0].message.starts_with("producedBy:"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_unknown_api_version_is_named() {
    let text = MINIMAL.replace("v3.1.0", "v2.2.2");
    let errors = load(&text, "v.odcs.yaml", &Limits::default()).unwrap_err();
    assert_eq!(errors[0].rule, "odcs.api-version");
    assert_eq!(errors[0].line, Some(1));
    assert!(errors[0].message.contains("\"v2.2.2\""), "{}", errors[0]);
}

#[test]
fn one_contract_per_file() {
    let text = format!("{MINIMAL}---\n{MINIMAL}");
    let errors = load(&text, "two.odcs.yaml", &Limits::default()).unwrap_err();
    assert_eq!(errors[0].rule, "odcs.documents");
    assert_eq!(errors[0].line, Some(MINIMAL.lines().count() as u32 + 2));
}

#[test]
fn a_yaml_syntax_error_is_located() {
    let errors = load(
        "apiVersion: v3.1.0\nkind: [\n",
        "bad.odcs.yaml",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(errors[0].rule, "yaml.syntax");
    assert!(errors[0].line.is_some());
}

proptest! {
    #[test]
    fn a_slug_is_always_a_valid_catalog_name(text in "\\PC{0,100}") {
        if let Some(s) = slug(&text) {
            prop_assert!(s.len() <= 63);
            prop_assert!(EntityRef::parse(&format!("datacontract:default/{s}"), None, "default").is_ok(), "{s:?}");
        }
    }
}
