//! The read model: an immutable, in-memory view of the catalog built from the store, swapped
//! atomically when the store's catalog generation changes. Reads never touch the database.
//!
//! Kept compact for large catalogs: entities sorted by ref (lookup by binary search, no map),
//! relations as `(type, id)` pairs, an id standing for an entity or for a target that does not
//! exist (`slots`). Views are shared (`Arc`) between generations: a change is applied as a delta
//! (`snapshot_delta`) that rebuilds only the views it touches; [`load`] (`snapshot_load`) builds everything, at
//! start-up or when the change log cannot say what changed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use socle_catalog::RelationType;
use socle_search::SearchDoc;
use socle_store::StoreError;

/// A stable handle on a ref of the read model: an entity, or a relation target that does not
/// exist. A delta never renumbers (see `snapshot_delta`), so relation lists stay valid across
/// deltas; a full load numbers afresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(u32);

impl EntityId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
    pub(crate) fn at(i: usize) -> Self {
        Self(u32::try_from(i).expect("fewer than 2^32 refs"))
    }
}

/// One entity as served.
#[derive(Debug, Clone)]
pub struct EntityView {
    pub id: EntityId,
    pub entity_ref: Box<str>,
    /// The entity as JSON text, without relations.
    pub body: Box<str>,
    /// `(type, target)`, sorted by type then target ref, without repeats.
    pub relations: Vec<(RelationType, EntityId)>,
    /// The first (by ref) target of its own `ownedBy` relations.
    pub owner: Option<EntityId>,
    /// Types, lifecycles and tags repeat across a catalog: views loaded together share one
    /// allocation per value ([`Interner`]).
    pub spec_type: Option<Arc<str>>,
    pub lifecycle: Option<Arc<str>>,
    pub tags: Box<[Arc<str>]>,
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

    /// A view of a stored entity, without relations yet.
    pub(crate) fn of(
        id: EntityId,
        e: socle_store::StoredEntity,
        shapes_org: bool,
        interner: &mut Interner,
    ) -> Self {
        Self::new(id, &e.entity_ref, e.body, shapes_org, interner)
    }

    /// A view of an entity as a full load reads it, without relations yet.
    pub(crate) fn loaded(
        id: EntityId,
        e: socle_store::LoadedEntity<'_>,
        interner: &mut Interner,
    ) -> Self {
        Self::new(id, e.entity_ref, e.body, e.organisation, interner)
    }

    fn new(
        id: EntityId,
        entity_ref: &str,
        body: impl Into<Box<str>> + AsRef<str>,
        shapes_org: bool,
        interner: &mut Interner,
    ) -> Self {
        let doc = parse_doc(body.as_ref());
        let (spec_type, lifecycle) = (
            doc.spec.spec_type.map(|s| interner.get(&s)),
            doc.spec.lifecycle.map(|s| interner.get(&s)),
        );
        let tags = doc.metadata.tags.iter().map(|t| interner.get(t)).collect();
        Self {
            id,
            spec_type,
            lifecycle,
            tags,
            entity_ref: entity_ref.into(),
            body: body.into(),
            relations: Vec::new(),
            owner: None,
            shapes_org,
        }
    }
}

/// One allocation per distinct small string among the views built with it (a load, a delta).
/// Bounded: past [`Interner::MAX`] distinct values (tags are anyone's text), each further one is
/// allocated for its view alone, as before.
#[derive(Debug, Default)]
pub(crate) struct Interner(std::collections::HashSet<Arc<str>>);

impl Interner {
    const MAX: usize = 100_000;

    pub(crate) fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return Arc::clone(shared);
        }
        let fresh: Arc<str> = Arc::from(s);
        if self.0.len() < Self::MAX {
            self.0.insert(Arc::clone(&fresh));
        }
        fresh
    }
}

/// See [`Snapshot::heap_bytes`].
#[derive(Debug, Default, Clone, Copy)]
pub struct HeapBytes {
    pub bodies: usize,
    pub refs: usize,
    pub relations: usize,
    /// The views themselves, their small fields, the tables of ids and of views.
    pub views: usize,
}

/// What an id stands for.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Entity(Arc<EntityView>),
    /// A ref relations name that is not an entity (now).
    Missing(Arc<str>),
}

