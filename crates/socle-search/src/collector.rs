//! A single-pass collector computing the total, the top-k hits and the
//! facet counts.
//!
//! The query run over the index is the *text* query only; filters are
//! evaluated here from the facet columns. For every document matching the
//! text, the collector checks each filter dimension:
//!
//! * passes all filters → it is a result: counted in `total`, a top-k
//!   candidate, and counted in every facet;
//! * fails exactly one dimension `d` → not a result, but counted in the facet
//!   of `d` (a facet's own filter does not narrow its own counts);
//! * fails two or more → ignored.
//!
//! This yields standard "multi-select" facet counts in one pass.
//!
//! Hits are ranked by score descending then entity ref ascending. Inside a
//! segment the entity-ref column's term ordinals follow the byte order of the
//! strings, so ordinals are compared there and resolved to strings only for
//! the (at most k) retained hits before merging segments.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyError};

use crate::global_ords::GlobalOrds;
use crate::schema::{DIM_COUNT, DIM_FIELDS, ENTITY_REF_FIELD};

/// A ranked hit before stored fields are loaded.
#[derive(Debug, Clone)]
pub(crate) struct RankedHit {
    pub score: Score,
    pub entity_ref: String,
    pub address: DocAddress,
}

/// Compares ranked hits: better first (score desc, then entity ref asc).
pub(crate) fn rank_cmp(a: &RankedHit, b: &RankedHit) -> Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| a.entity_ref.cmp(&b.entity_ref))
}

/// The merged result of a collection.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub total: u64,
    /// The best `k` hits, best first.
    pub hits: Vec<RankedHit>,
    /// Per dimension, the `(value, count)` pairs of at most `MAX_FACET_VALUES` values, best
    /// first (count descending, then value ascending).
    pub facets: [Vec<(String, u64)>; DIM_COUNT],
}

/// A segment's collection: counts are by [`GlobalOrds`] value index, `(index, count)` with
/// counts above zero.
#[derive(Debug, Default)]
pub(crate) struct SegmentCollected {
    pub total: u64,
    pub hits: Vec<RankedHit>,
    pub facets: [Vec<(u32, u64)>; DIM_COUNT],
}

/// See the module documentation.
pub(crate) struct FacetedTopCollector<'a> {
    /// Normalised filter values per dimension; empty = no filter.
    pub filters: &'a [Vec<String>; DIM_COUNT],
    /// Number of hits to retain (offset + limit).
    pub k: usize,
    pub scoring: bool,
    /// The searcher's facet values numbered across its segments.
    pub ords: Arc<GlobalOrds>,
}

/// Per-segment fruit. Errors are carried along because `harvest` cannot fail.
pub(crate) type SegmentFruit = Result<SegmentCollected, io::Error>;

