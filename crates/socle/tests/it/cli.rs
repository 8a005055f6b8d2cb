use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn socle(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .env("SOCLE_DATA_DIR", data_dir)
        .env_remove("SOCLE_DATABASE_URL")
        .env("SOCLE_LOG", "warn")
        .output()
        .expect("run socle")
}

fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/backstage/examples");
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
            "conformance corpus missing"
        );
        None
    }
}

#[test]
fn validate_json_on_the_backstage_corpus() {
    let Some(ex) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let paths: Vec<String> = [
        "all.yaml",
        "acme/org.yaml",
        "components/invalid-component.yaml",
        "components/different-namespace.yaml",
    ]
    .iter()
    .map(|p| ex.join(p).to_string_lossy().into_owned())
    .collect();
    let mut args = vec!["catalog", "validate", "--output", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = socle(&args, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid entities must give exit 1"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entities = v["entities"].as_array().unwrap();
    // refs lower-cased and sorted, relations sorted
    let refs: Vec<&str> = entities
        .iter()
        .map(|e| e["ref"].as_str().unwrap())
        .collect();
    let mut sorted = refs.clone();
    sorted.sort();
    assert_eq!(refs, sorted);
    let team_a = entities
        .iter()
        .find(|e| e["ref"] == "group:default/team-a")
        .unwrap();
    let rels: Vec<String> = team_a["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["type"].as_str().unwrap(),
                r["target"].as_str().unwrap()
            )
        })
        .collect();
    let mut rs = rels.clone();
    rs.sort();
    assert_eq!(rels, rs);
    assert!(rels.contains(&"hasMember user:development/guest".to_owned()));
    let ns = entities
        .iter()
        .find(|e| e["ref"] == "component:alternative/different-namespace")
        .unwrap();
    assert_eq!(
        ns["relations"],
        serde_json::json!([{"type": "ownedBy", "target": "group:default/team-a"}])
    );
    let err = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "metadata.name")
        .unwrap();
    assert!(
        err["file"]
            .as_str()
            .unwrap()
            .ends_with("components/invalid-component.yaml")
    );
    assert_eq!(err["line"], 4);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("\"invalid component\"")
    );
}

const FIXTURE: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: Team-A
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1beta1
kind: Component
metadata:
  name: Checkout
  namespace: shop
spec:
  type: service
  lifecycle: production
  owner: default/team-a
  system: shop
  consumesApis: [api:default/payments]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
  namespace: shop
spec:
  owner: group:default/team-a
";

#[test]
fn validate_outputs_are_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("catalog-info.yaml");
    std::fs::write(&f, FIXTURE).unwrap();
    let out = socle(
        &["catalog", "validate", "-o", "json", f.to_str().unwrap()],
        tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!("validate_fixture", v);
    let out = socle(&["catalog", "validate", f.to_str().unwrap()], tmp.path());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3 entities valid, 7 relations (1 dangling), 0 errors\ndangling: component:shop/checkout consumesApi api:default/payments\n"
    );
}

#[test]
fn validate_reports_errors_on_stderr_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bad.yaml");
    std::fs::write(
        &f,
        "apiVersion: backstage.io/v1alpha1\nkind: component\nmetadata:\n  name: x\nspec: {}\n",
    )
    .unwrap();
    let out = socle(&["catalog", "validate", f.to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:2:7 component:default/x kind: unknown kind \"component\" (kinds are case-sensitive: did you mean Component?)"), "{stderr}");
    let out = socle(
        &[
            "catalog",
            "validate",
            tmp.path().join("missing.yaml").to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file or directory"));
}

#[test]
fn the_documents_per_file_cap_is_set_like_the_other_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("catalog-info.yaml");
    let doc = |n: u32| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g{n}\nspec:\n  type: team\n  children: []\n"
        )
    };
    std::fs::write(&f, (0..3).map(doc).collect::<Vec<_>>().join("---\n")).unwrap();
    let path = f.to_str().unwrap();
    let out = socle(&["catalog", "validate", path], tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = socle(
        &["catalog", "validate", "--max-documents", "2", path],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "catalog-info.yaml:16:1: the file has more than 2 documents: refused [yaml.limits]"
        ),
        "{stderr}"
    );
}

