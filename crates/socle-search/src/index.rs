//! [`SearchIndex`]: the in-RAM tantivy index and its operations.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use tantivy::indexer::IndexWriterOptions;
use tantivy::schema::Value;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::collector::{FacetedTopCollector, RankedHit};
use crate::filter_cache::FilterCache;
use crate::global_ords::GlobalOrdsCache;
use crate::query;
use crate::schema::{self, Dim, Fields};
use crate::{FacetCount, Facets, SearchDoc, SearchError, SearchHit, SearchQuery, SearchResults};

/// Most values returned per facet.
pub const MAX_FACET_VALUES: usize = 50;

/// Total indexing memory budget of [`SearchIndex::build`], split across
/// indexing threads.
const BUILD_MEMORY_BUDGET: usize = 64 << 20;
/// Most indexing threads used by [`SearchIndex::build`].
const BUILD_MAX_THREADS: usize = 2;
/// Memory budget of the (single-threaded) writer used by
/// [`SearchIndex::apply`]; incremental batches are small.
const APPLY_MEMORY_BUDGET: usize = 32 << 20;

/// An in-memory full-text index of catalog entities.
///
/// `SearchIndex` is `Send + Sync`: searches run concurrently with each other
/// and with [`apply`](Self::apply); concurrent `apply` calls are serialised.
/// Every search sees a consistent snapshot (the state after the last
/// completed `apply`/`build`).
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// Writer for incremental updates, created on first use so that a
    /// read-only index holds no indexing threads or buffers.
    writer: Mutex<Option<IndexWriter>>,
    /// Results of text-less queries until the next change.
    cache: FilterCache,
    /// The facet values of the current segments, numbered across them.
    ords: GlobalOrdsCache,
}

impl fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SearchIndex")
            .field("num_docs", &self.len())
            .finish_non_exhaustive()
    }
}

/// Validates an upsert and returns its normalised key.
fn doc_key(doc: &SearchDoc) -> Result<String, SearchError> {
    let key = schema::normalize_ref(&doc.entity_ref);
    if key.is_empty() {
        return Err(SearchError::InvalidDocument(format!(
            "document `{}` has an empty entity_ref",
            doc.name
        )));
    }
    Ok(key)
}

