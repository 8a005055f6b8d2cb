//! What a provisioner may put in a deployment: only the kinds its definition declares, only in
//! the environment's namespace (issue 12: a crafted param smuggled a cluster-admin binding in).

use serde_json::{Value, json};
use socle_catalog::Limits;
use socle_platform::provision::{CommandError, CommandRunner, provision_with};
use socle_platform::{
    ManifestKind, ProvisionError, ProvisionRequest, Provisioned, default_config, load_config,
};

const ENVS: &str = "apiVersion: socle.dev/v1alpha1\nkind: Platform\nenvironments:\n  - name: dev\n    type: development\n    target: kubernetes\n    namespace: team-dev\n";

/// A definition that writes `params.size` into its manifest, and whatever else `manifest` adds.
fn unescaped_def(extra: &str, manifest: &str) -> String {
    format!(
        "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: db\nspec:\n  type: db\n  target: kubernetes\n{extra}  template: |\n    outputs:\n      host: h\n    manifests:\n{manifest}"
    )
}

const SERVICE: &str = "      - apiVersion: v1\n        kind: Service\n        metadata:\n          name: {{ resource.uid }}\n        spec:\n          size: {{ resource.params.size }}\n";

/// What a crafted size smuggled into the postgres definition's output: a second list item.
const BINDING: &str = "      - apiVersion: rbac.authorization.k8s.io/v1\n        kind: ClusterRoleBinding\n        metadata:\n          name: pwn\n        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n        subjects: [{kind: User, name: mallory}]\n";

fn run(
    defs: &str,
    params: Value,
    runner: Option<&dyn CommandRunner>,
) -> Result<Provisioned, ProvisionError> {
    let c = load_config(
        &[
            ("socle.yaml".into(), ENVS.into()),
            ("defs.yaml".into(), defs.into()),
        ],
        &Limits::default(),
    )
    .unwrap();
    let r = socle_score::Resource {
        kind: "db".into(),
        class: None,
        id: None,
        metadata: None,
        params: None,
    };
    let env = &c.environments["dev"];
    provision_with(
        &c.definitions[0],
        &ProvisionRequest {
            workload: "shop",
            name: "db",
            resource: &r,
            params,
            env,
            uid: "shop-db-1",
            state: Default::default(),
            seed: 1,
            workloads: &Default::default(),
            requested: vec![],
        },
        &Limits::default(),
        runner,
    )
}

fn output_message(e: ProvisionError) -> String {
    match &e {
        ProvisionError::Output {
            definition,
            source_file,
            ..
        } => {
            assert_eq!(
                (definition.as_str(), source_file.as_str()),
                ("db", "defs.yaml:1")
            );
        }
        other => panic!("expected an output error, got {other:?}"),
    }
    e.to_string()
}

#[test]
fn a_smuggled_cluster_role_binding_is_refused() {
    // Whatever put it there (a param written unescaped, a definition's own mistake), a binding in
    // the rendered output is refused.
    let defs = unescaped_def("", &format!("{SERVICE}{BINDING}"));
    let e = run(&defs, json!({"size": "1Gi"}), None).unwrap_err();
    let text = output_message(e);
    assert!(
        text.contains("manifests[1] is a rbac.authorization.k8s.io/v1/ClusterRoleBinding (ClusterRoleBinding/pwn), which this definition does not declare"),
        "{text}"
    );
    assert!(text.contains("v1/Service"), "names what is allowed: {text}");
}

#[test]
fn a_declared_kind_in_another_namespace_is_refused() {
    let manifest = SERVICE.replace(
        "        spec:",
        "          namespace: kube-system\n        spec:",
    );
    let e = run(&unescaped_def("", &manifest), json!({"size": "1Gi"}), None).unwrap_err();
    let text = output_message(e);
    assert!(
        text.contains("manifests[0] (Service/shop-db-1) is in namespace \"kube-system\"; a definition's objects belong in the environment's namespace \"team-dev\""),
        "{text}"
    );
}

