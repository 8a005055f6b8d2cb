//! Feedback over HTTP: send a rating and a comment about a page or a golden path (anyone signed
//! in, optionally anonymous), list it (admins: all; others: their own), triage it (admins).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/feedback", get(list_feedback).post(send_feedback))
        .route("/api/v1/feedback/{id}/status", post(triage_feedback))
}

/// `{"page": "/create/rust-axum-service", "rating": 4, "comment": "…", "anonymous": false}`
#[derive(Deserialize, ToSchema)]
pub struct FeedbackIn {
    /// The portal path it is about.
    page: String,
    /// The golden path it is about (default: the one the page names, if any).
    template: Option<String>,
    /// 1 to 5.
    rating: u8,
    #[serde(default)]
    comment: String,
    /// Store it without the author.
    #[serde(default)]
    anonymous: bool,
}

/// Sends feedback (anyone signed in). Anonymous feedback is stored without its author.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "feedback", request_body = FeedbackIn,
    responses((status = 201, description = "`{id, created_at, page, template, rating, comment, author, status, updated_at}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_feedback(
    State(state): S,
    caller: Caller,
    body: Result<Json<FeedbackIn>, ApiError>,
) -> Result<Response, ApiError> {
    caller.require(socle_store::Role::Viewer)?;
    let Json(b) = body?;
    let input = socle_app::feedback::FeedbackInput {
        page: b.page,
        template: b.template,
        rating: b.rating,
        comment: b.comment,
        anonymous: b.anonymous,
    };
    let record = state.send_feedback(&caller, &input).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// Feedback, newest first: all of it for admins (the triage list), the caller's own signed
/// feedback with its status for everyone else signed in.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "feedback",
    responses((status = 200, description = "`{all, items: [{id, created_at, page, template, rating, comment, author, status, updated_at}]}`", body = Object),
              (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_feedback(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(state.list_feedback(&caller).await?).into_response())
}

/// `{"status": "planned"}`: new, planned, done or wont_do.
#[derive(Deserialize, ToSchema)]
pub struct StatusIn {
    status: String,
}

/// Sets a piece of feedback's status (admins; audited as `feedback.triage`).
#[utoipa::path(post, path = "/api/v1/feedback/{id}/status", tag = "feedback",
    params(("id" = String, Path)), request_body = StatusIn,
    responses((status = 200, description = "`{id, status}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn triage_feedback(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<StatusIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::FeedbackTriage, id.as_str());
    let b = crate::audit::body(&state, &caller, socle_store::Role::Admin, what, body).await?;
    let status = state.triage_feedback(&caller, &id, &b.status).await?;
    Ok(Json(serde_json::json!({"id": id, "status": status})).into_response())
}
