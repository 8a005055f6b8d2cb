//! Guardrails over HTTP: evaluate documents, manage waivers (admins), read recorded results.

use std::sync::Arc;

use crate::error::{Json, Path, Query};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::waivers::NewWaiver;

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/policy/eval", post(eval))
        .route("/api/v1/policy/test", post(test))
        .route(
            "/api/v1/policy/waivers",
            get(list_waivers).post(create_waiver),
        )
        .route("/api/v1/policy/waivers/{id}", delete(revoke_waiver))
        .route("/api/v1/policy/results", get(results))
        .route(
            "/api/v1/policy/entities/{kind}/{namespace}/{name}",
            get(eval_entity),
        )
}

/// `{"documents": "<YAML or JSON text, one or more documents>"}`
#[derive(Deserialize, ToSchema)]
pub struct EvalIn {
    documents: String,
}

/// Evaluates the server's guardrails (or the built-in pack) on documents, conftest-style.
#[utoipa::path(post, path = "/api/v1/policy/eval", tag = "guardrails", request_body = EvalIn,
    responses((status = 200, description = "`[{file, document, rule, severity, message, object, path, container, checkov}]`", body = Vec<Object>), (status = 400, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn eval(
    State(state): S,
    caller: Caller,
    Json(body): Json<EvalIn>,
) -> Result<Response, ApiError> {
    let findings = state.evaluate_documents(&caller, body.documents).await?;
    Ok(Json(findings).into_response())
}

/// `{"files": {"policies/team.rego": "<text>", "policies/team_test.rego": "<text>"}}`; no files:
/// the built-in pack.
#[derive(Deserialize, ToSchema)]
pub struct TestIn {
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
}

/// Runs the `test_*` rules of the given policies (or of the built-in pack), like `conftest verify`.
/// Admins only: the Rego is the caller's own (run in a worker process with a memory ceiling).
#[utoipa::path(post, path = "/api/v1/policy/test", tag = "guardrails", request_body = TestIn,
    responses((status = 200, description = "`{passed, failed, tests: [{name, passed}]}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(
    State(state): S,
    caller: Caller,
    body: Result<Json<TestIn>, ApiError>,
) -> Result<Response, ApiError> {
    // A body that cannot be read is refused after the role check.
    caller.require(Role::Admin)?;
    let body = body?.0;
    let results: Vec<(String, bool)> = state
        .test_policies(&caller, body.files.into_iter().collect())
        .await?
        .into_iter()
        .map(|t| (t.name, t.passed))
        .collect();
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    Ok(Json(serde_json::json!({
        "passed": results.len() - failed,
        "failed": failed,
        "tests": results.iter().map(|(name, passed)| serde_json::json!({"name": name, "passed": passed})).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// A waiver: `{"rule": "image-tag", "entity": "component:default/shop", "environment": "dev",
/// "reason": "…", "owner": "group:default/team-a", "expires_at": 1767225599000}`
#[derive(Deserialize, ToSchema)]
pub struct WaiverIn {
    rule: String,
    entity: String,
    #[serde(default)]
    environment: String,
    reason: String,
    owner: String,
    /// Milliseconds since the epoch.
    expires_at: i64,
}

/// Grants a waiver. Admins only; audited.
#[utoipa::path(post, path = "/api/v1/policy/waivers", tag = "guardrails", request_body = WaiverIn,
    responses((status = 201, description = "the waiver", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_waiver(
    State(state): S,
    caller: Caller,
    body: Result<Json<WaiverIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::WaiverCreate, "waiver");
    let body = crate::audit::body(&state, &caller, Role::Admin, what, body).await?;
    let waiver = state
        .create_waiver(
            &caller,
            NewWaiver {
                rule: body.rule,
                entity: body.entity,
                environment: body.environment,
                reason: body.reason,
                owner: body.owner,
                expires_at: body.expires_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(waiver)).into_response())
}

/// Waivers, with their state.
#[utoipa::path(get, path = "/api/v1/policy/waivers", tag = "guardrails", responses((status = 200, description = "`[{id, rule, entity, environment, reason, owner, expires_at, created_by, created_at, revoked_at}]` (times in epoch milliseconds)", body = Vec<Object>)))]
pub async fn list_waivers(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(state.store.list_waivers().await?).into_response())
}

/// Revokes a waiver. Admins only; audited.
#[utoipa::path(delete, path = "/api/v1/policy/waivers/{id}", tag = "guardrails", params(("id" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_waiver(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.revoke_waiver(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    entity: String,
    #[serde(rename = "env")]
    #[param(rename = "env")]
    environment: Option<String>,
    limit: Option<u32>,
}

/// Guardrail evaluations recorded at deploy, newest first (the first is the latest).
#[utoipa::path(get, path = "/api/v1/policy/results", tag = "guardrails", params(ResultsQuery), responses((status = 200, description = "`[{seq, entity, environment, evaluated_at, outcome, findings, …}]`", body = Vec<Object>), (status = 400, body = crate::error::ErrorBody)))]
pub async fn results(
    State(state): S,
    caller: Caller,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let entity = socle_catalog::EntityRef::parse(&q.entity, Some("Component"), "default")
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(
        state
            .store
            .policy_results(
                entity.as_str(),
                q.environment.as_deref(),
                q.limit.unwrap_or(20),
            )
            .await?,
    )
    .into_response())
}

/// Evaluates the guardrails on one catalog entity. The input document is the entity as
/// `GET /api/v1/entities/…` serves it, its relations carrying `exists` (false: dangling).
#[utoipa::path(get, path = "/api/v1/policy/entities/{kind}/{namespace}/{name}", tag = "guardrails",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "findings: `[{rule, severity, message, object, path, …}]`", body = Vec<Object>), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn eval_entity(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = format!("{kind}:{namespace}/{name}").to_lowercase();
    let findings = state.evaluate_entity(&caller, &key).await?;
    Ok(Json(findings).into_response())
}
