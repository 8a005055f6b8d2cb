//! The read model: an immutable, in-memory view of the catalog built from the store, swapped
//! atomically when the store's catalog generation changes. Reads never touch the database.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use socle_catalog::RelationType;
use socle_search::{SearchDoc, SearchIndex};
use socle_store::{Store, StoreError, StoredRelation};

/// One entity as served.
#[derive(Debug)]
pub struct EntityView {
    pub entity_ref: Box<str>,
    pub kind: Box<str>,
    pub namespace: Box<str>,
    /// The entity as JSON text, without relations.
    pub body: Box<str>,
    /// `(type, target, target exists)`, sorted.
    pub relations: Vec<(RelationType, Box<str>, bool)>,
    pub owner: Option<Box<str>>,
    pub spec_type: Option<Box<str>>,
    pub lifecycle: Option<Box<str>>,
    pub tags: Box<[Box<str>]>,
    pub location_key: Box<str>,
}

impl EntityView {
    /// The entity with its `relations` field, Backstage-style:
    /// `{…, "relations": [{"type": "ownedBy", "targetRef": "group:default/a"}]}`.
    pub fn to_json_with_relations(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + 64 * self.relations.len() + 32);
        let body = self.body.trim_end();
        out.push_str(&body[..body.len() - 1]);
        out.push_str(if body.len() > 2 {
            ",\"relations\":["
        } else {
            "\"relations\":["
        });
        for (i, (t, target, _)) in self.relations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":\"");
            out.push_str(t.as_str());
            out.push_str("\",\"targetRef\":");
            // refs are validated names, but escape anyway
            out.push_str(&serde_json::to_string(&**target).unwrap_or_default());
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

/// The whole catalog at one generation.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    pub by_ref: HashMap<Box<str>, EntityView>,
    /// All refs, sorted (for listing with keyset pagination).
    pub ordered: Vec<Box<str>>,
    pub dangling: Vec<StoredRelation>,
}

fn str_field(v: &Value, a: &str, b: &str) -> Option<String> {
    v.get(a)?.get(b)?.as_str().map(str::to_owned)
}

/// Loads the catalog from the store and builds the snapshot and its search index.
pub async fn load(store: &Store) -> Result<(Arc<Snapshot>, SearchIndex, i64), LoadError> {
    let generation = store.catalog_generation().await?;
    let entities = store.all_entities().await?;
    let relations = store.all_relations().await?;
    tokio::task::spawn_blocking(move || build(generation, entities, relations))
        .await
        .map_err(|e| LoadError::Internal(e.to_string()))?
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] socle_search::SearchError),
    #[error("{0}")]
    Internal(String),
}

fn build(
    generation: i64,
    entities: Vec<socle_store::StoredEntity>,
    relations: Vec<StoredRelation>,
) -> Result<(Arc<Snapshot>, SearchIndex, i64), LoadError> {
    let mut by_ref: HashMap<Box<str>, EntityView> = HashMap::with_capacity(entities.len());
    let mut docs = Vec::with_capacity(entities.len());
    for e in entities {
        let v: Value = serde_json::from_str(&e.body)
            .map_err(|err| LoadError::Internal(format!("entity {}: {err}", e.entity_ref)))?;
        let tags: Vec<String> = v["metadata"]["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let spec_type = str_field(&v, "spec", "type");
        let lifecycle = str_field(&v, "spec", "lifecycle");
        docs.push(SearchDoc {
            entity_ref: e.entity_ref.clone(),
            kind: e.kind.clone(),
            namespace: e.namespace.clone(),
            name: str_field(&v, "metadata", "name").unwrap_or_else(|| e.name.clone()),
            title: str_field(&v, "metadata", "title"),
            description: str_field(&v, "metadata", "description"),
            tags: tags.clone(),
            owner: None, // filled from relations below
            spec_type: spec_type.clone(),
            lifecycle: lifecycle.clone(),
        });
        by_ref.insert(
            e.entity_ref.clone().into(),
            EntityView {
                entity_ref: e.entity_ref.into(),
                kind: e.kind.into(),
                namespace: e.namespace.into(),
                body: e.body.into(),
                relations: Vec::new(),
                owner: None,
                spec_type: spec_type.map(Into::into),
                lifecycle: lifecycle.map(Into::into),
                tags: tags.into_iter().map(Into::into).collect(),
                location_key: e.location_key.into(),
            },
        );
    }
    let mut dangling = Vec::new();
    for rel in relations {
        let Some(t) = RelationType::parse(&rel.kind) else {
            continue;
        };
        let target_exists = by_ref.contains_key(rel.target.as_str());
        if let Some(src) = by_ref.get_mut(rel.source.as_str()) {
            src.relations
                .push((t, rel.target.as_str().into(), target_exists));
            if t == RelationType::OwnedBy && src.owner.is_none() {
                src.owner = Some(rel.target.as_str().into());
            }
        } else {
            continue;
        }
        if let Some(dst) = by_ref.get_mut(rel.target.as_str()) {
            dst.relations
                .push((t.inverse(), rel.source.as_str().into(), true));
        } else {
            dangling.push(rel);
        }
    }
    for view in by_ref.values_mut() {
        view.relations.sort();
        view.relations.dedup();
    }
    for d in &mut docs {
        d.owner = by_ref
            .get(d.entity_ref.as_str())
            .and_then(|v| v.owner.as_deref().map(str::to_owned));
    }
    let mut ordered: Vec<Box<str>> = by_ref.keys().cloned().collect();
    ordered.sort();
    dangling.sort();
    let index = SearchIndex::build(docs)?;
    let snapshot = Snapshot {
        generation,
        by_ref,
        ordered,
        dangling,
    };
    Ok((Arc::new(snapshot), index, generation))
}