impl Collector for FacetedTopCollector<'_> {
    type Fruit = Collected;
    type Child = FacetedTopSegmentCollector;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let fast_fields = reader.fast_fields();
        let entity_ref = fast_fields.str(ENTITY_REF_FIELD)?;
        let mut dims = Vec::with_capacity(DIM_COUNT);
        for (i, name) in DIM_FIELDS.iter().enumerate() {
            let column = fast_fields.str(name)?;
            let filter = if self.filters[i].is_empty() {
                None
            } else {
                // Values absent from this segment simply match nothing here.
                let mut ords = Vec::with_capacity(self.filters[i].len());
                if let Some(column) = &column {
                    for value in &self.filters[i] {
                        if let Some(ord) = column.dictionary().term_ord(value)? {
                            ords.push(ord);
                        }
                    }
                }
                Some(ords)
            };
            let counts = vec![0u64; column.as_ref().map_or(0, |c| c.num_terms())];
            let multi_valued = column
                .as_ref()
                .is_some_and(|c| c.ords().get_cardinality() == Cardinality::Multivalued);
            dims.push(DimState {
                column,
                multi_valued,
                filter,
                counts,
                ords: Vec::new(),
            });
        }
        let dims: [DimState; DIM_COUNT] = dims
            .try_into()
            .map_err(|_| TantivyError::InternalError("dimension count mismatch".into()))?;
        Ok(FacetedTopSegmentCollector {
            segment_ord,
            global: Arc::clone(&self.ords),
            entity_ref,
            dims,
            k: self.k,
            heap: BinaryHeap::new(),
            total: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    fn merge_fruits(&self, fruits: Vec<SegmentFruit>) -> tantivy::Result<Collected> {
        let mut merged = Collected::default();
        let mut counts: [Vec<u64>; DIM_COUNT] = Default::default();
        for (i, dim) in counts.iter_mut().enumerate() {
            dim.resize(self.ords.dims[i].values.len(), 0);
        }
        for fruit in fruits {
            let fruit = fruit?;
            merged.total += fruit.total;
            merged.hits.extend(fruit.hits);
            for (dim, values) in counts.iter_mut().zip(fruit.facets) {
                for (value, count) in values {
                    if let Some(total) = dim.get_mut(value as usize) {
                        *total += count;
                    }
                }
            }
        }
        for (i, dim) in counts.into_iter().enumerate() {
            merged.facets[i] = top_values(&dim, &self.ords.dims[i].values);
        }
        merged.hits.sort_unstable_by(rank_cmp);
        merged.hits.truncate(self.k);
        Ok(merged)
    }
}

/// The [`MAX_FACET_VALUES`](crate::MAX_FACET_VALUES) values with the highest counts (ties:
/// the smaller value, which is the smaller index), best first; only those become strings.
fn top_values(counts: &[u64], values: &[String]) -> Vec<(String, u64)> {
    let mut counted: Vec<(u32, u64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, count)| **count > 0)
        .map(|(i, count)| (i as u32, *count))
        .collect();
    let better = |a: &(u32, u64), b: &(u32, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    let cut = crate::MAX_FACET_VALUES;
    if counted.len() > cut {
        counted.select_nth_unstable_by(cut - 1, better);
        counted.truncate(cut);
    }
    counted.sort_unstable_by(better);
    counted
        .into_iter()
        .filter_map(|(i, count)| Some((values.get(i as usize)?.clone(), count)))
        .collect()
}

struct DimState {
    column: Option<StrColumn>,
    /// Whether a document may have several values (tags).
    multi_valued: bool,
    /// Term ordinals accepted by the filter, `None` when not filtered.
    filter: Option<Vec<u64>>,
    /// Facet counts by term ordinal.
    counts: Vec<u64>,
    /// The current document's ordinals (scratch buffer).
    ords: Vec<u64>,
}

impl DimState {
    /// Loads the document's values and returns whether it passes the filter.
    #[inline]
    fn load(&mut self, doc: DocId) -> bool {
        self.ords.clear();
        if let Some(column) = &self.column {
            if self.multi_valued {
                self.ords.extend(column.ords().values_for_doc(doc));
            } else if let Some(ord) = column.ords().first(doc) {
                self.ords.push(ord);
            }
        }
        match &self.filter {
            None => true,
            Some(accepted) => self.ords.iter().any(|ord| accepted.contains(ord)),
        }
    }

    #[inline]
    fn count(&mut self) {
        for &ord in &self.ords {
            // Ordinals are < num_terms, the length of `counts`.
            if let Some(count) = usize::try_from(ord)
                .ok()
                .and_then(|i| self.counts.get_mut(i))
            {
                *count += 1;
            }
        }
    }

    /// The counts above zero, by global value index (`map`: this segment's ordinal → index).
    fn harvest(self, map: &[u32]) -> Vec<(u32, u64)> {
        self.counts
            .iter()
            .zip(map)
            .filter(|(count, _)| **count > 0)
            .map(|(count, global)| (*global, *count))
            .collect()
    }
}

/// Heap entry; ordered so that the *worst* retained hit is the heap's max.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    score: Score,
    ref_ord: u64,
    doc: DocId,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Greater = worse: lower score, then larger entity ref.
        other
            .score
            .total_cmp(&self.score)
            .then_with(|| self.ref_ord.cmp(&other.ref_ord))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

pub(crate) struct FacetedTopSegmentCollector {
    segment_ord: SegmentOrdinal,
    /// The searcher's facet values numbered across its segments.
    global: Arc<GlobalOrds>,
    entity_ref: Option<StrColumn>,
    dims: [DimState; DIM_COUNT],
    k: usize,
    heap: BinaryHeap<Candidate>,
    total: u64,
}

impl FacetedTopSegmentCollector {
    #[inline]
    fn push_candidate(&mut self, doc: DocId, score: Score) {
        if self.k == 0 {
            return;
        }
        // A full heap's worst hit scores at least as high: this one cannot enter, and its
        // entity ref (a column read) is not needed to know it.
        if self.heap.len() == self.k
            && let Some(worst) = self.heap.peek()
            && score < worst.score
        {
            return;
        }
        let ref_ord = self
            .entity_ref
            .as_ref()
            .and_then(|c| c.ords().first(doc))
            .unwrap_or(u64::MAX);
        let candidate = Candidate {
            score,
            ref_ord,
            doc,
        };
        if self.heap.len() < self.k {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }
}

impl SegmentCollector for FacetedTopSegmentCollector {
    type Fruit = SegmentFruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        let mut failed: Option<usize> = None;
        for (i, dim) in self.dims.iter_mut().enumerate() {
            if !dim.load(doc) {
                if failed.is_some() {
                    // Fails two dimensions: irrelevant for hits and facets.
                    return;
                }
                failed = Some(i);
            }
        }
        match failed {
            None => {
                self.total += 1;
                for dim in &mut self.dims {
                    dim.count();
                }
                self.push_candidate(doc, score);
            }
            Some(i) => self.dims[i].count(),
        }
    }

    fn harvest(self) -> SegmentFruit {
        let mut candidates = self.heap.into_vec();
        candidates.sort_unstable_by_key(|c| c.ref_ord);
        let mut hits = Vec::with_capacity(candidates.len());
        // Every indexed document has an entity ref; a missing one (ordinal
        // `u64::MAX`, sorted last) is kept with an empty ref.
        let resolvable = candidates
            .iter()
            .take_while(|c| c.ref_ord != u64::MAX)
            .count();
        for c in &candidates[resolvable..] {
            hits.push(RankedHit {
                score: c.score,
                entity_ref: String::new(),
                address: DocAddress::new(self.segment_ord, c.doc),
            });
        }
        if let Some(column) = &self.entity_ref {
            let ords: Vec<u64> = candidates[..resolvable].iter().map(|c| c.ref_ord).collect();
            let mut iter = candidates[..resolvable].iter();
            column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
                if let Some(c) = iter.next() {
                    hits.push(RankedHit {
                        score: c.score,
                        entity_ref: String::from_utf8_lossy(bytes).into_owned(),
                        address: DocAddress::new(self.segment_ord, c.doc),
                    });
                }
            })?;
        }
        let mut facets: [Vec<(u32, u64)>; DIM_COUNT] = Default::default();
        for (i, dim) in self.dims.into_iter().enumerate() {
            facets[i] = dim.harvest(self.global.map(i, self.segment_ord));
        }
        Ok(SegmentCollected {
            total: self.total,
            hits,
            facets,
        })
    }
}
