//! Error pages. A 500 is logged with its cause; the page says only that something went wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use socle_api::error::{ApiError, status_of};
use socle_app::AppError;

use crate::layout;

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    /// Offer the sign-in form.
    pub sign_in: bool,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            sign_in: false,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
    pub fn sign_in(message: impl Into<String>) -> Self {
        Self {
            sign_in: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "Sign in needed", message)
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("portal error: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not show this page. The error was logged.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        e.0.into()
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        let status = status_of(e.code);
        if status.is_server_error() {
            return Self::internal(e.message);
        }
        let title = match status {
            StatusCode::UNAUTHORIZED => "Sign in needed",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            _ => "That did not work",
        };
        Self {
            sign_in: status == StatusCode::UNAUTHORIZED,
            ..Self::new(status, title, e.message)
        }
    }
}

impl From<socle_store::StoreError> for PageError {
    fn from(e: socle_store::StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = layout::bare(
            &self.title,
            html! {
                h1 { (self.title) }
                p class="notice error" role="alert" { (self.message) }
                @if self.sign_in {
                    p { a href="/signin" { "Sign in with an API token" } }
                }
                p { a href="/" { "Back to the home page" } }
            },
        );
        (self.status, body).into_response()
    }
}
