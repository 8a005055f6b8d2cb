//! A query that adds a constant to the score of every document its inner query matches.
//!
//! The word being typed matches as itself *or* as a prefix; the prefix half scores a constant
//! (see `query::word_query`). When a field holds no longer word with that prefix, the prefix
//! half matches exactly the documents of the exact half, so the pair is the exact term scored
//! plus that constant: this query gives the same scores without building the prefix's bitset
//! (one bit per document of the segment) or running a union of the two.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SeekDangerResult, SegmentReader, Term};

/// `inner`'s score plus `add` (both multiplied by any boost applied around this query).
#[derive(Debug)]
pub(crate) struct PlusConst {
    pub inner: Box<dyn Query>,
    pub add: Score,
}

impl Clone for PlusConst {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.box_clone(),
            add: self.add,
        }
    }
}

impl Query for PlusConst {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(PlusConstWeight {
            inner: self.inner.weight(enable_scoring)?,
            add: self.add,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct PlusConstWeight {
    inner: Box<dyn Weight>,
    add: Score,
}

impl Weight for PlusConstWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(PlusConstScorer {
            inner: self.inner.scorer(reader, boost)?,
            add: self.add * boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let inner = self.inner.explain(reader, doc)?;
        let mut explanation = Explanation::new("PlusConst", inner.value() + self.add);
        explanation.add_detail(inner);
        explanation.add_const("constant", self.add);
        Ok(explanation)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.inner.count(reader)
    }
}

struct PlusConstScorer {
    inner: Box<dyn Scorer>,
    add: Score,
}

impl DocSet for PlusConstScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }
    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }
    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.inner.seek_danger(target)
    }
    fn doc(&self) -> DocId {
        self.inner.doc()
    }
    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for PlusConstScorer {
    fn score(&mut self) -> Score {
        self.inner.score() + self.add
    }
}
