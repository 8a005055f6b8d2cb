//! The audit log's one entry point: every mutation attempt — from the API, the portal or the
//! CLI; ok, denied or failed — is written through [`App::audited`] with a typed
//! [`AuditAction`] and what was sent bounded, then the result passes on.

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;

const AUDIT_TARGET_CHARS: usize = 256;
const AUDIT_DETAIL_CHARS: usize = 1024;

/// Every action the audit log records. A row is an action and the name stored for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    LocationCreate,
    LocationRefresh,
    LocationDelete,
    CatalogRefresh,
    TokenCreate,
    TokenRevoke,
    SessionOpen,
    Deploy,
    Promote,
    Rollback,
    SecretRead,
    WaiverCreate,
    WaiverRevoke,
    DoraImport,
    DoraIncident,
    TemplateRun,
    SloEvents,
    FindingsImport,
    FeedbackTriage,
    OrgSync,
    DataAccessRequest,
    DataAccessApprove,
    DataAccessDeny,
    DataAccessRevoke,
    DataQualityRecord,
}

impl AuditAction {
    pub const ALL: [AuditAction; 25] = [
        Self::LocationCreate,
        Self::LocationRefresh,
        Self::LocationDelete,
        Self::CatalogRefresh,
        Self::TokenCreate,
        Self::TokenRevoke,
        Self::SessionOpen,
        Self::Deploy,
        Self::Promote,
        Self::Rollback,
        Self::SecretRead,
        Self::WaiverCreate,
        Self::WaiverRevoke,
        Self::DoraImport,
        Self::DoraIncident,
        Self::TemplateRun,
        Self::SloEvents,
        Self::FindingsImport,
        Self::FeedbackTriage,
        Self::OrgSync,
        Self::DataAccessRequest,
        Self::DataAccessApprove,
        Self::DataAccessDeny,
        Self::DataAccessRevoke,
        Self::DataQualityRecord,
    ];

    /// The name stored in the audit log (stable: readers filter on it).
    pub const fn name(self) -> &'static str {
        match self {
            Self::LocationCreate => "location.create",
            Self::LocationRefresh => "location.refresh",
            Self::LocationDelete => "location.delete",
            Self::CatalogRefresh => "catalog.refresh",
            Self::TokenCreate => "token.create",
            Self::TokenRevoke => "token.revoke",
            Self::SessionOpen => "session.open",
            Self::Deploy => "deployment.deploy",
            Self::Promote => "deployment.promote",
            Self::Rollback => "deployment.rollback",
            Self::SecretRead => "secret.read",
            Self::WaiverCreate => "waiver.create",
            Self::WaiverRevoke => "waiver.revoke",
            Self::DoraImport => "dora.import",
            Self::DoraIncident => "dora.incident",
            Self::TemplateRun => "template.run",
            Self::SloEvents => "slo.events",
            Self::FindingsImport => "findings.import",
            Self::FeedbackTriage => "feedback.triage",
            Self::OrgSync => "org.sync",
            Self::DataAccessRequest => "data_access.request",
            Self::DataAccessApprove => "data_access.approve",
            Self::DataAccessDeny => "data_access.deny",
            Self::DataAccessRevoke => "data_access.revoke",
            Self::DataQualityRecord => "data_quality.record",
        }
    }
}

/// How an attempt ended, as the audit log says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Ok,
    /// Refused for who was asking (401/403).
    Denied,
    Failed,
}

impl AuditOutcome {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
    }
}

impl App {
    /// Writes the audit entry for a mutation attempt and passes the result on. A success's
    /// detail is `detail`; a refusal's is its message; a failure's its error code.
    pub async fn audited<T>(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &str,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.audited_with(actor, action, target, result, |_| String::new())
            .await
    }

    /// [`App::audited`] with a detail drawn from the success (a commit, a reason).
    pub async fn audited_with<T>(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &str,
        result: Result<T, AppError>,
        detail_of: impl FnOnce(&T) -> String,
    ) -> Result<T, AppError> {
        let (outcome, detail) = match &result {
            Ok(v) => (AuditOutcome::Ok, detail_of(v)),
            Err(e) if e.code.is_refusal() => (AuditOutcome::Denied, e.message.clone()),
            Err(e) => (AuditOutcome::Failed, e.code.name().to_owned()),
        };
        self.record(&actor.name(), action, target, outcome, &detail)
            .await?;
        result
    }

    /// Writes one audit row as `who` (see [`record_to`]).
    pub async fn record(
        &self,
        who: &str,
        action: AuditAction,
        target: &str,
        outcome: AuditOutcome,
        detail: &str,
    ) -> Result<(), AppError> {
        record_to(
            &self.store,
            self.now_ms(),
            who,
            action,
            target,
            outcome,
            detail,
        )
        .await
    }
}

/// Writes one audit row as `who` — also for actors that are not a token (the operator's CLI,
/// the bootstrap) and where no [`App`] is loaded (the CLI works on the store). What a caller
/// sent is bounded before it is kept. Every audit row of Socle is written here.
pub async fn record_to(
    store: &socle_store::Store,
    now_ms: i64,
    who: &str,
    action: AuditAction,
    target: &str,
    outcome: AuditOutcome,
    detail: &str,
) -> Result<(), AppError> {
    let (target, detail) = (
        clip(target, AUDIT_TARGET_CHARS),
        clip(detail, AUDIT_DETAIL_CHARS),
    );
    if let Err(e) = store
        .audit(who, action.name(), &target, outcome.name(), &detail, now_ms)
        .await
    {
        tracing::error!("cannot write the audit log: {e}");
        return Err(AppError::internal(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("ab", 2), "ab");
    }
}
