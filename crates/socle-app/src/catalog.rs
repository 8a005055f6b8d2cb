//! Catalog reads from the read model: a filtered page of entities, one entity, its relations,
//! the dangling relations, and how a search request's text and filters are normalised (the
//! API, the portal and `socle catalog search` share it, so they cannot drift apart).

use serde::Serialize;
use socle_search::SearchQuery;

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;
use crate::snapshot::{EntityView, Snapshot};

/// At most this many values per filter are kept (the rest are ignored).
pub const MAX_FILTER_VALUES: usize = 50;
/// Default and largest page of [`App::list_entities`].
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;
/// Default and largest page of a search.
pub const DEFAULT_SEARCH_PAGE: usize = 20;
/// The deepest search offset.
pub const MAX_SEARCH_OFFSET: usize = 10_000;

/// Comma-separated filter values: split, trimmed, lowercased, empty ones dropped, at most
/// [`MAX_FILTER_VALUES`].
pub fn filter_values(v: Option<&str>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_lowercase())
            .filter(|x| !x.is_empty())
            .take(MAX_FILTER_VALUES)
            .collect()
    })
    .unwrap_or_default()
}

/// Which entities a listing keeps. Each list is "any of" (empty: no filter); values are
/// compared lowercased (types and lifecycles without regard to case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityFilter {
    pub kinds: Vec<String>,
    pub namespace: Option<String>,
    /// Owner refs, e.g. `group:default/team-a`.
    pub owners: Vec<String>,
    pub types: Vec<String>,
    pub tags: Vec<String>,
    pub lifecycles: Vec<String>,
}

impl EntityFilter {
    /// The filter from comma-separated values, as a query string gives them.
    pub fn from_lists(
        kind: Option<&str>,
        namespace: Option<&str>,
        owner: Option<&str>,
        spec_type: Option<&str>,
        tag: Option<&str>,
        lifecycle: Option<&str>,
    ) -> Self {
        Self {
            kinds: filter_values(kind),
            namespace: namespace.map(str::to_lowercase),
            owners: filter_values(owner),
            types: filter_values(spec_type),
            tags: filter_values(tag),
            lifecycles: filter_values(lifecycle),
        }
    }

    fn matches(&self, snap: &Snapshot, v: &EntityView) -> bool {
        let any_ci = |wanted: &[String], have: Option<&str>| {
            wanted.is_empty()
                || have.is_some_and(|t| wanted.iter().any(|x| x.eq_ignore_ascii_case(t)))
        };
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == v.kind()))
            && self.namespace.as_deref().is_none_or(|n| n == v.namespace())
            && (self.owners.is_empty()
                || v.owner
                    .is_some_and(|o| self.owners.iter().any(|x| x == snap.name(o))))
            && any_ci(&self.types, v.spec_type.as_deref())
            && any_ci(&self.lifecycles, v.lifecycle.as_deref())
            && (self.tags.is_empty() || v.tags.iter().any(|t| self.tags.iter().any(|x| x == &**t)))
    }
}

/// Which page: its size (clamped to 1–[`MAX_PAGE`]) and the ref the previous page ended at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A page of entities, ordered by ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPage {
    /// Each entity as JSON text, Backstage-shaped, with its `relations`.
    pub items: Vec<String>,
    /// How many entities match the filter, on every page.
    pub total: usize,
    /// The cursor of the next page; None on the last.
    pub next_cursor: Option<String>,
}

impl EntityPage {
    /// `{"items":[…],"totalItems":N,"nextCursor":…}`, the items spliced in as they are.
    pub fn to_json(&self) -> String {
        let mut body =
            String::with_capacity(self.items.iter().map(String::len).sum::<usize>() + 100);
        body.push_str("{\"items\":[");
        body.push_str(&self.items.join(","));
        body.push_str("],\"totalItems\":");
        body.push_str(&self.total.to_string());
        body.push_str(",\"nextCursor\":");
        body.push_str(&serde_json::to_string(&self.next_cursor).unwrap_or_else(|_| "null".into()));
        body.push('}');
        body
    }
}

/// One relation of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationView {
    pub kind: String,
    pub target_ref: String,
    /// False when the target entity does not exist (a dangling relation).
    pub exists: bool,
}

/// A relation whose target does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DanglingView {
    pub source: String,
    pub kind: String,
    pub target: String,
}

/// A search as a caller asks for it: free text and comma-separated filters.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: Option<String>,
    pub kind: Option<String>,
    pub owner: Option<String>,
    pub spec_type: Option<String>,
    pub tag: Option<String>,
    pub lifecycle: Option<String>,
    /// System refs or names (`system:default/shop` or `shop`).
    pub system: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl SearchRequest {
    /// The search these parameters ask for: text bounded, filters split on commas, trimmed,
    /// lowercased (at most [`MAX_FILTER_VALUES`] each), systems as refs.
    pub fn query(&self) -> Result<SearchQuery, AppError> {
        let text = self.q.clone().unwrap_or_default();
        if text.len() > socle_search::MAX_TEXT_LEN {
            return Err(AppError::bad_request(format!(
                "q is longer than {} bytes",
                socle_search::MAX_TEXT_LEN
            )));
        }
        Ok(SearchQuery {
            text,
            kind: filter_values(self.kind.as_deref()),
            owner: filter_values(self.owner.as_deref()),
            spec_type: filter_values(self.spec_type.as_deref()),
            tag: filter_values(self.tag.as_deref()),
            lifecycle: filter_values(self.lifecycle.as_deref()),
            system: filter_values(self.system.as_deref())
                .into_iter()
                .map(|s| {
                    if s.contains(':') {
                        s
                    } else {
                        format!("system:default/{s}")
                    }
                })
                .collect(),
            by_ref: false,
            limit: self.limit.unwrap_or(DEFAULT_SEARCH_PAGE),
            offset: self.offset.unwrap_or(0).min(MAX_SEARCH_OFFSET),
        })
    }
}

