//! Turning a [`SearchQuery`] into a tantivy query plus normalised filters.
//!
//! The user's text is never parsed with a query grammar: it is run through
//! the same analyzer as the indexed text, so quotes, colons, brackets and
//! other operators are just separators and can never make a query fail.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhrasePrefixQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::fields_max::FieldsMax;
use crate::plus_const::PlusConst;
use crate::schema::{DIM_COUNT, Dim, Fields, normalize_keyword};
use crate::{SearchError, SearchQuery};

/// Default page size when `limit` is 0.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest accepted page size; larger limits are clamped.
pub const MAX_LIMIT: usize = 100;
/// Longest accepted query text, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Most values accepted in a single filter list.
pub const MAX_FILTER_VALUES: usize = 256;
/// Only the first this-many words of the text are used.
const MAX_TERMS: usize = 16;
/// Score of a prefix-only match relative to the field boost. Exact term
/// matches additionally get a BM25 score and therefore rank above.
const PREFIX_SCORE: f32 = 0.5;
/// `DisjunctionMaxQuery` tie breaker: a word matching several fields scores a
/// little above one matching only its best field.
const TIE_BREAKER: f32 = 0.1;

/// A validated, normalised query ready to execute.
pub(crate) struct Plan {
    /// The text query, or `None` when the text has no searchable word
    /// (match all, ordered by entity ref).
    pub text_query: Option<Box<dyn Query>>,
    /// Normalised filter values per dimension; empty = no filter.
    pub filters: [Vec<String>; DIM_COUNT],
    pub limit: usize,
    pub offset: usize,
}

impl Plan {
    /// The query to run over the index.
    pub fn query(&self) -> Box<dyn Query> {
        match &self.text_query {
            Some(q) => q.box_clone(),
            None => Box::new(AllQuery),
        }
    }
}

/// Effective page size for a requested `limit`.
pub(crate) fn effective_limit(limit: usize) -> usize {
    match limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    }
}

/// Words of the user's text, normalised by the index analyzer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Words {
    pub words: Vec<String>,
    /// Whether the last word is matched as a prefix: true when the text ends
    /// in the middle of that word (the user is still typing it) or the word
    /// is followed only by `*`. Trailing whitespace or punctuation means the
    /// word is complete.
    pub last_is_prefix: bool,
}

/// Splits `text` into normalised words with the index analyzer.
pub(crate) fn analyze(analyzer: &TextAnalyzer, text: &str) -> Words {
    let mut analyzer = analyzer.clone();
    let mut stream = analyzer.token_stream(text);
    let mut words: Vec<String> = Vec::new();
    let mut last_end = 0;
    while let Some(token) = stream.next() {
        if words.len() == MAX_TERMS {
            break;
        }
        words.push(token.text.clone());
        last_end = token.offset_to;
    }
    let last_is_prefix = !words.is_empty()
        && text
            .get(last_end..)
            .is_some_and(|rest| rest.chars().all(|c| c == '*'));
    Words {
        words,
        last_is_prefix,
    }
}

/// Whether a text field holds a word that starts with `word` and is longer (the index at the
/// moment of the search answers it, see `index.rs`).
pub(crate) trait Vocabulary {
    fn has_longer(&self, field: Field, word: &str) -> bool;
}

/// A vocabulary that always has longer words: the prefix half of the word being typed is
/// always kept (tests of the plan's shape).
#[cfg(test)]
pub(crate) struct AnyWord;

#[cfg(test)]
impl Vocabulary for AnyWord {
    fn has_longer(&self, _: Field, _: &str) -> bool {
        true
    }
}

/// Validates and normalises `q`.
pub(crate) fn plan(
    fields: &Fields,
    analyzer: &TextAnalyzer,
    vocabulary: &dyn Vocabulary,
    q: &SearchQuery,
) -> Result<Plan, SearchError> {
    if q.text.len() > MAX_TEXT_LEN {
        return Err(SearchError::InvalidQuery(format!(
            "query text is {} bytes long, the maximum is {MAX_TEXT_LEN}",
            q.text.len()
        )));
    }
    let mut filters: [Vec<String>; DIM_COUNT] = Default::default();
    for (dim, values) in [
        (Dim::Kind, &q.kind),
        (Dim::Owner, &q.owner),
        (Dim::SpecType, &q.spec_type),
        (Dim::Tag, &q.tag),
        (Dim::Lifecycle, &q.lifecycle),
        (Dim::System, &q.system),
    ] {
        if values.len() > MAX_FILTER_VALUES {
            return Err(SearchError::InvalidQuery(format!(
                "too many values for filter `{}` ({}), the maximum is {MAX_FILTER_VALUES}",
                crate::schema::DIM_FIELDS[dim as usize],
                values.len()
            )));
        }
        // Blank values (e.g. `?kind=`) are ignored rather than matching nothing.
        let mut normalized: Vec<String> = values
            .iter()
            .map(|v| normalize_keyword(v))
            .filter(|v| !v.is_empty())
            .collect();
        normalized.sort_unstable();
        normalized.dedup();
        filters[dim as usize] = normalized;
    }
    let words = analyze(analyzer, &q.text);
    Ok(Plan {
        text_query: text_query(fields, vocabulary, &words.words, words.last_is_prefix),
        filters,
        limit: effective_limit(q.limit),
        offset: q.offset,
    })
}

