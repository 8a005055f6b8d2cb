//! The read model: an immutable, in-memory view of the catalog built from the store, swapped
//! atomically when the store's catalog generation changes. Reads never touch the database.
//!
//! Kept compact for large catalogs: entities sorted by ref (lookup by binary search, no map),
//! relations as `(type, index)` pairs into the entity table (or into `missing` for targets that
//! do not exist).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use socle_catalog::RelationType;
use socle_search::{SearchDoc, SearchIndex};
use socle_store::{Store, StoreError};

/// One entity as served.
#[derive(Debug)]
pub struct EntityView {
    pub entity_ref: Box<str>,
    /// The entity as JSON text, without relations.
    pub body: Box<str>,
    /// `(type, target index)`, sorted by type then target.
    pub relations: Vec<(RelationType, u32)>,
    pub owner: Option<u32>,
    pub spec_type: Option<Box<str>>,
    pub lifecycle: Option<Box<str>>,
    pub tags: Box<[Box<str>]>,
    /// Read from a location that may shape the organisation (see `LocationTrust`): only such
    /// entities' membership and hierarchy relations are part of the snapshot.
    pub shapes_org: bool,
}

impl EntityView {
    pub fn kind(&self) -> &str {
        self.entity_ref.split_once(':').map_or("", |(k, _)| k)
    }
    pub fn namespace(&self) -> &str {
        self.entity_ref
            .split_once(':')
            .and_then(|(_, r)| r.split_once('/'))
            .map_or("", |(n, _)| n)
    }
}

/// The whole catalog at one generation.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    /// Sorted by ref.
    pub entities: Vec<EntityView>,
    /// Refs that relations point at but that do not exist; index `entities.len() + i`.
    pub missing: Vec<Box<str>>,
    /// `(source index, type, missing target index)`, sorted.
    pub dangling: Vec<(u32, RelationType, u32)>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.entities.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
    fn position(&self, r: &str) -> Result<usize, usize> {
        self.entities.binary_search_by(|e| (*e.entity_ref).cmp(r))
    }
    pub fn get(&self, r: &str) -> Option<&EntityView> {
        self.position(r).ok().map(|i| &self.entities[i])
    }
    /// Index of the first entity whose ref sorts after `cursor`.
    pub fn after(&self, cursor: &str) -> usize {
        match self.position(cursor) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
    /// The ref at a relation index.
    pub fn name(&self, idx: u32) -> &str {
        let i = idx as usize;
        match self.entities.get(i) {
            Some(e) => &e.entity_ref,
            None => &self.missing[i - self.entities.len()],
        }
    }
    pub fn exists(&self, idx: u32) -> bool {
        (idx as usize) < self.entities.len()
    }
    pub fn relation_count(&self) -> usize {
        self.entities.iter().map(|e| e.relations.len()).sum()
    }

    /// The entity with its `relations` field, Backstage-style:
    /// `{…, "relations": [{"type": "ownedBy", "targetRef": "group:default/a"}]}`.
    pub fn entity_json(&self, v: &EntityView) -> String {
        let body = v.body.trim_end();
        let mut out = String::with_capacity(body.len() + 64 * v.relations.len() + 32);
        out.push_str(&body[..body.len() - 1]);
        out.push_str(if body.len() > 2 {
            ",\"relations\":["
        } else {
            "\"relations\":["
        });
        for (i, (t, target)) in v.relations.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"type\":\"");
            out.push_str(t.as_str());
            out.push_str("\",\"targetRef\":");
            out.push_str(&serde_json::to_string(self.name(*target)).unwrap_or_default());
            out.push('}');
        }
        out.push_str("]}");
        out
    }
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

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default)]
    metadata: DocMeta<'a>,
    #[serde(borrow, default)]
    spec: DocSpec<'a>,
}

#[derive(Deserialize, Default)]
struct DocMeta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tags: Vec<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct DocSpec<'a> {
    #[serde(rename = "type", borrow, default)]
    spec_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lifecycle: Option<Cow<'a, str>>,
}

fn string_field(v: &serde_json::Value, field: &str) -> Option<Cow<'static, str>> {
    v.get(field)
        .and_then(|x| x.as_str())
        .map(|s| Cow::Owned(s.to_owned()))
}

fn parse_doc(body: &str) -> Doc<'_> {
    // Fields of unexpected types (e.g. a numeric spec.type) must not break loading.
    serde_json::from_str(body).unwrap_or_else(|_| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        Doc {
            metadata: DocMeta {
                name: string_field(&v["metadata"], "name"),
                title: string_field(&v["metadata"], "title"),
                description: string_field(&v["metadata"], "description"),
                tags: Vec::new(),
            },
            spec: DocSpec {
                spec_type: string_field(&v["spec"], "type"),
                lifecycle: string_field(&v["spec"], "lifecycle"),
            },
        }
    })
}

