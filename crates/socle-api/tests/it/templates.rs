//! Golden paths over HTTP, end to end: a service created from the Rust golden path is published
//! to a bare Git repository, registered (owner and system related), deployed to dev through the
//! guardrails; failures leave no repository and no catalog entry behind. One behaviour per test,
//! each on SQLite and PostgreSQL from the same setup.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::harness::both_backends;

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-b
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ann
spec:
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: eve
spec:
  memberOf: [team-b]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
";

pub(crate) fn values(name: &str) -> Value {
    json!({
        "name": name, "description": "Takes orders", "owner": "group:default/team-a",
        "system": "shop", "lifecycle": "production", "database": true,
        "repoUrl": format!("https://git.example.com/acme/{name}")
    })
}

/// A server with the built-in guardrails and the organisation registered; tokens of ann
/// (team-a) and eve (team-b). None when PostgreSQL is not configured.
pub(crate) async fn setup(backend: &str) -> Option<(crate::harness::Server, String, String)> {
    let config = socle_api::ServerConfig {
        guardrails: Some(socle_policy::PolicySet::builtin(None).unwrap()),
        refresh_interval: None,
        ..Default::default()
    };
    let s = crate::harness::start_with(backend, config).await?;
    let dir = s.catalog_dir();
    std::fs::write(dir.join("catalog-info.yaml"), ORG).unwrap();
    s.register(&dir).await;
    let mut tokens = Vec::new();
    for user in ["ann", "eve"] {
        let (status, t) = s
            .call("POST", "/api/v1/tokens", Some(&s.admin), Some(json!({"name": user, "subject": format!("user:default/{user}"), "role": "member"})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        tokens.push(t["secret"].as_str().unwrap().to_owned());
    }
    let (ann, eve) = (tokens[0].clone(), tokens[1].clone());
    Some((s, ann, eve))
}

/// The repositories Socle hosts, under its data directory.
fn hosted(s: &crate::harness::Server) -> std::path::PathBuf {
    s.dir.path().join("gitops-root/repositories")
}

/// Whether a bare repository named `name.git` exists anywhere under `dir`.
fn has_repo(dir: &std::path::Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        p.file_name()
            .is_some_and(|n| n == format!("{name}.git").as_str())
            || (p.is_dir() && has_repo(&p, name))
    })
}

pub(crate) const PATH: &str = "/api/v1/templates/rust-axum-service/runs";

/// The built-in golden paths are listed, each with its parameter pages and patterns.
async fn the_golden_paths_are_listed_with_their_parameters(backend: &str) {
    let Some((s, _ann, _eve)) = setup(backend).await else {
        return;
    };

    let (status, list) = s.call("GET", "/api/v1/templates", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "python-fastapi-service",
            "rust-axum-service",
            "typescript-node-service"
        ]
    );
    let (_, t) = s
        .call("GET", "/api/v1/templates/rust-axum-service", None, None)
        .await;
    assert_eq!(
        t["parameters"][0]["properties"]["name"]["pattern"],
        "^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
    );
}
both_backends!(the_golden_paths_are_listed_with_their_parameters);

