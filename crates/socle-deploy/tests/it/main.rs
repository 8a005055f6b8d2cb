//! End to end: a bare Git repository per environment as the GitOps target; deploy to dev, promote
//! to staging and prod, change a variable, roll back — checking commits, files and records.

mod concurrent;
mod kinds;
mod ownership;
mod runner;

use socle_catalog::Limits;
use socle_deploy::{DeployRequest, Deployer, NoGuardrails, gitops};
use socle_store::{SecretKey, Store, StoreConfig};

const SHOP: &str = "apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: .
    variables:
      GREETING: hello
      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/${resources.db.name}
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  db:
    type: postgres
  cache:
    type: redis
";

async fn deployer(dir: &std::path::Path) -> Deployer {
    let mut config = StoreConfig::new(dir.join("data"), None);
    config.secret_key = Some(SecretKey::generate());
    let store = Store::open(&config).await.unwrap();
    Deployer {
        store,
        config: socle_platform::default_config(),
        gitops_root: dir.to_path_buf(),
        limits: Limits::default(),
        runner: None,
        clock: None,
    }
}

fn workload(text: &str) -> socle_score::Workload {
    socle_score::parse_workload(text, "score.yaml", &Limits::default()).unwrap()
}

fn req(text: &str, env: &str, image: &str) -> DeployRequest {
    DeployRequest {
        workload: workload(text),
        env: env.into(),
        image: Some(image.into()),
        version: None,
        source_commit: None,
        actor: "user:default/ann".into(),
        kind: "deploy".into(),
        owner: None,
    }
}

fn repo(dir: &std::path::Path, env: &str) -> gix::Repository {
    gix::open(dir.join(format!("gitops/{env}.git"))).unwrap()
}

