//! Deployments: per environment, with promote and rollback for the users allowed to deploy
//! (the API's rule: admins, or members of the team that owns the service). A deploy the
//! guardrails block shows their report.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::ErrorCode;
use socle_store::DeploymentRecord;
use socle_store::DeploymentStatus;

use crate::error::PageError;
use crate::layout::{self, ago, date, enc, entity_href};
use crate::session::Viewer;

/// Latest deployment of each environment, in promotion order.
fn latest_per_env<'a>(
    envs: &[String],
    list: &'a [DeploymentRecord],
) -> Vec<(String, Option<&'a DeploymentRecord>)> {
    envs.iter()
        .map(|e| {
            (
                e.clone(),
                list.iter()
                    .find(|d| &d.environment == e && d.status == DeploymentStatus::Success),
            )
        })
        .collect()
}

/// The deployments section of a service's page.
pub async fn service_section(
    state: &AppState,
    viewer: &Viewer,
    service: &str,
) -> Result<Markup, PageError> {
    let list = state
        .store
        .list_deployments(Some(service), None, 200)
        .await?;
    let envs = super::environments(state);
    let latest = latest_per_env(&envs, &list);
    let can = state.may_deploy(&viewer.caller(), service);
    let now = state.now_ms();
    Ok(html! {
        section aria-labelledby="deployments" {
            h2 id="deployments" { "Deployments" }
            table {
                caption { "Current version per environment" }
                thead { tr { th scope="col" { "Environment" } th scope="col" { "Version" } th scope="col" { "Image" } th scope="col" { "Deployed" } th scope="col" { "By" } @if can { th scope="col" { "Actions" } } } }
                tbody {
                    @for (i, (env, d)) in latest.iter().enumerate() {
                        tr {
                            th scope="row" { (env) }
                            @match d {
                                Some(d) => {
                                    td { (d.version) " " span class="muted" { "(" (d.kind) ")" } }
                                    td { code { (d.images.join(", ")) } }
                                    td { time datetime=(date(d.created_at)) title=(date(d.created_at)) { (ago(d.created_at, now)) } }
                                    td { (d.actor) }
                                },
                                None => { td colspan="4" class="muted" { "not deployed" } },
                            }
                            @if can {
                                td {
                                    @if let (Some(_), Some(next)) = (d, envs.get(i + 1)) {
                                        (action_form("/deployments/promote", viewer, &[("service", service), ("from", env), ("to", next)], &format!("Promote to {next}")))
                                    }
                                    @if list.iter().filter(|x| &x.environment == env && x.status == DeploymentStatus::Success).count() > 1 {
                                        " " (action_form("/deployments/rollback", viewer, &[("service", service), ("environment", env)], "Roll back"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !can && viewer.principal.is_none() { p class="muted" { a href="/signin" { "Sign in" } " to promote or roll back." } }
            details {
                summary { "History (" (list.len()) ")" }
                (history(&list, now))
            }
        }
    })
}

fn action_form(action: &str, viewer: &Viewer, fields: &[(&str, &str)], label: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            input type="hidden" name="csrf" value=(viewer.csrf.as_deref().unwrap_or_default());
            @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
            button type="submit" class="secondary" { (label) }
        }
    }
}

fn history(list: &[DeploymentRecord], now: i64) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "When" } th scope="col" { "Service" } th scope="col" { "Environment" } th scope="col" { "Version" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "By" } th scope="col" { "GitOps commit" } } }
            tbody {
                @for d in list {
                    tr {
                        td { time title=(date(d.created_at)) { (ago(d.created_at, now)) } }
                        td { a href=(entity_href(&format!("component:default/{}", d.service))) { (d.service) } }
                        td { (d.environment) } td { (d.version) } td { (d.kind) }
                        td class={ "status-" (d.status) } { (d.status) }
                        td { (d.actor) } td { code { (d.gitops_commit.get(..10).unwrap_or(&d.gitops_commit)) } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    env: Option<String>,
    service: Option<String>,
}

/// Services on the deployments board.
const BOARD_ROWS: usize = 100;

pub async fn deployments(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let envs = super::environments(&state);
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let env = q.env.as_deref().filter(|s| !s.is_empty());
    let list = state.store.list_deployments(service, env, 100).await?;
    // The board: the current version of each recently deployed service in each environment.
    let recent = state.store.list_deployments(service, None, 1000).await?;
    let mut board: BTreeMap<&str, BTreeMap<&str, (&DeploymentRecord, usize)>> = BTreeMap::new();
    // The 100 most recently deployed services.
    let mut shown: Vec<&str> = Vec::new();
    for d in &recent {
        if shown.len() < BOARD_ROWS && !shown.contains(&d.service.as_str()) {
            shown.push(&d.service);
        }
    }
    for d in recent
        .iter()
        .filter(|d| d.status == DeploymentStatus::Success && shown.contains(&d.service.as_str()))
    {
        let cell = board
            .entry(d.service.as_str())
            .or_default()
            .entry(d.environment.as_str());
        // Newest first: the first seen is current; count the successes for rollback.
        cell.and_modify(|(_, n)| *n += 1).or_insert((d, 1));
    }
    let caller = viewer.caller();
    let now = state.now_ms();
    Ok(layout::page(
        &viewer,
        "Deployments",
        "/deployments",
        html! {
            h1 { "Deployments" }
            h2 { "Current versions" }
            @if board.is_empty() { p class="muted" { "No deployments yet." } }
            @else {
                // One form for the whole board: each button says what it does.
                form method="post" action="/deployments/act" {
                input type="hidden" name="csrf" value=(viewer.csrf.as_deref().unwrap_or_default());
                table {
                    caption { "Each service's current version per environment (the " (BOARD_ROWS) " services deployed most recently)" }
                    thead { tr { th scope="col" { "Service" } @for e in &envs { th scope="col" { (e) } } } }
                    tbody {
                        @for (svc, cells) in &board {
                            @let can = state.may_deploy(&caller, svc);
                            tr {
                                th scope="row" { a href=(entity_href(&format!("component:default/{svc}"))) { (svc) } }
                                @for (i, e) in envs.iter().enumerate() {
                                    td {
                                        @if let Some((d, n)) = cells.get(e.as_str()) {
                                            strong { (d.version) } " " span class="muted" { (ago(d.created_at, now)) }
                                            @if can {
                                                div {
                                                    @if let Some(next) = envs.get(i + 1) {
                                                        button type="submit" class="secondary" name="op" value={ "promote " (svc) " " (e) " " (next) } aria-label={ "Promote " (svc) " from " (e) " to " (next) } { "→ " (next) }
                                                    }
                                                    @if *n > 1 {
                                                        " " button type="submit" class="secondary" name="op" value={ "rollback " (svc) " " (e) } aria-label={ "Roll back " (svc) " in " (e) } { "Roll back" }
                                                    }
                                                }
                                            }
                                        } @else { span class="muted" { "—" } }
                                    }
                                }
                            }
                        }
                    }
                }
                }
                @if viewer.principal.is_none() { p class="muted" { a href="/signin?next=/deployments" { "Sign in" } " to promote or roll back your team's services." } }
            }
            h2 { "History" }
            nav aria-label="Environments" class="search-row" {
                a href="/deployments" aria-current=[env.is_none().then_some("page")] { "All" }
                @for e in &envs { a href={ "/deployments?env=" (enc(e)) } aria-current=[(env == Some(e.as_str())).then_some("page")] { (e) } }
            }
            @if list.is_empty() { p class="muted" { "No deployments." } } @else { (history(&list, now)) }
        },
    ))
}

#[derive(Deserialize)]
pub struct PromoteForm {
    csrf: Option<String>,
    service: String,
    from: String,
    to: String,
}

#[derive(Deserialize)]
pub struct RollbackForm {
    csrf: Option<String>,
    service: String,
    environment: String,
}

/// A refused or blocked deploy: the reason, and the guardrail report when there is one.
fn failed(viewer: &Viewer, service: &str, e: socle_app::AppError) -> Response {
    let status = socle_api::error::status_of(e.code);
    if status.is_server_error() {
        return PageError::from(e).into_response();
    }
    let findings: Vec<String> = e
        .details
        .as_ref()
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let blocked = e.code == ErrorCode::BlockedByGuardrails;
    let body = layout::page(
        viewer,
        "Deploy refused",
        "/deployments",
        html! {
            h1 { @if blocked { "Blocked by guardrails" } @else { "Deploy refused" } }
            p class="notice error" role="alert" { (e.message) }
            @if !findings.is_empty() {
                h2 { "Guardrail report" }
                ul { @for f in &findings { li class="outcome-blocked" { (f) } } }
                p class="muted" { "Fix the workload, or ask a platform admin for a waiver (rule, reason, expiry). Nothing was committed." }
            }
            p { a href=(entity_href(&format!("component:default/{service}"))) { "Back to " (service) } }
        },
    );
    (
        if status == StatusCode::UNAUTHORIZED {
            StatusCode::UNAUTHORIZED
        } else {
            status
        },
        body,
    )
        .into_response()
}

/// Where to go after a successful promote or rollback.
fn back(to: Option<&str>, service: &str) -> Response {
    match to {
        Some(t) => Redirect::to(t).into_response(),
        None => Redirect::to(&format!(
            "{}#deployments",
            entity_href(&format!("component:default/{service}"))
        ))
        .into_response(),
    }
}

async fn do_promote(
    state: &Arc<AppState>,
    viewer: &Viewer,
    service: &str,
    from: &str,
    to: &str,
    after: Option<&str>,
) -> Response {
    match state.promote(&viewer.caller(), service, from, to).await {
        Ok(_) => back(after, service),
        Err(e) => failed(viewer, service, e),
    }
}

async fn do_rollback(
    state: &Arc<AppState>,
    viewer: &Viewer,
    service: &str,
    env: &str,
    after: Option<&str>,
) -> Response {
    match state.rollback(&viewer.caller(), service, env).await {
        Ok(_) => back(after, service),
        Err(e) => failed(viewer, service, e),
    }
}

pub async fn promote(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<PromoteForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    Ok(do_promote(&state, &viewer, &f.service, &f.from, &f.to, None).await)
}

pub async fn rollback(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<RollbackForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    Ok(do_rollback(&state, &viewer, &f.service, &f.environment, None).await)
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: Option<String>,
    /// `promote SERVICE FROM TO` or `rollback SERVICE ENV` (the board's buttons).
    op: String,
}

/// The deployments board's buttons.
pub async fn act(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<ActForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    let words: Vec<&str> = f.op.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["promote", service, from, to] => {
            do_promote(&state, &viewer, service, from, to, Some("/deployments")).await
        }
        ["rollback", service, env] => {
            do_rollback(&state, &viewer, service, env, Some("/deployments")).await
        }
        _ => {
            return Err(PageError::bad_request(
                "op must be `promote SERVICE FROM TO` or `rollback SERVICE ENV`",
            ));
        }
    })
}
