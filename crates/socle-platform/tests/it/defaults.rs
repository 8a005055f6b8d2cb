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
    let r = socle_score::Resource {
        kind: e.kind.into(),
        class: None,
        id: None,
        metadata: None,
        params: Some(e.params.clone()),
    };
    let uid = resource_uid("shop", "res", &r);
    let env = &c.environments[env_name(target)];
    assert_eq!(env.target, target);
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
