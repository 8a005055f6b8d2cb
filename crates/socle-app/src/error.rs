//! Application errors: a stable code from one list, a human message, optional details.
//! Internal errors are logged with an id and never shown to the caller.
//!
//! [`ErrorCode`] is the one place every code is named, with the HTTP status the API answers it
//! with (a number: this crate knows no HTTP types) — the API and the OpenAPI document list them
//! from here.

use std::fmt;

/// Every error code a caller can see. A row is a code, its HTTP status and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed or a value is out of bounds.
    InvalidRequest,
    /// The body is larger than the server accepts.
    TooLarge,
    /// The path exists, but not with this method.
    MethodNotAllowed,
    /// No valid token (or session) was presented.
    Unauthenticated,
    /// A webhook's signature or token does not match.
    BadSignature,
    /// No secret is configured to verify this kind of webhook.
    WebhookNotConfigured,
    /// The caller may not do this.
    Forbidden,
    /// Nothing by that name.
    NotFound,
    /// The request conflicts with the stored state.
    Conflict,
    /// A workload's resources could not be resolved.
    ResolutionFailed,
    /// Guardrails denied the deploy; nothing was committed.
    BlockedByGuardrails,
    /// A golden-path run failed (its steps are in the details).
    RunFailed,
    /// Policies did not compile or could not run.
    PolicyError,
    /// An evaluation went past its time or memory bound.
    PolicyLimit,
    /// Every CPU slot is busy and the queue is full: retry shortly.
    Busy,
    /// A dependency (the database) is not reachable.
    Unavailable,
    /// A fault on the server's side (details only in its log).
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the table above (for documentation and tests).
    pub const ALL: [ErrorCode; 17] = [
        Self::InvalidRequest,
        Self::TooLarge,
        Self::MethodNotAllowed,
        Self::Unauthenticated,
        Self::BadSignature,
        Self::WebhookNotConfigured,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::ResolutionFailed,
        Self::BlockedByGuardrails,
        Self::RunFailed,
        Self::PolicyError,
        Self::PolicyLimit,
        Self::Busy,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The stable name clients match on.
    pub const fn name(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::TooLarge => "too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unauthenticated => "unauthenticated",
            Self::BadSignature => "bad_signature",
            Self::WebhookNotConfigured => "webhook_not_configured",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::ResolutionFailed => "resolution_failed",
            Self::BlockedByGuardrails => "blocked_by_guardrails",
            Self::RunFailed => "run_failed",
            Self::PolicyError => "policy_error",
            Self::PolicyLimit => "policy_limit",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// What the code means, in a few words (the OpenAPI document's response descriptions).
    pub const fn summary(self) -> &'static str {
        match self {
            Self::InvalidRequest => "the request is malformed or a value is out of bounds",
            Self::TooLarge => "the body is larger than the server accepts",
            Self::MethodNotAllowed => "the path exists, but not with this method",
            Self::Unauthenticated => "no valid token (or session) was presented",
            Self::BadSignature => "a webhook's signature or token does not match",
            Self::WebhookNotConfigured => "no secret is configured to verify this kind of webhook",
            Self::Forbidden => "the caller may not do this",
            Self::NotFound => "nothing by that name",
            Self::Conflict => "the request conflicts with the stored state",
            Self::ResolutionFailed => "a workload's resources could not be resolved",
            Self::BlockedByGuardrails => "guardrails denied the deploy; nothing was committed",
            Self::RunFailed => "a golden-path run failed (its steps are in the details)",
            Self::PolicyError => "policies did not compile or could not run",
            Self::PolicyLimit => "an evaluation went past its time or memory bound",
            Self::Busy => "every CPU slot is busy and the queue is full: retry shortly",
            Self::Unavailable => "a dependency (the database, a Prometheus) is not reachable",
            Self::Internal => "a fault on the server's side (details only in its log)",
        }
    }

    /// The HTTP status the API answers this code with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::TooLarge => 413,
            Self::MethodNotAllowed => 405,
            Self::Unauthenticated | Self::BadSignature | Self::WebhookNotConfigured => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::ResolutionFailed
            | Self::BlockedByGuardrails
            | Self::RunFailed
            | Self::PolicyError
            | Self::PolicyLimit => 422,
            Self::Busy | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// Refusals of who is asking (401, 403): audited as `denied`, not `failed`.
    pub const fn is_refusal(self) -> bool {
        matches!(self.http_status(), 401 | 403)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error of an application service.
#[derive(Debug, Clone)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn with_details(mut self, details: Option<serde_json::Value>) -> Self {
        self.details = details;
        self
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "this request needs a valid API token: send `Authorization: Bearer <token>`",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// The details as lines for a terminal: a string as it is; a finding (`message` with `rule`,
    /// `path`, `workload`, `line`, `file` when present) as `workload W: path: message [rule]`;
    /// anything else as compact JSON.
    pub fn detail_lines(&self) -> Vec<String> {
        let items = match &self.details {
            None => return Vec::new(),
            Some(serde_json::Value::Array(items)) => items.clone(),
            Some(other) => vec![other.clone()],
        };
        items.iter().map(detail_line).collect()
    }

    /// Logs the real cause under a random id and returns a generic internal error.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let id = format!("{:016x}", rand_id());
        tracing::error!(error_id = %id, "internal error: {cause}");
        Self::new(
            ErrorCode::Internal,
            format!("internal error (reference {id}; details are in the server log)"),
        )
    }
}

