//! `socle-bench replicas`: two `socle serve` processes (replicas) on one PostgreSQL schema.
//!
//! 1. GET by ref and search throughput: the same load (`--connections` kept-alive connections,
//!    `wrk`) through one replica, then split over both at once (half the connections each).
//! 2. Convergence after a catalog change: a location re-read through replica A (its answer
//!    means the change is committed), then replica B polled until it serves the change; many
//!    samples, each after a pseudo-random pause so that they fall anywhere in B's poll period.
//! 3. Single sign-on round trip (`replicas_sso.rs`): Socle's `/auth/oidc/start` and
//!    `/auth/oidc/callback` against the real `oidc-provider` of `e2e/`, begun on one replica and
//!    finished on the other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_store::{Role, Store};

use crate::output::{self, Format};
use crate::replicas_sso::{self, SignIns};
use crate::server::{Load, Server, ServerExtras, StoreLocation};

#[derive(Args)]
pub struct ReplicasBench {
    /// The PostgreSQL both replicas share (the run gets a schema of its own, left behind).
    #[arg(
        long,
        env = "SOCLE_BENCH_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    database_url: String,
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 10_000)]
    entities: usize,
    /// GET-by-ref requests per run (one replica, then both).
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Search requests per run.
    #[arg(long, default_value_t = 3_000)]
    searches: usize,
    /// Kept-alive connections per run (split over the replicas when both serve).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Convergence samples (a change through A, seen through B).
    #[arg(long, default_value_t = 60)]
    samples: usize,
    /// Single sign-on rounds (0: none).
    #[arg(long, default_value_t = 30)]
    sign_ins: usize,
    /// The directory holding `oidc/provider.mjs` and its `node_modules` (`npm ci`).
    #[arg(long, default_value = "e2e")]
    e2e: PathBuf,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

/// Both replicas loaded at once, each with half the connections.
#[derive(Serialize)]
struct Both {
    /// The two replicas' rates added (they run over the same period).
    requests_per_second: f64,
    a: Load,
    b: Load,
}

#[derive(Serialize)]
struct Convergence {
    samples: usize,
    /// From replica A's answer to the refresh (committed) to replica B serving the change.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// From the refresh request sent to A to B serving the change.
    from_request_p99_ms: f64,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    backend: &'static str,
    connections: usize,
    get_by_ref_one: Load,
    get_by_ref_both: Both,
    search_one: Load,
    search_both: Both,
    convergence: Convergence,
    sign_in: SignIns,
}

pub async fn replicas(
    args: ReplicasBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, 500)?;
    eprintln!("generated {} entities; ingesting…", org.entities);
    let location = StoreLocation::new(work.path().join("data"), Some(&args.database_url));
    let store = Store::open(&location.config()).await?;
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let (_, token) = store
        .create_token(
            "bench",
            "serviceaccount:bench",
            Role::Admin,
            socle_api::now_ms(),
        )
        .await?;
    let refs = refs_of(&store).await?;
    store.close().await;

    let provider = replicas_sso::provider(&args.e2e, args.sign_ins)?;
    let extras = |name: &str| ServerExtras {
        name: Some(name.to_owned()),
        args: provider
            .as_ref()
            .map(replicas_sso::Provider::serve_args)
            .unwrap_or_default(),
        env: provider
            .as_ref()
            .map(replicas_sso::Provider::serve_env)
            .unwrap_or_default(),
    };
    // One after the other: the first creates the data directory's files (the store's key).
    let a = Server::start_with(&socle, &location, work.path(), &extras("replica-a"))?;
    let b = Server::start_with(&socle, &location, work.path(), &extras("replica-b"))?;

    let c = args.connections.max(2);
    eprintln!("GET by ref: {} requests, {c} connections…", args.requests);
    let get_by_ref_one = crate::server::wrk(a.addr, &refs, &[], args.requests, c)?;
    let get_by_ref_both = both(&a, &b, &refs, args.requests, c)?;
    let searches = search_paths();
    eprintln!("search: {} requests, {c} connections…", args.searches);
    let search_one = crate::server::wrk(a.addr, &searches, &[], args.searches, c)?;
    let search_both = both(&a, &b, &searches, args.searches, c)?;
    eprintln!("convergence: {} samples…", args.samples);
    let convergence = converge(&a, &b, &token, work.path(), args.samples).await?;
    let sign_in = match &provider {
        Some(p) => replicas_sso::sign_ins(p, &a, &b, args.sign_ins).await?,
        None => SignIns::skipped(&args.e2e, args.sign_ins),
    };
    let report = Report {
        entities: org.entities,
        backend: "postgres",
        connections: c,
        get_by_ref_one,
        get_by_ref_both,
        search_one,
        search_both,
        convergence,
        sign_in,
    };
    output::print(args.output, &report, table)?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Up to 5,000 entities' GET paths, spread over the catalog.
