//! Adoption and impact over HTTP: the organisation's report for anyone signed in, a team's
//! details for its members (or a parent team's) and admins.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json, Query};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/adoption", get(adoption_report))
        .route("/api/v1/adoption/teams/{team}", get(team_adoption))
}

/// The report's window.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdoptionQuery {
    /// How far back, e.g. `90d` (default), `12w`; at most 1,096 days. Impact windows are at
    /// most this long on each side of a team's adoption date.
    since: Option<String>,
}

/// The organisation's adoption report: shares of services from golden paths, deployed through
/// Socle, with docs, with SLOs and at each scorecard level, now and per week; golden-path runs
/// per template (success rate, duration); time to first deploy (median, p90); people active
/// per week in the portal and through the CLI/API (counts only); the teams' impact tallied;
/// and the teams the caller may see in detail (admins: all, members: their own).
#[utoipa::path(get, path = "/api/v1/adoption", tag = "adoption", params(AdoptionQuery),
    responses((status = 200, description = "`{adoption: {scope, from, to, now: {services, golden_path, golden_path_share, deployed_through_socle, deployed_share, with_docs, docs_share, with_slo, slo_share}, scorecards, weekly, templates, time_to_first_deploy: {services, not_deployed, median_hours, p90_hours}}, impact: {teams, adopted, compared, keys}, teams: [{team, adopted_at, adopted_by, before, after, dora_before, dora_after, keys, surveys, caveats}]}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn adoption_report(
    State(state): S,
    caller: Caller,
    q: Result<Query<AdoptionQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    Ok(Json(state.adoption_overview(&caller, q.since.as_deref()).await?).into_response())
}

/// One team's adoption and impact: DORA's four keys and survey results before and after its
/// adoption date, with the caveats (the team's members, a parent team's members and admins).
#[utoipa::path(get, path = "/api/v1/adoption/teams/{team}", tag = "adoption",
    params(("team" = String, Path, description = "`team-a`, or `group:default%2Fteam-a` (a reference, its slash encoded)"), AdoptionQuery),
    responses((status = 200, description = "`{adoption, impact: {team, adopted_at, adopted_by, before: {from, to}, after, dora_before, dora_after, keys: [{key, before, after, change, better}], surveys: [{survey, before: {round, score}, after}], caveats: [{kind, message}]}}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn team_adoption(
    State(state): S,
    caller: Caller,
    Path(team): Path<String>,
    q: Result<Query<AdoptionQuery>, ApiError>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    Ok(Json(
        state
            .adoption_team(&caller, &team, q.since.as_deref())
            .await?,
    )
    .into_response())
}
