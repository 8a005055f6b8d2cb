//! Scanner findings: SARIF imports for an entity, by an admin or a member (or service account)
//! of the team that owns it, and the entity's findings for readers.

use serde::Serialize;
use socle_catalog::RelationType;
use socle_store::{FindingRecord, FindingsImported, NewFinding, Role};

use crate::teams::{groups_of, walk};
use crate::{Actor, App, AppError, AuditAction};

/// The largest SARIF document imported (the API's body limit is lower).
pub const MAX_SARIF_BYTES: usize = 16 * 1024 * 1024;

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub entity: String,
    /// The tools that ran: their findings not reported again are closed.
    pub tools: Vec<String>,
    /// Findings in the document.
    pub findings: usize,
    #[serde(flatten)]
    pub changes: FindingsImported,
}

/// A full, lower-case entity reference (`component:default/shop`), or a 400.
pub fn entity_ref(text: &str) -> Result<String, AppError> {
    socle_catalog::EntityRef::parse_full(text.trim())
        .map(|r| r.as_str().to_owned())
        .map_err(|e| AppError::bad_request(e.to_string()))
}

impl App {
    /// Who may act for an entity (import findings): an admin, or a member — or a service
    /// account listed by — its owning team or a parent of it, in the trusted team tree.
    pub fn authorize_entity(&self, actor: &Actor, entity: &str) -> Result<(), AppError> {
        let p = actor.require(Role::Member)?;
        if p.role == Role::Admin {
            return Ok(());
        }
        let snap = self.snapshot();
        let Some(v) = snap.get(entity) else {
            return Err(AppError::not_found(format!(
                "{entity} is not in the catalog"
            )));
        };
        let Some(owner) = v.owner else {
            return Err(AppError::forbidden(format!(
                "{entity} has no owner: only an admin may act for it"
            )));
        };
        let teams = walk(&snap, snap.name(owner), RelationType::ChildOf);
        if groups_of(&snap, &p.subject)
            .into_iter()
            .any(|g| teams.contains(snap.name(g)))
        {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "{} is not a member of {} (the owners of {entity}, with their parent teams)",
                p.subject,
                teams.into_iter().collect::<Vec<_>>().join(", ")
            )))
        }
    }

    /// Imports a SARIF 2.1.0 document's findings for `entity` (audited).
    pub async fn import_findings(
        &self,
        actor: &Actor,
        entity: &str,
        sarif: String,
    ) -> Result<ImportOutcome, AppError> {
        let target = entity.chars().take(256).collect::<String>();
        let result = self.import_findings_inner(actor, entity, sarif).await;
        self.audited_with(actor, AuditAction::FindingsImport, &target, result, |o| {
            format!("opened {}, closed {}", o.changes.opened, o.changes.closed)
        })
        .await
    }

    async fn import_findings_inner(
        &self,
        actor: &Actor,
        entity: &str,
        sarif: String,
    ) -> Result<ImportOutcome, AppError> {
        let entity = entity_ref(entity)?;
        self.authorize_entity(actor, &entity)?;
        if self.snapshot().get(&entity).is_none() {
            return Err(AppError::not_found(format!(
                "{entity} is not in the catalog"
            )));
        }
        if sarif.len() > MAX_SARIF_BYTES {
            return Err(AppError::bad_request(format!(
                "the SARIF document is larger than {MAX_SARIF_BYTES} bytes"
            )));
        }
        let report = self
            .cpu
            .run(move || socle_scorecard::sarif::parse(&sarif))
            .await?
            .map_err(|e| AppError::bad_request(e.to_string()))?;
        let new: Vec<NewFinding> = report
            .findings
            .iter()
            .map(|f| NewFinding {
                tool: f.tool.clone(),
                key: f.key.clone(),
                rule: f.rule.clone(),
                severity: f.severity.as_str().to_owned(),
                message: f.message.clone(),
                location: f.location.clone(),
            })
            .collect();
        let changes = self
            .store
            .import_findings(&entity, &report.tools, &new, self.now_ms())
            .await?;
        self.mark_for_rescore([entity.clone()]);
        Ok(ImportOutcome {
            entity,
            tools: report.tools,
            findings: new.len(),
            changes,
        })
    }

    /// An entity's findings (open ones; closed ones too when asked).
    pub async fn entity_findings(
        &self,
        actor: &Actor,
        entity: &str,
        include_closed: bool,
    ) -> Result<Vec<FindingRecord>, AppError> {
        self.can_read(actor)?;
        let entity = entity_ref(entity)?;
        if self.snapshot().get(&entity).is_none() {
            return Err(AppError::not_found(format!(
                "{entity} is not in the catalog"
            )));
        }
        Ok(self.store.entity_findings(&entity, include_closed).await?)
    }
}
