//! The data contract view on a `DataContract` entity's page (an ODCS file in the catalog): tier,
//! domain, version, where the data lives, and each table's columns with their types, keys and
//! classification — personal and restricted data marked.

use maud::{Markup, html};
use serde_json::Value;

/// Classifications whose columns are personal or restricted data (shown marked, counted).
const SENSITIVE: [&str; 6] = [
    "pii",
    "personal",
    "confidential",
    "restricted",
    "sensitive",
    "secret",
];

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn is_sensitive(classification: &str) -> bool {
    SENSITIVE.contains(&classification.to_ascii_lowercase().as_str())
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
