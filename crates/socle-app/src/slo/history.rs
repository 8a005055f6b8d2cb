//! Budget burn-down: the remaining error budget of each SLO at regular points over its last
//! period — each point the budget left over the period ending then, as Pyrra draws it — from
//! the environment's Prometheus (instant queries at past times) or from pushed counts.

use futures_util::{StreamExt, stream};
use serde::Serialize;
use socle_slo::{LoadOptions, PromDuration, SloGroup, sli_query};
use socle_store::SloKey;

use crate::App;
use crate::error::{AppError, ErrorCode};

/// Points drawn per SLO (one a day over 30 days, and now).
pub const POINTS: usize = 31;

/// One SLO's remaining budget over time.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnDown {
    pub slo: String,
    pub period: PromDuration,
    /// `(milliseconds since the epoch, remaining share)`, oldest first; `None`: no data.
    pub points: Vec<(i64, Option<f64>)>,
}

impl App {
    /// Every SLO's burn-down in `environment`, `POINTS` points evenly spread over its period.
    pub async fn burn_downs(
        &self,
        entity: &str,
        groups: &[SloGroup],
        environment: &str,
    ) -> Result<Vec<BurnDown>, AppError> {
        let client = self.prometheus_of(environment)?.map(|(_, client)| client);
        let options = LoadOptions::default();
        let now = self.now_ms();
        let mut out = Vec::new();
        for slo in groups.iter().flat_map(|g| &g.slos) {
            let period = slo.period.unwrap_or(options.default_period);
            let period_ms = period.0 as i64;
            let error_budget = (100.0 - slo.objective) / 100.0;
            let times: Vec<i64> = (0..POINTS as i64)
                .map(|i| now - period_ms + period_ms * i / (POINTS as i64 - 1))
                .collect();
            let ratios: Vec<Option<f64>> = match (&client, sli_query(slo, period)) {
                (Some(client), Some(query)) => {
                    let query = &query;
                    stream::iter(times.iter().copied())
                        .map(|t| async move {
                            super::MetricsSource::instant(client, query, t as f64 / 1000.0).await
                        })
                        .buffered(8)
                        .collect::<Vec<_>>()
                        .await
                        .into_iter()
                        .collect::<Result<_, _>>()
                        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?
                }
                (Some(_), None) => vec![None; times.len()],
                (None, _) => {
                    let key = SloKey {
                        entity: entity.to_owned(),
                        slo: slo.name.clone(),
                        environment: environment.to_owned(),
                    };
                    let mut v = Vec::with_capacity(times.len());
                    for t in &times {
                        v.push(
                            self.store
                                .slo_counts(&key, t - period_ms, *t)
                                .await?
                                .error_ratio(),
                        );
                    }
                    v
                }
            };
            out.push(BurnDown {
                slo: slo.name.clone(),
                period,
                points: times
                    .into_iter()
                    .zip(ratios)
                    .map(|(t, r)| (t, r.map(|r| 1.0 - r / error_budget)))
                    .collect(),
            });
        }
        Ok(out)
    }
}
