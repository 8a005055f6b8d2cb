//! API errors: an [`AppError`] (a stable [`ErrorCode`], a message, details) answered with the
//! code's HTTP status. Internal errors are logged with an id and never shown to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use socle_app::{AppError, ErrorCode};
use utoipa::ToSchema;

/// An application error on its way out over HTTP.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl std::ops::Deref for ApiError {
    type Target = AppError;
    fn deref(&self) -> &AppError {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut AppError {
        &mut self.0
    }
}

/// `{"error": {"code": "not_found", "message": "…"}}`
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorContent,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorContent {
    /// Stable machine-readable code (every one is listed in the schema).
    #[schema(schema_with = code_schema)]
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The `code` field's schema: a string, one of [`ErrorCode::ALL`] — the list lives in one place.
fn code_schema() -> utoipa::openapi::schema::Object {
    let mut text = String::from("Stable machine-readable code:");
    for c in ErrorCode::ALL {
        text.push_str(&format!("\n* `{}` ({})", c.name(), c.http_status()));
    }
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.name())))
        .description(Some(text))
        .build()
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self(AppError::new(code, message))
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self(AppError::not_found(message))
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self(AppError::bad_request(message))
    }
    pub fn unauthenticated() -> Self {
        Self(AppError::unauthenticated())
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self(AppError::forbidden(message))
    }
    /// Logs the real cause under a random id and returns a generic 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self(AppError::internal(cause))
    }
    /// The HTTP status of this error's code.
    pub fn status(&self) -> StatusCode {
        status_of(self.0.code)
    }
}

/// The HTTP status of a code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        e.0
    }
}

impl From<socle_store::StoreError> for ApiError {
    fn from(e: socle_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl From<socle_search::SearchError> for ApiError {
    fn from(e: socle_search::SearchError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let AppError {
            code,
            message,
            details,
        } = self.0;
        let body = ErrorBody {
            error: ErrorContent {
                code: code.name().to_owned(),
                message,
                details,
            },
        };
        (status, axum::Json(body)).into_response()
    }
}

/// `Query<T>` whose rejection (a malformed or mistyped query string) is the API's
/// `{"error": …}` body with 400, like every other error.
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Query(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Unknown routes: under `/api/` the API's `{"error": …}` body with 404, elsewhere plain text.
pub async fn no_route(
    uri: axum::http::Uri,
    method: axum::http::Method,
) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found(format!("no route {method} {}", uri.path())).into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, "Not found\n").into_response()
    }
}
