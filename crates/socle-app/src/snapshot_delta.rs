//! Moving the read model forward by a delta of the store's change log
//! ([`socle_store::Store::catalog_delta`]) instead of reloading the whole catalog.
//!
//! The delta names the touched entities and the refs around them (the *affected* refs: the
//! touched ones, their neighbours in the current snapshot, the targets of their relations now);
//! only the views of affected entities are rebuilt, from the rows the store read in one
//! snapshot. Every other view is shared with the previous generation (`Arc`), ids never change
//! (a ref keeps its id while it is an entity, a missing target or both in turn), so relation
//! lists outside the affected set stay valid. The result equals what [`crate::snapshot::load`]
//! builds from the same database, up to ids (a test compares them change after change).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use socle_catalog::RelationType;
use socle_search::SearchDoc;
use socle_store::{CatalogDelta, StoredRelation};

use crate::snapshot::{EntityId, EntityView, Slot, Snapshot, is_org_relation, sort_relations};

/// A delta applied: the next snapshot and what the search index and the scorecards must redo.
#[derive(Debug)]
pub struct Applied {
    pub snapshot: Snapshot,
    /// The search documents of the affected refs that are entities.
    pub upserts: Vec<SearchDoc>,
    /// The affected refs that were entities and are no longer.
    pub deletes: Vec<String>,
    /// The refs whose view changed, appeared or disappeared (scorecards rescore them).
    pub changed: Vec<String>,
}

/// Ids for refs: the previous snapshot's, else a new slot for a ref not known yet.
struct Numbering<'a> {
    old: &'a Snapshot,
    slots: Vec<Slot>,
    missing: HashMap<Arc<str>, EntityId>,
}

impl Numbering<'_> {
    fn id(&mut self, r: &str) -> EntityId {
        if let Some(v) = self.old.get(r) {
            return v.id;
        }
        if let Some(id) = self.missing.get(r) {
            return *id;
        }
        let id = EntityId::at(self.slots.len());
        let name: Arc<str> = r.into();
        self.slots.push(Slot::Missing(name.clone()));
        self.missing.insert(name, id);
        id
    }

    fn name(&self, id: EntityId) -> &str {
        match &self.slots[id.index()] {
            Slot::Entity(v) => &v.entity_ref,
            Slot::Missing(r) => r,
        }
    }
}

/// Whether each ref of the delta is an entity after it, and whether it shapes the organisation.
struct After<'a> {
    old: &'a Snapshot,
    affected: &'a [String],
    /// The affected entities that exist after the delta: `shapes_org`.
    present: HashMap<&'a str, bool>,
}

impl After<'_> {
    fn is_affected(&self, r: &str) -> bool {
        self.affected
            .binary_search_by(|a| a.as_str().cmp(r))
            .is_ok()
    }
    /// `Some(shapes_org)` when `r` is an entity after the delta.
    fn entity(&self, r: &str) -> Option<bool> {
        if let Some(org) = self.present.get(r) {
            return Some(*org);
        }
        if self.is_affected(r) {
            return None;
        }
        self.old.get(r).map(|v| v.shapes_org)
    }
}

impl Snapshot {
    /// The refs related to any of `refs` here, either way: their views change when those do.
    pub fn neighbours(&self, refs: &[String]) -> Vec<String> {
        let mut out = HashSet::new();
        for r in refs {
            if let Some(v) = self.get(r) {
                out.extend(v.relations.iter().map(|(_, id)| self.name(*id)));
            }
        }
        out.into_iter().map(str::to_owned).collect()
    }