/// Anonymous runs are refused; a dry run creates nothing; invalid parameters run nothing.
async fn a_run_needs_a_member_and_valid_parameters(backend: &str) {
    let Some((s, ann, _eve)) = setup(backend).await else {
        return;
    };
    let path = PATH;
    let (status, _) = s
        .call(
            "POST",
            path,
            None,
            Some(json!({"values": values("orders-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A dry run renders and lists the files; nothing is created.
    let (status, run) = s
        .call(
            "POST",
            path,
            Some(&ann),
            Some(json!({"values": values("orders-api"), "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let files: Vec<&str> = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"Cargo.toml")
            && files.contains(&".github/workflows/ci.yaml")
            && files.contains(&"score.yaml"),
        "{files:?}"
    );
    let (_, e) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/orders-api",
            None,
            None,
        )
        .await;
    assert_eq!(e["error"]["code"], "not_found");

    // Parameters failing their schema: every error with its path; nothing runs.
    let (status, e) = s
        .call(
            "POST",
            path,
            Some(&ann),
            Some(json!({"values": {"name": "Orders API", "repoUrl": "ftp://x"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let errors = e["error"]["details"]["error"]["errors"].as_array().unwrap();
    let paths: Vec<&str> = errors.iter().map(|x| x["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"/name") && paths.contains(&"/repoUrl"),
        "{paths:?}"
    );
    assert_eq!(e["error"]["details"]["steps"], json!([]));
}
both_backends!(a_run_needs_a_member_and_valid_parameters);

/// A member of the owning team creates a service: published, registered with its relations,
/// deployed to dev, recorded; the same name again creates nothing.
async fn a_member_creates_publishes_registers_and_deploys_a_service(backend: &str) {
    let Some((s, ann, _eve)) = setup(backend).await else {
        return;
    };
    let path = PATH;
    // The real thing, as a member of the owning team.
    let (status, run) = s
        .call(
            "POST",
            path,
            Some(&ann),
            Some(json!({"values": values("orders-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let statuses: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["completed"; 5], "{run}");
    assert_eq!(run["actor"], "user:default/ann");
    assert_eq!(
        run["output"]["links"][1]["entityRef"],
        "component:default/orders-api"
    );
    let remote = run["output"]["links"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // The server's directories are shown by name, never as absolute paths.
    let rel = remote
        .strip_prefix("file://$DATA/")
        .unwrap_or_else(|| panic!("{remote}"));
    let repo = s
        .dir
        .path()
        .join("gitops-root")
        .canonicalize()
        .unwrap()
        .join(rel);
    assert!(
        repo.join("HEAD").is_file() && repo.join("objects").is_dir(),
        "a bare repository at {}",
        repo.display()
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("HEAD")).unwrap(),
        "ref: refs/heads/main\n"
    );
    // In the catalog, related to its owner and system.
    let (status, rel) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/orders-api/relations",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    let rels: Vec<(String, String, bool)> = rel
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_owned(),
                r["targetRef"].as_str().unwrap().to_owned(),
                r["exists"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        rels.contains(&("ownedBy".into(), "group:default/team-a".into(), true)),
        "{rels:?}"
    );
    assert!(
        rels.contains(&("partOf".into(), "system:default/shop".into(), true)),
        "{rels:?}"
    );
    // Deployed to dev through the deployment machinery.
    let (_, deps) = s
        .call("GET", "/api/v1/deployments?service=orders-api", None, None)
        .await;
    let deps = deps.as_array().unwrap();
    assert_eq!(deps.len(), 1, "{deps:?}");
    assert_eq!(
        (
            deps[0]["environment"].as_str(),
            deps[0]["version"].as_str(),
            deps[0]["actor"].as_str()
        ),
        (Some("dev"), Some("0.1.0"), Some("user:default/ann"))
    );
    // Recorded.
    let id = run["id"].as_str().unwrap();
    let (status, got) = s
        .call("GET", &format!("/api/v1/templates/runs/{id}"), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["status"], "completed");
    assert!(
        got["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("published"))
    );
    // The same name again: the repository exists, the run fails at publish and creates nothing.
    let (status, e) = s
        .call(
            "POST",
            path,
            Some(&ann),
            Some(json!({"values": values("orders-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{e}"
    );
}
both_backends!(a_member_creates_publishes_registers_and_deploys_a_service);

/// An owner that does not exist blocks the run at the guardrails step: no repository.
async fn guardrails_stop_a_run_before_anything_is_published(backend: &str) {
    let Some((s, ann, _eve)) = setup(backend).await else {
        return;
    };
    let path = PATH;
    // The guardrails run before anything is published: an owner that does not exist blocks the
    // run at the check step, and no repository is created.
    let mut v = values("ghost-api");
    v["owner"] = json!("group:default/nobody");
    let (status, e) = s
        .call("POST", path, Some(&ann), Some(json!({"values": v})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let run = &e["error"]["details"];
    assert_eq!(run["steps"][1]["status"], "failed", "{run}");
    assert!(
        run["steps"][1]["error"]
            .as_str()
            .unwrap()
            .contains("[owner-exists]"),
        "{run}"
    );
    assert!(!has_repo(&hosted(&s), "ghost-api"));
}
both_backends!(guardrails_stop_a_run_before_anything_is_published);

/// eve (team-b) creates a service owned by team-a: publish and register succeed, the deploy is
/// refused, and the run undoes both.
async fn a_refused_deploy_undoes_the_registration_and_the_repository(backend: &str) {
    let Some((s, _ann, eve)) = setup(backend).await else {
        return;
    };
    let path = PATH;
    // eve (team-b) creates a service owned by team-a: publish and register succeed, the deploy is
    // refused — and the run undoes the registration and the repository.
    let (status, e) = s
        .call(
            "POST",
            path,
            Some(&eve),
            Some(json!({"values": values("billing-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let run = &e["error"]["details"];
    let statuses: Vec<&str> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["completed", "completed", "completed", "completed", "failed"],
        "{run}"
    );
    assert!(
        run["steps"][4]["error"]
            .as_str()
            .unwrap()
            .contains("not a member"),
        "{run}"
    );
    let cleanup: Vec<&str> = run["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["step"] == "cleanup")
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(cleanup, vec!["undid catalog:register", "undid publish:git"]);
    let (_, e) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/billing-api",
            None,
            None,
        )
        .await;
    assert_eq!(
        e["error"]["code"], "not_found",
        "no half-created catalog entry"
    );
    assert!(
        !has_repo(&hosted(&s), "billing-api"),
        "no half-created repository"
    );
    let (_, locations) = s
        .call("GET", "/api/v1/locations", Some(&s.admin), None)
        .await;
    assert_eq!(
        locations.as_array().unwrap().len(),
        1,
        "only the organisation's: {locations}"
    );
}
both_backends!(a_refused_deploy_undoes_the_registration_and_the_repository);

/// A Template entity of the catalog is offered and runs with the skeleton next to it.
async fn a_catalog_template_runs_with_its_skeleton(backend: &str) {
    let Some((s, ann, _eve)) = setup(backend).await else {
        return;
    };
    // A Template entity of the catalog (read from a local file) is offered and runs with the
    // skeleton next to it.
    let tpl = s.catalog_dir().join("templates/hello");
    std::fs::create_dir_all(tpl.join("skeleton")).unwrap();
    std::fs::write(
        tpl.join("catalog-info.yaml"),
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: hello\n  title: Hello\nspec:\n  owner: team-a\n  type: documentation\n  parameters:\n    required: [who]\n    properties:\n      who: {type: string}\n  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n        values: {who: '${{ parameters.who }}'}\n",
    )
    .unwrap();
    std::fs::write(tpl.join("skeleton/README.md"), "Hello ${{ values.who }}!\n").unwrap();
    s.register(&tpl).await;
    let (_, rel) = s
        .call(
            "GET",
            "/api/v1/entities/template/default/hello/relations",
            None,
            None,
        )
        .await;
    assert_eq!(rel[0]["type"], "ownedBy", "{rel}");
    let (_, list) = s.call("GET", "/api/v1/templates", None, None).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "hello"),
        "{list}"
    );
    let (status, run) = s
        .call(
            "POST",
            "/api/v1/templates/hello/runs",
            Some(&ann),
            Some(json!({"values": {"who": "world"}, "dry_run": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(run["files"], json!([{"path": "README.md", "size": 13}]));
}
both_backends!(a_catalog_template_runs_with_its_skeleton);

/// A service created from the built-in golden path and deployed by it holds the top level of
/// the built-in production-readiness scorecard: owner, system, description, docs, CI workflow,
/// README (read with gix from its repository), SLO, probes and resources of its deployed
/// workload, no critical finding.
async fn a_golden_path_service_is_production_ready_after_its_first_deploy(backend: &str) {
    let Some((s, ann, _eve)) = setup(backend).await else {
        return;
    };
    let (status, run) = s
        .call(
            "POST",
            PATH,
            Some(&ann),
            Some(json!({"values": values("orders-api")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let (status, cards) = s
        .call(
            "GET",
            "/api/v1/entities/component/default/orders-api/scorecards",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cards}");
    let ready = cards
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scorecard"] == "production-readiness")
        .unwrap_or_else(|| panic!("{cards}"));
    let failing: Vec<&Value> = ready["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] != true)
        .collect();
    assert_eq!(failing, Vec::<&Value>::new(), "{ready}");
    assert_eq!(ready["level"], "Gold", "{ready}");
}
both_backends!(a_golden_path_service_is_production_ready_after_its_first_deploy);
