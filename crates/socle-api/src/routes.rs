//! Route handlers.

use std::sync::Arc;

use crate::error::{Json, Path, Query};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use socle_ingest::LocationKind;
use socle_store::{LocationRecord, Role};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::AuditAction;
use socle_app::catalog::{EntityFilter, PageRequest, SearchRequest};
use socle_app::locations::{NewLocation, Refreshed};
use socle_app::tokens::NewToken;

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(crate::openapi::openapi_json))
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/entities", get(list_entities))
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}",
            get(get_entity),
        )
        .route(
            "/api/v1/entities/{kind}/{namespace}/{name}/relations",
            get(get_relations),
        )
        .route("/api/v1/relations/dangling", get(dangling))
        .route("/api/v1/search", get(search))
        .route("/api/v1/facets", get(facets))
        .route(
            "/api/v1/locations",
            get(list_locations).post(create_location),
        )
        .route(
            "/api/v1/locations/{id}",
            get(get_location).delete(delete_location),
        )
        .route("/api/v1/locations/{id}/refresh", post(refresh_location))
        .route("/api/v1/refresh", post(refresh_all))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/audit", get(audit))
        .merge(crate::deploy_routes::routes())
        .merge(crate::policy_routes::routes())
        .merge(crate::dora_routes::routes())
        .merge(crate::dora_scopes_routes::routes())
        .merge(crate::template_routes::routes())
        .merge(crate::notification_routes::routes())
        .merge(crate::slo_routes::routes())
        .merge(crate::data_routes::routes())
        .merge(crate::scorecard_routes::routes())
        .merge(crate::survey_routes::routes())
        .merge(crate::feedback_routes::routes())
        .merge(crate::adoption_routes::routes())
        .merge(crate::org_routes::routes())
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// One readiness check's verdict.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    /// The database did not answer in time.
    Unavailable,
    /// The read model lags behind the store for too long.
    Stale,
}

impl From<socle_app::readiness::CheckStatus> for CheckStatus {
    fn from(s: socle_app::readiness::CheckStatus) -> Self {
        use socle_app::readiness::CheckStatus as C;
        match s {
            C::Ok => Self::Ok,
            C::Unavailable => Self::Unavailable,
            C::Stale => Self::Stale,
        }
    }
}

/// The database check of `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct DatabaseCheck {
    status: CheckStatus,
    /// `sqlite` or `postgres`.
    backend: String,
    latency_ms: u64,
}

/// The read model check of `/readyz`.
#[derive(Serialize, ToSchema)]
pub struct ReadModelCheck {
    status: CheckStatus,
    /// The catalog generation this replica serves.
    generation: i64,
    /// The store's generation (null: the database did not answer).
    store_generation: Option<i64>,
    entities: usize,
    /// Milliseconds since the read model last matched the store.
    synced_ms_ago: i64,
}

