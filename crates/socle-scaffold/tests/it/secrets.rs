//! Secret parameters are redacted from a run's result (parameters, log, steps, output, error)
//! and live log wherever their page declares them, and their values wherever they appear.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use socle_scaffold::builtin::DirSource;
use socle_scaffold::params::{Seg, secret_names, secret_paths};
use socle_scaffold::{LiveLog, RunOptions, RunResult};

/// Logs every parameter, hands them all to a side-effecting action and to the output.
fn template(parameters: &Value) -> String {
    format!(
        "apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: t
spec:
  parameters: {parameters}
  steps:
    - id: log
      action: debug:log
      input:
        message: \"all: ${{{{ parameters }}}}\"
    - id: publish
      action: publish:git
      input:
        remote: ${{{{ parameters }}}}
  output:
    text: \"${{{{ parameters }}}}\"
"
    )
}

/// Runs the template (dry run, then a real one) with a live log; each result and live log as
/// JSON text.
async fn run(parameters: Value, values: Value, secrets: Value) -> Vec<(RunResult, String)> {
    let engine = crate::engine();
    let text = template(&parameters);
    let t = engine
        .load(&text, "t.yaml")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let dir = tempfile::tempdir().unwrap();
    let src = DirSource {
        root: dir.path().to_path_buf(),
    };
    let mut out = Vec::new();
    for dry_run in [true, false] {
        let ws = tempfile::tempdir().unwrap();
        let live: LiveLog = Arc::new(Mutex::new(Vec::new()));
        let r = engine
            .run(
                &t,
                &src,
                values.clone(),
                RunOptions {
                    workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                    dry_run,
                    user: json!({"ref": "user:default/ann"}),
                    secrets: secrets.clone(),
                    live: Some(live.clone()),
                    cancel: None,
                },
            )
            .await;
        let live = serde_json::to_string(&*live.lock().unwrap()).unwrap();
        out.push((r, live));
    }
    out
}

/// The secret appears nowhere in the results or live logs; `***` stands where it was, at
/// `pointer` in the recorded parameters.
async fn assert_redacted(parameters: Value, values: Value, pointer: &str, secret: &str) {
    for (r, live) in run(parameters, values, json!({})).await {
        assert_eq!(
            r.status,
            socle_scaffold::RunStatus::Completed,
            "{:?}",
            r.error
        );
        let record = serde_json::to_string(&r).unwrap();
        assert!(!record.contains(secret), "dry run {}: {record}", r.dry_run);
        assert!(!live.contains(secret), "{live}");
        assert_eq!(
            r.parameters.pointer(pointer),
            Some(&json!("***")),
            "{record}"
        );
        assert!(
            r.log.iter().any(|l| l.message.contains("***")),
            "{:?}",
            r.log
        );
        assert!(live.contains("***"), "{live}");
    }
}

fn secret() -> Value {
    json!({"type": "string", "ui:field": "Secret"})
}

#[tokio::test]
async fn a_top_level_secret_is_redacted() {
    let p = json!({"properties": {"name": {"type": "string"}, "pin": secret()}});
    assert_redacted(
        p,
        json!({"name": "a", "pin": "s3cr3t-top"}),
        "/pin",
        "s3cr3t-top",
    )
    .await;
}

#[tokio::test]
async fn a_password_widget_is_redacted() {
    let p = json!({"properties": {"pin": {"type": "string", "ui:widget": "password"}}});
    assert_redacted(p, json!({"pin": "s3cr3t-widget"}), "/pin", "s3cr3t-widget").await;
}

#[tokio::test]
async fn a_secret_under_all_of_is_redacted() {
    let p = json!({"allOf": [{"properties": {"pin": secret()}}]});
    assert_redacted(p, json!({"pin": "s3cr3t-allof"}), "/pin", "s3cr3t-allof").await;
}

#[tokio::test]
async fn a_secret_under_any_of_is_redacted() {
    let p = json!({"anyOf": [
        {"properties": {"n": {"type": "number"}}, "required": ["n"]},
        {"properties": {"pin": secret()}, "required": ["pin"]}
    ]});
    assert_redacted(p, json!({"pin": "s3cr3t-anyof"}), "/pin", "s3cr3t-anyof").await;
}

#[tokio::test]
async fn a_secret_under_one_of_is_redacted() {
    let p = json!({"oneOf": [
        {"properties": {"pin": secret()}, "required": ["pin"]},
        {"properties": {"n": {"type": "number"}}, "required": ["n"]}
    ]});
    assert_redacted(p, json!({"pin": "s3cr3t-oneof"}), "/pin", "s3cr3t-oneof").await;
}

