//! Deployments and resources over HTTP. Deploying needs the admin role, or a user who is a member
//! of the team that owns the workload's catalog entity — directly or through a parent team.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_catalog::RelationType;
use socle_store::{DeploymentRecord, Role};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::snapshot::Snapshot;

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

/// Groups a user belongs to, directly.
pub fn groups_of(snap: &Snapshot, user: &str) -> Vec<u32> {
    snap.get(user)
        .map(|u| {
            u.relations
                .iter()
                .filter(|(t, _)| *t == RelationType::MemberOf)
                .map(|(_, g)| *g)
                .collect()
        })
        .unwrap_or_default()
}

/// The owner group of `component:default/<service>` and all its ancestors.
pub fn owning_teams(snap: &Snapshot, service: &str) -> Option<BTreeSet<String>> {
    let entity = snap.get(&format!(
        "component:default/{}",
        service.to_ascii_lowercase()
    ))?;
    let owner = entity.owner?;
    let mut out = BTreeSet::new();
    let mut stack = vec![snap.name(owner).to_owned()];
    while let Some(g) = stack.pop() {
        if !out.insert(g.clone()) || out.len() > 1000 {
            continue;
        }
        if let Some(v) = snap.get(&g) {
            stack.extend(
                v.relations
                    .iter()
                    .filter(|(t, _)| *t == RelationType::ChildOf)
                    .map(|(_, p)| snap.name(*p).to_owned()),
            );
        }
    }
    Some(out)
}

/// The team that owns `component:default/<service>` directly (a group reference): the owner of
/// what its deploys provision (`socle_deploy::DeployRequest::owner`). None: no catalog owner.
pub fn owner_team(snap: &Snapshot, service: &str) -> Option<String> {
    let entity = snap.get(&format!(
        "component:default/{}",
        service.to_ascii_lowercase()
    ))?;
    entity.owner.map(|o| snap.name(o).to_owned())
}

pub fn authorize_deploy(
    state: &AppState,
    caller: &Caller,
    service: &str,
) -> Result<String, ApiError> {
    let p = caller.require(Role::Member)?;
    if p.role == Role::Admin {
        return Ok(p.subject.clone());
    }
    let snap = state.snapshot();
    let Some(teams) = owning_teams(&snap, service) else {
        return Err(ApiError::forbidden(format!(
            "component:default/{service} is not in the catalog or has no owner: only an admin may deploy it"
        )));
    };
    let member = groups_of(&snap, &p.subject)
        .into_iter()
        .any(|g| teams.contains(snap.name(g)));
    if member {
        Ok(p.subject.clone())
    } else {
        Err(ApiError::forbidden(format!(
            "{} is not a member of {} (the owners of component:default/{service}, with their parent teams)",
            p.subject,
            teams.into_iter().collect::<Vec<_>>().join(", ")
        )))
    }
}

pub fn deploy_error(e: socle_deploy::DeployError) -> ApiError {
    use socle_deploy::DeployError as D;
    match e {
        D::Invalid(m) => ApiError::bad_request(m),
        D::NotFound(m) => ApiError::not_found(m),
        D::Forbidden(m) => ApiError::forbidden(m),
        D::Resolve(errors) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "resolution_failed",
                "the workload's resources could not be resolved",
            );
            err.details = serde_json::to_value(&errors).ok();
            err
        }
        D::Blocked(v) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "blocked_by_guardrails",
                "the deploy was blocked by guardrails; nothing was committed",
            );
            err.details = serde_json::to_value(&v).ok();
            err
        }
        D::Store(e) => e.into(),
        other => ApiError::internal(other),
    }
}

pub fn guardrails(state: &AppState) -> Box<dyn socle_deploy::Guardrails> {
    match &state.config.guardrails {
        Some(p) => Box::new(socle_deploy::PolicyGuardrails {
            policies: p.clone(),
        }),
        None => Box::new(socle_deploy::NoGuardrails),
    }
}