pub(crate) fn git(dir: &Path, args: &[&str]) {
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

#[test]
fn ingest_a_git_repository_at_a_branch_then_query_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("services/pay")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(
        repo.join("catalog-info.yaml"),
        FIXTURE.split("---").next().unwrap(),
    )
    .unwrap();
    std::fs::write(
        repo.join("services/pay/catalog-info.yaml"),
        FIXTURE.split("---").nth(1).unwrap(),
    )
    .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "catalog"]);
    git(&repo, &["checkout", "-q", "-b", "other"]);
    std::fs::remove_file(repo.join("services/pay/catalog-info.yaml")).unwrap();
    git(&repo, &["commit", "-q", "-am", "drop pay"]);
    // The working tree is on `other`; ingest reads `main` from the object store.
    let data = tmp.path().join("data");
    let out = socle(
        &[
            "catalog",
            "ingest",
            "--git",
            repo.to_str().unwrap(),
            "--branch",
            "main",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["added"], 2);
    let out = socle(
        &["catalog", "get", "component:shop/checkout", "-o", "json"],
        &data,
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        e["metadata"]["annotations"]["backstage.io/managed-by-location"]
            .as_str()
            .unwrap()
            .ends_with("?ref=main&path=services/pay/catalog-info.yaml")
    );
    assert_eq!(
        e["relations"][0],
        serde_json::json!({"type": "consumesApi", "targetRef": "api:default/payments"})
    );
    // Branch `other` no longer has the component: re-reading it as its own location shows one entity.
    let out = socle(
        &[
            "catalog",
            "ingest",
            "--git",
            &format!("file://{}", repo.display()),
            "--branch",
            "other",
            "-o",
            "json",
        ],
        &data,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["errors"][0]["rule"], "location.conflict", "{v}");
    let out = socle(&["catalog", "list", "-o", "json"], &data);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list["totalItems"], 2);
    let out = socle(&["catalog", "search", "check", "-o", "json"], &data);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["hits"][0]["entity_ref"], "component:shop/checkout");
    // Only https:// remotes are fetched; another scheme says so, an unreachable host too.
    let out = socle(
        &["catalog", "ingest", "--git", "ssh://git@example.com/x.git"],
        &data,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ssh:// repositories are not fetched"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = socle(
        &["catalog", "ingest", "--git", "https://127.0.0.1:9/x.git"],
        &data,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot fetch https://127.0.0.1:9/x.git"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn help_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["catalog", "--help"],
        vec!["catalog", "validate", "--help"],
        vec!["serve", "--help"],
        vec!["token", "create", "--help"],
    ] {
        let out = socle(&args, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: socle"),
            "{args:?}"
        );
    }
}

#[test]
fn tokens_belong_to_catalog_users_or_service_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("catalog-info.yaml");
    std::fs::write(&f, "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: Jane\nspec:\n  memberOf: []\n").unwrap();
    let data = tmp.path().join("data");
    assert_eq!(
        socle(&["catalog", "ingest", f.to_str().unwrap()], &data)
            .status
            .code(),
        Some(0)
    );
    let out = socle(
        &[
            "token",
            "create",
            "--name",
            "t",
            "--subject",
            "user:default/ghost",
        ],
        &data,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("user:default/ghost is not in the catalog")
    );
    let out = socle(
        &[
            "token",
            "create",
            "--name",
            "t",
            "--subject",
            "user:default/JANE",
            "--role",
            "admin",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["token"]["subject"], "user:default/jane");
    let secret = v["secret"].as_str().unwrap().to_owned();
    let out = socle(&["token", "list", "-o", "json"], &data);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("user:default/jane") && !text.contains(&secret));
    let id = v["token"]["id"].as_str().unwrap();
    assert_eq!(
        socle(&["token", "revoke", id], &data).status.code(),
        Some(0)
    );
    assert_eq!(
        socle(&["token", "revoke", id], &data).status.code(),
        Some(1)
    );
}

