//! `socle bench portal`: server-side render time of the portal's main pages on a generated
//! catalog (100,000 entities by default), as a signed-in team member. Requests go through the
//! whole router (middleware included) in-process, so the figures are the server's own time,
//! without the network.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use clap::Args;
use http_body_util::BodyExt;
use serde::Serialize;
use socle_catalog::Limits;
use socle_ingest::LocationSpec;
use socle_store::{Role, Store, StoreConfig};
use tower::ServiceExt;

use crate::output::{self, Format};

#[derive(Args)]
pub struct PortalBench {
    /// Entities in the generated organisation.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Requests per page (after 3 warm-up requests).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// Services given a 90-day delivery history (DORA tiles and charts have data).
    #[arg(long, default_value_t = 300)]
    dora_services: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct PageFigures {
    path: String,
    bytes: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct PortalReport {
    entities: usize,
    requests_per_page: usize,
    pages: Vec<PageFigures>,
}

pub async fn portal(args: PortalBench) -> anyhow::Result<std::process::ExitCode> {
    let work = tempfile::tempdir()?;
    let (org, src) = crate::bench::write_org(work.path(), args.entities, 500)?;
    eprintln!("generated {} entities; ingesting…", org.entities);
    let store = Store::open(&StoreConfig::new(work.path().join("data"), None)).await?;
    let spec = LocationSpec::file(src.join("catalog-info.yaml").to_string_lossy().into_owned());
    let out = crate::cli::ingest(
        &store,
        &spec,
        &Limits::default(),
        args.output == Format::Table,
    )
    .await?;
    anyhow::ensure!(
        out.errors.is_empty(),
        "generated organisation has errors: {:?}",
        out.errors.first()
    );
    let state = socle_api::AppState::new(
        store.clone(),
        socle_api::ServerConfig {
            refresh_interval: None,
            gitops_root: work.path().join("gitops"),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let snap = state.snapshot();
    // A delivery history for some services, and a signed-in member of a team that owns some.
    let services: Vec<(String, usize)> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .take(args.dora_services)
        .enumerate()
        .filter_map(|(i, e)| Some((e.entity_ref.rsplit('/').next()?.to_owned(), i % 4)))
        .collect();
    let now = socle_api::now_ms();
    let (events, errors) = socle_dora::parse_jsonl(
        &socle_demo::dora_history(&services, now - now.rem_euclid(86_400_000), 90),
        "bench",
    );
    anyhow::ensure!(errors.is_empty(), "delivery history: {:?}", errors.first());
    let n_events = events.len();
    store.dora_upsert(events).await?;
    // Deployment records for the same services in three environments (two versions each),
    // so that the board, the history and the entity pages have rows.
    let mut n_deployments = 0;
    for (service, _) in &services {
        for env in ["dev", "staging", "prod"] {
            for version in ["1.0.0", "1.1.0"] {
                store
                    .record_deployment(socle_store::DeploymentRecord {
                        id: String::new(),
                        seq: 0,
                        service: service.clone(),
                        environment: env.into(),
                        version: version.into(),
                        images: vec![format!("web=ghcr.io/acme/{service}:{version}")],
                        gitops_commit: "0".repeat(40),
                        source_commit: String::new(),
                        changed: true,
                        status: "success".into(),
                        actor: "serviceaccount:bench".into(),
                        kind: "deploy".into(),
                        spec: String::new(),
                        created_at: now,
                    })
                    .await?;
                n_deployments += 1;
            }
        }
    }
    let user = snap
        .entities
        .iter()
        .find(|e| {
            e.kind() == "user"
                && e.relations
                    .iter()
                    .any(|(t, _)| *t == socle_catalog::RelationType::MemberOf)
        })
        .map(|e| e.entity_ref.to_string())
        .context("no user with a team")?;
    drop(snap);
    let (_, token) = store
        .create_token("bench", &user, Role::Member, now)
        .await?;
    let session = store
        .open_session(&token, now, 3_600_000)
        .await?
        .context("session")?;
    let cookie = format!("{}={}", socle_portal::session::COOKIE, session.secret);
    eprintln!(
        "{n_events} delivery events and {n_deployments} deployments for {} services; signed in as {user}",
        services.len()
    );
    let app = socle_api::router_with(state.clone(), socle_portal::routes());
    let mut paths = socle_portal::bench_paths(&state);
    paths.push("/teams".into());
    let mut pages = Vec::new();
    for path in paths {
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for i in 0..args.requests + 3 {
            let req = axum::http::Request::get(path.as_str())
                .header("host", "bench")
                .header("cookie", &cookie)
                .body(Body::empty())?;
            let t = Instant::now();
            let resp = app.clone().oneshot(req).await?;
            let status = resp.status();
            let body = resp.into_body().collect().await?.to_bytes();
            let elapsed = t.elapsed();
            anyhow::ensure!(status.is_success(), "{path}: {status}");
            bytes = body.len();
            if i >= 3 {
                times.push(elapsed);
            }
        }
        times.sort();
        let pct = |p: f64| {
            times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
        };
        pages.push(PageFigures {
            path,
            bytes,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: times
                .last()
                .copied()
                .unwrap_or(Duration::ZERO)
                .as_secs_f64()
                * 1000.0,
        });
    }
    let report = PortalReport {
        entities: state.snapshot().len(),
        requests_per_page: args.requests,
        pages,
    };
    output::print(args.output, &report, |r| {
        let rows: Vec<Vec<String>> = r
            .pages
            .iter()
            .map(|p| {
                vec![
                    p.path.clone(),
                    p.bytes.to_string(),
                    format!("{:.2}", p.p50_ms),
                    format!("{:.2}", p.p99_ms),
                    format!("{:.2}", p.max_ms),
                ]
            })
            .collect();
        format!(
            "portal render time, {} entities, {} requests per page (server-side, in-process)\n{}",
            r.entities,
            r.requests_per_page,
            output::table(&["page", "bytes", "p50 ms", "p99 ms", "max ms"], &rows)
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
