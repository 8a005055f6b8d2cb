//! Every scope's delivery report in one call: `GET /api/v1/dora/scopes` (the logic is
//! `socle_app::dora_scopes`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Query};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/dora/scopes", get(scopes))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopesQuery {
    /// Window length ending now (or at `to`): `90d` (default), `12w`, `36h`.
    since: Option<String>,
    /// Window start, RFC 3339 (inclusive).
    from: Option<String>,
    /// Window end, RFC 3339 (exclusive; default now).
    to: Option<String>,
    /// Include every scope's weekly series (default false).
    weekly: Option<bool>,
}

/// The four keys of every scope from one index: the organisation, every team (with its child
/// teams), system, domain and service with events. Each entry equals the scope's own report
/// (`/api/v1/dora/report?scope=…`).
#[utoipa::path(get, path = "/api/v1/dora/scopes", tag = "dora", params(ScopesQuery),
    responses((status = 200, description = "`{from, to, organisation, teams: [{scope, services, …}], systems, domains, services}`", body = Object),
              (status = 400, description = "A malformed window", body = crate::error::ErrorBody)))]
pub async fn scopes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ScopesQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let w = socle_app::dora::window(
        q.since.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        state.now_ms(),
    )?;
    let all = state.dora_all_scopes(w, q.weekly.unwrap_or(false)).await?;
    Ok(Json(all).into_response())
}
