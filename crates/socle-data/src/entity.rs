//! The catalog entity of a data contract (`socle.dev/v1alpha1`, `kind: DataContract`): the data
//! product it describes, its owner team, domain, tier, servers and schema with classifications,
//! and its producers and consumers as catalog relations.
//!
//! ODCS has no place for some of what a catalog needs; Socle reads them from
//! `customProperties` (documented in docs/data.md):
//!
//! | property | meaning |
//! |---|---|
//! | `owner` | the owning group (else v3.1's `team.name`) |
//! | `tier` | `bronze`, `silver` or `gold` |
//! | `system` | the System the data product belongs to |
//! | `producedBy` | components that produce the data (a reference or a list) |
//! | `consumedBy` | components that consume it |

use serde_json::{Map, Value, json};
use socle_catalog::EntityRef;
use socle_catalog::yaml::Seg;

use crate::contract::{Contract, ContractError};

/// The catalog apiVersion of data contract entities.
pub const API_VERSION: &str = "socle.dev/v1alpha1";
/// The catalog kind of data contract entities.
pub const KIND: &str = "DataContract";
/// The medallion tiers.
pub const TIERS: [&str; 3] = ["bronze", "silver", "gold"];

const MAX_NAME: usize = 63;

/// Classifications whose columns hold personal or restricted data (the processing register's
/// and the contract page's marking).
pub const SENSITIVE: [&str; 6] = [
    "pii",
    "personal",
    "confidential",
    "restricted",
    "sensitive",
    "secret",
];

/// Whether a column of this classification holds personal or restricted data.
pub fn is_sensitive(classification: &str) -> bool {
    SENSITIVE.contains(&classification.to_ascii_lowercase().as_str())
}

/// A catalog name from free text: letters, digits and `-_.` kept, runs of anything else made
/// one `-`, trimmed to 63 characters and to alphanumeric ends (`None` if nothing is left).
pub fn slug(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(MAX_NAME));
    let mut dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
        if out.len() >= MAX_NAME {
            break;
        }
    }
    out.truncate(MAX_NAME);
    let trimmed = out.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A catalog tag from an ODCS tag: lowercase, `[a-z0-9:+#]` runs joined by `-`.
fn tag(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let parts: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#')))
        .filter(|p| !p.is_empty())
        .collect();
    let t = parts.join("-");
    (!t.is_empty() && t.len() <= MAX_NAME).then_some(t)
}

fn custom_path(i: usize) -> Vec<Seg> {
    vec![
        Seg::Key("customProperties".into()),
        Seg::Index(i),
        Seg::Key("value".into()),
    ]
}

/// A custom property that names entities: one reference or a list of them.
fn refs(c: &Contract, name: &str, errors: &mut Vec<ContractError>) -> Vec<String> {
    let Some((i, value)) = c.custom(name) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for v in items {
        match v
            .as_str()
            .map(|s| (s, EntityRef::parse(s, Some("Component"), "default")))
        {
            Some((s, Ok(_))) => out.push(s.to_owned()),
            _ => errors.push(c.error(
                &custom_path(i),
                "odcs.custom-property",
                format!("{name}: {v} is not an entity reference (e.g. component:default/orders)"),
            )),
        }
    }
    out
}

/// One string custom property.
fn text(c: &Contract, name: &str, errors: &mut Vec<ContractError>) -> Option<(usize, String)> {
    let (i, value) = c.custom(name)?;
    match value.as_str() {
        Some(s) if !s.trim().is_empty() => Some((i, s.trim().to_owned())),
        _ => {
            errors.push(c.error(
                &custom_path(i),
                "odcs.custom-property",
                format!("{name} must be a non-empty string, not {value}"),
            ));
            None
        }
    }
}

