//! The closed loop: a deploy to an environment whose SLO gate is on (`warn` by default in
//! `production` environments, `deny` when configured) of a service whose error budget is spent
//! meets a guardrail finding `slo-budget-exhausted` — a warning, or a violation that blocks the
//! deploy unless a waiver of that rule is in force. Rollbacks are never gated: they are how a
//! team gets its budget back. A budget that cannot be measured in time gates nothing (logged).

use std::time::Duration;

use serde_json::Value;
use socle_deploy::{GuardrailFinding, GuardrailReport, Guardrails};
use socle_platform::Resolution;
use socle_platform::{Environment, SloGate};

use crate::App;

/// The rule id a waiver names to let a deploy through a spent budget.
pub const SLO_RULE: &str = "slo-budget-exhausted";
/// How long a deploy waits for budgets to be measured.
const MEASURE_TIMEOUT: Duration = Duration::from_secs(5);

/// The guardrails of a deploy plus its SLO finding, if any.
pub struct SloGuardrails {
    pub inner: Box<dyn Guardrails>,
    /// The finding, and whether it blocks.
    pub finding: Option<(SloGate, GuardrailFinding)>,
}

impl Guardrails for SloGuardrails {
    fn check(
        &self,
        env: &Environment,
        resolution: &Resolution,
        manifests: &[(String, Value)],
    ) -> GuardrailReport {
        let mut report = self.inner.check(env, resolution, manifests);
        match &self.finding {
            Some((SloGate::Deny, f)) => report.violations.push(f.clone()),
            Some((SloGate::Warn, f)) => report.warnings.push(f.clone()),
            Some((SloGate::Off, _)) | None => {}
        }
        report
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl App {
    /// The SLO finding for a deploy (not a rollback) of `service` to `environment`: `None` when
    /// the gate is off there, the service has no SLOs, or every budget has some left.
    pub async fn slo_finding(
        &self,
        service: &str,
        environment: &str,
    ) -> Option<(SloGate, GuardrailFinding)> {
        let gate = self
            .config
            .platform
            .environments
            .get(environment)?
            .slo_gate();
        if gate == SloGate::Off {
            return None;
        }
        let entity = format!("component:default/{}", service.to_ascii_lowercase());
        let measured = tokio::time::timeout(MEASURE_TIMEOUT, async {
            let file = self.entity_slo_file(&entity).await?;
            match file {
                Some(file) => {
                    let (_, b) = self.measure_budgets(&entity, &file, environment).await?;
                    self.keep_budgets(&entity, environment, &b).await;
                    Ok::<_, crate::error::AppError>(b)
                }
                None => Ok(Vec::new()),
            }
        })
        .await;
        let budgets = match measured {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                tracing::warn!(
                    "{entity}@{environment}: SLO budgets not measured: {}",
                    e.message
                );
                return None;
            }
            Err(_) => {
                tracing::warn!("{entity}@{environment}: SLO budgets not measured in time");
                return None;
            }
        };
        let spent: Vec<String> = budgets
            .iter()
            .filter_map(|b| {
                let r = b.remaining?;
                (r <= 0.0)
                    .then(|| format!("{} ({} of its {} budget left)", b.slo, percent(r), b.period))
            })
            .collect();
        if spent.is_empty() {
            return None;
        }
        let text = format!(
            "{service}: the error budget is spent for {}; {environment} takes rollbacks until it recovers (or a waiver of `{SLO_RULE}`) [{SLO_RULE}]",
            spent.join(", ")
        );
        Some((gate, GuardrailFinding::new(SLO_RULE, text)))
    }

    /// The guardrails of a deploy or promotion of `service` to `environment`, with its SLO
    /// finding.
    pub(crate) async fn gated_guardrails(&self, service: &str, environment: &str) -> SloGuardrails {
        SloGuardrails {
            inner: self.guardrails(),
            finding: self.slo_finding(service, environment).await,
        }
    }
}