#[test]
fn manifests_without_a_namespace_land_in_the_environment_namespace() {
    let p = run(&unescaped_def("", SERVICE), json!({"size": "1Gi"}), None).unwrap();
    assert_eq!(p.manifests.len(), 1);
    assert_eq!(p.manifests[0]["metadata"]["namespace"], "team-dev");
}

#[test]
fn declared_kinds_replace_the_defaults() {
    let defs = unescaped_def(
        "  manifestKinds: [kafka.strimzi.io/v1beta2/KafkaTopic]\n",
        SERVICE,
    );
    let text = output_message(run(&defs, json!({"size": "1Gi"}), None).unwrap_err());
    assert!(
        text.contains("manifests[0] is a v1/Service (Service/shop-db-1), which this definition does not declare; it may produce only kafka.strimzi.io/v1beta2/KafkaTopic"),
        "{text}"
    );
}

#[test]
fn a_declared_custom_kind_is_accepted() {
    let topic = "      - apiVersion: kafka.strimzi.io/v1beta2\n        kind: KafkaTopic\n        metadata:\n          name: t\n          namespace: team-dev\n";
    let defs = unescaped_def(
        "  manifestKinds: [kafka.strimzi.io/v1beta2/KafkaTopic]\n",
        topic,
    );
    let p = run(&defs, json!({}), None).unwrap();
    assert_eq!(p.manifests[0]["kind"], "KafkaTopic");
}

struct Returns(Value);

impl CommandRunner for Returns {
    fn run(&self, _: &str, _: &[String], _: &Value) -> Result<Value, CommandError> {
        Ok(self.0.clone())
    }
}

#[test]
fn a_command_provisioner_is_held_to_the_same_kinds() {
    let defs = "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: db\nspec:\n  type: db\n  target: kubernetes\n  command:\n    program: ./db.sh\n";
    let out = json!({
        "resource_outputs": {"host": "h"},
        "manifests": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}],
    });
    let text = output_message(run(defs, json!({}), Some(&Returns(out))).unwrap_err());
    assert!(
        text.contains("manifests[0] is a v1/Namespace (Namespace/kube-system)"),
        "{text}"
    );
}

#[test]
fn manifest_kinds_must_name_an_api_version() {
    let defs = unescaped_def("  manifestKinds: [v1/Service, StatefulSet]\n", SERVICE);
    let e = load_config(&[("defs.yaml".into(), defs)], &Limits::default()).unwrap_err();
    assert_eq!(e[0].rule, "definition.manifestKinds");
    assert_eq!(e[0].path, "spec.manifestKinds[1]");
    assert!(
        e[0].message
            .contains("\"StatefulSet\" is not <apiVersion>/<kind>"),
        "{}",
        e[0].message
    );
}

#[test]
fn the_shipped_definitions_declare_their_kinds() {
    let c = default_config();
    let kinds = |name: &str| -> Vec<String> {
        c.definitions
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .manifest_kinds
            .iter()
            .map(ManifestKind::to_string)
            .collect()
    };
    assert_eq!(
        kinds("postgres-kubernetes"),
        ["v1/Service", "apps/v1/StatefulSet"]
    );
    assert_eq!(
        kinds("route-kubernetes"),
        ["gateway.networking.k8s.io/v1/HTTPRoute"]
    );
    assert!(kinds("postgres-compose").is_empty());
}

#[test]
fn a_namespace_the_definition_declares_is_accepted() {
    let manifest = SERVICE.replace("        spec:", "          namespace: kafka\n        spec:");
    let defs = unescaped_def("  manifestNamespaces: [kafka]\n", &manifest);
    let p = run(&defs, json!({"size": "1Gi"}), None).unwrap();
    assert_eq!(p.manifests[0]["metadata"]["namespace"], "kafka");
}