#[test]
fn workload_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("score.yaml");
    std::fs::write(&good, "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB: ${resources.db.host}\nresources:\n  db:\n    type: postgres\n  route:\n    type: route\n    params:\n      host: ${resources.dns.host}\n  dns:\n    type: dns\n").unwrap();
    let out = socle(
        &["workload", "validate", good.to_str().unwrap(), "-o", "json"],
        tmp.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["workloads"][0]["order"],
        serde_json::json!(["db", "dns", "route"])
    );
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB: ${resources.db.host}\n").unwrap();
    let out = socle(&["workload", "validate", bad.to_str().unwrap()], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:8:11 containers.main.variables.DB: ${resources.db.host} refers to resource \"db\", which is not declared under resources (declared: none) [placeholder.unknown-resource]"), "{stderr}");
}

#[test]
fn workload_generate_compose() {
    let tmp = tempfile::tempdir().unwrap();
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx:1.27\n    variables:\n      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.name}\n    files:\n      /etc/motd:\n        content: welcome to ${metadata.name}\nresources:\n  db:\n    type: postgres\n").unwrap();
    let out_a = tmp.path().join("a");
    let out_b = tmp.path().join("b");
    for out in [&out_a, &out_b] {
        let o = socle(
            &[
                "workload",
                "generate",
                score.to_str().unwrap(),
                "--output-dir",
                out.to_str().unwrap(),
                "--seed",
                "7",
                "--project",
                "shop",
            ],
            tmp.path(),
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let a = std::fs::read_to_string(out_a.join("compose.yaml")).unwrap();
    assert_eq!(
        a,
        std::fs::read_to_string(out_b.join("compose.yaml")).unwrap(),
        "same inputs, same bytes"
    );
    // The workload refers to the password through the git-ignored .env file.
    let env = std::fs::read_to_string(out_a.join(".env")).unwrap();
    let (var, password) = env.lines().next().unwrap().split_once('=').unwrap();
    assert!(a.contains(&format!("${{{var}}}")), "{a}");
    assert!(!a.contains(&format!("DB_URL: postgres://{password}")));
    assert_eq!(
        std::fs::read_to_string(out_a.join(".gitignore")).unwrap(),
        ".env\n.socle-preview/\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_a.join("mounts/files/shop-files-etc-motd")).unwrap(),
        "welcome to shop"
    );
    // Kubernetes: typed manifests; the password is only referenced.
    let k = tmp.path().join("k");
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--output-dir",
            k.to_str().unwrap(),
            "--seed",
            "7",
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let deployment =
        std::fs::read_to_string(k.join("workloads/shop/deployment-shop.yaml")).unwrap();
    assert!(
        deployment.contains("kind: Deployment") && deployment.contains("secretKeyRef"),
        "{deployment}"
    );
    let all: String = walk(&k)
        .into_iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(all.contains("kind: ExternalSecret"));
    assert!(all.contains("kind: StatefulSet"));
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            "mars",
        ],
        tmp.path(),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("unknown environment \"mars\"; this platform has: dev, local, prod, staging")
    );
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const WITH_CACHE: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: app:1\n    variables:\n      DB: ${resources.db.password}\n      CACHE: ${resources.cache.host}\nresources:\n  db:\n    type: postgres\n  cache:\n    type: redis\n";

/// `socle workload generate SCORE --env ENV -d OUT` (random seed), which must succeed.
fn generate(score: &Path, env: &str, out: &Path, data: &Path) -> Output {
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            env,
            "-d",
            out.to_str().unwrap(),
            "-o",
            "json",
        ],
        data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn generate_keeps_credentials_between_runs_in_its_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, WITH_CACHE).unwrap();
    generate(&score, "local", &out, &data);
    let first = std::fs::read_to_string(out.join(".env")).unwrap();
    // Random seeds: the directory's kept state gives the same credentials.
    generate(&score, "local", &out, &data);
    assert_eq!(std::fs::read_to_string(out.join(".env")).unwrap(), first);
    let compose = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    for line in first.lines() {
        let (_, secret) = line.split_once('=').unwrap();
        assert!(
            !compose.contains(secret),
            "a secret in compose.yaml: {compose}"
        );
    }
}