fn deployment_file(dir: &std::path::Path, env: &str) -> String {
    let files =
        gitops::files_at(&repo(dir, env), "main", &format!("{env}/workloads/shop/")).unwrap();
    String::from_utf8(files[&format!("{env}/workloads/shop/deployment-shop.yaml")].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_promote_change_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer(dir).await;

    let first = d
        .deploy(req(SHOP, "dev", "ghcr.io/acme/shop:1.0.0"), &NoGuardrails)
        .await
        .unwrap();
    assert!(first.changed);
    assert_eq!(
        (
            first.version.as_str(),
            first.environment.as_str(),
            first.kind.as_str()
        ),
        ("1.0.0", "dev", "deploy")
    );
    let log = gitops::log(&repo(dir, "dev"), "main").unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, first.gitops_commit);
    assert!(log[0].1.starts_with("deploy shop 1.0.0 to dev\n\nby: user:default/ann\nkind: deploy\nimages: web=ghcr.io/acme/shop:1.0.0"), "{}", log[0].1);
    let v1 = deployment_file(dir, "dev");
    assert!(
        v1.contains("image: ghcr.io/acme/shop:1.0.0") && v1.contains("value: hello"),
        "{v1}"
    );
    let all = gitops::files_at(&repo(dir, "dev"), "main", "dev/").unwrap();
    let resources: Vec<&String> = all
        .keys()
        .filter(|k| k.starts_with("dev/resources/"))
        .collect();
    assert!(
        resources.iter().any(|k| k.contains("/statefulset-")),
        "{resources:?}"
    );
    // No secret value in Git.
    let pw = d
        .store
        .resource_state("dev")
        .await
        .unwrap()
        .values()
        .filter_map(|s| {
            s.get("password")
                .and_then(|p| p.as_str())
                .map(str::to_owned)
        })
        .collect::<Vec<_>>();
    assert_eq!(pw.len(), 2);
    for bytes in all.values() {
        let text = String::from_utf8_lossy(bytes);
        assert!(pw.iter().all(|p| !text.contains(p.as_str())));
    }

    // Idempotent: same inputs, no new commit, same credentials.
    let again = d
        .deploy(req(SHOP, "dev", "ghcr.io/acme/shop:1.0.0"), &NoGuardrails)
        .await
        .unwrap();
    assert!(!again.changed);
    assert_eq!(again.gitops_commit, first.gitops_commit);
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap().len(), 1);

    // Promote dev → staging → prod: the same version; prod runs two replicas.
    let staging = d
        .promote(
            "shop",
            "dev",
            "staging",
            "user:default/bob",
            None,
            &NoGuardrails,
        )
        .await
        .unwrap();
    assert_eq!(
        (staging.version.as_str(), staging.kind.as_str()),
        ("1.0.0", "promote")
    );
    let prod = d
        .promote(
            "shop",
            "staging",
            "prod",
            "user:default/bob",
            None,
            &NoGuardrails,
        )
        .await
        .unwrap();
    assert_eq!(prod.environment, "prod");
    let p = deployment_file(dir, "prod");
    assert!(
        p.contains("namespace: prod")
            && p.contains("replicas: 2")
            && p.contains("image: ghcr.io/acme/shop:1.0.0"),
        "{p}"
    );

    // Change a variable: a new commit in dev only.
    let changed = d
        .deploy(
            req(
                &SHOP.replace("GREETING: hello", "GREETING: bonjour"),
                "dev",
                "ghcr.io/acme/shop:1.0.0",
            ),
            &NoGuardrails,
        )
        .await
        .unwrap();
    assert!(changed.changed);
    assert!(deployment_file(dir, "dev").contains("value: bonjour"));
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap().len(), 2);
    assert_eq!(gitops::log(&repo(dir, "prod"), "main").unwrap().len(), 1);

    // Roll back: the files are those of the first deploy again.
    let rolled = d
        .rollback("shop", "dev", "user:default/ann", None, &NoGuardrails)
        .await
        .unwrap();
    assert_eq!(rolled.kind, "rollback");
    assert_eq!(deployment_file(dir, "dev"), v1);
    let log = gitops::log(&repo(dir, "dev"), "main").unwrap();
    assert_eq!(log.len(), 3);
    assert!(log[0].1.contains("kind: rollback"));

    // The records, newest first.
    let history: Vec<(String, String, String)> = d
        .store
        .list_deployments(Some("shop"), None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.environment, r.kind, r.version))
        .collect();
    assert_eq!(
        history,
        vec![
            ("dev".into(), "rollback".into(), "1.0.0".into()),
            ("dev".into(), "deploy".into(), "1.0.0".into()),
            ("prod".into(), "promote".into(), "1.0.0".into()),
            ("staging".into(), "promote".into(), "1.0.0".into()),
            ("dev".into(), "deploy".into(), "1.0.0".into()),
            ("dev".into(), "deploy".into(), "1.0.0".into()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_commit_nothing_and_removed_resources_are_deprovisioned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer(dir).await;
    d.deploy(req(SHOP, "dev", "shop:1"), &NoGuardrails)
        .await
        .unwrap();
    let before = gitops::log(&repo(dir, "dev"), "main").unwrap();

    let bad = SHOP.replace("type: redis", "type: memcached");
    let e = d
        .deploy(req(&bad, "dev", "shop:2"), &NoGuardrails)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("resource type \"memcached\" is unknown to this platform"),
        "{e}"
    );
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap(), before);
    assert_eq!(
        d.store
            .list_deployments(Some("shop"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let e = d
        .deploy(req(SHOP, "local", "shop:2"), &NoGuardrails)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("runs on Compose"), "{e}");

    // Drop the cache from score.yaml: its manifests leave Git and its state leaves the store.
    let cache_uid = d
        .store
        .list_resources(Some("dev"))
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "redis")
        .unwrap()
        .uid;
    let without = SHOP.replace("  cache:\n    type: redis\n", "");
    d.deploy(req(&without, "dev", "shop:1"), &NoGuardrails)
        .await
        .unwrap();
    let files = gitops::files_at(&repo(dir, "dev"), "main", "dev/").unwrap();
    assert!(
        !files.keys().any(|k| k.contains(&cache_uid)),
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    assert!(
        d.store
            .list_resources(Some("dev"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.uid != cache_uid)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_refused_before_anything_is_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer(dir).await;
    d.deploy(req(SHOP, "dev", "shop:1"), &NoGuardrails)
        .await
        .unwrap();
    let commits = gitops::log(&repo(dir, "dev"), "main").unwrap();
    let state = d.store.resource_state("dev").await.unwrap();
    // (workload text, expected message fragment); parse errors are the caller's, so these are the
    // ones that reach the deployer.
    let cases = [
        (
            SHOP.replace("type: redis", "type: memcached"),
            "resource type \"memcached\" is unknown to this platform",
        ),
        (
            // A definition's template refuses the request (no service port named grpc).
            SHOP.replace(
                "type: redis",
                "type: route\n    params:\n      host: shop.example.com\n      path: /\n      port: grpc",
            ),
            "params.port 'grpc' is neither a port number nor one of the service ports of workload shop (http)",
        ),
        (
            SHOP.replace("${resources.db.host}", "${resources.db.hostname}"),
            "has no output \"hostname\"",
        ),
    ];
    for (text, expected) in &cases {
        let e = d
            .deploy(req(text, "dev", "shop:2"), &NoGuardrails)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expected), "{e}");
        assert_eq!(
            gitops::log(&repo(dir, "dev"), "main").unwrap(),
            commits,
            "nothing committed for {expected}"
        );
        assert_eq!(
            d.store.resource_state("dev").await.unwrap(),
            state,
            "state unchanged for {expected}"
        );
    }
    assert_eq!(
        d.store
            .list_deployments(None, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // An ambiguous platform configuration is refused the same way.
    let mut ambiguous = socle_platform::default_config();
    let mut twin = ambiguous
        .definitions
        .iter()
        .find(|x| x.name == "redis-kubernetes")
        .unwrap()
        .clone();
    twin.name = "redis-kubernetes-twin".into();
    ambiguous.definitions.push(twin);
    let d2 = Deployer {
        store: d.store.clone(),
        config: ambiguous,
        gitops_root: dir.to_path_buf(),
        limits: Limits::default(),
        runner: None,
        clock: None,
    };
    let e = d2
        .deploy(req(SHOP, "dev", "shop:3"), &NoGuardrails)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("ambiguous: resource definitions redis-kubernetes, redis-kubernetes-twin"),
        "{e}"
    );
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap(), commits);
    // Guardrail violations block too.
    struct DenyAll;
    impl socle_deploy::Guardrails for DenyAll {
        fn check(
            &self,
            _: &socle_platform::Environment,
            _: &socle_platform::Resolution,
            _: &[(String, serde_json::Value)],
        ) -> socle_deploy::GuardrailReport {
            socle_deploy::GuardrailReport {
                violations: vec![socle_deploy::GuardrailFinding::new(
                    "image-tag",
                    "deployment shop: image tag \"latest\" is not allowed",
                )],
                warnings: vec![],
            }
        }
    }
    let e = d
        .deploy(req(SHOP, "dev", "shop:latest"), &DenyAll)
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("blocked by guardrails:"), "{e}");
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap(), commits);
}

