//! The entity page: about, relations as a graph, APIs, docs, deployments, guardrails, DORA.
//! Groups get the team view (members, what they own, delivery trends).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde_json::Value;
use socle_api::AppState;
use socle_app::dora::Scope;
use socle_app::snapshot::{EntityView, Snapshot};
use socle_catalog::RelationType;
use socle_ui::graph::{self, Edge, Node};
use socle_ui::markdown::{self, LinkKind};

use crate::docs;
use crate::error::PageError;
use crate::layout::{self, date, enc, entity_href, short, web_url};
use crate::session::Viewer;

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Loads an entity of the read model by its path segments.
fn load<'a>(
    snap: &'a Snapshot,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<(&'a EntityView, Value), PageError> {
    let r = format!(
        "{}:{}/{}",
        kind.to_ascii_lowercase(),
        ns.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    );
    let v = snap
        .get(&r)
        .ok_or_else(|| PageError::not_found(format!("{r} is not in the catalog")))?;
    let body: Value = serde_json::from_str(&v.body).map_err(PageError::internal)?;
    Ok((v, body))
}

/// The entity's relations as an SVG graph, the entity in the middle.
pub fn relations_graph(snap: &Snapshot, v: &EntityView) -> Markup {
    let node = |r: &str, exists: bool| Node {
        id: r.to_owned(),
        label: short(r).to_owned(),
        kind: r.split_once(':').map_or("", |(k, _)| k).to_owned(),
        href: exists.then(|| entity_href(r)),
    };
    let center = node(&v.entity_ref, true);
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (t, target) in &v.relations {
        let r = snap.name(*target);
        // Inverse pairs are drawn once, from the side that reads best.
        let (from, to, label) = match t {
            RelationType::HasMember
            | RelationType::ParentOf
            | RelationType::HasPart
            | RelationType::OwnerOf
            | RelationType::ApiProvidedBy
            | RelationType::ApiConsumedBy
            | RelationType::DependencyOf => (
                r.to_owned(),
                v.entity_ref.to_string(),
                inverse(*t).as_str().to_owned(),
            ),
            _ => (
                v.entity_ref.to_string(),
                r.to_owned(),
                t.as_str().to_owned(),
            ),
        };
        nodes.push(node(r, snap.exists(*target)));
        edges.push(Edge { from, to, label });
    }
    graph::dependency_graph(&center, &nodes, &edges, 12)
}

fn inverse(t: RelationType) -> RelationType {
    match t {
        RelationType::HasMember => RelationType::MemberOf,
        RelationType::ParentOf => RelationType::ChildOf,
        RelationType::HasPart => RelationType::PartOf,
        RelationType::OwnerOf => RelationType::OwnedBy,
        RelationType::ApiProvidedBy => RelationType::ProvidesApi,
        RelationType::ApiConsumedBy => RelationType::ConsumesApi,
        RelationType::DependencyOf => RelationType::DependsOn,
        other => other,
    }
}

fn related(snap: &Snapshot, v: &EntityView, t: RelationType) -> Vec<String> {
    v.relations
        .iter()
        .filter(|(rt, _)| *rt == t)
        .map(|(_, i)| snap.name(*i).to_owned())
        .collect()
}

fn ref_list(refs: &[String]) -> Markup {
    html! {
        @if refs.is_empty() { span class="muted" { "none" } }
        @for (i, r) in refs.iter().enumerate() {
            @if i > 0 { ", " }
            a href=(entity_href(r)) { (short(r)) }
        }
    }
}

