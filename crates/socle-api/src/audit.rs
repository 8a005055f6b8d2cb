//! HTTP handlers audit through the application's one path ([`socle_app::App::audited`]).

use socle_app::{App, AuditAction};

use crate::auth::Caller;
use crate::error::{ApiError, Json};

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

/// A mutation's JSON body, looked at after the caller: a body that could not be read is refused
/// as `invalid_request` only to a caller who holds `needed` — anyone else is refused first as
/// unauthenticated or forbidden, so that an anonymous client learns nothing of the body's
/// schema — and the refusal is audited like any other attempt.
pub async fn body<T>(
    app: &App,
    caller: &Caller,
    needed: socle_store::Role,
    (action, target): (AuditAction, &str),
    body: Result<Json<T>, ApiError>,
) -> Result<T, ApiError> {
    input(app, caller, needed, (action, target), body.map(|Json(b)| b)).await
}

/// [`body`] for any input an extractor read (a query string too).
pub async fn input<T>(
    app: &App,
    caller: &Caller,
    needed: socle_store::Role,
    (action, target): (AuditAction, &str),
    input: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let rejected = match input {
        Ok(v) => return Ok(v),
        Err(rejected) => rejected,
    };
    let e = match caller.0.require(needed) {
        Err(refused) => refused,
        Ok(_) => rejected.0,
    };
    match app
        .audited(&caller.0, action, target, Err::<(), _>(e))
        .await
    {
        Err(e) => Err(ApiError(e)),
        Ok(()) => Err(ApiError::internal("an error was audited as a success")),
    }
}
