//! The newer kinds and shapes (Backstage's `Environment` and `AiResource`, an API of type
//! `mcp-server`): fixtures under `tests/data/kinds/` validate and relate as Backstage's catalog
//! model says; their errors are in the golden files of `tests/data/errors/`.

use std::path::Path;

use socle_catalog::{DocContext, Entity, EntityError, Limits, NoReader, process_text};

fn read(case: &str) -> (Vec<Entity>, Vec<EntityError>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kinds")
        .join(case);
    let text = std::fs::read_to_string(path).unwrap();
    let ctx = DocContext {
        file: case.into(),
        location: format!("file:{case}").into(),
        origin: "file:catalog-info.yaml",
        reader: &NoReader,
        limits: &Limits::default(),
    };
    process_text(&text, &ctx)
}

/// Each entity's ref with its relations, `type target`, in order.
fn related(entities: &[Entity]) -> Vec<(String, Vec<String>)> {
    entities
        .iter()
        .map(|e| {
            let rels = e
                .relations
                .iter()
                .map(|(t, target)| format!("{} {target}", t.as_str()))
                .collect();
            (e.entity_ref.to_string(), rels)
        })
        .collect()
}

fn owned(r: &str, rels: &[&str]) -> (String, Vec<String>) {
    (r.to_owned(), rels.iter().map(|s| (*s).to_owned()).collect())
}

#[test]
fn environments_validate_and_their_owner_is_related() {
    let (entities, errors) = read("environments.yaml");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        related(&entities),
        [
            owned(
                "environment:default/staging",
                &["ownedBy group:default/platform-team"]
            ),
            owned("environment:default/production", &[]),
        ]
    );
    assert_eq!(entities[1].value()["spec"]["type"], "kubernetes");
}

#[test]
fn ai_resources_validate_with_the_shape_of_their_type() {
    let (entities, errors) = read("ai-resources.yaml");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        related(&entities),
        [
            owned(
                "airesource:default/api-client-skill",
                &[
                    "ownedBy group:default/team-a",
                    "partOf system:default/developer-tooling",
                    "dependsOn airesource:default/typescript-style",
                ]
            ),
            owned(
                "airesource:default/no-raw-sql",
                &["ownedBy group:default/data-platform"]
            ),
            owned(
                "airesource:default/incident-prompts",
                &["ownedBy group:default/sre"]
            ),
        ]
    );
}

#[test]
fn an_mcp_server_api_needs_remotes_not_a_definition() {
    let (entities, errors) = read("mcp-server.yaml");
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        related(&entities),
        [owned(
            "api:default/catalog-tools",
            &[
                "ownedBy group:default/team-b",
                "partOf system:default/developer-tooling"
            ]
        )]
    );
    assert_eq!(
        entities[0].value()["spec"]["remotes"][1]["url"],
        "npx catalog-tools"
    );
}

#[test]
fn kinds_are_spelled_as_backstage_spells_them() {
    let text = "apiVersion: backstage.io/v1alpha1\nkind: AIResource\nmetadata:\n  name: x\nspec:\n  type: skill\n  lifecycle: production\n  owner: a\n";
    let ctx = DocContext {
        file: "f.yaml".into(),
        location: "file:f.yaml".into(),
        origin: "file:f.yaml",
        reader: &NoReader,
        limits: &Limits::default(),
    };
    let (entities, errors) = process_text(text, &ctx);
    assert!(entities.is_empty());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].rule, "kind.unknown");
    assert!(
        errors[0].message.contains("did you mean AiResource?"),
        "{}",
        errors[0].message
    );
}
