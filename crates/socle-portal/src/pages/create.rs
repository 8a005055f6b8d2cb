//! Golden paths: the templates, a form generated from each template's parameters (JSON Schema
//! pages), the run with its steps and log, and its output links.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value};
use socle_api::AppState;
use socle_app::AuditAction;
use socle_app::scaffold::live::LiveState;
use socle_scaffold::Template;
use socle_store::{LiveOutcome, Role};
use socle_ui::form::{self, FieldErrors};

use crate::error::PageError;
use crate::layout::{self, date, enc, entity_href};
use crate::session::Viewer;

fn all(state: &Arc<AppState>, viewer: &Viewer) -> Vec<Template> {
    let engine = socle_app::scaffold::engine(state, &viewer.caller());
    socle_app::scaffold::templates(state, &engine)
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

fn find(state: &Arc<AppState>, viewer: &Viewer, name: &str) -> Result<Template, PageError> {
    all(state, viewer)
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| PageError::not_found(format!("there is no golden path called {name}")))
}

pub async fn list(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let templates = all(&state, &viewer);
    let runs = state.store.list_template_runs(None, 20).await?;
    let now = state.now_ms();
    Ok(layout::page(
        &viewer,
        "Create",
        "/create",
        html! {
            h1 { "Create from a golden path" }
            p class="sub" { "Each golden path creates a repository with code, CI, catalog entry, Score workload, docs and an SLO, registers it in the catalog and deploys it to dev." }
            div class="grid" {
                @for t in &templates {
                    section class="card" aria-labelledby={ "t-" (t.name) } {
                        h2 id={ "t-" (t.name) } { a href={ "/create/" (enc(&t.name)) } { (if t.title.is_empty() { &t.name } else { &t.title }) } }
                        p { (t.description) }
                        p { @for tag in &t.tags { span class="tag" { (tag) } } }
                        p class="muted" { "Owner: " (t.owner) }
                        p { a class="button" href={ "/create/" (enc(&t.name)) } aria-label={ "Choose " (t.title) } { "Choose" } }
                    }
                }
            }
            h2 { "Recent runs" }
            @if runs.is_empty() { p class="muted" { "No runs yet." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Run" } th scope="col" { "Golden path" } th scope="col" { "By" } th scope="col" { "Status" } th scope="col" { "When" } } }
                    tbody { @for r in &runs { tr { td { a href={ "/create/runs/" (enc(&r.id)) } { (r.id) } } td { (r.template) } td { (r.actor) } td class={ "status-" (r.status) } { (r.status) } td { (layout::ago(r.created_at, now)) } } } }
                }
            }
        },
    ))
}

/// Catalog refs offered by picker fields (`ui:options.catalogFilter.kind`).
fn picker_options(state: &AppState) -> impl Fn(&str, &Value) -> Vec<String> + '_ {
    move |_field: &str, schema: &Value| {
        let kinds: Vec<String> = match schema.pointer("/ui:options/catalogFilter/kind") {
            Some(Value::String(k)) => vec![k.to_ascii_lowercase()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect(),
            _ => vec!["group".into()],
        };
        let snap = state.snapshot();
        snap.entities
            .iter()
            .filter(|e| kinds.iter().any(|k| k == e.kind()))
            .take(500)
            .map(|e| {
                // Default-namespace refs are offered by name, as templates expect.
                let r = &e.entity_ref;
                if r.contains(":default/") {
                    layout::short(r).to_owned()
                } else {
                    r.to_string()
                }
            })
            .collect()
    }
}

