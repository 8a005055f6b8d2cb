//! The Socle catalog model: Backstage-compatible entities, parsed from YAML with positions,
//! validated with Backstage's rules, with references resolved into relations.
//!
//! Everything here is pure: it works on loaded text and never touches the file system, the
//! network, the store or the clock. Reading files is the ingest crate's job.

pub mod emitted;
pub mod entity;
pub mod entity_ref;
pub mod error;
pub mod graph;
pub mod kinds;
pub mod limits;
pub mod placeholder;
pub mod relation;
pub mod rules;
mod spec;
pub mod yaml;

pub use emitted::{Emitted, EmittedBuilder};
pub use entity::{
    DocContext, Entity, LocationTargets, MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION, Presence,
    process_document, process_file_document,
};
pub use entity_ref::{EntityRef, RefError};
pub use error::EntityError;
pub use graph::CatalogView;
pub use limits::Limits;
pub use placeholder::{NoReader, PlaceholderReadError, PlaceholderReader, Spent};
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
    let mut spent = placeholder::Spent::default();
    for doc in &docs {
        match process_file_document(doc, ctx, &mut spent) {
            Ok(e) => entities.push(e),
            Err(errs) => errors.extend(errs),
        }
    }
    (entities, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx_process(text: &str) -> (Vec<Entity>, Vec<EntityError>) {
        let limits = Limits::default();
        let ctx = DocContext {
            file: "f.yaml".into(),
            location: "file:f.yaml".into(),
            origin: "file:f.yaml",
            reader: &NoReader,
            limits: &limits,
        };
        process_text(text, &ctx)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary text never panics: it yields entities or located errors.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let (entities, errors) = ctx_process(&text);
            for e in &errors {
                prop_assert_eq!(e.file.as_str(), "f.yaml");
                prop_assert!(!e.rule.is_empty() && !e.message.is_empty());
            }
            prop_assert!(entities.len() <= 1 + text.matches("---").count());
        }

        /// Mutated valid entities never panic, and a surviving entity keeps its identity.
        #[test]
        fn mutated_entities_never_panic(cut in 0usize..220, junk in "[ :\\-\\[\\]{}\"'#&*!|>a-z0-9\\n]{0,12}") {
            let base = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  tags: [a, b]\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn: [resource:db]\n";
            let cut = cut.min(base.len());
            let text = format!("{}{}{}", &base[..cut], junk, &base[cut..]);
            let (entities, _) = ctx_process(&text);
            for e in entities {
                prop_assert_eq!(e.entity_ref.kind(), "component");
            }
        }
    }
}
