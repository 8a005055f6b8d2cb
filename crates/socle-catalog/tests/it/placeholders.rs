//! `$text`/`$json`/`$yaml` budgets: a small document that names one file many times is refused
//! at the budget, before the expanded size is ever held.

use std::cell::Cell;
use std::collections::BTreeMap;

use socle_catalog::{
    DocContext, Entity, EntityError, Limits, PlaceholderReadError, PlaceholderReader, process_text,
};

const MIB: usize = 1024 * 1024;

/// Files by name; counts the reads.
struct Files {
    files: BTreeMap<&'static str, String>,
    reads: Cell<usize>,
}

impl Files {
    fn new(files: &[(&'static str, String)]) -> Self {
        Self {
            files: files.iter().cloned().collect(),
            reads: Cell::new(0),
        }
    }
}

impl PlaceholderReader for Files {
    fn read(&self, _base: &str, target: &str) -> Result<String, PlaceholderReadError> {
        self.reads.set(self.reads.get() + 1);
        self.files
            .get(target)
            .cloned()
            .ok_or_else(|| PlaceholderReadError::Source(format!("no file {target}").into()))
    }
}

fn process(text: &str, reader: &Files, limits: &Limits) -> (Vec<Entity>, Vec<EntityError>) {
    let ctx = DocContext {
        file: "catalog-info.yaml".into(),
        location: "file:catalog-info.yaml".into(),
        origin: "file:catalog-info.yaml",
        reader,
        limits,
    };
    process_text(text, &ctx)
}

/// A component whose `spec.docs` lists `placeholder` `times` times (from line 10 on).
fn component(name: &str, placeholder: &str, times: usize) -> String {
    let mut s = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  docs:\n"
    );
    for _ in 0..times {
        s.push_str(&format!("    - {placeholder}\n"));
    }
    s
}

#[test]
fn a_file_named_many_times_is_refused_at_the_byte_budget() {
    let reader = Files::new(&[("big.txt", "x".repeat(MIB))]);
    // 60 references to 1 MiB: a 1.4 KB document that would expand to 60 MiB.
    let text = component("amplified", "$text: big.txt", 60);
    let (entities, errors) = process(&text, &reader, &Limits::default());
    assert!(entities.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.file, "catalog-info.yaml");
    assert_eq!(e.rule, "placeholder.budget.bytes");
    // The fifth reference is the one that would pass 4 MiB.
    assert_eq!(e.path, "spec.docs[4]");
    assert_eq!(e.line, Some(14));
    assert_eq!(e.entity.as_deref(), Some("component:default/amplified"));
    assert_eq!(e.value.as_deref(), Some("big.txt"));
    assert!(
        e.message.contains("budget of 4194304 bytes")
            && e.message.contains("max_placeholder_bytes"),
        "{}",
        e.message
    );
    assert_eq!(reader.reads.get(), 5, "no file read after the refusal");
}

#[test]
fn the_refused_document_never_holds_its_expanded_size() {
    let reader = Files::new(&[("big.txt", "x".repeat(MIB))]);
    let text = component("amplified", "$text: big.txt", 60);
    let limits = Limits::default();
    let ((entities, errors), peak) = crate::peak_allocation(|| process(&text, &reader, &limits));
    assert!(entities.is_empty());
    assert_eq!(errors[0].rule, "placeholder.budget.bytes");
    // The budget (4 MiB) and one more file, not the 60 MiB the references add up to.
    assert!(peak < 8 * MIB, "peak {peak} bytes");
}

#[test]
fn too_many_placeholders_are_refused_at_the_count_budget() {
    let reader = Files::new(&[("one.txt", "x".into())]);
    let text = component("many", "$text: one.txt", 100);
    let (entities, errors) = process(&text, &reader, &Limits::default());
    assert!(entities.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.rule, "placeholder.budget.count");
    assert_eq!(e.path, "spec.docs[64]");
    assert_eq!(e.line, Some(74));
    assert!(
        e.message.contains("more than 64 placeholders") && e.message.contains("max_placeholders"),
        "{}",
        e.message
    );
    assert_eq!(reader.reads.get(), 64);
}

#[test]
fn placeholders_within_the_budgets_are_substituted() {
    let reader = Files::new(&[("readme.md", "# Hello".into())]);
    let text = component("fine", "$text: readme.md", 3);
    let (entities, errors) = process(&text, &reader, &Limits::default());
    assert!(errors.is_empty(), "{errors:?}");
    let body = entities[0].value();
    assert_eq!(
        body["spec"]["docs"],
        serde_json::json!(["# Hello", "# Hello", "# Hello"])
    );
}

#[test]
fn the_file_budget_spans_its_documents() {
    let reader = Files::new(&[("part.txt", "y".repeat(1000))]);
    let limits = Limits {
        max_placeholder_bytes: 2500,
        max_placeholder_file_bytes: 5000,
        ..Limits::default()
    };
    // Three documents of 2000 bytes each: each within its own budget, the third past the file's.
    let text = ["a", "b", "c"]
        .map(|n| component(n, "$text: part.txt", 2))
        .join("---\n");
    let (entities, errors) = process(&text, &reader, &limits);
    let names: Vec<&str> = entities.iter().map(|e| e.entity_ref.name()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, "placeholder.budget.file-bytes");
    assert_eq!(errors[0].entity.as_deref(), Some("component:default/c"));
    assert_eq!(errors[0].path, "spec.docs[1]");
    assert!(
        errors[0].message.contains("budget of 5000 bytes"),
        "{}",
        errors[0].message
    );
}

#[test]
fn yaml_aliases_inside_a_placeholder_count_expanded() {
    // 380 bytes of YAML that expand to 6 KB through aliases.
    let aliases = vec!["*a"; 60].join(", ");
    let yaml = format!("a: &a \"{}\"\nb: [{aliases}]\n", "z".repeat(100));
    assert!(yaml.len() < 500);
    let reader = Files::new(&[("bomb.yaml", yaml)]);
    let limits = Limits {
        max_placeholder_bytes: 2000,
        ..Limits::default()
    };
    let text = component("aliased", "$yaml: bomb.yaml", 1);
    let (entities, errors) = process(&text, &reader, &limits);
    assert!(entities.is_empty());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].rule, "placeholder.budget.bytes");
    assert_eq!(errors[0].path, "spec.docs[0]");
    assert!(
        errors[0].message.contains("budget of 2000 bytes"),
        "{}",
        errors[0].message
    );
}
