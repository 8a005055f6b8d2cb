//! `socle-bench abuse`: does the server keep serving while someone misbehaves? `socle serve`,
//! with a generated catalog and delivery history, runs as a child process and is flooded, for a
//! fixed time, with the costliest requests an anonymous client and a member may send —
//! guardrail evaluation of the most documents allowed, the longest DORA windows, searches,
//! catalog listings, location refreshes, golden-path dry runs, and the Rego bomb that once
//! killed the process (refused for them; run as an admin in the worker). Meanwhile a probe asks
//! `/healthz` every 10 ms. Reported: the probe's p50/p99/max, what each kind of request got, and
//! the server's peak RSS (`VmHWM` of the child; its Rego worker processes are not counted).
//!
//! The load comes from this process (its own client: `wrk` cannot tell the statuses of a mix
//! of request kinds apart), on its own runtime; the probe on a thread and runtime of its own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use socle_store::{Role, Store};

use crate::output::{self, Format};
use crate::server::{Server, StoreLocation};

#[derive(Args)]
pub struct AbuseBench {
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// How long the flood lasts.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent abusive clients.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize, Default, Clone)]
struct KindFigures {
    requests: u64,
    /// Status code → count.
    statuses: BTreeMap<u16, u64>,
    /// The first answer that was not a success (200 characters), to tell refusals apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

#[derive(Serialize)]
struct AbuseReport {
    entities: usize,
    seconds: u64,
    connections: usize,
    healthz_probes: usize,
    healthz_p50_ms: f64,
    healthz_p99_ms: f64,
    healthz_max_ms: f64,
    healthz_failures: usize,
    peak_rss_mb: f64,
    requests: BTreeMap<String, KindFigures>,
}

/// One kind of abusive request.
#[derive(Clone)]
struct Attack {
    name: &'static str,
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<String>,
}

pub async fn abuse(
    args: AbuseBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, 500)?;
    eprintln!("generated {} entities; ingesting…", org.entities);
    let location = StoreLocation::new(work.path().join("data"), None);
    let store = Store::open(&location.config()).await?;
    let spec = crate::setup::org_location(&src);
    crate::setup::ingest(&store, &spec).await?;
    let (member, admin, owner) = prepare(&store, work.path()).await?;
    store.close().await;
    let location_id = socle_app::locations::location_id(&spec.key());
    let server = Server::start(&socle, &location, work.path())?;
    let addr = server.addr;
    let attacks = attacks(&member, &admin, &location_id, &owner);
    eprintln!(
        "flooding http://{addr} for {} s with {} connections…",
        args.seconds, args.connections
    );
    let (connections, seconds, entities) = (args.connections, args.seconds, args.entities);
    let mut report =
        tokio::task::spawn_blocking(move || flood(addr, attacks, connections, seconds, entities))
            .await??;
    report.peak_rss_mb = server.peak_rss_mb();
    drop(server);
    output::print(args.output, &report, |r| {
        let mut t = format!(
            "/healthz under flood ({} s, {} connections, {} entities): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} failures of {} probes; server peak RSS {:.0} MB\n",
            r.seconds,
            r.connections,
            r.entities,
            r.healthz_p50_ms,
            r.healthz_p99_ms,
            r.healthz_max_ms,
            r.healthz_failures,
            r.healthz_probes,
            r.peak_rss_mb
        );
        for (name, k) in &r.requests {
            t.push_str(&format!(
                "  {name}: {} requests {:?}\n",
                k.requests, k.statuses
            ));
            if let Some(e) = &k.first_error {
                t.push_str(&format!("      first refusal: {e}\n"));
            }
        }
        t
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// A year of delivery history for 500 services, a member's and an admin's tokens; returns the
/// two secrets and a group (the golden-path run's owner).
async fn prepare(store: &Store, work: &Path) -> anyhow::Result<(String, String, String)> {
    let state = socle_api::AppState::new(
        store.clone(),
        socle_api::ServerConfig {
            refresh_interval: None,
            gitops_root: work.join("gitops"),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let snap = state.snapshot();
    let services: Vec<(String, usize)> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .take(500)
        .enumerate()
        .filter_map(|(i, e)| Some((e.entity_ref.rsplit('/').next()?.to_owned(), i % 4)))
        .collect();
    let now = socle_api::now_ms();
    let events = socle_dora::parse_jsonl(
        &socle_demo::dora_history(&services, now - now.rem_euclid(86_400_000), 365),
        "bench",
    )
    .events;
    store.dora_upsert(events).await?;
    let find = |kind: &str| {
        snap.entities
            .iter()
            .find(|e| e.kind() == kind)
            .map(|e| e.entity_ref.to_string())
            .ok_or_else(|| anyhow::anyhow!("the generated organisation has no {kind}"))
    };
    let (user, owner) = (find("user")?, find("group")?);
    drop(snap);
    let (_, member) = store
        .create_token("bench", &user, Role::Member, now)
        .await?;
    let (_, admin) = store
        .create_token("bench-admin", "serviceaccount:bench", Role::Admin, now)
        .await?;
    Ok((member, admin, owner))
}

fn attacks(member: &str, admin: &str, location: &str, owner: &str) -> Vec<Attack> {
    let documents = serde_json::json!({"documents": BIG_DEPLOYMENT.repeat(500)}).to_string();
    let bomb = serde_json::json!({"files": {"bomb.rego": RANGE_BOMB}}).to_string();
    let run = serde_json::json!({"values": {"name": "orders-api", "description": "x", "owner": owner,
        "lifecycle": "experimental", "repoUrl": "https://git.example.com/acme/orders-api"}, "dry_run": true})
    .to_string();
    let a = |name, method, path: &str, token: Option<&str>, body: Option<&String>| Attack {
        name,
        method,
        path: path.to_owned(),
        token: token.map(str::to_owned),
        body: body.cloned(),
    };
    vec![
        a(
            "anonymous policy/eval ×500 documents",
            "POST",
            "/api/v1/policy/eval",
            None,
            Some(&documents),
        ),
        a(
            "anonymous dora/report org 3 years weekly",
            "GET",
            "/api/v1/dora/report?since=1096d",
            None,
            None,
        ),
        a(
            "anonymous dora/teams 3 years",
            "GET",
            "/api/v1/dora/teams?since=1096d",
            None,
            None,
        ),
        a(
            "anonymous search one letter",
            "GET",
            "/api/v1/search?q=a&limit=100",
            None,
            None,
        ),
        a(
            "anonymous entities page 1000",
            "GET",
            "/api/v1/entities?limit=1000",
            None,
            None,
        ),
        a(
            "anonymous policy/test bomb (refused)",
            "POST",
            "/api/v1/policy/test",
            None,
            Some(&bomb),
        ),
        a(
            "member location refresh",
            "POST",
            &format!("/api/v1/locations/{location}/refresh"),
            Some(member),
            None,
        ),
        a(
            "member golden-path dry run",
            "POST",
            "/api/v1/templates/rust-axum-service/runs",
            Some(member),
            Some(&run),
        ),
        a(
            "admin policy/test bomb (worker)",
            "POST",
            "/api/v1/policy/test",
            Some(admin),
            Some(&bomb),
        ),
    ]
}

const RANGE_BOMB: &str =
    "package main\n\ntest_bomb if {\n\tcount(numbers.range(0, 1000000000000)) > 0\n}\n";
const BIG_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n          securityContext: {privileged: true}\n---\n";

fn flood(
    addr: SocketAddr,
    attacks: Vec<Attack>,
    connections: usize,
    seconds: u64,
    entities: usize,
) -> anyhow::Result<AbuseReport> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let attacks = Arc::new(attacks);
    // The probe on a thread and runtime of its own: its latency is the server's, not the time
    // it waits behind the flood's clients.
    let probe = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let health = Attack {
                    name: "healthz",
                    method: "GET",
                    path: "/healthz".into(),
                    token: None,
                    body: None,
                };
                let mut lat = Vec::new();
                let mut failures = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match send(addr, &health).await {
                        Some((200, _)) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                        _ => failures += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                (lat, failures)
            })
        })
    };
    let figures = rt.block_on(async {
        let mut clients = Vec::new();
        for c in 0..connections.max(1) {
            let (stop, attacks) = (stop.clone(), attacks.clone());
            clients.push(tokio::spawn(async move {
                let mut figures: BTreeMap<&'static str, KindFigures> = BTreeMap::new();
                let mut i = c;
                let mut conn: Option<Sender> = None;
                while !stop.load(Ordering::Relaxed) {
                    let a = &attacks[i % attacks.len()];
                    i += 1;
                    let (status, body) = send_on(&mut conn, addr, a)
                        .await
                        .unwrap_or((0, String::new()));
                    let f = figures.entry(a.name).or_default();
                    f.requests += 1;
                    *f.statuses.entry(status).or_default() += 1;
                    if status >= 300 && f.first_error.is_none() {
                        f.first_error = Some(format!(
                            "{status} {}",
                            body.chars().take(200).collect::<String>()
                        ));
                    }
                }
                figures
            }));
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut all: BTreeMap<String, KindFigures> = BTreeMap::new();
        for c in clients {
            for (name, f) in c.await.unwrap_or_default() {
                let e = all.entry(name.to_owned()).or_default();
                e.requests += f.requests;
                for (s, n) in f.statuses {
                    *e.statuses.entry(s).or_default() += n;
                }
                if e.first_error.is_none() {
                    e.first_error = f.first_error;
                }
            }
        }
        all
    });
    let (mut lat, failures) = probe.join().unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Ok(AbuseReport {
        entities,
        seconds,
        connections,
        healthz_probes: lat.len() + failures,
        healthz_p50_ms: q(0.5),
        healthz_p99_ms: q(0.99),
        healthz_max_ms: lat.last().copied().unwrap_or(f64::NAN),
        healthz_failures: failures,
        // The server's, filled in by the caller.
        peak_rss_mb: 0.0,
        requests: figures,
    })
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One request on a kept-alive connection (a new one when there is none or it broke); the
/// status and body (None: no answer within 60 s).
async fn send_on(conn: &mut Option<Sender>, addr: SocketAddr, a: &Attack) -> Option<(u16, String)> {
    let work = async {
        if conn.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
            stream.set_nodelay(true).ok()?;
            let (sender, c) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .ok()?;
            tokio::spawn(c);
            *conn = Some(sender);
        }
        let sender = conn.as_mut()?;
        sender.ready().await.ok()?;
        let resp = sender.send_request(request(a)?).await.ok()?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    };
    let out = tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .ok()
        .flatten();
    if out.is_none() {
        *conn = None;
    }
    out
}

fn request(a: &Attack) -> Option<hyper::Request<Full<Bytes>>> {
    let mut req = hyper::Request::builder()
        .method(a.method)
        .uri(a.path.as_str())
        .header("host", "bench");
    if let Some(t) = &a.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if a.body.is_some() {
        req = req.header("content-type", "application/json");
    }
    req.body(Full::new(Bytes::from(a.body.clone().unwrap_or_default())))
        .ok()
}

/// One request on a fresh connection; the status and body (None: no answer within 60 s).
async fn send(addr: SocketAddr, a: &Attack) -> Option<(u16, String)> {
    let work = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .ok()?;
        tokio::spawn(conn);
        let resp = sender.send_request(request(a)?).await.ok()?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .ok()
        .flatten()
}
