//! Tests for OpenAPI parsing and the operations view.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use socle_ui::openapi::{ApiDoc, OpenApiError, Operation, Param, parse, render};

const NOT_OPENAPI: &str =
    "not an OpenAPI document: expected an `openapi: 3.x` or `swagger: 2.0` field";

fn apis_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage/examples/apis")
}

/// Reads a Backstage API entity and returns its `spec.definition` value.
fn entity_definition(file: &str) -> Value {
    let path = apis_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let entity: Value = serde_saphyr::from_str(&text).expect("entity YAML");
    entity
        .pointer("/spec/definition")
        .cloned()
        .expect("spec.definition")
}

/// The inline `spec.definition` string of an entity.
fn inline_definition(file: &str) -> String {
    entity_definition(file)
        .as_str()
        .expect("an inline definition string")
        .to_owned()
}

fn method_paths(doc: &ApiDoc) -> Vec<(String, String)> {
    doc.operations
        .iter()
        .map(|op| (op.method.clone(), op.path.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn petstore_entity() {
    let doc = parse(&inline_definition("petstore-api.yaml")).expect("petstore parses");
    assert_eq!(doc.title.as_deref(), Some("Swagger Petstore"));
    assert_eq!(doc.version.as_deref(), Some("1.0.0"));
    assert_eq!(doc.servers, ["http://petstore.swagger.io/v1"]);
    assert_eq!(
        method_paths(&doc),
        pairs(&[
            ("GET", "/pets"),
            ("POST", "/pets"),
            ("GET", "/pets/{petId}")
        ])
    );

    let list = &doc.operations[0];
    assert_eq!(list.operation_id.as_deref(), Some("listPets"));
    assert_eq!(list.summary.as_deref(), Some("List all pets"));
    assert_eq!(list.tags, ["pets"]);
    assert_eq!(
        list.parameters,
        [Param {
            name: "limit".into(),
            location: "query".into(),
            required: false,
            schema_type: Some("integer (int32)".into()),
            description: Some("How many items to return at one time (max 100)".into()),
        }]
    );
    assert_eq!(
        list.responses,
        pairs(&[
            ("200", "A paged array of pets"),
            ("default", "unexpected error")
        ])
    );
    assert!(list.request_body.is_empty());
    assert!(!list.deprecated);

    let create = &doc.operations[1];
    assert_eq!(create.operation_id.as_deref(), Some("createPets"));
    assert!(create.parameters.is_empty());
    assert_eq!(
        create.responses,
        pairs(&[("201", "Null response"), ("default", "unexpected error")])
    );

    let show = &doc.operations[2];
    assert_eq!(show.operation_id.as_deref(), Some("showPetById"));
    assert_eq!(show.parameters.len(), 1);
    assert_eq!(show.parameters[0].name, "petId");
    assert_eq!(show.parameters[0].location, "path");
    assert!(show.parameters[0].required);
    assert_eq!(show.parameters[0].schema_type.as_deref(), Some("string"));

    let html = render(&doc).into_string();
    assert_eq!(html.matches("<details class=\"op op-get\">").count(), 2);
    assert_eq!(html.matches("<details class=\"op op-post\">").count(), 1);
    assert!(html.contains("<h3 class=\"op-group-title\">pets</h3>"));
    assert!(!html.contains(">Other</h3>"));
}

#[test]
fn petstore_webhook_entity_via_relative_text() {
    // This entity's definition is `$text: ./petstore-webhook.oas.yaml`, a file next to it.
    let definition = entity_definition("petstore-webhook-api.yaml");
    let target = definition
        .get("$text")
        .and_then(Value::as_str)
        .expect("a $text reference");
    assert_eq!(target, "./petstore-webhook.oas.yaml");
    let text = std::fs::read_to_string(apis_dir().join(target)).expect("the referenced file");
    let doc = parse(&text).expect("OpenAPI 3.1 parses");
    assert_eq!(doc.title.as_deref(), Some("Webhook Example"));
    assert_eq!(doc.version.as_deref(), Some("1.0.0"));
    // Only webhooks, no `paths`: no operations.
    assert!(doc.operations.is_empty());
    assert!(doc.servers.is_empty());
    assert!(
        render(&doc)
            .into_string()
            .contains("This definition has no operations.")
    );
}

#[test]
fn external_definitions_are_not_inline() {
    // spotify and wayback-* point at github.com; they cannot be fetched offline and the
    // view only ever receives already-loaded text.
    for (file, host) in [
        ("spotify-api.yaml", "https://github.com/APIs-guru/"),
        ("wayback-archive-api.yaml", "https://github.com/APIs-guru/"),
        ("wayback-search-api.yaml", "https://github.com/APIs-guru/"),
    ] {
        let definition = entity_definition(file);
        let target = definition.get("$text").and_then(Value::as_str);
        assert!(
            target.is_some_and(|t| t.starts_with(host) && t.ends_with("openapi.yaml")),
            "{file}: {definition}"
        );
    }
}

#[test]
fn other_api_types_are_refused() {
    // An AsyncAPI definition is valid YAML but not OpenAPI.
    let asyncapi = inline_definition("streetlights-api.yaml");
    assert_not_openapi(&asyncapi);
    assert_not_openapi("{\"graphql\": true}");
    assert_not_openapi("openapi: 2.5\npaths: {}");
    assert_not_openapi("- a\n- b");
    assert_not_openapi("");
    let broken = parse("openapi: [unclosed").expect_err("invalid YAML");
    assert!(matches!(broken, OpenApiError::Syntax(_)), "{broken:?}");
    let broken = broken.to_string();
    assert!(broken.starts_with("invalid YAML or JSON"), "{broken}");
}

/// `text` is refused as not OpenAPI, with the message the portal shows.
fn assert_not_openapi(text: &str) {
    let e = parse(text).expect_err("refused");
    assert_eq!(e.to_string(), NOT_OPENAPI);
    assert!(matches!(e, OpenApiError::NotOpenApi), "{e:?}");
}

const SWAGGER: &str = r##"
swagger: "2.0"
info:
  title: Legacy Orders
  version: 2.1
host: orders.example.com
basePath: /v1
schemes: [https, http]
parameters:
  Tenant:
    name: tenant
    in: header
    type: string
    required: true
responses:
  NotFound:
    description: No such order
paths:
  /orders/{id}:
    parameters:
      - name: id
        in: path
        type: string
      - name: verbose
        in: query
        type: boolean
        description: path-level
    get:
      tags: [orders]
      parameters:
        - $ref: '#/parameters/Tenant'
        - name: verbose
          in: query
          type: boolean
          description: operation-level
      responses:
        404:
          $ref: '#/responses/NotFound'
        200:
          description: The order
    put:
      tags: [orders]
      deprecated: true
      parameters:
        - name: order
          in: body
          schema:
            $ref: '#/definitions/Order'
      responses:
        204:
          description: Updated
  /uploads:
    post:
      parameters:
        - name: file
          in: formData
          type: file
        - name: tags
          in: query
          type: array
          items:
            type: string
      responses:
        default:
          description: whatever
"##;

#[test]
fn swagger_2() {
    let doc = parse(SWAGGER).expect("swagger parses");
    assert_eq!(doc.title.as_deref(), Some("Legacy Orders"));
    assert_eq!(doc.version.as_deref(), Some("2.1"));
    assert_eq!(
        doc.servers,
        [
            "https://orders.example.com/v1",
            "http://orders.example.com/v1"
        ]
    );
    assert_eq!(
        method_paths(&doc),
        pairs(&[
            ("GET", "/orders/{id}"),
            ("PUT", "/orders/{id}"),
            ("POST", "/uploads")
        ])
    );

    let get = &doc.operations[0];
    /// name, in, required, type, description
    type Row<'a> = (&'a str, &'a str, bool, Option<&'a str>, Option<&'a str>);
    let params: Vec<Row> = get
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.location.as_str(),
                p.required,
                p.schema_type.as_deref(),
                p.description.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("id", "path", true, Some("string"), None),
            (
                "verbose",
                "query",
                false,
                Some("boolean"),
                Some("operation-level")
            ),
            ("tenant", "header", true, Some("string"), None),
        ]
    );
    // Unquoted YAML status codes, sorted; a `#/responses/` ref resolved.
    assert_eq!(
        get.responses,
        pairs(&[("200", "The order"), ("404", "No such order")])
    );
    assert!(get.request_body.is_empty());

    let put = &doc.operations[1];
    assert!(put.deprecated);
    assert_eq!(put.request_body, ["application/json"]);
    // The body parameter is not listed as a parameter; the path-level ones are.
    let names: Vec<&str> = put.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["id", "verbose"]);

    let upload = &doc.operations[2];
    assert_eq!(upload.request_body, ["multipart/form-data"]);
    assert_eq!(
        upload.parameters[1].schema_type.as_deref(),
        Some("string[]")
    );
    assert!(upload.tags.is_empty());

    let html = render(&doc).into_string();
    assert!(html.contains(r#"<details class="op op-put deprecated">"#));
    assert!(html.contains(r#"<span class="badge badge-deprecated">deprecated</span>"#));
    // Untagged operations come last, under "Other".
    let orders = html.find(">orders</h3>").expect("orders group");
    let other = html.find(">Other</h3>").expect("Other group");
    assert!(orders < other);
}

const OPENAPI3: &str = r##"
openapi: 3.0.3
info:
  title: Orders
  version: "1.0"
  description: |
    First paragraph.

    Second *paragraph*.
servers:
  - url: https://api.example.com
  - url: /relative
paths:
  /orders:
    get:
      summary: List orders
      tags: [orders, admin]
      parameters:
        - $ref: '#/components/parameters/a~1b'
        - $ref: '#/components/parameters/Missing'
        - $ref: 'https://example.com/common.yaml#/Limit'
        - name: status
          in: query
          schema:
            type: array
            items:
              $ref: '#/components/schemas/Status'
      responses:
        default:
          $ref: '#/components/responses/Error'
        "404":
          description: Not found
        "2XX":
          description: Fine
        "200":
          description: OK
    post:
      tags: [orders]
      requestBody:
        $ref: '#/components/requestBodies/NewOrder'
      responses:
        "201":
          $ref: '#/components/responses/Nope'
  /health:
    head:
      responses:
        "200": { description: up }
    get:
      responses:
        "200": { description: up }
components:
  parameters:
    a/b:
      name: page~size
      in: query
      required: true
      schema: { type: [integer, "null"] }
  requestBodies:
    NewOrder:
      content:
        application/json: {}
        application/xml: {}
  responses:
    Error:
      description: Something failed
"##;

#[test]
fn openapi_3_refs_and_ordering() {
    let doc = parse(OPENAPI3).expect("parses");
    assert_eq!(
        doc.description.as_deref(),
        Some("First paragraph.\n\nSecond *paragraph*.\n")
    );
    assert_eq!(doc.servers, ["https://api.example.com", "/relative"]);
    // Path order as written; within a path, get before head regardless of the document.
    assert_eq!(
        method_paths(&doc),
        pairs(&[
            ("GET", "/orders"),
            ("POST", "/orders"),
            ("GET", "/health"),
            ("HEAD", "/health")
        ])
    );
    let list = &doc.operations[0];
    let params: Vec<(&str, &str, bool, Option<&str>)> = list
        .parameters
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.location.as_str(),
                p.required,
                p.schema_type.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("page~size", "query", true, Some("integer | null")),
            ("Missing", "unknown", false, None),
            ("Limit", "unknown", false, None),
            ("status", "query", false, Some("Status[]")),
        ]
    );
    assert_eq!(
        list.responses,
        pairs(&[
            ("200", "OK"),
            ("2XX", "Fine"),
            ("404", "Not found"),
            ("default", "Something failed")
        ])
    );
    let create = &doc.operations[1];
    assert_eq!(create.request_body, ["application/json", "application/xml"]);
    // An unresolvable response ref leaves its name.
    assert_eq!(create.responses, pairs(&[("201", "Nope")]));
}

#[test]
fn json_input() {
    let json = r#"{"openapi": "3.1.0", "info": {"title": "J", "version": "0"},
        "paths": {"/a": {"delete": {"operationId": "del", "responses": {"204": {"description": "gone"}}}}}}"#;
    let doc = parse(json).expect("JSON parses");
    assert_eq!(method_paths(&doc), pairs(&[("DELETE", "/a")]));
    assert_eq!(doc.operations[0].responses, pairs(&[("204", "gone")]));
}

#[test]
fn ref_cycles_terminate() {
    let cyclic = r##"
openapi: 3.0.0
info: { title: Loop, version: "1" }
paths:
  /loop:
    $ref: '#/paths/~1loop'
  /x:
    parameters:
      - $ref: '#/components/parameters/A'
    get:
      requestBody:
        $ref: '#/components/requestBodies/R'
      responses:
        "200":
          $ref: '#/components/responses/S'
components:
  parameters:
    A: { $ref: '#/components/parameters/B' }
    B: { $ref: '#/components/parameters/A' }
  requestBodies:
    R: { $ref: '#/components/requestBodies/R' }
  responses:
    S: { $ref: '#/components/responses/T' }
    T: { $ref: '#/components/responses/S' }
"##;
    let start = Instant::now();
    let doc = parse(cyclic).expect("parses despite cycles");
    assert!(start.elapsed() < Duration::from_secs(5));
    // The self-referencing path item yields nothing.
    assert_eq!(method_paths(&doc), pairs(&[("GET", "/x")]));
    let op = &doc.operations[0];
    assert_eq!(op.parameters.len(), 1);
    assert_eq!(op.parameters[0].location, "unknown");
    assert!(["A", "B"].contains(&op.parameters[0].name.as_str()));
    assert_eq!(op.request_body, ["R"]);
    assert_eq!(op.responses.len(), 1);
    assert!(["S", "T"].contains(&op.responses[0].1.as_str()));
}

#[test]
fn oversized_input_is_refused() {
    let mut big =
        String::from("openapi: 3.0.0\ninfo: {title: big, version: '1'}\npaths: {}\nx: \"");
    big.push_str(&"a".repeat(6 * 1024 * 1024));
    big.push('"');
    let err = parse(&big).expect_err("too large");
    assert!(
        matches!(err, OpenApiError::TooLarge { bytes } if bytes == big.len()),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn node_budget_is_enforced() {
    let mut many = String::from("openapi: 3.0.0\npaths: {}\nx:\n");
    for _ in 0..250_000 {
        many.push_str("- 1\n");
    }
    assert!(many.len() < 5 * 1024 * 1024);
    let err = parse(&many).expect_err("over the node budget");
    assert!(matches!(err, OpenApiError::Syntax(_)), "{err:?}");
    let err = err.to_string();
    assert!(err.starts_with("invalid YAML or JSON"), "{err}");
}

#[test]
fn text_is_escaped_not_markdown() {
    let doc = ApiDoc {
        title: Some("<script>t</script>".into()),
        version: Some("1 & 2".into()),
        description: Some("**bold** <img src=x onerror=alert(1)>".into()),
        servers: vec!["https://x/<y>".into()],
        operations: vec![Operation {
            method: "GET".into(),
            path: "/a/<b>".into(),
            summary: Some("<script>alert(1)</script>".into()),
            description: Some("*not markdown*".into()),
            tags: vec!["<i>tag</i>".into()],
            parameters: vec![Param {
                name: "<p>".into(),
                location: "query".into(),
                required: false,
                schema_type: None,
                description: Some("<em>".into()),
            }],
            responses: vec![("200".into(), "<ok>".into())],
            ..Operation::default()
        }],
    };
    let html = render(&doc).into_string();
    for raw in [
        "<script>", "<img", "<b>", "<i>", "<p>&", "<em>", "<ok>", "<y>",
    ] {
        assert!(!html.contains(raw), "{raw} leaked: {html}");
    }
    assert!(
        html.contains(r#"<span class="op-summary">&lt;script&gt;alert(1)&lt;/script&gt;</span>"#)
    );
    assert!(html.contains("<p>*not markdown*</p>"));
    assert!(html.contains("**bold** &lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains(r#"<span class="api-version badge">1 &amp; 2</span>"#));

    // The same through parse.
    let yaml =
        "openapi: 3.0.0\npaths:\n  /x:\n    get:\n      summary: '<script>alert(1)</script>'\n";
    let html = render(&parse(yaml).expect("parses")).into_string();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn render_structure() {
    let doc = parse(OPENAPI3).expect("parses");
    let html = render(&doc).into_string();
    assert!(html.starts_with(r#"<section class="api-ops"><header class="api-header"><h2 class="api-title">Orders <span class="api-version badge">1.0</span></h2>"#));
    assert!(html.contains(
        r#"<div class="api-description"><p>First paragraph.</p><p>Second *paragraph*.</p></div>"#
    ));
    assert!(html.contains("<li><code>https://api.example.com</code></li>"));
    assert!(html.contains(r#"<summary><span class="op-method method-get">GET</span> <code class="op-path">/orders</code> <span class="op-summary">List orders</span></summary>"#));
    assert!(html.contains(r#"<table class="op-params"><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>"#));
    assert!(html.contains(r#"<h4>Request body</h4><ul><li><code>application/json</code></li><li><code>application/xml</code></li></ul>"#));
    assert!(html.contains(r#"<table class="op-responses"><caption>Responses</caption>"#));
    // Grouped by first tag: both /orders operations under "orders", /health under "Other".
    assert_eq!(html.matches(r#"<section class="op-group">"#).count(), 2);
    assert!(!html.contains(">admin</h3>"));
}

#[test]
fn snapshot_petstore() {
    let doc = parse(&inline_definition("petstore-api.yaml")).expect("petstore parses");
    insta::assert_snapshot!(render(&doc).into_string().replace("><", ">\n<"));
}
