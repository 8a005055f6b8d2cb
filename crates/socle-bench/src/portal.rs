//! `socle-bench portal`: response time of the portal's main pages, served by `socle serve` on a
//! generated catalog (100,000 entities by default) to a signed-in team member, measured by `wrk`
//! over loopback with one connection (so the figures are one page at a time).

use std::path::Path;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use socle_store::{Role, Store};

use crate::output::{self, Format};
use crate::server::{Server, StoreLocation};

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

pub async fn portal(
    args: PortalBench,
    socle: Option<&Path>,
) -> anyhow::Result<std::process::ExitCode> {
    let socle = crate::server::socle_binary(socle)?;
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, 500)?;
    eprintln!("generated {} entities; ingesting…", org.entities);
    let location = StoreLocation::new(work.path().join("data"), None);
    let store = Store::open(&location.config()).await?;
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let (entities, mut paths, cookie) = prepare(&store, &args, work.path()).await?;
    paths.push("/teams".into());
    store.close().await;

    let server = Server::start(&socle, &location, work.path())?;
    let headers = [("Cookie", cookie.as_str())];
    let mut pages = Vec::new();
    for path in paths {
        let mut bytes = 0;
        for _ in 0..3 {
            let (status, body) = crate::server::get(server.addr, &path, &headers)?;
            anyhow::ensure!(status == 200, "{path}: {status}");
            bytes = body.len();
        }
        let load = crate::server::wrk(
            server.addr,
            std::slice::from_ref(&path),
            &headers,
            args.requests,
            1,
        )?;
        anyhow::ensure!(load.errors == 0, "{path}: {} errors", load.errors);
        pages.push(PageFigures {
            path,
            bytes,
            p50_ms: load.p50_ms,
            p99_ms: load.p99_ms,
            max_ms: load.max_ms,
        });
    }
    drop(server);
    let report = PortalReport {
        entities,
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
            "portal response time, {} entities, {} requests per page (socle serve, wrk over loopback, one connection)\n{}",
            r.entities,
            r.requests_per_page,
            output::table(&["page", "bytes", "p50 ms", "p99 ms", "max ms"], &rows)
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// A delivery history and deployment records for some services, and a signed-in member of a
/// team; returns the entity count, the pages to measure and the session cookie.
async fn prepare(
    store: &Store,
    args: &PortalBench,
    work: &Path,
) -> anyhow::Result<(usize, Vec<String>, String)> {
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
        .take(args.dora_services)
        .enumerate()
        .filter_map(|(i, e)| Some((e.entity_ref.rsplit('/').next()?.to_owned(), i % 4)))
        .collect();
    let now = socle_api::now_ms();
    let socle_dora::Parsed { events, errors, .. } = socle_dora::parse_jsonl(
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
                        status: socle_store::DeploymentStatus::Success,
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
    let entities = snap.len();
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
    Ok((entities, socle_portal::bench_paths(&state), cookie))
}
