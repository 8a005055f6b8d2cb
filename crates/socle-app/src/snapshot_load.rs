//! A full load of the read model: every entity and relation from one snapshot of the store,
//! then the search index. At start-up, or when the change log cannot say what changed.
//!
//! Kept lean at a million entities: each view is allocated once, in its `Arc`, as it is read;
//! relations and owners gather beside the views (so that the views are read, never moved or
//! written, while the relations come) and are sorted on every core before they move in.

use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;
use socle_catalog::RelationType;
use socle_search::SearchIndex;
use socle_store::{CatalogSink, LoadedEntity, Store};

use crate::snapshot::{
    EntityId, EntityView, Interner, LoadError, Slot, Snapshot, is_org_relation, sort_relations,
};

/// The ref at `id` while a full load numbers: entities first, then missing refs.
fn load_name<'a>(views: &'a [Arc<EntityView>], missing: &'a [Arc<str>], id: EntityId) -> &'a str {
    match views.get(id.index()) {
        Some(v) => &v.entity_ref,
        None => &missing[id.index() - views.len()],
    }
}

/// Finds a ref among a full load's views by the hash of its text: one probe and one check,
/// where a binary search over a million views would chase some forty pointers to far-apart
/// strings for each of the millions of relation ends. A hash shared by two refs keeps the first
/// one's index; the other is found by binary search.
struct RefIndex(HashMap<u64, u32>);

impl RefIndex {
    fn hash(r: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(r)
    }

    fn of(views: &[Arc<EntityView>]) -> Self {
        let mut map = HashMap::with_capacity(views.len());
        for (i, v) in views.iter().enumerate() {
            map.entry(Self::hash(&v.entity_ref))
                .or_insert(u32::try_from(i).expect("fewer than 2^32 entities"));
        }
        Self(map)
    }

    /// `Ok(index)` of `r`, or `Err(())` when it is not an entity.
    fn find(&self, views: &[Arc<EntityView>], r: &str) -> Result<usize, ()> {
        match self.0.get(&Self::hash(r)) {
            None => Err(()),
            Some(&i) if *views[i as usize].entity_ref == *r => Ok(i as usize),
            Some(_) => views
                .binary_search_by(|e| (*e.entity_ref).cmp(r))
                .map_err(|_| ()),
        }
    }
}

/// A full load as it reads: views by ref, then their relations.
struct Loader {
    started: std::time::Instant,
    /// Each only here until the load ends: `Arc::get_mut` always succeeds.
    views: Vec<Arc<EntityView>>,
    /// Beside `views`, index for index.
    relations: Vec<Vec<(RelationType, EntityId)>>,
    owners: Vec<Option<EntityId>>,
    interner: Interner,
    /// Built once every entity is in.
    refs: RefIndex,
    /// The last relation's source: a source's relations mostly come together.
    last_source: usize,
    entities_read: std::time::Duration,
    missing_names: Vec<Arc<str>>,
    missing: HashMap<Arc<str>, EntityId>,
    dangling: Vec<(EntityId, RelationType, EntityId)>,
}

impl Loader {
    fn new() -> Self {
        Self {
            started: std::time::Instant::now(),
            views: Vec::new(),
            relations: Vec::new(),
            owners: Vec::new(),
            interner: Interner::default(),
            refs: RefIndex(HashMap::new()),
            last_source: usize::MAX,
            entities_read: std::time::Duration::ZERO,
            missing_names: Vec::new(),
            missing: HashMap::new(),
            dangling: Vec::new(),
        }
    }

    /// The index of `source` among the views, or `None` when it is not an entity.
    fn source(&mut self, source: &str) -> Option<usize> {
        match self.views.get(self.last_source) {
            Some(v) if *v.entity_ref == *source => Some(self.last_source),
            _ => {
                let s = self.refs.find(&self.views, source).ok()?;
                self.last_source = s;
                Some(s)
            }
        }
    }
}

impl CatalogSink for Loader {
    fn entity(&mut self, e: LoadedEntity<'_>) {
        let id = EntityId::at(self.views.len());
        self.views
            .push(Arc::new(EntityView::loaded(id, e, &mut self.interner)));
    }

