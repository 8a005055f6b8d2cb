//! Scorecards and scanner findings over HTTP: the platform's scorecards, one scorecard's
//! distribution per level and leaderboard by team, an entity's levels with its failing rules,
//! SARIF imports and an entity's findings.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json, Query};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/scorecards", get(list_scorecards))
        .route("/api/v1/scorecards/{name}", get(get_scorecard))
        .route("/api/v1/scorecards/{name}/history", get(scorecard_history))
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/scorecards",
            get(entity_scorecards),
        )
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/findings",
            get(entity_findings),
        )
        .route("/api/v1/findings", post(import_findings))
        .route("/api/v1/campaigns", get(list_campaigns))
        .route("/api/v1/campaigns/{name}", get(get_campaign))
        .route(
            "/api/v1/campaigns/{name}/teams/{team}",
            get(get_campaign_team),
        )
        .route(
            "/api/v1/campaigns/{name}/promotion",
            get(campaign_promotion),
        )
}

/// The platform's scorecards: the built-in ones and those of the platform configuration.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "scorecards",
    responses((status = 200, description = "`[{name, title, description, levels, rules, filter, source}]`", body = Vec<Object>)))]
pub async fn list_scorecards(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(state.scorecard_list(&caller)?).into_response())
}

/// One scorecard over the catalog: its rules (with how many entities pass each), the
/// distribution of levels (`level: null` is below the first level) and the leaderboard by
/// owning team.
#[utoipa::path(get, path = "/api/v1/scorecards/{name}", tag = "scorecards",
    params(("name" = String, Path)),
    responses((status = 200, description = "`{name, title, levels, rule_list, entities, distribution: [{level, entities}], errors, leaderboard: [{team, entities, score, levels}], evaluated_at}`", body = Object),
              (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn get_scorecard(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.scorecard_report(&caller, &name).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this entity (`kind:namespace/name`).
    entity: Option<String>,
    /// Only the entities this team owns (`team-a` or `group:default/team-a`).
    team: Option<String>,
    /// How many days back (1 to 366, default 30).
    days: Option<u32>,
}

/// A scorecard's levels per day (UTC): how many entities held each level (`counts[0]`: below
/// the first level), over the whole catalog, one team's entities or one entity.
#[utoipa::path(get, path = "/api/v1/scorecards/{name}/history", tag = "scorecards",
    params(("name" = String, Path), HistoryQuery),
    responses((status = 200, description = "`{scorecard, levels, days: [{date, counts}]}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn scorecard_history(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let h = state
        .scorecard_history(
            &caller,
            &name,
            q.entity.as_deref(),
            q.team.as_deref(),
            q.days.unwrap_or(30),
        )
        .await?;
    Ok(Json(h).into_response())
}

/// Every scorecard that selects the entity: its level, each rule's outcome and, for a failing
/// rule, its fix-it text, what the check said and the facts it read (with their source).
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/scorecards", tag = "scorecards",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`[{scorecard, entity, level, passed, total, rules: [{id, level, title, passed, fixit, message, facts}], error}]`", body = Vec<Object>),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn entity_scorecards(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let entity = format!("{kind}:{namespace}/{name}");
    Ok(Json(state.entity_scorecards(&caller, &entity).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingsQuery {
    /// Closed findings too (default false).
    closed: Option<bool>,
}

/// An entity's scanner findings: open ones, closed ones too with `closed=true`.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/findings", tag = "scorecards",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path), FindingsQuery),
    responses((status = 200, description = "`[{entity, tool, key, rule, severity, message, location, first_seen, last_seen, closed_at}]` (times in ms)", body = Vec<Object>),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn entity_findings(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Query(q): Query<FindingsQuery>,
) -> Result<Response, ApiError> {
    let entity = format!("{kind}:{namespace}/{name}");
    let list = state
        .entity_findings(&caller, &entity, q.closed.unwrap_or(false))
        .await?;
    Ok(Json(list).into_response())
}

/// `{"entity": "component:default/shop", "sarif": {<a SARIF 2.1.0 log>}}`
#[derive(Deserialize, ToSchema)]
pub struct FindingsIn {
    entity: String,
    #[schema(value_type = Object)]
    sarif: serde_json::Value,
}

/// Imports a SARIF 2.1.0 log's findings for an entity. An admin, or a member (or listed
/// service account) of the team that owns it; audited. A tool's open findings that this import
/// does not report again are closed.
#[utoipa::path(post, path = "/api/v1/findings", tag = "scorecards", request_body = FindingsIn,
    responses((status = 200, description = "`{entity, tools, findings, opened, still_open, closed}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_findings(
    State(state): S,
    caller: Caller,
    body: Result<Json<FindingsIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::FindingsImport, "findings");
    let body = crate::audit::body(&state, &caller, Role::Member, what, body).await?;
    let outcome = state
        .import_findings(&caller, &body.entity, body.sarif.to_string())
        .await?;
    Ok((StatusCode::OK, Json(outcome)).into_response())
}

/// The platform's campaigns: rules every selected entity should pass by a target date.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "scorecards",
    responses((status = 200, description = "`[{name, title, brief, start, target, rules, filter, source}]`", body = Vec<Object>)))]
pub async fn list_campaigns(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(state.campaign_list(&caller)?).into_response())
}

/// One campaign's progress: per team (furthest behind first; `behind` when its progress is
/// below the share of the campaign's time gone; the first 10 entities still failing of the 200
/// teams furthest behind), and the whole catalog's burn-up. A team's own burn-up and list:
/// `/api/v1/campaigns/{name}/teams/{team}`.
#[utoipa::path(get, path = "/api/v1/campaigns/{name}", tag = "scorecards",
    params(("name" = String, Path)),
    responses((status = 200, description = "`{name, title, brief, start, target, rule_list, entities, passing, expected, teams: [{team, entities, passing, progress, behind, failing, reminder}], burnup: [{date, passing, total}]}`", body = Object),
              (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn get_campaign(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.campaign_report(&caller, &name).await?).into_response())
}

/// One team's progress in a campaign: its counts, its burn-up and its first 200 entities still
/// failing (`team`: `team-a`, a group ref with `/` escaped as `%2F`, or `(no owner)`).
#[utoipa::path(get, path = "/api/v1/campaigns/{name}/teams/{team}", tag = "scorecards",
    params(("name" = String, Path), ("team" = String, Path)),
    responses((status = 200, description = "`{team, entities, passing, progress, behind, failing, burnup: [{date, passing, total}], reminder}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn get_campaign_team(
    State(state): S,
    caller: Caller,
    Path((name, team)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(state.campaign_team(&caller, &name, &team).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PromotionQuery {
    /// The scorecard that takes the campaign's rules.
    into: String,
    /// The level of that scorecard the rules go to.
    level: String,
}

/// The scorecard file with the campaign's rules added at a level (`{file}`: YAML), for an
/// admin to commit where the platform's scorecards are read. Changes nothing.
#[utoipa::path(get, path = "/api/v1/campaigns/{name}/promotion", tag = "scorecards",
    params(("name" = String, Path), PromotionQuery),
    responses((status = 200, description = "`{file}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn campaign_promotion(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<PromotionQuery>,
) -> Result<Response, ApiError> {
    let file = state.promote_campaign(&caller, &name, &q.into, &q.level)?;
    Ok(Json(serde_json::json!({ "file": file })).into_response())
}
