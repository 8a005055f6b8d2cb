//! score-compose's examples 01–05, 07, 08: our Compose output is equivalent to what
//! score-compose's tests expect (`conformance/score/compose-examples/expected/`): same
//! services, images, commands, environment (with `$$` escaping), ports, volumes, healthchecks,
//! hostnames and network sharing. Generated names (random suffixes) and annotations aside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_catalog::Limits;
use socle_platform::{ResolveInput, default_config, resolve};
use socle_render::{ComposeOptions, Publish, render_compose};

fn corpus() -> Option<PathBuf> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/score/compose-examples");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
        "conformance corpus missing"
    );
    None
}

fn yaml(text: &str) -> Value {
    let docs = socle_catalog::yaml::parse_documents(text, &Limits::default()).unwrap();
    docs[0].to_json()
}

fn generate(
    dir: &Path,
    files: &[&str],
    publish: &[&str],
    tweak: impl Fn(&mut socle_score::Workload),
) -> (Value, BTreeMap<String, Vec<u8>>, String) {
    let mut workloads = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let mut w = socle_score::parse_workload(&text, f, &Limits::default()).unwrap();
        tweak(&mut w);
        workloads.push(w);
    }
    let config = default_config();
    let env = &config.environments["local"];
    let res = resolve(&ResolveInput {
        workloads: &workloads,
        env,
        config: &config,
        state: &BTreeMap::new(),
        seed: 0,
        limits: &Limits::default(),
        runner: None,
    })
    .unwrap_or_else(|e| panic!("{}: {e:#?}", dir.display()));
    let opts = ComposeOptions {
        project: dir.file_name().unwrap().to_string_lossy().into_owned(),
        publish: publish
            .iter()
            .map(|p| p.parse::<Publish>().unwrap())
            .collect(),
        mounts_dir: ".socle/mounts".into(),
    };
    let read = |_: &str, src: &str| {
        let path = dir.join(src);
        std::fs::read(&path).map_err(|source| socle_render::SourceReadError { path, source })
    };
    let (text, files) = render_compose(&res, &opts, &read).unwrap();
    // Deterministic: the same inputs give the same bytes.
    let (again, _) = render_compose(&res, &opts, &read).unwrap();
    assert_eq!(text, again);
    (yaml(&text), files.files, text)
}

const COMPARED: [&str; 9] = [
    "image",
    "entrypoint",
    "command",
    "environment",
    "hostname",
    "network_mode",
    "healthcheck",
    "ports",
    "depends_on",
];

fn assert_equivalent(
    name: &str,
    ours: &Value,
    expected: &Value,
    files: &BTreeMap<String, Vec<u8>>,
    dir: &Path,
) {
    assert_eq!(ours["name"], expected["name"], "{name}: project name");
    let (os, es) = (
        ours["services"].as_object().unwrap(),
        expected["services"].as_object().unwrap(),
    );
    assert_eq!(
        os.keys().collect::<Vec<_>>(),
        es.keys().collect::<Vec<_>>(),
        "{name}: services"
    );
    for (svc, e) in es {
        let o = &os[svc];
        for field in COMPARED {
            assert_eq!(
                o.get(field),
                e.get(field),
                "{name}: service {svc}, field {field}\nours: {o:#}"
            );
        }
        let (ov, ev) = (
            o["volumes"].as_array().cloned().unwrap_or_default(),
            e["volumes"].as_array().cloned().unwrap_or_default(),
        );
        assert_eq!(ov.len(), ev.len(), "{name}: {svc} volumes");
        for (a, b) in ov.iter().zip(&ev) {
            assert_eq!(
                (&a["type"], &a["target"], &a["read_only"]),
                (&b["type"], &b["target"], &b["read_only"]),
                "{name}: {svc} volume"
            );
            match a["type"].as_str() {
                Some("volume") => assert!(
                    ours["volumes"].get(a["source"].as_str().unwrap()).is_some(),
                    "{name}: volume {a} not declared"
                ),
                Some("bind") => assert!(
                    files.contains_key(a["source"].as_str().unwrap()),
                    "{name}: bind source {a} not written"
                ),
                other => panic!("{name}: unexpected volume type {other:?}"),
            }
        }
    }
    let _ = dir;
}

fn check(
    example: &str,
    files: &[&str],
    publish: &[&str],
    tweak: impl Fn(&mut socle_score::Workload),
) -> (Value, BTreeMap<String, Vec<u8>>) {
    let Some(root) = corpus() else {
        return (Value::Null, BTreeMap::new());
    };
    let dir = root.join(example);
    let (ours, written, _) = generate(&dir, files, publish, tweak);
    let expected = yaml(
        &std::fs::read_to_string(root.join(format!("expected/{example}.compose.yaml"))).unwrap(),
    );
    assert_equivalent(example, &ours, &expected, &written, &dir);
    (ours, written)
}

#[test]
fn example_01_hello() {
    check("01-hello", &["score.yaml"], &[], |_| {});
}

#[test]
fn example_02_environment() {
    check("02-environment", &["score.yaml"], &[], |_| {});
}

#[test]
fn example_03_files() {
    let (_, files) = check("03-files", &["score.yaml"], &[], |_| {});
    if files.is_empty() {
        return;
    }
    assert_eq!(
        files[".socle/mounts/files/hello-world-files-fileB.txt"],
        b"I am hello-world\n"
    );
    assert_eq!(
        files[".socle/mounts/files/hello-world-files-fileC.bin"],
        b"hello world"
    );
    assert!(!files[".socle/mounts/files/hello-world-files-fileA.txt"].is_empty());
}

#[test]
fn example_04_multiple_workloads() {
    check(
        "04-multiple-workloads",
        &["score.yaml", "score2.yaml"],
        &[],
        |_| {},
    );
}

#[test]
fn example_07_overrides() {
    check("07-overrides", &["score.yaml"], &[], |w| {
        w.containers
            .get_mut("web")
            .unwrap()
            .variables
            .insert("DEBUG".into(), "true".into());
    });
}
#[test]
fn example_05_volume_mounts() {
    check("05-volume-mounts", &["score.yaml"], &[], |_| {});
}

#[test]
fn example_08_service_port_resource() {
    check(
        "08-service-port-resource",
        &["scoreA.yaml", "scoreB.yaml"],
        &["8080:workload-a:80"],
        |_| {},
    );
}
