//! Data products over HTTP: the organisation's data contracts, the processing register, and
//! access grants to a product's classified columns (asked by a member, decided by the product's
//! owner team, audited, expiring).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_app::AuditAction;
use socle_app::data::{DataCatalog, DataFilter};
use socle_app::data_access::{AccessRequest, Decision};
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/data/products", get(data_products))
        .route(
            "/api/v1/data/products/{name}/quality",
            get(quality_history).post(record_quality),
        )
        .route("/api/v1/data/products/{name}/lineage", get(data_lineage))
        .route("/api/v1/data/runs", get(list_data_runs))
        .route("/api/v1/data/runs/{id}", get(one_data_run))
        .route("/api/v1/data/access", get(list_access).post(request_access))
        .route("/api/v1/data/access/check", get(check_access))
        .route("/api/v1/data/access/{id}/approve", post(approve_access))
        .route("/api/v1/data/access/{id}/deny", post(deny_access))
        .route("/api/v1/data/access/{id}/revoke", post(revoke_access))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct FacetsQuery {
    /// Only the products of this domain.
    domain: Option<String>,
    /// Only this tier: bronze, silver or gold.
    tier: Option<String>,
    /// Only the products this group owns (`group:default/data`).
    owner: Option<String>,
    /// Only the products with a column of this classification (pii, confidential, …), and
    /// only those columns in the register.
    classification: Option<String>,
}

