//! The HTTP routes, kept apart from `main` so that tests drive them in-process.

use axum::{Json, Router, extract::Path, routing::get};
use serde::Serialize;
use serde_json::{Value, json};

pub fn router() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/hello/{name}", get(hello))
}

/// Liveness and readiness: 200 `{"status":"ok"}` while the process serves requests.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Greeting {
    message: String,
}

/// The example endpoint: replace it with the service's own.
async fn hello(Path(name): Path<String>) -> Json<Greeting> {
    Json(Greeting {
        message: format!("Hello, {name}!"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get_json(uri: &str) -> (StatusCode, Value) {
        let response = router()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    #[tokio::test]
    async fn healthz_is_ok() {
        let (status, body) = get_json("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "status": "ok" }));
    }

    #[tokio::test]
    async fn hello_greets_by_name() {
        let (status, body) = get_json("/hello/socle").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "message": "Hello, socle!" }));
    }

    #[tokio::test]
    async fn unknown_route_is_404() {
        let (status, _) = get_json("/nope").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
