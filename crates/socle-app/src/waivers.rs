//! Guardrail waivers: admins grant and revoke them (audited); anyone who may read sees them.

use socle_store::{Role, Waiver};

use crate::App;
use crate::actor::Actor;
use crate::audit::AuditAction;
use crate::error::AppError;

/// A waiver as an admin asks for it.
#[derive(Debug, Clone)]
pub struct NewWaiver {
    pub rule: String,
    /// A component reference (`shop`, `component:default/shop`).
    pub entity: String,
    /// Empty: every environment.
    pub environment: String,
    pub reason: String,
    pub owner: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
}

impl App {
    /// Grants a waiver (admin). Audited, with its reason.
    pub async fn create_waiver(&self, actor: &Actor, new: NewWaiver) -> Result<Waiver, AppError> {
        let target = format!("{} {}", new.rule, new.entity);
        let result = async {
            let who = actor.require(Role::Admin)?.subject.clone();
            self.check_waiver(&new)?;
            let entity = socle_catalog::EntityRef::parse(&new.entity, Some("Component"), "default")
                .map_err(|e| AppError::bad_request(e.to_string()))?;
            Ok(self
                .store
                .create_waiver(Waiver {
                    id: String::new(),
                    rule: new.rule,
                    entity: entity.to_string(),
                    environment: new.environment,
                    reason: new.reason,
                    owner: new.owner,
                    expires_at: new.expires_at,
                    created_by: who,
                    created_at: self.now_ms(),
                    revoked_at: None,
                })
                .await?)
        }
        .await;
        self.audited_with(actor, AuditAction::WaiverCreate, &target, result, |w| {
            w.reason.clone()
        })
        .await
    }

    /// A waiver names a rule the guardrails know (when their metadata lists rules) and an
    /// environment of the platform (or none: every environment).
    fn check_waiver(&self, new: &NewWaiver) -> Result<(), AppError> {
        if let Some(set) = &self.config.guardrails {
            let mut known: Vec<&str> = set.rule_ids().collect();
            if !known.is_empty() {
                known.push(crate::slo::gate::SLO_RULE);
            }
            if !known.is_empty() && !known.contains(&new.rule.as_str()) {
                return Err(AppError::bad_request(format!(
                    "unknown rule \"{}\"; the guardrails' rules are: {}",
                    new.rule,
                    known.join(", ")
                )));
            }
        }
        let envs = &self.config.platform.environments;
        if !new.environment.is_empty() && !envs.contains_key(&new.environment) {
            return Err(AppError::bad_request(format!(
                "unknown environment \"{}\"; this platform has: {}",
                new.environment,
                envs.keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }

    /// Revokes a waiver (admin). Audited.
    pub async fn revoke_waiver(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let result = async {
            actor.require(Role::Admin)?;
            self.store.revoke_waiver(id, self.now_ms()).await?;
            Ok(())
        }
        .await;
        self.audited(actor, AuditAction::WaiverRevoke, id, result)
            .await
    }
}