/// Every readiness check.
#[derive(Serialize, ToSchema)]
pub struct ReadinessChecks {
    database: DatabaseCheck,
    read_model: ReadModelCheck,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not ready`.
    status: String,
    backend: String,
    generation: i64,
    entities: usize,
    checks: ReadinessChecks,
}

/// Readiness: the database answers (within 2 s) and the read model is in step with the store;
/// 503 with the same body when a check fails.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "the database answers and the read model is in step with the store", body = Readiness), (status = 503, description = "a check failed (each check's status says which)", body = Readiness)))]
pub async fn readyz(State(state): S) -> Response {
    let r = state.readiness().await;
    let body = Readiness {
        status: if r.ready { "ready" } else { "not ready" }.into(),
        backend: r.database.backend.into(),
        generation: r.read_model.generation,
        entities: r.read_model.entities,
        checks: ReadinessChecks {
            database: DatabaseCheck {
                status: r.database.status.into(),
                backend: r.database.backend.into(),
                latency_ms: r.database.latency_ms,
            },
            read_model: ReadModelCheck {
                status: r.read_model.status.into(),
                generation: r.read_model.generation,
                store_generation: r.read_model.store_generation,
                entities: r.read_model.entities,
                synced_ms_ago: r.read_model.synced_ms_ago,
            },
        },
    };
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String)))]
pub async fn metrics(State(state): S, caller: Caller) -> Response {
    // Like every read: open on loopback, a token (any role) elsewhere.
    if let Err(e) = caller.can_read(&state) {
        return e.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    authenticated: bool,
    subject: Option<String>,
    role: Option<String>,
}

/// Who the presented token belongs to.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "auth", responses((status = 200, description = "the caller (anonymous: `authenticated` false)", body = WhoAmI)))]
pub async fn whoami(caller: Caller) -> Result<Json<WhoAmI>, ApiError> {
    if *caller == socle_app::Actor::InvalidToken {
        caller.require(Role::Viewer)?;
    }
    let p = caller.principal();
    Ok(Json(WhoAmI {
        authenticated: p.is_some(),
        subject: p.map(|p| p.subject.clone()),
        role: p.map(|p| p.role.as_str().to_owned()),
    }))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Comma-separated kinds, e.g. `component,api`.
    kind: Option<String>,
    namespace: Option<String>,
    /// Owner entity ref(s), e.g. `group:default/team-a`.
    owner: Option<String>,
    /// `spec.type` value(s).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    spec_type: Option<String>,
    tag: Option<String>,
    lifecycle: Option<String>,
    /// Page size, 1–500 (default 50).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// A page of entities (each with its `relations`), ordered by ref.
#[utoipa::path(get, path = "/api/v1/entities", tag = "catalog", params(ListParams),
    responses((status = 200, description = "`{items: [entity…], totalItems, nextCursor}`", body = Object)))]
pub async fn list_entities(
    State(state): S,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    let filter = EntityFilter::from_lists(
        p.kind.as_deref(),
        p.namespace.as_deref(),
        p.owner.as_deref(),
        p.spec_type.as_deref(),
        p.tag.as_deref(),
        p.lifecycle.as_deref(),
    );
    let page = PageRequest {
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(json_response(
        state.list_entities(&caller, &filter, &page)?.to_json(),
    ))
}

/// One entity by kind, namespace and name (case-insensitive), with its relations.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "the entity, Backstage-shaped, with `relations`", body = Object), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_entity(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    Ok(json_response(
        state.entity(&caller, &kind, &namespace, &name)?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct RelationOut {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "targetRef")]
    target_ref: String,
    /// False when the target entity does not exist (a dangling relation).
    exists: bool,
}

/// The relations of one entity, with whether each target exists.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/relations", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "the entity's relations", body = Vec<RelationOut>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_relations(
    State(state): S,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Vec<RelationOut>>, ApiError> {
    Ok(Json(
        state
            .relations(&caller, &kind, &namespace, &name)?
            .into_iter()
            .map(|r| RelationOut {
                kind: r.kind,
                target_ref: r.target_ref,
                exists: r.exists,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct DanglingOut {
    source: String,
    #[serde(rename = "type")]
    kind: String,
    target: String,
}

/// Relations pointing at entities that do not exist.
#[utoipa::path(get, path = "/api/v1/relations/dangling", tag = "catalog", responses((status = 200, description = "the dangling relations", body = Vec<DanglingOut>)))]
pub async fn dangling(State(state): S, caller: Caller) -> Result<Json<Vec<DanglingOut>>, ApiError> {
    Ok(Json(
        state
            .dangling(&caller)?
            .into_iter()
            .map(|d| DanglingOut {
                source: d.source,
                kind: d.kind,
                target: d.target,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Free text; prefix matching on the last word.
    pub q: Option<String>,
    pub kind: Option<String>,
    pub owner: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub spec_type: Option<String>,
    pub tag: Option<String>,
    pub lifecycle: Option<String>,
    /// A system ref or name (`system:default/shop`).
    pub system: Option<String>,
    /// 1–100 (default 20).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl SearchParams {
    /// The application's request (it normalises the text and filters).
    pub fn request(self) -> SearchRequest {
        SearchRequest {
            q: self.q,
            kind: self.kind,
            owner: self.owner,
            spec_type: self.spec_type,
            tag: self.tag,
            lifecycle: self.lifecycle,
            system: self.system,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// Full-text search with filters and facets.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, description = "`{total, hits: [{entity_ref, kind, name, title, description, owner, spec_type, score}], facets: {kind, owner, spec_type, tag, lifecycle}}`", body = Object), (status = 400, body = crate::error::ErrorBody)))]
pub async fn search(
    State(state): S,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let q = p.request().query()?;
    let res = state.search_catalog(&caller, &q)?;
    Ok(Json(res).into_response())
}

/// Facet counts (kind, owner, type, tag, lifecycle) for a query.
#[utoipa::path(get, path = "/api/v1/facets", tag = "search", params(SearchParams), responses((status = 200, description = "`{total, facets: {kind, owner, spec_type, tag, lifecycle}}`", body = Object)))]
pub async fn facets(
    State(state): S,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    let mut q = p.request().query()?;
    q.limit = 1;
    let res = state.search_catalog(&caller, &q)?;
    Ok(Json(serde_json::json!({"total": res.total, "facets": res.facets})).into_response())
}

/// A location's stable id: the first 16 hex digits of SHA-256 of its key.
pub use socle_app::locations::location_id;

#[derive(Serialize, ToSchema)]
pub struct LocationOut {
    id: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    record: LocationRecord,
}

fn refresh_out(r: Refreshed) -> RefreshOut {
    RefreshOut {
        location: location_out(r.location),
        outcome: r.outcome,
    }
}

fn location_out(record: LocationRecord) -> LocationOut {
    LocationOut {
        id: location_id(&record.key),
        record,
    }
}

/// Registered locations with their last refresh status, errors and conflicts.
#[utoipa::path(get, path = "/api/v1/locations", tag = "locations", responses((status = 200, description = "every registered location", body = Vec<LocationOut>)))]
pub async fn list_locations(
    State(state): S,
    caller: Caller,
) -> Result<Json<Vec<LocationOut>>, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(
        state
            .store
            .list_locations()
            .await?
            .into_iter()
            .map(location_out)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "locations", params(("id" = String, Path)),
    responses((status = 200, description = "the location", body = LocationOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_location(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LocationOut>, ApiError> {
    caller.can_read(&state)?;
    Ok(Json(location_out(state.find_location(&id).await?)))
}

/// What to register: `{"type": "file", "target": "/srv/catalog"}` or
/// `{"type": "git", "target": "/srv/repos/payments.git", "branch": "main"}`.
#[derive(Deserialize, ToSchema)]
pub struct LocationIn {
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "git")]
    kind: LocationKind,
    target: String,
    branch: Option<String>,
    path: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RefreshOut {
    location: LocationOut,
    #[schema(value_type = Object)]
    outcome: socle_store::ApplyOutcome,
}

/// Registers a location and reads it at once. Local `file` locations need the admin role;
/// a member may register `git` locations of repositories this Socle hosts. Only an admin's
/// locations may define groups and users (the organisation's shape).
#[utoipa::path(post, path = "/api/v1/locations", tag = "locations", request_body = LocationIn,
    responses((status = 201, description = "registered and read: the location and the outcome of its first read", body = RefreshOut), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_location(
    State(state): S,
    caller: Caller,
    body: Result<Json<LocationIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::LocationCreate, "");
    let body = audit::body(&state, &caller, Role::Member, what, body).await?;
    let new = NewLocation {
        kind: body.kind,
        target: body.target,
        branch: body.branch,
        path: body.path,
    };
    let out = refresh_out(state.create_location(&caller, new).await?);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Unregisters a location and removes its entities (admin, or the member who registered it).
#[utoipa::path(delete, path = "/api/v1/locations/{id}", tag = "locations", params(("id" = String, Path)),
    responses((status = 204, description = "unregistered; its entities are gone"), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_location(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.delete_location(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Re-reads one location now (admin, or the member who registered it).
#[utoipa::path(post, path = "/api/v1/locations/{id}/refresh", tag = "locations", params(("id" = String, Path)),
    responses((status = 200, description = "the location and the outcome of this read", body = RefreshOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_location(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RefreshOut>, ApiError> {
    Ok(Json(refresh_out(
        state.refresh_location(&caller, &id).await?,
    )))
}

#[derive(Serialize, ToSchema)]
pub struct RefreshAllOut {
    #[schema(value_type = Object)]
    outcomes: serde_json::Value,
}

/// Re-reads every location now (admin).
#[utoipa::path(post, path = "/api/v1/refresh", tag = "locations",
    responses((status = 200, description = "each location's outcome, by key", body = RefreshAllOut), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_all(State(state): S, caller: Caller) -> Result<Json<RefreshAllOut>, ApiError> {
    let all = state.refresh_catalog(&caller).await?;
    let map: serde_json::Map<String, serde_json::Value> = all
        .into_iter()
        .map(|(k, o)| (k, serde_json::to_value(o).unwrap_or_default()))
        .collect();
    Ok(Json(RefreshAllOut {
        outcomes: serde_json::Value::Object(map),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    id: String,
    name: String,
    subject: String,
    role: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

fn token_out(t: socle_store::TokenRecord) -> TokenOut {
    TokenOut {
        id: t.id,
        name: t.name,
        subject: t.subject,
        role: t.role.as_str().into(),
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// Tokens (never their secrets). Admin only.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, description = "every token", body = Vec<TokenOut>), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list_tokens(State(state): S, caller: Caller) -> Result<Json<Vec<TokenOut>>, ApiError> {
    Ok(Json(
        state
            .list_tokens(&caller)
            .await?
            .into_iter()
            .map(token_out)
            .collect(),
    ))
}

/// `{"name": "ci", "subject": "user:default/jane" | "serviceaccount:ci", "role": "member"}`
#[derive(Deserialize, ToSchema)]
pub struct TokenIn {
    name: String,
    subject: String,
    #[schema(example = "member")]
    role: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    token: TokenOut,
    /// The secret, shown only in this response.
    secret: String,
}

/// Creates a token for a catalog User or a named service account. Admin only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenIn,
    responses((status = 201, description = "the token, with its secret (shown only here)", body = TokenCreated), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): S,
    caller: Caller,
    body: Result<Json<TokenIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (AuditAction::TokenCreate, "token");
    let body = audit::body(&state, &caller, Role::Admin, what, body).await?;
    let created = state
        .create_token(
            &caller,
            NewToken {
                name: body.name,
                subject: body.subject,
                role: body.role,
            },
        )
        .await?;
    let out = TokenCreated {
        token: token_out(created.token),
        secret: created.secret,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Revokes a token. Admin only.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): S,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// 1–1000 (default 100).
    limit: Option<u32>,
}

/// The audit log, newest first. Admin only.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditParams),
    responses((status = 200, description = "`[{seq, at, actor, action, target, outcome, detail}]` (`at` in epoch milliseconds), newest first", body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub async fn audit(
    State(state): S,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(state.store.audit_log(p.limit.unwrap_or(100)).await?).into_response())
}