#[tokio::test]
async fn a_secret_under_if_is_redacted() {
    let p = json!({"if": {"properties": {"pin": secret()}}, "then": {}});
    assert_redacted(p, json!({"pin": "s3cr3t-if"}), "/pin", "s3cr3t-if").await;
}

#[tokio::test]
async fn a_secret_under_then_is_redacted() {
    let p = json!({
        "properties": {"mode": {"type": "string"}},
        "if": {"properties": {"mode": {"const": "token"}}, "required": ["mode"]},
        "then": {"properties": {"pin": secret()}}
    });
    let values = json!({"mode": "token", "pin": "s3cr3t-then"});
    assert_redacted(p, values, "/pin", "s3cr3t-then").await;
}

#[tokio::test]
async fn a_secret_under_else_is_redacted() {
    let p = json!({
        "properties": {"mode": {"type": "string"}},
        "if": {"properties": {"mode": {"const": "token"}}, "required": ["mode"]},
        "else": {"properties": {"pin": secret()}}
    });
    let values = json!({"mode": "basic", "pin": "s3cr3t-else"});
    assert_redacted(p, values, "/pin", "s3cr3t-else").await;
}

#[tokio::test]
async fn a_secret_under_a_schema_dependency_is_redacted() {
    let p = json!({
        "properties": {"useDb": {"type": "boolean"}},
        "dependencies": {"useDb": {"properties": {"dbPin": secret()}}}
    });
    let values = json!({"useDb": true, "dbPin": "s3cr3t-dependency"});
    assert_redacted(p, values, "/dbPin", "s3cr3t-dependency").await;
}

#[tokio::test]
async fn a_secret_beside_a_property_dependency_is_redacted() {
    // A property dependency (a list of names) holds no schema: the secret it requires is
    // declared by a schema dependency and a `dependentSchemas` entry.
    let p = json!({
        "properties": {"user": {"type": "string"}},
        "dependencies": {
            "user": ["apiPin"],
            "apiPin": {"properties": {"apiPin": secret()}}
        },
        "dependentSchemas": {"user": {"properties": {"otherPin": secret()}}}
    });
    let values =
        json!({"user": "ann", "apiPin": "s3cr3t-prop-dep", "otherPin": "s3cr3t-dependent"});
    assert_redacted(p.clone(), values.clone(), "/apiPin", "s3cr3t-prop-dep").await;
    assert_redacted(p, values, "/otherPin", "s3cr3t-dependent").await;
}

#[tokio::test]
async fn a_secret_in_nested_properties_is_redacted() {
    let p = json!({"properties": {"db": {"type": "object", "properties": {
        "host": {"type": "string"},
        "auth": {"type": "object", "properties": {"pin": secret()}}
    }}}});
    let values = json!({"db": {"host": "db.internal", "auth": {"pin": "s3cr3t-nested"}}});
    assert_redacted(p, values, "/db/auth/pin", "s3cr3t-nested").await;
}

#[tokio::test]
async fn a_secret_in_array_items_is_redacted() {
    let p = json!({"properties": {"keys": {"type": "array", "items": secret()}}});
    let values = json!({"keys": ["s3cr3t-item-1", "s3cr3t-item-2"]});
    assert_redacted(p.clone(), values.clone(), "/keys/0", "s3cr3t-item-1").await;
    assert_redacted(p, values, "/keys/1", "s3cr3t-item-2").await;
}

#[tokio::test]
async fn a_secret_behind_a_local_ref_is_redacted() {
    let p = json!({
        "definitions": {"pin": secret()},
        "properties": {"pin": {"$ref": "#/definitions/pin"}}
    });
    assert_redacted(p, json!({"pin": "s3cr3t-ref"}), "/pin", "s3cr3t-ref").await;
}

#[tokio::test]
async fn secret_values_are_redacted_even_when_quoted_escaped() {
    // JSON escaping in the log (`\"`, `\n`) must not let the value through.
    let p = json!({"properties": {"pin": secret()}});
    let value = "s3cr3t \"quoted\"\nline";
    for (r, live) in run(p, json!({"pin": value}), json!({})).await {
        let record = serde_json::to_string(&r).unwrap();
        assert!(!record.contains("quoted"), "{record}");
        assert!(!live.contains("quoted"), "{live}");
    }
}

