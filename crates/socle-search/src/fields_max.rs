//! One word in several fields: a document matches when any field does, and scores its best
//! field plus a share of the others (`max + tie_breaker × (sum − max)`), the scores of
//! tantivy's `DisjunctionMaxQuery`.
//!
//! tantivy evaluates its disjunction with a union that scores every posting of every field in
//! windows of 4,096 documents, and seeks by refilling that window. A word that most documents
//! hold (`service`) is then scored a million times when it is only the second word of a query
//! (`catalog service`) whose first word picks 50,000 documents. This one keeps each field's
//! scorer positioned on its own postings: the next document is the smallest of the fields'
//! current ones, a seek moves each field by its skip list, and only the documents that are
//! asked for are scored.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct FieldsMax {
    pub fields: Vec<Box<dyn Query>>,
    pub tie_breaker: Score,
}

impl Clone for FieldsMax {
    fn clone(&self) -> Self {
        Self {
            fields: self.fields.iter().map(|q| q.box_clone()).collect(),
            tie_breaker: self.tie_breaker,
        }
    }
}

impl Query for FieldsMax {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(FieldsMaxWeight {
            fields: self
                .fields
                .iter()
                .map(|q| q.weight(enable_scoring))
                .collect::<tantivy::Result<_>>()?,
            tie_breaker: self.tie_breaker,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for field in &self.fields {
            field.query_terms(visitor);
        }
    }
}

struct FieldsMaxWeight {
    fields: Vec<Box<dyn Weight>>,
    tie_breaker: Score,
}

impl Weight for FieldsMaxWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for weight in &self.fields {
            let scorer = weight.scorer(reader, boost)?;
            if scorer.doc() != TERMINATED {
                fields.push(scorer);
            }
        }
        let mut scorer = FieldsMaxScorer {
            docs: fields.iter().map(|f| f.doc()).collect(),
            fields,
            doc: TERMINATED,
            tie_breaker: self.tie_breaker,
        };
        scorer.settle();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            )));
        }
        let mut explanation = Explanation::new("FieldsMax", scorer.score());
        for weight in &self.fields {
            if let Ok(field) = weight.explain(reader, doc) {
                explanation.add_detail(field);
            }
        }
        Ok(explanation)
    }
}

struct FieldsMaxScorer {
    /// Each field's scorer, positioned on its current document (never before `doc`).
    fields: Vec<Box<dyn Scorer>>,
    /// Each field's current document (saves a virtual call per field and step).
    docs: Vec<DocId>,
    /// The smallest of the fields' current documents.
    doc: DocId,
    tie_breaker: Score,
}

impl FieldsMaxScorer {
    fn settle(&mut self) -> DocId {
        self.doc = self.docs.iter().copied().min().unwrap_or(TERMINATED);
        self.doc
    }
}

impl DocSet for FieldsMaxScorer {
    fn advance(&mut self) -> DocId {
        if self.doc == TERMINATED {
            return TERMINATED;
        }
        for (field, doc) in self.fields.iter_mut().zip(&mut self.docs) {
            if *doc == self.doc {
                *doc = field.advance();
            }
        }
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if target <= self.doc {
            return self.doc;
        }
        for (field, doc) in self.fields.iter_mut().zip(&mut self.docs) {
            if *doc < target {
                *doc = field.seek(target);
            }
        }
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.fields
            .iter()
            .map(|f| f.size_hint())
            .fold(0u32, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.fields
            .iter()
            .map(|f| f.cost())
            .fold(0u64, u64::saturating_add)
    }
}

impl Scorer for FieldsMaxScorer {
    fn score(&mut self) -> Score {
        let (mut max, mut sum) = (0.0 as Score, 0.0 as Score);
        for (field, doc) in self.fields.iter_mut().zip(&self.docs) {
            if *doc == self.doc {
                let score = field.score();
                max = max.max(score);
                sum += score;
            }
        }
        max + (sum - max) * self.tie_breaker
    }
}
