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
