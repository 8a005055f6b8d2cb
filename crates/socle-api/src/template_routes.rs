//! Golden paths over HTTP: the templates, running one (or a dry run), the recorded runs.

use std::sync::Arc;

use crate::error::{Json, Path, Query};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::ErrorCode;

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/templates", get(list_templates))
        .route("/api/v1/templates/runs", get(list_runs))
        .route("/api/v1/templates/runs/{id}", get(get_run))
        .route("/api/v1/templates/{name}", get(get_template))
        .route("/api/v1/templates/{name}/runs", post(create_run))
}

fn summary(t: &socle_scaffold::Template) -> Value {
    json!({"name": t.name, "title": t.title, "description": t.description, "tags": t.tags, "owner": t.owner, "type": t.spec_type})
}

/// The golden paths on offer.
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", responses((status = 200, description = "`[{name, title, description, tags, owner, type}]`", body = Vec<Object>)))]
pub async fn list_templates(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let engine = socle_app::scaffold::engine(&state, &caller);
    let list: Vec<Value> = socle_app::scaffold::templates(&state, &engine)
        .iter()
        .map(|(t, _)| summary(t))
        .collect();
    Ok(Json(list).into_response())
}

/// One template: its parameter pages (JSON Schema, with `ui:*` hints for forms) and steps.
#[utoipa::path(get, path = "/api/v1/templates/{name}", tag = "templates", params(("name" = String, Path)),
    responses((status = 200, description = "the template: `{name, title, …, parameters, steps}`", body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_template(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let engine = socle_app::scaffold::engine(&state, &caller);
    let list = socle_app::scaffold::templates(&state, &engine);
    let (t, _) = list
        .iter()
        .find(|(t, _)| t.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no template {name:?}")))?;
    let mut v = summary(t);
    v["parameters"] = json!(socle_scaffold::params::pages(&t.parameters));
    v["steps"] = serde_json::to_value(&t.steps).map_err(ApiError::internal)?;
    Ok(Json(v).into_response())
}

/// `{"values": {"name": "orders-api", …}, "dry_run": false}`
#[derive(Deserialize, ToSchema)]
pub struct RunIn {
    #[serde(default)]
    values: Value,
    #[serde(default)]
    dry_run: bool,
}

/// Runs a template (members; a dry run renders only). The run is recorded either way: 201 when it
/// completed, 422 with the run (every step, the log, the error) when it failed.
#[utoipa::path(post, path = "/api/v1/templates/{name}/runs", tag = "templates", params(("name" = String, Path)), request_body = RunIn,
    responses((status = 201, description = "the run record, with `files` for a dry run", body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_run(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<RunIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::TemplateRun, name.as_str());
    let body = crate::audit::body(&state, &caller, Role::Member, what, body).await?;
    let out = state
        .run_template(&caller, &name, body.values, body.dry_run, None)
        .await?;
    let mut v = serde_json::to_value(&out.run).map_err(ApiError::internal)?;
    if out.run.dry_run {
        v["files"] = json!(
            out.files
                .iter()
                .map(|(p, s)| json!({"path": p, "size": s}))
                .collect::<Vec<_>>()
        );
    }
    if out.run.status == socle_store::RunStatus::Completed {
        Ok((StatusCode::CREATED, Json(v)).into_response())
    } else {
        let mut e = ApiError::new(
            ErrorCode::RunFailed,
            out.run
                .error
                .as_ref()
                .map_or_else(|| "the run failed".to_owned(), |e| e.to_string()),
        );
        e.details = Some(v);
        Err(e)
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    template: Option<String>,
    limit: Option<u32>,
}

/// Recorded runs, newest first.
#[utoipa::path(get, path = "/api/v1/templates/runs", tag = "templates", params(RunsQuery), responses((status = 200, description = "`[{id, seq, template, actor, status, dry_run, parameters, steps, log, output, error, created_at}]`", body = Vec<Object>)))]
pub async fn list_runs(
    State(state): S,
    caller: Caller,
    Query(q): Query<RunsQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(
        state
            .store
            .list_template_runs(q.template.as_deref(), q.limit.unwrap_or(50))
            .await?,
    )
    .into_response())
}

/// One recorded run: parameters (secrets redacted), steps, log, outputs.
#[utoipa::path(get, path = "/api/v1/templates/runs/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 200, description = "the run", body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_run(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let run = state
        .store
        .get_template_run(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no run {id}")))?;
    Ok(Json(run).into_response())
}
