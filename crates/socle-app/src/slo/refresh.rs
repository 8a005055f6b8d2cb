//! The stored budgets: every measurement an entity's SLO page or the deploy gate makes is kept
//! (`slo_status`), and a periodic pass under a lease (one replica at a time) measures every
//! entity with an SLO file in every production environment — so organisation-wide lists and
//! tiles read the store, never a Prometheus per page.

use futures_util::{StreamExt, stream};
use socle_slo::budget::Budget;
use socle_store::SloStatus;

use super::{SLO_ANNOTATION, SloFile};
use crate::App;
use crate::error::AppError;

/// Most entities one pass measures.
pub const MAX_ENTITIES: usize = 10_000;
/// Entities measured at once.
const CONCURRENCY: usize = 4;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RefreshSummary {
    pub entities: usize,
    pub measured: usize,
    pub failed: usize,
}

impl App {
    /// Keeps the budgets just measured for `entity` in `environment`.
    pub(crate) async fn keep_budgets(&self, entity: &str, environment: &str, budgets: &[Budget]) {
        let at = self.now_ms();
        let statuses: Vec<SloStatus> = budgets
            .iter()
            .map(|b| SloStatus {
                entity: entity.to_owned(),
                environment: environment.to_owned(),
                slo: b.slo.clone(),
                measured_at: at,
                remaining: b.remaining,
                budget: serde_json::to_value(b).unwrap_or_default(),
            })
            .collect();
        if let Err(e) = self
            .store
            .save_slo_status(entity, environment, &statuses)
            .await
        {
            tracing::warn!("{entity}@{environment}: budgets not kept: {e}");
        }
    }

    /// The entities whose catalog entry names an SLO file, sorted.
    fn entities_with_slos(&self) -> Vec<String> {
        let snap = self.snapshot();
        snap.entities
            .iter()
            .filter(|e| e.body.contains(SLO_ANNOTATION))
            .filter(|e| {
                serde_json::from_str::<serde_json::Value>(&e.body)
                    .ok()
                    .is_some_and(|b| crate::origin::annotation(&b, SLO_ANNOTATION).is_some())
            })
            .take(MAX_ENTITIES)
            .map(|e| e.entity_ref.to_string())
            .collect()
    }

    /// Measures and keeps every SLO of every entity in every production environment.
    pub async fn refresh_slo_budgets(&self) -> Result<RefreshSummary, AppError> {
        let entities = self.entities_with_slos();
        let envs: Vec<String> = self
            .config
            .platform
            .environments
            .values()
            .filter(|e| e.env_type == "production")
            .map(|e| e.name.clone())
            .collect();
        let mut summary = RefreshSummary {
            entities: entities.len(),
            ..Default::default()
        };
        let envs = &envs;
        let results: Vec<bool> = stream::iter(entities)
            // Owned refs: the future must be `Send` for every lifetime (it runs in a spawned task).
            .map(|entity: String| async move {
                let entity = entity.as_str();
                let file: SloFile = match self.entity_slo_file(entity).await {
                    Ok(Some(f)) => f,
                    Ok(None) => return true,
                    Err(e) => {
                        tracing::debug!("{entity}: SLO file: {}", e.message);
                        return false;
                    }
                };
                let mut ok = true;
                for env in envs {
                    match self.measure_budgets(entity, &file, env).await {
                        Ok((_, budgets)) => self.keep_budgets(entity, env, &budgets).await,
                        Err(e) => {
                            tracing::debug!("{entity}@{env}: budgets: {}", e.message);
                            ok = false;
                        }
                    }
                }
                ok
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        summary.measured = results.iter().filter(|ok| **ok).count();
        summary.failed = results.len() - summary.measured;
        Ok(summary)
    }
}

/// The organisation's SLOs in one environment, least budget left first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SloOverview {
    pub environment: String,
    /// How every kept budget of the environment stands (not only the items listed).
    pub summary: socle_store::SloSummary,
    pub items: Vec<SloStatus>,
}

/// Most rows an overview lists.
pub const MAX_OVERVIEW: usize = 10_000;

impl App {
    /// The kept budgets in `environment` (default: the production one), least budget left first,
    /// for anyone who may read; `entity` narrows to one entity.
    pub async fn slo_overview(
        &self,
        actor: &crate::actor::Actor,
        environment: Option<&str>,
        entity: Option<&str>,
        limit: Option<usize>,
    ) -> Result<SloOverview, AppError> {
        self.can_read(actor)?;
        let environment = match environment {
            Some(e) => {
                self.platform_environment(e)?;
                e.to_owned()
            }
            None => self.production_environment()?,
        };
        let limit = limit.unwrap_or(500).clamp(1, MAX_OVERVIEW);
        let items = self
            .store
            .list_slo_status(
                Some(&environment),
                entity.map(str::to_ascii_lowercase).as_deref(),
                limit as i64,
            )
            .await?;
        let summary = match entity {
            Some(_) => socle_store::SloSummary::of(&items),
            None => self.store.slo_status_summary(&environment).await?,
        };
        Ok(SloOverview {
            environment,
            summary,
            items,
        })
    }
}

/// Most teams below a team whose services a team's SLO list takes in.
const MAX_SUBTEAMS: usize = 1_000;

impl App {
    /// The kept budgets of the entities `team` owns, itself or through its sub-teams, in
    /// `environment` (default: the production one), least budget left first.
    pub async fn team_slo_overview(
        &self,
        actor: &crate::actor::Actor,
        team: &str,
        environment: Option<&str>,
    ) -> Result<SloOverview, AppError> {
        let mut overview = self
            .slo_overview(actor, environment, None, Some(MAX_OVERVIEW))
            .await?;
        let owned = self.owned_by_team(team)?;
        overview.items.retain(|s| owned.contains(&s.entity));
        overview.summary = socle_store::SloSummary::of(&overview.items);
        Ok(overview)
    }

    /// The refs of the entities `team` and its sub-teams own.
    fn owned_by_team(&self, team: &str) -> Result<std::collections::HashSet<String>, AppError> {
        use socle_catalog::RelationType;
        let team = socle_catalog::EntityRef::parse(team, Some("Group"), "default")
            .map_err(|e| AppError::bad_request(e.to_string()))?
            .to_string();
        let snap = self.snapshot();
        let mut owned = std::collections::HashSet::new();
        let mut seen = std::collections::HashSet::from([team.clone()]);
        let mut queue = vec![team];
        while let Some(g) = queue.pop() {
            let Some(view) = snap.get(&g) else { continue };
            for (t, i) in &view.relations {
                let target = snap.name(*i);
                match t {
                    RelationType::OwnerOf => {
                        owned.insert(target.to_owned());
                    }
                    RelationType::ParentOf
                        if seen.len() < MAX_SUBTEAMS && seen.insert(target.to_owned()) =>
                    {
                        queue.push(target.to_owned());
                    }
                    _ => {}
                }
            }
        }
        Ok(owned)
    }
}