    /// The next snapshot: this one with `delta` applied (CPU-bound: run it off the async
    /// workers).
    pub fn apply(&self, delta: CatalogDelta) -> Applied {
        let CatalogDelta {
            generation,
            affected,
            entities,
            relations,
            organisation_locations,
            ..
        } = delta;
        let after = After {
            old: self,
            affected: &affected,
            present: entities
                .iter()
                .map(|e| {
                    let org = organisation_locations.contains(&e.location_key);
                    (e.entity_ref.as_str(), org)
                })
                .collect(),
        };
        let mut by_source: HashMap<&str, Vec<&StoredRelation>> = HashMap::new();
        let mut by_target: HashMap<&str, Vec<&StoredRelation>> = HashMap::new();
        for r in &relations {
            by_source.entry(&r.source).or_default().push(r);
            by_target.entry(&r.target).or_default().push(r);
        }
        let mut ids = Numbering {
            old: self,
            slots: self.slots.clone(),
            missing: self.missing.clone(),
        };
        let mut views = Vec::with_capacity(entities.len());
        let mut new_dangling = Vec::new();
        let mut interner = crate::snapshot::Interner::default();
        for e in &entities {
            let r = e.entity_ref.as_str();
            let org = after.present[r];
            let mut v = EntityView::of(ids.id(r), e.clone(), org, &mut interner);
            for rel in by_source.get(r).into_iter().flatten() {
                let Some(t) = RelationType::parse(&rel.kind) else {
                    continue;
                };
                if is_org_relation(t) && !org {
                    continue;
                }
                let target = ids.id(&rel.target);
                v.relations.push((t, target));
                if after.entity(&rel.target).is_none() {
                    new_dangling.push((v.id, t, target));
                }
                if t == RelationType::OwnedBy
                    && v.owner
                        .is_none_or(|cur| rel.target.as_str() < ids.name(cur))
                {
                    v.owner = Some(target);
                }
            }
            for rel in by_target.get(r).into_iter().flatten() {
                let Some(t) = RelationType::parse(&rel.kind) else {
                    continue;
                };
                let Some(source_org) = after.entity(&rel.source) else {
                    continue;
                };
                if is_org_relation(t) && !source_org {
                    continue;
                }
                v.relations.push((t.inverse(), ids.id(&rel.source)));
            }
            sort_relations(&mut v.relations, |id| ids.name(id));
            views.push(Arc::new(v));
        }
        let Numbering {
            mut slots,
            mut missing,
            ..
        } = ids;
        for v in &views {
            slots[v.id.index()] = Slot::Entity(v.clone());
            missing.remove(&*v.entity_ref);
        }
        let mut deletes = Vec::new();
        for r in &affected {
            if after.present.contains_key(r.as_str()) {
                continue;
            }
            if let Some(old) = self.get(r) {
                let name: Arc<str> = r.as_str().into();
                slots[old.id.index()] = Slot::Missing(name.clone());
                missing.insert(name, old.id);
                deletes.push(r.clone());
            }
        }
        let mut next = Snapshot {
            generation,
            entities: merge(&self.entities, &views, &affected),
            slots,
            missing,
            dangling: Vec::new(),
        };
        let mut dangling: Vec<_> = self
            .dangling
            .iter()
            .filter(|(s, _, d)| !after.is_affected(self.name(*s)) && !next.exists(*d))
            .copied()
            .chain(new_dangling)
            .collect();
        dangling.sort_by(|a, b| {
            let name = |id| next.name(id);
            (name(a.0), a.1, name(a.2)).cmp(&(name(b.0), b.1, name(b.2)))
        });
        next.dangling = dangling;
        let changed = affected
            .iter()
            .filter(|r| match (self.get(r), next.get(r)) {
                (Some(o), Some(n)) => !same_view(self, o, &next, n),
                (None, None) => false,
                _ => true,
            })
            .cloned()
            .collect();
        let upserts = views.iter().map(|v| next.search_doc(v)).collect();
        Applied {
            snapshot: next,
            upserts,
            deletes,
            changed,
        }
    }
}

/// `old` without the `affected` refs (sorted), and `new` (sorted by ref), in ref order: one
/// linear walk over the three.
fn merge(
    old: &[Arc<EntityView>],
    new: &[Arc<EntityView>],
    affected: &[String],
) -> Vec<Arc<EntityView>> {
    let mut out = Vec::with_capacity(old.len() + new.len());
    let mut new = new.iter().peekable();
    let mut affected = affected.iter().map(String::as_str).peekable();
    for o in old {
        let r: &str = &o.entity_ref;
        while let Some(n) = new.next_if(|n| *n.entity_ref < *r) {
            out.push(n.clone());
        }
        while affected.next_if(|a| *a < r).is_some() {}
        if affected.peek() == Some(&r) {
            continue;
        }
        out.push(o.clone());
    }
    out.extend(new.cloned());
    out
}

/// Whether two views (of two snapshots) serve the same entity: body, owner and relations by
/// name.
pub fn same_view(old: &Snapshot, o: &EntityView, new: &Snapshot, e: &EntityView) -> bool {
    o.body == e.body
        && o.shapes_org == e.shapes_org
        && o.owner.map(|i| old.name(i)) == e.owner.map(|i| new.name(i))
        && o.relations.len() == e.relations.len()
        && o.relations
            .iter()
            .zip(&e.relations)
            .all(|((ta, a), (tb, b))| ta == tb && old.name(*a) == new.name(*b))
}
