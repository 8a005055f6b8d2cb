//! Platform configuration: loading, matching, provisioning.

mod defaults;
mod grants;
mod manifests;
mod resolve;

use serde_json::json;
use socle_catalog::Limits;
use socle_platform::{
    MatchError, ProvisionRequest, ResourceRequest, default_config, load_config, match_definition,
    provision, resource_uid,
};

fn def(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: {name}\nspec:\n  type: redis\n  target: kubernetes\n{extra}  template: |\n    outputs:\n      host: {name}\n---\n"
    )
}

const ENVS: &str = "apiVersion: socle.dev/v1alpha1\nkind: Platform\nenvironments:\n  - name: dev\n    type: development\n    target: kubernetes\n  - name: prod\n    type: production\n    target: kubernetes\n  - name: local\n    type: development\n    target: compose\n";

fn config(defs: &str) -> socle_platform::PlatformConfig {
    load_config(
        &[
            ("socle.yaml".into(), ENVS.into()),
            ("defs.yaml".into(), defs.into()),
        ],
        &Limits::default(),
    )
    .unwrap()
}

fn req<'a>(app: &'a str, id: Option<&'a str>) -> ResourceRequest<'a> {
    ResourceRequest {
        kind: "redis",
        class: None,
        id,
        app,
    }
}

#[test]
fn the_shipped_configuration_loads() {
    let c = default_config();
    assert_eq!(
        c.environments.keys().collect::<Vec<_>>(),
        ["dev", "local", "prod", "staging"]
    );
    assert_eq!(c.environments["prod"].env_type, "production");
    assert!(c.definitions.iter().any(|d| d.kind == "postgres"));
}

#[test]
fn the_most_specific_definition_wins() {
    let defs = [
        def("generic", ""),
        def(
            "prod-only",
            "  criteria:\n    - environmentType: production\n",
        ),
        def(
            "prod-payments",
            "  criteria:\n    - environment: prod\n      app: payments\n",
        ),
        def("shared", "  id: main-cache\n"),
    ]
    .concat();
    let c = config(&defs);
    let dev = &c.environments["dev"];
    let prod = &c.environments["prod"];
    assert_eq!(
        match_definition(&c, &req("shop", None), dev).unwrap().name,
        "generic"
    );
    assert_eq!(
        match_definition(&c, &req("shop", None), prod).unwrap().name,
        "prod-only"
    );
    assert_eq!(
        match_definition(&c, &req("payments", None), prod)
            .unwrap()
            .name,
        "prod-payments"
    );
    assert_eq!(
        match_definition(&c, &req("payments", Some("main-cache")), prod)
            .unwrap()
            .name,
        "shared"
    );
    // Compose has no redis definition here.
    let e = match_definition(&c, &req("shop", None), &c.environments["local"]).unwrap_err();
    assert!(matches!(e, MatchError::NoMatch { .. }), "{e}");
    assert!(e.to_string().contains("generic (kubernetes)"), "{e}");
    let e = match_definition(
        &c,
        &ResourceRequest {
            kind: "mongodb",
            class: None,
            id: None,
            app: "x",
        },
        dev,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "resource type \"mongodb\" is unknown to this platform; known types: redis"
    );
}

/// A redis request of `shop` with a class and an id.
fn classed<'a>(class: Option<&'a str>, id: Option<&'a str>) -> ResourceRequest<'a> {
    ResourceRequest {
        kind: "redis",
        class,
        id,
        app: "shop",
    }
}

