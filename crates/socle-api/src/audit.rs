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
