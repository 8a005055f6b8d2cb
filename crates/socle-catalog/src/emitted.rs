//! The relations one entity's spec emits, packed: every target's text in one string and a
//! small end mark per relation. A catalog being ingested holds millions of them at once (4.9 M
//! for a million generated entities); as `(RelationType, EntityRef)` pairs each took a 32-byte
//! slot and a heap allocation of its own (~64 bytes), packed ~36.

use std::fmt;

use crate::entity_ref::EntityRef;
use crate::relation::RelationType;

/// Relations `self --type--> target`, in the order they were emitted.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Emitted {
    /// The targets' canonical texts (`kind:namespace/name`), one after the other.
    targets: Box<str>,
    /// Per relation: where its target's text ends in `targets`, and its type.
    ends: Box<[(u32, RelationType)]>,
}

/// Builds an [`Emitted`] list.
#[derive(Default)]
pub struct EmittedBuilder {
    targets: String,
    ends: Vec<(u32, RelationType)>,
}

impl EmittedBuilder {
    pub fn push(&mut self, kind: RelationType, target: &EntityRef) {
        self.targets.push_str(target.as_str());
        let end = u32::try_from(self.targets.len()).expect("an entity's relations under 4 GiB");
        self.ends.push((end, kind));
    }

    /// The list, with no spare capacity.
    pub fn build(self) -> Emitted {
        Emitted {
            targets: self.targets.into_boxed_str(),
            ends: self.ends.into_boxed_slice(),
        }
    }
}

impl Emitted {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// `(type, target ref text)` in the order emitted.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            next: 0,
            start: 0,
        }
    }

    /// `(type, target)` in the order emitted, each target a parsed reference again.
    pub fn refs(&self) -> impl Iterator<Item = (RelationType, EntityRef)> + '_ {
        self.iter().map(|(t, text)| {
            let target = EntityRef::parse_full(text)
                .expect("a target's text is the canonical text of an EntityRef");
            (t, target)
        })
    }
}

impl FromIterator<(RelationType, EntityRef)> for Emitted {
    fn from_iter<I: IntoIterator<Item = (RelationType, EntityRef)>>(iter: I) -> Self {
        let mut b = EmittedBuilder::default();
        for (t, target) in iter {
            b.push(t, &target);
        }
        b.build()
    }
}

impl fmt::Debug for Emitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// See [`Emitted::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    list: &'a Emitted,
    next: usize,
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (RelationType, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (end, kind) = *self.list.ends.get(self.next)?;
        let end = end as usize;
        let text = &self.list.targets[self.start..end];
        self.next += 1;
        self.start = end;
        Some((kind, text))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.list.ends.len() - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Emitted {
    type Item = (RelationType, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kinds() -> impl Strategy<Value = RelationType> {
        proptest::sample::select(RelationType::ALL.to_vec())
    }

    proptest! {
        /// Packed, a list gives back each relation as emitted, in order, text and parsed.
        #[test]
        fn a_packed_list_gives_back_what_was_pushed(
            rels in proptest::collection::vec((kinds(), "[a-z]{1,8}", "[a-z]{1,8}", "[a-z0-9._-]{1,20}"), 0..12)
        ) {
            let pairs: Vec<(RelationType, EntityRef)> = rels
                .iter()
                .map(|(t, k, ns, n)| (*t, EntityRef::new(k, ns, n)))
                .collect();
            let packed: Emitted = pairs.iter().cloned().collect();
            prop_assert_eq!(packed.len(), pairs.len());
            prop_assert_eq!(packed.iter().len(), pairs.len());
            let texts: Vec<(RelationType, &str)> = pairs.iter().map(|(t, r)| (*t, r.as_str())).collect();
            prop_assert_eq!(packed.iter().collect::<Vec<_>>(), texts);
            prop_assert_eq!(packed.refs().collect::<Vec<_>>(), pairs);
        }
    }

    #[test]
    fn an_empty_list_is_empty() {
        let e = Emitted::default();
        assert!(e.is_empty());
        assert_eq!(e.iter().next(), None);
    }
}