#[tokio::test]
async fn the_runs_secrets_are_redacted() {
    let p = json!({"properties": {"name": {"type": "string"}}});
    let engine = crate::engine();
    let text = template(&p).replace(
        "all: ${{ parameters }}",
        "token ${{ secrets.deployKey }} for ${{ parameters.name }}",
    );
    let t = engine.load(&text, "t.yaml").unwrap();
    let ws = tempfile::tempdir().unwrap();
    let r = engine
        .run(
            &t,
            &DirSource {
                root: ws.path().to_path_buf(),
            },
            json!({"name": "svc"}),
            RunOptions {
                workspace: std::sync::Arc::new(socle_scaffold::DiskWorkspace::new(ws.path())),
                dry_run: false,
                user: json!({}),
                secrets: json!({"deployKey": "s3cr3t-context"}),
                live: None,
                cancel: None,
            },
        )
        .await;
    assert_eq!(
        r.status,
        socle_scaffold::RunStatus::Completed,
        "{:?}",
        r.error
    );
    assert_eq!(r.log[1].message, "token *** for svc");
    assert!(
        !serde_json::to_string(&r)
            .unwrap()
            .contains("s3cr3t-context")
    );
}

#[tokio::test]
async fn a_secret_quoted_in_a_parameter_error_is_redacted() {
    let p =
        json!({"properties": {"pin": {"type": "string", "ui:field": "Secret", "minLength": 40}}});
    for (r, live) in run(p, json!({"pin": "s3cr3t-short"}), json!({})).await {
        assert_eq!(r.status, socle_scaffold::RunStatus::Failed);
        let record = serde_json::to_string(&r).unwrap();
        assert!(record.contains("shorter than 40"), "{record}");
        assert!(!record.contains("s3cr3t-short"), "{record}");
        assert!(!live.contains("s3cr3t-short"), "{live}");
    }
}

#[test]
fn secret_paths_name_every_construct() {
    let p = json!([
        {"properties": {"a": secret()}, "allOf": [{"properties": {"b": secret()}}]},
        {"if": {"properties": {"c": secret()}}, "then": {"properties": {"d": secret()}},
         "else": {"properties": {"e": secret()}},
         "dependencies": {"x": ["f"], "y": {"properties": {"f": secret()}}},
         "properties": {"o": {"properties": {"g": secret()}, "additionalProperties": secret()}}}
    ]);
    let key = |k: &str| Seg::Key(k.into());
    assert_eq!(
        secret_paths(&p),
        vec![
            vec![key("a")],
            vec![key("b")],
            vec![key("c")],
            vec![key("d")],
            vec![key("e")],
            vec![key("f")],
            vec![key("o"), key("g")],
            vec![key("o"), Seg::AnyKey],
        ]
    );
    assert_eq!(secret_names(&p), vec!["a", "b", "c", "d", "e", "f", "o"]);
}

#[test]
fn a_ref_cycle_ends() {
    let p = json!({
        "definitions": {"loop": {"allOf": [{"$ref": "#/definitions/loop"}, {"$ref": "#/definitions/loop"}]}},
        "properties": {"x": {"$ref": "#/definitions/loop"}, "pin": secret()}
    });
    assert_eq!(secret_paths(&p), vec![vec![Seg::Key("pin".into())]]);
}

#[test]
fn past_the_depth_bound_everything_there_is_secret() {
    let mut schema = json!({"type": "string"});
    for _ in 0..100 {
        schema = json!({"allOf": [schema]});
    }
    let p = json!({"properties": {"pin": secret(), "deep": schema}});
    let key = |k: &str| Seg::Key(k.into());
    assert_eq!(secret_paths(&p), vec![vec![key("deep")], vec![key("pin")]]);
}

#[test]
fn a_ref_graph_is_searched_once_per_path() {
    // Each definition names the next one ten times: a million walks without memory of what was
    // seen, past the visit bound (where everything would be held secret).
    let mut defs = serde_json::Map::new();
    for i in 0..6 {
        let next = json!({"$ref": format!("#/definitions/d{}", i + 1)});
        defs.insert(format!("d{i}"), json!({"allOf": vec![next; 10]}));
    }
    defs.insert("d6".into(), json!({"type": "string"}));
    let p = json!({"definitions": defs, "properties": {"x": {"$ref": "#/definitions/d0"}}});
    assert_eq!(secret_paths(&p), Vec::<Vec<Seg>>::new());
}
