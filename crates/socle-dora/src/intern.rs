//! Strings interned as dense `u32` ids: one arena of bytes, one hash table of ids with their
//! hashes (no allocation per string; growing the table reads no string again, and a lookup
//! compares strings only when the full hashes match). Ids are given in order of first
//! appearance.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::metrics::FxBuild;

/// No string (an absent optional reference).
pub(crate) const NONE: u32 = u32::MAX;

/// Strings ↔ dense ids.
#[derive(Default)]
pub(crate) struct Interner {
    /// `(hash, id)`.
    table: HashTable<(u64, u32)>,
    /// Every string, end to end.
    bytes: String,
    /// Where string `i` ends in `bytes` (it starts where `i - 1` ends).
    ends: Vec<usize>,
}

fn hash(s: &str) -> u64 {
    FxBuild::default().hash_one(s)
}

/// String `id` of an arena.
fn span<'a>(bytes: &'a str, ends: &[usize], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

impl Interner {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Room for `strings` more strings of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, strings: usize, bytes: usize) {
        self.table.reserve(strings, |&(eh, _)| eh);
        self.bytes.reserve(bytes);
        self.ends.reserve(strings);
    }

    /// The string of an id.
    pub(crate) fn get(&self, id: u32) -> &str {
        span(&self.bytes, &self.ends, id)
    }

    /// The id of `s`, if interned.
    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        let h = hash(s);
        self.table
            .find(h, |&(eh, id)| eh == h && self.get(id) == s)
            .map(|&(_, id)| id)
    }

    /// The id of `s`, interned on first sight. Past `u32::MAX - 1` strings, panics (a history
    /// that large is refused before it gets here: ids are bounded by the lines read).
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        let h = hash(s);
        let Self { table, bytes, ends } = self;
        if let Some(&(_, id)) = table.find(h, |&(eh, id)| eh == h && span(bytes, ends, id) == s) {
            return id;
        }
        let id = u32::try_from(ends.len())
            .ok()
            .filter(|&id| id != NONE)
            .expect("fewer than 2^32 - 1 distinct strings");
        bytes.push_str(s);
        ends.push(bytes.len());
        table.insert_unique(h, (h, id), |&(eh, _)| eh);
        id
    }

    /// Interns every string of `other` into this one: the id here of each of `other`'s ids.
    pub(crate) fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        self.table.reserve(other.len(), |&(eh, _)| eh);
        (0..other.len() as u32)
            .map(|id| self.intern(other.get(id)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_order_of_first_appearance() {
        let mut i = Interner::default();
        assert_eq!(
            ["b", "a", "b", "", "c"].map(|s| i.intern(s)),
            [0, 1, 0, 2, 3]
        );
        assert_eq!(
            (i.get(0), i.get(1), i.get(2), i.get(3)),
            ("b", "a", "", "c")
        );
        assert_eq!(i.find("c"), Some(3));
        assert_eq!(i.find("d"), None);
    }

    #[test]
    fn absorbing_maps_every_id() {
        let mut a = Interner::default();
        a.intern("x");
        let mut b = Interner::default();
        b.intern("y");
        b.intern("x");
        assert_eq!(a.absorb(&b), vec![1, 0]);
        assert_eq!(a.get(1), "y");
    }
}
