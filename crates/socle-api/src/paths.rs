//! The HTTP side of [`socle_app::paths`]: every buffered JSON, HTML and text response goes
//! through [`hide_paths`]. A streamed response (server-sent events) is left as it is.

use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use socle_app::paths::PublicPaths;

/// Buffered responses larger than this pass unchanged (the largest entity lists are smaller).
const MAX_REWRITE: u64 = 256 * 1024 * 1024;

/// The middleware: rewrites buffered JSON, HTML and text responses.
pub async fn hide_paths(
    axum::extract::State(paths): axum::extract::State<std::sync::Arc<PublicPaths>>,
    response: Response<Body>,
) -> Response<Body> {
    if paths.is_empty() {
        return response;
    }
    let textual = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.starts_with("application/json")
                || t.starts_with("text/html")
                || t.starts_with("text/plain")
                || t.starts_with("application/x-ndjson")
                || t.starts_with("application/yaml")
        });
    let size = axum::body::HttpBody::size_hint(response.body()).exact();
    let Some(size) = size.filter(|s| textual && *s <= MAX_REWRITE) else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, size as usize).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    match paths.hide(text) {
        Some(hidden) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            if let Ok(v) = HeaderValue::from_str(&hidden.len().to_string()) {
                parts.headers.insert(header::CONTENT_LENGTH, v);
            }
            Response::from_parts(parts, Body::from(hidden))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}
