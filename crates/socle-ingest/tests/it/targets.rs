//! Location targets as Backstage reads them: `presence: optional` forgives a target that cannot
//! be read, whatever its type; relative `url` targets resolve against the file that names them —
//! in a Git location, in the same tree.

use std::path::Path;
use std::process::Command;

use socle_catalog::{EntityError, Limits};
use socle_ingest::{LocationKind, LocationRead, LocationSpec, read_location};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn component(name: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
    )
}

/// A Location entity: `spec.type` (if any), `presence` (if any) and its targets.
fn location(name: &str, kind: Option<&str>, presence: Option<&str>, targets: &[&str]) -> String {
    let mut text = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n"
    );
    if let Some(k) = kind {
        text.push_str(&format!("  type: {k}\n"));
    }
    if let Some(p) = presence {
        text.push_str(&format!("  presence: {p}\n"));
    }
    text.push_str("  targets:\n");
    for t in targets {
        text.push_str(&format!("    - {t}\n"));
    }
    text
}

/// The names of what was read, sorted.
fn names(read: &LocationRead) -> Vec<String> {
    let mut n: Vec<String> = read
        .entities
        .iter()
        .map(|e| e.entity_ref.name().to_owned())
        .collect();
    n.sort();
    n
}

/// Each error's offending target and whether its message names it.
fn targets_of(errors: &[EntityError]) -> Vec<String> {
    let mut t: Vec<String> = errors
        .iter()
        .map(|e| {
            assert_eq!(e.rule, "location.target", "{e}");
            assert_eq!(e.path, "spec.target", "{e}");
            let v = e.value.clone().unwrap();
            assert!(e.message.contains(&v), "{e}");
            v
        })
        .collect();
    t.sort();
    t
}

/// Targets that cannot be read in any location: a missing file, a missing directory, a remote
/// URL and a type no reader here knows.
const UNREADABLE: [(&str, &str); 4] = [
    ("file", "./missing.yaml"),
    ("file", "./gone/"),
    ("url", "https://example.com/catalog-info.yaml"),
    ("github-discovery", "./org"),
];

/// `catalog-info.yaml` with one Location per unreadable target, all with `presence`.
fn unreadable_locations(presence: Option<&str>) -> String {
    UNREADABLE
        .iter()
        .enumerate()
        .map(|(i, (kind, target))| location(&format!("l{i}"), Some(kind), presence, &[target]))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn expected_unreadable() -> Vec<String> {
    let mut t: Vec<String> = UNREADABLE.iter().map(|(_, t)| (*t).to_owned()).collect();
    t.sort();
    t
}

#[test]
fn optional_targets_that_cannot_be_read_yield_nothing_in_a_file_location() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "catalog-info.yaml",
        &unreadable_locations(Some("optional")),
    );
    let read = read_location(
        &LocationSpec::file(tmp.path().to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(names(&read), ["l0", "l1", "l2", "l3"]);
    assert!(read.files_failed.is_empty() && !read.unreadable);
}

#[test]
fn required_targets_that_cannot_be_read_are_errors() {
    for presence in [None, Some("required")] {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            "catalog-info.yaml",
            &unreadable_locations(presence),
        );
        let read = read_location(
            &LocationSpec::file(tmp.path().to_string_lossy()),
            &Limits::default(),
        );
        assert_eq!(
            targets_of(&read.errors),
            expected_unreadable(),
            "{presence:?}"
        );
        assert_eq!(names(&read), ["l0", "l1", "l2", "l3"]);
    }
}

#[test]
fn an_optional_target_is_read_when_it_is_there() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "catalog-info.yaml",
        &location(
            "l",
            Some("url"),
            Some("optional"),
            &["./svc/catalog-info.yaml"],
        ),
    );
    write(tmp.path(), "svc/catalog-info.yaml", &component("svc"));
    let read = read_location(
        &LocationSpec::file(tmp.path().to_string_lossy()),
        &Limits::default(),
    );
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(names(&read), ["l", "svc"]);
}

#[test]
fn a_target_that_leaves_the_location_is_refused_even_when_optional() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    write(
        &tmp.path().join("outside"),
        "catalog-info.yaml",
        &component("outside"),
    );
    write(
        &root,
        "catalog-info.yaml",
        &location(
            "l",
            Some("url"),
            Some("optional"),
            &["../outside/catalog-info.yaml"],
        ),
    );
    let read = read_location(
        &LocationSpec::file(root.to_string_lossy()),
        &Limits::default(),
    );
    assert_eq!(names(&read), ["l"]);
    assert_eq!(targets_of(&read.errors), ["../outside/catalog-info.yaml"]);
    assert!(
        read.errors[0]
            .message
            .contains("leaves the location's root"),
        "{}",
        read.errors[0].message
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git (test setup only)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Git repository at `dir` with `files` committed on `main`.
fn repository(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    for (rel, text) in files {
        write(dir, rel, text);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "catalog"]);
}

fn git_location(dir: &Path) -> LocationSpec {
    LocationSpec {
        kind: LocationKind::Git,
        target: dir.to_string_lossy().into_owned(),
        branch: Some("main".into()),
        path: None,
    }
}

#[test]
fn relative_url_targets_in_a_git_location_are_read_from_the_same_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let root = location(
        "root",
        Some("url"),
        None,
        &["./services/catalog-info.yaml", "./teams/*.yaml"],
    );
    let services = location("services", None, None, &["../api/catalog-info.yaml"]);
    repository(
        &repo,
        &[
            ("catalog-info.yaml", root.as_str()),
            ("services/catalog-info.yaml", services.as_str()),
            ("api/catalog-info.yaml", component("api").as_str()),
            ("teams/a.yaml", component("team-a-service").as_str()),
        ],
    );
    // In the work tree only, never committed: not part of the tree that is read.
    write(&repo, "teams/b.yaml", &component("uncommitted"));
    let read = read_location(&git_location(&repo), &Limits::default());
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(names(&read), ["api", "root", "services", "team-a-service"]);
    let api = read
        .entities
        .iter()
        .find(|e| e.entity_ref.name() == "api")
        .unwrap();
    assert!(
        api.location.starts_with("git:") && api.location.ends_with("&path=api/catalog-info.yaml"),
        "{}",
        api.location
    );
    assert!(read.commit.is_some());
}

#[test]
fn optional_targets_that_cannot_be_read_yield_nothing_in_a_git_location() {
    let tmp = tempfile::tempdir().unwrap();
    let optional = tmp.path().join("optional");
    repository(
        &optional,
        &[(
            "catalog-info.yaml",
            unreadable_locations(Some("optional")).as_str(),
        )],
    );
    let read = read_location(&git_location(&optional), &Limits::default());
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    assert_eq!(names(&read), ["l0", "l1", "l2", "l3"]);

    let required = tmp.path().join("required");
    repository(
        &required,
        &[("catalog-info.yaml", unreadable_locations(None).as_str())],
    );
    let read = read_location(&git_location(&required), &Limits::default());
    assert_eq!(targets_of(&read.errors), expected_unreadable());
}
