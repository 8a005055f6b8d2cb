//! The closed loop: a deploy to an environment whose SLO gate is on (`warn` by default in
//! `production` environments, `deny` when configured) of a service whose error budget is spent
//! meets a guardrail finding `slo-budget-exhausted` — a warning, or a violation that blocks the
//! deploy unless a waiver of that rule is in force. Rollbacks are never gated: they are how a
//! team gets its budget back. A budget that cannot be measured in time gates nothing (logged).
//!
//! The policies see the same state: every deploy, promotion and rollback hands its context to
//! the guardrails as `data.socle.deploy` ([`DeployContext`]: the service, the environment, the
//! action and each SLO's budget), so a platform's own Rego can decide on it too.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use socle_deploy::{GuardrailFinding, GuardrailReport, Guardrails};
use socle_platform::Resolution;
use socle_platform::{Environment, SloGate};
use socle_slo::budget::Budget;

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

/// Guardrails that could not be given their context: they block (guardrails fail closed).
struct Refused(String);

impl Guardrails for Refused {
    fn check(&self, _: &Environment, _: &Resolution, _: &[(String, Value)]) -> GuardrailReport {
        GuardrailReport {
            violations: vec![GuardrailFinding::new("policy-error", self.0.clone())],
            ..Default::default()
        }
    }
}

/// What is being done, as the policies see it (`data.socle.deploy.action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployAction {
    Deploy,
    Promote,
    Rollback,
}

/// Where the SLO state a deploy sees comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SloStateSource {
    /// Measured for this deploy (the gate is on).
    Measured,
    /// The budgets last kept (the gate is off, it is a rollback, or measuring failed).
    Kept,
    /// The service has no SLO measured in this environment.
    None,
}

/// One SLO's budget as the policies see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloBudgetState {
    pub slo: String,
    /// Percent.
    pub objective: Option<f64>,
    pub period: Option<String>,
    /// Good ratio over the period.
    pub sli: Option<f64>,
    /// Share of the budget left (≤ 0: spent; absent: no data).
    pub remaining: Option<f64>,
    pub exhausted: bool,
    /// Alerts that would fire (`page`, `ticket`).
    pub firing: Vec<String>,
}

