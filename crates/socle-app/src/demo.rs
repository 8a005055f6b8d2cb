//! The demo's delivery loop, played through the application on a first start: services
//! deployed to dev, promoted to staging and production, a release rolled back, and one deploy
//! the guardrails block — so the deployments board and the audit log show the loop.

use socle_store::{Principal, Role};

use crate::App;
use crate::actor::Actor;
use crate::deploy::DeployInput;
use crate::error::AppError;

/// How many of the demo's services go through the loop.
pub const LOOP_SERVICES: usize = 3;

/// What the loop did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoLoop {
    pub deployed: usize,
    pub promoted: usize,
    pub rolled_back: usize,
    pub blocked: usize,
}

/// A Score workload that passes the built-in guardrails (probes, requests and limits).
fn workload(service: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {service}\ncontainers:\n  web:\n    image: .\n    livenessProbe:\n      httpGet: {{path: /healthz, port: 8080}}\n    readinessProbe:\n      httpGet: {{path: /healthz, port: 8080}}\n    resources:\n      requests: {{cpu: 100m, memory: 64Mi}}\n      limits: {{cpu: 500m, memory: 256Mi}}\nservice:\n  ports:\n    http: {{port: 80, targetPort: 8080}}\n"
    )
}

fn input(service: &str, version: &str) -> DeployInput {
    DeployInput {
        workload: workload(service).into(),
        environment: "dev".into(),
        image: Some(format!("ghcr.io/acme/{service}:{version}")),
        version: None,
        source_commit: None,
    }
}

/// Plays the loop for up to [`LOOP_SERVICES`] of `services`, unless deployments exist already
/// (a restart changes nothing). Names must be DNS labels (catalog component names are).
pub async fn play_loop(app: &App, services: &[String]) -> Result<DemoLoop, AppError> {
    if !app.store.list_deployments(None, None, 1).await?.is_empty() {
        return Ok(DemoLoop::default());
    }
    let actor = Actor::Principal(Principal {
        token_id: String::new(),
        subject: "serviceaccount:demo".into(),
        role: Role::Admin,
    });
    let mut done = DemoLoop::default();
    for service in services.iter().take(LOOP_SERVICES) {
        app.deploy(&actor, input(service, "1.0.0")).await?;
        done.deployed += 1;
        for (from, to) in [("dev", "staging"), ("staging", "prod")] {
            app.promote(&actor, service, from, to).await?;
            done.promoted += 1;
        }
        app.deploy(&actor, input(service, "1.1.0")).await?;
        done.deployed += 1;
    }
    if let Some(first) = services.first() {
        app.rollback(&actor, first, "dev").await?;
        done.rolled_back += 1;
        // `:latest` is refused by the built-in guardrails: the refusal is audited.
        if app.deploy(&actor, input(first, "latest")).await.is_err() {
            done.blocked += 1;
        }
    }
    Ok(done)
}

/// A team that adopted Socle in the demo: the service it created from a golden path, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAdoption {
    /// The group's reference.
    pub team: String,
    /// The component's name.
    pub service: String,
    /// When the golden-path run started (milliseconds).
    pub at: i64,
}

const DAY_MS: i64 = 86_400_000;
/// How many days before today each adopting team of the demo started: far enough back for a
/// before-and-after comparison inside the demo's 90 days of history.
const ADOPTED_DAYS_AGO: [i64; ADOPTING_TEAMS] = [45, 40, 35, 30];
/// How many of the demo's teams adopt Socle (each records one first deploy to dev).
pub const ADOPTING_TEAMS: usize = 4;
/// Minutes from each run's start to its service's first deploy (time to first deploy).
const FIRST_DEPLOY_MINUTES: [i64; ADOPTING_TEAMS] = [4, 12, 95, 26];

/// The demo's adopting teams: among the teams owning components, in the order the demo's
/// delivery history gives them tiers (owner index), those not already in the fastest tier
/// (position % 4 ≠ 0) that own at least two services; each creates its first service (by
/// name) from a golden path on its day. Deterministic for a catalog and a day.
pub fn adoption_plan(snap: &crate::Snapshot, today: i64) -> Vec<DemoAdoption> {
    let mut owners: Vec<crate::snapshot::EntityId> =
        snap.entities.iter().filter_map(|e| e.owner).collect();
    owners.sort_unstable();
    owners.dedup();
    let mut out = Vec::new();
    for (pos, o) in owners.iter().enumerate() {
        if pos % 4 == 0 {
            continue;
        }
        let services: Vec<&str> = snap
            .entities
            .iter()
            .filter(|e| {
                e.kind() == "component"
                    && e.owner == Some(*o)
                    && e.spec_type.as_deref() == Some("service")
            })
            .filter_map(|e| e.entity_ref.rsplit('/').next())
            .collect();
        if services.len() < 2 {
            continue;
        }
        out.push(DemoAdoption {
            team: snap.name(*o).to_owned(),
            service: services[0].to_owned(),
            at: today - ADOPTED_DAYS_AGO[out.len()] * DAY_MS,
        });
        if out.len() == ADOPTED_DAYS_AGO.len() {
            break;
        }
    }
    out
}

/// Records the plan's golden-path runs (completed, registering the service) and each
/// service's first deploy to dev, back-dated — once: not when runs exist already.
pub async fn record_adoption(app: &App, plan: &[DemoAdoption]) -> Result<usize, AppError> {
    if !app.store.adoption_runs().await?.is_empty() {
        return Ok(0);
    }
    for (i, a) in plan.iter().enumerate() {
        let minutes = FIRST_DEPLOY_MINUTES[i % FIRST_DEPLOY_MINUTES.len()];
        app.store
            .record_template_run(socle_store::TemplateRun {
                id: String::new(),
                seq: 0,
                template: "rust-axum-service".into(),
                actor: "serviceaccount:demo".into(),
                status: socle_store::RunStatus::Completed,
                dry_run: false,
                parameters: serde_json::json!({"name": a.service, "owner": a.team}),
                steps: serde_json::json!([]),
                log: serde_json::json!([]),
                output: serde_json::json!({}),
                error: None,
                created_at: a.at + 3 * 60_000,
                started_at: Some(a.at),
                entity: Some(format!("component:default/{}", a.service)),
            })
            .await?;
        let image = format!("ghcr.io/acme/{}:0.1.0", a.service);
        app.store
            .record_deployment(socle_store::DeploymentRecord {
                id: String::new(),
                seq: 0,
                service: a.service.clone(),
                environment: "dev".into(),
                version: "0.1.0".into(),
                images: vec![format!("web={image}")],
                gitops_commit: String::new(),
                source_commit: String::new(),
                changed: true,
                status: socle_store::DeploymentStatus::Success,
                actor: "serviceaccount:demo".into(),
                kind: "deploy".into(),
                spec: serde_json::json!({"apiVersion": "score.dev/v1b1", "metadata": {"name": a.service},
                    "containers": {"web": {"image": image}}})
                .to_string(),
                created_at: a.at + minutes * 60_000,
            })
            .await?;
    }
    Ok(plan.len())
}
