//! What a newcomer meets first: listings that show what the server offers, read commands that
//! create nothing, and exit codes (0 success, 1 failure, 2 usage errors only).

use crate::cli::socle;

#[test]
fn template_list_shows_every_builtin_golden_path() {
    let tmp = tempfile::tempdir().unwrap();
    let o = socle(
        &["template", "list", "-o", "json"],
        &tmp.path().join("data"),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), socle_scaffold::builtin::golden_paths().len());
    assert!(names.len() >= 3, "{names:?}");
}

#[test]
fn read_commands_create_no_store_and_say_where_they_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("mistyped");
    for args in [
        &["catalog", "list"][..],
        &["catalog", "get", "component:default/x"],
        &["catalog", "search", "pay"],
        &["catalog", "locations"],
        &["catalog", "refresh"],
        &["deployments", "list"],
        &["resources", "list"],
        &["token", "list"],
        &["template", "runs"],
        &["policy", "waivers"],
    ] {
        let o = socle(args, &data);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("no Socle store in"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(!data.exists(), "{args:?} created {}", data.display());
    }
}

#[test]
fn a_usage_error_exits_2_and_a_failure_1() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    assert_eq!(
        socle(&["catalog", "list", "--no-such-flag"], &data)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        socle(&["workload", "validate", "/no/such/score.yaml"], &data)
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn a_closed_database_port_is_reported_at_once_with_its_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let o = socle(
        &[
            "catalog",
            "list",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/test",
        ],
        &tmp.path().join("data"),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to the database at 127.0.0.1:1") && err.contains("refused"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn ingesting_a_mistyped_target_registers_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let missing = tmp.path().join("no-such-dir");
    let o = socle(&["catalog", "ingest", missing.to_str().unwrap()], &data);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("No such file or directory"), "{err}");
    assert!(!data.exists(), "nothing was created");
}

#[test]
fn validating_a_directory_without_catalog_files_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let o = socle(
        &["catalog", "validate", tmp.path().to_str().unwrap()],
        &tmp.path().join("data"),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no catalog entity found in"), "{err}");
}

#[test]
fn a_location_is_listed_with_its_id_and_unregistered_by_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = tmp.path().join("catalog");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: web\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .unwrap();
    let o = socle(&["catalog", "ingest", dir.to_str().unwrap()], &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(&["catalog", "locations", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = page["items"][0]["id"].as_str().unwrap().to_owned();
    let o = socle(&["catalog", "unregister", &id], &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(&["catalog", "list", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        page,
        serde_json::json!({"items": [], "totalItems": 0, "nextCursor": null})
    );
    let o = socle(&["catalog", "unregister", &id], &data);
    assert_eq!(o.status.code(), Some(1), "an unknown location is a failure");
}

fn waive(data: &std::path::Path, rule: &str, env: &str) -> std::process::Output {
    socle(
        &[
            "policy",
            "waive",
            "--rule",
            rule,
            "--entity",
            "api",
            "--env",
            env,
            "--reason",
            "r",
            "--owner",
            "group:default/team-a",
            "--expires",
            "2999-12-31",
            "-o",
            "json",
        ],
        data,
    )
}

#[test]
fn a_waiver_names_a_known_rule_and_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = waive(&data, "image-tags", "dev");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown rule \"image-tags\"") && err.contains("image-tag,"),
        "{err}"
    );
    let o = waive(&data, "image-tag", "prdo");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown environment \"prdo\""), "{err}");
}

#[test]
fn a_waiver_is_revoked_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = waive(&data, "image-tag", "dev");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = w["id"].as_str().unwrap();
    let o = socle(&["policy", "unwaive", id], &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(&["policy", "waivers", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = &page["items"];
    assert!(
        list[0]["revoked_at"].is_string() || list[0]["revokedAt"].is_string(),
        "{list}"
    );
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = socle(&["completions", shell], &tmp.path().join("data"));
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(
            script.contains("socle") && script.contains("workload"),
            "{shell}: {script}"
        );
    }
}

#[test]
fn version_is_printed_as_text_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let o = socle(&["version", "-o", "json"], &tmp.path().join("data"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let o = socle(&["version"], &tmp.path().join("data"));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("socle {}\n", env!("CARGO_PKG_VERSION"))
    );
}

fn dry_run(out: &std::path::Path, data: &std::path::Path, force: bool) -> std::process::Output {
    let mut args = vec![
        "template",
        "run",
        "python-fastapi-service",
        "--dry-run",
        "--no-input",
        "-d",
        out.to_str().unwrap(),
        "--set",
        "name=orders-api",
        "--set",
        "owner=group:default/team-a",
        "--set",
        "description=Takes orders",
        "--set",
        "system=shop",
        "--set",
        "lifecycle=production",
        "--set",
        "repoUrl=https://github.com/acme/orders-api",
    ];
    if force {
        args.push("--force");
    }
    socle(&args, data)
}

#[test]
fn a_dry_run_does_not_overwrite_a_directory_that_holds_files() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The golden path's guardrails want the owner in the catalog.
    let catalog = tmp.path().join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(
        catalog.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-a\nspec:\n  type: team\n  children: []\n---\napiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  owner: team-a\n",
    )
    .unwrap();
    let o = socle(&["catalog", "ingest", catalog.to_str().unwrap()], &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("README.md"), "mine").unwrap();
    let o = dry_run(&out, &data, false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("README.md")).unwrap(),
        "mine"
    );
    let o = dry_run(&out, &data, true);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_catalog_lists_pages_with_filters_as_the_api_does() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = tmp.path().join("catalog");
    std::fs::create_dir_all(&dir).unwrap();
    let component = |name: &str, owner: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
        )
    };
    std::fs::write(
        dir.join("catalog-info.yaml"),
        [
            component("a", "team-a"),
            component("b", "team-b"),
            component("c", "team-a"),
        ]
        .join("---\n"),
    )
    .unwrap();
    let o = socle(&["catalog", "ingest", dir.to_str().unwrap()], &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(
        &[
            "catalog", "list", "--owner", "team-a", "--limit", "1", "-o", "json",
        ],
        &data,
    );
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(page["totalItems"], 2, "{page}");
    assert_eq!(page["items"][0]["metadata"]["name"], "a");
    assert_eq!(page["nextCursor"], "component:default/a");
    let o = socle(
        &[
            "catalog",
            "list",
            "--owner",
            "group:default/team-a",
            "--cursor",
            "component:default/a",
            "-o",
            "json",
        ],
        &data,
    );
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["c"]);
    assert_eq!(page["nextCursor"], serde_json::Value::Null);
}
