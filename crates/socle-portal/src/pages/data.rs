//! The data contract view on a `DataContract` entity's page (an ODCS file in the catalog): tier,
//! domain, version, where the data lives, and each table's columns with their types, keys and
//! classification — personal and restricted data marked.

use maud::{Markup, html};
use serde_json::Value;
use socle_data::is_sensitive;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn tier_badge(tier: &str) -> Markup {
    let class = match tier {
        "gold" => "level level-elite",
        "silver" => "level level-high",
        _ => "level level-medium",
    };
    html! { span class=(class) { (tier) } }
}

/// The contract's section, from the entity's `spec`.
pub fn contract_section(body: &Value) -> Markup {
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let empty = Vec::new();
    let schema = spec
        .get("schema")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let servers = spec
        .get("servers")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let sensitive = schema
        .iter()
        .flat_map(|o| {
            o.get("properties")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|p| text(p, "classification").is_some_and(|c| is_sensitive(&c)))
        .count();
    html! {
        section aria-labelledby="contract" {
            h2 id="contract" { "Data contract" }
            dl class="kv" {
                dt { "Tier" } dd { @match text(&spec, "tier") { Some(t) => (tier_badge(&t)), None => span class="muted" { "not set" } } }
                @if let Some(d) = text(&spec, "domain") { dt { "Domain" } dd { (d) } }
                @if let Some(p) = text(&spec, "dataProduct") { dt { "Data product" } dd { (p) } }
                @if let Some(v) = text(&spec, "version") { dt { "Contract version" } dd { (v) } }
                dt { "Personal or restricted columns" } dd {
                    @if sensitive == 0 { span class="muted" { "none" } } @else { span class="level level-low" { (sensitive) } }
                }
                dt { "Servers" } dd {
                    @if servers.is_empty() { span class="muted" { "none listed" } }
                    @for s in servers { code { (text(s, "server").unwrap_or_default()) } " (" (text(s, "type").unwrap_or_default()) ") " }
                }
            }
            @for o in schema {
                @let name = text(o, "name").unwrap_or_default();
                @let props = o.get("properties").and_then(Value::as_array).unwrap_or(&empty);
                table {
                    caption {
                        (name)
                        @if let Some(t) = text(o, "physicalType") { " (" (t) ")" }
                        @if let Some(d) = text(o, "description") { ": " (d) }
                    }
                    thead { tr { th scope="col" { "Column" } th scope="col" { "Type" } th scope="col" { "Key" } th scope="col" { "Required" } th scope="col" { "Classification" } } }
                    tbody {
                        @for p in props {
                            tr {
                                th scope="row" { code { (text(p, "name").unwrap_or_default()) } }
                                td { (text(p, "logicalType").unwrap_or_default()) @if let Some(t) = text(p, "physicalType") { " " span class="muted" { (t) } } }
                                td { @if flag(p, "primaryKey") { "primary" } @else if flag(p, "unique") { "unique" } }
                                td { @if flag(p, "required") { "yes" } @else { span class="muted" { "no" } } }
                                td {
                                    @match text(p, "classification") {
                                        Some(c) if is_sensitive(&c) => span class="level level-low" { (c) },
                                        Some(c) => (c),
                                        None => span class="muted" { "unclassified" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/data`: every data product (gold first) and the processing register — each personal or
/// restricted column with its product, owner, purpose and servers.
pub async fn overview(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<socle_api::AppState>>,
    viewer: crate::session::Viewer,
    axum::extract::Query(q): axum::extract::Query<FacetQuery>,
) -> Result<Markup, crate::error::PageError> {
    use crate::layout::{self, entity_href, short};
    viewer.can_read(&state)?;
    let filter = q.filter();
    let socle_app::data::DataCatalog {
        overview: o,
        facets,
    } = state.data_catalog(&viewer.caller(), &filter)?;
    let count = |tier: &str| {
        o.products
            .iter()
            .filter(|p| p.tier.as_deref() == Some(tier))
            .count()
    };
    Ok(layout::page(
        &viewer,
        "Data products",
        "/data",
        html! {
            h1 { "Data products" }
            p class="sub" { (o.products.len()) " data products from their contracts (ODCS files in the catalog's locations), " strong { (o.register.len()) } " personal or restricted columns." }
            p { a href="/data/runs" { "Pipeline runs" } }
            (facet_nav(&q, &facets))
            div class="tiles" {
                @for tier in ["gold", "silver", "bronze"] {
                    div class="tile" { div class="name" { (tier_badge(tier)) } div class="value" { (count(tier)) } }
                }
            }
            table {
                caption { "Data products, gold first" }
                thead { tr { th scope="col" { "Product" } th scope="col" { "Tier" } th scope="col" { "Domain" } th scope="col" { "Owner" } th scope="col" { "Tables" } th scope="col" { "Columns" } th scope="col" { "Personal or restricted" } } }
                tbody {
                    @for p in &o.products {
                        tr {
                            th scope="row" { a href=(entity_href(&p.entity)) { (p.title) } }
                            td { @match &p.tier { Some(t) => (tier_badge(t)), None => span class="muted" { "not set" } } }
                            td { (p.domain.as_deref().unwrap_or_default()) }
                            td { @if let Some(owner) = &p.owner { a href=(entity_href(owner)) { (short(owner)) } } }
                            td { (p.tables) }
                            td { (p.columns) }
                            td { @if p.sensitive_columns > 0 { span class="level level-low" { (p.sensitive_columns) } } @else { span class="muted" { "0" } } }
                        }
                    }
                }
            }
            section aria-labelledby="register" {
                h2 id="register" { "Processing register: personal and restricted data" }
                p class="muted" { "Every column a contract classifies as pii, personal, confidential, restricted, sensitive or secret, with the purpose its contract states." }
                @if o.register.is_empty() { p class="muted" { "No column is classified as personal or restricted." } }
                @else {
                    table {
                        caption { (o.register.len()) " columns" @if o.register_truncated { " (the first ones only)" } }
                        thead { tr { th scope="col" { "Product" } th scope="col" { "Table" } th scope="col" { "Column" } th scope="col" { "Classification" } th scope="col" { "Owner" } th scope="col" { "Purpose" } th scope="col" { "Servers" } } }
                        tbody {
                            @for r in &o.register {
                                tr {
                                    td { a href=(entity_href(&r.entity)) { (short(&r.entity)) } }
                                    td { code { (r.table) } }
                                    td { code { (r.column) } }
                                    td { span class="level level-low" { (r.classification) } }
                                    td { @if let Some(owner) = &r.owner { a href=(entity_href(owner)) { (short(owner)) } } }
                                    td { (r.purpose.as_deref().unwrap_or_default()) }
                                    td { (r.servers.join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `/data`'s filters, from its query string (empty values are no filter).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct FacetQuery {
    domain: Option<String>,
    tier: Option<String>,
    owner: Option<String>,
    classification: Option<String>,
}

impl FacetQuery {
    fn filter(&self) -> socle_app::data::DataFilter {
        let keep = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        socle_app::data::DataFilter {
            domain: keep(&self.domain),
            tier: keep(&self.tier),
            owner: keep(&self.owner),
            classification: keep(&self.classification),
        }
    }

    /// `/data` with `key` set to `value` (or cleared, when it is the value already) and the
    /// other filters kept.
    fn href(&self, key: &str, value: &str) -> String {
        let pairs = [
            ("domain", &self.domain),
            ("tier", &self.tier),
            ("owner", &self.owner),
            ("classification", &self.classification),
        ];
        let mut out = Vec::new();
        for (k, v) in pairs {
            let v = if k == key {
                (v.as_deref() != Some(value)).then_some(value)
            } else {
                v.as_deref().filter(|v| !v.is_empty())
            };
            if let Some(v) = v {
                out.push(format!("{k}={}", crate::layout::enc(v)));
            }
        }
        if out.is_empty() {
            "/data".to_owned()
        } else {
            format!("/data?{}", out.join("&"))
        }
    }
}

/// The facets: each value a link that narrows to it (or widens again), with its count.
fn facet_nav(q: &FacetQuery, f: &socle_app::data::DataFacets) -> Markup {
    let groups = [
        ("Domain", "domain", &f.domain, &q.domain),
        ("Tier", "tier", &f.tier, &q.tier),
        ("Owner", "owner", &f.owner, &q.owner),
        (
            "Personal or restricted data",
            "classification",
            &f.classification,
            &q.classification,
        ),
    ];
    let any = [&q.domain, &q.tier, &q.owner, &q.classification]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()));
    html! {
        nav class="facets" aria-label="Filter the data products" {
            @for (title, key, values, chosen) in groups {
                @if !values.is_empty() {
                    div {
                        strong { (title) ": " }
                        @for fv in values.iter() {
                            @let (v, n) = (&fv.value, fv.count);
                            @let on = chosen.as_deref() == Some(v.as_str());
                            a href=(q.href(key, v)) aria-current=[on.then_some("true")] {
                                @if on { strong { (crate::layout::short(v)) } } @else { (crate::layout::short(v)) }
                                " (" (n) ")"
                            }
                            " "
                        }
                    }
                }
            }
            @if any { p { a href="/data" { "Clear the filters" } } }
        }
    }
}
