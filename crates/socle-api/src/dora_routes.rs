//! Delivery metrics over HTTP: event import, incidents, GitHub/GitLab webhooks, reports.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Json, Query};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use socle_store::Role;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use socle_app::ErrorCode;
use socle_app::dora::{self, Scope, team_reports, window};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/dora/events", post(import_events))
        .route("/api/v1/dora/incidents", get(incidents).post(incident))
        .route("/api/v1/dora/webhooks/github", post(github))
        .route("/api/v1/dora/webhooks/gitlab", post(gitlab))
        .route("/api/v1/dora/report", get(report))
        .route("/api/v1/dora/teams", get(teams))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Keep the valid lines when some are malformed (default: reject the whole import).
    #[serde(default)]
    partial: bool,
    /// The source of events that name none (default `import`).
    source: Option<String>,
}

/// Imports delivery events as JSON Lines (deployments, changes, incidents). Idempotent by
/// source + id. Malformed lines are listed with their numbers; by default the whole import is
/// then rejected, with `partial=true` the valid lines are kept.
#[utoipa::path(post, path = "/api/v1/dora/events", tag = "dora", params(ImportQuery),
    request_body(description = "JSON Lines: one event object per line, e.g. `{\"type\": \"deployment\", \"id\": \"d1\", \"service\": \"payments\", \"environment\": \"production\", \"status\": \"success\", \"finished_at\": \"2026-01-05T10:00:00Z\", \"changes\": [\"c1\"]}`; sent as text (`application/x-ndjson` or `text/plain`)",
        content((String = "application/x-ndjson", example = json!("{\"type\": \"change\", \"id\": \"c1\", \"service\": \"payments\", \"committed_at\": \"2026-01-05T09:00:00Z\"}\n")),
                (String = "text/plain"))),
    responses((status = 200, description = "`{received, changed, unknown_services, errors}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_events(
    State(state): S,
    caller: Caller,
    q: Result<Query<ImportQuery>, ApiError>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::DoraImport, "events");
    let Query(q) = crate::audit::input(&state, &caller, Role::Member, what, q).await?;
    let out = state
        .import_events(&caller, &body, q.source.as_deref(), q.partial)
        .await?;
    Ok(Json(out).into_response())
}

