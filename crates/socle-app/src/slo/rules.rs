//! An entity's generated Prometheus rules: what `socle slo generate` writes for its SLO file
//! (Sloth's SLI and metadata recordings and multi-window multi-burn-rate alerts), so that the
//! SLO page can link each alert that fires to the rule that raised it.

use serde::Serialize;
use socle_slo::budget::Severity;
use socle_slo::{GenerateOptions, Rule, RuleGroup, RuleWrapping};

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;

/// The rules of an entity's SLO file.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitySloRules {
    pub entity: String,
    /// The SLO file, inside the entity's location.
    pub file: String,
    pub groups: Vec<RuleGroup>,
    /// The same rules as `socle slo generate` writes them (one YAML document per spec).
    pub yaml: String,
}

/// The anchor of an SLO's alert of one severity on the rules page (`alert-{id}-page`): Sloth
/// ids are `[A-Za-z0-9._-]` by validation, so the anchor needs no escaping.
pub fn alert_anchor(slo_id: &str, severity: Severity) -> String {
    let severity = match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    };
    format!("alert-{slo_id}-{severity}")
}

/// The name prefix of Sloth's alert group of an SLO (`sloth-slo-alerts-{id}`).
const ALERT_GROUP: &str = "sloth-slo-alerts-";

/// The anchor of a generated alerting rule of `group` (`None` for a recording rule).
pub fn rule_anchor(group: &RuleGroup, rule: &Rule) -> Option<String> {
    rule.alert.as_ref()?;
    let id = group.name.strip_prefix(ALERT_GROUP)?;
    let severity = match rule.labels.get("sloth_severity")?.as_str() {
        "page" => Severity::Page,
        "ticket" => Severity::Ticket,
        _ => return None,
    };
    Some(alert_anchor(id, severity))
}

impl App {
    /// The Prometheus rules generated from an entity's SLO file, for anyone who may read.
    pub async fn entity_slo_rules(
        &self,
        actor: &Actor,
        entity_ref: &str,
    ) -> Result<EntitySloRules, AppError> {
        self.can_read(actor)?;
        let entity = socle_catalog::EntityRef::parse(entity_ref, Some("Component"), "default")
            .map_err(|e| AppError::bad_request(e.to_string()))?
            .to_string();
        let file = self.entity_slo_file(&entity).await?.ok_or_else(|| {
            AppError::not_found(format!(
                "{entity} has no SLOs: it needs a `{}` annotation naming its SLO file",
                super::SLO_ANNOTATION
            ))
        })?;
        let options = GenerateOptions::default();
        let mut groups = Vec::new();
        let mut yaml = String::new();
        for g in &file.groups {
            let rules = socle_slo::group_rules(g, &options)
                .map_err(|e| AppError::bad_request(format!("{}: {e}", file.path)))?;
            yaml.push_str(
                &socle_slo::to_yaml(g, &rules, &file.path, RuleWrapping::AsSloth)
                    .map_err(|e| AppError::internal(e.to_string()))?,
            );
            groups.extend(rules);
        }
        Ok(EntitySloRules {
            entity,
            file: file.path,
            groups,
            yaml,
        })
    }
}
