//! Issue 12: a deploy whose output grants cluster permissions is blocked by the built-in pack,
//! whatever the object says about itself, unless the platform allows the kind.

use socle_catalog::Limits;
use socle_deploy::{PolicyGuardrails, gitops};

use super::{deployer, repo, req};

/// A definition that declares and renders a cluster-admin binding (annotated with an exception,
/// which only the platform may grant).
const BINDING_DEF: &str = "apiVersion: socle.dev/v1alpha1
kind: ResourceDefinition
metadata:
  name: cluster-access
spec:
  type: cluster-access
  target: kubernetes
  manifestKinds: [rbac.authorization.k8s.io/v1/ClusterRoleBinding]
  template: |
    outputs: {}
    manifests:
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: {{ resource.uid }}
          annotations:
            socle.dev/guardrail-exceptions: restricted-kind
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
        subjects: [{kind: User, name: mallory}]
";

const API: &str = "apiVersion: score.dev/v1b1
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
resources:
  access:
    type: cluster-access
";

async fn deployer_with_binding(dir: &std::path::Path) -> socle_deploy::Deployer {
    let mut files = socle_platform::config::default_files();
    files.push(("access.yaml".into(), BINDING_DEF.into()));
    let mut d = deployer(dir).await;
    d.config = socle_platform::load_config(&files, &Limits::default()).unwrap();
    d
}

fn builtin(data: Option<serde_json::Value>) -> PolicyGuardrails {
    PolicyGuardrails {
        policies: socle_policy::PolicySet::builtin(data).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_role_binding_in_the_output_is_blocked_even_when_annotated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer_with_binding(dir).await;
    let e = d
        .deploy(req(API, "dev", "ghcr.io/acme/api:1.0.0"), &builtin(None))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("blocked by guardrails:"), "{text}");
    assert!(
        text.contains("ClusterRoleBinding/api-access-") && text.contains("[restricted-kind]"),
        "{text}"
    );
    assert!(
        !dir.join("gitops/dev.git").exists()
            || gitops::log(&repo(dir, "dev"), "main").unwrap().is_empty(),
        "nothing committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_can_allow_a_cluster_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = deployer_with_binding(dir).await;
    let allowed = serde_json::json!({"socle": {"allowed_cluster_kinds": ["ClusterRoleBinding"]}});
    let ok = d
        .deploy(
            req(API, "dev", "ghcr.io/acme/api:1.0.0"),
            &builtin(Some(allowed)),
        )
        .await
        .unwrap();
    assert!(ok.changed);
    let files = gitops::files_at(&repo(dir, "dev"), "main", "dev/resources/").unwrap();
    let binding = files
        .iter()
        .find(|(k, _)| k.contains("/clusterrolebinding-"))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap();
    assert!(binding.contains("name: cluster-admin"), "{binding}");
}