/// Relations that shape the organisation: membership and team hierarchy.
pub fn is_org_relation(t: RelationType) -> bool {
    matches!(
        t,
        RelationType::MemberOf
            | RelationType::HasMember
            | RelationType::ChildOf
            | RelationType::ParentOf
    )
}

/// Loads the catalog from the store and builds the snapshot and its search index.
pub async fn load(store: &Store) -> Result<(Arc<Snapshot>, SearchIndex, i64), LoadError> {
    let generation = store.catalog_generation().await?;
    let org_locations = store.organisation_locations().await?;
    let mut entities: Vec<EntityView> = Vec::new();
    store
        .for_each_entity(|e| {
            let doc = parse_doc(&e.body);
            let shapes_org = org_locations.contains(&e.location_key);
            let view = EntityView {
                spec_type: doc.spec.spec_type.map(|s| s.into()),
                lifecycle: doc.spec.lifecycle.map(|s| s.into()),
                tags: doc.metadata.tags.into_iter().map(|t| t.into()).collect(),
                entity_ref: e.entity_ref.into(),
                body: e.body.into(),
                relations: Vec::new(),
                owner: None,
                shapes_org,
            };
            entities.push(view);
        })
        .await?;
    // The store orders by ref with the database's collation; make sure of byte order here.
    if !entities
        .windows(2)
        .all(|w| w[0].entity_ref < w[1].entity_ref)
    {
        entities.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
    }
    let mut snap = Snapshot {
        generation,
        entities,
        missing: Vec::new(),
        dangling: Vec::new(),
    };
    let mut missing_index: HashMap<Box<str>, u32> = HashMap::new();
    let n = snap.entities.len();
    store
        .for_each_relation(|source, kind, target| {
            let Some(t) = RelationType::parse(kind) else {
                return;
            };
            let Ok(s) = snap.position(source) else { return };
            // Membership and hierarchy count only from the organisation's own locations (an
            // older row from a member's location, say): authorisation walks this tree.
            if is_org_relation(t) && !snap.entities[s].shapes_org {
                return;
            }
            let target_idx = match snap.position(target) {
                Ok(i) => {
                    snap.entities[i].relations.push((t.inverse(), s as u32));
                    i as u32
                }
                Err(_) => {
                    let next = (n + snap.missing.len()) as u32;
                    let idx = *missing_index.entry(target.into()).or_insert(next);
                    if idx == next {
                        snap.missing.push(target.into());
                    }
                    snap.dangling.push((s as u32, t, idx));
                    idx
                }
            };
            let e = &mut snap.entities[s];
            e.relations.push((t, target_idx));
            if t == RelationType::OwnedBy && e.owner.is_none() {
                e.owner = Some(target_idx);
            }
        })
        .await?;
    let snap = tokio::task::spawn_blocking(move || -> Result<_, LoadError> {
        let mut snap = snap;
        let names: Vec<Box<str>> = snap
            .entities
            .iter()
            .map(|e| e.entity_ref.clone())
            .chain(snap.missing.iter().cloned())
            .collect();
        for e in &mut snap.entities {
            e.relations
                .sort_by(|a, b| (a.0, &names[a.1 as usize]).cmp(&(b.0, &names[b.1 as usize])));
            e.relations.dedup();
        }
        snap.dangling.sort_by(|a, b| {
            (&names[a.0 as usize], a.1, &names[a.2 as usize]).cmp(&(
                &names[b.0 as usize],
                b.1,
                &names[b.2 as usize],
            ))
        });
        drop(names);
        let docs = snap.entities.iter().map(|v| {
            let doc = parse_doc(&v.body);
            let (ns, name) = v
                .entity_ref
                .split_once(':')
                .and_then(|(_, r)| r.split_once('/'))
                .unwrap_or(("", ""));
            SearchDoc {
                entity_ref: v.entity_ref.to_string(),
                kind: v.kind().to_owned(),
                namespace: ns.to_owned(),
                name: doc
                    .metadata
                    .name
                    .map(Cow::into_owned)
                    .unwrap_or_else(|| name.to_owned()),
                title: doc.metadata.title.map(Cow::into_owned),
                description: doc.metadata.description.map(Cow::into_owned),
                tags: v.tags.iter().map(|t| t.to_string()).collect(),
                owner: v.owner.map(|o| snap.name(o).to_owned()),
                spec_type: v.spec_type.as_deref().map(str::to_owned),
                lifecycle: v.lifecycle.as_deref().map(str::to_owned),
                system: v
                    .relations
                    .iter()
                    .find(|(t, _)| *t == RelationType::PartOf)
                    .map(|(_, s)| snap.name(*s))
                    .filter(|s| s.starts_with("system:"))
                    .map(str::to_owned),
            }
        });
        let index = SearchIndex::build(docs)?;
        Ok((Arc::new(snap), index))
    })
    .await
    .map_err(|e| LoadError::Internal(e.to_string()))??;
    let (snap, index) = snap;
    Ok((snap, index, generation))
}
