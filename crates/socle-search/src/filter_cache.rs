//! Results of queries without text (filters, facets, a page: the catalog page as it opens and
//! as facets are clicked), kept until the index changes. Such a query counts the facets of
//! every document that passes the filters — at a million entities, a pass over a million
//! documents — and its answer is the same until the next `apply`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{SearchQuery, SearchResults};

/// Most queries kept; past it the entries of older index states go, then all.
pub const MAX_ENTRIES: usize = 256;

#[derive(Default)]
pub(crate) struct FilterCache {
    /// Moves after every change of the index.
    generation: AtomicU64,
    entries: Mutex<HashMap<SearchQuery, (u64, SearchResults)>>,
}

impl FilterCache {
    /// Whether `q` is answered from here: no text.
    pub fn takes(q: &SearchQuery) -> bool {
        q.text.trim().is_empty()
    }

    /// The index state a search is about to read (take it before the searcher).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The results kept for `q` at `generation`.
    pub fn get(&self, q: &SearchQuery, generation: u64) -> Option<SearchResults> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(q)
            .filter(|(g, _)| *g == generation)
            .map(|(_, r)| r.clone())
    }

    /// Keeps `results` for `q` as of `generation` (a search that raced a change keeps them
    /// under the older number: never served).
    pub fn put(&self, q: &SearchQuery, generation: u64, results: &SearchResults) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let now = self.generation();
            entries.retain(|_, (g, _)| *g == now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(q.clone(), (generation, results.clone()));
    }

    /// The index changed: nothing kept is served any more.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}