#[test]
fn a_definition_without_a_class_provides_every_class() {
    let c = config(
        &[
            def("any-class", ""),
            def("large", "  class: large\n"),
            def(
                "large-prod",
                "  class: large\n  criteria:\n    - environment: prod\n",
            ),
            def("shared", "  id: main-cache\n"),
        ]
        .concat(),
    );
    let (dev, prod) = (&c.environments["dev"], &c.environments["prod"]);
    let chosen = |r: ResourceRequest<'_>, env| match_definition(&c, &r, env).unwrap().name.clone();
    // (class, id, environment) → the definition chosen.
    assert_eq!(chosen(classed(Some("small"), None), dev), "any-class");
    assert_eq!(chosen(classed(None, None), dev), "any-class");
    assert_eq!(chosen(classed(Some("default"), None), dev), "any-class");
    assert_eq!(chosen(classed(Some("large"), None), dev), "large");
    assert_eq!(chosen(classed(Some("large"), None), prod), "large-prod");
    // The resource's own class wins over anything a class-less definition says (an id here).
    assert_eq!(
        chosen(classed(Some("large"), Some("main-cache")), dev),
        "large"
    );
    assert_eq!(
        chosen(classed(Some("small"), Some("main-cache")), dev),
        "shared"
    );

    // Definitions only for other classes provide nothing, and the error says which exist.
    let c = config(&def("large", "  class: large\n"));
    let e = match_definition(&c, &classed(Some("small"), None), &c.environments["dev"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("type \"redis\" class \"small\""), "{e}");
    assert!(e.contains("large (kubernetes, class large)"), "{e}");
}

#[test]
fn equally_specific_definitions_are_an_error() {
    let c = config(
        &[
            def("a", "  criteria:\n    - environment: dev\n"),
            def("b", "  criteria:\n    - environment: dev\n"),
        ]
        .concat(),
    );
    let e = match_definition(&c, &req("shop", None), &c.environments["dev"]).unwrap_err();
    assert_eq!(
        e,
        MatchError::Ambiguous {
            kind: "redis".into(),
            env: "dev".into(),
            names: "a, b".into()
        }
    );
}

#[test]
fn configuration_errors_are_located() {
    let bad = "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: x\nspec:\n  type: redis\n  target: nomad\n  template: a\n";
    let e = load_config(&[("bad.yaml".into(), bad.into())], &Limits::default()).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].line, e[0].path.as_str(), e[0].rule.as_str()),
        (Some(7), "spec.target", "config.schema")
    );
    assert!(
        e[0].message.contains("unknown variant `nomad`"),
        "{}",
        e[0].message
    );
    let both = "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: x\nspec:\n  type: redis\n  target: compose\n";
    let e = load_config(&[("b.yaml".into(), both.into())], &Limits::default()).unwrap_err();
    assert_eq!(e[0].rule, "definition.provisioner");
}

fn postgres_request<'a>(
    c: &'a socle_platform::PlatformConfig,
    env: &'a str,
    r: &'a socle_score::Resource,
    uid: &'a str,
    state: serde_json::Map<String, serde_json::Value>,
    seed: u64,
) -> (
    socle_platform::Provisioned,
    &'a socle_platform::ResourceDefinition,
) {
    let env = &c.environments[env];
    let d = match_definition(
        c,
        &ResourceRequest {
            kind: "postgres",
            class: None,
            id: None,
            app: "shop",
        },
        env,
    )
    .unwrap();
    let p = provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "db",
            resource: r,
            params: json!({}),
            env,
            uid,
            state,
            seed,
            workloads: &Default::default(),
            requested: vec![],
        },
        &Limits::default(),
    )
    .unwrap();
    (p, d)
}

#[test]
fn postgres_is_provisioned_with_stable_credentials() {
    let c = default_config();
    let r = socle_score::Resource {
        kind: "postgres".into(),
        class: None,
        id: None,
        metadata: None,
        params: None,
    };
    let uid = resource_uid("shop", "db", &r);
    assert_eq!(uid, resource_uid("shop", "db", &r));
    assert!(uid.starts_with("shop-db-"), "{uid}");
    let (first, _) = postgres_request(&c, "local", &r, &uid, Default::default(), 1);
    assert_eq!(first.outputs["host"], json!(uid));
    assert_eq!(first.outputs["port"], json!(5432));
    assert_eq!(first.secrets.iter().collect::<Vec<_>>(), ["password"]);
    let pw = first.outputs["password"].as_str().unwrap().to_owned();
    assert_eq!(pw.len(), 24);
    assert!(first.compose.services.contains_key(&uid));
    assert!(first.compose.volumes.contains_key(&format!("{uid}-data")));
    // The same seed gives the same result; a new seed with the kept state keeps the credentials.
    let (again, _) = postgres_request(&c, "local", &r, &uid, Default::default(), 1);
    assert_eq!(again, first);
    let (next, _) = postgres_request(&c, "local", &r, &uid, first.state.clone(), 99);
    assert_eq!(next.outputs["password"], json!(pw));
    // Kubernetes: the password is referenced from a Secret, never written in a manifest.
    let (k8s, d) = postgres_request(&c, "dev", &r, &uid, Default::default(), 7);
    assert_eq!(d.name, "postgres-kubernetes");
    let text = serde_json::to_string(&k8s.manifests).unwrap();
    assert!(!text.contains(k8s.outputs["password"].as_str().unwrap()));
    assert!(text.contains("secretKeyRef"));
    assert_eq!(
        k8s.outputs["host"],
        json!(format!("{uid}.dev.svc.cluster.local"))
    );
}

