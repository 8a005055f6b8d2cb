//! The HTTP API: axum routes over the application layer (`socle-app`): bearer-token
//! authentication, JSON in and out, OpenAPI and metrics.
//!
//! This crate translates HTTP to application calls and back; it decides no rule of its own.

mod adoption_routes;
pub mod audit;
pub mod auth;
mod data_routes;
pub mod deploy_routes;
pub mod dora_routes;
mod dora_scopes_routes;
pub mod error;
mod feedback_routes;
mod notification_routes;
mod openapi;
mod org_routes;
pub mod paths;
mod policy_routes;
pub mod routes;
mod scorecard_routes;
mod slo_routes;
mod survey_routes;
mod template_routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use auth::{Caller, Principal};
// The application layer under its names in the adapters.
use socle_app::metrics;
pub use socle_app::{App as AppState, AppConfig as ServerConfig, Snapshot, spawn_background};

/// The system clock's now, for the binary's glue (services read the application's clock).
pub fn now_ms() -> i64 {
    use socle_app::Clock;
    socle_app::SystemClock.now_ms()
}

async fn track(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // A closed set of label values: a made-up method must not add a series per request.
    let method = match *req.method() {
        axum::http::Method::GET
        | axum::http::Method::HEAD
        | axum::http::Method::POST
        | axum::http::Method::PUT
        | axum::http::Method::PATCH
        | axum::http::Method::DELETE
        | axum::http::Method::OPTIONS => req.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&metrics::RequestLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&metrics::RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// The application's routes.
pub fn router(state: Arc<AppState>) -> Router {
    router_with(state, Router::new())
}

/// The API's routes merged with `extra` (the portal's pages), under the same middleware:
/// metrics, tracing, body limit, panic catching.
pub fn router_with(state: Arc<AppState>, extra: Router<Arc<AppState>>) -> Router {
    routes::routes()
        .merge(extra)
        .fallback(error::no_route)
        .layer(middleware::map_response_with_state(
            state.paths.clone(),
            paths::hide_paths,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        // Internal errors log themselves with an id (`ApiError::internal`); a shed request (503)
        // is not an error worth a log line each — under a flood those lines cost the most.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(record_status)
                .on_failure(()),
        )
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        // Whatever axum or a layer answered as plain text under /api/ leaves as the API's JSON.
        .layer(middleware::from_fn(error::json_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(error::ApiError::internal(
                "handler panicked",
            ))
        }))
        .with_state(state)
}

/// Binds and serves until the future `shutdown` resolves.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(state, Router::new(), listener, shutdown).await
}

/// [`serve`] with extra routes (the portal).
pub async fn serve_with(
    state: Arc<AppState>,
    extra: Router<Arc<AppState>>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router_with(state, extra);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The span of one HTTP request (exported over OTLP with `--otlp-endpoint`), named after its
/// route template as OpenTelemetry's HTTP conventions ask — never after a path that carries ids.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("", |m| m.as_str());
    tracing::info_span!(
        "request",
        otel.name = %format!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = route,
        url.path = req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    )
}

fn record_status(
    res: &axum::http::Response<axum::body::Body>,
    _latency: std::time::Duration,
    span: &tracing::Span,
) {
    span.record(
        "http.response.status_code",
        i64::from(res.status().as_u16()),
    );
}
