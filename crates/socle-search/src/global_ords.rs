//! Facet values numbered across segments.
//!
//! Each segment numbers the values of a facet column by its own dictionary (term ordinals). A
//! search counts by those ordinals, then has to add up the segments' counts by value. Turning
//! every counted ordinal into a string and merging the strings in a hash map cost more than
//! the search itself at a million entities (20,000 owners and 10,000 systems per segment).
//!
//! [`GlobalOrds`] numbers every value of a dimension once, across the segments of one
//! searcher, in byte order, and maps each segment's ordinals onto those numbers. Counts then
//! add up in an array, and only the values that make the cut ([`crate::MAX_FACET_VALUES`]) are
//! ever turned into strings. It is built once per set of segments (by the index's `build` and
//! `apply`, off the search path) and shared by the searches on it.

use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentOrdinal, SegmentReader};

use crate::schema::{DIM_COUNT, DIM_FIELDS};

/// One dimension: its values and each segment's ordinal → value index.
#[derive(Debug, Default)]
pub(crate) struct DimOrds {
    /// Every value of the dimension in any segment, sorted by bytes, without repeats.
    pub values: Vec<String>,
    /// `maps[segment][ordinal]` = index in `values`.
    pub maps: Vec<Vec<u32>>,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct GlobalOrds {
    segments: Vec<SegmentId>,
    pub dims: [DimOrds; DIM_COUNT],
}

impl GlobalOrds {
    fn build(searcher: &Searcher) -> tantivy::Result<Self> {
        let readers = searcher.segment_readers();
        let mut dims: [DimOrds; DIM_COUNT] = Default::default();
        for (dim, name) in dims.iter_mut().zip(DIM_FIELDS) {
            let mut per_segment: Vec<Vec<String>> = Vec::with_capacity(readers.len());
            for reader in readers {
                per_segment.push(segment_values(reader, name)?);
            }
            let mut values: Vec<String> = per_segment.iter().flatten().cloned().collect();
            values.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            values.dedup();
            dim.maps = per_segment
                .iter()
                .map(|segment| {
                    segment
                        .iter()
                        .map(|v| {
                            let i = values
                                .binary_search_by(|x| x.as_bytes().cmp(v.as_bytes()))
                                .unwrap_or_default();
                            u32::try_from(i).unwrap_or(u32::MAX)
                        })
                        .collect()
                })
                .collect();
            dim.values = values;
        }
        Ok(Self {
            segments: readers.iter().map(SegmentReader::segment_id).collect(),
            dims,
        })
    }

    /// Segment `segment`'s ordinal → value index map of dimension `dim` (empty if unknown).
    pub fn map(&self, dim: usize, segment: SegmentOrdinal) -> &[u32] {
        self.dims
            .get(dim)
            .and_then(|d| d.maps.get(segment as usize))
            .map_or(&[], Vec::as_slice)
    }

    fn is_for(&self, searcher: &Searcher) -> bool {
        let readers = searcher.segment_readers();
        readers.len() == self.segments.len()
            && readers
                .iter()
                .zip(&self.segments)
                .all(|(r, id)| r.segment_id() == *id)
    }
}

/// A segment's values of a facet column, by ordinal. The values are those of its dictionary,
/// which a segment's merge keeps even when the documents holding them were deleted; they then
/// count zero.
fn segment_values(reader: &SegmentReader, column: &str) -> tantivy::Result<Vec<String>> {
    let Some(column) = reader.fast_fields().str(column)? else {
        return Ok(Vec::new());
    };
    let dictionary = column.dictionary();
    let mut values = Vec::with_capacity(dictionary.num_terms());
    let mut stream = dictionary.stream()?;
    while stream.advance() {
        values.push(String::from_utf8_lossy(stream.key()).into_owned());
    }
    Ok(values)
}

/// The last [`GlobalOrds`] built, reused while the searcher's segments are the same.
#[derive(Debug, Default)]
pub(crate) struct GlobalOrdsCache(Mutex<Option<Arc<GlobalOrds>>>);

impl GlobalOrdsCache {
    pub fn get(&self, searcher: &Searcher) -> tantivy::Result<Arc<GlobalOrds>> {
        if let Some(ords) = self.lock().as_ref()
            && ords.is_for(searcher)
        {
            return Ok(Arc::clone(ords));
        }
        // Built outside the lock: a search on the previous segments is not held up. Two
        // searches racing on new segments both build; the last one kept wins, both are right.
        let ords = Arc::new(GlobalOrds::build(searcher)?);
        *self.lock() = Some(Arc::clone(&ords));
        Ok(ords)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<GlobalOrds>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
