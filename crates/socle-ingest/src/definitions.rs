//! Scorecards and campaigns read from catalog locations (`kind: Scorecard`, `kind: Campaign`,
//! `socle.dev/v1alpha1`): the catalog checks their envelope like any entity's, this module the
//! whole document with `socle-scorecard` (levels, rules, checks), each problem at its line and
//! field path. Who may define them is [`crate::enforce_trust`]'s business.

use socle_catalog::yaml::parse_documents;
use socle_catalog::{Entity, EntityError, Limits};

/// Whether an entity is a scorecard or a campaign.
pub fn is_definition(e: &Entity) -> bool {
    socle_scorecard::DEFINITION_KINDS.contains(&e.entity_ref.kind())
}

/// Checks the scorecards and campaigns among one file's entities against `socle-scorecard`'s
/// reader: an invalid one is removed and its problems are reported, naming it (so a previous
/// good version is kept).
pub fn check(
    text: &str,
    file: &str,
    entities: Vec<Entity>,
    errors: &mut Vec<EntityError>,
    limits: &Limits,
) -> Vec<Entity> {
    if !entities.iter().any(is_definition) {
        return entities;
    }
    // The catalog read this text already: it parses.
    let docs = parse_documents(text, limits).unwrap_or_default();
    entities
        .into_iter()
        .filter(|e| {
            if !is_definition(e) {
                return true;
            }
            let Some(node) = docs.iter().find(|d| d.locate(&[]).0.max(1) == e.line) else {
                return true;
            };
            match socle_scorecard::load_definition(node, file) {
                Ok(_) => true,
                Err(problems) => {
                    errors.extend(problems.into_iter().map(|p| EntityError {
                        line: p.line,
                        entity: Some(e.entity_ref.to_string()),
                        path: p.path,
                        ..EntityError::file(file, "scorecard.invalid", p.message)
                    }));
                    false
                }
            }
        })
        .collect()
}