pub async fn entity(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name)): Path<(String, String, String)>,
) -> Result<Markup, PageError> {
    let snap = viewer.read_model(&state)?;
    let (v, body) = load(&snap, &kind, &ns, &name)?;
    let kind = v.kind().to_owned();
    let title = str_at(&body, "/metadata/title")
        .or_else(|| str_at(&body, "/metadata/name"))
        .unwrap_or(&name)
        .to_owned();
    let about = about(&snap, v, &body);
    let graph = relations_graph(&snap, v);
    let apis = apis(&snap, v, &body);
    let has_docs = str_at(&body, "/metadata/annotations/backstage.io~1techdocs-ref").is_some();
    let has_slos = str_at(&body, "/metadata/annotations/socle.dev~1slo").is_some();
    let service_name = str_at(&body, "/metadata/name").unwrap_or(&name).to_owned();
    let delivery = if kind == "component" {
        Some(super::deployments::service_section(&state, &viewer, &service_name).await?)
    } else {
        None
    };
    let guard = if kind == "component" {
        Some(guardrails(&state, &v.entity_ref).await?)
    } else {
        None
    };
    let (dora, incidents) = if kind == "component" {
        let scope = Scope::Service(service_name.clone());
        let r = super::dora::report(&state, &scope, "90d").await?;
        let list = super::dora::incidents(&state, &scope, "90d").await?;
        let caption = format!("Incidents of {service_name} (90 days)");
        (
            Some(super::dora::tiles(&r)),
            Some(super::dora::incidents_table(&list, &caption, false)),
        )
    } else {
        (None, None)
    };
    // The SLOs as last measured (the store: no Prometheus query while the page renders).
    let slos = if has_slos {
        let o = state
            .slo_overview(&viewer.caller(), None, Some(&v.entity_ref), Some(50))
            .await
            .ok();
        o.map(|o| {
            html! {
                (super::slo::tiles(&o.summary))
                (super::slo::status_table(
                    &o.items,
                    &format!("SLOs in {}", o.environment),
                    state.now_ms(),
                ))
            }
        })
    } else {
        None
    };
    let team = if kind == "group" {
        Some(super::team::team_section(&state, &viewer, &snap, v).await?)
    } else {
        None
    };
    let scorecards = if kind == "group" {
        Some(super::scorecards::team_section(&state, &viewer, &v.entity_ref).await?)
    } else {
        super::scorecards::entity_section(&state, &viewer, &v.entity_ref).await?
    };
    let access = if kind == "datacontract" {
        super::data_access::section(&state, &viewer, &v.entity_ref, &body).await?
    } else {
        None
    };
    let data = if kind == "datacontract" {
        Some((
            super::data_quality::quality_section(&state, &viewer, &v.entity_ref).await?,
            super::data_quality::lineage_section(&state, &viewer, &v.entity_ref)?,
        ))
    } else {
        None
    };
    let href = entity_href(&v.entity_ref);
    Ok(layout::page(
        &viewer,
        &title,
        "/catalog",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/catalog" { "Catalog" } " / " a href={ "/catalog?kind=" (enc(&kind)) } { (kind) } " / " (name) }
            h1 { (title) }
            p class="sub" {
                span class="tag" { (kind) @if let Some(t) = &v.spec_type { " · " (t) } }
                @if let Some(d) = str_at(&body, "/metadata/description") { " " (d) }
            }
            @if has_docs || has_slos {
                p {
                    @if has_docs { a class="button" href={ (href) "/docs" } { "Read the docs" } " " }
                    @if has_slos { a class="button" href={ (href) "/slos" } { "SLOs and error budgets" } }
                }
            }
            div class="grid" {
                section class="card" aria-labelledby="about" { h2 id="about" { "About" } (about) }
                @if let Some(d) = &dora { section class="card wide" aria-labelledby="dora" { h2 id="dora" { "Delivery (90 days)" } (d) p { a href={ "/dora?scope=service&name=" (enc(&service_name)) } { "Weekly trends" } } } }
            }
            @if let Some(t) = slos { section aria-labelledby="slos" { h2 id="slos" { "Service level objectives" } (t) p { a href={ (href) "/slos" } { "Budgets now, burn-down and burn rates" } } } }
            @if let Some(t) = team { (t) }
            @if kind == "datacontract" { (super::data::contract_section(&body)) }
            @if let Some((quality, lineage)) = data { (quality) (lineage) }
            @if let Some(a) = access { (a) }
            @if let Some(s) = scorecards { (s) }
            section aria-labelledby="relations" {
                h2 id="relations" { "Relations" }
                (graph)
            }
            @if let Some(a) = apis { (a) }
            @if let Some(i) = incidents { section aria-labelledby="incidents" { h2 id="incidents" { "Incidents" } (i) } }
            @if let Some(d) = delivery { (d) }
            @if let Some(g) = guard { (g) }
        },
    ))
}

