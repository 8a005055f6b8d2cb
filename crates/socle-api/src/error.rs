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
    /// What went wrong in detail: a list (findings, per-line or per-file errors) or, for
    /// `run_failed`, the run record.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = details_schema)]
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

/// The `details` field's schema: an array or an object (absent when there are none).
fn details_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Object]))
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

/// The one answer to every rejection of axum's extractors (a query string, a path segment or a
/// JSON body that cannot be read, a body that is not JSON or too large): the API's
/// `{"error": …}` body, `invalid_request` (400) — or `too_large` (413) — never axum's plain text.
pub fn rejection(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::TooLarge, text)
    } else {
        ApiError::bad_request(text)
    }
}

/// `Query<T>` whose rejection (a malformed or mistyped query string) is [`rejection`]'s.
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
            .map_err(|e| rejection(e.status(), e.body_text()))
    }
}

/// `Path<T>` whose rejection (a segment that is not UTF-8 once decoded) is [`rejection`]'s.
pub struct Path<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| rejection(e.status(), e.body_text()))
    }
}

/// `Json<T>` whose rejection (no JSON content type, malformed JSON, a field of the wrong type,
/// too large) is [`rejection`]'s. Handlers of operations that need a token take it as
/// `Result<Json<T>, ApiError>` and look at the caller first ([`crate::audit::body`]).
pub struct Json<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Json<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| Json(v))
            .map_err(|e| rejection(e.status(), e.body_text()))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The last line for responses that no handler wrote (axum's 405, the body limit's 413, a
/// rejection of an extractor used without the wrappers above): under `/api/`, an error
/// answered as plain text or with no body becomes the API's `{"error": …}` body, same status.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::TooLarge,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::InvalidRequest,
    };
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase()
    } else {
        text
    };
    // The status stays what it was: the code names it. A server's own text is logged, not sent.
    let e = if code == ErrorCode::Internal {
        ApiError::internal(message)
    } else {
        ApiError::new(code, message)
    };
    let mut out = e.into_response();
    *out.status_mut() = status;
    out
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
