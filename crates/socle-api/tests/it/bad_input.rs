//! Bad input never crashes and never loses what was there: each case gives a precise error, and
//! the previous good catalog is still served.

use hyper::StatusCode;
use serde_json::Value;

use crate::harness::{GOOD, Server, both};

fn laughs(levels: usize) -> String {
    let mut s = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..levels {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    s
}

struct Case {
    name: &'static str,
    /// Files to write (relative path, bytes); `catalog-info.yaml` replaces the good one.
    files: Vec<(&'static str, Vec<u8>)>,
    rule: &'static str,
    line: Option<u32>,
    path: &'static str,
    message: &'static str,
}

fn cases() -> Vec<Case> {
    let bad_ref = GOOD.replace(
        "dependsOn: [resource:payments-db]",
        "dependsOn: [payments-db]",
    );
    let unknown_kind = format!(
        "{GOOD}---\napiVersion: backstage.io/v1alpha1\nkind: Widget\nmetadata:\n  name: w\n"
    );
    let duplicate = GOOD
        .split("---")
        .nth(1)
        .unwrap()
        .replace("Takes the money", "An impostor");
    let mut huge = GOOD.as_bytes().to_vec();
    huge.extend(std::iter::repeat_n(b'#', 70 * 1024));
    let mut non_utf8 = GOOD.as_bytes().to_vec();
    non_utf8.extend_from_slice(b"\n# caf\xe9\n");
    vec![
        Case {
            name: "malformed YAML",
            files: vec![("catalog-info.yaml", b"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n".to_vec())],
            rule: "yaml.syntax",
            line: Some(4),
            path: "",
            message: "invalid YAML: ",
        },
        Case { name: "YAML bomb", files: vec![("catalog-info.yaml", laughs(9).into_bytes())], rule: "yaml.limits", line: Some(5), path: "", message: "the document expands to more than 65536 bytes of text: refused" },
        Case {
            name: "deep nesting",
            files: vec![("catalog-info.yaml", format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200)).into_bytes())],
            rule: "yaml.limits",
            line: Some(1),
            path: "",
            message: "the document is nested more than 32 levels deep: refused",
        },
        Case { name: "huge file", files: vec![("catalog-info.yaml", huge)], rule: "file.too-large", line: None, path: "", message: "more than the limit of 65536 bytes" },
        Case { name: "unknown kind", files: vec![("catalog-info.yaml", unknown_kind.into_bytes())], rule: "kind.unknown", line: Some(34), path: "kind", message: "unknown kind \"Widget\"; expected one of Component, API" },
        Case {
            name: "duplicate entity",
            files: vec![("catalog-info.yaml", GOOD.as_bytes().to_vec()), ("copy/catalog-info.yaml", duplicate.into_bytes())],
            rule: "entity.duplicate",
            line: Some(2),
            path: "",
            message: "duplicate entity component:default/payments: it is already defined at",
        },
        Case {
            name: "invalid ref",
            files: vec![("catalog-info.yaml", bad_ref.into_bytes())],
            rule: "spec.dependsOn.ref",
            line: Some(20),
            path: "spec.dependsOn[0]",
            message: "entity reference \"payments-db\" has no kind and this field has no default kind",
        },
        Case { name: "non-UTF-8", files: vec![("catalog-info.yaml", non_utf8)], rule: "file.encoding", line: Some(33), path: "", message: "file is not valid UTF-8: invalid byte at offset" },
    ]
}

async fn assert_good_catalog_served(s: &Server, case: &str) {
    let (status, e) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/payments",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}: payments no longer served");
    assert_eq!(e["metadata"]["description"], "Takes the money", "{case}");
    assert_eq!(
        e["relations"][0]["targetRef"], "resource:default/payments-db",
        "{case}"
    );
    let (_, g) = s
        .call("GET", "/api/v1/entities/group/default/team-a", None, None)
        .await;
    assert_eq!(g["metadata"]["name"], "team-a", "{case}");
    let (_, a) = s
        .call(
            "GET",
            "/api/v1/entities/api/default/payments-api",
            None,
            None,
        )
        .await;
    assert_eq!(a["spec"]["type"], "openapi", "{case}");
}

async fn bad_input_is_reported_and_loses_nothing(s: &Server) {
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
    let (id, outcome) = s.register(&dir).await;
    assert_eq!(outcome["added"], 3);
    for case in cases() {
        for (path, bytes) in &case.files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        let outcome = s.refresh(&id).await;
        let errors = outcome["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{}: {outcome:#}", case.name);
        let err = &errors[0];
        assert_eq!(err["rule"], case.rule, "{}: {err:#}", case.name);
        assert_eq!(
            err["line"].as_u64().map(|l| l as u32),
            case.line,
            "{}: {err:#}",
            case.name
        );
        assert_eq!(err["path"], case.path, "{}: {err:#}", case.name);
        assert!(
            err["message"].as_str().unwrap().contains(case.message),
            "{}: {err:#}",
            case.name
        );
        assert!(
            err["file"]
                .as_str()
                .unwrap()
                .ends_with(case.files.last().unwrap().0),
            "{}: {err:#}",
            case.name
        );
        assert_eq!(outcome["removed"], 0, "{}", case.name);
        assert_eq!(outcome["status"], "errors", "{}", case.name);
        assert_good_catalog_served(s, case.name).await;
        let (_, loc) = s
            .call("GET", &format!("/api/v1/locations/{id}"), None, None)
            .await;
        assert_eq!(loc["status"], "errors", "{}", case.name);
        assert_eq!(loc["errors"][0]["rule"], case.rule, "{}", case.name);
        // Restore the good state for the next case.
        let _ = std::fs::remove_dir_all(dir.join("copy"));
        std::fs::write(dir.join("catalog-info.yaml"), GOOD).unwrap();
        let outcome = s.refresh(&id).await;
        assert_eq!(outcome["status"], "ok", "{}: {outcome:#}", case.name);
    }
    let _: Value = Value::Null;
}
both!(bad_input_is_reported_and_loses_nothing);

/// A mistyped target is refused, not kept to fail on every refresh.
async fn a_location_that_cannot_be_read_is_not_registered(s: &Server) {
    let missing = s.catalog_dir().join("no-such-dir");
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/locations",
            Some(&s.admin),
            Some(serde_json::json!({"type": "file", "target": missing.to_string_lossy()})),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was registered"),
        "{e}"
    );
    let (_, list) = s.call("GET", "/api/v1/locations", None, None).await;
    assert_eq!(list, serde_json::json!([]));
}
both!(a_location_that_cannot_be_read_is_not_registered);

/// Every API error has the `{"error": …}` body: unknown routes and malformed query strings too.
async fn unknown_routes_and_malformed_queries_answer_the_error_body(s: &Server) {
    let (status, e) = s.call("GET", "/api/v1/no-such-thing", None, None).await;
    assert_eq!(status, axum::http::StatusCode::NOT_FOUND);
    assert_eq!(e["error"]["code"], "not_found", "{e}");
    let (status, e) = s
        .call("GET", "/api/v1/entities?limit=many", None, None)
        .await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["code"], "invalid_request", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("limit"),
        "{e}"
    );
}
both!(unknown_routes_and_malformed_queries_answer_the_error_body);