    fn entities_done(&mut self) {
        self.interner = Interner::default();
        let views = &mut self.views;
        // The store orders by ref with the database's collation; make sure of byte order here.
        if !views.windows(2).all(|w| w[0].entity_ref < w[1].entity_ref) {
            views.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
            for (i, v) in views.iter_mut().enumerate() {
                Arc::get_mut(v).expect("a view loading").id = EntityId::at(i);
            }
        }
        self.relations = vec![Vec::new(); views.len()];
        self.owners = vec![None; views.len()];
        self.refs = RefIndex::of(views);
        self.entities_read = self.started.elapsed();
    }

    fn relation(&mut self, source: &str, kind: &str, target: &str) {
        let Some(t) = RelationType::parse(kind) else {
            return;
        };
        let Some(s) = self.source(source) else {
            return;
        };
        if self.counts(s, t) {
            let found = self.refs.find(&self.views, target);
            self.add(s, t, target, found);
        }
    }

    /// A page at once: its ends are looked up on every core (the views only read), then
    /// added in the page's order.
    fn relations(&mut self, page: &[[&str; 3]]) {
        let this = &*self;
        let found: Vec<Option<Found>> = page
            .par_iter()
            .map(|[source, kind, target]| {
                let kind = RelationType::parse(kind)?;
                let source = this.refs.find(&this.views, source).ok()?;
                this.counts(source, kind).then(|| Found {
                    source,
                    kind,
                    target: this.refs.find(&this.views, target),
                })
            })
            .collect();
        for ([_, _, target], found) in page.iter().zip(found) {
            if let Some(f) = found {
                self.add(f.source, f.kind, target, f.target);
            }
        }
    }
}

/// A relation that counts, its ends looked up: the source's index, and the target's (`Err`: not
/// an entity).
struct Found {
    source: usize,
    kind: RelationType,
    target: Result<usize, ()>,
}

impl Loader {
    /// Whether a relation of the view at `s` counts: membership and hierarchy count only from
    /// the organisation's own locations (an older row from a member's location, say):
    /// authorisation walks this tree.
    fn counts(&self, s: usize, t: RelationType) -> bool {
        !is_org_relation(t) || self.views[s].shapes_org
    }

    /// Adds `s --t--> target` (the entity at `found`, or a missing ref) and its inverse.
    fn add(&mut self, s: usize, t: RelationType, target: &str, found: Result<usize, ()>) {
        let n = self.views.len();
        let target_id = match found {
            Ok(i) => {
                self.relations[i].push((t.inverse(), EntityId::at(s)));
                EntityId::at(i)
            }
            Err(()) => {
                let names = &mut self.missing_names;
                let id = *self.missing.entry(target.into()).or_insert_with(|| {
                    names.push(target.into());
                    EntityId::at(n + names.len() - 1)
                });
                self.dangling.push((EntityId::at(s), t, id));
                id
            }
        };
        self.relations[s].push((t, target_id));
        if t == RelationType::OwnedBy
            && self.owners[s]
                .is_none_or(|cur| target < load_name(&self.views, &self.missing_names, cur))
        {
            self.owners[s] = Some(target_id);
        }
    }
}

/// Sorts every view's relations (on every core) and the dangling ones, then moves the relations
/// and owners into their views.
fn finish(loader: Loader, generation: i64) -> Snapshot {
    let Loader {
        mut views,
        mut relations,
        owners,
        missing_names,
        missing,
        mut dangling,
        ..
    } = loader;
    let name = |id| load_name(&views, &missing_names, id);
    relations.par_iter_mut().for_each(|r| {
        sort_relations(r, name);
        r.shrink_to_fit();
    });
    dangling.sort_by(|a, b| (name(a.0), a.1, name(a.2)).cmp(&(name(b.0), b.1, name(b.2))));
    for ((v, r), owner) in views.iter_mut().zip(relations).zip(owners) {
        let v = Arc::get_mut(v).expect("a view loading");
        v.relations = r;
        v.owner = owner;
    }
    let slots = views
        .iter()
        .map(|v| Slot::Entity(v.clone()))
        .chain(missing_names.into_iter().map(Slot::Missing))
        .collect();
    Snapshot {
        generation,
        entities: views,
        slots,
        missing,
        dangling,
    }
}