async fn refs_of(store: &Store) -> anyhow::Result<Vec<String>> {
    let (snap, _, _) = socle_app::snapshot::load(store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = snap.len();
    Ok(snap
        .entities
        .iter()
        .step_by((n / 5000).max(1))
        .map(|e| {
            let r = &e.entity_ref;
            let (kind, rest) = r.split_once(':').unwrap_or(("component", r));
            format!("/api/v1/entities/{kind}/{rest}")
        })
        .collect())
}

fn search_paths() -> Vec<String> {
    [
        "payments",
        "orders svc",
        "billing",
        "paym",
        "ledger",
        "rout",
    ]
    .iter()
    .flat_map(|w| {
        let q = w.replace(' ', "%20");
        [
            format!("/api/v1/search?q={q}"),
            format!("/api/v1/search?q={q}&kind=component&lifecycle=production"),
        ]
    })
    .collect()
}

/// The same load split over both replicas at once (two wrk processes).
fn both(
    a: &Server,
    b: &Server,
    paths: &[String],
    requests: usize,
    connections: usize,
) -> anyhow::Result<Both> {
    let half = (requests / 2).max(1);
    let conns = (connections / 2).max(1);
    let (la, lb) = std::thread::scope(|s| {
        let ta = s.spawn(|| crate::server::wrk(a.addr, paths, &[], half, conns));
        let tb = s.spawn(|| crate::server::wrk(b.addr, paths, &[], half, conns));
        (ta.join(), tb.join())
    });
    let la = la.map_err(|_| anyhow::anyhow!("wrk thread panicked"))??;
    let lb = lb.map_err(|_| anyhow::anyhow!("wrk thread panicked"))??;
    Ok(Both {
        requests_per_second: la.requests_per_second + lb.requests_per_second,
        a: la,
        b: lb,
    })
}

const PROBE: &str = "/api/v1/entities/component/default/convergence-probe";

fn probe_file(dir: &Path, sample: usize) -> anyhow::Result<()> {
    std::fs::write(
        dir.join("catalog-info.yaml"),
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: convergence-probe\n  description: convergence sample {sample}.\nspec: {{type: service, lifecycle: production, owner: group-0}}\n"
        ),
    )?;
    Ok(())
}

async fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> socle_testkit::Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    socle_testkit::request(server.addr, method, path, &headers, body).await
}

/// Changes through A, seen through B: `samples` times.
async fn converge(
    a: &Server,
    b: &Server,
    token: &str,
    work: &Path,
    samples: usize,
) -> anyhow::Result<Convergence> {
    let dir = work.join("convergence");
    std::fs::create_dir_all(&dir)?;
    probe_file(&dir, 0)?;
    let target = dir.canonicalize()?.to_string_lossy().into_owned();
    let created = call(
        a,
        "POST",
        "/api/v1/locations",
        token,
        Some(serde_json::json!({"type": "file", "target": target})),
    )
    .await;
    anyhow::ensure!(created.status == 201, "register: {}", created.body);
    let v: serde_json::Value = serde_json::from_str(&created.body)?;
    let id = v["location"]["id"]
        .as_str()
        .context("the location's id")?
        .to_owned();
    let refresh = format!("/api/v1/locations/{id}/refresh");
    let (mut after_commit, mut after_request) = (Vec::new(), Vec::new());
    let mut seed: u64 = 0x5eed;
    for sample in 1..=samples {
        // A pause of 0-1 s: samples fall anywhere in B's poll period.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        tokio::time::sleep(Duration::from_millis((seed >> 33) % 1000)).await;
        probe_file(&dir, sample)?;
        let sent = Instant::now();
        let r = call(a, "POST", &refresh, token, None).await;
        anyhow::ensure!(r.status == 200, "refresh: {}", r.body);
        let committed = Instant::now();
        let want = format!("convergence sample {sample}.");
        loop {
            let seen = socle_testkit::request(b.addr, "GET", PROBE, &[], Vec::new()).await;
            if seen.status == 200 && seen.body.contains(&want) {
                break;
            }
            anyhow::ensure!(
                committed.elapsed() < Duration::from_secs(60),
                "replica B did not serve sample {sample} within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        after_commit.push(committed.elapsed());
        after_request.push(sent.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(Convergence {
        samples,
        p50_ms: ms(percentile(&mut after_commit, 50.0)),
        p99_ms: ms(percentile(&mut after_commit, 99.0)),
        max_ms: ms(percentile(&mut after_commit, 100.0)),
        from_request_p99_ms: ms(percentile(&mut after_request, 99.0)),
    })
}

/// The nearest-rank percentile of `values` (sorted in place).
pub fn percentile(values: &mut [Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort_unstable();
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn load_line(name: &str, l: &Load) -> String {
    format!(
        "  {name:<28} {:>8.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests, {} errors)\n",
        l.requests_per_second, l.p50_ms, l.p99_ms, l.requests, l.errors
    )
}

fn table(r: &Report) -> String {
    let mut s = format!(
        "replicas benchmark ({} entities, PostgreSQL, {} connections per run)\n",
        r.entities, r.connections
    );
    for (what, one, both) in [
        ("GET by ref", &r.get_by_ref_one, &r.get_by_ref_both),
        ("search", &r.search_one, &r.search_both),
    ] {
        s.push_str(&load_line(&format!("{what}, one replica"), one));
        s.push_str(&format!(
            "  {:<28} {:>8.0} req/s in all\n",
            format!("{what}, both replicas"),
            both.requests_per_second
        ));
        s.push_str(&load_line("    replica A", &both.a));
        s.push_str(&load_line("    replica B", &both.b));
    }
    let c = &r.convergence;
    s.push_str(&format!(
        "  convergence (A → B)          p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} samples (p99 {:.0} ms from the request)\n",
        c.p50_ms, c.p99_ms, c.max_ms, c.samples, c.from_request_p99_ms
    ));
    s.push_str(&r.sign_in.table());
    s
}
