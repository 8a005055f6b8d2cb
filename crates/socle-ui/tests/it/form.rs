//! Golden-path parameter forms: rendering JSON Schema pages and reading submissions back.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use socle_ui::form::{FIELD_PREFIX, FieldErrors, parse_submission, render_pages};

fn load_pages(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    doc["spec"]["parameters"].as_array().cloned().unwrap()
}

fn golden_path_pages() -> Vec<Value> {
    load_pages(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../golden-paths/rust-axum-service/template.yaml"),
    )
}

/// Backstage's sample templates, kept in the repository (`conformance/`, see its SOURCES.md).
fn corpus() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage-templates")
}

/// The catalog as the portal would offer it to pickers.
fn catalog(ui_field: &str, _schema: &Value) -> Vec<String> {
    match ui_field {
        "OwnerPicker" => vec![
            "group:default/platform-team".into(),
            "group:default/payments".into(),
        ],
        "EntityPicker" => vec!["system:default/orders".into()],
        _ => Vec::new(),
    }
}

fn no_options(_: &str, _: &Value) -> Vec<String> {
    Vec::new()
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What a browser would submit for the rendered form: the successful controls of the HTML
/// (inputs with a value, checked checkboxes, selected options, textareas), in document order.
/// Only understands the regular markup `render_pages` produces.
fn browser_submission(html: &str) -> Vec<(String, String)> {
    fn attr(tag: &str, name: &str) -> Option<String> {
        let needle = format!(" {name}=\"");
        let start = tag.find(&needle)? + needle.len();
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    }
    fn flag(tag: &str, name: &str) -> bool {
        tag.split([' ', '>'])
            .any(|word| word == name || word.starts_with(&format!("{name}=")))
    }
    fn unescape(s: &str) -> String {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }
    let mut form = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let end = rest.find('>').unwrap() + 1;
        let tag = &rest[..end];
        if tag.starts_with("<input ") {
            let name = attr(tag, "name").unwrap();
            let kind = attr(tag, "type").unwrap();
            if kind != "checkbox" || flag(tag, "checked") {
                form.push((name, attr(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<textarea ") {
            let close = rest.find("</textarea>").unwrap();
            form.push((attr(tag, "name").unwrap(), unescape(&rest[end..close])));
        } else if tag.starts_with("<select ") {
            let close = rest.find("</select>").unwrap();
            let options = &rest[end..close];
            let selected = options
                .split("<option ")
                .skip(1)
                .find(|option| flag(option, "selected"))
                .or_else(|| options.split("<option ").nth(1))
                .and_then(|option| attr(&format!(" {option}"), "value"))
                .unwrap_or_default();
            form.push((attr(tag, "name").unwrap(), selected));
        }
        rest = &rest[end..];
    }
    form
}

#[test]
fn the_golden_path_form_has_its_constraints_pickers_and_defaults() {
    let pages = golden_path_pages();
    let html = render_pages(&pages, &Map::new(), &FieldErrors::new(), &catalog).into_string();

    assert!(
        html.starts_with("<fieldset class=\"form-page\" data-page=\"1\"><legend>Service</legend>")
    );
    assert!(html.contains(
        "<fieldset class=\"form-page\" data-page=\"2\"><legend>Repository and deployment</legend>"
    ));
    assert!(html.contains(
        "<label for=\"f-name\">Name <span class=\"required\" aria-hidden=\"true\">*</span>\
         <span class=\"visually-hidden\"> (required)</span></label>\
         <input type=\"text\" id=\"f-name\" name=\"p.name\" \
         pattern=\"^[a-z][a-z0-9-]{1,38}[a-z0-9]$\" required autofocus \
         aria-describedby=\"f-name-help\">\
         <p class=\"help\" id=\"f-name-help\">Unique name of the service; also the catalog, \
         package and workload name.<br>3 to 40 characters, lowercase letters, digits and \
         dashes, e.g. orders-api</p>"
    ));
    assert!(html.contains(
        "<input type=\"text\" id=\"f-description\" name=\"p.description\" \
         pattern=\"^[^&quot;\\\\\\r\\n]*$\" maxlength=\"200\" required"
    ));
    // Required markers: name, description, owner (page 1) and repoUrl (page 2).
    assert_eq!(
        html.matches("<span class=\"required\" aria-hidden=\"true\">*</span>")
            .count(),
        4
    );
    assert!(html.contains("<label for=\"f-system\">System</label>"));
    assert!(html.contains(
        "<input type=\"text\" id=\"f-owner\" name=\"p.owner\" \
         pattern=\"^(?:[A-Za-z]+:)?(?:[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}/)?[A-Za-z0-9][A-Za-z0-9._\\-]{0,62}$\" \
         maxlength=\"200\" list=\"f-owner-options\" required \
         aria-describedby=\"f-owner-help\"><datalist id=\"f-owner-options\">\
         <option value=\"group:default/platform-team\"></option>\
         <option value=\"group:default/payments\"></option></datalist>"
    ));
    assert!(html.contains(
        "<datalist id=\"f-system-options\"><option value=\"system:default/orders\"></option></datalist>"
    ));
    assert!(html.contains(
        "<label for=\"f-lifecycle\">Lifecycle</label>\
         <select id=\"f-lifecycle\" name=\"p.lifecycle\">\
         <option value=\"experimental\" selected>experimental</option>\
         <option value=\"production\">production</option></select>"
    ));
    assert!(html.contains(
        "<div class=\"field field-checkbox\">\
         <input type=\"checkbox\" id=\"f-database\" name=\"p.database\" value=\"true\" \
         aria-describedby=\"f-database-help\"><label for=\"f-database\">PostgreSQL database</label>"
    ));
    assert!(html.contains(
        "<input type=\"checkbox\" id=\"f-deployToDev\" name=\"p.deployToDev\" value=\"true\" checked"
    ));
    assert!(html.contains(
        "<input type=\"text\" id=\"f-repoUrl\" name=\"p.repoUrl\" pattern=\"(?:^https://).*\" required"
    ));
    assert_eq!(html.matches("<div class=\"field").count(), 8);
    assert_eq!(html.matches(" autofocus").count(), 1);
}

#[test]
fn the_golden_path_form_round_trips() {
    let pages = golden_path_pages();
    let values = map(json!({
        "name": "orders-api",
        "description": "Takes orders & <ships> them",
        "owner": "group:default/payments",
        "system": "system:default/orders",
        "lifecycle": "production",
        "database": true,
        "repoUrl": "https://github.com/acme/orders-api",
        "deployToDev": false,
    }));
    let html = render_pages(&pages, &values, &FieldErrors::new(), &catalog).into_string();
    assert!(html.contains("<option value=\"production\" selected>production</option>"));
    assert!(html.contains("<option value=\"experimental\">experimental</option>"));
    assert!(html.contains("value=\"Takes orders &amp; &lt;ships&gt; them\""));

    let mut form = browser_submission(&html);
    assert_eq!(
        form,
        pairs(&[
            ("p.name", "orders-api"),
            ("p.description", "Takes orders & <ships> them"),
            ("p.owner", "group:default/payments"),
            ("p.system", "system:default/orders"),
            ("p.lifecycle", "production"),
            ("p.database", "true"),
            ("p.repoUrl", "https://github.com/acme/orders-api"),
        ])
    );
    form.insert(0, ("csrf".into(), "token".into()));
    form.push(("action".into(), "create".into()));
    let parsed = parse_submission(&pages, &form);
    assert_eq!(parsed, values);
    assert_eq!(
        parsed.keys().collect::<Vec<_>>(),
        [
            "name",
            "description",
            "owner",
            "system",
            "lifecycle",
            "database",
            "repoUrl",
            "deployToDev"
        ]
    );

    // The defaults alone: optional empty strings are left out, booleans are explicit.
    let html = render_pages(&pages, &Map::new(), &FieldErrors::new(), &catalog).into_string();
    let parsed = parse_submission(&pages, &browser_submission(&html));
    assert_eq!(
        Value::Object(parsed),
        json!({
            "name": "",
            "description": "",
            "owner": "",
            "lifecycle": "experimental",
            "database": false,
            "repoUrl": "",
            "deployToDev": true,
        })
    );
}

#[test]
fn every_backstage_sample_template_renders() {
    let mut files: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".template.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9);
    for file in &files {
        let pages = load_pages(file);
        let html = render_pages(&pages, &Map::new(), &FieldErrors::new(), &catalog).into_string();
        assert_eq!(
            html.matches("<fieldset class=\"form-page\"").count(),
            pages.len(),
            "{file:?}"
        );
        // Every page of the samples ends with a repository location picker.
        assert!(
            html.contains("placeholder=\"github.com?owner=ORG&amp;repo=NAME\""),
            "{file:?}"
        );
        assert!(html.matches(" autofocus").count() <= 1, "{file:?}");
        let parsed = parse_submission(&pages, &browser_submission(&html));
        assert!(parsed.contains_key("repoUrl"), "{file:?}");
    }
}

#[test]
fn the_rails_demo_template_fields_checked_by_hand() {
    let pages = load_pages(&corpus().join("rails-demo.template.yaml"));
    let html = render_pages(&pages, &Map::new(), &FieldErrors::new(), &catalog).into_string();
    // Page 1: name, owner, system; page 2: repoUrl, dryRun, railsArguments.
    assert_eq!(html.matches("<div class=\"field").count(), 6);
    assert_eq!(
        html.matches("<div class=\"field field-checkbox\">").count(),
        1
    );
    assert!(html.contains(
        "<input type=\"text\" id=\"f-repoUrl\" name=\"p.repoUrl\" \
         placeholder=\"github.com?owner=ORG&amp;repo=NAME\" required \
         aria-describedby=\"f-repoUrl-help\"><p class=\"help\" id=\"f-repoUrl-help\">\
         Format: host?owner=ORG&amp;repo=NAME, for example github.com?owner=ORG&amp;repo=NAME.\
         <br>Allowed hosts: github.com.</p>"
    ));
    // A required boolean must not force the box to be ticked.
    assert!(html.contains(
        "<input type=\"checkbox\" id=\"f-dryRun\" name=\"p.dryRun\" value=\"true\">\
         <label for=\"f-dryRun\">Only perform a dry run, don't publish anything</label>"
    ));
    assert!(html.contains(
        "<textarea class=\"json\" id=\"f-railsArguments\" name=\"p.railsArguments\" \
         spellcheck=\"false\"></textarea>"
    ));
    // `EntityNamePicker` is not a catalog picker: a plain text input.
    assert!(html.contains(
        "<input type=\"text\" id=\"f-name\" name=\"p.name\" required autofocus \
         aria-describedby=\"f-name-help\">"
    ));

    let parsed = parse_submission(
        &pages,
        &pairs(&[
            ("p.name", "shop"),
            ("p.owner", "group:default/payments"),
            ("p.repoUrl", "github.com?owner=acme&repo=shop"),
            (
                "p.railsArguments",
                "{\"minimal\": true, \"database\": \"postgresql\"}",
            ),
        ]),
    );
    assert_eq!(
        Value::Object(parsed),
        json!({
            "name": "shop",
            "owner": "group:default/payments",
            "repoUrl": "github.com?owner=acme&repo=shop",
            "dryRun": false,
            "railsArguments": {"minimal": true, "database": "postgresql"},
        })
    );
}

#[test]
fn the_clean_architecture_template_fields_checked_by_hand() {
    let pages = load_pages(&corpus().join("clean-architecture-app.template.yaml"));
    let html = render_pages(&pages, &Map::new(), &FieldErrors::new(), &no_options).into_string();
    // name, package, projectType, coverage, lombok, metrics, owner; repoUrl.
    assert_eq!(html.matches("<div class=\"field").count(), 8);
    assert_eq!(html.matches("type=\"checkbox\"").count(), 2);
    assert_eq!(html.matches("<span class=\"required\"").count(), 6);
    // Every field asks for autofocus; only the first gets it.
    assert_eq!(html.matches(" autofocus").count(), 1);
    assert!(html.contains("name=\"p.name\" required autofocus"));
    assert!(html.contains("<datalist id=\"f-owner-options\"></datalist>"));
    assert!(html.contains("Allowed hosts: github.com, dev.azure.com."));
}

#[test]
fn text_from_the_template_and_values_is_escaped() {
    let pages = vec![json!({
        "title": "<script>alert('page')</script>",
        "description": "Fill <b>this</b> & that",
        "properties": {
            "bad\"name": {
                "type": "string",
                "title": "<script>alert('title')</script>",
                "description": "<img src=x onerror=alert(1)>",
                "default": "\"><script>alert('default')</script>",
                "ui:placeholder": "<i>",
            },
            "kind": {"type": "string", "enum": ["<a>", "b"], "enumNames": ["<A>", "B"]},
        },
    })];
    let errors = FieldErrors(
        [(
            "kind".to_owned(),
            vec!["<script>alert('error')</script>".to_owned()],
        )]
        .into(),
    );
    let html = render_pages(&pages, &Map::new(), &errors, &no_options).into_string();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("<legend>&lt;script&gt;alert('page')&lt;/script&gt;</legend>"));
    assert!(
        html.contains("<p class=\"page-description\">Fill &lt;b&gt;this&lt;/b&gt; &amp; that</p>")
    );
    assert!(html.contains(
        "<label for=\"f-bad-name\">&lt;script&gt;alert('title')&lt;/script&gt;</label>\
         <input type=\"text\" id=\"f-bad-name\" name=\"p.bad&quot;name\" \
         value=\"&quot;&gt;&lt;script&gt;alert('default')&lt;/script&gt;\" placeholder=\"&lt;i&gt;\""
    ));
    assert!(html.contains(
        "<p class=\"help\" id=\"f-bad-name-help\">&lt;img src=x onerror=alert(1)&gt;</p>"
    ));
    assert!(html.contains("<option value=\"&lt;a&gt;\">&lt;A&gt;</option>"));
    assert!(html.contains(
        "<p class=\"error\" id=\"f-kind-error\" role=\"alert\">&lt;script&gt;alert('error')&lt;/script&gt;</p>"
    ));
}

#[test]
fn errors_are_shown_with_their_fields_and_above_the_form() {
    let pages = golden_path_pages();
    let mut errors = FieldErrors::new();
    errors.push("name", "does not match ^[a-z][a-z0-9-]{1,38}[a-z0-9]$");
    errors.push("name", "is too short");
    errors.push("database", "must be a boolean");
    errors.push("", "A production service needs a system.");
    errors.push("notAField", "is not allowed");
    assert!(!errors.is_empty());
    assert_eq!(errors.get("name").len(), 2);
    assert!(errors.get("owner").is_empty());

    let values = map(json!({"name": "X"}));
    let html = render_pages(&pages, &values, &errors, &catalog).into_string();
    assert!(html.starts_with(
        "<div class=\"form-errors\" role=\"alert\">\
         <p class=\"error\">A production service needs a system.</p>\
         <p class=\"error\">notAField: is not allowed</p></div>"
    ));
    assert!(html.contains(
        "<input type=\"text\" id=\"f-name\" name=\"p.name\" value=\"X\" \
         pattern=\"^[a-z][a-z0-9-]{1,38}[a-z0-9]$\" required autofocus \
         aria-describedby=\"f-name-help f-name-error\" aria-invalid=\"true\">"
    ));
    assert!(html.contains(
        "<p class=\"error\" id=\"f-name-error\" role=\"alert\">\
         does not match ^[a-z][a-z0-9-]{1,38}[a-z0-9]$<br>is too short</p>"
    ));
    assert!(html.contains(
        "<input type=\"checkbox\" id=\"f-database\" name=\"p.database\" value=\"true\" \
         aria-describedby=\"f-database-help f-database-error\" aria-invalid=\"true\">"
    ));
    assert_eq!(html.matches("aria-invalid=\"true\"").count(), 2);
}

fn widget_pages() -> Vec<Value> {
    vec![
        json!({
            "title": "Widgets",
            "description": "All of them.",
            "required": ["secret", "size", "tier"],
            "properties": {
                "secret": {"type": "string", "title": "Token", "ui:widget": "password", "minLength": 8},
                "notes": {"type": "string", "ui:widget": "textarea", "maxLength": 500},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 2},
                "ratio": {"type": "number", "minimum": 0.5},
                "size": {"type": "integer", "enum": [1, 2, 4], "ui:enumNames": ["Small", "Medium", "Large"]},
                "tier": {"type": "string", "enum": ["gold", "silver"]},
                "region": {"type": "string", "enum": ["eu", "us"]},
                "features": {
                    "type": "array",
                    "title": "Features",
                    "items": {"type": "string", "enum": ["metrics", "tracing", "logs"]},
                    "default": ["metrics"],
                },
                "ports": {"type": "array", "items": {"type": "integer"}},
                "labels": {"type": "object", "default": {"team": "a"}},
                "anything": {},
                "hidden": {"type": "string", "ui:widget": "hidden", "ui:backstage": {"review": {"show": false}}},
            },
        }),
        json!({"properties": {"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"}}}),
        json!("not a page"),
    ]
}

#[test]
fn each_widget_is_drawn_from_its_schema() {
    let pages = widget_pages();
    let values = map(json!({"secret": "hunter2hunter2", "ratio": 0.75, "size": 4}));
    let html = render_pages(&pages, &values, &FieldErrors::new(), &no_options).into_string();
    assert!(
        html.contains("<legend>Widgets</legend><p class=\"page-description\">All of them.</p>")
    );
    assert!(html.contains("<fieldset class=\"form-page\" data-page=\"2\"><legend>Step 2</legend>"));
    assert!(html.contains(
        "<fieldset class=\"form-page\" data-page=\"3\"><legend>Step 3</legend></fieldset>"
    ));
    // The password is never echoed back.
    assert!(!html.contains("hunter2"));
    assert!(html.contains(
        "<input type=\"password\" id=\"f-secret\" name=\"p.secret\" minlength=\"8\" required>"
    ));
    assert!(
        html.contains("<textarea id=\"f-notes\" name=\"p.notes\" maxlength=\"500\"></textarea>")
    );
    assert!(html.contains(
        "<input type=\"number\" id=\"f-replicas\" name=\"p.replicas\" value=\"2\" min=\"1\" \
         max=\"10\" step=\"1\">"
    ));
    assert!(html.contains(
        "<input type=\"number\" id=\"f-ratio\" name=\"p.ratio\" value=\"0.75\" min=\"0.5\" step=\"any\">"
    ));
    assert!(html.contains(
        "<select id=\"f-size\" name=\"p.size\" required><option value=\"1\">Small</option>\
         <option value=\"2\">Medium</option><option value=\"4\" selected>Large</option></select>"
    ));
    // Required without default: no empty option; optional without default: an empty one.
    assert!(html.contains(
        "<select id=\"f-tier\" name=\"p.tier\" required><option value=\"gold\">gold</option>"
    ));
    assert!(html.contains(
        "<select id=\"f-region\" name=\"p.region\"><option value=\"\" selected></option>\
         <option value=\"eu\">eu</option>"
    ));
    assert!(html.contains(
        "<fieldset class=\"checkbox-group\"><legend>Features</legend>\
         <label for=\"f-features-0\"><input type=\"checkbox\" id=\"f-features-0\" \
         name=\"p.features\" value=\"metrics\" checked> metrics</label>\
         <label for=\"f-features-1\"><input type=\"checkbox\" id=\"f-features-1\" \
         name=\"p.features\" value=\"tracing\"> tracing</label>"
    ));
    assert!(html.contains(
        "<textarea class=\"json\" id=\"f-ports\" name=\"p.ports\" spellcheck=\"false\"></textarea>"
    ));
    assert!(html.contains(
        "<textarea class=\"json\" id=\"f-labels\" name=\"p.labels\" spellcheck=\"false\">\
         {\n  &quot;team&quot;: &quot;a&quot;\n}</textarea>"
    ));
    assert!(html.contains(
        "<textarea class=\"json\" id=\"f-anything\" name=\"p.anything\" spellcheck=\"false\"></textarea>"
    ));
    assert!(html.contains("<input type=\"text\" id=\"f-hidden\" name=\"p.hidden\">"));
    assert!(html.contains(
        "<input type=\"text\" id=\"f-repoUrl\" name=\"p.repoUrl\" \
         placeholder=\"github.com?owner=ORG&amp;repo=NAME\" aria-describedby=\"f-repoUrl-help\">"
    ));
}

#[test]
fn submissions_are_typed_by_the_schema() {
    let pages = widget_pages();
    let parsed = parse_submission(
        &pages,
        &pairs(&[
            ("csrf", "abc"),
            ("p.secret", "s3cret-s3cret"),
            ("p.notes", ""),
            ("p.replicas", "3"),
            ("p.ratio", "1e-1"),
            ("p.size", "4"),
            ("p.tier", "silver"),
            ("p.region", ""),
            ("p.features", "tracing"),
            ("p.features", "logs"),
            ("p.ports", "[8080, 9090]"),
            ("p.labels", "{\"team\": \"b\"}"),
            ("p.anything", "not json"),
            ("p.hidden", "h"),
            ("p.unknown", "dropped"),
            ("name", "no prefix"),
            ("p.repoUrl", "github.com?owner=a&repo=b"),
        ]),
    );
    assert_eq!(
        Value::Object(parsed),
        json!({
            "secret": "s3cret-s3cret",
            "replicas": 3,
            "ratio": 0.1,
            "size": 4,
            "tier": "silver",
            "features": ["tracing", "logs"],
            "ports": [8080, 9090],
            "labels": {"team": "b"},
            "anything": "not json",
            "hidden": "h",
            "repoUrl": "github.com?owner=a&repo=b",
        })
    );

    // What does not fit is kept for the validator to report; required empties stay.
    let parsed = parse_submission(
        &pages,
        &pairs(&[
            ("p.secret", ""),
            ("p.replicas", "three"),
            ("p.ratio", "NaN"),
            ("p.size", "8"),
            ("p.ports", "80"),
            ("p.ports", "http"),
            ("p.labels", "{broken"),
        ]),
    );
    assert_eq!(
        Value::Object(parsed),
        json!({
            "secret": "",
            "replicas": "three",
            "ratio": "NaN",
            "size": 8,
            "features": [],
            "ports": [80, "http"],
            "labels": "{broken",
        })
    );
}

#[test]
fn booleans_are_read_from_presence() {
    let pages = golden_path_pages();
    let parsed = parse_submission(&pages, &pairs(&[("p.database", "on")]));
    assert_eq!(parsed.get("database"), Some(&Value::Bool(true)));
    assert_eq!(parsed.get("deployToDev"), Some(&Value::Bool(false)));
    let parsed = parse_submission(&pages, &pairs(&[("p.database", "yes")]));
    assert_eq!(parsed.get("database"), Some(&Value::Bool(false)));
}

#[test]
fn snapshot_of_a_small_form() {
    let pages = vec![json!({
        "title": "Service",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "title": "Name", "pattern": "^[a-z-]+$", "ui:help": "Lowercase."},
            "owner": {"type": "string", "title": "Owner", "ui:field": "OwnerPicker"},
            "tier": {"type": "integer", "enum": [1, 2], "enumNames": ["One", "Two"], "default": 2},
            "public": {"type": "boolean", "title": "Public", "default": true},
        },
    })];
    let mut errors = FieldErrors::new();
    errors.push("name", "is required");
    let html = render_pages(&pages, &Map::new(), &errors, &catalog).into_string();
    insta::assert_snapshot!(html.replace("><", ">\n<"));
}