pub fn deployer(state: &AppState) -> socle_deploy::Deployer {
    socle_deploy::Deployer {
        store: state.store.clone(),
        config: state.config.platform.clone(),
        gitops_root: state.config.gitops_root.clone(),
        limits: state.config.limits.clone(),
        runner: Some(socle_deploy::ProcessRunner::new(
            state.config.provisioner_dir.clone(),
        )),
        clock: None,
    }
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
              (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_deployment(
    State(state): S,
    caller: Caller,
    body: Result<Json<DeployIn>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let target = format!("?@{}", body.environment);
    let result = async {
        let workload =
            socle_score::parse_workload(&body.workload, "workload", &state.config.limits).map_err(
                |errors| {
                    let mut e = ApiError::bad_request("the Score workload is invalid");
                    e.details = serde_json::to_value(&errors).ok();
                    e
                },
            )?;
        let actor = authorize_deploy(&state, &caller, workload.name())?;
        let owner = owner_team(&state.snapshot(), workload.name());
        let req = socle_deploy::DeployRequest {
            owner,
            workload,
            env: body.environment.clone(),
            image: body.image,
            version: body.version,
            source_commit: body.source_commit,
            actor,
            kind: "deploy".into(),
        };
        deployer(&state)
            .deploy(req, guardrails(&state).as_ref())
            .await
            .map_err(deploy_error)
    }
    .await;
    let d = crate::audit::audited(&state, &caller, "deployment.deploy", &target, result).await?;
    Ok(out(d, StatusCode::CREATED))
}

#[derive(Deserialize, ToSchema)]
pub struct RollbackIn {
    service: String,
    environment: String,
}

/// Re-deploys the previous successful deployment of a service in an environment.
#[utoipa::path(post, path = "/api/v1/deployments/rollback", tag = "deployments", request_body = RollbackIn,
    responses((status = 201, body = Object), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn rollback(
    State(state): S,
    caller: Caller,
    Json(body): Json<RollbackIn>,
) -> Result<Response, ApiError> {
    let target = format!("{}@{}", body.service, body.environment);
    let result = async {
        let actor = authorize_deploy(&state, &caller, &body.service)?;
        deployer(&state)
            .rollback(
                &body.service,
                &body.environment,
                &actor,
                owner_team(&state.snapshot(), &body.service).as_deref(),
                guardrails(&state).as_ref(),
            )
            .await
            .map_err(deploy_error)
    }
    .await;
    Ok(out(
        crate::audit::audited(&state, &caller, "deployment.rollback", &target, result).await?,
        StatusCode::CREATED,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct PromoteIn {
    service: String,
    from: String,
    to: String,
}

/// Deploys to `to` what was last successfully deployed to `from`.
#[utoipa::path(post, path = "/api/v1/deployments/promote", tag = "deployments", request_body = PromoteIn,
    responses((status = 201, body = Object), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn promote(
    State(state): S,
    caller: Caller,
    Json(body): Json<PromoteIn>,
) -> Result<Response, ApiError> {
    let target = format!("{}@{}", body.service, body.to);
    let result = async {
        let actor = authorize_deploy(&state, &caller, &body.service)?;
        deployer(&state)
            .promote(
                &body.service,
                &body.from,
                &body.to,
                &actor,
                owner_team(&state.snapshot(), &body.service).as_deref(),
                guardrails(&state).as_ref(),
            )
            .await
            .map_err(deploy_error)
    }
    .await;
    Ok(out(
        crate::audit::audited(&state, &caller, "deployment.promote", &target, result).await?,
        StatusCode::CREATED,
    ))
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
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", params(DeploymentsQuery), responses((status = 200, body = Object)))]
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
#[utoipa::path(get, path = "/api/v1/resources", tag = "deployments", params(ResourcesQuery), responses((status = 200, body = Object)))]
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
              (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn secret_store(
    State(state): S,
    caller: Caller,
    Path((environment, uid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let target = format!("{environment}/{uid}");
    let result = async {
        let p = caller.require(Role::Viewer)?;
        if p.role != Role::Admin && p.subject != "serviceaccount:external-secrets" {
            return Err(ApiError::forbidden(
                "only admins and serviceaccount:external-secrets may read secret values",
            ));
        }
        let found = state.store.resource_outputs(&environment, &uid).await?;
        let secrets: serde_json::Map<String, serde_json::Value> = found
            .outputs
            .into_iter()
            .filter(|(k, _)| found.secrets.contains(k))
            .collect();
        Ok(secrets)
    }
    .await;
    let secrets = crate::audit::audited(&state, &caller, "secret.read", &target, result).await?;
    Ok(Json(secrets).into_response())
}
