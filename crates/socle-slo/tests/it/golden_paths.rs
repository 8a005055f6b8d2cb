//! The golden paths write an `slo.yaml` into every service they create: rendered with sample
//! values, it must be a valid spec whose rules generate.

use std::path::PathBuf;

use socle_slo::{GenerateOptions, LoadOptions, group_rules, load};

/// The template's `${{ values.x }}` with sample values, and `{% raw %}` blocks opened.
fn render(template: &str) -> String {
    template
        .replace("${{ values.name }}", "payments-api")
        .replace("${{ values.owner }}", "team-payments")
        .replace("{% raw %}", "")
        .replace("{% endraw %}", "")
}

#[test]
fn every_golden_path_slo_file_is_a_valid_spec() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../golden-paths");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let file = entry.unwrap().path().join("skeleton/slo.yaml");
        if !file.exists() {
            continue;
        }
        let text = render(&std::fs::read_to_string(&file).unwrap());
        assert!(
            !text.contains("${{"),
            "{}: a template variable the test does not fill",
            file.display()
        );
        let groups = load(&text, "slo.yaml", &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e:#?}", file.display()));
        let rules = group_rules(&groups[0], &GenerateOptions::default()).unwrap();
        assert_eq!(groups[0].slos[0].service, "payments-api");
        assert_eq!(
            rules.len(),
            3,
            "{}: recordings, metadata and alerts",
            file.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "found {checked} golden paths with an slo.yaml"
    );
}
