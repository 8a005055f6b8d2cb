//! Tantivy schema, analyzer and the `SearchDoc` → tantivy document mapping.

use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, TantivyDocument, Term};

use crate::SearchDoc;

/// Name under which the full-text analyzer is registered on the index.
pub(crate) const TEXT_ANALYZER: &str = "socle_text";

/// Tokens longer than this (in bytes) are dropped by the analyzer.
const MAX_TOKEN_LEN: usize = 64;

/// Fast-field (column) names of the facet dimensions, in [`Dim`] order.
pub(crate) const DIM_FIELDS: [&str; DIM_COUNT] =
    ["kind", "owner", "spec_type", "tag", "lifecycle", "system"];

/// Column holding the lower-cased entity ref (unique key, tie-breaker).
pub(crate) const ENTITY_REF_FIELD: &str = "entity_ref";

/// Number of facet/filter dimensions.
pub(crate) const DIM_COUNT: usize = 6;

/// Facet/filter dimensions. The discriminant is the index into [`DIM_FIELDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dim {
    Kind = 0,
    Owner = 1,
    SpecType = 2,
    Tag = 3,
    Lifecycle = 4,
    System = 5,
}

/// Full-text fields with their query-time boost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TextField {
    pub field: Field,
    pub boost: f32,
}

/// Handles on every field of the schema.
#[derive(Clone, Debug)]
pub(crate) struct Fields {
    pub entity_ref: Field,
    /// Facet columns (lower-cased, raw), indexed by [`Dim`].
    pub dims: [Field; DIM_COUNT],
    pub name: Field,
    pub title: Field,
    pub description: Field,
    pub tags_text: Field,
    pub owner_text: Field,
    pub spec_type_text: Field,
    /// Full-text fields searched by the user's text.
    pub text: [TextField; 6],
}

/// The analyzer used for the full-text fields at index and query time:
/// splits on anything that is not alphanumeric (so `payments-api` yields
/// `payments` and `api`), lower-cases and folds accents to ASCII.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Builds the schema and returns it with its field handles.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();

    // Unique key: indexed untokenized (for delete-by-term), a column (for
    // deterministic tie-breaking) and stored (for hits).
    let entity_ref = builder.add_text_field(
        ENTITY_REF_FIELD,
        TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
            .set_fast("raw")
            .set_stored(),
    );

    // Facet dimensions: columns only (filters and facets are evaluated in the
    // collector). `kind` is also stored for hits.
    let kind = builder.add_text_field(DIM_FIELDS[Dim::Kind as usize], FAST | STORED);
    let owner = builder.add_text_field(DIM_FIELDS[Dim::Owner as usize], FAST);
    let spec_type = builder.add_text_field(DIM_FIELDS[Dim::SpecType as usize], FAST);
    let tag = builder.add_text_field(DIM_FIELDS[Dim::Tag as usize], FAST);
    let lifecycle = builder.add_text_field(DIM_FIELDS[Dim::Lifecycle as usize], FAST);
    let system = builder.add_text_field(DIM_FIELDS[Dim::System as usize], FAST);

    // Full-text fields. No positions: we never run phrase queries.
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TEXT_ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqs);
    let stored_text = TextOptions::default()
        .set_indexing_options(text_indexing.clone())
        .set_stored();
    let unstored_text = TextOptions::default().set_indexing_options(text_indexing);

    let name = builder.add_text_field("name", stored_text.clone());
    let title = builder.add_text_field("title", stored_text.clone());
    let description = builder.add_text_field("description", stored_text.clone());
    let tags_text = builder.add_text_field("tags", unstored_text);
    let owner_text = builder.add_text_field("owner_text", stored_text.clone());
    let spec_type_text = builder.add_text_field("spec_type_text", stored_text);

    let fields = Fields {
        entity_ref,
        dims: [kind, owner, spec_type, tag, lifecycle, system],
        name,
        title,
        description,
        tags_text,
        owner_text,
        spec_type_text,
        text: [
            TextField {
                field: name,
                boost: 3.0,
            },
            TextField {
                field: title,
                boost: 2.5,
            },
            TextField {
                field: tags_text,
                boost: 1.5,
            },
            TextField {
                field: spec_type_text,
                boost: 1.0,
            },
            TextField {
                field: owner_text,
                boost: 1.0,
            },
            TextField {
                field: description,
                boost: 1.0,
            },
        ],
    };
    (builder.build(), fields)
}

/// Creates an empty in-RAM index with the schema and analyzer registered.
pub(crate) fn create_index() -> (Index, Fields) {
    let (schema, fields) = build_schema();
    let index = Index::create_in_ram(schema);
    index.tokenizers().register(TEXT_ANALYZER, text_analyzer());
    (index, fields)
}

