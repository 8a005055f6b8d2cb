//! The audit log's one entry point for HTTP mutations: every attempt — ok, denied or failed —
//! is written with what was sent bounded, then the result passes on.

use axum::http::StatusCode;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, now_ms};

const AUDIT_TARGET_CHARS: usize = 256;
const AUDIT_DETAIL_CHARS: usize = 1024;

/// At most `max` characters of `s`, with `…` when cut.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((i, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..i])),
    }
}

/// Writes the audit entry for a mutation attempt (ok, denied or failed) and passes the result on.
pub async fn audited<T>(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let (outcome, detail) = match &result {
        Ok(_) => ("ok", String::new()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
            ("denied", e.message.clone())
        }
        Err(e) => ("failed", e.code.to_owned()),
    };
    // What a caller sent is bounded before it is kept: a denied request must not fill the log.
    let (target, detail) = (
        clip(target, AUDIT_TARGET_CHARS),
        clip(&detail, AUDIT_DETAIL_CHARS),
    );
    if let Err(e) = state
        .store
        .audit(&caller.actor(), action, &target, outcome, &detail, now_ms())
        .await
    {
        tracing::error!("cannot write the audit log: {e}");
        return Err(ApiError::internal(e));
    }
    result
}