fn about(snap: &Snapshot, v: &EntityView, body: &Value) -> Markup {
    let owner = v.owner.map(|o| snap.name(o).to_owned());
    let system = related(snap, v, RelationType::PartOf);
    let links: Vec<(String, String)> = body
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|l| {
                    let url = web_url(l.get("url")?.as_str()?)?;
                    let title = l.get("title").and_then(Value::as_str).unwrap_or(url);
                    Some((url.to_owned(), title.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    html! {
        dl class="kv" {
            dt { "Owner" } dd { @match &owner { Some(o) => a href=(entity_href(o)) { (short(o)) }, None => span class="muted" { "none" } } }
            @if !system.is_empty() { dt { "Part of" } dd { (ref_list(&system)) } }
            @if let Some(l) = &v.lifecycle { dt { "Lifecycle" } dd { (l) } }
            @if let Some(t) = &v.spec_type { dt { "Type" } dd { (t) } }
            dt { "Tags" } dd { @if v.tags.is_empty() { span class="muted" { "none" } } @for t in v.tags.iter() { a class="tag" href={ "/catalog?tag=" (enc(t)) } { (t) } } }
            @if !links.is_empty() {
                dt { "Links" }
                dd { ul { @for (u, t) in &links { li { a href=(u) rel="noopener noreferrer" { (t) } } } } }
            }
            @if let Some(p) = str_at(body, "/metadata/annotations/github.com~1project-slug") { dt { "Repository" } dd { code { (p) } } }
        }
    }
}

/// APIs: a component's provided and consumed APIs; an API's definition as operations.
fn apis(snap: &Snapshot, v: &EntityView, body: &Value) -> Option<Markup> {
    if v.kind() == "api" {
        let def = body
            .pointer("/spec/definition")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ty = v.spec_type.as_deref().unwrap_or_default();
        let rendered = if ty.eq_ignore_ascii_case("openapi") {
            match socle_ui::openapi::parse(def) {
                Ok(doc) => socle_ui::openapi::render(&doc),
                Err(e) => {
                    html! { p class="notice error" { "The definition could not be read: " (e) } pre { (def) } }
                }
            }
        } else {
            html! { pre { (def) } }
        };
        let providers = related(snap, v, RelationType::ApiProvidedBy);
        let consumers = related(snap, v, RelationType::ApiConsumedBy);
        return Some(html! {
            section aria-labelledby="definition" {
                h2 id="definition" { "Definition" }
                p { "Provided by " (ref_list(&providers)) "; consumed by " (ref_list(&consumers)) "." }
                (rendered)
            }
        });
    }
    let provided = related(snap, v, RelationType::ProvidesApi);
    let consumed = related(snap, v, RelationType::ConsumesApi);
    if provided.is_empty() && consumed.is_empty() {
        return None;
    }
    let row = |r: &String| {
        let desc = snap
            .get(r)
            .and_then(|e| serde_json::from_str::<Value>(&e.body).ok())
            .and_then(|b| str_at(&b, "/metadata/description").map(str::to_owned));
        let ty = snap
            .get(r)
            .and_then(|e| e.spec_type.as_deref().map(str::to_owned));
        html! { tr { td { a href=(entity_href(r)) { (short(r)) } } td { (ty.unwrap_or_default()) } td { (desc.unwrap_or_default()) } } }
    };
    Some(html! {
        section aria-labelledby="apis" {
            h2 id="apis" { "APIs" }
            table {
                caption { "Provided APIs" }
                thead { tr { th scope="col" { "API" } th scope="col" { "Type" } th scope="col" { "Description" } } }
                tbody { @for r in &provided { (row(r)) } @if provided.is_empty() { tr { td colspan="3" class="muted" { "none" } } } }
            }
            table {
                caption { "Consumed APIs" }
                thead { tr { th scope="col" { "API" } th scope="col" { "Type" } th scope="col" { "Description" } } }
                tbody { @for r in &consumed { (row(r)) } @if consumed.is_empty() { tr { td colspan="3" class="muted" { "none" } } } }
            }
        }
    })
}

/// Latest guardrail result per environment, with the findings, and the entity's waivers.
async fn guardrails(state: &AppState, entity_ref: &str) -> Result<Markup, PageError> {
    let results = state.store.policy_results(entity_ref, None, 50).await?;
    let mut latest: Vec<&socle_store::PolicyResult> = Vec::new();
    for r in &results {
        if !latest.iter().any(|l| l.environment == r.environment) {
            latest.push(r);
        }
    }
    let now = state.now_ms();
    let waivers: Vec<socle_store::Waiver> = state
        .store
        .list_waivers()
        .await?
        .into_iter()
        .filter(|w| w.entity == entity_ref)
        .collect();
    let items = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| {
                        f.get("text")
                            .or_else(|| f.get("message"))
                            .and_then(Value::as_str)
                            .map_or_else(|| f.to_string(), str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(html! {
        section aria-labelledby="guardrails" {
            h2 id="guardrails" { "Guardrails" }
            @if latest.is_empty() { p class="muted" { "Not evaluated yet: guardrails run at every deploy." } }
            @for r in &latest {
                div class="card" {
                    h3 { (r.environment) ": " span class={ "outcome-" (r.outcome) } { (r.outcome) } " " span class="muted" { (date(r.evaluated_at)) } }
                    @let violations = items(&r.findings, "violations");
                    @let waived = items(&r.findings, "waived");
                    @let warnings = items(&r.findings, "warnings");
                    @if !violations.is_empty() { p { strong { "Violations" } } ul { @for t in &violations { li class="outcome-blocked" { (t) } } } }
                    @if !waived.is_empty() { p { strong { "Waived" } } ul { @for t in &waived { li { (t) } } } }
                    @if !warnings.is_empty() { p { strong { "Warnings" } } ul { @for t in &warnings { li class="outcome-warn" { (t) } } } }
                }
            }
            @if !waivers.is_empty() {
                table {
                    caption { "Waivers" }
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Environment" } th scope="col" { "Reason" } th scope="col" { "Owner" } th scope="col" { "Expires" } th scope="col" { "State" } } }
                    tbody {
                        @for w in &waivers {
                            tr {
                                td { code { (w.rule) } } td { @if w.environment.is_empty() { "all" } @else { (w.environment) } }
                                td { (w.reason) } td { (w.owner) } td { (date(w.expires_at)) }
                                td { @if w.revoked_at.is_some() { "revoked" } @else if w.expires_at <= now { "expired" } @else { "in force" } }
                            }
                        }
                    }
                }
            }
        }
    })
}

async fn locations(state: &AppState) -> Result<Vec<socle_ingest::LocationSpec>, PageError> {
    Ok(state.location_specs().await?)
}

pub async fn docs_index(
    state: State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    docs_page(state, viewer, Path((kind, ns, name, String::new()))).await
}

/// What a docs request read: the pages, the one asked for, its bytes (or why not), the origin.
type Loaded = (
    Vec<String>,
    String,
    Result<Vec<u8>, docs::DocsError>,
    String,
);

/// A docs page (Markdown, sanitised) or an image of the docs folder.
pub async fn docs_page(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path((kind, ns, name, path)): Path<(String, String, String, String)>,
) -> Result<Response, PageError> {
    let snap = viewer.read_model(&state)?;
    let (v, body) = load(&snap, &kind, &ns, &name)?;
    let base = format!("{}/docs", entity_href(&v.entity_ref));
    let locs = locations(&state).await?;
    let entity_ref = v.entity_ref.to_string();
    let title = str_at(&body, "/metadata/title")
        .or_else(|| str_at(&body, "/metadata/name"))
        .unwrap_or(&name)
        .to_owned();
    drop(snap);
    let path2 = path.clone();
    let remotes = state.config.remotes.clone();
    // Reading files and Git objects blocks: off the async threads.
    let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded, PageError> {
        let d = docs::locate(&body, &locs, remotes.0.as_ref())
            .map_err(|e| PageError::not_found(e.to_string()))?;
        let pages = d.pages().map_err(|e| PageError::not_found(e.to_string()))?;
        let current = if path2.is_empty() {
            pages
                .first()
                .cloned()
                .ok_or_else(|| PageError::not_found("the docs folder has no Markdown page"))?
        } else {
            docs::clean(&path2)
                .ok_or_else(|| PageError::not_found("not a path inside the docs folder"))?
        };
        let content = d.read(&current);
        Ok((pages, current, content, d.origin.clone()))
    })
    .await
    .map_err(PageError::internal)??;
    let (pages, current, content, origin) = loaded;
    let bytes = content.map_err(|e| PageError::not_found(e.to_string()))?;
    if !current.ends_with(".md") {
        let Some(ct) = docs::asset_type(&current) else {
            return Err(PageError::not_found(
                "only Markdown pages and images are served from docs/",
            ));
        };
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, ct),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response());
    }
    let text = String::from_utf8_lossy(&bytes);
    let cur = current.clone();
    let resolve = |kind: LinkKind, url: &str| -> Option<String> {
        let target = docs::resolve_link(&cur, url)?;
        match kind {
            LinkKind::Page | LinkKind::Image => Some(format!(
                "{base}/{}",
                target
                    .split('/')
                    .map(enc)
                    .collect::<Vec<_>>()
                    .join("/")
                    .replace("%23", "#")
            )),
        }
    };
    let rendered = markdown::render(&text, &resolve);
    let page_title = rendered.title.clone().unwrap_or_else(|| current.clone());
    Ok(layout::page(
        &viewer,
        &format!("{page_title} — {title}"),
        "/catalog",
        html! {
            nav aria-label="Breadcrumb" class="muted" { a href="/catalog" { "Catalog" } " / " a href=(entity_href(&entity_ref)) { (title) } " / docs" }
            div class="docs" {
                nav aria-label="Pages" {
                    h2 { "Pages" }
                    ul { @for p in &pages { li { a href={ (base) "/" (p) } aria-current=[(p == &current).then_some("page")] { (p.trim_end_matches(".md")) } } } }
                    @if !rendered.headings.is_empty() {
                        h2 { "On this page" }
                        ul { @for h in rendered.headings.iter().filter(|h| h.level >= 2 && h.level <= 3) { li { a href={ "#" (h.id) } { (h.text) } } } }
                    }
                }
                article class="markdown" { (PreEscaped(&rendered.html)) }
            }
            p class="muted" { "From " code { (origin) } }
        },
    )
    .into_response())
}
