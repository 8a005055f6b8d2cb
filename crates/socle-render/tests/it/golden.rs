//! Golden files: each case under `tests/data/<case>/` holds Score workloads (`*.score.yaml`) and
//! what the renderers make of them with the default platform configuration — `compose/` (the
//! `local` environment: `compose.yaml` and the files beside it) and `kubernetes/` (the `dev`
//! environment: one manifest per file). Compared byte for byte; `SOCLE_BLESS=1` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use socle_catalog::Limits;
use socle_golden::Golden;
use socle_platform::{PlatformConfig, Resolution, ResolveInput, default_config, resolve};
use socle_render::{
    ComposeOptions, KubernetesOptions, Ownership, render_compose, render_kubernetes, to_yaml_files,
};

/// Resolution's randomness (generated passwords) comes only from this seed.
const SEED: u64 = 7;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/data")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// The case's workloads, from its `*.score.yaml` files in name order.
fn workloads(case: &Path) -> Vec<socle_score::Workload> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".score.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no *.score.yaml", case.display());
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let name = f.file_name().unwrap().to_string_lossy();
            socle_score::parse_workload(&text, &name, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()))
        })
        .collect()
}

/// Files named by `source` inlined (read relative to the case), as the deploy pipeline does
/// before it renders Kubernetes (`socle_deploy::inline_file_sources`).
fn inline_sources(case: &Path, workloads: &mut [socle_score::Workload]) {
    for w in workloads {
        for c in w.containers.values_mut() {
            for f in c.files.values_mut() {
                if let Some(src) = f.source.take() {
                    f.content = Some(std::fs::read_to_string(case.join(src)).unwrap());
                    f.no_expand = true;
                }
            }
        }
    }
}

fn resolved(case: &Path, config: &PlatformConfig, env: &str) -> Resolution {
    let mut w = workloads(case);
    if env != "local" {
        inline_sources(case, &mut w);
    }
    resolve(&ResolveInput {
        workloads: &w,
        env: &config.environments[env],
        config,
        state: &BTreeMap::new(),
        seed: SEED,
        limits: &Limits::default(),
        runner: None,
    })
    .unwrap_or_else(|e| panic!("{}: {e:?}", case.display()))
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn compose_output_matches_the_golden_files() {
    let config = default_config();
    let mut golden = Golden::new();
    for case in cases() {
        let res = resolved(&case, &config, "local");
        let opts = ComposeOptions {
            project: name(&case),
            publish: Vec::new(),
            mounts_dir: "mounts".into(),
        };
        // A container file's `source` is read relative to the case's directory.
        let dir = case.clone();
        let read = move |_workload: &str, source: &str| {
            let path = dir.join(source);
            std::fs::read(&path).map_err(|source| socle_render::SourceReadError { path, source })
        };
        let (compose, rendered) = render_compose(&res, &opts, &read)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let mut files = rendered.files;
        files.insert("compose.yaml".into(), compose.into_bytes());
        golden.check_dir(&case.join("compose"), &files);
    }
    golden.finish();
}

/// Credentials live in `.env` only: no secret value of any case appears in its compose.yaml,
/// the resources' own services (a database's password, a cache's `--requirepass`) included.
#[test]
fn compose_yaml_holds_no_secret_value() {
    let config = default_config();
    let mut checked = 0;
    for case in cases() {
        let res = resolved(&case, &config, "local");
        let opts = ComposeOptions {
            project: name(&case),
            publish: Vec::new(),
            mounts_dir: "mounts".into(),
        };
        let dir = case.clone();
        let read = move |_workload: &str, source: &str| {
            let path = dir.join(source);
            std::fs::read(&path).map_err(|source| socle_render::SourceReadError { path, source })
        };
        let (compose, _) = render_compose(&res, &opts, &read).unwrap();
        for r in res.resources.values() {
            for k in &r.secrets {
                let Some(v) = r.outputs.get(k).and_then(|v| v.as_str()) else {
                    continue;
                };
                assert!(
                    !compose.contains(v),
                    "{}: {}'s {k} is in compose.yaml",
                    case.display(),
                    r.uid
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "the cases have secret outputs to check");
}

#[test]
fn kubernetes_output_matches_the_golden_files() {
    let config = default_config();
    let mut golden = Golden::new();
    for case in cases() {
        let res = resolved(&case, &config, "dev");
        let ownership = res
            .workloads
            .iter()
            .map(|rw| {
                let n = rw.workload.name().to_owned();
                let own = Ownership {
                    entity: Some(format!("component:default/{n}")),
                    team: Some("group:default/team-a".into()),
                };
                (n, own)
            })
            .collect();
        let opts = KubernetesOptions {
            secret_store: "socle-dev".into(),
            ownership,
        };
        let manifests = render_kubernetes(&res, &config.environments["dev"], &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let files: BTreeMap<String, Vec<u8>> = to_yaml_files(&manifests)
            .unwrap()
            .into_iter()
            .map(|(p, t)| (p, t.into_bytes()))
            .collect();
        golden.check_dir(&case.join("kubernetes"), &files);
    }
    golden.finish();
}
