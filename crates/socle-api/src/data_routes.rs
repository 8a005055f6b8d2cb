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
use socle_app::data::DataOverview;
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
        .route("/api/v1/data/access", get(list_access).post(request_access))
        .route("/api/v1/data/access/{id}/approve", post(approve_access))
        .route("/api/v1/data/access/{id}/deny", post(deny_access))
        .route("/api/v1/data/access/{id}/revoke", post(revoke_access))
}

/// Every data product (catalog entities of kind DataContract, from ODCS files: gold first) and
/// the processing register: every column classified as personal or restricted (pii, personal,
/// confidential, restricted, sensitive, secret), with its product, owner, purpose and servers.
#[utoipa::path(get, path = "/api/v1/data/products", tag = "data",
    responses((status = 200, description = "`{products: [{entity, title, owner, domain, tier, lifecycle, tables, columns, sensitiveColumns}], register: [{entity, owner, purpose, table, column, classification, servers}], register_truncated}`", body = Object),
              (status = 401, body = crate::error::ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn data_products(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<DataOverview>, ApiError> {
    Ok(Json(state.data_overview(&caller)?))
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
