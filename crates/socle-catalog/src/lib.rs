//! The Socle catalog model: Backstage-compatible entities, parsed from YAML with positions,
//! validated with Backstage's rules, with references resolved into relations.
//!
//! Everything here is pure: it works on loaded text and never touches the file system, the
//! network, the store or the clock. Reading files is the ingest crate's job.

pub mod entity;
pub mod entity_ref;
pub mod error;
pub mod graph;
pub mod kinds;
pub mod limits;
pub mod placeholder;
pub mod relation;
pub mod rules;
pub mod yaml;

pub use entity::{
    DocContext, Entity, MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION, process_document,
};
pub use entity_ref::{EntityRef, RefError};
pub use error::EntityError;
pub use graph::CatalogView;
pub use limits::Limits;
pub use placeholder::{NoReader, PlaceholderReader};
pub use relation::{Relation, RelationType};

/// Parses and processes every document of a file's text. Errors are per document: one bad
/// entity does not hide the good ones beside it. A syntax error rejects the whole file.
pub fn process_text(text: &str, ctx: &DocContext<'_>) -> (Vec<Entity>, Vec<EntityError>) {
    let docs = match yaml::parse_documents(text, ctx.limits) {
        Ok(d) => d,
        Err(e) => {
            let mut err = if e.limit {
                EntityError::file(&ctx.file, "yaml.limits", e.message)
            } else {
                EntityError::file(
                    &ctx.file,
                    "yaml.syntax",
                    format!("invalid YAML: {}", e.message),
                )
            };
            err.line = e.line;
            err.column = e.column;
            return (Vec::new(), vec![err]);
        }
    };
    let mut entities = Vec::with_capacity(docs.len());
    let mut errors = Vec::new();
    for doc in &docs {
        match process_document(doc, ctx) {
            Ok(e) => entities.push(e),
            Err(errs) => errors.extend(errs),
        }
    }
    (entities, errors)
}