/// The data catalog: data products (catalog entities of kind DataContract, from ODCS files:
/// gold first) and the processing register — every column classified as personal or
/// restricted (pii, personal, confidential, restricted, sensitive, secret), with its product,
/// owner, purpose and servers — narrowed by the filters given, with facet counts (each facet
/// counted with the other filters applied).
#[utoipa::path(get, path = "/api/v1/data/products", tag = "data", params(FacetsQuery),
    responses((status = 200, description = "`{products: [{entity, title, owner, domain, tier, lifecycle, tables, columns, sensitiveColumns}], register: [{entity, owner, purpose, table, column, classification, servers}], register_truncated, facets: {domain, tier, owner, classification: [{value, count}]}}`", body = Object),
              (status = 401, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn data_products(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<FacetsQuery>,
) -> Result<Json<DataCatalog>, ApiError> {
    let keep = |v: Option<String>| v.filter(|v| !v.is_empty());
    let filter = DataFilter {
        domain: keep(q.domain),
        tier: keep(q.tier),
        owner: keep(q.owner),
        classification: keep(q.classification),
    };
    Ok(Json(state.data_catalog(&caller, &filter)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only the runs of this pipeline directory (as given to `socle data run`).
    pipeline: Option<String>,
    /// Most runs listed (1 to 1000; 20 by default).
    limit: Option<i64>,
}

/// Pipeline runs `socle data run` recorded, newest first, without their models.
#[utoipa::path(get, path = "/api/v1/data/runs", tag = "data", params(RunsQuery),
    responses((status = 200, description = "`[{id, pipeline, target_schema, started_at, finished_at, passed, model_count, failed, skipped}]`", body = Vec<Object>),
              (status = 401, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn list_data_runs(
    State(state): S,
    caller: Caller,
    Query(q): Query<RunsQuery>,
) -> Result<Response, ApiError> {
    let runs = state
        .data_runs(&caller, q.pipeline.as_deref(), q.limit.unwrap_or(20))
        .await?;
    Ok(Json(runs).into_response())
}

/// One pipeline run with its models in run order (tier, materialisation, status, duration,
/// check counts, reason).
#[utoipa::path(get, path = "/api/v1/data/runs/{id}", tag = "data",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{id, pipeline, …, models: [{model, tier, materialized, status, duration_ms, checks, reason}]}`", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn one_data_run(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.data_run(&caller, &id).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LineageQuery {
    /// Levels followed each way (1 to 5; 3 by default).
    depth: Option<u32>,
}

/// A data product's lineage from the catalog: upstream (the datasets and jobs it is derived
/// from, its contract's `dependsOn`, followed transitively) and downstream (what depends on it
/// and the consumers its contract names), each node at its shortest distance (`level`:
/// negative upstream), with the edges among them (`from` → `to`: data flows that way). At most
/// 50 nodes per level; `more` counts the rest.
#[utoipa::path(get, path = "/api/v1/data/products/{name}/lineage", tag = "data",
    params(("name" = String, Path, description = "the product's name (or `datacontract:default/name`)"), LineageQuery),
    responses((status = 200, description = "`{product, nodes: [{entity, kind, tier, level, exists}], edges: [{from, to}], more: {level: count}}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn data_lineage(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<LineageQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(state.data_lineage(&caller, &name, q.depth.unwrap_or(3))?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Most runs listed (1 to 1000; 30 by default).
    limit: Option<i64>,
}

/// A data product's quality history, newest first: each recorded run of its contract's checks
/// (server, verdict, counts, freshness in seconds, who recorded it and from where), and the
/// newest run with its checks.
#[utoipa::path(get, path = "/api/v1/data/products/{name}/quality", tag = "data",
    params(("name" = String, Path, description = "the product's name (or `datacontract:default/name`)"), HistoryQuery),
    responses((status = 200, description = "`{product, runs: [{id, server, origin, recorded_by, ran_at, duration_ms, result, counts, freshness_s}], latest: {…, checks: [...]}}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn quality_history(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit.unwrap_or(socle_app::data_quality::DEFAULT_HISTORY);
    Ok(Json(state.data_quality_history(&caller, &name, limit).await?).into_response())
}

/// `socle data test CONTRACT -o json`'s output: `{"server": "production", "durationMs": 840,
/// "checks": [{"key": "orders__row_count", "type": "row_count", "name": "Row count", "table":
/// "orders", "metric": "rowCount", "result": "passed", "value": 1200, "threshold": ">= 1000"}]}`
/// (other fields are ignored; samples are never kept).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QualityRunIn {
    server: String,
    #[serde(default)]
    duration_ms: u64,
    /// At most 5,000; the run's verdict and counts are computed from them.
    #[schema(value_type = Vec<Object>)]
    checks: Vec<socle_app::data_quality::QualityCheck>,
}

/// Records a run of a data product's checks in its quality history (a member of its owner team
/// or of a parent team, one of their service accounts, or an admin). Audited as
/// `data_quality.record`.
#[utoipa::path(post, path = "/api/v1/data/products/{name}/quality", tag = "data",
    params(("name" = String, Path, description = "the product's name (or `datacontract:default/name`)")),
    request_body = QualityRunIn,
    responses((status = 201, description = "the run as recorded", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_quality(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<QualityRunIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::DataQualityRecord, name.as_str());
    let b = crate::audit::body(&state, &caller, Role::Member, what, body).await?;
    let run = socle_app::data_quality::PostedRun {
        server: b.server,
        duration_ms: b.duration_ms,
        checks: b.checks,
    };
    let r = state.record_data_quality(&caller, &name, run).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// `{"product": "customers", "classification": "pii", "purpose": "churn model for Q3", "days": 30, "team": "analytics"}`
#[derive(Deserialize, ToSchema)]
pub struct AccessIn {
    /// The data product (`datacontract:default/customers` or `customers`).
    product: String,
    /// The classification whose columns are asked for.
    classification: String,
    purpose: String,
    /// 1 to 365 (the policy may allow fewer: 90 for personal data by default).
    days: u32,
    /// The requester's team the access is for (default: their first team).
    team: Option<String>,
}

/// Asks for access to a data product's columns of one classification (members). The data
/// access policy may refuse it (403, with its reasons); otherwise it waits for the product's
/// owner team. Audited as `data_access.request`.
#[utoipa::path(post, path = "/api/v1/data/access", tag = "data", request_body = AccessIn,
    responses((status = 201, description = "`{id, product, owner, requester, team, purpose, classification, columns, days, status, requested_at, …, state}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn request_access(
    State(state): S,
    caller: Caller,
    body: Result<Json<AccessIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::DataAccessRequest, "data access");
    let b = crate::audit::body(&state, &caller, Role::Member, what, body).await?;
    let g = state
        .request_data_access(
            &caller,
            AccessRequest {
                product: b.product,
                classification: b.classification,
                purpose: b.purpose,
                days: b.days,
                team: b.team,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// A data product: every grant of it for whoever decides on it, one's own otherwise.
    product: Option<String>,
}

/// Access grants, newest first: a product's (all of them for its owner team and admins, the
/// caller's own otherwise), or without `product` the caller's own (every grant for an admin).
/// `state` is pending, active, expired, denied or revoked.
#[utoipa::path(get, path = "/api/v1/data/access", tag = "data", params(AccessQuery),
    responses((status = 200, description = "`[{id, product, requester, team, purpose, classification, columns, days, status, state, expires_at, …}]`", body = Vec<Object>),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_access(
    State(state): S,
    caller: Caller,
    Query(q): Query<AccessQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(
        state
            .data_access_grants(&caller, q.product.as_deref())
            .await?,
    )
    .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The data product (`customers` or `datacontract:default/customers`).
    product: String,
    /// The classification of the columns to read (`pii`, …).
    classification: String,
    /// Whose access (`user:default/ann`); the caller's by default. Asking about someone else
    /// takes the product's owners or an admin.
    user: Option<String>,
}

/// Whether a person may read a product's columns of one classification now (an active,
/// unexpired grant): what a query gateway or a notebook asks before it shows them.
#[utoipa::path(get, path = "/api/v1/data/access/check", tag = "data", params(CheckQuery),
    responses((status = 200, description = "`{user, classification, allowed, grant}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_access(
    State(state): S,
    caller: Caller,
    Query(q): Query<CheckQuery>,
) -> Result<Response, ApiError> {
    let c = state
        .data_access_check(&caller, q.user.as_deref(), &q.product, &q.classification)
        .await?;
    Ok(Json(c).into_response())
}

/// `{"note": "ok for the quarter"}`
#[derive(Deserialize, ToSchema, Default)]
pub struct NoteIn {
    note: Option<String>,
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    id: &str,
    decision: Decision,
    body: Result<Json<NoteIn>, ApiError>,
) -> Result<Response, ApiError> {
    let action = match decision {
        Decision::Approve => AuditAction::DataAccessApprove,
        Decision::Deny => AuditAction::DataAccessDeny,
    };
    let b = crate::audit::body(state, caller, Role::Member, (action, id), body).await?;
    let g = state
        .decide_data_access(caller, id, decision, b.note.as_deref())
        .await?;
    Ok(Json(g).into_response())
}

/// Approves a pending request (a member of the product's owner team or a parent team, or an
/// admin; never the requester). The grant expires after its days. Audited as
/// `data_access.approve`.
#[utoipa::path(post, path = "/api/v1/data/access/{id}/approve", tag = "data",
    params(("id" = String, Path)), request_body = NoteIn,
    responses((status = 200, description = "the grant", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_access(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<NoteIn>, ApiError>,
) -> Result<Response, ApiError> {
    decide(&state, &caller, &id, Decision::Approve, body).await
}

/// Denies a pending request (as approving). Audited as `data_access.deny`.
#[utoipa::path(post, path = "/api/v1/data/access/{id}/deny", tag = "data",
    params(("id" = String, Path)), request_body = NoteIn,
    responses((status = 200, description = "the grant", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deny_access(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<NoteIn>, ApiError>,
) -> Result<Response, ApiError> {
    decide(&state, &caller, &id, Decision::Deny, body).await
}

/// Revokes an approved grant (its requester, the product's owner team, or an admin). Audited
/// as `data_access.revoke`.
#[utoipa::path(post, path = "/api/v1/data/access/{id}/revoke", tag = "data",
    params(("id" = String, Path)),
    responses((status = 200, description = "the grant", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_access(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.revoke_data_access(&caller, &id).await?).into_response())
}
