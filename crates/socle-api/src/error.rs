//! API errors: a stable machine code, an HTTP status and a human message. Internal errors are
//! logged with an id and never shown to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// `{"error": {"code": "not_found", "message": "…"}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorContent,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorContent {
    /// Stable machine-readable code, e.g. `not_found`, `unauthenticated`, `forbidden`,
    /// `invalid_request`, `conflict`, `internal`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this request needs a valid API token: send `Authorization: Bearer <token>`",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// Logs the real cause under a random id and returns a generic 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let id = format!("{:016x}", rand_id());
        tracing::error!(error_id = %id, "internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error (reference {id}; details are in the server log)"),
        )
    }
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorContent {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<socle_store::StoreError> for ApiError {
    fn from(e: socle_store::StoreError) -> Self {
        match e {
            socle_store::StoreError::User(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            socle_store::StoreError::NotFound(m) => Self::not_found(format!("not found: {m}")),
            other => Self::internal(other),
        }
    }
}

impl From<socle_search::SearchError> for ApiError {
    fn from(e: socle_search::SearchError) -> Self {
        if e.is_user_error() {
            Self::bad_request(e.to_string())
        } else {
            Self::internal(e)
        }
    }
}
