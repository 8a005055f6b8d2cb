//! The shipped resource definitions: every type on both targets, matched and provisioned for real.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use socle_catalog::Limits;
use socle_platform::{
    PlatformConfig, ProvisionError, ProvisionRequest, Provisioned, ResourceRequest, Target,
    default_config, match_definition, provision, resource_uid,
};

/// Every type the shipped configuration provides, on both targets.
const TYPES: [&str; 11] = [
    "postgres",
    "mysql",
    "redis",
    "s3",
    "amqp",
    "mongodb",
    "kafka-topic",
    "dns",
    "route",
    "volume",
    "service-port",
];

const TARGETS: [Target; 2] = [Target::Compose, Target::Kubernetes];

/// The environment of the shipped configuration used for a target.
fn env_name(target: Target) -> &'static str {
    match target {
        Target::Compose => "local",
        Target::Kubernetes => "dev",
    }
}

/// The workloads being deployed, as resolution describes them to templates: `billing` has a
/// service port `web` (port 8080 → container port 80).
fn workloads() -> socle_platform::WorkloadsContext {
    let v = json!({
        "shop": {"ports": {}},
        "billing": {"ports": {"web": {"port": 8080, "targetPort": 80, "protocol": "TCP"}}},
    });
    socle_platform::WorkloadsContext::new(v.as_object().unwrap())
}

#[derive(Clone)]
struct Expect {
    kind: &'static str,
    params: Value,
    outputs: &'static [&'static str],
    secrets: &'static [&'static str],
    /// An output generated at random (kept in state), if any.
    generated: Option<&'static str>,
}

/// One provisioning of the resource `shop.res` of the expected type, seed 1, no state.
fn try_run(c: &PlatformConfig, e: &Expect, target: Target) -> Result<Provisioned, ProvisionError> {
    run_with(c, e, target, Map::new(), 1).0
}

fn run(
    c: &PlatformConfig,
    e: &Expect,
    target: Target,
    state: Map<String, Value>,
    seed: u64,
) -> (Provisioned, String, String) {
    let (p, uid, name) = run_with(c, e, target, state, seed);
    (p.unwrap_or_else(|err| panic!("{err}")), uid, name)
}

fn run_with(
    c: &PlatformConfig,
    e: &Expect,
    target: Target,
    state: Map<String, Value>,
    seed: u64,
) -> (Result<Provisioned, ProvisionError>, String, String) {
    let (p, uid, name) = run_in(c, e, env_name(target), state, seed);
    assert_eq!(c.environments[env_name(target)].target, target);
    (p, uid, name)
}

/// One provisioning of the resource `shop.res` of the expected type in the named environment.
fn run_in(
    c: &PlatformConfig,
    e: &Expect,
    env_key: &str,
    state: Map<String, Value>,
    seed: u64,
) -> (Result<Provisioned, ProvisionError>, String, String) {
    let r = socle_score::Resource {
        kind: e.kind.into(),
        class: None,
        id: None,
        metadata: None,
        params: Some(e.params.clone()),
    };
    let uid = resource_uid("shop", "res", &r);
    let env = &c.environments[env_key];
    let target = env.target;
    let d = match_definition(
        c,
        &ResourceRequest {
            kind: e.kind,
            class: None,
            id: None,
            app: "shop",
        },
        env,
    )
    .unwrap_or_else(|err| panic!("{} on {}: {err}", e.kind, env.name));
    assert_eq!(d.target, target);
    let declared: BTreeSet<&str> = d.secrets.iter().map(String::as_str).collect();
    assert_eq!(
        declared,
        e.secrets.iter().copied().collect::<BTreeSet<_>>(),
        "{}: declared secrets",
        d.name
    );
    let p = provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "res",
            resource: &r,
            params: e.params.clone(),
            env,
            uid: &uid,
            state,
            seed,
            requested: vec![],
            workloads: &workloads(),
        },
        &Limits::default(),
    );
    (p, uid, d.name.clone())
}

/// Every `secretKeyRef` in a manifest, as (name, key).
fn secret_refs(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("secretKeyRef") {
                out.push((
                    r["name"].as_str().unwrap_or_default().to_owned(),
                    r["key"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            m.values().for_each(|x| secret_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| secret_refs(x, out)),
        _ => {}
    }
}

fn kinds(p: &Provisioned) -> Vec<&str> {
    p.manifests
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect()
}

fn manifest<'p>(p: &'p Provisioned, kind: &str) -> &'p Value {
    p.manifests
        .iter()
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(p)))
}

fn compose_checks(name: &str, p: &Provisioned, uid: &str) {
    assert!(p.manifests.is_empty(), "{name}: manifests on compose");
    for (svc, spec) in &p.compose.services {
        assert!(
            svc.starts_with(uid),
            "{name}: service {svc} not named by {uid}"
        );
        assert!(spec["image"].is_string(), "{name}: {svc} has no image");
        // Named volumes a service mounts are declared by the same fragment.
        for v in spec["volumes"].as_array().into_iter().flatten() {
            let source = v.as_str().unwrap().split(':').next().unwrap();
            assert!(
                p.compose.volumes.contains_key(source),
                "{name}: {svc} mounts undeclared volume {source}"
            );
        }
        for dep in spec["depends_on"].as_object().into_iter().flatten() {
            assert!(
                p.compose.services.contains_key(dep.0),
                "{name}: {svc} depends on unknown {}",
                dep.0
            );
        }
    }
    for vol in p.compose.volumes.keys() {
        assert!(
            vol.starts_with(uid),
            "{name}: volume {vol} not named by {uid}"
        );
    }
}

