//! Backstage's own sample templates (conformance/backstage-templates): those whose
//! actions Socle runs load and validate; the others are refused at load time, naming the action.

use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage-templates");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
            "{} is missing",
            p.display()
        );
        eprintln!("conformance corpus not found: skipped");
        None
    }
}

#[test]
fn backstage_sample_templates() {
    let Some(dir) = corpus() else { return };
    let engine = crate::engine();
    let mut loaded = Vec::new();
    let mut refused = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        match engine.load(&text, &file) {
            Ok(t) => loaded.push((file, t)),
            Err(errors) => refused.push((file, errors)),
        }
    }
    let loaded_names: Vec<&str> = loaded.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        loaded_names,
        vec![
            "clean-architecture-app.template.yaml",
            "create-react-app.template.yaml",
            "docs-template.template.yaml",
            "react-ssr-template.template.yaml",
            "springboot-grpc-template.template.yaml",
        ]
    );
    let why: Vec<(String, String, String)> = refused
        .iter()
        .map(|(f, errs)| {
            assert_eq!(errs.len(), 1, "{f}: {errs:?}");
            (
                f.clone(),
                errs[0].rule.clone(),
                errs[0].message.split(" is not").next().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        why,
        vec![
            (
                "docs-template-cookiecutter.template.yaml".into(),
                "action.unknown".into(),
                "action \"fetch:cookiecutter\"".into()
            ),
            (
                "gitlab-merge-request.template.yaml".into(),
                "action.unknown".into(),
                "action \"publish:gitlab:merge-request\"".into()
            ),
            (
                "pull-request.template.yaml".into(),
                "action.unknown".into(),
                "action \"publish:github:pull-request\"".into()
            ),
            (
                "rails-demo.template.yaml".into(),
                "action.unknown".into(),
                "action \"fetch:rails\"".into()
            ),
        ]
    );
    // Errors are located: file, line, field path.
    let (_, errs) = &refused[0];
    assert!(errs[0].line.is_some_and(|l| l > 1));
    assert!(errs[0].path.starts_with("spec.steps["), "{}", errs[0].path);
    // What a loaded template holds.
    let (_, cra) = &loaded[1];
    assert_eq!(cra.name, "create-react-app-template");
    assert_eq!(
        cra.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["template", "publish", "register"]
    );
    assert_eq!(socle_scaffold::params::pages(&cra.parameters).len(), 2);
}
