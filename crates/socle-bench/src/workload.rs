//! `socle-bench render`, `deploy` and `policy`: the workload path, in this process.

use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_catalog::Limits;
use socle_store::{Store, StoreConfig};

use crate::output::{self, Format};

#[derive(Args)]
pub struct RenderBench {
    /// Workloads to generate (each with a postgres, a redis and a route resource).
    #[arg(long, default_value_t = 1000)]
    workloads: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct RenderReport {
    workloads: usize,
    resources: usize,
    compose_seconds: f64,
    compose_workloads_per_second: f64,
    compose_bytes: usize,
    kubernetes_seconds: f64,
    kubernetes_workloads_per_second: f64,
    kubernetes_manifests: usize,
}

fn synthetic_workload(i: usize) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: svc-{i}\ncontainers:\n  main:\n    image: ghcr.io/acme/svc-{i}:1.0.{i}\n    variables:\n      DB_URL: postgres://${{resources.db.username}}:${{resources.db.password}}@${{resources.db.host}}:${{resources.db.port}}/${{resources.db.name}}\n      CACHE_HOST: ${{resources.cache.host}}\n      CACHE_PASSWORD: ${{resources.cache.password}}\n    readinessProbe:\n      httpGet:\n        path: /healthz\n        port: 8080\nservice:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\nresources:\n  db:\n    type: postgres\n  cache:\n    type: redis\n  route:\n    type: route\n    params:\n      host: svc-{i}.example.com\n      path: /\n      port: 80\n"
    )
}

