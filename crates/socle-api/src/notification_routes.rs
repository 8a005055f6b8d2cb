//! Notifications over HTTP: the caller's own (what golden paths sent them, their teams, or
//! everyone), newest first.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json, Query};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/v1/notifications", get(list_notifications))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Page size, 1–500 (default 50).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's notifications, newest first: broadcasts, and those sent to them, to a group
/// they belong to or to a parent of one. Signed-in callers only.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationsQuery),
    responses((status = 200, description = "`{items: [{id, createdAt, origin, title, description, link, severity, scope, broadcast, recipients}], totalItems, nextCursor}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_notifications(
    State(state): S,
    caller: Caller,
    Query(q): Query<NotificationsQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .list_notifications(&caller, q.limit, q.cursor.as_deref())
        .await?;
    Ok(Json(json!({
        "items": page.items,
        "totalItems": page.total,
        "nextCursor": page.next_cursor,
    })))
}