fn form_page(
    state: &AppState,
    viewer: &Viewer,
    t: &Template,
    values: &Map<String, Value>,
    errors: &FieldErrors,
) -> Markup {
    let pages: Vec<Value> = socle_scaffold::params::pages(&t.parameters)
        .into_iter()
        .cloned()
        .collect();
    let options = picker_options(state);
    let title = if t.title.is_empty() {
        t.name.clone()
    } else {
        t.title.clone()
    };
    layout::page(
        viewer,
        &title,
        "/create",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/create" { "Create" } " / " (t.name) }
            h1 { (title) }
            p class="sub" { (t.description) }
            @if viewer.principal.is_none() {
                p class="notice" { a href={ "/signin?next=/create/" (enc(&t.name)) } { "Sign in" } " to create a service; you can look at the form meanwhile." }
            }
            @if !errors.0.is_empty() {
                div class="notice error" role="alert" {
                    p { strong { "Please correct " (errors.0.values().map(Vec::len).sum::<usize>()) " problem(s):" } }
                    ul { @for (k, msgs) in &errors.0 { @for m in msgs { li { @if !k.is_empty() { a href={ "#f-" (k) } { (k) } ": " } (m) } } } }
                }
            }
            form method="post" action={ "/create/" (enc(&t.name)) } data-pages novalidate[!errors.0.is_empty()] {
                input type="hidden" name="csrf" value=(viewer.csrf.as_deref().unwrap_or_default());
                (form::render_pages(&pages, values, errors, &options))
                button type="submit" { "Create" }
            }
            details {
                summary { "Steps this golden path runs" }
                ol { @for s in &t.steps { li { strong { (s.name) } " " code { (s.action) } } } }
            }
        },
    )
}

pub async fn form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let t = find(&state, &viewer, &name)?;
    Ok(form_page(
        &state,
        &viewer,
        &t,
        &Map::new(),
        &FieldErrors(BTreeMap::new()),
    ))
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    let principal = viewer.check_form(&headers, csrf)?.clone();
    let caller = viewer.caller();
    if let Err(e) = caller.require(Role::Member) {
        let e = state
            .audited(&caller, AuditAction::TemplateRun, &name, Err::<(), _>(e))
            .await;
        return Err(e
            .err()
            .map(PageError::from)
            .unwrap_or_else(|| PageError::internal("unreachable")));
    }
    let t = find(&state, &viewer, &name)?;
    let pages: Vec<Value> = socle_scaffold::params::pages(&t.parameters)
        .into_iter()
        .cloned()
        .collect();
    let values = form::parse_submission(&pages, &pairs);
    // Validate first: a form with mistakes comes back with messages and runs nothing.
    let mut with_defaults = values.clone();
    socle_scaffold::params::apply_defaults(&t.parameters, &mut with_defaults);
    let problems = socle_scaffold::params::validate(&t.parameters, &Value::Object(with_defaults));
    if !problems.is_empty() {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in problems {
            let field = p
                .path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            errors.entry(field).or_default().push(p.message);
        }
        let page = form_page(&state, &viewer, &t, &values, &FieldErrors(errors));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    // The run goes on in the background; its page (on any replica) shows the log as it grows.
    let key = state
        .start_live_run(&caller, &principal.subject, &name, Value::Object(values))
        .await?;
    Ok(Redirect::to(&format!("/create/live/{key}")).into_response())
}

