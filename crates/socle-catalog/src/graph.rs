//! Assembling relations across a set of entities: what each entity's relations are, and which
//! relations point at entities that do not exist (dangling — kept and reported, never dropped).

use std::collections::{HashMap, HashSet};

use crate::emitted::Emitted;
use crate::entity_ref::EntityRef;
use crate::relation::{Relation, RelationType};

/// The relations of a set of entities.
#[derive(Debug, Default)]
pub struct CatalogView {
    /// Relations by source entity, sorted by (type, target) and without duplicates.
    pub relations: HashMap<EntityRef, Vec<(RelationType, EntityRef)>>,
    /// Relations whose source exists and whose target does not, sorted.
    pub dangling: Vec<Relation>,
}

impl CatalogView {
    /// `entities` yields each existing entity with the relations its own spec emitted.
    pub fn build<'a>(
        entities: impl IntoIterator<Item = (&'a EntityRef, &'a Emitted)> + Clone,
    ) -> Self {
        let exists: HashSet<&EntityRef> = entities.clone().into_iter().map(|(r, _)| r).collect();
        let mut relations: HashMap<EntityRef, Vec<(RelationType, EntityRef)>> =
            HashMap::with_capacity(exists.len());
        let mut dangling = Vec::new();
        for (source, emitted) in entities {
            for (kind, target) in emitted.refs() {
                relations
                    .entry(source.clone())
                    .or_default()
                    .push((kind, target.clone()));
                if exists.contains(&target) {
                    relations
                        .entry(target.clone())
                        .or_default()
                        .push((kind.inverse(), source.clone()));
                } else {
                    dangling.push(Relation {
                        source: source.clone(),
                        kind,
                        target,
                    });
                }
            }
        }
        for list in relations.values_mut() {
            list.sort();
            list.dedup();
        }
        dangling.sort();
        dangling.dedup();
        Self {
            relations,
            dangling,
        }
    }

    pub fn of(&self, r: &EntityRef) -> &[(RelationType, EntityRef)] {
        self.relations.get(r).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> EntityRef {
        EntityRef::parse_full(s).unwrap()
    }

    #[test]
    fn inverse_and_dangling() {
        let c = r("component:default/a");
        let g = r("group:default/team");
        let missing = Relation {
            source: c.clone(),
            kind: RelationType::DependsOn,
            target: r("resource:default/db"),
        };
        let emitted_c: Emitted = [
            (RelationType::OwnedBy, g.clone()),
            (RelationType::DependsOn, r("resource:default/db")),
        ]
        .into_iter()
        .collect();
        let emitted_g = Emitted::default();
        let view = CatalogView::build([(&c, &emitted_c), (&g, &emitted_g)]);
        assert_eq!(view.of(&g), &[(RelationType::OwnerOf, c.clone())]);
        assert_eq!(
            view.of(&c),
            &[
                (RelationType::DependsOn, r("resource:default/db")),
                (RelationType::OwnedBy, g.clone())
            ]
        );
        assert_eq!(view.dangling, vec![missing]);
    }
}
