//! The developer portal: server-rendered HTML pages over the API's state (catalog read model,
//! store, DORA index, golden-path engine, deploy pipeline).
//!
//! Pages are maud templates (checked at compile time, escaped by construction) drawn with the
//! pure views of `socle-ui`; this crate loads data, checks who may do what (the API's own rules:
//! [`socle_app::App::authorize_deploy`] and roles) and answers HTTP. Reading works
//! without JavaScript; `assets/socle.js` only adds search-as-you-type and stepped forms.

pub mod docs;
pub mod error;
pub mod layout;
mod pages;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use socle_api::AppState;

pub use pages::bench_paths;

/// The portal's routes, to merge with the API's.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::home::home))
        .route("/catalog", get(pages::catalog::catalog))
        .route(
            "/catalog/{kind}/{namespace}/{name}",
            get(pages::entity::entity),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/docs",
            get(pages::entity::docs_index),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/docs/{*path}",
            get(pages::entity::docs_page),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/slos",
            get(pages::slo::entity_slos),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/slos/rules",
            get(pages::slo::entity_rules),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/slos/rules.yaml",
            get(pages::slo::entity_rules_yaml),
        )
        .route("/teams", get(pages::team::teams))
        .route("/create", get(pages::create::list))
        .route(
            "/create/{template}",
            get(pages::create::form).post(pages::create::submit),
        )
        .route("/create/runs/{id}", get(pages::create::run_page))
        .route("/create/live/{key}", get(pages::create::live_page))
        .route("/deployments", get(pages::deployments::deployments))
        .route("/deployments/promote", post(pages::deployments::promote))
        .route("/deployments/rollback", post(pages::deployments::rollback))
        .route("/deployments/act", post(pages::deployments::act))
        .route("/dora", get(pages::dora::dashboard))
        .route("/slos", get(pages::slo::overview))
        .route("/data", get(pages::data::overview))
        .route("/data/runs", get(pages::data_runs::list))
        .route("/data/runs/{id}", get(pages::data_runs::one))
        .route("/data/access", post(pages::data_access::ask))
        .route("/data/access/decide", post(pages::data_access::decide))
        .route("/data/access/revoke", post(pages::data_access::revoke))
        .route(
            "/feedback",
            get(pages::feedback::list).post(pages::feedback::send),
        )
        .route("/feedback/status", post(pages::feedback::set_status))
        .route("/surveys", get(pages::surveys::list))
        .route("/adoption", get(pages::adoption::page))
        .route("/adoption.json", get(pages::adoption::export))
        .route(
            "/surveys/{name}",
            get(pages::surveys::form).post(pages::surveys::submit),
        )
        .route("/surveys/{name}/results", get(pages::surveys::results))
        .route("/scorecards", get(pages::scorecards::list))
        .route("/scorecards/{name}", get(pages::scorecards::scorecard))
        .route("/campaigns", get(pages::scorecards::campaigns))
        .route("/campaigns/{name}", get(pages::scorecards::campaign))
        .route(
            "/signin",
            get(pages::signin::form).post(pages::signin::sign_in),
        )
        .route("/signout", post(pages::signin::sign_out))
        .route("/auth/oidc/start", get(pages::oidc::start))
        .route("/auth/oidc/callback", get(pages::oidc::callback))
        .route(
            "/tokens",
            get(pages::tokens::list).post(pages::tokens::create),
        )
        .route("/tokens/revoke", post(pages::tokens::revoke))
        .route("/static/socle.css", get(css))
        .route("/static/socle.js", get(js))
        .layer(axum::middleware::map_response(security_headers))
}

/// The portal's content security policy: scripts and styles from Socle only (no inline script
/// anywhere; inline style attributes only from sanitised Markdown tables), images from Socle
/// or the web (docs may show them), no framing, forms post to Socle only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Defence in depth on every portal response (a response that set its own policy, such as a
/// docs image, keeps it).
async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("same-origin"),
    );
    resp
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        layout::CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        layout::JS,
    )
}
