//! The API keeps its contract (issue 23): every refusal is the documented `{"error": …}` JSON,
//! whoever asks; a caller without a token is refused before its body is read; multi-byte text
//! where a timestamp is expected is a 400, not a panic; the OpenAPI document describes what the
//! server does; a create → deploy → promote → roll back sequence reads back what it wrote.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, both};

/// `from=` with 18 ASCII bytes then `é` (two bytes, across byte 19): found by Schemathesis.
const MULTIBYTE: &str = "aaaaaaaaaaaaaaaaaa%C3%A9";

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

async fn multibyte_timestamps_are_a_400_for_anyone(s: &Server) {
    for path in [
        "/api/v1/dora/report",
        "/api/v1/dora/teams",
        "/api/v1/dora/incidents",
    ] {
        for param in ["from", "to"] {
            let url = format!("{path}?{param}={MULTIBYTE}");
            let (status, body) = s.call("GET", &url, None, None).await;
            assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("RFC 3339"),
                "{url}: {body}"
            );
        }
    }
    // The same text in an imported event's timestamp: the line is named, nothing panics.
    let line = format!(
        "{{\"type\":\"change\",\"id\":\"c1\",\"service\":\"payments\",\"committed_at\":\"{}\"}}\n",
        "aaaaaaaaaaaaaaaaaaé"
    );
    let auth = format!("Bearer {}", s.admin);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let (status, body) = s
        .call_bytes("POST", "/api/v1/dora/events", &headers, line.into_bytes())
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(body["error"]["details"][0]["line"], 1, "{body}");
}
both!(multibyte_timestamps_are_a_400_for_anyone);

