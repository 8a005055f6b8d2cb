//! Resolution errors name the workload, the field and what is available.

use std::collections::BTreeMap;

use socle_catalog::Limits;
use socle_platform::{ResolveInput, default_config, resolve};

fn run(
    score: &str,
    env: &str,
) -> Result<socle_platform::Resolution, Vec<socle_platform::ResolveError>> {
    let w = socle_score::parse_workload(score, "score.yaml", &Limits::default()).unwrap();
    let config = default_config();
    resolve(&ResolveInput {
        workloads: &[w],
        env: &config.environments[env],
        config: &config,
        state: &BTreeMap::new(),
        seed: 3,
        limits: &Limits::default(),
        runner: None,
    })
}

#[test]
fn placeholder_to_a_missing_output() {
    let e = run("apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: app\n    variables:\n      X: ${resources.db.hostname}\nresources:\n  db:\n    type: postgres\n", "local").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(
        (
            e[0].workload.as_str(),
            e[0].path.as_str(),
            e[0].rule.as_str()
        ),
        (
            "api",
            "containers.main.variables.X",
            "placeholder.unresolved"
        )
    );
    assert_eq!(
        e[0].message,
        "${resources.db.hostname}: resource \"db\" (postgres, definition postgres-compose) has no output \"hostname\"; its outputs are: database, host, name, password, port, username"
    );
}

#[test]
fn unknown_type_and_shared_resources() {
    let e = run("apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: app\nresources:\n  queue:\n    type: rabbitmq\n", "dev").unwrap_err();
    assert_eq!(e[0].rule, "resources.match");
    assert!(
        e[0].message.starts_with(
            "resource type \"rabbitmq\" is unknown to this platform; known types: amqp,"
        ),
        "{}",
        e[0].message
    );
    // Two workloads sharing a resource by id get one resource with the same outputs.
    let a = socle_score::parse_workload("apiVersion: score.dev/v1b1\nmetadata:\n  name: aa\ncontainers:\n  main:\n    image: app\n    variables:\n      R: ${resources.cc.host}\nresources:\n  cc:\n    type: redis\n    id: shared-cache\n", "a", &Limits::default()).unwrap();
    let b = socle_score::parse_workload("apiVersion: score.dev/v1b1\nmetadata:\n  name: bb\ncontainers:\n  main:\n    image: app\n    variables:\n      R: ${resources.cache.host}\nresources:\n  cache:\n    type: redis\n    id: shared-cache\n", "b", &Limits::default()).unwrap();
    let config = default_config();
    let res = resolve(&ResolveInput {
        workloads: &[a, b],
        env: &config.environments["local"],
        config: &config,
        state: &BTreeMap::new(),
        seed: 3,
        limits: &Limits::default(),
        runner: None,
    })
    .unwrap();
    assert_eq!(res.resources.len(), 1);
    let r = res.resources.values().next().unwrap();
    assert_eq!(r.used_by.iter().collect::<Vec<_>>(), ["aa", "bb"]);
    assert_eq!(
        res.workloads[0].containers["main"].variables["R"].plain(),
        res.workloads[1].containers["main"].variables["R"].plain()
    );
}