/// The whole catalog at one generation.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: i64,
    /// Sorted by ref.
    pub entities: Vec<Arc<EntityView>>,
    /// Every id's entity or missing ref.
    pub(crate) slots: Vec<Slot>,
    /// The ids of the refs that are not entities.
    pub(crate) missing: HashMap<Arc<str>, EntityId>,
    /// `(source, type, missing target)` of relations to refs that are not entities, sorted by
    /// names.
    pub dangling: Vec<(EntityId, RelationType, EntityId)>,
}

impl Snapshot {
    pub fn len(&self) -> usize {
        self.entities.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
    pub(crate) fn position(&self, r: &str) -> Result<usize, usize> {
        self.entities.binary_search_by(|e| (*e.entity_ref).cmp(r))
    }
    pub fn get(&self, r: &str) -> Option<&EntityView> {
        self.position(r).ok().map(|i| &*self.entities[i])
    }
    /// Index of the first entity whose ref sorts after `cursor`.
    pub fn after(&self, cursor: &str) -> usize {
        match self.position(cursor) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
    /// The ref an id stands for.
    pub fn name(&self, id: EntityId) -> &str {
        match &self.slots[id.index()] {
            Slot::Entity(v) => &v.entity_ref,
            Slot::Missing(r) => r,
        }
    }
    /// Whether an id is an entity now.
    pub fn exists(&self, id: EntityId) -> bool {
        matches!(self.slots[id.index()], Slot::Entity(_))
    }
    /// The entity an id stands for, if it is one.
    pub fn view(&self, id: EntityId) -> Option<&EntityView> {
        match &self.slots[id.index()] {
            Slot::Entity(v) => Some(v),
            Slot::Missing(_) => None,
        }
    }
    /// Heap bytes the views hold, by part (an estimate from lengths and capacities).
    pub fn heap_bytes(&self) -> HeapBytes {
        let mut h = HeapBytes::default();
        for v in &self.entities {
            h.bodies += v.body.len();
            h.refs += v.entity_ref.len();
            h.relations += v.relations.capacity() * std::mem::size_of::<(RelationType, EntityId)>();
            // Types, lifecycles and tags are shared (`Interner`): only their pointers count.
            h.views +=
                std::mem::size_of::<EntityView>() + v.tags.len() * std::mem::size_of::<Arc<str>>();
        }
        h.views += self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.entities.capacity() * std::mem::size_of::<Arc<EntityView>>();
        h
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

    /// The search document of an entity.
    pub(crate) fn search_doc(&self, v: &EntityView) -> SearchDoc {
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
            owner: v.owner.map(|o| self.name(o).to_owned()),
            spec_type: v.spec_type.as_deref().map(str::to_owned),
            lifecycle: v.lifecycle.as_deref().map(str::to_owned),
            system: v
                .relations
                .iter()
                .find(|(t, _)| *t == RelationType::PartOf)
                .map(|(_, s)| self.name(*s))
                .filter(|s| s.starts_with("system:"))
                .map(str::to_owned),
        }
    }
}

pub use crate::snapshot_load::load;

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

/// Sorts `relations` by type then target ref, without repeats.
pub(crate) fn sort_relations<'a>(
    relations: &mut Vec<(RelationType, EntityId)>,
    name: impl Fn(EntityId) -> &'a str,
) {
    relations.sort_by(|a, b| (a.0, name(a.1)).cmp(&(b.0, name(b.1))));
    relations.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interner_shares_a_value_and_stops_sharing_past_its_bound() {
        let mut interner = Interner::default();
        let a = interner.get("production");
        let b = interner.get("production");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*interner.get("experimental"), "experimental");
        for i in 0..Interner::MAX {
            interner.get(&format!("tag-{i}"));
        }
        assert_eq!(interner.0.len(), Interner::MAX);
        let (c, d) = (interner.get("late"), interner.get("late"));
        assert_eq!((&*c, &*d), ("late", "late"));
        assert!(!Arc::ptr_eq(&c, &d), "past the bound, values are not kept");
        assert!(Arc::ptr_eq(&interner.get("production"), &a));
    }
}
