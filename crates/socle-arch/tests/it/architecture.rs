//! The architecture held by a test: crate floors, what domain crates depend on and call. Every
//! violation is printed at once (file:line for sources); the rules and their exceptions are the
//! tables of `socle_arch` (src/lib.rs).

use std::path::{Path, PathBuf};

use serde_json::json;
use socle_arch::{
    Package, Violation, dependency_violations, packages, source_violations, unused_allows,
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/socle-arch is two levels below the workspace root")
        .to_path_buf()
}

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn check(pkgs: &[Package]) -> Vec<Violation> {
    let root = workspace_root();
    let mut used = Vec::new();
    let mut out = dependency_violations(pkgs, &mut used);
    for p in pkgs {
        if !socle_arch::FLOORS
            .iter()
            .any(|f| f.krate == p.name && f.pure)
        {
            continue;
        }
        let dir = Path::new(&p.dir);
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("a source file reads");
            let rel = f
                .strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            let shown = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
            out.extend(source_violations(&p.name, &rel, &shown, &text, &mut used));
        }
    }
    out.extend(unused_allows(pkgs, &used));
    out
}

#[test]
fn the_workspace_keeps_its_architecture() {
    let pkgs = packages(&metadata());
    assert!(pkgs.len() > 10, "cargo metadata lists the workspace");
    let violations = check(&pkgs);
    assert!(
        violations.is_empty(),
        "{} architecture violation(s) (rules and exceptions: crates/socle-arch/src/lib.rs):\n{}",
        violations.len(),
        violations
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn package(name: &str, deps: &[&str]) -> Package {
    Package {
        name: name.into(),
        deps: deps.iter().map(|d| d.to_string()).collect(),
        dir: format!("/w/crates/{name}"),
    }
}

#[test]
fn upward_dependencies_unknown_crates_and_forbidden_dependencies_are_reported() {
    let pkgs = [
        package("socle-api", &[]),
        package("socle-store", &["socle-api"]),
        package("socle-render", &["tokio", "socle-catalog"]),
        package("socle-catalog", &[]),
        package("socle-new", &[]),
    ];
    let shown: Vec<String> = dependency_violations(&pkgs, &mut Vec::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            "socle-store: depends upwards on socle-api (floor 3 above socle-store's floor 1): a crate uses only its floor and below",
            "socle-render: domain crate depends on tokio (forbidden in domain crates)",
            "socle-new: has no row in socle_arch::FLOORS: give the new crate a floor",
        ]
    );
}

#[test]
fn the_application_floor_may_not_depend_on_http_server_types() {
    let pkgs = [
        package("socle-app", &["axum", "socle-store", "tokio"]),
        package("socle-store", &[]),
    ];
    let shown: Vec<String> = dependency_violations(&pkgs, &mut Vec::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            "socle-app: application crate depends on axum (HTTP and HTML types stay in the adapters)"
        ]
    );
}

#[test]
fn forbidden_calls_are_reported_with_their_line_and_tests_and_comments_are_not() {
    let text = "use std::{fs, path::Path};\n// std::env::var in a comment\nfn now() -> u64 { std::time::SystemTime::now(); 0 }\n#[cfg(test)]\nmod tests { fn t() { std::fs::read(\"x\"); } }\n";
    let shown: Vec<String> = source_violations(
        "socle-render",
        "src/x.rs",
        "crates/socle-render/src/x.rs",
        text,
        &mut Vec::new(),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        shown,
        vec![
            "crates/socle-render/src/x.rs:1: `std::fs` (file system access) in domain crate socle-render",
            "crates/socle-render/src/x.rs:3: `SystemTime::now` (reads the clock) in domain crate socle-render",
        ]
    );
}

#[test]
fn an_allow_row_that_matches_nothing_is_reported() {
    let pkgs = [package("socle-scaffold", &[])];
    let stale = unused_allows(&pkgs, &[]);
    assert!(!stale.is_empty());
    assert!(stale.iter().all(|v| v.at == "socle-scaffold"), "{stale:?}");
    let _ = json!(null);
}

/// One audit path: outside the store (which defines it) and `socle-app/src/audit.rs` (which
/// wraps it), no source calls the store's `.audit(`.
#[test]
fn every_audit_row_goes_through_the_application() {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let allowed = [
        root.join("crates/socle-app/src/audit.rs"),
        root.join("crates/socle-store/src"),
    ];
    let mut found = Vec::new();
    for f in files {
        let in_src = f.components().any(|c| c.as_os_str() == "src");
        if !in_src || allowed.iter().any(|a| f.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("a source file reads");
        for (i, line) in text.lines().enumerate() {
            if line.contains(".audit(") && !line.trim_start().starts_with("//") {
                let shown = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
                found.push(format!("{shown}:{}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "audit rows written outside socle_app::audit::record_to:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_store_and_the_data_contract_engine_may_run_sql() {
    let pkgs = [
        package("socle-app", &["sqlx", "socle-store"]),
        package("socle-store", &["sqlx"]),
        package("socle-data-pg", &["sqlx"]),
        package("socle-data-files", &["sqlx"]),
    ];
    let shown: Vec<String> = dependency_violations(&pkgs, &mut Vec::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        vec![
            "socle-app: depends on sqlx: only socle-store, socle-data-pg, socle-data-files run SQL (the store, and the data-contract engines)"
        ]
    );
}
