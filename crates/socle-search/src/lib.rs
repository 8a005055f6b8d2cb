//! Full-text search over catalog entities, with filters and facets.
//!
//! The crate is independent of the catalog model: callers map entities to
//! [`SearchDoc`]s and feed them to a [`SearchIndex`] (an in-RAM
//! [tantivy](https://docs.rs/tantivy) index), either in bulk with
//! [`SearchIndex::build`] or incrementally with [`SearchIndex::apply`].
//!
//! # Text matching
//!
//! [`SearchQuery::text`] is split into words by the same analyzer as the
//! indexed text: anything not alphanumeric separates words (so
//! `payments-api` is found by `payments`), words are lower-cased and accents
//! are folded to ASCII. The text is never parsed as a query language, so
//! quotes, colons, brackets etc. cannot make a query fail.
//!
//! * Every word must match (AND), in any of `name`, `title`, `description`,
//!   `tags`, `owner` (the full ref, e.g. `group:default/team-a`) or
//!   `spec_type`. Field boosts: name 3, title 2.5, tags 1.5, others 1; a
//!   word's score is that of its best field plus a small bonus per other
//!   matching field.
//! * The last word also matches as a prefix (`paym` finds `payments`), so
//!   results appear while typing; exact word matches rank above prefix-only
//!   matches. This applies while the word is being typed, i.e. when the text
//!   ends with it (or with it followed by `*`); trailing whitespace or
//!   punctuation marks the word as complete (`paym ` matches only `paym`).
//! * Only the first 16 words are used. Text without any word (empty,
//!   whitespace, only punctuation) matches every document.
//!
//! # Filters
//!
//! `kind`, `owner`, `spec_type`, `tag` and `lifecycle` filters are exact,
//! case-insensitive matches (both sides are trimmed and lower-cased). They
//! combine as AND across fields and OR within a field's list. Blank values
//! are ignored; an empty list means no filter.
//!
//! # Ordering and paging
//!
//! Hits are sorted by score descending, ties broken by `entity_ref`
//! ascending; with no text words all scores are 0 so the order is by
//! `entity_ref`. `limit` defaults to [`DEFAULT_LIMIT`] when 0 and is capped at
//! [`MAX_LIMIT`]; `offset` skips that many hits. `total` is the number of
//! documents matching the text and all filters.
//!
//! # Facets
//!
//! Facets are "multi-select" facets: the counts of a field are computed over
//! the documents matching the text and all the *other* filters, so a field's
//! own filter does not narrow its own counts (selecting `kind=component`
//! still shows how many `api`s there are). They are computed exactly, in the
//! same single pass as the hits. Values are the lower-cased stored values,
//! sorted by count descending then value ascending, at most
//! [`MAX_FACET_VALUES`] per field. Documents without a value for a field are
//! not counted in that field's facet.

mod collector;
mod fields_max;
mod filter_cache;
mod global_ords;
mod index;
mod plus_const;
mod query;
mod schema;

pub use index::{MAX_FACET_VALUES, SearchIndex};
pub use query::{DEFAULT_LIMIT, MAX_FILTER_VALUES, MAX_LIMIT, MAX_TEXT_LEN};

/// A catalog entity as seen by the search index.
///
/// Keyword fields (`entity_ref`, `kind`, `owner`, `spec_type`, `lifecycle`,
/// `tags`) are trimmed and lower-cased for filtering and faceting;
/// `entity_ref` is the unique key. Blank optional values are treated as
/// absent.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SearchDoc {
    /// Unique key, e.g. `component:default/payments` (lower-case).
    pub entity_ref: String,
    /// Entity kind, e.g. `component` (lower-case).
    pub kind: String,
    /// Entity namespace, e.g. `default`. Not searched; part of `entity_ref`.
    pub namespace: String,
    /// `metadata.name`; full-text searched with the highest boost.
    pub name: String,
    /// `metadata.title`; full-text searched.
    pub title: Option<String>,
    /// `metadata.description`; full-text searched.
    pub description: Option<String>,
    /// `metadata.tags`; full-text searched, filterable and faceted.
    pub tags: Vec<String>,
    /// Owner as a full ref, e.g. `group:default/team-a`; full-text searched,
    /// filterable and faceted.
    pub owner: Option<String>,
    /// `spec.type`, e.g. `service`; full-text searched, filterable and
    /// faceted.
    pub spec_type: Option<String>,
    /// `spec.lifecycle`, e.g. `production`; filterable and faceted.
    pub lifecycle: Option<String>,
    /// The system as a full ref (`system:default/shop`); filterable and faceted.
    pub system: Option<String>,
}

