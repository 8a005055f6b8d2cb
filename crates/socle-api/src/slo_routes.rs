//! SLOs over HTTP: an entity's SLOs with their error budgets in an environment, and SLI counts
//! pushed where there is no Prometheus.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_app::AuditAction;
use socle_app::slo::{EntitySlos, SloEventsInput};
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, Json, Path, Query};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/slo/events", post(push_events))
        .route("/api/v1/slos", get(overview))
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/slos",
            get(entity_slos),
        )
}

/// Good and total events over `[start, end)`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloIntervalIn {
    /// RFC 3339, with a timezone.
    start: String,
    /// RFC 3339, with a timezone; after `start`, at most a day later.
    end: String,
    good: i64,
    total: i64,
}

/// `{"entity": "shop", "slo": "requests-availability", "environment": "production",
/// "intervals": [{"start": "…", "end": "…", "good": 9990, "total": 10000}]}`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloEventsIn {
    /// A component (`shop`, `component:default/shop`) whose `socle.dev/slo` file defines the SLO.
    entity: String,
    /// The SLO's name in that file.
    slo: String,
    environment: String,
    /// 1 to 10,000 intervals; one with the start of a recorded interval replaces it.
    intervals: Vec<SloIntervalIn>,
}

/// Records SLI counts for an SLO (where the environment has no Prometheus): for an admin, a
/// member of the team owning the entity, or a service account it lists.
#[utoipa::path(post, path = "/api/v1/slo/events", tag = "slo", request_body = SloEventsIn,
    responses((status = 201, description = "`{entity, slo, environment, intervals}`: what was recorded", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn push_events(
    State(state): S,
    caller: Caller,
    body: Result<Json<SloEventsIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::SloEvents, "slo");
    let body = audit::body(&state, &caller, Role::Member, what, body).await?;
    let input = SloEventsInput {
        entity: body.entity,
        slo: body.slo,
        environment: body.environment,
        intervals: body
            .intervals
            .into_iter()
            .map(|i| socle_app::slo::SloIntervalInput {
                start: i.start,
                end: i.end,
                good: i.good,
                total: i.total,
            })
            .collect(),
    };
    let written = state.push_slo_events(&caller, input).await?;
    Ok((StatusCode::CREATED, Json(written)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlosQuery {
    /// An environment of the platform (default: its first environment of type `production`).
    environment: Option<String>,
}

/// An entity's SLOs (from its `socle.dev/slo` file) with their error budgets now in one
/// environment: SLI over the period, remaining budget, burn rate per window, time to exhaustion,
/// alerts that would fire; measured by the environment's Prometheus or from pushed counts.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/slos", tag = "slo",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path), SlosQuery),
    responses((status = 200, description = "`{entity, environment, file, source: {type: prometheus|pushed, url?}, measuredAt, budgets: [{id, service, slo, objective, period, sli, errorBudget, remaining, windows: [{window, errorRatio, burnRate}], secondsToExhaustion, firing}]}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn entity_slos(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Query(q): Query<SlosQuery>,
) -> Result<Json<EntitySlos>, ApiError> {
    let entity = format!("{kind}:{namespace}/{name}");
    Ok(Json(
        state
            .entity_slos(&caller, &entity, q.environment.as_deref())
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// An environment of the platform (default: its first environment of type `production`).
    environment: Option<String>,
    /// At most this many, 1–10,000 (default 500).
    limit: Option<usize>,
}

/// The organisation's SLOs in one environment as last measured (the periodic budget refresh,
/// entity pages, deploys), least budget left first — spent budgets on top, no data last.
#[utoipa::path(get, path = "/api/v1/slos", tag = "slo", params(OverviewQuery),
    responses((status = 200, description = "`{environment, items: [{entity, environment, slo, measuredAt, remaining, budget}]}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn overview(
    State(state): S,
    caller: Caller,
    Query(q): Query<OverviewQuery>,
) -> Result<Json<socle_app::slo::refresh::SloOverview>, ApiError> {
    Ok(Json(
        state
            .slo_overview(&caller, q.environment.as_deref(), None, q.limit)
            .await?,
    ))
}