async fn extractor_rejections_are_json(s: &Server) {
    // A query string of the wrong type.
    let (status, body) = s
        .call("GET", "/api/v1/entities?limit=many", None, None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, body) = s
        .call("GET", "/api/v1/dora/report?weekly=perhaps", None, None)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    // A JSON body without a JSON content type (axum: 415 text/plain).
    let (status, body) = s
        .call_bytes(
            "POST",
            "/api/v1/policy/eval",
            &[("content-type", "text/plain")],
            br#"{"documents": "a: 1"}"#.to_vec(),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    // A field of the wrong type (axum: 422 text/plain) and malformed JSON (axum: 400 text/plain).
    let (status, body) = s
        .call(
            "POST",
            "/api/v1/policy/eval",
            None,
            Some(json!({"documents": 5})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, body) = s
        .call_bytes(
            "POST",
            "/api/v1/policy/eval",
            &[("content-type", "application/json")],
            b"{not json".to_vec(),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_request");
    // A method the path does not have, and a body past the limit: JSON too, status kept.
    let (status, body) = s.call("PUT", "/api/v1/entities", None, None).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    // The body is announced, not sent: the server answers from the header, and a client still
    // writing 2 MiB would race the server closing the connection (a broken pipe, not an answer).
    let (status, body) = announced_body(s.addr, &s.admin, 2 * 1024 * 1024).await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

/// `POST /api/v1/dora/events` announcing a `len`-byte body and sending none of it; the answer.
async fn announced_body(
    addr: std::net::SocketAddr,
    token: &str,
    len: usize,
) -> (StatusCode, Value) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/dora/events HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\ncontent-type: application/x-ndjson\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("an answer without the body")
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    let code: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        StatusCode::from_u16(code).unwrap(),
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}
both!(extractor_rejections_are_json);

/// The attack: an anonymous client posts bodies of the wrong shape to learn each operation's
/// schema from the validation errors. It learns only that it needs a token.
async fn anonymous_callers_are_refused_before_their_body_is_read(s: &Server) {
    let bodies: [(&str, &str); 10] = [
        ("/api/v1/locations", r#"{"type": 5}"#),
        ("/api/v1/tokens", r#"{"name": []}"#),
        ("/api/v1/deployments", r#"{"workload": 1}"#),
        ("/api/v1/deployments/rollback", r#"{}"#),
        ("/api/v1/deployments/promote", r#"{"service": null}"#),
        ("/api/v1/policy/test", r#"{"files": 3}"#),
        ("/api/v1/policy/waivers", r#"{"rule": 1}"#),
        ("/api/v1/dora/incidents", r#"{"id": {}}"#),
        (
            "/api/v1/templates/anything/runs",
            r#"{"values": 1, "dry_run": "x"}"#,
        ),
        ("/api/v1/dora/events?partial=perhaps", "{}"),
    ];
    for token in [None, Some("not-a-token")] {
        for (path, body) in bodies {
            let auth = token.map(|t| format!("Bearer {t}"));
            let mut headers = vec![("content-type", "application/json")];
            if let Some(a) = &auth {
                headers.push(("authorization", a.as_str()));
            }
            let (status, e) = s
                .call_bytes("POST", path, &headers, body.as_bytes().to_vec())
                .await;
            assert_error(status, &e, StatusCode::UNAUTHORIZED, "unauthenticated");
            let message = e["error"]["message"].as_str().unwrap();
            assert!(
                !message.contains("missing field") && !message.contains("invalid type"),
                "{path}: {message}"
            );
        }
    }
    // The same bodies from an admin are refused for what they are.
    let (status, e) = s
        .call_bytes(
            "POST",
            "/api/v1/tokens",
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {}", s.admin)),
            ],
            br#"{"name": []}"#.to_vec(),
        )
        .await;
    assert_error(status, &e, StatusCode::BAD_REQUEST, "invalid_request");
}
both!(anonymous_callers_are_refused_before_their_body_is_read);

async fn token_validation_is_a_400_not_a_conflict(s: &Server) {
    let (status, e) = s
        .call(
            "POST",
            "/api/v1/tokens",
            Some(&s.admin),
            Some(
                json!({"name": "x".repeat(101), "subject": "serviceaccount:ci", "role": "member"}),
            ),
        )
        .await;
    assert_error(status, &e, StatusCode::BAD_REQUEST, "invalid_request");
}
both!(token_validation_is_a_400_not_a_conflict);

/// Every operation's statuses in the document: each response described, each parameter where it
/// is read, and the statuses the server answers listed.
async fn the_document_describes_the_api(s: &Server) {
    let (status, doc) = s.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or(method);
            for (code, r) in op["responses"].as_object().unwrap() {
                if r["description"].as_str().is_none_or(str::is_empty) {
                    problems.push(format!("{id} {code}: no description"));
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                if in_path != (p["in"] == "path") {
                    problems.push(format!("{id}: {name} is `in: {}`", p["in"]));
                }
            }
            let responses = &op["responses"];
            if op.get("security").is_some() && responses.get("401").is_none() {
                problems.push(format!("{id}: a bearer operation without 401"));
            }
            let reads_input = op.get("requestBody").is_some()
                || op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            if reads_input && responses.get("400").is_none() {
                problems.push(format!("{id}: reads input, no 400"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Lists are documented as the arrays they are.
    for path in [
        "/api/v1/audit",
        "/api/v1/deployments",
        "/api/v1/dora/teams",
        "/api/v1/policy/results",
        "/api/v1/policy/waivers",
        "/api/v1/resources",
        "/api/v1/templates",
        "/api/v1/templates/runs",
    ] {
        let schema =
            &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(schema["type"], "array", "{path}: {schema}");
    }
    let eval = &doc["paths"]["/api/v1/policy/eval"]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(eval["type"], "array", "{eval}");
    let details = &doc["components"]["schemas"]["ErrorContent"]["properties"]["details"];
    assert_eq!(details["type"], json!(["array", "object"]), "{details}");
    // JSON Lines bodies: a media type and a text schema a client can send.
    let ndjson = &doc["paths"]["/api/v1/dora/events"]["post"]["requestBody"]["content"];
    assert_eq!(ndjson["application/x-ndjson"]["schema"]["type"], "string");
    assert_eq!(ndjson["text/plain"]["schema"]["type"], "string");
}
both!(the_document_describes_the_api);

const SEQUENCE_ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
spec:
  type: service
  lifecycle: production
  owner: team-a
";

const SHOP: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: .\n";

/// The operations that need real identifiers, in the order a team uses them: register the
/// catalog (a location), deploy 1.0 and 1.1 to dev, promote dev to staging, roll dev back — and
/// every step reads back as it was written.
async fn a_location_deploy_promote_rollback_sequence_reads_back(s: &Server) {
    let (id, outcome) = s.register_catalog(SEQUENCE_ORG).await;
    assert_eq!(outcome["errors"], json!([]), "{outcome}");
    let (status, loc) = s
        .call("GET", &format!("/api/v1/locations/{id}"), None, None)
        .await;
    assert_eq!(
        (status, loc["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    let ann = s.token("ann", "member").await;
    for version in ["1.0.0", "1.1.0"] {
        let body =
            json!({"workload": SHOP, "environment": "dev", "image": format!("shop:{version}")});
        let (status, d) = s
            .call("POST", "/api/v1/deployments", Some(&ann), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{d}");
        assert_eq!(d["version"], version, "{d}");
    }
    let (status, p) = s
        .call(
            "POST",
            "/api/v1/deployments/promote",
            Some(&ann),
            Some(json!({"service": "shop", "from": "dev", "to": "staging"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(
        (p["environment"].as_str(), p["version"].as_str()),
        (Some("staging"), Some("1.1.0"))
    );
    let (status, r) = s
        .call(
            "POST",
            "/api/v1/deployments/rollback",
            Some(&ann),
            Some(json!({"service": "shop", "environment": "dev"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(
        (r["environment"].as_str(), r["version"].as_str()),
        (Some("dev"), Some("1.0.0"))
    );
    let (status, list) = s
        .call("GET", "/api/v1/deployments?service=shop", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let seen: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["environment"].as_str().unwrap(),
                d["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("dev", "1.0.0"),
            ("staging", "1.1.0"),
            ("dev", "1.1.0"),
            ("dev", "1.0.0")
        ]
    );
}
both!(a_location_deploy_promote_rollback_sequence_reads_back);