impl SearchIndex {
    /// Creates an empty index.
    pub fn new() -> Result<Self, SearchError> {
        let (index, fields) = schema::create_index();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
            analyzer: schema::text_analyzer(),
            writer: Mutex::new(None),
            cache: FilterCache::default(),
            ords: GlobalOrdsCache::default(),
        })
    }

    /// Builds an index from `docs` in bulk: multi-threaded indexing with a
    /// large memory budget and a single commit. When several documents share
    /// an `entity_ref` (compared case-insensitively) the last one wins.
    ///
    /// Fails with [`SearchError::InvalidDocument`] if a document has an empty
    /// `entity_ref`.
    pub fn build(docs: impl IntoIterator<Item = SearchDoc>) -> Result<Self, SearchError> {
        let this = Self::new()?;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, BUILD_MAX_THREADS);
        let mut writer: IndexWriter = this.index.writer_with_options(
            IndexWriterOptions::builder()
                .num_worker_threads(threads)
                .memory_budget_per_thread(BUILD_MEMORY_BUDGET / threads)
                .num_merge_threads(1)
                .build(),
        )?;
        // The keys seen, by a hash of each (8 bytes where the key itself took ~60 at a million
        // documents). A key seen before deletes the earlier documents with it; should two keys
        // share a hash, the second's delete finds no earlier document with its key and does
        // nothing, so a shared hash costs one useless delete, never a document.
        let hasher = std::collections::hash_map::RandomState::new();
        let mut seen: HashSet<u64> = HashSet::new();
        for doc in docs {
            let key = doc_key(&doc)?;
            let document = schema::to_document(&this.fields, &doc, &key);
            if !seen.insert(std::hash::BuildHasher::hash_one(&hasher, &key)) {
                writer.delete_term(Term::from_field_text(this.fields.entity_ref, &key));
            }
            writer.add_document(document)?;
        }
        drop(seen);
        writer.commit()?;
        writer.wait_merging_threads()?;
        this.reader.reload()?;
        this.ords.get(&this.reader.searcher())?;
        Ok(this)
    }

    fn lock_writer(&self) -> MutexGuard<'_, Option<IndexWriter>> {
        match self.writer.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                // A panic mid-apply: drop the writer, which discards its
                // uncommitted operations, and start afresh.
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.writer.clear_poison();
                guard
            }
        }
    }

    /// Applies a batch of changes and makes it visible to searches before
    /// returning: every upsert replaces any document with the same
    /// `entity_ref` (case-insensitive); then every listed `entity_ref` is
    /// deleted (so a ref both upserted and deleted ends up deleted).
    /// Unknown refs are ignored. The batch is atomic: on error nothing is
    /// applied.
    pub fn apply(
        &self,
        upserts: impl IntoIterator<Item = SearchDoc>,
        deletes: impl IntoIterator<Item = String>,
    ) -> Result<(), SearchError> {
        // Validate and convert everything before touching the writer.
        let mut documents = Vec::new();
        for doc in upserts {
            let key = doc_key(&doc)?;
            let document = schema::to_document(&self.fields, &doc, &key);
            documents.push((
                Term::from_field_text(self.fields.entity_ref, &key),
                document,
            ));
        }
        let deletes: Vec<Term> = deletes
            .into_iter()
            .filter(|r| !r.trim().is_empty())
            .map(|r| schema::ref_term(&self.fields, &r))
            .collect();
        if documents.is_empty() && deletes.is_empty() {
            return Ok(());
        }

        let mut guard = self.lock_writer();
        let writer = match &mut *guard {
            Some(writer) => writer,
            slot @ None => slot.insert(
                self.index.writer_with_options(
                    IndexWriterOptions::builder()
                        .num_worker_threads(1)
                        .memory_budget_per_thread(APPLY_MEMORY_BUDGET)
                        .num_merge_threads(1)
                        .build(),
                )?,
            ),
        };
        let result = (|| -> tantivy::Result<()> {
            for (term, document) in documents {
                writer.delete_term(term);
                writer.add_document(document)?;
            }
            for term in deletes {
                writer.delete_term(term);
            }
            writer.commit()?;
            Ok(())
        })();
        if let Err(err) = result {
            // Discard the partial batch; if even that fails, drop the writer
            // (which also discards uncommitted operations).
            if writer.rollback().is_err() {
                *guard = None;
            }
            return Err(err.into());
        }
        drop(guard);
        self.reader.reload()?;
        self.cache.invalidate();
        // Number the new segments' facet values now, not in the next search.
        self.ords.get(&self.reader.searcher())?;
        Ok(())
    }

    /// Runs a search. See the crate documentation for the semantics of the
    /// text, filters, facets and ordering.
    ///
    /// Fails with [`SearchError::InvalidQuery`] only for abusive input (text
    /// longer than [`MAX_TEXT_LEN`](crate::MAX_TEXT_LEN) bytes or more than
    /// [`MAX_FILTER_VALUES`](crate::MAX_FILTER_VALUES) values in a filter);
    /// any text is otherwise accepted.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults, SearchError> {
        let cached = FilterCache::takes(q);
        let generation = self.cache.generation();
        if cached && let Some(results) = self.cache.get(q, generation) {
            return Ok(results);
        }
        // The plan reads the vocabulary of the very searcher it runs on.
        let searcher = self.reader.searcher();
        let plan = query::plan(&self.fields, &self.analyzer, &Words(&searcher), q)?;
        let collector = FacetedTopCollector {
            filters: &plan.filters,
            k: plan.offset.saturating_add(plan.limit),
            scoring: plan.text_query.is_some() && !q.by_ref,
            ords: self.ords.get(&searcher)?,
        };
        let collected = searcher.search(&*plan.query(), &collector)?;

        let hits = collected
            .hits
            .into_iter()
            .skip(plan.offset)
            .take(plan.limit)
            .map(|hit| self.load_hit(&searcher, hit))
            .collect::<Result<Vec<_>, _>>()?;

        let [kind, owner, spec_type, tag, lifecycle, system] = collected.facets.map(facet_counts);
        let results = SearchResults {
            total: usize::try_from(collected.total).unwrap_or(usize::MAX),
            hits,
            facets: Facets {
                kind,
                owner,
                spec_type,
                tag,
                lifecycle,
                system,
            },
        };
        if cached {
            self.cache.put(q, generation, &results);
        }
        Ok(results)
    }

    fn load_hit(
        &self,
        searcher: &tantivy::Searcher,
        hit: RankedHit,
    ) -> Result<SearchHit, SearchError> {
        let doc: TantivyDocument = searcher.doc(hit.address)?;
        let get = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        Ok(SearchHit {
            entity_ref: hit.entity_ref,
            kind: get(self.fields.dims[Dim::Kind as usize]).unwrap_or_default(),
            name: get(self.fields.name).unwrap_or_default(),
            title: get(self.fields.title),
            description: get(self.fields.description),
            owner: get(self.fields.owner_text),
            spec_type: get(self.fields.spec_type_text),
            score: hit.score,
        })
    }

    /// Bytes the index's segments take (in RAM: the index lives there), as tantivy counts them.
    pub fn space_bytes(&self) -> u64 {
        self.reader
            .searcher()
            .space_usage()
            .map_or(0, |u| u.total().get_bytes())
    }

    /// Number of documents in the index (as of the last `build`/`apply`).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sorts facet values by count desc then value asc and keeps the first