const QUEUE_DEF: &str = "apiVersion: socle.dev/v1alpha1
kind: ResourceDefinition
metadata:
  name: queue-command
spec:
  type: custom-queue
  target: kubernetes
  secrets: [token]
  command:
    program: ./provisioners/queue.py
";

const QUEUE_PY: &str = r#"#!/usr/bin/env python3
import json, sys
req = json.load(sys.stdin)
state = req["state"] or {}
token = state.get("token") or ("t-" + req["resource_uid"])
print(json.dumps({
    "resource_outputs": {"url": "queue://" + req["resource_uid"] + "." + req["environment"]["namespace"], "token": token},
    "state": {"token": token, "runs": state.get("runs", 0) + 1},
    "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": req["resource_uid"]}, "data": {"size": str(req["resource_params"].get("size", 1))}}],
}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_provisioners_speak_json_and_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let script = dir.join("provisioners/queue.py");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, QUEUE_PY).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut files = socle_platform::config::default_files();
    files.push(("queue.yaml".into(), QUEUE_DEF.into()));
    let config = socle_platform::load_config(&files, &Limits::default()).unwrap();
    let mut d = deployer(dir).await;
    d.config = config;
    d.runner = Some(socle_deploy::ProcessRunner::new(dir));
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: worker\ncontainers:\n  main:\n    image: worker:1\n    variables:\n      QUEUE: ${resources.qq.url}\n      TOKEN: ${resources.qq.token}\nresources:\n  qq:\n    type: custom-queue\n    params:\n      size: 3\n";
    d.deploy(req(text, "dev", "worker:1"), &NoGuardrails)
        .await
        .unwrap();
    let files = gitops::files_at(&repo(dir, "dev"), "main", "dev/").unwrap();
    let deployment =
        String::from_utf8(files["dev/workloads/worker/deployment-worker.yaml"].clone()).unwrap();
    assert!(
        deployment.contains("value: queue://worker-qq-"),
        "{deployment}"
    );
    assert!(
        !deployment.contains("t-worker-qq-"),
        "the secret token is not written out"
    );
    assert!(
        files.keys().any(|k| k.contains("/configmap-worker-qq-")),
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    let state = d.store.resource_state("dev").await.unwrap();
    assert_eq!(state.values().next().unwrap()["runs"], 1);
    // The state is handed back next time.
    d.deploy(
        req(&text.replace("size: 3", "size: 4"), "dev", "worker:1"),
        &NoGuardrails,
    )
    .await
    .unwrap();
    assert_eq!(
        d.store
            .resource_state("dev")
            .await
            .unwrap()
            .values()
            .next()
            .unwrap()["runs"],
        2
    );

    // A failing, hanging or silent program is a clear error, and nothing is committed.
    let commits = gitops::log(&repo(dir, "dev"), "main").unwrap();
    for (body, expected) in [
        (
            "import sys\nsys.stderr.write('no quota left')\nsys.exit(3)\n",
            "exited with exit status: 3: no quota left",
        ),
        ("print('not json')\n", "did not print JSON"),
        ("import time\ntime.sleep(10)\n", "timed out after 1 s"),
    ] {
        std::fs::write(&script, format!("#!/usr/bin/env python3\n{body}")).unwrap();
        let mut runner = socle_deploy::ProcessRunner::new(dir);
        runner.timeout = std::time::Duration::from_secs(1);
        d.runner = Some(runner);
        let e = d
            .deploy(
                req(&text.replace("size: 3", "size: 5"), "dev", "worker:1"),
                &NoGuardrails,
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains(expected), "{e}");
        assert!(
            e.to_string().contains("command ./provisioners/queue.py"),
            "{e}"
        );
        assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap(), commits);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_pack_blocks_insecure_deploys_and_reports_every_violation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer(dir).await;
    let guard = socle_deploy::PolicyGuardrails {
        policies: socle_policy::PolicySet::builtin(None).unwrap(),
    };
    let e = d
        .deploy(req(SHOP, "prod", "shop:latest"), &guard)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("blocked by guardrails:"), "{text}");
    for expected in [
        "Deployment/shop spec.template.spec.containers[0].image: container \"web\" uses image \"shop:latest\"",
        "[liveness-probe]",
        "[memory-limits]",
        "[cpu-limits]",
        "[readiness-probe]",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    assert!(
        !dir.join("gitops/prod.git").exists()
            || gitops::log(&repo(dir, "prod"), "main").unwrap().is_empty(),
        "nothing committed"
    );
    assert!(
        d.store
            .list_deployments(None, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_specified_workload_passes_the_builtin_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer(dir).await;
    let guard = socle_deploy::PolicyGuardrails {
        policies: socle_policy::PolicySet::builtin(None).unwrap(),
    };
    let text = "apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  web:
    image: .
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: 500m, memory: 256Mi}
service:
  ports:
    http:
      port: 80
      targetPort: 8080
";
    // Secure defaults rendered by Socle (non-root, no escalation, read-only root, drop ALL) and
    // two replicas in production: nothing to fix.
    let ok = d
        .deploy(req(text, "prod", "ghcr.io/acme/api:2.0.1"), &guard)
        .await
        .unwrap();
    assert!(ok.changed);
    let deployment = deployment_file_named(dir, "prod", "api");
    assert!(
        deployment.contains("readOnlyRootFilesystem: true")
            && deployment.contains("- ALL")
            && deployment.contains("mountPath: /tmp"),
        "{deployment}"
    );
    // The same workload with a mutable tag is blocked.
    let e = d
        .deploy(req(text, "prod", "ghcr.io/acme/api:latest"), &guard)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("[image-tag]"), "{e}");
}