#[test]
fn generate_creates_no_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, WITH_CACHE).unwrap();
    generate(&score, "local", &tmp.path().join("out"), &data);
    assert!(!data.exists(), "a preview created {}", data.display());
}

#[test]
fn generate_removes_the_files_it_no_longer_writes_and_keeps_others() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let score = tmp.path().join("score.yaml");
    let with_file = WITH_CACHE.replace(
        "    variables:\n",
        "    files:\n      /etc/motd:\n        content: hello\n    variables:\n",
    );
    std::fs::write(&score, &with_file).unwrap();
    generate(&score, "local", &out, &data);
    let mount = out.join("mounts/files/api-files-etc-motd");
    assert!(mount.is_file());
    std::fs::write(out.join("notes.md"), "mine").unwrap();
    std::fs::write(&score, WITH_CACHE).unwrap();
    let o = generate(&score, "local", &out, &data);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        summary["removed"],
        serde_json::json!(["mounts/files/api-files-etc-motd"])
    );
    assert!(!mount.exists());
    assert_eq!(
        std::fs::read_to_string(out.join("notes.md")).unwrap(),
        "mine"
    );
}

#[test]
fn generate_sets_the_image_of_a_dot_container() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out) = (tmp.path().join("data"), tmp.path().join("out"));
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, WITH_CACHE.replace("image: app:1", "image: .")).unwrap();
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "-d",
            out.to_str().unwrap(),
            "--image",
            "ghcr.io/acme/api:1.2.0",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let compose = std::fs::read_to_string(out.join("compose.yaml")).unwrap();
    assert!(
        compose.contains("image: ghcr.io/acme/api:1.2.0"),
        "{compose}"
    );
}

/// The data-loss trap of the first hour: a preview run where the server's store is must not
/// de-provision what a live deployment uses, nor give it new credentials.
#[test]
fn generate_leaves_the_store_byte_for_byte_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, WITH_CACHE).unwrap();
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--guardrails",
            "none",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let snapshot = || -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = walk(&data)
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            // SQLite's shared-memory index is not data, nor is the empty WAL any reader opens.
            .filter(|(p, bytes)| {
                let empty_wal = p.ends_with("-wal") && bytes.is_empty();
                !p.ends_with("-shm") && !empty_wal
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot();
    let out = tmp.path().join("out");
    generate(&score, "dev", &out, &data);
    // Without the cache, a preview used to de-provision it (and give it new credentials next).
    std::fs::write(
        &score,
        WITH_CACHE
            .replace("      CACHE: ${resources.cache.host}\n", "")
            .replace("  cache:\n    type: redis\n", ""),
    )
    .unwrap();
    let o = generate(&score, "dev", &out, &data);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("de-provisioned"));
    generate(&score, "local", &tmp.path().join("local"), &data);
    let after = snapshot();
    let changed: Vec<&str> = before
        .iter()
        .chain(&after)
        .filter(|(p, bytes)| {
            before
                .iter()
                .chain(&after)
                .any(|(q, other)| q == p && other != bytes)
                || !before.iter().any(|(q, _)| q == p)
                || !after.iter().any(|(q, _)| q == p)
        })
        .map(|(p, _)| p.as_str())
        .collect();
    assert!(changed.is_empty(), "the store's files changed: {changed:?}");
    let list = socle(&["resources", "list", "--env", "dev", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let rows = &page["items"];
    assert_eq!(
        rows.as_array().unwrap().len(),
        2,
        "the live cache is still provisioned"
    );
}

/// A preview of an environment shows the live resources' names, not new ones.
#[test]
fn generate_reuses_the_environments_live_resources() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, WITH_CACHE).unwrap();
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--guardrails",
            "none",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let list = socle(&["resources", "list", "--env", "dev", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let db = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "postgres")
        .unwrap()["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let live = socle(
        &[
            "resources",
            "outputs",
            &db,
            "--env",
            "dev",
            "--show-secrets",
            "-o",
            "json",
        ],
        &data,
    );
    let live: serde_json::Value = serde_json::from_slice(&live.stdout).unwrap();
    let out = tmp.path().join("out");
    generate(&score, "dev", &out, &data);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(".socle-preview/state.json")).unwrap())
            .unwrap();
    assert_eq!(
        state[&db]["password"], live["password"],
        "the live password, not a new one"
    );
}