fn owner(c: &Contract, errors: &mut Vec<ContractError>) -> Option<String> {
    if let Some((i, o)) = text(c, "owner", errors) {
        return match EntityRef::parse(&o, Some("Group"), "default") {
            Ok(_) => Some(o),
            Err(e) => {
                errors.push(c.error(&custom_path(i), "odcs.owner", format!("owner {o:?}: {e}")));
                None
            }
        };
    }
    match &c.team_name {
        Some(t) => match EntityRef::parse(t, Some("Group"), "default") {
            Ok(_) => Some(t.clone()),
            Err(_) => {
                errors.push(c.error(
                    &[Seg::Key("team".into()), Seg::Key("name".into())],
                    "odcs.owner",
                    format!("team.name {t:?} is not a group reference: name the owning group with the custom property `owner`"),
                ));
                None
            }
        },
        None => {
            errors.push(c.error(
                &[],
                "odcs.owner",
                "the contract names no owner: set team.name (v3.1) or the custom property `owner` to the owning group",
            ));
            None
        }
    }
}

/// The catalog name of a contract's data product: its name (else its data product's) made a
/// slug, else its id's.
pub fn entity_name(c: &Contract) -> Option<String> {
    let title = c.name.as_deref().or(c.data_product.as_deref());
    title.and_then(slug).or_else(|| slug(&c.id))
}

/// The catalog entity of a contract's data product (`datacontract:default/<name>`), if it has a
/// name.
pub fn entity_ref(c: &Contract) -> Option<String> {
    entity_name(c).map(|n| format!("{}:default/{n}", KIND.to_ascii_lowercase()))
}

/// The catalog entity of `c`, or why it cannot be one (located in the contract's file).
pub fn to_entity(c: &Contract) -> Result<Value, Vec<ContractError>> {
    let mut errors = Vec::new();
    let owner = owner(c, &mut errors);
    let tier = text(c, "tier", &mut errors).and_then(|(i, t)| {
        let lower = t.to_ascii_lowercase();
        if TIERS.contains(&lower.as_str()) {
            Some(lower)
        } else {
            errors.push(c.error(
                &custom_path(i),
                "odcs.custom-property",
                format!("tier {t:?} is not one of bronze, silver, gold"),
            ));
            None
        }
    });
    let system = text(c, "system", &mut errors).map(|(_, s)| s);
    let produced = refs(c, "producedBy", &mut errors);
    let consumed = refs(c, "consumedBy", &mut errors);
    let title = c.name.clone().or_else(|| c.data_product.clone());
    let Some(name) = entity_name(c) else {
        errors.push(c.error(
            &[Seg::Key("id".into())],
            "odcs.name",
            "neither name, dataProduct nor id gives a catalog name",
        ));
        return Err(errors);
    };
    let Some(owner) = owner else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), name.into());
    if let Some(t) = title {
        metadata.insert("title".into(), t.into());
    }
    if let Some(p) = &c.purpose {
        metadata.insert("description".into(), p.clone().into());
    }
    let tags: Vec<String> = c.tags.iter().filter_map(|t| tag(t)).collect();
    if !tags.is_empty() {
        metadata.insert("tags".into(), json!(tags));
    }
    metadata.insert(
        "annotations".into(),
        json!({
            "socle.dev/odcs-id": c.id,
            "socle.dev/odcs-api-version": c.api_version,
        }),
    );
    let mut spec = Map::new();
    spec.insert("type".into(), "data-product".into());
    spec.insert("lifecycle".into(), c.status.clone().into());
    spec.insert("owner".into(), owner.into());
    let optional = [
        ("domain", c.domain.clone()),
        ("dataProduct", c.data_product.clone()),
        ("tier", tier),
        ("system", system),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            spec.insert(k.into(), v.into());
        }
    }
    spec.insert("version".into(), c.contract_version.clone().into());
    if !c.servers.is_empty() {
        spec.insert("servers".into(), json!(c.servers));
    }
    if !c.schema.is_empty() {
        spec.insert("schema".into(), json!(c.schema));
    }
    if !produced.is_empty() {
        spec.insert("dependsOn".into(), json!(produced));
    }
    if !consumed.is_empty() {
        spec.insert("dependencyOf".into(), json!(consumed));
    }
    Ok(json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": spec,
    }))
}