fn kubernetes_checks(name: &str, p: &Provisioned, uid: &str, secrets: &[&str]) {
    assert!(
        p.compose.services.is_empty() && p.compose.volumes.is_empty(),
        "{name}: compose services on kubernetes"
    );
    for m in &p.manifests {
        for field in ["apiVersion", "kind"] {
            assert!(
                m[field].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: manifest without {field}: {m}"
            );
        }
        let mname = m["metadata"]["name"].as_str().unwrap_or_default();
        assert!(mname.contains(uid), "{name}: {mname} not named by {uid}");
        assert!(
            m["metadata"]["namespace"].is_string(),
            "{name}: {mname} has no namespace"
        );
    }
    // Secrets are referenced, never written.
    let text = serde_json::to_string(&p.manifests).unwrap();
    for s in secrets {
        let v = p.outputs[*s].as_str().unwrap();
        assert!(!text.contains(v), "{name}: secret output {s} in a manifest");
    }
    let mut refs = Vec::new();
    secret_refs(&Value::Array(p.manifests.clone()), &mut refs);
    assert_eq!(refs.is_empty(), secrets.is_empty(), "{name}: {refs:?}");
    for (rname, key) in &refs {
        assert_eq!(rname, uid, "{name}: secretKeyRef to another Secret");
        assert!(secrets.contains(&key.as_str()), "{name}: key {key}");
    }
    // Every workload holds what the built-in guardrail pack checks.
    for m in &p.manifests {
        let kind = m["kind"].as_str().unwrap_or_default();
        assert!(
            !["Pod", "ReplicaSet", "DaemonSet", "CronJob"].contains(&kind),
            "{name}: a {kind}: extend workload_checks to it"
        );
        if WORKLOAD_KINDS.contains(&kind) {
            workload_checks(name, m);
        }
    }
    // Every Service selects the pods of a workload of the same result.
    for svc in p.manifests.iter().filter(|m| m["kind"] == "Service") {
        let selector = svc["spec"]["selector"].as_object().unwrap();
        assert!(
            p.manifests.iter().any(|m| {
                let labels = &m["spec"]["template"]["metadata"]["labels"];
                selector.iter().all(|(k, v)| &labels[k] == v)
            }),
            "{name}: Service selects nothing"
        );
    }
}

/// The workload kinds the shipped definitions render.
const WORKLOAD_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "Job"];

/// A Kubernetes quantity in thousandths of its unit (millicores, millibytes), to compare requests
/// with limits.
fn quantity(q: &Value) -> f64 {
    let s = match q {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => panic!("not a quantity: {q}"),
    };
    let units: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
        ("", 1.0),
    ];
    let (number, factor) = units
        .iter()
        .find_map(|(suffix, f)| s.strip_suffix(suffix).map(|n| (n, *f)))
        .unwrap();
    let n: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("not a quantity: {s}"));
    assert!(n > 0.0, "quantity {s} is not positive");
    n * factor * 1e3
}

/// An image pinned to a version (or digest), never latest: the tag of its last path segment.
fn pinned(image: &str) -> bool {
    if image.contains('@') {
        return true;
    }
    let last = image.rsplit('/').next().unwrap();
    last.split_once(':')
        .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest")
}

/// What the built-in guardrail pack (crates/socle-policy/policies/kubernetes.rego) checks on a
/// workload, asserted field by field: a non-root user and the runtime's seccomp profile for the pod,
/// no host namespaces; for every container a pinned image, CPU and memory requests and limits
/// (requests within limits), no privilege escalation, a read-only root filesystem, all capabilities
/// dropped and none added, and — except in a Job, which runs to completion — liveness and readiness
/// probes that run something real.
fn workload_checks(name: &str, m: &Value) {
    let kind = m["kind"].as_str().unwrap();
    let at = format!("{name}: {kind}/{}", m["metadata"]["name"].as_str().unwrap());
    let pod = &m["spec"]["template"]["spec"];
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "{at}: pod runAsNonRoot");
    assert!(
        psc["runAsUser"].as_i64().is_some_and(|u| u > 0),
        "{at}: pod runAsUser {}",
        psc["runAsUser"]
    );
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{at}");
    if psc.get("fsGroup").is_some() {
        // A recursive ownership change at every mount would widen modes that databases check.
        assert_eq!(psc["fsGroupChangePolicy"], "OnRootMismatch", "{at}");
    }
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        assert_ne!(pod[field], true, "{at}: {field}");
    }
    if kind == "Job" {
        assert!(
            ["OnFailure", "Never"].contains(&pod["restartPolicy"].as_str().unwrap_or_default()),
            "{at}: restartPolicy"
        );
    }
    let mut volumes: BTreeSet<&str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for t in m["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        volumes.insert(t["metadata"]["name"].as_str().unwrap());
    }
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .flat_map(|k| pod[*k].as_array().into_iter().flatten())
        .collect();
    assert!(!containers.is_empty(), "{at}: no containers");
    for c in containers {
        let at = format!("{at} container {}", c["name"].as_str().unwrap());
        let image = c["image"].as_str().unwrap();
        assert!(pinned(image), "{at}: image {image} is not pinned");

        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{at}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{at}");
        assert_eq!(sc["runAsNonRoot"], true, "{at}");
        assert_ne!(sc["privileged"], true, "{at}");
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{at}");
        assert!(sc["capabilities"].get("add").is_none(), "{at}: adds");
        assert!(
            sc.get("runAsUser")
                .is_none_or(|u| u.as_i64().is_some_and(|u| u > 0)),
            "{at}: runAsUser"
        );

        let r = &c["resources"];
        for res in ["cpu", "memory"] {
            let (request, limit) = (quantity(&r["requests"][res]), quantity(&r["limits"][res]));
            assert!(request <= limit, "{at}: {res} request above its limit: {r}");
        }

        let ports: BTreeSet<i64> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["containerPort"].as_i64().unwrap())
            .collect();
        let probes = ["startupProbe", "readinessProbe", "livenessProbe"];
        if kind == "Job" {
            assert!(probes.iter().all(|p| c.get(*p).is_none()), "{at}: probes");
        } else {
            assert!(c["livenessProbe"].is_object(), "{at}: no livenessProbe");
            assert!(c["readinessProbe"].is_object(), "{at}: no readinessProbe");
        }
        for probe in probes.iter().filter_map(|p| c.get(*p)) {
            let handlers: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
                .into_iter()
                .filter(|h| probe.get(*h).is_some())
                .collect();
            assert_eq!(handlers.len(), 1, "{at}: probe {probe}");
            match handlers[0] {
                "exec" => {
                    let cmd = probe["exec"]["command"].as_array().unwrap();
                    assert!(!cmd.is_empty() && cmd.iter().all(Value::is_string), "{at}");
                }
                h => assert!(
                    ports.contains(&probe[h]["port"].as_i64().unwrap()),
                    "{at}: probe on a port the container does not open: {probe}"
                ),
            }
            for field in ["periodSeconds", "timeoutSeconds", "failureThreshold"] {
                assert!(
                    probe[field].as_i64().is_some_and(|v| v >= 1),
                    "{at}: {field} in {probe}"
                );
            }
        }

        for mount in c["volumeMounts"].as_array().into_iter().flatten() {
            let vname = mount["name"].as_str().unwrap();
            assert!(volumes.contains(vname), "{at}: mounts undeclared {vname}");
            assert!(mount["mountPath"].as_str().unwrap().starts_with('/'));
        }
    }
}

