//! `socle bench catalog`: ingest a generated organisation to a fully related, queryable catalog,
//! then load the HTTP API over loopback and report throughput and latency percentiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::Serialize;
use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_store::{Store, StoreConfig};

use crate::output::{self, Format};

#[derive(Args)]
pub struct CatalogBench {
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 10_000)]
    entities: usize,
    /// Entities per generated file.
    #[arg(long, default_value_t = 500)]
    per_file: usize,
    /// GET-by-ref requests to send.
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Search requests to send.
    #[arg(long, default_value_t = 5_000)]
    searches: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Benchmark PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "SOCLE_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    relations: usize,
    backend: String,
    ingest_seconds: f64,
    read_model_seconds: f64,
    total_seconds: f64,
    entities_per_second: f64,
    get_by_ref: Load,
    search: Load,
    peak_rss_mb: f64,
}

#[derive(Serialize)]
struct Load {
    requests: usize,
    errors: usize,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// A memory figure of this process from `/proc/self/status`, in MB (`VmRSS`, `VmHWM`).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub fn current_rss_mb() -> f64 {
    status_mb("VmRSS:")
}

pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

async fn load(
    addr: std::net::SocketAddr,
    paths: Arc<Vec<String>>,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<Load> {
    let started = Instant::now();
    let per = total.div_ceil(concurrency.max(1));
    let mut tasks = Vec::new();
    for c in 0..concurrency.max(1) {
        let paths = paths.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut lat = Vec::with_capacity(per);
            let mut errors = 0usize;
            for i in 0..per {
                let path = &paths[(c * per + i) % paths.len()];
                let req = hyper::Request::get(path.as_str())
                    .header("host", "bench")
                    .body(Empty::<Bytes>::new())?;
                let t = Instant::now();
                let resp = sender.send_request(req).await?;
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await?;
                lat.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await??;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
            * 1000.0
    };
    Ok(Load {
        requests: all.len(),
        errors,
        requests_per_second: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
    })
}

/// Writes the synthetic organisation (seed 42) under `dir/org`; returns it and its root.
pub fn write_org(
    dir: &std::path::Path,
    entities: usize,
    per_file: usize,
) -> anyhow::Result<(socle_demo::SyntheticOrg, std::path::PathBuf)> {
    let org = socle_demo::generate(entities, 42, per_file);
    let src = dir.join("org");
    for (path, content) in &org.files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().context("path")?)?;
        std::fs::write(p, content)?;
    }
    Ok((org, src))
}

pub async fn catalog(args: CatalogBench) -> anyhow::Result<std::process::ExitCode> {
    let work = tempfile::tempdir()?;
    let (org, src) = write_org(work.path(), args.entities, args.per_file)?;
    eprintln!(
        "generated {} entities in {} files; ingesting…",
        org.entities,
        org.files.len()
    );
    let mut config = StoreConfig::new(work.path().join("data"), args.database_url.clone());
    if args.database_url.is_some() {
        config.pg_schema = Some(format!("socle_bench_{}", std::process::id()));
    }
    let store = Store::open(&config).await?;

    let started = Instant::now();
    let spec = LocationSpec::file(src.join("catalog-info.yaml").to_string_lossy().into_owned());
    let out = crate::cli::ingest(
        &store,
        &spec,
        &Limits::default(),
        args.output == Format::Table,
    )
    .await?;
    let ingest = started.elapsed();
    let rss_after_ingest = peak_rss_mb();
    eprintln!(
        "ingested in {:.2} s, peak RSS so far {rss_after_ingest:.0} MB, current {:.0} MB",
        ingest.as_secs_f64(),
        current_rss_mb()
    );
    anyhow::ensure!(
        out.errors.is_empty(),
        "the generated organisation has errors: {:?}",
        out.errors.first()
    );
    let t = Instant::now();
    let state = socle_api::AppState::new(
        store.clone(),
        socle_api::ServerConfig {
            refresh_interval: None,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let read_model = t.elapsed();
    eprintln!(
        "read model built in {:.2} s, peak RSS so far {:.0} MB, current {:.0} MB",
        read_model.as_secs_f64(),
        peak_rss_mb(),
        current_rss_mb()
    );
    let total = started.elapsed();
    let snap = state.snapshot();
    let entities = snap.len();
    let relations = snap.relation_count();
    let refs: Vec<String> = snap
        .entities
        .iter()
        .map(|e| &e.entity_ref)
        .step_by((entities / 5000).max(1))
        .map(|r| {
            let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
            format!("/api/v1/entities/{kind}/{rest}")
        })
        .collect();
    drop(snap);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(socle_api::serve(state.clone(), listener, async {
        let _ = stop_rx.await;
    }));
    eprintln!(
        "loading http://{addr} with {} connections…",
        args.concurrency
    );
    let get = load(addr, Arc::new(refs), args.requests, args.concurrency).await?;
    let words = [
        "payments",
        "orders svc",
        "search",
        "billing",
        "paym",
        "identity python",
        "ledger",
        "rout",
        "catalog service",
        "fraud",
    ];
    let searches: Vec<String> = words
        .iter()
        .flat_map(|w| {
            let q = w.replace(' ', "%20");
            [
                format!("/api/v1/search?q={q}"),
                format!("/api/v1/search?q={q}&kind=component&lifecycle=production"),
            ]
        })
        .collect();
    let search = load(addr, Arc::new(searches), args.searches, args.concurrency).await?;
    let _ = stop_tx.send(());
    let _ = server.await;

    let report = Report {
        entities,
        relations,
        backend: store.backend_name().into(),
        ingest_seconds: ingest.as_secs_f64(),
        read_model_seconds: read_model.as_secs_f64(),
        total_seconds: total.as_secs_f64(),
        entities_per_second: entities as f64 / total.as_secs_f64(),
        get_by_ref: get,
        search,
        peak_rss_mb: peak_rss_mb(),
    };
    output::print(args.output, &report, |r| {
        let mut s = String::new();
        s.push_str(&format!("catalog benchmark ({} backend)\n", r.backend));
        s.push_str(&format!("  entities                 {}\n", r.entities));
        s.push_str(&format!("  relations (both ways)    {}\n", r.relations));
        s.push_str(&format!(
            "  ingest to store          {:.2} s\n",
            r.ingest_seconds
        ));
        s.push_str(&format!(
            "  read model + search idx  {:.2} s\n",
            r.read_model_seconds
        ));
        s.push_str(&format!(
            "  fully related, queryable {:.2} s ({:.0} entities/s)\n",
            r.total_seconds, r.entities_per_second
        ));
        for (name, l) in [("GET by ref", &r.get_by_ref), ("search", &r.search)] {
            s.push_str(&format!(
                "  {name:<24} {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} requests, {} errors)\n",
                l.requests_per_second, l.p50_ms, l.p99_ms, l.max_ms, l.requests, l.errors
            ));
        }
        s.push_str(&format!(
            "  peak RSS                 {:.0} MB\n",
            r.peak_rss_mb
        ));
        s
    })?;
    if args.database_url.is_some() {
        store.close().await;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

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