fn deployment_file_named(dir: &std::path::Path, env: &str, name: &str) -> String {
    let files =
        gitops::files_at(&repo(dir, env), "main", &format!("{env}/workloads/{name}/")).unwrap();
    String::from_utf8(files[&format!("{env}/workloads/{name}/deployment-{name}.yaml")].clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waivers_let_a_blocked_deploy_pass_until_they_expire() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut d = deployer(dir).await;
    let now = Arc::new(AtomicI64::new(1_000_000));
    let clock = now.clone();
    d.clock = Some(Arc::new(move || clock.load(Ordering::SeqCst)));
    let guard = socle_deploy::PolicyGuardrails {
        policies: socle_policy::PolicySet::builtin(None).unwrap(),
    };
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  web:\n    image: .\n    livenessProbe:\n      httpGet: {path: /, port: 80}\n    readinessProbe:\n      httpGet: {path: /, port: 80}\n    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 200m, memory: 128Mi}\n";
    // Blocked: a mutable tag.
    let e = d
        .deploy(req(text, "dev", "api:latest"), &guard)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("[image-tag]"), "{e}");
    assert!(
        !dir.join("gitops/dev.git").exists()
            || gitops::log(&repo(dir, "dev"), "main").unwrap().is_empty()
    );
    // A waiver for that rule and entity, until t = 2,000,000.
    let w = d
        .store
        .create_waiver(socle_store::Waiver {
            id: String::new(),
            rule: "image-tag".into(),
            entity: "component:default/api".into(),
            environment: "dev".into(),
            reason: "nightly preview builds".into(),
            owner: "group:default/team-a".into(),
            expires_at: 2_000_000,
            created_by: "user:default/ann".into(),
            created_at: 1_000_000,
            revoked_at: None,
        })
        .await
        .unwrap();
    let ok = d
        .deploy(req(text, "dev", "api:latest"), &guard)
        .await
        .unwrap();
    assert!(ok.changed);
    // A waiver for another environment does not apply.
    assert!(
        d.deploy(req(text, "staging", "api:latest"), &guard)
            .await
            .is_err()
    );
    // After expiry it stops applying by itself.
    now.store(2_000_001, Ordering::SeqCst);
    let e = d
        .deploy(
            req(
                &text.replace("memory: 128Mi", "memory: 129Mi"),
                "dev",
                "api:latest",
            ),
            &guard,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("[image-tag]"), "{e}");
    assert_eq!(gitops::log(&repo(dir, "dev"), "main").unwrap().len(), 1);
    // Every evaluation is recorded, newest first, with what was waived and by which waiver.
    let results = d
        .store
        .policy_results("component:default/api", Some("dev"), 10)
        .await
        .unwrap();
    let outcomes: Vec<&str> = results.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["blocked", "warn", "blocked"]);
    assert_eq!(results[1].findings["waived"][0]["rule"], "image-tag");
    assert_eq!(
        results[1].findings["waived"][0]["waivers"][0],
        w.id.as_str()
    );
    assert_eq!(d.store.list_waivers().await.unwrap().len(), 1);
    assert!(
        d.store
            .create_waiver(socle_store::Waiver {
                expires_at: 5,
                ..w.clone()
            })
            .await
            .is_err(),
        "expiry in the past is refused"
    );
}