pub fn render(args: RenderBench) -> anyhow::Result<std::process::ExitCode> {
    let limits = Limits::default();
    let workloads: Vec<socle_score::Workload> = (0..args.workloads)
        .map(|i| {
            socle_score::parse_workload(&synthetic_workload(i), "bench.yaml", &limits)
                .map_err(|e| anyhow::anyhow!("{:?}", e.first()))
        })
        .collect::<Result<_, _>>()?;
    let config = socle_platform::default_config();
    let state = Default::default();
    let t = Instant::now();
    let local = &config.environments["local"];
    let res = socle_platform::resolve(&socle_platform::ResolveInput {
        workloads: &workloads,
        env: local,
        config: &config,
        state: &state,
        seed: 1,
        limits: &limits,
        runner: None,
    })
    .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
    let opts = socle_render::ComposeOptions {
        project: "bench".into(),
        publish: vec![],
        mounts_dir: "mounts".into(),
    };
    let (compose, _) = socle_render::render_compose(&res, &opts, &|_, _| Ok(Vec::new()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let compose_time = t.elapsed();
    let t = Instant::now();
    let dev = &config.environments["dev"];
    let res = socle_platform::resolve(&socle_platform::ResolveInput {
        workloads: &workloads,
        env: dev,
        config: &config,
        state: &state,
        seed: 1,
        limits: &limits,
        runner: None,
    })
    .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
    let kopts = socle_render::KubernetesOptions {
        secret_store: "socle-dev".into(),
        ownership: Default::default(),
    };
    let manifests =
        socle_render::render_kubernetes(&res, dev, &kopts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let files = socle_render::to_yaml_files(&manifests).map_err(|e| anyhow::anyhow!("{e}"))?;
    let k8s_time = t.elapsed();
    let report = RenderReport {
        workloads: workloads.len(),
        resources: res.resources.len(),
        compose_seconds: compose_time.as_secs_f64(),
        compose_workloads_per_second: workloads.len() as f64 / compose_time.as_secs_f64(),
        compose_bytes: compose.len(),
        kubernetes_seconds: k8s_time.as_secs_f64(),
        kubernetes_workloads_per_second: workloads.len() as f64 / k8s_time.as_secs_f64(),
        kubernetes_manifests: files.len(),
    };
    output::print(args.output, &report, |r| {
        format!(
            "render benchmark: {} workloads, {} resources\n  compose     {:.2} s ({:.0} workloads/s, {} bytes)\n  kubernetes  {:.2} s ({:.0} workloads/s, {} manifests, resolve + typed objects + YAML)\n",
            r.workloads,
            r.resources,
            r.compose_seconds,
            r.compose_workloads_per_second,
            r.compose_bytes,
            r.kubernetes_seconds,
            r.kubernetes_workloads_per_second,
            r.kubernetes_manifests
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct DeployBench {
    /// Deploys to time (each changes a variable, so each makes a commit).
    #[arg(long, default_value_t = 50)]
    deploys: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct DeployReport {
    deploys: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    unchanged_redeploy_ms: f64,
    commits: usize,
}

pub async fn deploy(args: DeployBench) -> anyhow::Result<std::process::ExitCode> {
    let work = tempfile::tempdir()?;
    let mut config = StoreConfig::new(work.path().join("data"), None);
    config.secret_key = Some(socle_store::SecretKey::generate());
    let store = Store::open(&config).await?;
    let deployer = socle_deploy::Deployer {
        store,
        config: socle_platform::default_config(),
        gitops_root: work.path().to_path_buf(),
        limits: Limits::default(),
        runner: None,
        clock: None,
    };
    let text = synthetic_workload(1);
    let mut times = Vec::with_capacity(args.deploys);
    for i in 0..args.deploys {
        let mut w = socle_score::parse_workload(&text, "bench.yaml", &Limits::default())
            .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
        w.containers
            .get_mut("main")
            .context("container")?
            .variables
            .insert("RUN".into(), i.to_string());
        let req = socle_deploy::DeployRequest {
            workload: w,
            env: "dev".into(),
            image: None,
            version: None,
            source_commit: None,
            actor: "bench".into(),
            kind: "deploy".into(),
            owner: None,
        };
        let t = Instant::now();
        let d = deployer
            .deploy(req, &socle_deploy::NoGuardrails)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed());
        anyhow::ensure!(d.changed, "every benchmark deploy should commit");
    }
    // The same inputs again: no commit.
    let mut w = socle_score::parse_workload(&text, "bench.yaml", &Limits::default())
        .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
    w.containers
        .get_mut("main")
        .context("container")?
        .variables
        .insert("RUN".into(), (args.deploys - 1).to_string());
    let t = Instant::now();
    let d = deployer
        .deploy(
            socle_deploy::DeployRequest {
                workload: w,
                env: "dev".into(),
                image: None,
                version: None,
                source_commit: None,
                actor: "bench".into(),
                kind: "deploy".into(),
                owner: None,
            },
            &socle_deploy::NoGuardrails,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let unchanged = t.elapsed();
    anyhow::ensure!(!d.changed, "an identical redeploy must not commit");
    let commits =
        socle_deploy::gitops::log(&gix_open(&work.path().join("gitops/dev.git"))?, "main")
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .len();
    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    let report = DeployReport {
        deploys: times.len(),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: times
            .last()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0),
        unchanged_redeploy_ms: unchanged.as_secs_f64() * 1000.0,
        commits,
    };
    output::print(args.output, &report, |r| {
        format!(
            "deploy benchmark (1 workload, 3 resources, dev, SQLite store, bare Git repository)\n  deploys           {}\n  latency           p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (resolve → render → commit → records)\n  unchanged deploy  {:.1} ms (no commit)\n  commits           {}\n",
            r.deploys, r.p50_ms, r.p99_ms, r.max_ms, r.unchanged_redeploy_ms, r.commits
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn gix_open(path: &std::path::Path) -> anyhow::Result<gix::Repository> {
    Ok(gix::open(path)?)
}

#[derive(Args)]
pub struct PolicyBench {
    /// Evaluations of the whole pack over the workload's manifests.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct PolicyReport {
    manifests: usize,
    rules: usize,
    runs: usize,
    manifest_evaluations_per_second: f64,
    workload_checks_per_second: f64,
    guardrail_step_p50_ms: f64,
    guardrail_step_p99_ms: f64,
}

pub fn policy(args: PolicyBench) -> anyhow::Result<std::process::ExitCode> {
    let limits = Limits::default();
    let w = socle_score::parse_workload(&synthetic_workload(7), "bench.yaml", &limits)
        .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
    let config = socle_platform::default_config();
    let env = &config.environments["prod"];
    let res = socle_platform::resolve(&socle_platform::ResolveInput {
        workloads: std::slice::from_ref(&w),
        env,
        config: &config,
        state: &Default::default(),
        seed: 1,
        limits: &limits,
        runner: None,
    })
    .map_err(|e| anyhow::anyhow!("{:?}", e.first()))?;
    let manifests = socle_render::render_kubernetes(
        &res,
        env,
        &socle_render::KubernetesOptions {
            secret_store: "socle-prod".into(),
            ownership: Default::default(),
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let pack = socle_policy::PolicySet::builtin(None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let guard = socle_deploy::PolicyGuardrails {
        policies: pack.clone(),
    };
    use socle_deploy::Guardrails as _;
    let mut times = Vec::with_capacity(args.runs);
    let started = Instant::now();
    for _ in 0..args.runs {
        let t = Instant::now();
        let report = guard.check(env, &res, &manifests);
        times.push(t.elapsed());
        anyhow::ensure!(
            !report.violations.is_empty(),
            "the benchmark workload is meant to have findings"
        );
    }
    let total = started.elapsed().as_secs_f64();
    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    let report = PolicyReport {
        manifests: manifests.len(),
        rules: pack.rules().len(),
        runs: args.runs,
        manifest_evaluations_per_second: (args.runs * manifests.len()) as f64 / total,
        workload_checks_per_second: args.runs as f64 / total,
        guardrail_step_p50_ms: pct(0.5),
        guardrail_step_p99_ms: pct(0.99),
    };
    output::print(args.output, &report, |r| {
        format!(
            "guardrails benchmark: built-in pack ({} rule sets) on a workload's {} manifests (prod)\n  {:.0} manifest evaluations/s, {:.1} workload checks/s\n  guardrail step per deploy: p50 {:.1} ms, p99 {:.1} ms\n",
            r.rules,
            r.manifests,
            r.manifest_evaluations_per_second,
            r.workload_checks_per_second,
            r.guardrail_step_p50_ms,
            r.guardrail_step_p99_ms
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