/// A run in progress: the log so far, refreshed every second (no JavaScript needed); the
/// recorded run's page once it is done.
pub async fn live_page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    viewer.can_read(&state)?;
    let Some(v) = state.live_run(&viewer.caller(), &key).await? else {
        return Err(PageError::not_found(
            "no such run (runs are forgotten an hour after they start); see the recent runs on the Create page",
        ));
    };
    if let LiveState::Ended(LiveOutcome::Recorded(id)) = &v.state {
        return Ok(Redirect::to(&format!("/create/runs/{}", enc(id))).into_response());
    }
    let running = v.state == LiveState::Running;
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                @if running { meta http-equiv="refresh" content="1"; }
                title { "Running " (v.template) " · Socle" }
                link rel="stylesheet" href={ "/static/socle.css?v=" (layout::asset_version()) };
            }
            body {
                main id="main" {
                    nav aria-label="Breadcrumb" class="muted" { a href="/create" { "Create" } " / " (v.template) }
                    @match &v.state {
                        LiveState::Running => {
                            h1 { "Running " (v.template) "…" }
                            p role="status" class="notice" { "Started by " (v.actor) ". This page follows the run and opens its record when it ends." }
                        },
                        LiveState::Abandoned => {
                            h1 { "The run stopped" }
                            p class="notice error" role="alert" { "The server running it stopped before it ended; nothing was recorded. Start it again." }
                        },
                        LiveState::Ended(LiveOutcome::Refused(message)) => {
                            h1 { "The run could not be recorded" }
                            p class="notice error" role="alert" { (message) }
                        },
                        LiveState::Ended(_) => {
                            h1 { "The run could not be recorded" }
                            p class="notice error" role="alert" { "the run failed on the server; the error was logged" }
                        },
                    }
                    pre class="log" aria-label="Run log" {
                        @for l in &v.lines { span class=(l.level) { "[" (l.step) "] " (l.message) } "\n" }
                    }
                }
            }
        }
    };
    Ok(body.into_response())
}

/// Output links: only web links and the portal's own pages.
fn output_links(output: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(links) = output.get("links").and_then(Value::as_array) {
        for l in links {
            let title = l.get("title").and_then(Value::as_str).unwrap_or("link");
            if let Some(url) = l.get("url").and_then(Value::as_str) {
                let lower = url.to_ascii_lowercase();
                if lower.starts_with("https://")
                    || lower.starts_with("http://")
                    || (url.starts_with('/') && !url.starts_with("//"))
                {
                    out.push((url.to_owned(), title.to_owned()));
                }
            }
            if let Some(r) = l.get("entityRef").and_then(Value::as_str) {
                out.push((entity_href(r), title.to_owned()));
            }
        }
    }
    out
}

pub async fn run_page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let run = state
        .store
        .get_template_run(&id)
        .await?
        .ok_or_else(|| PageError::not_found(format!("no run {id}")))?;
    let links = output_links(&run.output);
    let steps = run.steps.as_array().cloned().unwrap_or_default();
    let log = run.log.as_array().cloned().unwrap_or_default();
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let registered = run
        .parameters
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!("component:default/{n}"))
        .filter(|r| state.snapshot().get(r).is_some());
    Ok(layout::page(
        &viewer,
        &format!("Run {}", run.id),
        "/create",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/create" { "Create" } " / " (run.template) " / " (run.id) }
            h1 { "Run " (run.id) ": " span class={ "status-" (run.status) } { (run.status) } }
            p class="sub" { (run.template) " by " (run.actor) ", " (date(run.created_at)) }
            @if run.status == socle_store::RunStatus::Completed { p class="notice ok" role="status" { "Done." @if let Some(r) = &registered { " " a href=(entity_href(r)) { "Open " (layout::short(r)) " in the catalog" } } } }
            @if let Some(e) = &run.error { p class="notice error" role="alert" { (e.get("message").and_then(Value::as_str).map_or_else(|| e.to_string(), str::to_owned)) } }
            @if !links.is_empty() {
                h2 { "Links" }
                ul { @for (u, t) in &links { li { a href=(u) { (t) } } } }
            }
            h2 { "Steps" }
            table {
                thead { tr { th scope="col" { "Step" } th scope="col" { "Action" } th scope="col" { "Status" } th scope="col" { "Error" } } }
                tbody { @for st in &steps { tr { td { (s(st, "name")) } td { code { (s(st, "action")) } } td class={ "status-" (s(st, "status")) } { (s(st, "status")) } td { (s(st, "error")) } } } }
            }
            h2 { "Log" }
            pre class="log" aria-label="Run log" {
                @for l in &log { span class=(s(l, "level")) { "[" (s(l, "step")) "] " (s(l, "message")) } "\n" }
            }
        },
    ))
}
