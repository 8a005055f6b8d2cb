//! Deployments and resources over HTTP, over the application's deploy service (which decides
//! who may deploy: an admin, or a member of the team that owns the workload's catalog entity).

use std::sync::Arc;

use crate::error::{Json, Path, Query};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_app::deploy::DeployInput;
use socle_store::DeploymentRecord;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::AuditAction;
use socle_store::Role;

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/deployments",
            get(list_deployments).post(create_deployment),
        )
        .route("/api/v1/deployments/rollback", post(rollback))
        .route("/api/v1/deployments/promote", post(promote))
        .route("/api/v1/resources", get(list_resources))
        .route(
            "/api/v1/secret-store/{environment}/{uid}",
            get(secret_store),
        )
}

fn out(mut d: DeploymentRecord, status: StatusCode) -> Response {
    d.spec.clear();
    (status, Json(d)).into_response()
}

/// `{"workload": "<score.yaml text>", "environment": "dev", "image": "ghcr.io/acme/shop:1.2.0"}`
#[derive(Deserialize, ToSchema)]
pub struct DeployIn {
    /// The Score workload (YAML or JSON text).
    workload: String,
    environment: String,
    image: Option<String>,
    version: Option<String>,
    /// The commit of the service's repository being deployed.
    source_commit: Option<String>,
}

/// Deploys a workload to an environment: resolve, render, guardrails, GitOps commit, record.
#[utoipa::path(post, path = "/api/v1/deployments", tag = "deployments", request_body = DeployIn,
    responses((status = 201, description = "the deployment record", body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_deployment(
    State(state): S,
    caller: Caller,
    body: Result<Json<DeployIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::Deploy, "deployment");
    let body = audit::body(&state, &caller, Role::Member, what, body).await?;
    let d = state
        .deploy(
            &caller,
            DeployInput {
                workload: body.workload.into(),
                environment: body.environment,
                image: body.image,
                version: body.version,
                source_commit: body.source_commit,
            },
        )
        .await?;
    Ok(out(d, StatusCode::CREATED))
}

#[derive(Deserialize, ToSchema)]
pub struct RollbackIn {
    service: String,
    environment: String,
}

/// Re-deploys the previous successful deployment of a service in an environment.
#[utoipa::path(post, path = "/api/v1/deployments/rollback", tag = "deployments", request_body = RollbackIn,
    responses((status = 201, description = "the new deployment record", body = Object), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn rollback(
    State(state): S,
    caller: Caller,
    body: Result<Json<RollbackIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::Rollback, "deployment");
    let body = audit::body(&state, &caller, Role::Member, what, body).await?;
    let d = state
        .rollback(&caller, &body.service, &body.environment)
        .await?;
    Ok(out(d, StatusCode::CREATED))
}

#[derive(Deserialize, ToSchema)]
pub struct PromoteIn {
    service: String,
    from: String,
    to: String,
}

/// Deploys to `to` what was last successfully deployed to `from`.
#[utoipa::path(post, path = "/api/v1/deployments/promote", tag = "deployments", request_body = PromoteIn,
    responses((status = 201, description = "the new deployment record", body = Object), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn promote(
    State(state): S,
    caller: Caller,
    body: Result<Json<PromoteIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::Promote, "deployment");
    let body = audit::body(&state, &caller, Role::Member, what, body).await?;
    let d = state
        .promote(&caller, &body.service, &body.from, &body.to)
        .await?;
    Ok(out(d, StatusCode::CREATED))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    service: Option<String>,
    #[serde(rename = "env")]
    #[param(rename = "env")]
    environment: Option<String>,
    limit: Option<u32>,
}

/// Deployments, newest first.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", params(DeploymentsQuery), responses((status = 200, description = "`[{id, seq, service, environment, version, images, gitops_commit, source_commit, changed, status, …}]`", body = Vec<Object>)))]
pub async fn list_deployments(
    State(state): S,
    caller: Caller,
    Query(q): Query<DeploymentsQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let mut list = state
        .store
        .list_deployments(
            q.service.as_deref(),
            q.environment.as_deref(),
            q.limit.unwrap_or(50),
        )
        .await?;
    for d in &mut list {
        d.spec.clear();
    }
    Ok(Json(list).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResourcesQuery {
    #[serde(rename = "env")]
    #[param(rename = "env")]
    environment: Option<String>,
}

/// Provisioned resources (no state, no outputs).
#[utoipa::path(get, path = "/api/v1/resources", tag = "deployments", params(ResourcesQuery), responses((status = 200, description = "`[{environment, uid, type, definition, used_by, owner, updated_at, …}]`", body = Vec<Object>)))]
pub async fn list_resources(
    State(state): S,
    caller: Caller,
    Query(q): Query<ResourcesQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(state.store.list_resources(q.environment.as_deref()).await?).into_response())
}

/// The secret outputs of a provisioned resource, for External Secrets Operator's webhook
/// provider (`ClusterSecretStore` with `url: …/api/v1/secret-store/{{ .remoteRef.key }}` and
/// `jsonPath: $.{{ .remoteRef.property }}`). Only admins and the `serviceaccount:external-secrets`
/// account may read them; every read is audited.
#[utoipa::path(get, path = "/api/v1/secret-store/{environment}/{uid}", tag = "deployments",
    params(("environment" = String, Path), ("uid" = String, Path)),
    responses((status = 200, description = "`{output: value}` for the resource's secret outputs", body = Object),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn secret_store(
    State(state): S,
    caller: Caller,
    Path((environment, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let secrets = state.secret_values(&caller, &environment, &uid).await?;
    Ok(Json(secrets).into_response())
}