impl SloBudgetState {
    /// From a budget as measured or kept (its JSON form, so both read the same way).
    fn from_json(budget: &Value) -> Option<Self> {
        let number = |k: &str| budget.get(k).and_then(Value::as_f64);
        let remaining = number("remaining");
        Some(Self {
            slo: budget.get("slo")?.as_str()?.to_owned(),
            objective: number("objective"),
            period: budget.get("period").map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            sli: number("sli"),
            remaining,
            exhausted: remaining.is_some_and(|r| r <= 0.0),
            firing: budget
                .get("firing")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// A service's SLO state in one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloState {
    pub source: SloStateSource,
    /// Whether any SLO's budget is spent.
    pub exhausted: bool,
    pub budgets: Vec<SloBudgetState>,
}

impl SloState {
    fn new(source: SloStateSource, budgets: Vec<SloBudgetState>) -> Self {
        let source = if budgets.is_empty() {
            SloStateSource::None
        } else {
            source
        };
        Self {
            source,
            exhausted: budgets.iter().any(|b| b.exhausted),
            budgets,
        }
    }
}

/// What a deploy's guardrails are told: `data.socle.deploy` in Rego.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeployContext {
    pub service: String,
    pub environment: String,
    /// The environment's type (`development`, `staging`, `production`, …).
    pub environment_type: String,
    pub action: DeployAction,
    pub slo: SloState,
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The finding a spent budget gives, if any.
fn spent_finding(service: &str, environment: &str, budgets: &[Budget]) -> Option<GuardrailFinding> {
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
    Some(GuardrailFinding::new(SLO_RULE, text))
}

fn entity_of(service: &str) -> String {
    format!("component:default/{}", service.to_ascii_lowercase())
}

impl App {
    /// The budgets of `service` in `environment` measured now (and kept), within the deploy's
    /// time limit; `None` when they cannot be (logged).
    async fn measure_for_deploy(&self, service: &str, environment: &str) -> Option<Vec<Budget>> {
        let entity = entity_of(service);
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
        match measured {
            Ok(Ok(b)) => Some(b),
            Ok(Err(e)) => {
                tracing::warn!(
                    "{entity}@{environment}: SLO budgets not measured: {}",
                    e.message
                );
                None
            }
            Err(_) => {
                tracing::warn!("{entity}@{environment}: SLO budgets not measured in time");
                None
            }
        }
    }

    /// The budgets last kept for `service` in `environment`.
    async fn kept_state(&self, service: &str, environment: &str) -> Vec<SloBudgetState> {
        let entity = entity_of(service);
        match self
            .store
            .list_slo_status(Some(environment), Some(&entity), 1000)
            .await
        {
            Ok(rows) => rows
                .iter()
                .filter_map(|s| SloBudgetState::from_json(&s.budget))
                .collect(),
            Err(e) => {
                tracing::warn!("{entity}@{environment}: kept SLO budgets not read: {e}");
                Vec::new()
            }
        }
    }

    /// The SLO finding for a deploy (not a rollback) of `service` to `environment` and the
    /// SLO state its policies see. The finding is `None` when the gate is off there, the
    /// service has no SLOs, every budget has some left, or none could be measured.
    pub async fn slo_finding(
        &self,
        service: &str,
        environment: &str,
    ) -> (Option<(SloGate, GuardrailFinding)>, SloState) {
        let gate = self
            .config
            .platform
            .environments
            .get(environment)
            .map_or(SloGate::Off, Environment::slo_gate);
        let measured = match gate {
            SloGate::Off => None,
            SloGate::Warn | SloGate::Deny => self.measure_for_deploy(service, environment).await,
        };
        match measured {
            Some(budgets) => {
                let state = budgets
                    .iter()
                    .filter_map(|b| serde_json::to_value(b).ok())
                    .filter_map(|v| SloBudgetState::from_json(&v))
                    .collect();
                let finding = spent_finding(service, environment, &budgets).map(|f| (gate, f));
                (finding, SloState::new(SloStateSource::Measured, state))
            }
            None => {
                let kept = self.kept_state(service, environment).await;
                (None, SloState::new(SloStateSource::Kept, kept))
            }
        }
    }

    /// The deployment guardrails with `context` handed to the policies as `data.socle.deploy`.
    fn guardrails_with(&self, context: &DeployContext) -> Box<dyn Guardrails> {
        let Some(policies) = &self.config.guardrails else {
            return Box::new(socle_deploy::NoGuardrails);
        };
        let data = serde_json::json!({ "socle": { "deploy": context } });
        match policies.with_data("socle-deploy", &data) {
            Ok(policies) => Box::new(socle_deploy::PolicyGuardrails { policies }),
            Err(e) => Box::new(Refused(format!(
                "the deploy's context could not be given to the policies: {e}"
            ))),
        }
    }

    fn deploy_context(
        &self,
        service: &str,
        environment: &str,
        action: DeployAction,
        slo: SloState,
    ) -> DeployContext {
        DeployContext {
            service: service.to_owned(),
            environment: environment.to_owned(),
            environment_type: self
                .config
                .platform
                .environments
                .get(environment)
                .map(|e| e.env_type.clone())
                .unwrap_or_default(),
            action,
            slo,
        }
    }

    /// The guardrails of a deploy or promotion of `service` to `environment`, with its SLO
    /// finding and context.
    pub(crate) async fn gated_guardrails(
        &self,
        service: &str,
        environment: &str,
        action: DeployAction,
    ) -> SloGuardrails {
        let (finding, slo) = self.slo_finding(service, environment).await;
        let context = self.deploy_context(service, environment, action, slo);
        SloGuardrails {
            inner: self.guardrails_with(&context),
            finding,
        }
    }

    /// The guardrails of a rollback: never gated by budgets, but told the kept SLO state.
    pub(crate) async fn rollback_guardrails(
        &self,
        service: &str,
        environment: &str,
    ) -> Box<dyn Guardrails> {
        let kept = self.kept_state(service, environment).await;
        let slo = SloState::new(SloStateSource::Kept, kept);
        let context = self.deploy_context(service, environment, DeployAction::Rollback, slo);
        self.guardrails_with(&context)
    }
}