/// Provisions the type on a target and checks what holds for every definition; returns the first
/// result and the resource's uid for type-specific checks.
fn check(c: &PlatformConfig, e: &Expect, target: Target) -> (Provisioned, String) {
    let (first, uid, name) = run(c, e, target, Map::new(), 1);
    assert_eq!(name, format!("{}-{}", e.kind, target.as_str()));
    assert_eq!(
        first
            .outputs
            .keys()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        e.outputs.iter().copied().collect::<BTreeSet<_>>(),
        "{name}: outputs"
    );
    assert_eq!(
        first
            .secrets
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        e.secrets.iter().copied().collect::<BTreeSet<_>>(),
        "{name}: secret outputs"
    );
    for s in e.secrets {
        assert!(
            first.outputs[*s].as_str().is_some_and(|v| v.len() >= 16),
            "{name}: secret {s} is {}",
            first.outputs[*s]
        );
    }
    match target {
        Target::Compose => compose_checks(&name, &first, &uid),
        Target::Kubernetes => kubernetes_checks(&name, &first, &uid, e.secrets),
    }
    // Deterministic for a seed; with the kept state, a new seed changes nothing.
    let (same, _, _) = run(c, e, target, Map::new(), 1);
    assert_eq!(same, first, "{name}: not deterministic");
    let (next, _, _) = run(c, e, target, first.state.clone(), 99);
    assert_eq!(next, first, "{name}: credentials not kept in state");
    if let Some(key) = e.generated {
        let (other, _, _) = run(c, e, target, Map::new(), 2);
        assert_ne!(
            other.outputs[key], first.outputs[key],
            "{name}: {key} does not depend on the seed"
        );
        assert!(!first.state.is_empty(), "{name}: nothing kept in state");
    }
    (first, uid)
}

fn k8s_host(uid: &str) -> String {
    format!("{uid}.dev.svc.cluster.local")
}

#[test]
fn every_type_has_exactly_one_definition_per_target() {
    let c = default_config();
    let mut count: BTreeMap<(&str, Target), Vec<&str>> = BTreeMap::new();
    for d in &c.definitions {
        count
            .entry((d.kind.as_str(), d.target))
            .or_default()
            .push(d.name.as_str());
    }
    for (key, names) in &count {
        assert_eq!(names.len(), 1, "{key:?} is provided by {names:?}");
    }
    for kind in TYPES {
        for target in TARGETS {
            assert!(
                count.contains_key(&(kind, target)),
                "no {kind} definition for {}",
                target.as_str()
            );
        }
    }
}

#[test]
fn postgres() {
    let c = default_config();
    let e = Expect {
        kind: "postgres",
        params: json!({}),
        outputs: &["host", "port", "name", "database", "username", "password"],
        secrets: &["password"],
        generated: Some("password"),
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(uid));
    assert_eq!(p.outputs["port"], json!(5432));
    assert_eq!(p.outputs["name"], p.outputs["database"]);
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(k8s_host(&uid)));
    assert_eq!(kinds(&p), ["Service", "StatefulSet"]);
}

#[test]
fn mysql() {
    let c = default_config();
    let e = Expect {
        kind: "mysql",
        params: json!({}),
        outputs: &["host", "port", "name", "database", "username", "password"],
        secrets: &["password"],
        generated: Some("password"),
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(uid));
    assert_eq!(p.outputs["port"], json!(3306));
    assert_eq!(p.outputs["name"], p.outputs["database"]);
    let svc = &p.compose.services[&uid];
    assert_eq!(svc["image"], "mysql:8.4");
    assert_eq!(svc["environment"]["MYSQL_PASSWORD"], p.outputs["password"]);
    assert_eq!(svc["environment"]["MYSQL_USER"], p.outputs["username"]);
    assert_eq!(svc["environment"]["MYSQL_DATABASE"], p.outputs["database"]);
    assert_eq!(svc["healthcheck"]["test"][0], "CMD-SHELL");
    assert_eq!(
        svc["volumes"],
        json!([format!("{uid}-data:/var/lib/mysql")])
    );
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(k8s_host(&uid)));
    assert_eq!(p.outputs["port"], json!(3306));
    assert_eq!(kinds(&p), ["Service", "StatefulSet"]);
    let sts = manifest(&p, "StatefulSet");
    assert_eq!(sts["metadata"]["namespace"], "dev");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
}

#[test]
fn redis() {
    let c = default_config();
    let e = Expect {
        kind: "redis",
        params: json!({}),
        outputs: &["host", "port", "username", "password"],
        secrets: &["password"],
        generated: Some("password"),
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(uid));
    assert_eq!(p.outputs["port"], json!(6379));
    assert_eq!(p.outputs["username"], "default");
    let svc = &p.compose.services[&uid];
    assert_eq!(svc["image"], "redis:7-alpine");
    let cmd = svc["command"].as_array().unwrap();
    let at = cmd.iter().position(|a| a == "--requirepass").unwrap();
    assert_eq!(cmd[at + 1], p.outputs["password"]);
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(k8s_host(&uid)));
    assert_eq!(p.outputs["username"], "default");
    assert_eq!(kinds(&p), ["Service", "StatefulSet"]);
    let container = &manifest(&p, "StatefulSet")["spec"]["template"]["spec"]["containers"][0];
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&json!("$(REDIS_PASSWORD)"))
    );
}

