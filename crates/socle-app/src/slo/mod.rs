//! Service level objectives of catalog entities and their error budgets.
//!
//! An entity names its SLO file with the `socle.dev/slo` annotation (relative to its catalog
//! file, read from its origin: [`crate::origin`]); the file is Sloth's `prometheus/v1`, its
//! `PrometheusServiceLevel` form or OpenSLO. Budgets are measured per environment: from the
//! Prometheus the platform configuration names for that environment (`environments[].slo.
//! prometheus_url`), else from good/total counts pushed to Socle (`POST /api/v1/slo/events`,
//! [`events`]). [`gate`] turns a spent budget into a guardrail finding on production deploys.

mod events;
pub mod gate;
mod history;
mod prometheus;
pub mod refresh;
mod rules;

pub use events::{SloEventsInput, SloEventsWritten, SloIntervalInput};
pub use history::{BurnDown, POINTS};
pub use prometheus::*;
pub use rules::{EntitySloRules, alert_anchor, rule_anchor};

use serde::Serialize;
use socle_slo::budget::Budget;
use socle_slo::{LoadOptions, SloGroup};

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;
use crate::origin::{EntityOrigin, annotation};

/// The annotation naming an entity's SLO file.
pub const SLO_ANNOTATION: &str = "socle.dev/slo";
/// Largest SLO file read.
pub const MAX_SLO_FILE: usize = 1 << 20;
/// Most SLO queries in flight against one Prometheus.
const CONCURRENCY: usize = 8;
/// How long measured budgets are served again instead of measured anew: whatever the traffic
/// on an SLO page or its API, an entity's Prometheus is asked at most once per environment in
/// this time (pushed counts measure again at once: see [`App::push_slo_events`]).
pub const FRESH_MS: i64 = 30_000;

/// A measurement under way (boxed: see [`App::measure_budgets`]).
pub(crate) type Measuring<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<(BudgetSource, Vec<Budget>), AppError>> + Send + 'a,
    >,
>;

/// Where an environment's budgets were measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum BudgetSource {
    /// The environment's Prometheus.
    Prometheus { url: String },
    /// Counts pushed to Socle.
    Pushed,
}

/// An entity's SLOs in one environment, with their budgets now.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitySlos {
    pub entity: String,
    pub environment: String,
    /// The SLO file, inside the entity's location.
    pub file: String,
    pub source: BudgetSource,
    /// When the budgets were measured (milliseconds since the epoch).
    pub measured_at: i64,
    pub budgets: Vec<Budget>,
    /// The SLOs as the file defines them (for a burn-down: [`App::burn_downs`]).
    #[serde(skip)]
    pub groups: Vec<SloGroup>,
}

/// An entity's SLO file and what it defines.
pub struct SloFile {
    pub path: String,
    pub groups: Vec<SloGroup>,
}

impl SloFile {
    /// The SLO named `name` (its `name`, or its Sloth id `service-name`).
    pub fn has(&self, name: &str) -> bool {
        self.groups
            .iter()
            .flat_map(|g| &g.slos)
            .any(|s| s.name == name || s.id == name)
    }
}