/// [`MAX_FACET_VALUES`].
fn facet_counts(mut values: Vec<(String, u64)>) -> Vec<FacetCount> {
    values.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values.truncate(MAX_FACET_VALUES);
    values
        .into_iter()
        .map(|(value, count)| FacetCount { value, count })
        .collect()
}

/// The words of a searcher's segments (see [`query::Vocabulary`]).
struct Words<'a>(&'a tantivy::Searcher);

impl query::Vocabulary for Words<'_> {
    fn has_longer(&self, field: tantivy::schema::Field, word: &str) -> bool {
        let end = prefix_end(word.as_bytes());
        self.0.segment_readers().iter().any(|segment| {
            let Ok(index) = segment.inverted_index(field) else {
                // Unreadable: keep the prefix half, which reads it properly (or fails).
                return true;
            };
            let range = index.terms().range().gt(word.as_bytes());
            let range = match &end {
                Some(end) => range.lt(end),
                None => range,
            };
            range
                .into_stream()
                .map_or(true, |mut stream| stream.advance())
        })
    }
}

/// The smallest byte string greater than every string starting with `prefix`, `None` when
/// there is none (`prefix` is empty or all `0xFF`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod plan_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn search_index_is_send_and_sync() {
        assert_send_sync::<SearchIndex>();
    }

    #[test]
    fn facet_counts_sort_and_cap() {
        let mut values: Vec<(String, u64)> = (0..60).map(|i| (format!("v{i:02}"), 1)).collect();
        values.push(("b".into(), 5));
        values.push(("a".into(), 5));
        values.push(("z".into(), 7));
        let out = facet_counts(values);
        assert_eq!(out.len(), MAX_FACET_VALUES);
        let head: Vec<(&str, u64)> = out
            .iter()
            .take(4)
            .map(|f| (f.value.as_str(), f.count))
            .collect();
        assert_eq!(head, vec![("z", 7), ("a", 5), ("b", 5), ("v00", 1)]);
        assert_eq!(out.last().unwrap().value, "v46");
    }

    fn all(offset: usize) -> SearchQuery {
        SearchQuery {
            offset,
            ..Default::default()
        }
    }

    #[test]
    fn a_kept_text_less_answer_is_dropped_when_the_index_changes() {
        let index = SearchIndex::build([doc("component:default/a")]).unwrap();
        assert_eq!(index.search(&all(0)).unwrap().total, 1);
        assert_eq!(index.search(&all(0)).unwrap().total, 1);
        assert_eq!(index.cache.len(), 1);
        index
            .apply([doc("component:default/b")], Vec::<String>::new())
            .unwrap();
        let after = index.search(&all(0)).unwrap();
        assert_eq!(after.total, 2);
        assert_eq!(after.facets.kind[0].count, 2);
        index
            .apply(Vec::new(), ["component:default/a".to_owned()])
            .unwrap();
        assert_eq!(index.search(&all(0)).unwrap().total, 1);
    }

    #[test]
    fn a_query_with_text_is_never_kept() {
        let index = SearchIndex::build([doc("component:default/a")]).unwrap();
        let q = SearchQuery {
            text: "a".into(),
            ..Default::default()
        };
        index.search(&q).unwrap();
        assert_eq!(index.cache.len(), 0);
    }

    #[test]
    fn the_kept_answers_stay_bounded() {
        let index = SearchIndex::build([doc("component:default/a")]).unwrap();
        for offset in 0..crate::filter_cache::MAX_ENTRIES + 50 {
            index.search(&all(offset)).unwrap();
        }
        assert!(index.cache.len() <= crate::filter_cache::MAX_ENTRIES);
    }

    #[test]
    fn space_grows_with_the_documents() {
        let empty = SearchIndex::build(Vec::new()).unwrap();
        let some =
            SearchIndex::build((0..200).map(|i| doc(&format!("component:default/c{i}")))).unwrap();
        assert!(
            some.space_bytes() > empty.space_bytes(),
            "{} <= {}",
            some.space_bytes(),
            empty.space_bytes()
        );
    }

    fn doc(entity_ref: &str) -> SearchDoc {
        SearchDoc {
            entity_ref: entity_ref.into(),
            kind: "component".into(),
            name: entity_ref.rsplit('/').next().unwrap_or_default().into(),
            ..Default::default()
        }
    }

    #[test]
    fn empty_entity_ref_is_rejected_atomically() {
        let index = SearchIndex::build([doc("component:default/a")]).unwrap();
        let err = index
            .apply([doc("component:default/b"), doc("  ")], Vec::new())
            .unwrap_err();
        assert!(matches!(err, SearchError::InvalidDocument(_)));
        assert!(err.is_user_error());
        // Nothing from the failed batch was applied.
        assert_eq!(index.len(), 1);
        assert!(SearchIndex::build([doc("")]).is_err());
    }

    #[test]
    fn duplicate_refs_in_build_keep_the_last_one() {
        let mut second = doc("Component:Default/A");
        second.title = Some("second".into());
        let index = SearchIndex::build([doc("component:default/a"), second]).unwrap();
        assert_eq!(index.len(), 1);
        let res = index.search(&SearchQuery::default()).unwrap();
        assert_eq!(res.total, 1);
        assert_eq!(res.hits[0].entity_ref, "component:default/a");
        assert_eq!(res.hits[0].title.as_deref(), Some("second"));
    }

    #[test]
    fn empty_apply_is_a_no_op_and_writer_is_lazy() {
        let index = SearchIndex::new().unwrap();
        index.apply(Vec::new(), Vec::new()).unwrap();
        assert!(index.lock_writer().is_none());
        index
            .apply([doc("component:default/a")], Vec::new())
            .unwrap();
        assert!(index.lock_writer().is_some());
        assert_eq!(index.len(), 1);
        assert!(!index.is_empty());
    }

    #[test]
    fn prefix_end_is_the_first_string_past_the_prefix() {
        assert_eq!(prefix_end(b"paym"), Some(b"payn".to_vec()));
        assert_eq!(prefix_end(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