fn detail_line(v: &serde_json::Value) -> String {
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
    match (v.as_str(), field("message")) {
        (Some(s), _) => s.to_owned(),
        (None, Some(message)) => {
            let mut out = String::new();
            if let Some(file) = field("file") {
                out.push_str(file);
                if let Some(line) = v.get("line").and_then(serde_json::Value::as_u64) {
                    out.push_str(&format!(":{line}"));
                }
                out.push_str(": ");
            }
            if let Some(w) = field("workload") {
                out.push_str(&format!("workload {w}: "));
            }
            if let Some(p) = field("path").filter(|p| !p.is_empty()) {
                out.push_str(&format!("{p}: "));
            }
            out.push_str(message);
            if let Some(rule) = field("rule") {
                out.push_str(&format!(" [{rule}]"));
            }
            out
        }
        (None, None) => v.to_string(),
    }
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl From<socle_store::StoreError> for AppError {
    fn from(e: socle_store::StoreError) -> Self {
        match e {
            socle_store::StoreError::User(m) => Self::new(ErrorCode::Conflict, m),
            socle_store::StoreError::Invalid(m) => Self::bad_request(m),
            socle_store::StoreError::NotFound(m) => Self::not_found(format!("not found: {m}")),
            other => Self::internal(other),
        }
    }
}

impl From<socle_search::SearchError> for AppError {
    fn from(e: socle_search::SearchError) -> Self {
        if e.is_user_error() {
            Self::bad_request(e.to_string())
        } else {
            Self::internal(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn refusals_are_401_and_403_only() {
        let refusals: Vec<ErrorCode> = ErrorCode::ALL
            .into_iter()
            .filter(|c| c.is_refusal())
            .collect();
        assert_eq!(
            refusals,
            [
                ErrorCode::Unauthenticated,
                ErrorCode::BadSignature,
                ErrorCode::WebhookNotConfigured,
                ErrorCode::Forbidden
            ]
        );
    }

    #[test]
    fn details_read_as_lines_for_a_terminal() {
        let e = AppError::bad_request("x").with_details(Some(serde_json::json!([
            "deny[image-tag]: container main uses :latest",
            {"workload": "shop", "path": "resources.db", "message": "no definition", "rule": "resolve.no-match"},
            {"file": "score.yaml", "line": 3, "message": "bad", "rule": "r"},
            {"other": 1}
        ])));
        assert_eq!(
            e.detail_lines(),
            [
                "deny[image-tag]: container main uses :latest",
                "workload shop: resources.db: no definition [resolve.no-match]",
                "score.yaml:3: bad [r]",
                "{\"other\":1}",
            ]
        );
        assert!(AppError::bad_request("x").detail_lines().is_empty());
    }
}
