//! SLIs pushed to Socle where there is no Prometheus: good and total counts per interval for an
//! entity's SLO in an environment, and the budgets they give — the same figures as from
//! Prometheus, each window's error ratio being the counts of the intervals that ended in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use socle_slo::budget::{Budget, budget, budget_queries};
use socle_slo::{LoadOptions, PromDuration, SloGroup};
use socle_store::{SloInterval, SloKey};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::AppError;

/// Counts pushed for one SLO.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SloEventsInput {
    /// The entity whose SLO file defines the SLO (`shop`, `component:default/shop`).
    pub entity: String,
    /// The SLO's name in that file.
    pub slo: String,
    /// An environment of the platform.
    pub environment: String,
    /// At most 10,000 intervals, each at most a day long; an interval with the start of one
    /// already recorded replaces it.
    pub intervals: Vec<SloIntervalInput>,
}

/// Good and total events over `[start, end)` (RFC 3339 times).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloIntervalInput {
    pub start: String,
    pub end: String,
    pub good: i64,
    pub total: i64,
}

/// What a push recorded.
#[derive(Clone, Debug, Serialize)]
pub struct SloEventsWritten {
    pub entity: String,
    pub slo: String,
    pub environment: String,
    pub intervals: u64,
}

fn millis(field: &str, i: usize, text: &str) -> Result<i64, AppError> {
    socle_dora::parse_timestamp(text)
        .map_err(|e| AppError::bad_request(format!("intervals[{i}].{field}: {e}")))
}

impl App {
    /// Records pushed SLI counts: for an admin, a member of the team owning the entity (or a
    /// parent team), or a service account it lists — as for deploys. The SLO must be one the
    /// entity's SLO file defines and the environment one the platform has. Audited.
    pub async fn push_slo_events(
        &self,
        actor: &Actor,
        input: SloEventsInput,
    ) -> Result<SloEventsWritten, AppError> {
        let target = format!("{}/{}@{}", input.entity, input.slo, input.environment);
        let result = async {
            let entity =
                socle_catalog::EntityRef::parse(&input.entity, Some("Component"), "default")
                    .map_err(|e| AppError::bad_request(e.to_string()))?;
            if !entity.kind().eq_ignore_ascii_case("component") {
                return Err(AppError::bad_request(
                    "SLO events are pushed for components (services)",
                ));
            }
            self.authorize_deploy(actor, entity.name())?;
            let entity = entity.to_string();
            self.platform_environment(&input.environment)?;
            let file = self.entity_slo_file(&entity).await?.ok_or_else(|| {
                AppError::bad_request(format!(
                    "{entity} has no SLO file (`{}` annotation)",
                    super::SLO_ANNOTATION
                ))
            })?;
            if !file.has(&input.slo) {
                return Err(AppError::bad_request(format!(
                    "{} defines no SLO named {:?}",
                    file.path, input.slo
                )));
            }
            let intervals = input
                .intervals
                .iter()
                .enumerate()
                .map(|(i, iv)| {
                    Ok(SloInterval {
                        start_ms: millis("start", i, &iv.start)?,
                        end_ms: millis("end", i, &iv.end)?,
                        good: iv.good,
                        total: iv.total,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            let key = SloKey {
                entity: entity.clone(),
                slo: input.slo.clone(),
                environment: input.environment.clone(),
            };
            let n = self.store.record_slo_events(&key, &intervals).await?;
            // Budgets kept from earlier counts are stale now: measure them again from the
            // store (cheap: no Prometheus) so pages and the organisation list show this push.
            // Once the counts are recorded, nothing fails the push.
            if matches!(self.prometheus_of(&input.environment), Ok(None)) {
                match self
                    .measure_budgets(&entity, &file, &input.environment)
                    .await
                {
                    Ok((_, budgets)) => {
                        self.keep_budgets(&entity, &input.environment, &budgets)
                            .await
                    }
                    Err(e) => tracing::warn!(
                        "{entity}@{}: budgets not measured after a push: {}",
                        input.environment,
                        e.message
                    ),
                }
            }
            Ok(SloEventsWritten {
                entity,
                slo: input.slo,
                environment: input.environment,
                intervals: n,
            })
        }
        .await;
        self.audited_with(actor, AuditAction::SloEvents, &target, result, |w| {
            format!("{} intervals", w.intervals)
        })
        .await
    }

    /// Budgets from pushed counts at `at_ms`.
    pub(crate) async fn pushed_budgets(
        &self,
        entity: &str,
        environment: &str,
        groups: &[SloGroup],
        at_ms: i64,
    ) -> Result<Vec<Budget>, AppError> {
        let options = LoadOptions::default();
        let mut out = Vec::new();
        for slo in groups.iter().flat_map(|g| &g.slos) {
            let period = slo.period.unwrap_or(options.default_period);
            let ws = options.windows.get(period).ok_or_else(|| {
                AppError::bad_request(format!("the SLO period {period} has no alert windows"))
            })?;
            let key = SloKey {
                entity: entity.to_owned(),
                slo: slo.name.clone(),
                environment: environment.to_owned(),
            };
            let mut measured: BTreeMap<PromDuration, Option<f64>> = BTreeMap::new();
            for (w, _) in budget_queries(slo, ws) {
                let counts = self
                    .store
                    .slo_counts(&key, at_ms - w.0 as i64, at_ms)
                    .await?;
                measured.insert(w, counts.error_ratio());
            }
            out.push(budget(slo, ws, &measured));
        }
        Ok(out)
    }
}