/// `{"id": "INC-42", "service": "payments", "started_at": "2026-01-05T11:00:00Z",
/// "resolved_at": null, "deployment": "d1", "source": "pagerduty", "title": "Payments 500s",
/// "severity": "SEV2", "url": "https://acme.pagerduty.com/incidents/INC-42",
/// "labels": {"region": "eu-west-1"}}`
#[derive(Deserialize, ToSchema)]
pub struct IncidentIn {
    id: String,
    service: String,
    #[schema(format = DateTime)]
    started_at: String,
    #[schema(format = DateTime)]
    resolved_at: Option<String>,
    /// The deployment that caused it: its id in the incident's source, or in any source.
    deployment: Option<String>,
    source: Option<String>,
    /// At most 1,024 characters.
    title: Option<String>,
    /// As the tool says it (`SEV1`, `P2`, `critical`), at most 64 characters.
    severity: Option<String>,
    /// The incident in its tool, at most 2,048 bytes.
    url: Option<String>,
    /// At most 64, names as ids are, values of at most 1,024 characters.
    labels: Option<BTreeMap<String, String>>,
    /// Any other field: ignored, and named in the answer's `warnings`.
    #[serde(flatten)]
    #[schema(ignore)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// Records (or updates) an incident, for PagerDuty/Opsgenie-style tools. Fields Socle does
/// not read are ignored and listed in `warnings`.
#[utoipa::path(post, path = "/api/v1/dora/incidents", tag = "dora", request_body = IncidentIn,
    responses((status = 200, description = "`{received, changed, unknown_services, warnings}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn incident(
    State(state): S,
    caller: Caller,
    body: Result<Json<IncidentIn>, ApiError>,
) -> Result<Response, ApiError> {
    let what = (socle_app::AuditAction::DoraIncident, "incident");
    let b = crate::audit::body(&state, &caller, Role::Member, what, body).await?;
    let mut line = serde_json::Value::Object(b.other);
    for (k, v) in [
        ("id", Some(b.id)),
        ("service", Some(b.service)),
        ("started_at", Some(b.started_at)),
        ("resolved_at", b.resolved_at),
        ("deployment", b.deployment),
        ("source", Some(b.source.unwrap_or_else(|| "api".into()))),
        ("title", b.title),
        ("severity", b.severity),
        ("url", b.url),
    ] {
        line[k] = v.map_or(serde_json::Value::Null, serde_json::Value::String);
    }
    line["labels"] = serde_json::to_value(b.labels.unwrap_or_default()).unwrap_or_default();
    let out = state.record_incident(&caller, line).await?;
    Ok(Json(out).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentsQuery {
    /// A service: short for `scope=service&name=…`.
    service: Option<String>,
    /// `org` (default), `service`, `team`, `system` or `domain`.
    scope: Option<String>,
    /// The service name, or the group/system/domain name or ref.
    name: Option<String>,
    /// Window length ending now (or at `to`): `90d` (default), `12w`, `36h`.
    #[param(pattern = "^[0-9]+[dwh]?$")]
    since: Option<String>,
    /// Window start, RFC 3339 (inclusive).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Window end, RFC 3339 (exclusive; default now).
    #[param(format = DateTime)]
    to: Option<String>,
    /// At most this many, newest first (default 100, at most 500).
    limit: Option<u32>,
}

/// An incident as listed; times in RFC 3339.
#[derive(Serialize, ToSchema)]
pub struct IncidentOut {
    source: String,
    id: String,
    service: String,
    started_at: String,
    resolved_at: Option<String>,
    deployment: Option<String>,
    title: Option<String>,
    severity: Option<String>,
    url: Option<String>,
    labels: BTreeMap<String, String>,
}

impl From<socle_dora::Incident> for IncidentOut {
    fn from(i: socle_dora::Incident) -> Self {
        use socle_dora::events::format_timestamp;
        Self {
            started_at: format_timestamp(i.started_at),
            resolved_at: i.resolved_at.map(format_timestamp),
            source: i.source,
            id: i.id,
            service: i.service,
            deployment: i.deployment,
            title: i.title,
            severity: i.severity,
            url: i.url,
            labels: i.labels,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentList {
    scope: String,
    from: String,
    to: String,
    /// Open at some time in `[from, to)`, newest first.
    incidents: Vec<IncidentOut>,
}

/// The incidents of a service (or a team, system, domain, the organisation) that were open at
/// some time in the window, newest first, with what their tool sent.
#[utoipa::path(get, path = "/api/v1/dora/incidents", tag = "dora", params(IncidentsQuery),
    responses((status = 200, description = "the incidents and the window", body = IncidentList),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn incidents(
    State(state): S,
    caller: Caller,
    Query(q): Query<IncidentsQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let scope = match (q.service.as_deref(), q.scope.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `service` or `scope`, not both",
            ));
        }
        (Some(service), None) => Scope::parse("service", Some(service)),
        (None, scope) => Scope::parse(scope.unwrap_or("org"), q.name.as_deref()),
    }
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let w = window(
        q.since.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        state.now_ms(),
    )?;
    let listed = state
        .dora_incidents(&scope, w, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(IncidentList {
        scope: scope.label(),
        from: socle_dora::events::format_timestamp(w.from),
        to: socle_dora::events::format_timestamp(w.to),
        incidents: listed.into_iter().map(IncidentOut::from).collect(),
    })
    .into_response())
}

fn webhook_error(e: socle_dora::webhooks::WebhookError) -> ApiError {
    use socle_dora::webhooks::WebhookError as W;
    match e {
        W::Unauthorized(m) => ApiError::new(ErrorCode::BadSignature, m),
        W::Invalid(m) => ApiError::bad_request(m),
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// GitHub webhook (push, deployment_status, issues labelled `incident`), verified with
/// `X-Hub-Signature-256` against the configured secret.
#[utoipa::path(post, path = "/api/v1/dora/webhooks/github", tag = "dora", request_body(content = Object),
    responses((status = 200, description = "`{received, changed, unknown_services}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn github(
    State(state): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = state.config.github_webhook_secret.as_deref() else {
        return Err(ApiError::new(
            ErrorCode::WebhookNotConfigured,
            "no GitHub webhook secret is configured on this server (socle serve --github-webhook-secret)",
        ));
    };
    socle_dora::webhooks::verify_github(
        secret.as_bytes(),
        &body,
        header(&headers, "x-hub-signature-256"),
    )
    .map_err(webhook_error)?;
    let kind = header(&headers, "x-github-event").unwrap_or_default();
    let events = socle_dora::webhooks::github_events(kind, &body).map_err(webhook_error)?;
    Ok(Json(state.store_events(events).await?).into_response())
}

/// GitLab webhook (push, deployment, incident issues), verified with `X-Gitlab-Token`.
#[utoipa::path(post, path = "/api/v1/dora/webhooks/gitlab", tag = "dora", request_body(content = Object),
    responses((status = 200, description = "`{received, changed, unknown_services}`", body = Object), (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)))]
pub async fn gitlab(
    State(state): S,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(token) = state.config.gitlab_webhook_token.as_deref() else {
        return Err(ApiError::new(
            ErrorCode::WebhookNotConfigured,
            "no GitLab webhook token is configured on this server (socle serve --gitlab-webhook-token)",
        ));
    };
    socle_dora::webhooks::verify_gitlab(token, header(&headers, "x-gitlab-token"))
        .map_err(webhook_error)?;
    let kind = header(&headers, "x-gitlab-event").unwrap_or_default();
    let events = socle_dora::webhooks::gitlab_events(kind, &body).map_err(webhook_error)?;
    Ok(Json(state.store_events(events).await?).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `org` (default), `service`, `team`, `system` or `domain`.
    scope: Option<String>,
    /// The service name, or the group/system/domain name or ref.
    name: Option<String>,
    /// Window length ending now (or at `to`): `90d` (default), `12w`, `36h`.
    #[param(pattern = "^[0-9]+[dwh]?$")]
    since: Option<String>,
    /// Window start, RFC 3339 (inclusive).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Window end, RFC 3339 (exclusive; default now).
    #[param(format = DateTime)]
    to: Option<String>,
    /// Include the weekly series (default true).
    weekly: Option<bool>,
}

/// The four keys of a scope over a window, with levels and (by default) the weekly series.
#[utoipa::path(get, path = "/api/v1/dora/report", tag = "dora", params(ReportQuery),
    responses((status = 200, description = "`{scope, services, deployment_frequency_per_day, lead_time_median_hours, lead_time_p90_hours, change_failure_rate, recovery_time_median_hours, levels, weekly, …}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn report(
    State(state): S,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let scope = Scope::parse(q.scope.as_deref().unwrap_or("org"), q.name.as_deref())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let w = window(
        q.since.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        state.now_ms(),
    )?;
    let snap = state.snapshot();
    let services = dora::services(&snap, &scope)?;
    let ds = state.dora_dataset().await?;
    let weekly = q.weekly.unwrap_or(true);
    // CPU work: on the blocking pool, a few at a time.
    let report = state
        .cpu
        .run({
            let ds = ds.clone();
            move || ds.report(services.as_deref(), w, weekly)
        })
        .await?;
    let mut out = serde_json::to_value(&report).map_err(ApiError::internal)?;
    out["scope"] = serde_json::Value::String(scope.label());
    if scope == Scope::Org {
        out["unknown_services"] = serde_json::to_value(dora::unknown_services(
            &snap,
            ds.services().iter().map(String::as_str),
        ))
        .unwrap_or_default();
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamsQuery {
    /// Window length ending now (or at `to`): `90d` (default), `12w`, `36h`.
    #[param(pattern = "^[0-9]+[dwh]?$")]
    since: Option<String>,
    /// Window start, RFC 3339 (inclusive).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Window end, RFC 3339 (exclusive; default now).
    #[param(format = DateTime)]
    to: Option<String>,
}

/// The four keys of every team (group) of the catalog, each with its child teams.
#[utoipa::path(get, path = "/api/v1/dora/teams", tag = "dora", params(TeamsQuery),
    responses((status = 200, description = "`[{scope, services, …}]`", body = Vec<Object>), (status = 400, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn teams(
    State(state): S,
    caller: Caller,
    Query(q): Query<TeamsQuery>,
) -> Result<Response, ApiError> {
    caller.can_read(&state)?;
    let w = window(
        q.since.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        state.now_ms(),
    )?;
    let snap = state.snapshot();
    let ds = state.dora_dataset().await?;
    let out = state.cpu.run(move || team_reports(&snap, &ds, w)).await?;
    Ok(Json(out).into_response())
}