#[test]
fn deploy_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: .\n    files:\n      /etc/motd:\n        source: motd.txt\nresources:\n  db:\n    type: postgres\n").unwrap();
    std::fs::write(tmp.path().join("motd.txt"), "hi").unwrap();
    let deploy = [
        "deploy",
        score.to_str().unwrap(),
        "--env",
        "dev",
        "--image",
        "api:2.1.0",
        "-o",
        "json",
    ];
    // The built-in guardrails are on by default: no probes, no requests or limits → blocked.
    let o = socle(&deploy, &data);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for rule in [
        "liveness-probe",
        "readiness-probe",
        "cpu-limits",
        "memory-requests",
    ] {
        assert!(err.contains(rule), "{rule} missing from: {err}");
    }
    assert!(
        !data.join("gitops/dev.git").exists(),
        "nothing was committed"
    );
    let o = socle(
        &["deployments", "list", "--env", "dev", "-o", "json"],
        &data,
    );
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(page["items"], serde_json::json!([]), "{page}");
    let probes = "    livenessProbe:\n      httpGet:\n        path: /healthz\n        port: 8080\n    readinessProbe:\n      httpGet:\n        path: /healthz\n        port: 8080\n    resources:\n      requests:\n        cpu: 100m\n        memory: 64Mi\n      limits:\n        cpu: 500m\n        memory: 256Mi\n";
    let text = std::fs::read_to_string(&score).unwrap();
    std::fs::write(
        &score,
        text.replace("    files:\n", &format!("{probes}    files:\n")),
    )
    .unwrap();
    let o = socle(&deploy, &data);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (d["version"].as_str(), d["changed"].as_bool()),
        (Some("2.1.0"), Some(true))
    );
    assert!(
        data.join("gitops/dev.git").join("HEAD").exists(),
        "a bare GitOps repository was created"
    );
    let o = socle(
        &["deployments", "list", "--env", "dev", "-o", "json"],
        &data,
    );
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = &page["items"];
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["service"], "api");
    assert!(
        list[0]["created_at"]
            .as_str()
            .is_some_and(|t| socle_dora::parse_timestamp(t).is_ok()),
        "times are RFC 3339: {list}"
    );
    let o = socle(&["deploy", "--rollback", "api", "--env", "dev"], &data);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no earlier successful deployment"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(
        &[
            "deploy",
            "--promote",
            "api",
            "--from",
            "dev",
            "--to",
            "staging",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "local",
            "--image",
            "x:1",
        ],
        &data,
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("runs on Compose"));
}

#[test]
fn platform_configuration_from_a_git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("platform");
    std::fs::create_dir_all(repo.join("resources")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("socle.yaml"), "apiVersion: socle.dev/v1alpha1\nkind: Platform\nenvironments:\n  - name: qa\n    type: staging\n    target: compose\n").unwrap();
    std::fs::write(repo.join("resources/cache.yaml"), "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: qa-cache\nspec:\n  type: redis\n  target: compose\n  template: |\n    outputs:\n      host: shared-qa-cache\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "platform"]);
    // Uncommitted edits are not used: the reviewed (committed) configuration is.
    std::fs::write(repo.join("resources/cache.yaml"), "garbage: [").unwrap();
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: app:1\n    variables:\n      CACHE: ${resources.cache.host}\nresources:\n  cache:\n    type: redis\n").unwrap();
    let out = tmp.path().join("out");
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            "qa",
            "--platform",
            repo.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ],
        &tmp.path().join("data"),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        std::fs::read_to_string(out.join("compose.yaml"))
            .unwrap()
            .contains("CACHE: shared-qa-cache")
    );
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--platform",
            repo.to_str().unwrap(),
        ],
        &tmp.path().join("data"),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("unknown environment \"dev\"; this platform has: qa")
    );
}