fn known_names() -> Vec<String> {
    let mut names: Vec<String> = golden_path_pages()
        .iter()
        .chain(widget_pages().iter())
        .filter_map(|page| page.get("properties").and_then(Value::as_object))
        .flat_map(|properties| properties.keys().cloned())
        .collect();
    names.sort();
    names
}

proptest! {
    #[test]
    fn parse_submission_never_panics_and_keeps_only_known_names(
        fields in prop::collection::vec(
            (
                prop_oneof![
                    prop::sample::select(known_names()).prop_map(|name| format!("{FIELD_PREFIX}{name}")),
                    "p\\.[a-zA-Z]{0,8}",
                    ".{0,12}",
                ],
                prop_oneof![
                    Just(String::new()),
                    Just("true".to_owned()),
                    "-?[0-9]{1,25}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,4})?",
                    "[\\[\\]{}\",:0-9a-z ]{0,20}",
                    ".{0,30}",
                ],
            ),
            0..24,
        )
    ) {
        let known = known_names();
        for pages in [golden_path_pages(), widget_pages()] {
            let parsed = parse_submission(&pages, &fields);
            for key in parsed.keys() {
                prop_assert!(known.contains(key), "unknown key {key:?}");
            }
            // Booleans are always present; nothing but submitted or boolean properties appear.
            for (key, value) in &parsed {
                let submitted = fields.iter().any(|(name, _)| name.strip_prefix(FIELD_PREFIX) == Some(key));
                prop_assert!(submitted || value.is_boolean() || value == &json!([]), "{key:?} = {value}");
            }
        }
    }
}