/// `kind:namespace/name`, lowercased.
fn entity_key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}:{namespace}/{name}").to_lowercase()
}

impl App {
    /// A page of the entities `filter` keeps, for an actor who may read.
    pub fn list_entities(
        &self,
        actor: &Actor,
        filter: &EntityFilter,
        page: &PageRequest,
    ) -> Result<EntityPage, AppError> {
        let snap = self.read_model(actor)?;
        let limit = page.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let start = page.cursor.as_deref().map_or(0, |c| snap.after(c));
        let mut items = Vec::with_capacity(limit);
        let mut next_cursor = None;
        let mut total = 0usize;
        let mut more = false;
        for (i, v) in snap.entities.iter().enumerate() {
            if !filter.matches(&snap, v) {
                continue;
            }
            total += 1;
            if i < start {
                continue;
            }
            if items.len() < limit {
                items.push(snap.entity_json(v));
                if items.len() == limit {
                    next_cursor = Some(v.entity_ref.to_string());
                }
            } else {
                more = true;
            }
        }
        // A full last page has no next page.
        if !more {
            next_cursor = None;
        }
        Ok(EntityPage {
            items,
            total,
            next_cursor,
        })
    }

    /// One entity by kind, namespace and name (case-insensitive), as JSON with its relations.
    pub fn entity(
        &self,
        actor: &Actor,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<String, AppError> {
        let snap = self.read_model(actor)?;
        let key = entity_key(kind, namespace, name);
        let v = snap
            .get(&key)
            .ok_or_else(|| AppError::not_found(format!("no entity {key}")))?;
        Ok(snap.entity_json(v))
    }

    /// The relations of one entity, with whether each target exists.
    pub fn relations(
        &self,
        actor: &Actor,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<RelationView>, AppError> {
        let snap = self.read_model(actor)?;
        let key = entity_key(kind, namespace, name);
        let v = snap
            .get(&key)
            .ok_or_else(|| AppError::not_found(format!("no entity {key}")))?;
        Ok(v.relations
            .iter()
            .map(|(t, target)| RelationView {
                kind: t.as_str().into(),
                target_ref: snap.name(*target).to_owned(),
                exists: snap.exists(*target),
            })
            .collect())
    }

    /// Relations pointing at entities that do not exist.
    pub fn dangling(&self, actor: &Actor) -> Result<Vec<DanglingView>, AppError> {
        let snap = self.read_model(actor)?;
        Ok(snap
            .dangling
            .iter()
            .map(|(s, t, d)| DanglingView {
                source: snap.name(*s).to_owned(),
                kind: t.as_str().to_owned(),
                target: snap.name(*d).to_owned(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_split_trimmed_lowercased_and_bounded() {
        assert_eq!(
            filter_values(Some(" API, ,Component ")),
            ["api", "component"]
        );
        assert!(filter_values(None).is_empty());
        let many = vec!["x"; 80].join(",");
        assert_eq!(filter_values(Some(&many)).len(), MAX_FILTER_VALUES);
    }

    #[test]
    fn a_system_name_becomes_a_ref() {
        let q = SearchRequest {
            system: Some("shop,system:other/billing".into()),
            ..Default::default()
        }
        .query()
        .unwrap();
        assert_eq!(q.system, ["system:default/shop", "system:other/billing"]);
    }

    #[test]
    fn search_text_is_bounded() {
        let e = SearchRequest {
            q: Some("a".repeat(socle_search::MAX_TEXT_LEN + 1)),
            ..Default::default()
        }
        .query()
        .unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidRequest);
    }

    #[test]
    fn search_offset_is_capped_and_the_page_defaults() {
        let q = SearchRequest {
            offset: Some(1_000_000),
            ..Default::default()
        }
        .query()
        .unwrap();
        assert_eq!(q.offset, MAX_SEARCH_OFFSET);
        assert_eq!(q.limit, DEFAULT_SEARCH_PAGE);
    }

    #[test]
    fn a_page_is_spliced_into_one_json_object() {
        let page = EntityPage {
            items: vec!["{\"a\":1}".into(), "{\"b\":2}".into()],
            total: 7,
            next_cursor: Some("component:default/b".into()),
        };
        let v: serde_json::Value = serde_json::from_str(&page.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"items":[{"a":1},{"b":2}],"totalItems":7,"nextCursor":"component:default/b"})
        );
    }
}