#[test]
fn s3() {
    let c = default_config();
    let e = Expect {
        kind: "s3",
        params: json!({}),
        outputs: &[
            "endpoint",
            "region",
            "bucket",
            "access_key_id",
            "secret_key",
            "aws_access_key_id",
            "aws_secret_key",
        ],
        secrets: &["secret_key", "aws_secret_key"],
        generated: Some("secret_key"),
    };
    for target in TARGETS {
        let (p, uid) = check(&c, &e, target);
        assert_eq!(p.outputs["bucket"], json!(uid));
        assert_eq!(p.outputs["region"], "us-east-1");
        assert_eq!(p.outputs["aws_access_key_id"], p.outputs["access_key_id"]);
        assert_eq!(p.outputs["aws_secret_key"], p.outputs["secret_key"]);
        assert_eq!(p.outputs["access_key_id"].as_str().unwrap().len(), 20);
        assert_eq!(p.outputs["secret_key"].as_str().unwrap().len(), 40);
        match target {
            Target::Compose => {
                assert_eq!(p.outputs["endpoint"], json!(format!("http://{uid}:9000")));
                let minio = &p.compose.services[&uid];
                assert_eq!(minio["image"], "minio/minio");
                assert_eq!(minio["command"][0], "server");
                assert_eq!(minio["command"][1], "/data");
                assert_eq!(
                    minio["environment"]["MINIO_ROOT_USER"],
                    p.outputs["access_key_id"]
                );
                let mc = &p.compose.services[&format!("{uid}-mc")];
                assert_eq!(mc["image"], "minio/mc");
                assert_eq!(
                    mc["command"],
                    json!(["mb", "--ignore-existing", format!("local/{uid}")])
                );
                assert_eq!(mc["depends_on"][&uid]["condition"], "service_healthy");
            }
            Target::Kubernetes => {
                assert_eq!(
                    p.outputs["endpoint"],
                    json!(format!("http://{}:9000", k8s_host(&uid)))
                );
                assert_eq!(
                    kinds(&p),
                    ["Service", "PersistentVolumeClaim", "Deployment", "Job"]
                );
                let job = manifest(&p, "Job");
                assert_eq!(
                    job["spec"]["template"]["spec"]["containers"][0]["args"],
                    json!(["mb", "--ignore-existing", format!("local/{uid}")])
                );
            }
        }
    }
}

#[test]
fn amqp() {
    let c = default_config();
    let e = Expect {
        kind: "amqp",
        params: json!({}),
        outputs: &["host", "port", "vhost", "username", "password"],
        secrets: &["password"],
        generated: Some("password"),
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(uid));
    assert_eq!(p.outputs["port"], json!(5672));
    assert!(p.outputs["vhost"].as_str().unwrap().starts_with("vhost"));
    let svc = &p.compose.services[&uid];
    assert_eq!(svc["image"], "rabbitmq:4-management-alpine");
    assert_eq!(
        svc["environment"]["RABBITMQ_DEFAULT_VHOST"],
        p.outputs["vhost"]
    );
    assert_eq!(
        svc["environment"]["RABBITMQ_DEFAULT_PASS"],
        p.outputs["password"]
    );
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(k8s_host(&uid)));
    assert_eq!(kinds(&p), ["Service", "StatefulSet"]);
}

#[test]
fn mongodb() {
    let c = default_config();
    let e = Expect {
        kind: "mongodb",
        params: json!({}),
        outputs: &["host", "port", "username", "password", "connection"],
        secrets: &["password", "connection"],
        generated: Some("password"),
    };
    for target in TARGETS {
        let (p, uid) = check(&c, &e, target);
        let host = match target {
            Target::Compose => uid.clone(),
            Target::Kubernetes => k8s_host(&uid),
        };
        assert_eq!(p.outputs["host"], json!(host));
        assert_eq!(p.outputs["port"], json!(27017));
        let (user, pw) = (
            p.outputs["username"].as_str().unwrap(),
            p.outputs["password"].as_str().unwrap(),
        );
        assert_eq!(
            p.outputs["connection"],
            json!(format!(
                "mongodb://{user}:{pw}@{host}:27017/?authSource=admin"
            ))
        );
    }
}

#[test]
fn kafka_topic() {
    let c = default_config();
    let e = Expect {
        kind: "kafka-topic",
        params: json!({"partitions": 6}),
        outputs: &["host", "port", "name", "num_partitions"],
        secrets: &[],
        generated: None,
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(uid));
    assert_eq!(p.outputs["port"], json!(9092));
    assert_eq!(p.outputs["name"], json!(uid));
    assert_eq!(p.outputs["num_partitions"], json!(6));
    assert_eq!(p.compose.services[&uid]["image"], "apache/kafka:3.9.0");
    assert_eq!(
        p.compose.services[&uid]["environment"]["KAFKA_ADVERTISED_LISTENERS"],
        json!(format!("PLAINTEXT://{uid}:9092"))
    );
    let topic = &p.compose.services[&format!("{uid}-topic")];
    let args: Vec<&str> = topic["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--topic", uid.as_str()]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--partitions", "6"]),
        "{args:?}"
    );

    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(
        p.outputs["host"],
        json!("kafka-bootstrap.kafka.svc.cluster.local")
    );
    assert_eq!(p.outputs["port"], json!(9092));
    assert_eq!(p.outputs["num_partitions"], json!(6));
    assert_eq!(p.outputs["name"], json!(format!("dev-{uid}")));
    assert_eq!(kinds(&p), ["KafkaTopic"]);
    let t = &p.manifests[0];
    assert_eq!(t["apiVersion"], "kafka.strimzi.io/v1beta2");
    assert_eq!(t["spec"]["topicName"], p.outputs["name"]);
    assert_eq!(t["spec"]["partitions"], json!(6));
    assert_eq!(t["metadata"]["labels"]["strimzi.io/cluster"], "kafka");

    // Without params: 3 partitions.
    let e = Expect {
        params: json!({}),
        ..e
    };
    for target in TARGETS {
        let (p, _) = check(&c, &e, target);
        assert_eq!(p.outputs["num_partitions"], json!(3));
    }
}