/// A search request. Missing fields deserialize to their defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// User text; may be empty (= match all documents, filtered).
    pub text: String,
    /// Accepted kinds (OR); empty = any.
    pub kind: Vec<String>,
    /// Accepted owner refs (OR); empty = any.
    pub owner: Vec<String>,
    /// Accepted `spec.type`s (OR); empty = any.
    pub spec_type: Vec<String>,
    /// Accepted tags (OR: a document having any of them); empty = any.
    pub tag: Vec<String>,
    /// Accepted lifecycles (OR); empty = any.
    pub lifecycle: Vec<String>,
    /// Accepted system refs (OR); empty = any.
    pub system: Vec<String>,
    /// Order by `entity_ref` even when there is text (default: by relevance).
    pub by_ref: bool,
    /// Page size; 0 means [`DEFAULT_LIMIT`], capped at [`MAX_LIMIT`].
    pub limit: usize,
    /// Number of hits to skip.
    pub offset: usize,
}

/// The result of [`SearchIndex::search`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct SearchResults {
    /// Number of documents matching the text and all filters.
    pub total: usize,
    /// The requested page of hits, best first.
    pub hits: Vec<SearchHit>,
    /// Facet counts (see the crate documentation).
    pub facets: Facets,
}

/// One matching entity.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SearchHit {
    /// The (lower-cased) unique key.
    pub entity_ref: String,
    /// The (lower-cased) kind.
    pub kind: String,
    /// The entity name as indexed.
    pub name: String,
    /// The title as indexed.
    pub title: Option<String>,
    /// The description as indexed.
    pub description: Option<String>,
    /// The owner ref as indexed (original case).
    pub owner: Option<String>,
    /// The `spec.type` as indexed (original case).
    pub spec_type: Option<String>,
    /// Relevance score; 0 when the query has no text words.
    pub score: f32,
}

/// Facet counts per field.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Facets {
    /// Counts per kind.
    pub kind: Vec<FacetCount>,
    /// Counts per owner ref.
    pub owner: Vec<FacetCount>,
    /// Counts per `spec.type`.
    pub spec_type: Vec<FacetCount>,
    /// Counts per tag (a document counts once for each of its tags).
    pub tag: Vec<FacetCount>,
    /// Counts per lifecycle.
    pub lifecycle: Vec<FacetCount>,
    /// Counts per system ref.
    pub system: Vec<FacetCount>,
}

/// The number of documents having one facet value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FacetCount {
    /// The (lower-cased) value.
    pub value: String,
    /// Number of documents with that value.
    pub count: u64,
}

/// Errors returned by the search index.
///
/// [`InvalidQuery`](Self::InvalidQuery) and
/// [`InvalidDocument`](Self::InvalidDocument) are caused by the caller's
/// input (map them to a 4xx); the others are internal failures.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query is not acceptable (too long text, too many filter values).
    #[error("invalid search query: {0}")]
    InvalidQuery(String),
    /// A document to index is not acceptable (empty `entity_ref`).
    #[error("invalid search document: {0}")]
    InvalidDocument(String),
    /// The underlying tantivy index failed.
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl SearchError {
    /// Whether the error is caused by the caller's input rather than an
    /// internal failure.
    pub fn is_user_error(&self) -> bool {
        matches!(self, Self::InvalidQuery(_) | Self::InvalidDocument(_))
    }
}