#[test]
fn policy_eval_and_test() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../socle-policy/tests/it/fixtures/bad.yaml");
    let clean = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../socle-policy/tests/it/fixtures/clean.yaml");
    let o = socle(
        &["policy", "eval", bad.to_str().unwrap(), "-o", "json"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    // conftest's JSON: one result per document, each failure a `msg` with the rule's metadata.
    let results: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(results[0]["filename"], bad.to_str().unwrap());
    let first = &results[0]["failures"][0];
    assert!(first["msg"].is_string(), "{first}");
    for key in ["rule", "object", "path", "checkov"] {
        assert!(
            first["metadata"].get(key).is_some(),
            "failure without {key}: {first}"
        );
    }
    let o = socle(&["policy", "eval", clean.to_str().unwrap()], tmp.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "0 failures, 0 warnings\n"
    );
    // A custom policy directory, conftest-style, with its own test.
    let dir = tmp.path().join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("labels.rego"), "package main\n\nimport rego.v1\n\ndeny contains msg if {\n\tnot input.metadata.labels.team\n\tmsg := sprintf(\"%s has no team label\", [input.metadata.name])\n}\n\ntest_needs_team if {\n\tcount(deny) == 1 with input as {\"metadata\": {\"name\": \"x\"}}\n}\n").unwrap();
    let o = socle(
        &[
            "policy",
            "eval",
            "--policy",
            dir.to_str().unwrap(),
            clean.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("FAIL - ")
            && String::from_utf8_lossy(&o.stdout).contains("good has no team label [deny]")
    );
    let o = socle(&["policy", "test", dir.to_str().unwrap()], tmp.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("1 passed, 0 failed\n"));
    let o = socle(&["policy", "test"], tmp.path());
    assert_eq!(o.status.code(), Some(0));
    // A policy that does not compile: file and line.
    std::fs::write(
        dir.join("broken.rego"),
        "package main\n\ndeny contains msg if {\n",
    )
    .unwrap();
    let o = socle(
        &[
            "policy",
            "eval",
            "--policy",
            dir.to_str().unwrap(),
            clean.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken.rego"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn waivers_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  web:\n    image: .\n    livenessProbe:\n      httpGet: {path: /, port: 80}\n    readinessProbe:\n      httpGet: {path: /, port: 80}\n    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 200m, memory: 128Mi}\n").unwrap();
    let deploy = |image: &str| {
        socle(
            &[
                "deploy",
                score.to_str().unwrap(),
                "--env",
                "dev",
                "--image",
                image,
                "--guardrails",
                "builtin",
            ],
            &data,
        )
    };
    let o = deploy("api:latest");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("[image-tag]"));
    let o = socle(
        &[
            "policy",
            "waive",
            "--rule",
            "image-tag",
            "--entity",
            "api",
            "--reason",
            "previews",
            "--owner",
            "group:default/team-a",
            "--expires",
            "2999-12-31",
            "-o",
            "json",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["entity"], "component:default/api");
    assert_eq!(deploy("api:latest").status.code(), Some(0));
    let o = socle(&["policy", "results", "api", "-o", "json"], &data);
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = &page["items"];
    assert_eq!(
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| x["outcome"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["warn", "blocked"]
    );
    let o = socle(&["policy", "waivers"], &data);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("image-tag")
            && String::from_utf8_lossy(&o.stdout).contains("active")
    );
    let o = socle(
        &[
            "policy",
            "waive",
            "--rule",
            "image-tag",
            "--entity",
            "api",
            "--reason",
            "r",
            "--owner",
            "o",
            "--expires",
            "2001-01-01",
        ],
        &data,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must expire in the future"));
}

#[test]
fn platform_guardrails_extend_and_configure_the_builtin_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("platform");
    std::fs::create_dir_all(repo.join("policies")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("socle.yaml"), "apiVersion: socle.dev/v1alpha1\nkind: Platform\nenvironments:\n  - name: dev\n    type: development\n    target: kubernetes\n    namespace: dev\n    gitops:\n      repository: gitops/dev.git\n      branch: main\n      path: dev\n").unwrap();
    // Configures the pack (opt-out per rule) and adds a rule of the platform team's own.
    std::fs::write(
        repo.join("policies/config.yaml"),
        "socle:\n  disabled_rules: [liveness-probe, readiness-probe]\n",
    )
    .unwrap();
    std::fs::write(repo.join("policies/team.rego"), "package main\n\nimport rego.v1\n\ndeny_part_of contains {\"id\": \"part-of\", \"msg\": \"label app.kubernetes.io/part-of is required\", \"path\": \"metadata.labels\"} if {\n\tinput.kind == \"Deployment\"\n\tnot input.metadata.labels[\"app.kubernetes.io/part-of\"]\n}\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "guardrails"]);
    // Not committed, so not in force.
    std::fs::write(
        repo.join("policies/wip.rego"),
        "package main\n\ndeny_everything contains \"uncommitted\" if { true }\n",
    )
    .unwrap();
    let score = tmp.path().join("score.yaml");
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: api:1.0.0\n    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 500m, memory: 128Mi}\n").unwrap();
    let data = tmp.path().join("data");
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--platform",
            repo.to_str().unwrap(),
            "--guardrails",
            "platform",
        ],
        &data,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("[part-of]"), "{err}");
    assert!(!err.contains("probe"), "disabled rules still ran: {err}");
    assert!(
        !err.contains("uncommitted"),
        "the working tree was read: {err}"
    );
    // The built-in pack is still in force for what is not disabled.
    std::fs::write(&score, "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: api:latest\n").unwrap();
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--platform",
            repo.to_str().unwrap(),
            "--guardrails",
            "platform",
        ],
        &data,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("[image-tag]") && err.contains("[cpu-limits]"),
        "{err}"
    );
}