#[test]
fn dns() {
    let c = default_config();
    let e = Expect {
        kind: "dns",
        params: json!({}),
        outputs: &["host"],
        secrets: &[],
        generated: None,
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["host"], json!(format!("{uid}.localhost")));
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(format!("{uid}.dev.example.com")));
    assert!(p.manifests.is_empty());
    let e = Expect {
        params: json!({"domain": "apps.example.org"}),
        ..e
    };
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["host"], json!(format!("{uid}.apps.example.org")));
}

#[test]
fn route() {
    let c = default_config();
    let e = Expect {
        kind: "route",
        params: json!({"host": "shop.example.com", "path": "/api", "port": 8080}),
        outputs: &[],
        secrets: &[],
        generated: None,
    };
    let (p, _) = check(&c, &e, Target::Compose);
    assert_eq!(p, Provisioned::default());
    // A port substituted from a placeholder arrives as a string; Gateway API wants a number.
    let text = Expect {
        params: json!({"host": "shop.example.com", "path": "/api", "port": "8080"}),
        ..e.clone()
    };
    let (p, _) = check(&c, &text, Target::Kubernetes);
    assert_eq!(
        p.manifests[0]["spec"]["rules"][0]["backendRefs"][0]["port"],
        json!(8080)
    );
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(
        p.manifests,
        [json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": uid, "namespace": "dev"},
            "spec": {
                "parentRefs": [{"name": "default", "namespace": "dev"}],
                "hostnames": ["shop.example.com"],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                    "backendRefs": [{"name": "shop", "port": 8080}],
                }],
            },
        })]
    );
}

/// The backend port of the HTTPRoute the Kubernetes route definition makes for `workload`'s
/// route to `port` (see [`workloads`]: billing's service port `web` is 8080 → container 80).
fn route_port(workload: &str, port: Value) -> Result<Value, ProvisionError> {
    let c = default_config();
    let env = &c.environments["dev"];
    let params = json!({"host": "billing.example.com", "path": "/", "port": port});
    let r = socle_score::Resource {
        kind: "route".into(),
        class: None,
        id: None,
        metadata: None,
        params: Some(params.clone()),
    };
    let d = match_definition(
        &c,
        &ResourceRequest {
            kind: "route",
            class: None,
            id: None,
            app: workload,
        },
        env,
    )
    .unwrap();
    let p = provision(
        d,
        &ProvisionRequest {
            workload,
            name: "route",
            resource: &r,
            params,
            env,
            uid: "route-1",
            state: Map::new(),
            seed: 1,
            requested: vec![],
            workloads: &workloads(),
        },
        &Limits::default(),
    )?;
    Ok(p.manifests[0]["spec"]["rules"][0]["backendRefs"][0]["port"].clone())
}

#[test]
fn a_kubernetes_route_takes_a_named_service_port() {
    // A service port's name, or its number (as score-k8s accepts both): the Service's port,
    // which is what an HTTPRoute's backend names (not the container's 80).
    for port in [json!("web"), json!(8080), json!("8080")] {
        assert_eq!(
            route_port("billing", port.clone()).unwrap(),
            json!(8080),
            "{port}"
        );
    }
    // A number that is not one of the workload's ports is taken as given.
    assert_eq!(route_port("billing", json!(9090)).unwrap(), json!(9090));
    assert_eq!(route_port("shop", json!("9090")).unwrap(), json!(9090));
    // A name that is not one of them is refused, naming what there is.
    let e = route_port("billing", json!("grpc"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "params.port 'grpc' is neither a port number nor one of the service ports of workload billing (web)"
        ),
        "{e}"
    );
    let e = route_port("shop", json!("web")).unwrap_err().to_string();
    assert!(e.contains("of workload shop (it has none)"), "{e}");
    let e = route_port("billing", json!(null)).unwrap_err().to_string();
    assert!(e.contains("params.port is empty: give the name or number of one of the service ports of workload billing (web)"), "{e}");
}

#[test]
fn volume() {
    let c = default_config();
    let e = Expect {
        kind: "volume",
        params: json!({}),
        outputs: &["source"],
        secrets: &[],
        generated: None,
    };
    let (p, uid) = check(&c, &e, Target::Compose);
    assert_eq!(p.outputs["source"], json!(uid));
    assert_eq!(p.compose.volumes.keys().collect::<Vec<_>>(), [&uid]);
    assert!(p.compose.services.is_empty());
    let (p, uid) = check(&c, &e, Target::Kubernetes);
    assert_eq!(p.outputs["source"], json!(uid));
    assert_eq!(
        p.manifests,
        [json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": uid, "namespace": "dev"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        })]
    );
    let e = Expect {
        params: json!({"size": "5Gi"}),
        ..e
    };
    let (p, _) = check(&c, &e, Target::Kubernetes);
    assert_eq!(
        p.manifests[0]["spec"]["resources"]["requests"]["storage"],
        "5Gi"
    );
}

#[test]
fn service_port() {
    let c = default_config();
    // (params.port, Compose port, Kubernetes port): a named or numbered service port of a known
    // workload is the container port on Compose and the Service port on Kubernetes.
    let cases = [
        (json!("web"), 80, 8080),
        (json!(8080), 80, 8080),
        (json!("8080"), 80, 8080),
    ];
    for (port, on_compose, on_kubernetes) in cases {
        let e = Expect {
            kind: "service-port",
            params: json!({"workload": "billing", "port": port}),
            outputs: &["hostname", "port"],
            secrets: &[],
            generated: None,
        };
        for (target, expected) in [
            (Target::Compose, on_compose),
            (Target::Kubernetes, on_kubernetes),
        ] {
            let (p, _) = check(&c, &e, target);
            assert_eq!(p.outputs["hostname"], "billing");
            assert_eq!(p.outputs["port"], json!(expected), "{port} on {target:?}");
            assert!(p.manifests.is_empty() && p.compose == Default::default());
        }
    }
    // A workload deployed elsewhere: params as given.
    let e = Expect {
        kind: "service-port",
        params: json!({"workload": "ledger", "port": 9000}),
        outputs: &["hostname", "port"],
        secrets: &[],
        generated: None,
    };
    for target in TARGETS {
        let (p, _) = check(&c, &e, target);
        assert_eq!(p.outputs["hostname"], "ledger");
        assert_eq!(p.outputs["port"], json!(9000));
    }
    // A port name that cannot be resolved, or no params, is an error.
    for (params, message) in [
        (
            json!({"workload": "ledger", "port": "web"}),
            "`params_port_is_not_a_service_port_of_params_workload` is undefined",
        ),
        (
            json!({"workload": "billing", "port": "grpc"}),
            "`params_port_is_not_a_service_port_of_params_workload` is undefined",
        ),
        (json!({}), "`p.workload` is undefined"),
    ] {
        let e = Expect {
            kind: "service-port",
            params: params.clone(),
            outputs: &[],
            secrets: &[],
            generated: None,
        };
        for target in TARGETS {
            let err = try_run(&c, &e, target).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "resource definition service-port-{}",
                    target.as_str()
                )),
                "{params}: {err}"
            );
            assert!(err.contains(message), "{params}: {err}");
        }
    }
}

