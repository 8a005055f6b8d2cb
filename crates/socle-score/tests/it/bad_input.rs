use socle_catalog::Limits;
use socle_score::{ScoreError, parse_workload};

fn errors(text: &str) -> Vec<ScoreError> {
    parse_workload(text, "score.yaml", &Limits::default()).expect_err("must be rejected")
}

const HEAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n";

#[test]
fn invalid_port_is_located() {
    let e = errors(&format!(
        "{HEAD}service:\n  ports:\n    http:\n      port: 70000\ncontainers:\n  web:\n    image: nginx\n"
    ));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].line, e[0].path.as_str(), e[0].rule.as_str()),
        (Some(7), "service.ports.http.port", "schema")
    );
    assert!(e[0].message.contains("70000"), "{}", e[0].message);
}

#[test]
fn bad_names_and_missing_fields() {
    let e = errors("apiVersion: score.dev/v1b1\nmetadata:\n  name: Web_App\ncontainers: {}\n");
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert!(paths.contains(&"metadata.name"), "{e:#?}");
    assert!(paths.contains(&"containers"), "{e:#?}");
    let e = errors("apiVersion: score.dev/v1b2\nmetadata:\n  name: web\n");
    assert_eq!(e[0].rule, "apiVersion.unsupported");
    assert_eq!(e[0].line, Some(1));
}

#[test]
fn placeholder_to_an_undeclared_resource() {
    let e = errors(&format!(
        "{HEAD}containers:\n  web:\n    image: nginx\n    variables:\n      DB: ${{resources.db.host}}\nresources:\n  cache:\n    type: redis\n"
    ));
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].line, e[0].path.as_str(), e[0].rule.as_str()),
        (
            Some(8),
            "containers.web.variables.DB",
            "placeholder.unknown-resource"
        )
    );
    assert!(
        e[0].message.contains("(declared: cache)"),
        "{}",
        e[0].message
    );
}

#[test]
fn placeholder_syntax_and_metadata() {
    let e = errors(&format!(
        "{HEAD}containers:\n  web:\n    image: nginx\n    variables:\n      A: ${{resources.db.host\n      B: ${{metadata.team}}\n      C: ${{secrets.x}}\n"
    ));
    let rules: Vec<(&str, &str)> = e
        .iter()
        .map(|x| (x.path.as_str(), x.rule.as_str()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("containers.web.variables.A", "placeholder.syntax"),
            ("containers.web.variables.B", "placeholder.unknown-metadata"),
            ("containers.web.variables.C", "placeholder.syntax")
        ]
    );
}

#[test]
fn resource_cycles_are_rejected_and_named() {
    let e = errors(&format!(
        "{HEAD}containers:\n  web:\n    image: nginx\nresources:\n  aa:\n    type: dns\n    params:\n      target: ${{resources.bb.host}}\n  bb:\n    type: route\n    params:\n      host: ${{resources.aa.host}}\n  cc:\n    type: postgres\n"
    ));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].rule, "resources.cycle");
    assert!(e[0].message.ends_with("aa → bb → aa"), "{}", e[0].message);
}

#[test]
fn resource_order_follows_references() {
    let text = format!(
        "{HEAD}containers:\n  web:\n    image: nginx\nresources:\n  route:\n    type: route\n    params:\n      host: ${{resources.dns.host}}\n      port: 80\n  dns:\n    type: dns\n  db:\n    type: postgres\n"
    );
    let w = parse_workload(&text, "score.yaml", &Limits::default()).unwrap();
    assert_eq!(
        socle_score::resource_graph(&w).unwrap().order,
        vec!["db", "dns", "route"]
    );
}

#[test]
fn oversized_and_malformed_files() {
    let limits = Limits {
        max_file_bytes: 1024,
        ..Limits::default()
    };
    let big = format!(
        "{HEAD}containers:\n  web:\n    image: nginx\n# {}\n",
        "x".repeat(2000)
    );
    let e = parse_workload(&big, "score.yaml", &limits).unwrap_err();
    assert_eq!(e[0].rule, "file.too-large");
    let e = errors("apiVersion: score.dev/v1b1\nmetadata: [\n");
    assert_eq!(e[0].rule, "yaml.syntax");
    let e = errors(&format!(
        "{HEAD}containers:\n  web:\n    image: nginx\n---\n{HEAD}"
    ));
    assert_eq!(e[0].rule, "document.multiple");
}

#[test]
fn property_overrides() {
    let text = format!(
        "{HEAD}containers:\n  web:\n    image: nginx\n    variables:\n      A: one\n      B: two\n"
    );
    let o = [
        socle_score::parse_override("containers.web.variables.DEBUG=\"true\"").unwrap(),
        socle_score::parse_override("containers.web.variables.B=").unwrap(),
        socle_score::parse_override("metadata.annotations.team\\.name=payments").unwrap(),
    ];
    let w = socle_score::parse_workload_with_overrides(&text, "score.yaml", &Limits::default(), &o)
        .unwrap();
    let vars: Vec<(&str, &str)> = w.containers["web"]
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(vars, [("A", "one"), ("DEBUG", "true")]);
    assert_eq!(w.metadata["annotations"]["team.name"], "payments");
    // An override that breaks the schema is reported like any other error.
    let bad = [socle_score::parse_override("containers.web.variables.PORT=8080").unwrap()];
    let e =
        socle_score::parse_workload_with_overrides(&text, "score.yaml", &Limits::default(), &bad)
            .unwrap_err();
    assert_eq!(e[0].path, "containers.web.variables.PORT");
    assert!(e[0].message.contains("8080"), "{}", e[0].message);
    assert!(matches!(
        socle_score::parse_override("containers..x=1"),
        Err(socle_score::OverrideError::BadPath { .. })
    ));
    assert!(matches!(
        socle_score::parse_override("no-equals"),
        Err(socle_score::OverrideError::NotPathValue { .. })
    ));
}