#[test]
fn template_failures_are_bounded_and_explained() {
    let looping = "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: loop\nspec:\n  type: redis\n  target: kubernetes\n  template: |\n    {% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\n";
    let c = config(looping);
    let r = socle_score::Resource {
        kind: "redis".into(),
        class: None,
        id: None,
        metadata: None,
        params: None,
    };
    let env = &c.environments["dev"];
    let d = match_definition(&c, &req("shop", None), env).unwrap();
    let e = provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "cache",
            resource: &r,
            params: json!({}),
            env,
            uid: "u",
            state: Default::default(),
            seed: 1,
            workloads: &Default::default(),
            requested: vec![],
        },
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("fuel"), "{e}");
    let undefined = def("undef", "").replace("host: undef", "host: {{ resource.params.nope }}");
    let c = config(&undefined);
    let d = match_definition(&c, &req("shop", None), &c.environments["dev"]).unwrap();
    let e = provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "cache",
            resource: &r,
            params: json!({}),
            env: &c.environments["dev"],
            uid: "u",
            state: Default::default(),
            seed: 1,
            workloads: &Default::default(),
            requested: vec![],
        },
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with(
            "resource definition undef (defs.yaml:1): template error: line 2 of the template"
        ),
        "{e}"
    );
}

/// Provisions a redis resource of `shop` with a definition whose template is `template`, in dev.
fn provision_template(
    template: &str,
    params: serde_json::Value,
) -> Result<socle_platform::Provisioned, socle_platform::ProvisionError> {
    let text = format!(
        "apiVersion: socle.dev/v1alpha1\nkind: ResourceDefinition\nmetadata:\n  name: t\nspec:\n  type: redis\n  target: kubernetes\n  template: |\n{}",
        template
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    let c = config(&text);
    let r = socle_score::Resource {
        kind: "redis".into(),
        class: None,
        id: None,
        metadata: None,
        params: Some(params.clone()),
    };
    let env = &c.environments["dev"];
    let d = match_definition(&c, &req("shop", None), env).unwrap();
    provision(
        d,
        &ProvisionRequest {
            workload: "shop",
            name: "cache",
            resource: &r,
            params,
            env,
            uid: "u",
            state: Default::default(),
            seed: 1,
            workloads: &Default::default(),
            requested: vec![],
        },
        &Limits::default(),
    )
}

#[test]
fn a_template_error_names_the_missing_variable() {
    // (template, the variable the error must name): alone, inside a quoted string or a longer
    // plain scalar (escaped by socle-escape), under a filter, in a loop or a condition, through
    // an alias, as a default.
    let cases = [
        (
            "outputs:\n  host: {{ resource.params.host }}\n",
            "resource.params.host",
        ),
        (
            "outputs:\n  url: \"{{ resource.params.host }}:6379\"\n",
            "resource.params.host",
        ),
        (
            "outputs:\n  url: redis-{{ resource.params.host }}\n",
            "resource.params.host",
        ),
        (
            "outputs:\n  port: {{ (resource.params.port | int) | tojson }}\n",
            "resource.params.port",
        ),
        (
            "{% for h in resource.params.hosts %}{% endfor %}outputs: {}\n",
            "resource.params.hosts",
        ),
        (
            "{% if resource.params.tls %}{% endif %}outputs: {}\n",
            "resource.params.tls",
        ),
        (
            "{% set p = resource.params %}outputs:\n  host: {{ p.host ~ '.svc' }}\n",
            "p.host",
        ),
        (
            "outputs:\n  host: {{ resource.params.host | default(state.host) }}\n",
            "state.host",
        ),
    ];
    for (template, variable) in cases {
        let e = provision_template(template, json!({}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("resource definition t (defs.yaml:1): template error: line "),
            "{template}: {e}"
        );
        assert!(
            e.contains(&format!("`{variable}` is undefined")),
            "{template}: {e}"
        );
    }
    // With the value given, the same templates render.
    let params = json!({"host": "h", "port": "1", "hosts": [], "tls": false});
    for (template, _) in &cases[..6] {
        provision_template(template, params.clone()).unwrap_or_else(|e| panic!("{template}: {e}"));
    }
}