/// Provisions `shop.res` with a definition in an environment, without state.
fn provision_with(
    d: &socle_platform::ResourceDefinition,
    env: &socle_platform::Environment,
    params: Value,
) -> Provisioned {
    let r = socle_score::Resource {
        kind: d.kind.clone(),
        class: None,
        id: None,
        metadata: None,
        params: Some(params.clone()),
    };
    let uid = resource_uid("shop", "res", &r);
    provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "res",
            resource: &r,
            params,
            env,
            uid: &uid,
            state: Map::new(),
            seed: 1,
            requested: vec![],
            workloads: &workloads(),
        },
        &Limits::default(),
    )
    .unwrap_or_else(|err| panic!("{} on {}: {err}", d.name, env.name))
}

/// Params a type needs to provision at all.
fn required_params(kind: &str) -> Value {
    match kind {
        "route" => json!({"host": "shop.example.com", "path": "/", "port": 8080}),
        "service-port" => json!({"workload": "billing", "port": "web"}),
        _ => json!({}),
    }
}

fn workloads_in(p: &Provisioned) -> Vec<&Value> {
    p.manifests
        .iter()
        .filter(|m| WORKLOAD_KINDS.contains(&m["kind"].as_str().unwrap()))
        .collect()
}

#[test]
fn every_kubernetes_workload_is_hardened_on_every_environment() {
    let c = default_config();
    let mut with_workloads = BTreeSet::new();
    for env in c.environments.values() {
        if env.target != Target::Kubernetes {
            continue;
        }
        for d in c
            .definitions
            .iter()
            .filter(|d| d.target == Target::Kubernetes)
        {
            let p = provision_with(d, env, required_params(&d.kind));
            for m in workloads_in(&p) {
                workload_checks(&format!("{} on {}", d.name, env.name), m);
                with_workloads.insert(d.kind.as_str());
                if m["kind"] != "Job" {
                    // Single-node products: none of them is set up to replicate, so a second
                    // replica would be a second, independent (empty) server, production or not.
                    // The pack's prod-replicas rule reports it in production, on purpose.
                    assert_eq!(m["spec"]["replicas"], 1, "{} on {}", d.name, env.name);
                }
            }
        }
    }
    assert_eq!(
        with_workloads,
        BTreeSet::from(["amqp", "mongodb", "mysql", "postgres", "redis", "s3"])
    );
}

/// A workload a Kubernetes definition runs, as its image expects to run it.
struct Hardened {
    kind: &'static str,
    workload: &'static str,
    container: &'static str,
    /// The image's non-root user and group (the pod's fsGroup too when it has a volume).
    user: i64,
    group: i64,
    /// Every path the container writes: its volume mounts, the data volume first.
    writes: &'static [&'static str],
    /// What the probes run (a command word or an HTTP path), liveness then readiness.
    probes: Option<(&'static str, &'static str)>,
    /// Default (request, limit) for CPU and memory.
    cpu: (&'static str, &'static str),
    memory: (&'static str, &'static str),
}

const HARDENED: [Hardened; 7] = [
    Hardened {
        kind: "postgres",
        workload: "StatefulSet",
        container: "postgres",
        user: 70,
        group: 70,
        writes: &["/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"],
        probes: Some(("pg_isready", "pg_isready")),
        cpu: ("250m", "1"),
        memory: ("512Mi", "512Mi"),
    },
    Hardened {
        kind: "mysql",
        workload: "StatefulSet",
        container: "mysql",
        user: 999,
        group: 999,
        writes: &["/var/lib/mysql", "/var/run/mysqld", "/tmp"],
        probes: Some(("mysqladmin ping", "mysqladmin ping")),
        cpu: ("250m", "1"),
        memory: ("1Gi", "1Gi"),
    },
    Hardened {
        kind: "redis",
        workload: "StatefulSet",
        container: "redis",
        user: 999,
        group: 1000,
        writes: &["/data"],
        probes: Some(("redis-cli", "redis-cli")),
        cpu: ("100m", "500m"),
        memory: ("256Mi", "256Mi"),
    },
    Hardened {
        kind: "s3",
        workload: "Deployment",
        container: "minio",
        user: 1000,
        group: 1000,
        writes: &["/data", "/tmp"],
        probes: Some(("/minio/health/live", "/minio/health/ready")),
        cpu: ("100m", "1"),
        memory: ("512Mi", "512Mi"),
    },
    Hardened {
        kind: "s3",
        workload: "Job",
        container: "mc",
        user: 1000,
        group: 1000,
        writes: &["/tmp"],
        probes: None,
        cpu: ("50m", "200m"),
        memory: ("64Mi", "128Mi"),
    },
    Hardened {
        kind: "amqp",
        workload: "StatefulSet",
        container: "rabbitmq",
        // The Alpine image's rabbitmq user (the Ubuntu image's is 999).
        user: 100,
        group: 101,
        writes: &["/var/lib/rabbitmq", "/var/log/rabbitmq", "/tmp"],
        probes: Some(("ping", "check_port_connectivity")),
        cpu: ("250m", "1"),
        memory: ("1Gi", "1Gi"),
    },
    Hardened {
        kind: "mongodb",
        workload: "StatefulSet",
        container: "mongodb",
        user: 999,
        group: 999,
        writes: &["/data/db", "/tmp"],
        probes: Some(("mongosh", "mongosh")),
        cpu: ("250m", "1"),
        memory: ("1Gi", "1Gi"),
    },
];

