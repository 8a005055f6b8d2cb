//! Hostile parameter values against every shipped golden path: each value is either refused by
//! the template's parameter schema (before any step) or lands as exactly that one value in
//! every structured file — never a second document, a new key or a group.

use serde_json::{Value, json};
use socle_scaffold::RunOptions;
use socle_scaffold::builtin::golden_paths;
use socle_scaffold::engine::RunError;

fn hostile() -> Vec<String> {
    let mut v: Vec<String> = [
        "svc\nkind: Group",
        "shop\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: pwn\nspec:\n  type: team\n  children: [root]\n  members: [eve]",
        "x\" , \"children\": [\"root\"]",
        "a: b",
        "it's a 'quote'",
        "tab\there",
        "{{ 7*7 }}",
        "${{ values.name }}",
        "!!binary aGVsbG8=",
        "&a [*a, *a]",
        "# comment",
        "- item",
        "true",
        "team-a",
        "group:default/team-a",
        "é ünïcödé",
        "back\\slash",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("y".repeat(5000));
    v
}

fn values() -> Value {
    json!({
        "name": "orders-api", "description": "Takes orders", "owner": "group:default/team-a",
        "system": "shop", "lifecycle": "production", "database": true,
        "repoUrl": "https://git.example.com/acme/orders-api"
    })
}

/// Every YAML, JSON and TOML-less structured file of the output parses; returns catalog-info's
/// documents.
fn check_structured(ws: &std::path::Path, context: &str) -> Vec<Value> {
    let mut catalog = Vec::new();
    for entry in walkdir::WalkDir::new(ws) {
        let entry = entry.unwrap();
        let path = entry.path();
        let name = path.to_string_lossy();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(_) => continue,
        };
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
                .unwrap_or_else(|e| panic!("{context}: {name} is not YAML: {e}\n{text}"));
            if name.ends_with("catalog-info.yaml") {
                catalog = docs;
            }
        } else if name.ends_with(".json") {
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("{context}: {name} is not JSON: {e}\n{text}"));
        }
    }
    catalog
}

#[tokio::test]
async fn hostile_values_are_refused_or_stay_one_value() {
    let engine = crate::engine();
    let fields = [
        ("name", "/metadata/name"),
        ("description", "/metadata/description"),
        ("owner", "/spec/owner"),
        ("system", "/spec/system"),
    ];
    let (mut refused, mut rendered) = (0, 0);
    for (template, text, source) in golden_paths() {
        let t = engine.load(text, &template).unwrap();
        for (field, pointer) in fields {
            for value in hostile() {
                let context = format!("{template} {field}={value:?}");
                let mut v = values();
                v[field] = json!(value);
                let ws = tempfile::tempdir().unwrap();
                let opts = RunOptions {
                    workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                    dry_run: true,
                    user: json!({"ref": "user:default/eve"}),
                    secrets: json!({}),
                    live: None,
                    cancel: None,
                };
                let r = engine.run(&t, &source, v, opts).await;
                match &r.error {
                    Some(RunError::Parameters { errors }) => {
                        assert!(
                            errors.iter().any(|e| e.path == format!("/{field}")),
                            "{context}: {errors:?}"
                        );
                        assert!(r.steps.is_empty(), "{context}");
                        refused += 1;
                        continue;
                    }
                    Some(other) => panic!("{context}: {other:?}"),
                    None => {}
                }
                let catalog = check_structured(ws.path(), &context);
                assert_eq!(catalog.len(), 1, "{context}: {catalog:?}");
                assert_eq!(catalog[0]["kind"], "Component", "{context}");
                assert_eq!(
                    catalog[0].pointer(pointer),
                    Some(&json!(value)),
                    "{context}"
                );
                rendered += 1;
            }
        }
    }
    // Both paths were exercised: patterns refuse most, escaping carries the rest.
    assert!(refused > 100 && rendered > 20, "{refused} {rendered}");
}