/// Normalises a keyword value (facet value, filter value, key): trimmed and
/// lower-cased. Both sides of a filter comparison go through this.
pub(crate) fn normalize_keyword(value: &str) -> String {
    value.trim().to_lowercase()
}

/// Normalised key used for the unique entity ref.
pub(crate) fn normalize_ref(value: &str) -> String {
    normalize_keyword(value)
}

fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Term used to delete a document by its entity ref.
pub(crate) fn ref_term(fields: &Fields, entity_ref: &str) -> Term {
    Term::from_field_text(fields.entity_ref, &normalize_ref(entity_ref))
}

/// Maps a [`SearchDoc`] onto a tantivy document. `key` is the normalised
/// entity ref (see [`normalize_ref`]).
pub(crate) fn to_document(fields: &Fields, doc: &SearchDoc, key: &str) -> TantivyDocument {
    let mut out = TantivyDocument::default();
    out.add_text(fields.entity_ref, key);

    let kind = normalize_keyword(&doc.kind);
    if !kind.is_empty() {
        out.add_text(fields.dims[Dim::Kind as usize], &kind);
    }
    for (dim, value) in [
        (Dim::Owner, &doc.owner),
        (Dim::SpecType, &doc.spec_type),
        (Dim::Lifecycle, &doc.lifecycle),
        (Dim::System, &doc.system),
    ] {
        if let Some(value) = non_blank(value) {
            out.add_text(fields.dims[dim as usize], normalize_keyword(value));
        }
    }
    // Tags: normalised and de-duplicated so a document counts once per tag.
    let mut tags: Vec<String> = doc
        .tags
        .iter()
        .map(|t| normalize_keyword(t))
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort_unstable();
    tags.dedup();
    for tag in &tags {
        out.add_text(fields.dims[Dim::Tag as usize], tag);
        out.add_text(fields.tags_text, tag);
    }

    if !doc.name.is_empty() {
        out.add_text(fields.name, &doc.name);
    }
    if let Some(title) = non_blank(&doc.title) {
        out.add_text(fields.title, title);
    }
    if let Some(description) = non_blank(&doc.description) {
        out.add_text(fields.description, description);
    }
    if let Some(owner) = non_blank(&doc.owner) {
        out.add_text(fields.owner_text, owner);
    }
    if let Some(spec_type) = non_blank(&doc.spec_type) {
        out.add_text(fields.spec_type_text, spec_type);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::Value;

    fn tokens(text: &str) -> Vec<String> {
        let mut analyzer = text_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn analyzer_splits_punctuation_lowercases_and_folds() {
        assert_eq!(tokens("Payments-API"), vec!["payments", "api"]);
        assert_eq!(
            tokens("group:default/team-a"),
            vec!["group", "default", "team", "a"]
        );
        assert_eq!(tokens("Café_Übersicht"), vec!["cafe", "ubersicht"]);
        assert!(tokens("\"::\"").is_empty());
    }

    #[test]
    fn document_mapping_normalises_keywords_and_dedups_tags() {
        let (_schema, fields) = build_schema();
        let doc = SearchDoc {
            entity_ref: "Component:Default/Payments".into(),
            kind: "Component".into(),
            namespace: "default".into(),
            name: "payments".into(),
            title: Some("  ".into()),
            description: None,
            tags: vec!["Java".into(), "java".into(), " ".into(), "Rust".into()],
            owner: Some("Group:default/Team-A".into()),
            spec_type: Some("Service".into()),
            lifecycle: None,
            system: None,
        };
        let key = normalize_ref(&doc.entity_ref);
        assert_eq!(key, "component:default/payments");
        let out = to_document(&fields, &doc, &key);
        let strs = |field: Field| -> Vec<String> {
            out.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(strs(fields.entity_ref), vec!["component:default/payments"]);
        assert_eq!(strs(fields.dims[Dim::Kind as usize]), vec!["component"]);
        assert_eq!(strs(fields.dims[Dim::Tag as usize]), vec!["java", "rust"]);
        assert_eq!(
            strs(fields.dims[Dim::Owner as usize]),
            vec!["group:default/team-a"]
        );
        assert_eq!(strs(fields.dims[Dim::SpecType as usize]), vec!["service"]);
        assert!(strs(fields.dims[Dim::Lifecycle as usize]).is_empty());
        // Blank title is not indexed; the stored owner keeps its original case.
        assert!(strs(fields.title).is_empty());
        assert_eq!(strs(fields.owner_text), vec!["Group:default/Team-A"]);
    }
}