/// The text of a probe's action: its command words, or its HTTP path.
fn probe_text(probe: &Value) -> String {
    match probe["exec"]["command"].as_array() {
        Some(cmd) => cmd
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" "),
        None => probe["httpGet"]["path"].as_str().unwrap().to_owned(),
    }
}

fn kubernetes_definition<'c>(
    c: &'c PlatformConfig,
    kind: &str,
) -> &'c socle_platform::ResourceDefinition {
    c.definitions
        .iter()
        .find(|d| d.kind == kind && d.target == Target::Kubernetes)
        .unwrap()
}

fn container<'p>(p: &'p Provisioned, h: &Hardened) -> &'p Value {
    let m = manifest(p, h.workload);
    let containers = m["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1, "{}: {}", h.kind, h.workload);
    assert_eq!(containers[0]["name"], h.container);
    &containers[0]
}

#[test]
fn kubernetes_workloads_run_as_their_image_expects() {
    let c = default_config();
    let env = &c.environments["dev"];
    for h in &HARDENED {
        let at = format!("{} {}", h.kind, h.workload);
        let p = provision_with(kubernetes_definition(&c, h.kind), env, json!({}));
        let m = manifest(&p, h.workload);
        let pod = &m["spec"]["template"]["spec"];
        let psc = &pod["securityContext"];
        assert_eq!(psc["runAsUser"], h.user, "{at}");
        assert_eq!(psc["runAsGroup"], h.group, "{at}");
        let c0 = container(&p, h);

        // A read-only root filesystem: each path the image writes is a volume — the data volume
        // (persistent) first, the others emptyDirs.
        let mounts: Vec<(&str, &str)> = c0["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap(),
                    v["mountPath"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            mounts.iter().map(|(_, path)| *path).collect::<Vec<_>>(),
            h.writes,
            "{at}"
        );
        let empty_dirs: BTreeSet<&str> = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v.get("emptyDir").is_some())
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        let persistent = h.workload != "Job";
        for (i, (name, path)) in mounts.iter().enumerate() {
            assert_eq!(
                !empty_dirs.contains(name),
                persistent && i == 0,
                "{at}: {path} on volume {name}"
            );
        }
        if persistent {
            // The data volume is group-owned by the image's group.
            assert_eq!(psc["fsGroup"], h.group, "{at}");
        }

        let r = &c0["resources"];
        assert_eq!(
            (&r["requests"]["cpu"], &r["limits"]["cpu"]),
            (&json!(h.cpu.0), &json!(h.cpu.1)),
            "{at}"
        );
        assert_eq!(
            (&r["requests"]["memory"], &r["limits"]["memory"]),
            (&json!(h.memory.0), &json!(h.memory.1)),
            "{at}"
        );

        match h.probes {
            Some((liveness, readiness)) => {
                let text = probe_text(&c0["livenessProbe"]);
                assert!(text.contains(liveness), "{at}: liveness {text}");
                let text = probe_text(&c0["readinessProbe"]);
                assert!(text.contains(readiness), "{at}: readiness {text}");
            }
            None => assert!(c0.get("livenessProbe").is_none()),
        }
    }
}

/// Products that can take minutes to start (initialising a database, loading an append-only file)
/// hold their liveness probe back with a startup probe.
#[test]
fn databases_have_a_startup_probe() {
    let c = default_config();
    let env = &c.environments["dev"];
    for h in HARDENED.iter().filter(|h| h.workload == "StatefulSet") {
        let p = provision_with(kubernetes_definition(&c, h.kind), env, json!({}));
        let c0 = container(&p, h);
        let startup = &c0["startupProbe"];
        assert_eq!(
            probe_text(startup),
            probe_text(&c0["livenessProbe"]),
            "{}",
            h.kind
        );
        let budget = startup["periodSeconds"].as_i64().unwrap()
            * startup["failureThreshold"].as_i64().unwrap();
        assert!(budget >= 300, "{}: {budget}s to start", h.kind);
    }
}

#[test]
fn kubernetes_probes_and_data_directories_are_right_for_each_image() {
    let c = default_config();
    let env = &c.environments["dev"];
    let get = |kind: &str, workload: &str| {
        let h = HARDENED
            .iter()
            .find(|h| h.kind == kind && h.workload == workload)
            .unwrap();
        let p = provision_with(kubernetes_definition(&c, kind), env, json!({}));
        container(&p, h).clone()
    };
    let env_value = |c: &Value, name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };

    // PostgreSQL: the data directory is a subdirectory of the volume it owns; the probe asks the
    // TCP listener (the server initdb starts listens only on the socket).
    let pg = get("postgres", "StatefulSet");
    assert_eq!(
        env_value(&pg, "PGDATA")["value"],
        "/var/lib/postgresql/data/pgdata"
    );
    assert!(probe_text(&pg["readinessProbe"]).contains("pg_isready -q -h 127.0.0.1 -p 5432"));

    // MySQL: likewise a subdirectory (--initialize refuses lost+found); ping over TCP.
    let my = get("mysql", "StatefulSet");
    assert_eq!(
        my["args"],
        json!(["mysqld", "--datadir=/var/lib/mysql/data"])
    );
    assert!(probe_text(&my["livenessProbe"]).contains("mysqladmin ping -h 127.0.0.1"));

    // Redis: redis-cli authenticates with REDISCLI_AUTH, from the Secret.
    let rd = get("redis", "StatefulSet");
    assert_eq!(
        env_value(&rd, "REDISCLI_AUTH")["valueFrom"]["secretKeyRef"]["key"],
        "password"
    );
    assert!(probe_text(&rd["livenessProbe"]).contains("ping | grep -qx PONG"));

    // MinIO: HTTP health endpoints on the S3 port; certificates under /tmp, not $HOME.
    let minio = get("s3", "Deployment");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(minio[probe]["httpGet"]["port"], 9000);
    }
    let args = minio["args"].as_array().unwrap();
    assert!(args.windows(2).any(|w| w == ["--certs-dir", "/tmp/certs"]));
    assert!(
        minio["image"]
            .as_str()
            .unwrap()
            .starts_with("minio/minio:RELEASE.")
    );
    // mc keeps its configuration under /tmp.
    let mc = get("s3", "Job");
    assert_eq!(env_value(&mc, "MC_CONFIG_DIR")["value"], "/tmp/.mc");
    assert!(
        mc["image"]
            .as_str()
            .unwrap()
            .starts_with("minio/mc:RELEASE.")
    );

    // RabbitMQ: liveness asks whether the node runs, readiness whether its listeners accept.
    let mq = get("amqp", "StatefulSet");
    assert_eq!(
        mq["livenessProbe"]["exec"]["command"],
        json!(["rabbitmq-diagnostics", "-q", "ping"])
    );
    assert_eq!(
        mq["readinessProbe"]["exec"]["command"],
        json!(["rabbitmq-diagnostics", "-q", "check_port_connectivity"])
    );

    // MongoDB: mongosh pings without credentials and keeps its logs out of the data directory.
    let mg = get("mongodb", "StatefulSet");
    assert_eq!(
        mg["readinessProbe"]["exec"]["command"],
        json!([
            "env",
            "HOME=/tmp",
            "mongosh",
            "--quiet",
            "--norc",
            "--eval",
            "db.adminCommand('ping').ok"
        ])
    );
}

