//! `socle-bench adoption`: the organisation's adoption and impact report over a large catalog.
//!
//! A synthetic organisation of `--entities` entities is read into a store; `--runs` golden-path
//! runs are recorded over the last 90 days (two in three completed, each completed run
//! registering a component), a first deploy through Socle for every completed run's component,
//! and `--audit` audit rows of 500 people (sessions and changes) for the weekly counts. Then
//! `App::adoption_overview` — what `GET /api/v1/adoption` and `/adoption` answer — runs
//! `--repeat` times as an admin (every team in detail), and `App::adoption_team` for one team;
//! then this week's snapshot (`App::take_adoption_snapshot`: every team's counts stored) once,
//! and a second try, which finds the week taken.

use std::time::Instant;

use clap::Args;
use serde::Serialize;
use socle_store::{DeploymentRecord, DeploymentStatus, Principal, Role, RunStatus, TemplateRun};

use crate::output::{self, Format};

#[derive(Args)]
pub struct AdoptionBench {
    /// Entities of the synthetic organisation (60 % of them components).
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Golden-path runs recorded over the last 90 days.
    #[arg(long, default_value_t = 10_000)]
    runs: usize,
    /// Audit rows (portal sessions and changes of 500 people) over the last 90 days.
    #[arg(long, default_value_t = 20_000)]
    audit: usize,
    /// Reports timed (after one warm-up).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    components: usize,
    teams: usize,
    runs: usize,
    audit_rows: usize,
    organisation_p50_ms: f64,
    organisation_max_ms: f64,
    team_p50_ms: f64,
    /// This week's snapshot taken (every team's counts stored), and tried again (week taken).
    snapshot_ms: f64,
    snapshot_again_ms: f64,
    golden_path_share: Option<f64>,
}

const DAY_MS: i64 = 86_400_000;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub async fn adoption(args: AdoptionBench) -> anyhow::Result<std::process::ExitCode> {
    let work = tempfile::tempdir()?;
    let (org, src) = crate::setup::write_org(work.path(), args.entities, 500)?;
    let store = socle_store::Store::open(&socle_store::StoreConfig::new(
        work.path().join("data"),
        None,
    ))
    .await?;
    eprintln!("ingesting {} entities…", org.entities);
    crate::setup::ingest(&store, &crate::setup::org_location(&src)).await?;
    let app = socle_app::App::new(
        store.clone(),
        socle_app::AppConfig {
            refresh_interval: None,
            gitops_root: work.path().join("gitops"),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let snap = app.snapshot();
    let components: Vec<String> = snap
        .entities
        .iter()
        .filter(|e| e.kind() == "component")
        .map(|e| e.entity_ref.to_string())
        .collect();
    let teams = socle_app::dora::all_teams(&snap, &|_| false)
        .into_iter()
        .filter(|t| t.components > 0)
        .count();
    let now = socle_api::now_ms();
    let mut rng = socle_demo::Rng(7);
    eprintln!("recording {} runs and their first deploys…", args.runs);
    for i in 0..args.runs {
        let started = now - 90 * DAY_MS + rng.below(89 * DAY_MS as usize) as i64;
        let completed = i % 3 != 2;
        let entity = completed.then(|| components[i % components.len()].clone());
        store
            .record_template_run(TemplateRun {
                id: String::new(),
                seq: 0,
                template: ["rust-axum-service", "python-fastapi-service"][i % 2].into(),
                actor: format!("user:default/user-{}", i % 500),
                status: if completed {
                    RunStatus::Completed
                } else {
                    RunStatus::Failed
                },
                dry_run: false,
                parameters: serde_json::json!({}),
                steps: serde_json::json!([]),
                log: serde_json::json!([]),
                output: serde_json::json!({}),
                error: None,
                created_at: started + 60_000 + rng.below(600_000) as i64,
                started_at: Some(started),
                entity: entity.clone(),
            })
            .await?;
        if let Some(e) = entity {
            let service = e.rsplit('/').next().unwrap_or_default().to_owned();
            store
                .record_deployment(DeploymentRecord {
                    id: String::new(),
                    seq: 0,
                    service,
                    environment: "dev".into(),
                    version: "0.1.0".into(),
                    images: vec![],
                    gitops_commit: String::new(),
                    source_commit: String::new(),
                    changed: true,
                    status: DeploymentStatus::Success,
                    actor: "serviceaccount:ci".into(),
                    kind: "deploy".into(),
                    spec: "{}".into(),
                    created_at: started + rng.below(48 * 3_600_000) as i64,
                })
                .await?;
        }
    }
    eprintln!("writing {} audit rows…", args.audit);
    for i in 0..args.audit {
        let at = now - 90 * DAY_MS + rng.below(90 * DAY_MS as usize) as i64;
        let action = if i % 4 == 0 {
            socle_app::AuditAction::SessionOpen
        } else {
            socle_app::AuditAction::Deploy
        };
        let who = format!("user:default/user-{}", rng.below(500));
        socle_app::audit::record_to(
            &store,
            at,
            &who,
            action,
            "bench",
            socle_app::AuditOutcome::Ok,
            "",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    }
    let admin = socle_app::Actor::Principal(Principal {
        token_id: String::new(),
        subject: "serviceaccount:bench".into(),
        role: Role::Admin,
    });
    let fail = |e: socle_app::AppError| anyhow::anyhow!("{}", e.message);
    let first = app.adoption_overview(&admin, None).await.map_err(fail)?;
    let mut org_ms = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        let t = Instant::now();
        app.adoption_overview(&admin, None).await.map_err(fail)?;
        org_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let team = first
        .teams
        .first()
        .map(|t| t.team.clone())
        .unwrap_or_default();
    let mut team_ms = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        let t = Instant::now();
        app.adoption_team(&admin, &team, None).await.map_err(fail)?;
        team_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let t = Instant::now();
    let taken = app.take_adoption_snapshot().await.map_err(fail)?;
    let snapshot_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let again = app.take_adoption_snapshot().await.map_err(fail)?;
    let snapshot_again_ms = t.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(
        taken == socle_app::adoption::SnapshotOutcome::Taken
            && again == socle_app::adoption::SnapshotOutcome::AlreadyTaken,
        "snapshot: {taken:?} then {again:?}"
    );
    let report = Report {
        entities: org.entities,
        components: components.len(),
        teams,
        runs: args.runs,
        audit_rows: args.audit,
        organisation_max_ms: org_ms.iter().copied().fold(0.0, f64::max),
        organisation_p50_ms: median(&mut org_ms),
        team_p50_ms: median(&mut team_ms),
        snapshot_ms,
        snapshot_again_ms,
        golden_path_share: first.adoption.now.golden_path_share,
    };
    output::print(args.output, &report, |r| {
        output::table(
            &[
                "ENTITIES",
                "COMPONENTS",
                "TEAMS",
                "RUNS",
                "ORG P50 MS",
                "ORG MAX MS",
                "TEAM P50 MS",
                "SNAPSHOT MS",
                "AGAIN MS",
            ],
            &[vec![
                r.entities.to_string(),
                r.components.to_string(),
                r.teams.to_string(),
                r.runs.to_string(),
                format!("{:.0}", r.organisation_p50_ms),
                format!("{:.0}", r.organisation_max_ms),
                format!("{:.0}", r.team_p50_ms),
                format!("{:.0}", r.snapshot_ms),
                format!("{:.0}", r.snapshot_again_ms),
            ]],
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
