//! Guardrails over HTTP: evaluate documents, manage waivers (admins), read recorded results.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::ErrorCode;
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
    responses((status = 200, description = "`[{file, document, rule, severity, message, object, path, checkov}]`", body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn eval(
    State(state): S,
    caller: Caller,
    Json(body): Json<EvalIn>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let set = policy_set(&state)?;
    let limits = state.config.limits.clone();
    // Parsing and Rego are CPU work: on the blocking pool, a few at a time (refused at once
    // when the queue is full, before any of it), within one deadline for the whole request.
    let findings = state
        .cpu
        .run(move || -> Result<Vec<socle_policy::Finding>, ApiError> {
            let deadline = std::time::Instant::now() + EVAL_DEADLINE;
            let docs =
                socle_catalog::yaml::parse_documents(&body.documents, &limits).map_err(|e| {
                    ApiError::bad_request(format!(
                        "documents: line {}: {}",
                        e.line.unwrap_or(0),
                        e.message
                    ))
                })?;
            if docs.len() > MAX_EVAL_DOCUMENTS {
                return Err(ApiError::bad_request(format!(
                    "{} documents: at most {MAX_EVAL_DOCUMENTS} per request",
                    docs.len()
                )));
            }
            let mut findings = Vec::new();
            for (i, d) in docs.iter().enumerate() {
                if std::time::Instant::now() >= deadline {
                    return Err(ApiError::new(
                        ErrorCode::PolicyLimit,
                        format!(
                            "evaluation stopped after {} s at document {i}; send fewer documents",
                            EVAL_DEADLINE.as_secs()
                        ),
                    ));
                }
                findings.extend(set.eval(&d.to_json(), "request", i).map_err(policy_error)?);
            }
            Ok(findings)
        })
        .await??;
    Ok(Json(findings).into_response())
}

/// At most this many documents in one `policy/eval` request.
const MAX_EVAL_DOCUMENTS: usize = 500;
/// One `policy/eval` request evaluates for at most this long.
const EVAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

fn policy_error(e: socle_policy::PolicyError) -> ApiError {
    ApiError::new(ErrorCode::PolicyError, e.to_string())
}

/// The server's guardrails, or the built-in pack (compiled once).
fn policy_set(state: &AppState) -> Result<socle_policy::PolicySet, ApiError> {
    static BUILTIN: std::sync::OnceLock<socle_policy::PolicySet> = std::sync::OnceLock::new();
    if let Some(p) = &state.config.guardrails {
        return Ok(p.clone());
    }
    if let Some(p) = BUILTIN.get() {
        return Ok(p.clone());
    }
    let set = socle_policy::PolicySet::builtin(None).map_err(ApiError::internal)?;
    Ok(BUILTIN.get_or_init(|| set).clone())
}

/// `{"files": {"policies/team.rego": "<text>", "policies/team_test.rego": "<text>"}}`; no files:
/// the built-in pack.
#[derive(Deserialize, ToSchema)]
pub struct TestIn {
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
}

/// At most this many policy files in one `policy/test` request.
const MAX_TEST_FILES: usize = 256;

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
    body: Result<Json<TestIn>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    // The caller's own Rego runs here: only the platform team may.
    caller.require(Role::Admin)?;
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if body.files.len() > MAX_TEST_FILES {
        return Err(ApiError::bad_request(format!(
            "{} files: at most {MAX_TEST_FILES} per request",
            body.files.len()
        )));
    }
    let files: Vec<(String, String)> = if body.files.is_empty() {
        socle_policy::builtin_files()
    } else {
        body.files.into_iter().collect()
    };
    // In a worker process with a memory ceiling and a deadline (see `cpu::RegoRunner`).
    let results = match state
        .config
        .rego
        .run(&state.cpu, socle_app::cpu::WorkerRequest::Test { files })
        .await?
    {
        socle_app::cpu::WorkerResponse::Tests(r) => r,
        socle_app::cpu::WorkerResponse::PolicyError(message) => {
            return Err(ApiError::new(ErrorCode::PolicyError, message));
        }
    };
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
    responses((status = 201, body = Object), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_waiver(
    State(state): S,
    caller: Caller,
    Json(body): Json<WaiverIn>,
) -> Result<Response, ApiError> {
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
#[utoipa::path(get, path = "/api/v1/policy/waivers", tag = "guardrails", responses((status = 200, body = Object)))]
pub async fn list_waivers(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(state.store.list_waivers().await?).into_response())
}

/// Revokes a waiver. Admins only; audited.
#[utoipa::path(delete, path = "/api/v1/policy/waivers/{id}", tag = "guardrails", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
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
#[utoipa::path(get, path = "/api/v1/policy/results", tag = "guardrails", params(ResultsQuery), responses((status = 200, body = Object)))]
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
    responses((status = 200, description = "findings", body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn eval_entity(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let key = format!("{kind}:{namespace}/{name}").to_lowercase();
    let snap = state.snapshot();
    let v = snap
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("no entity {key}")))?;
    let mut input: serde_json::Value = serde_json::from_str(&v.body).map_err(ApiError::internal)?;
    input["relations"] = v
        .relations
        .iter()
        .map(|(t, target)| serde_json::json!({"type": t.as_str(), "targetRef": snap.name(*target), "exists": snap.exists(*target)}))
        .collect();
    let set = policy_set(&state)?;
    let findings = state
        .cpu
        .run(move || set.eval(&input, &key, 0))
        .await?
        .map_err(policy_error)?;
    Ok(Json(findings).into_response())
}