/// Builds the full-text query: every word must match (AND) in at least one
/// text field (best field wins, see [`TIE_BREAKER`]); if `last_is_prefix`,
/// the last word also matches as a prefix so that results appear while
/// typing.
pub(crate) fn text_query(
    fields: &Fields,
    vocabulary: &dyn Vocabulary,
    words: &[String],
    last_is_prefix: bool,
) -> Option<Box<dyn Query>> {
    let (last, rest) = words.split_last()?;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = rest
        .iter()
        .map(|word| (Occur::Must, word_query(fields, vocabulary, word, false)))
        .collect();
    clauses.push((
        Occur::Must,
        word_query(fields, vocabulary, last, last_is_prefix),
    ));
    if clauses.len() == 1 {
        clauses.pop().map(|(_, q)| q)
    } else {
        Some(Box::new(BooleanQuery::new(clauses)))
    }
}

/// One word in every text field. The word being typed (`prefix`) matches as itself (its BM25
/// score) or as a prefix (a constant, half the field's boost), the two added: an exact match
/// always ranks above a prefix-only one. Where the field holds no longer word with that
/// prefix, the prefix half would match the same documents as the exact half, so the pair is
/// the exact term plus that constant ([`PlusConst`]): the same scores, without a prefix scan.
fn word_query(
    fields: &Fields,
    vocabulary: &dyn Vocabulary,
    word: &str,
    prefix: bool,
) -> Box<dyn Query> {
    let per_field: Vec<Box<dyn Query>> = fields
        .text
        .iter()
        .map(|tf| {
            let term = Term::from_field_text(tf.field, word);
            let exact: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                tf.boost,
            ));
            if !prefix {
                return exact;
            }
            if !vocabulary.has_longer(tf.field, word) {
                return Box::new(PlusConst {
                    inner: exact,
                    add: tf.boost * PREFIX_SCORE,
                }) as Box<dyn Query>;
            }
            let mut prefix_query = PhrasePrefixQuery::new_with_offset(vec![(0, term)]);
            prefix_query.set_max_expansions(u32::MAX);
            let prefix_query: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(prefix_query),
                tf.boost * PREFIX_SCORE,
            ));
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, exact),
                (Occur::Should, prefix_query),
            ])) as Box<dyn Query>
        })
        .collect();
    Box::new(FieldsMax {
        fields: per_field,
        tie_breaker: TIE_BREAKER,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{build_schema, text_analyzer};

    #[test]
    fn limit_defaults_and_clamps() {
        assert_eq!(effective_limit(0), 20);
        assert_eq!(effective_limit(7), 7);
        assert_eq!(effective_limit(100), 100);
        assert_eq!(effective_limit(101), 100);
        assert_eq!(effective_limit(usize::MAX), 100);
    }

    fn words(text: &str) -> (Vec<String>, bool) {
        let w = analyze(&text_analyzer(), text);
        (w.words, w.last_is_prefix)
    }

    #[test]
    fn analyze_is_lenient_and_bounded() {
        assert_eq!(
            words("\"payments-api\" AND kind:Component ("),
            (
                vec![
                    "payments".to_owned(),
                    "api".into(),
                    "and".into(),
                    "kind".into(),
                    "component".into()
                ],
                false
            )
        );
        assert_eq!(words("\"\"::()[]{}*?~^"), (vec![], false));
        assert_eq!(words(""), (vec![], false));
        let long = "w ".repeat(100);
        assert_eq!(words(&long).0.len(), MAX_TERMS);
    }

    #[test]
    fn last_word_is_a_prefix_only_while_typing_it() {
        assert_eq!(words("paym"), (vec!["paym".to_owned()], true));
        assert_eq!(
            words("payments ap"),
            (vec!["payments".to_owned(), "ap".into()], true)
        );
        assert_eq!(words("\"paym"), (vec!["paym".to_owned()], true));
        assert_eq!(words("paym*"), (vec!["paym".to_owned()], true));
        assert_eq!(words("paym**"), (vec!["paym".to_owned()], true));
        assert_eq!(words("paym "), (vec!["paym".to_owned()], false));
        assert_eq!(words("paym\""), (vec!["paym".to_owned()], false));
        assert_eq!(words("paym* "), (vec!["paym".to_owned()], false));
        assert_eq!(words("Café"), (vec!["cafe".to_owned()], true));
    }

    #[test]
    fn plan_normalises_filters_and_rejects_abuse() {
        let (_schema, fields) = build_schema();
        let analyzer = text_analyzer();
        let q = SearchQuery {
            text: "  ".into(),
            kind: vec![
                " Component".into(),
                "component".into(),
                "API".into(),
                " ".into(),
            ],
            owner: vec![String::new()],
            ..Default::default()
        };
        let plan = plan(&fields, &analyzer, &AnyWord, &q).unwrap();
        assert!(plan.text_query.is_none());
        assert_eq!(plan.filters[Dim::Kind as usize], vec!["api", "component"]);
        assert!(plan.filters[Dim::Owner as usize].is_empty());
        assert_eq!(plan.limit, DEFAULT_LIMIT);

        let too_long = SearchQuery {
            text: "x".repeat(MAX_TEXT_LEN + 1),
            ..Default::default()
        };
        let err = super::plan(&fields, &analyzer, &AnyWord, &too_long)
            .err()
            .unwrap();
        assert!(err.is_user_error(), "{err}");

        let too_many = SearchQuery {
            tag: vec!["t".into(); MAX_FILTER_VALUES + 1],
            ..Default::default()
        };
        let err = super::plan(&fields, &analyzer, &AnyWord, &too_many)
            .err()
            .unwrap();
        assert!(matches!(err, SearchError::InvalidQuery(_)));
    }
}
