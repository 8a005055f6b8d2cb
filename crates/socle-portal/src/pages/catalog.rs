//! The catalog: search as you type, facets (kind, type, owner, lifecycle, tag, system), sorting
//! and pagination. Without JavaScript the form submits as a plain GET.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use socle_api::AppState;
use socle_search::{FacetCount, SearchQuery};

use crate::error::PageError;
use crate::layout::{self, enc, entity_href, short};
use crate::session::Viewer;

pub const PAGE_SIZE: usize = 25;
const FACET_SHOWN: usize = 12;

/// The catalog query as the form sends it (repeated keys for multi-select facets).
#[derive(Default, Debug)]
pub struct CatalogQuery {
    pub text: String,
    pub kind: Vec<String>,
    pub spec_type: Vec<String>,
    pub owner: Vec<String>,
    pub lifecycle: Vec<String>,
    pub tag: Vec<String>,
    pub system: Vec<String>,
    pub by_name: bool,
    pub page: usize,
    pub fragment: bool,
}

impl CatalogQuery {
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut q = CatalogQuery {
            page: 1,
            ..Default::default()
        };
        for (k, v) in pairs.iter().take(200) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let v = v.chars().take(200).collect::<String>();
            match k.as_str() {
                "q" => q.text = v,
                "kind" => q.kind.push(v.to_ascii_lowercase()),
                "type" => q.spec_type.push(v.to_ascii_lowercase()),
                "owner" => q.owner.push(v.to_ascii_lowercase()),
                "lifecycle" => q.lifecycle.push(v.to_ascii_lowercase()),
                "tag" => q.tag.push(v.to_ascii_lowercase()),
                "system" => q.system.push(v.to_ascii_lowercase()),
                "sort" => q.by_name = v == "name",
                "page" => q.page = v.parse::<usize>().unwrap_or(1).clamp(1, 400),
                "fragment" => q.fragment = v == "1",
                _ => {}
            }
        }
        q
    }

    fn search(&self) -> SearchQuery {
        SearchQuery {
            text: self.text.clone(),
            kind: self.kind.clone(),
            owner: self.owner.clone(),
            spec_type: self.spec_type.clone(),
            tag: self.tag.clone(),
            lifecycle: self.lifecycle.clone(),
            system: self.system.clone(),
            by_ref: self.by_name,
            limit: PAGE_SIZE,
            offset: (self.page - 1) * PAGE_SIZE,
        }
    }

    /// The query string for another page.
    fn link(&self, page: usize) -> String {
        let mut s = format!("/catalog?q={}", enc(&self.text));
        for (k, vs) in [
            ("kind", &self.kind),
            ("type", &self.spec_type),
            ("owner", &self.owner),
            ("lifecycle", &self.lifecycle),
            ("tag", &self.tag),
            ("system", &self.system),
        ] {
            for v in vs {
                s.push_str(&format!("&{k}={}", enc(v)));
            }
        }
        if self.by_name {
            s.push_str("&sort=name");
        }
        s.push_str(&format!("&page={page}"));
        s
    }
}

pub async fn catalog(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.can_read(&state)?;
    let q = CatalogQuery::from_pairs(&pairs);
    let live = results(&state, &viewer, &q)?;
    if q.fragment {
        return Ok(live.into_response());
    }
    Ok(render(&viewer, &q, live).into_response())
}

/// The page around the live region.
fn render(viewer: &Viewer, q: &CatalogQuery, live: Markup) -> Markup {
    layout::page(
        viewer,
        "Catalog",
        "/catalog",
        html! {
            h1 { "Catalog" }
            form method="get" action="/catalog" data-live="live" role="search" {
                div class="search-row" {
                    label for="q" class="visually-hidden" { "Search the catalog" }
                    input type="search" id="q" name="q" value=(q.text) placeholder="Search services, APIs, teams… (name, description, tags, owner)" autocomplete="off";
                    label for="sort" { "Sort" }
                    select id="sort" name="sort" {
                        option value="relevance" selected[!q.by_name] { "Relevance" }
                        option value="name" selected[q.by_name] { "Kind and name (A–Z)" }
                    }
                    button type="submit" { "Search" }
                }
                div id="live" aria-live="polite" { (live) }
            }
        },
    )
}

fn facet(
    title: &str,
    name: &str,
    counts: &[FacetCount],
    selected: &[String],
    labels: fn(&str) -> &str,
) -> Markup {
    let mut shown: Vec<&FacetCount> = counts.iter().take(FACET_SHOWN).collect();
    for c in counts.iter().skip(FACET_SHOWN) {
        if selected.contains(&c.value) {
            shown.push(c);
        }
    }
    html! {
        fieldset {
            legend { (title) }
            @if shown.is_empty() { span class="muted" { "—" } }
            @for c in shown {
                label {
                    input type="checkbox" name=(name) value=(c.value) checked[selected.contains(&c.value)];
                    span { (labels(&c.value)) }
                    span class="count" { (c.count) }
                }
            }
        }
    }
}

fn same(s: &str) -> &str {
    s
}

/// Facets and hits: the part that search-as-you-type swaps.
fn results(state: &AppState, viewer: &Viewer, q: &CatalogQuery) -> Result<Markup, PageError> {
    let res = state.search_catalog(&viewer.caller(), &q.search())?;
    let pages = res.total.div_ceil(PAGE_SIZE).max(1);
    let first = (q.page - 1) * PAGE_SIZE + 1;
    let last = ((q.page - 1) * PAGE_SIZE + res.hits.len()).max(first.saturating_sub(1));
    Ok(html! {
        div class="layout-catalog" {
            aside class="facets" aria-label="Filters" {
                (facet("Kind", "kind", &res.facets.kind, &q.kind, same))
                (facet("Type", "type", &res.facets.spec_type, &q.spec_type, same))
                (facet("Owner", "owner", &res.facets.owner, &q.owner, short))
                (facet("Lifecycle", "lifecycle", &res.facets.lifecycle, &q.lifecycle, same))
                (facet("System", "system", &res.facets.system, &q.system, short))
                (facet("Tag", "tag", &res.facets.tag, &q.tag, same))
                noscript { button type="submit" { "Apply filters" } }
            }
            section class="results" aria-label="Results" {
                p class="muted" id="count" {
                    @if res.total == 0 { "No entity matches." }
                    @else { (first) "–" (last) " of " (res.total) " entities" }
                }
                @for h in &res.hits {
                    div class="hit" {
                        a class="name" href=(entity_href(&h.entity_ref)) { (h.title.as_deref().unwrap_or(&h.name)) }
                        " "
                        span class="tag" { (h.kind) @if let Some(t) = &h.spec_type { " · " (t) } }
                        @if let Some(o) = &h.owner { " " span class="muted" { "owned by " a href=(entity_href(o)) { (short(o)) } } }
                        @if let Some(d) = &h.description { div class="muted" { (d) } }
                    }
                }
                @if pages > 1 {
                    nav class="pager" aria-label="Pages" {
                        @if q.page > 1 { a href=(q.link(q.page - 1)) rel="prev" { "← Previous" } }
                        span { "Page " (q.page) " of " (pages) }
                        @if q.page < pages && q.page < 400 { a href=(q.link(q.page + 1)) rel="next" { "Next →" } }
                    }
                }
            }
        }
    })
}
