//! Kubernetes output: typed objects, labels to the catalog, secrets only by reference.

use std::collections::BTreeMap;

use serde_json::Value;
use socle_catalog::Limits;
use socle_platform::{ResolveInput, default_config, resolve};
use socle_render::{KubernetesOptions, Ownership, render_kubernetes, to_yaml_files};

const SHOP: &str = "apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: ghcr.io/acme/shop:1.4.2
    command: [\"/bin/sh\"]
    args: [\"-c\", \"echo $${HOME} $(date) && exec shop\"]
    variables:
      DB_HOST: ${resources.db.host}
      DB_PASSWORD: ${resources.db.password}
      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/${resources.db.name}
    files:
      /etc/shop/motd:
        content: welcome to ${metadata.name}
    volumes:
      /data:
        source: ${resources.data}
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
    resources:
      limits:
        cpu: 500m
        memory: 256Mi
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  db:
    type: postgres
  data:
    type: volume
  route:
    type: route
    params:
      host: shop.example.com
      path: /
      port: 80
";

fn render(env: &str, seed: u64) -> (Vec<(String, Value)>, socle_platform::Resolution) {
    let w = socle_score::parse_workload(SHOP, "score.yaml", &Limits::default()).unwrap();
    let config = default_config();
    let e = &config.environments[env];
    let res = resolve(&ResolveInput {
        workloads: std::slice::from_ref(&w),
        env: e,
        config: &config,
        state: &BTreeMap::new(),
        seed,
        limits: &Limits::default(),
        runner: None,
    })
    .unwrap();
    let opts = KubernetesOptions {
        secret_store: format!("socle-{env}"),
        ownership: BTreeMap::from([(
            "shop".to_owned(),
            Ownership {
                entity: Some("component:default/shop".into()),
                team: Some("group:default/team-a".into()),
            },
        )]),
    };
    (render_kubernetes(&res, e, &opts).unwrap(), res)
}

fn find<'a>(m: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    &m.iter()
        .find(|(_, v)| v["kind"] == kind && v["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
        .1
}

#[test]
fn workload_objects_and_labels() {
    let (m, res) = render("dev", 1);
    let d = find(&m, "Deployment", "shop");
    assert_eq!(d["metadata"]["namespace"], "dev");
    assert_eq!(
        d["metadata"]["labels"]["socle.dev/entity"],
        "component.default.shop"
    );
    assert_eq!(
        d["metadata"]["labels"]["socle.dev/team"],
        "group.default.team-a"
    );
    assert_eq!(d["spec"]["replicas"], 1);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    // Score `$$` is a literal `$`; Kubernetes would expand `$(date)`, so it is escaped.
    assert_eq!(c["args"][1], "echo ${HOME} $$(date) && exec shop");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], 8080);
    assert_eq!(c["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e))
        .collect();
    let db = &res
        .resources
        .values()
        .find(|r| r.kind == "postgres")
        .unwrap();
    assert_eq!(env["DB_HOST"]["value"], db.outputs["host"]);
    assert_eq!(
        env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": db.uid, "key": "password"})
    );
    assert_eq!(
        env["DB_URL"]["valueFrom"]["secretKeyRef"]["name"],
        "shop-env"
    );
    let es = find(&m, "ExternalSecret", "shop-env");
    let template = es["spec"]["target"]["template"]["data"]["web_DB_URL"]
        .as_str()
        .unwrap();
    assert!(template.starts_with("postgres://"), "{template}");
    assert!(template.contains(&format!("{{{{ .{}_password }}}}", db.uid.replace('-', "_"))));
    assert_eq!(
        es["spec"]["data"][0]["remoteRef"]["key"],
        format!("dev/{}", db.uid)
    );
    let svc = find(&m, "Service", "shop");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    let cm = find(&m, "ConfigMap", "shop-files");
    assert_eq!(cm["data"]["web-0"], "welcome to shop");
    let vol = res.resources.values().find(|r| r.kind == "volume").unwrap();
    let vols = d["spec"]["template"]["spec"]["volumes"].as_array().unwrap();
    assert!(
        vols.iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == vol.uid.as_str()),
        "{vols:#?}"
    );
    find(&m, "PersistentVolumeClaim", &vol.uid);
    find(
        &m,
        "HTTPRoute",
        &res.resources
            .values()
            .find(|r| r.kind == "route")
            .unwrap()
            .uid,
    );
    // Every resource with secret outputs has its ExternalSecret.
    find(&m, "ExternalSecret", &db.uid);
}

#[test]
fn secrets_never_appear_and_output_is_deterministic() {
    let (m, res) = render("prod", 42);
    let text: String = to_yaml_files(&m)
        .unwrap()
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    for r in res.resources.values() {
        for s in &r.secrets {
            let v = r.outputs[s].as_str().unwrap();
            assert!(
                !text.contains(v),
                "secret {s} of {} leaked into the manifests",
                r.uid
            );
        }
    }
    assert_eq!(
        find(&m, "Deployment", "shop")["spec"]["replicas"],
        2,
        "production runs two replicas"
    );
    let (again, _) = render("prod", 42);
    assert_eq!(to_yaml_files(&again).unwrap(), to_yaml_files(&m).unwrap());
}

#[test]
fn every_object_is_in_the_environment_namespace() {
    let (m, _) = render("staging", 3);
    let namespaces: std::collections::BTreeSet<Option<&str>> = m
        .iter()
        .map(|(_, v)| v["metadata"]["namespace"].as_str())
        .collect();
    assert_eq!(
        namespaces.into_iter().collect::<Vec<_>>(),
        [Some("staging")]
    );
}

#[test]
fn a_resource_manifest_in_another_namespace_is_refused() {
    let (_, mut res) = render("dev", 3);
    let db = res
        .resources
        .values_mut()
        .find(|r| r.kind == "postgres")
        .unwrap();
    db.manifests[0]["metadata"]["namespace"] = "kube-system".into();
    let uid = db.uid.clone();
    let config = default_config();
    let opts = KubernetesOptions {
        secret_store: "socle-dev".into(),
        ownership: BTreeMap::new(),
    };
    let e = render_kubernetes(&res, &config.environments["dev"], &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "resource {uid} (definition postgres-kubernetes): manifests[0]: namespace \"kube-system\" is not the environment's namespace \"dev\""
        )
    );
}

#[test]
fn resource_file_names_stay_inside_the_resource_folder() {
    let (_, mut res) = render("dev", 3);
    let db = res
        .resources
        .values_mut()
        .find(|r| r.kind == "postgres")
        .unwrap();
    db.manifests[0]["metadata"]["name"] = "../../workloads/other/x".into();
    let uid = db.uid.clone();
    let config = default_config();
    let opts = KubernetesOptions {
        secret_store: "socle-dev".into(),
        ownership: BTreeMap::new(),
    };
    let m = render_kubernetes(&res, &config.environments["dev"], &opts).unwrap();
    let path = &m
        .iter()
        .find(|(_, v)| v["metadata"]["name"] == "../../workloads/other/x")
        .unwrap()
        .0;
    assert_eq!(
        path,
        &format!("resources/{uid}/service-workloads.other.x-0.yaml")
    );
}