/// A deploy the guardrails block is audited as a failure with its error code, like the API's.
#[test]
fn a_refused_cli_deploy_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let score = tmp.path().join("score.yaml");
    std::fs::write(
        &score,
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: .\n",
    )
    .unwrap();
    let o = socle(
        &[
            "deploy",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--image",
            "api:1",
        ],
        &data,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log = rt.block_on(async {
        let store = socle_store::Store::open(&socle_store::StoreConfig::new(&data, None))
            .await
            .unwrap();
        store.audit_log(10).await.unwrap()
    });
    let deploys: Vec<(&str, &str, &str)> = log
        .iter()
        .filter(|e| e.action == "deployment.deploy")
        .map(|e| (e.target.as_str(), e.outcome.as_str(), e.detail.as_str()))
        .collect();
    // The CLI parses the workload itself, so the audit row names the service.
    assert_eq!(deploys, [("api@dev", "failed", "blocked_by_guardrails")]);
}

/// Files given by `source` reach a Kubernetes environment's ConfigMap with their content (they
/// came out empty before: only `socle deploy` read them).
#[test]
fn workload_generate_kubernetes_reads_source_files() {
    let tmp = tempfile::tempdir().unwrap();
    let score = tmp.path().join("score.yaml");
    std::fs::write(
        &score,
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx:1.27\n    files:\n      /etc/motd:\n        source: motd.txt\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("motd.txt"), "hello from a file\n").unwrap();
    let out = tmp.path().join("k8s");
    let o = socle(
        &[
            "workload",
            "generate",
            score.to_str().unwrap(),
            "--env",
            "dev",
            "--output-dir",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all: String = walk(&out)
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(all.contains("hello from a file"), "{all}");
}
