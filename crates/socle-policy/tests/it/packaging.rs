//! Socle's own Kubernetes manifests (deploy/kubernetes, the Kustomize base) pass the built-in
//! guardrails it enforces on every workload: no deny, no warning, for each file the
//! kustomization lists. (CI also builds the base with `kubectl kustomize` and validates it with
//! kubernetes-validate: scripts/check-deploy.sh.)

use std::path::Path;

use socle_policy::{PolicySet, Severity};

const BASE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kubernetes");

fn listed_resources() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(BASE).join("kustomization.yaml")).unwrap();
    let docs = super::docs(&text);
    docs[0]["resources"]
        .as_array()
        .expect("a resources list")
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn socles_own_manifests_pass_its_guardrails() {
    let pack = PolicySet::builtin(None).unwrap();
    let files = listed_resources();
    assert!(files.len() >= 6, "{files:?}");
    let mut kinds = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(Path::new(BASE).join(file)).unwrap();
        for (i, doc) in super::docs(&text).iter().enumerate() {
            kinds.push(doc["kind"].as_str().unwrap_or_default().to_owned());
            let findings = pack.eval(doc, file, i).unwrap();
            let problems: Vec<String> = findings
                .iter()
                .filter(|f| matches!(f.severity, Severity::Deny | Severity::Warn))
                .map(|f| format!("{file}: {} {}", f.rule, f.message))
                .collect();
            assert!(problems.is_empty(), "{problems:#?}");
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "ServiceMonitor"
        ]
    );
}

#[test]
fn the_deployment_runs_two_replicas_with_probes_and_secrets_as_files() {
    let text = std::fs::read_to_string(Path::new(BASE).join("deployment.yaml")).unwrap();
    let d = &super::docs(&text)[0];
    assert!(d["spec"]["replicas"].as_i64().unwrap() >= 2);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let env = serde_json::to_string(&c["env"]).unwrap();
    assert!(
        !env.contains("secretKeyRef"),
        "secrets come as files: {env}"
    );
    assert!(env.contains("SOCLE_DATABASE_URL_FILE"));
}

#[test]
fn every_replica_mounts_the_one_shared_data_volume() {
    let text = std::fs::read_to_string(Path::new(BASE).join("deployment.yaml")).unwrap();
    let d = &super::docs(&text)[0];
    let pod = &d["spec"]["template"]["spec"];
    let mount = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/var/lib/socle")
        .expect("the data directory is mounted")
        .clone();
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("its volume")
        .clone();
    assert_eq!(
        volume["persistentVolumeClaim"]["claimName"], "socle-data",
        "the GitOps repositories are on a volume all replicas share: {volume}"
    );
    let text = std::fs::read_to_string(Path::new(BASE).join("persistentvolumeclaim.yaml")).unwrap();
    let claim = &super::docs(&text)[0];
    assert_eq!(claim["metadata"]["name"], "socle-data");
    assert_eq!(
        claim["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
}
