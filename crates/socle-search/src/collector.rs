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
use std::collections::{BinaryHeap, HashMap};
use std::io;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyError};

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
    /// Unsorted `(value, count)` pairs per dimension.
    pub facets: [Vec<(String, u64)>; DIM_COUNT],
}

/// See the module documentation.
pub(crate) struct FacetedTopCollector<'a> {
    /// Normalised filter values per dimension; empty = no filter.
    pub filters: &'a [Vec<String>; DIM_COUNT],
    /// Number of hits to retain (offset + limit).
    pub k: usize,
    pub scoring: bool,
}

/// Per-segment fruit. Errors are carried along because `harvest` cannot fail.
pub(crate) type SegmentFruit = Result<Collected, io::Error>;

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
        let mut facet_maps: [HashMap<String, u64>; DIM_COUNT] = Default::default();
        let single = fruits.len() == 1;
        for fruit in fruits {
            let fruit = fruit?;
            merged.total += fruit.total;
            merged.hits.extend(fruit.hits);
            for (i, values) in fruit.facets.into_iter().enumerate() {
                if single {
                    merged.facets[i] = values;
                } else {
                    for (value, count) in values {
                        *facet_maps[i].entry(value).or_default() += count;
                    }
                }
            }
        }
        if !single {
            for (i, map) in facet_maps.into_iter().enumerate() {
                merged.facets[i] = map.into_iter().collect();
            }
        }
        merged.hits.sort_unstable_by(rank_cmp);
        merged.hits.truncate(self.k);
        Ok(merged)
    }
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

    fn harvest(self) -> io::Result<Vec<(String, u64)>> {
        let Some(column) = self.column else {
            return Ok(Vec::new());
        };
        let (ords, counts): (Vec<u64>, Vec<u64>) = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(ord, count)| (ord as u64, *count))
            .unzip();
        let mut values = Vec::with_capacity(ords.len());
        let mut counts = counts.into_iter();
        column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
            let count = counts.next().unwrap_or_default();
            values.push((String::from_utf8_lossy(bytes).into_owned(), count));
        })?;
        Ok(values)
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
        let mut facets: [Vec<(String, u64)>; DIM_COUNT] = Default::default();
        for (i, dim) in self.dims.into_iter().enumerate() {
            facets[i] = dim.harvest()?;
        }
        Ok(Collected {
            total: self.total,
            hits,
            facets,
        })
    }
}
