//! HTTP handlers audit through the application's one path ([`socle_app::App::audited`]).

use socle_app::{App, AuditAction};

use crate::auth::Caller;
use crate::error::ApiError;

/// Writes the audit entry for a mutation attempt (ok, denied or failed) and passes the result on.
pub async fn audited<T>(
    app: &App,
    caller: &Caller,
    action: AuditAction,
    target: &str,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    Ok(app
        .audited(&caller.0, action, target, result.map_err(|e| e.0))
        .await?)
}

/// A mutation whose JSON body could not be read: refused as `invalid_request` — or first as
/// unauthenticated or forbidden when the caller lacks `needed` — and audited like any other
/// attempt.
pub async fn bad_body(
    app: &App,
    caller: &Caller,
    needed: socle_store::Role,
    (action, target): (AuditAction, &str),
    rejection: axum::extract::rejection::JsonRejection,
) -> ApiError {
    let e = match caller.0.require(needed) {
        Err(refused) => refused,
        Ok(_) => socle_app::AppError::bad_request(rejection.body_text()),
    };
    match app
        .audited(&caller.0, action, target, Err::<(), _>(e))
        .await
    {
        Err(e) => ApiError(e),
        Ok(()) => ApiError::internal("an error was audited as a success"),
    }
}