impl App {
    /// The SLO file of an entity (`None`: it has no `socle.dev/slo` annotation). Errors are the
    /// user's to fix: a file that cannot be read or that is not a valid spec (with its line).
    pub async fn entity_slo_file(&self, entity_ref: &str) -> Result<Option<SloFile>, AppError> {
        let snap = self.snapshot();
        let view = snap
            .get(&entity_ref.to_ascii_lowercase())
            .ok_or_else(|| AppError::not_found(format!("no entity {entity_ref}")))?;
        let body: serde_json::Value = serde_json::from_str(&view.body)
            .map_err(|e| AppError::internal(format!("stored entity {entity_ref}: {e}")))?;
        drop(snap);
        let Some(rel) = annotation(&body, SLO_ANNOTATION).map(str::to_owned) else {
            return Ok(None);
        };
        let locations = self.location_specs().await?;
        let remotes = self.config.remotes.clone();
        let limits = self.config.limits.clone();
        let read = tokio::task::spawn_blocking(move || {
            let origin = EntityOrigin::locate(&body, &locations, remotes.0.as_ref())?;
            let path = origin.path_of(&rel)?;
            let bytes = origin.read(&rel, MAX_SLO_FILE)?;
            Ok::<_, crate::origin::OriginError>((path, bytes))
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
        let (path, bytes) = read.map_err(|e| AppError::bad_request(e.to_string()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| AppError::bad_request(format!("{path}: not UTF-8 text")))?;
        let options = LoadOptions {
            limits,
            ..LoadOptions::default()
        };
        let groups = socle_slo::load(&text, &path, &options).map_err(|errors| {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            AppError::bad_request(format!("the SLO file is invalid: {first}"))
                .with_details(serde_json::to_value(&errors).ok())
        })?;
        Ok(Some(SloFile { path, groups }))
    }

    /// An entity's SLOs in an environment with their budgets now, for anyone who may read.
    pub async fn entity_slos(
        &self,
        actor: &Actor,
        entity_ref: &str,
        environment: Option<&str>,
    ) -> Result<EntitySlos, AppError> {
        self.can_read(actor)?;
        let environment = match environment {
            Some(e) => e.to_owned(),
            None => self.production_environment()?,
        };
        let environment = environment.as_str();
        let entity = socle_catalog::EntityRef::parse(entity_ref, Some("Component"), "default")
            .map_err(|e| AppError::bad_request(e.to_string()))?
            .to_string();
        self.platform_environment(environment)?;
        let file = self.entity_slo_file(&entity).await?.ok_or_else(|| {
            AppError::not_found(format!(
                "{entity} has no SLOs: it needs a `{SLO_ANNOTATION}` annotation naming its SLO file"
            ))
        })?;
        let (source, measured_at, budgets) =
            match self.fresh_budgets(&entity, &file, environment).await {
                Some((at, budgets)) => (self.budget_source(environment)?, at, budgets),
                None => {
                    let (source, budgets) =
                        self.measure_budgets(&entity, &file, environment).await?;
                    self.keep_budgets(&entity, environment, &budgets).await;
                    (source, self.now_ms(), budgets)
                }
            };
        Ok(EntitySlos {
            entity,
            environment: environment.to_owned(),
            file: file.path,
            source,
            measured_at,
            budgets,
            groups: file.groups,
        })
    }

    /// Where `environment`'s budgets are measured.
    fn budget_source(&self, environment: &str) -> Result<BudgetSource, AppError> {
        Ok(match self.prometheus_of(environment)? {
            Some((url, _)) => BudgetSource::Prometheus { url },
            None => BudgetSource::Pushed,
        })
    }

    /// The budgets kept for every SLO of `file` in `environment`, in the file's order, when
    /// all were measured less than [`FRESH_MS`] ago; with the oldest measurement's time.
    async fn fresh_budgets(
        &self,
        entity: &str,
        file: &SloFile,
        environment: &str,
    ) -> Option<(i64, Vec<Budget>)> {
        let now = self.now_ms();
        let kept = self
            .store
            .list_slo_status(Some(environment), Some(entity), 1000)
            .await
            .ok()?;
        let fresh = |at: i64| at <= now && now - at < FRESH_MS;
        if kept.is_empty() || !kept.iter().all(|k| fresh(k.measured_at)) {
            return None;
        }
        let budgets = file
            .groups
            .iter()
            .flat_map(|g| &g.slos)
            .map(|slo| {
                let k = kept.iter().find(|k| k.slo == slo.name)?;
                serde_json::from_value::<Budget>(k.budget.clone()).ok()
            })
            .collect::<Option<Vec<_>>>()?;
        let at = kept.iter().map(|k| k.measured_at).min()?;
        Some((at, budgets))
    }

    /// The first environment of type `production` (the default environment of SLO questions).
    pub fn production_environment(&self) -> Result<String, AppError> {
        self.config
            .platform
            .environments
            .values()
            .find(|e| e.env_type == "production")
            .map(|e| e.name.clone())
            .ok_or_else(|| {
                AppError::bad_request("this platform has no production environment: name one")
            })
    }

    /// The Prometheus that measures `environment`'s SLIs (`None`: counts pushed to Socle).
    pub(crate) fn prometheus_of(
        &self,
        environment: &str,
    ) -> Result<Option<(String, PrometheusHttp)>, AppError> {
        let env = self.platform_environment(environment)?;
        env.slo
            .prometheus_url
            .as_ref()
            .map(|url| {
                PrometheusHttp::with_tls(url, self.config.tls.clone())
                    .map(|client| (url.clone(), client))
                    .map_err(|e| AppError::bad_request(e.to_string()))
            })
            .transpose()
    }

    /// The environment of the platform called `name`.
    pub(crate) fn platform_environment(
        &self,
        name: &str,
    ) -> Result<&socle_platform::Environment, AppError> {
        self.config.platform.environments.get(name).ok_or_else(|| {
            AppError::bad_request(format!(
                "unknown environment \"{name}\"; this platform has: {}",
                self.config
                    .platform
                    .environments
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The budgets of an SLO file's SLOs in `environment`, from its Prometheus or pushed counts.
    /// (Boxed: the deploy path awaits it in a future that must be `Send` for every lifetime.)
    pub(crate) fn measure_budgets<'a>(
        &'a self,
        entity: &'a str,
        file: &'a SloFile,
        environment: &'a str,
    ) -> Measuring<'a> {
        Box::pin(async move {
            let options = LoadOptions::default();
            let at_ms = self.now_ms();
            match self.prometheus_of(environment)? {
                Some((url, client)) => {
                    let budgets = budgets(
                        &client,
                        &file.groups,
                        options.default_period,
                        &options.windows,
                        at_ms as f64 / 1000.0,
                        CONCURRENCY,
                    )
                    .await
                    .map_err(|e| {
                        AppError::new(crate::error::ErrorCode::Unavailable, e.to_string())
                    })?;
                    Ok((BudgetSource::Prometheus { url }, budgets))
                }
                None => {
                    let budgets = self
                        .pushed_budgets(entity, environment, &file.groups, at_ms)
                        .await?;
                    Ok((BudgetSource::Pushed, budgets))
                }
            }
        })
    }
}