#[test]
fn kubernetes_resources_follow_params() {
    let c = default_config();
    let env = &c.environments["dev"];
    // (params, expected requests, expected limits): cpu and memory set the request, and the limit
    // too unless cpu_limit / memory_limit are given.
    let cases = [
        (
            json!({"cpu": "2", "memory": "4Gi"}),
            json!({"cpu": "2", "memory": "4Gi"}),
            json!({"cpu": "2", "memory": "4Gi"}),
        ),
        (
            json!({"cpu": "500m", "cpu_limit": "2", "memory": "1Gi", "memory_limit": "2Gi"}),
            json!({"cpu": "500m", "memory": "1Gi"}),
            json!({"cpu": "2", "memory": "2Gi"}),
        ),
        (
            json!({"cpu_limit": 4, "size": "10Gi"}),
            Value::Null,
            json!({"cpu": 4}),
        ),
    ];
    for h in HARDENED.iter().filter(|h| h.workload != "Job") {
        for (params, requests, limits) in &cases {
            let p = provision_with(kubernetes_definition(&c, h.kind), env, params.clone());
            let r = &container(&p, h)["resources"];
            let expected_requests = match requests {
                Value::Null => json!({"cpu": h.cpu.0, "memory": h.memory.0}),
                v => v.clone(),
            };
            let mut expected_limits = json!({"cpu": h.cpu.1, "memory": h.memory.1});
            for (k, v) in limits.as_object().unwrap() {
                expected_limits[k] = v.clone();
            }
            assert_eq!(r["requests"], expected_requests, "{} {params}", h.kind);
            assert_eq!(r["limits"], expected_limits, "{} {params}", h.kind);
        }
    }
    // The bucket Job's resources are fixed.
    let h = &HARDENED[4];
    let p = provision_with(kubernetes_definition(&c, "s3"), env, json!({"cpu": "2"}));
    assert_eq!(
        container(&p, h)["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}})
    );
}

/// One provisioning of `shop.res` of type `kind` with `params` (seed 1, no state).
fn provision_params(
    c: &PlatformConfig,
    kind: &str,
    target: Target,
    params: Value,
) -> Result<Provisioned, ProvisionError> {
    let r = socle_score::Resource {
        kind: kind.into(),
        class: None,
        id: None,
        metadata: None,
        params: Some(params.clone()),
    };
    let uid = resource_uid("shop", "res", &r);
    let env = &c.environments[env_name(target)];
    let request = ResourceRequest {
        kind,
        class: None,
        id: None,
        app: "shop",
    };
    let d = match_definition(c, &request, env).expect("a shipped definition");
    provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "res",
            resource: &r,
            params,
            env,
            uid: &uid,
            state: Map::new(),
            seed: 1,
            requested: vec![],
            workloads: &workloads(),
        },
        &Limits::default(),
    )
}

/// The reported attack: a crafted `params.size` (or any other string param) of a shipped
/// definition used to add a cluster-admin ClusterRoleBinding to the commit. Every value now
/// stays one value: the same objects as with a benign value, or a refused provisioning.
#[test]
fn hostile_params_stay_one_value_in_every_shipped_definition() {
    let c = default_config();
    let hostile = "1Gi\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: pwn}\nroleRef: {kind: ClusterRole, name: cluster-admin}";
    let keys = [
        "size",
        "cpu",
        "memory",
        "cpu_limit",
        "memory_limit",
        "version",
        "domain",
        "host",
        "path",
        "partitions",
    ];
    let (mut provisioned, mut refused) = (0, 0);
    for kind in TYPES {
        for target in TARGETS {
            let Ok(base) = provision_params(&c, kind, target, json!({})) else {
                continue; // needs params (service-port): covered by its own tests
            };
            for key in keys {
                let Ok(p) = provision_params(&c, kind, target, json!({ key: hostile })) else {
                    refused += 1;
                    continue;
                };
                assert_eq!(kinds(&p), kinds(&base), "{kind} {target:?} {key}");
                let text = serde_json::to_string(&p.manifests).unwrap();
                assert!(
                    !text.contains("\"kind\":\"ClusterRoleBinding\""),
                    "{kind} {key}"
                );
                let compose = serde_json::to_string(&p.compose).unwrap();
                assert!(!compose.contains("\"pwn\""), "{kind} {key}: {compose}");
                provisioned += 1;
            }
        }
    }
    assert!(
        provisioned > 100,
        "{provisioned} provisioned, {refused} refused"
    );
    // The postgres volume's size is the one reported: it is there, one string.
    let p = provision_params(&c, "postgres", Target::Kubernetes, json!({"size": hostile})).unwrap();
    let sts = manifest(&p, "StatefulSet");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        hostile
    );
}