/// Loads the catalog from the store and builds the snapshot and its search index.
pub async fn load(store: &Store) -> Result<(Arc<Snapshot>, SearchIndex, i64), LoadError> {
    let mut loader = Loader::new();
    let generation = store.load_catalog(&mut loader).await?;
    let (started, entities_read) = (loader.started, loader.entities_read);
    let relations_read = started.elapsed();
    let (snap, index, sorted) = tokio::task::spawn_blocking(move || -> Result<_, LoadError> {
        let snap = finish(loader, generation);
        let sorted = started.elapsed();
        let index = SearchIndex::build(snap.entities.iter().map(|v| snap.search_doc(v)))?;
        Ok((Arc::new(snap), index, sorted))
    })
    .await
    .map_err(|e| LoadError::Internal(e.to_string()))??;
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let heap = snap.heap_bytes();
    let mb = |b: usize| b >> 20;
    tracing::info!(
        bodies_mb = mb(heap.bodies),
        refs_mb = mb(heap.refs),
        relations_mb = mb(heap.relations),
        views_mb = mb(heap.views),
        index_mb = index.space_bytes() >> 20,
        "read model size"
    );
    tracing::info!(
        entities = snap.len(),
        entities_ms = ms(entities_read),
        relations_ms = ms(relations_read - entities_read),
        sort_ms = ms(sorted - relations_read),
        index_ms = ms(started.elapsed() - sorted),
        "read model loaded"
    );
    Ok((snap, index, generation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(i: usize, r: &str) -> Arc<EntityView> {
        let stored = socle_store::StoredEntity {
            entity_ref: r.into(),
            kind: "component".into(),
            namespace: "default".into(),
            name: r.rsplit('/').next().unwrap_or(r).into(),
            location_key: "file:x".into(),
            file_key: "x".into(),
            etag: String::new(),
            body: "{}".into(),
            updated_at: 0,
        };
        Arc::new(EntityView::of(
            EntityId::at(i),
            stored,
            false,
            &mut Interner::default(),
        ))
    }

    #[test]
    fn a_ref_whose_hash_another_took_is_found_by_binary_search() {
        let views = [
            view(0, "component:default/a"),
            view(1, "component:default/b"),
        ];
        // As a collision leaves it: b's hash points at a.
        let a = RefIndex::hash("component:default/a");
        let b = RefIndex::hash("component:default/b");
        let index = RefIndex(HashMap::from([(a, 0), (b, 0)]));
        assert_eq!(index.find(&views, "component:default/a"), Ok(0));
        assert_eq!(index.find(&views, "component:default/b"), Ok(1));
        assert_eq!(index.find(&views, "component:default/c"), Err(()));
        assert_eq!(
            RefIndex::of(&views).find(&views, "component:default/b"),
            Ok(1)
        );
    }

    /// A loader holding `refs` (component or group refs, sorted), each from an organisation
    /// location when `org`.
    fn loader(refs: &[&str], org: bool) -> Loader {
        let mut l = Loader::new();
        for r in refs {
            l.entity(LoadedEntity {
                entity_ref: r,
                organisation: org,
                body: "{}",
            });
        }
        l.entities_done();
        l
    }

    #[test]
    fn a_page_of_relations_adds_what_one_by_one_adds() {
        let refs = [
            "component:default/a",
            "component:default/b",
            "group:default/t",
        ];
        let page = [
            ["component:default/a", "dependsOn", "component:default/b"],
            ["component:default/a", "ownedBy", "group:default/t"],
            ["component:default/a", "ownedBy", "group:default/s"],
            ["component:default/b", "dependsOn", "component:default/gone"],
            ["component:default/b", "noSuchType", "component:default/a"],
            [
                "component:default/nobody",
                "dependsOn",
                "component:default/a",
            ],
            ["group:default/t", "hasMember", "user:default/u"],
            ["component:default/b", "dependsOn", "component:default/gone"],
        ];
        for org in [true, false] {
            let mut one = loader(&refs, org);
            for [s, t, d] in &page {
                one.relation(s, t, d);
            }
            let mut paged = loader(&refs, org);
            paged.relations(&page);
            assert_eq!(paged.relations, one.relations);
            assert_eq!(paged.owners, one.owners);
            assert_eq!(paged.dangling, one.dangling);
            assert_eq!(paged.missing_names, one.missing_names);
            // What the rows say, checked once: a's owner is the first by ref.
            let s = |r| one.missing[r];
            assert_eq!(one.owners[0], Some(s("group:default/s")));
            assert_eq!(one.relations[1].len(), 3, "b: dependedOnBy a, gone twice");
            let members = usize::from(org);
            assert_eq!(one.dangling.len(), 3 + members);
        }
    }
}
