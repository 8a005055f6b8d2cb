//! Scorecards and campaigns defined in the catalog: `kind: Scorecard` and `kind: Campaign`
//! documents of a location an admin registered (the organisation's trust; `socle-ingest`
//! refuses them from a member's location, each refusal at its file and line). They join the
//! platform's own — the built-in ones and the platform directory's — whenever the read model
//! reloads, so every replica picks up a location's refresh within a poll interval.
//!
//! A name the platform already uses is refused at the refresh ([`refuse_taken`]): a catalog
//! definition never replaces a built-in or platform scorecard silently. Two catalog locations
//! cannot define the same one either (the same entity reference: the store's conflict).

use std::collections::BTreeSet;
use std::sync::Arc;

use socle_catalog::EntityError;
use socle_ingest::LocationRead;
use socle_scorecard::{Compiled, DEFINITION_KINDS, Definition};

use super::{CAMPAIGN_PREFIX, Scorecards};
use crate::snapshot::Snapshot;

/// The catalog's definitions as the read model holds them: `(ref, body)` of every scorecard
/// and campaign from a location that may shape the organisation, in ref order. Compared
/// across reloads to know whether the active scorecards changed.
pub type Definitions = Vec<(Box<str>, Box<str>)>;

/// Which kind of definition a name belongs to (a scorecard and a campaign may share a name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DefinitionKind {
    Scorecard,
    Campaign,
}

impl DefinitionKind {
    /// Of an entity kind as in a reference (`scorecard`, `campaign`).
    pub fn of(kind: &str) -> Option<Self> {
        match kind {
            "scorecard" => Some(Self::Scorecard),
            "campaign" => Some(Self::Campaign),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Scorecard => "scorecard",
            Self::Campaign => "campaign",
        }
    }
}

impl Scorecards {
    /// The names the platform's own definitions take.
    pub fn names(&self) -> BTreeSet<(DefinitionKind, String)> {
        let cards = self
            .cards()
            .map(|c| (DefinitionKind::Scorecard, c.card.name.clone()));
        let campaigns = self
            .1
            .iter()
            .map(|c| (DefinitionKind::Campaign, c.card.name.clone()));
        cards.chain(campaigns).collect()
    }

    /// These scorecards with the catalog's definitions added; one whose name is taken, or
    /// that does not compile, is left out and said in the second part.
    pub fn with_catalog(&self, defs: Vec<(String, Definition)>) -> (Self, Vec<String>) {
        let mut names = self.names();
        let mut cards: Vec<Compiled> = self.0.to_vec();
        let mut campaigns = self.1.to_vec();
        let mut problems = Vec::new();
        for (source, def) in defs {
            let (kind, name) = match &def {
                Definition::Scorecard(c) => (DefinitionKind::Scorecard, c.name.clone()),
                Definition::Campaign(c) => (DefinitionKind::Campaign, c.card.name.clone()),
            };
            if !names.insert((kind, name.clone())) {
                problems.push(format!(
                    "{source}: the {} {name:?} is already defined; this one is left out",
                    kind.noun()
                ));
                continue;
            }
            let compiled = match def {
                Definition::Scorecard(card) => Compiled::new(card),
                Definition::Campaign(c) => {
                    let mut card = c.card.clone();
                    card.name = format!("{CAMPAIGN_PREFIX}{name}");
                    campaigns.push(c);
                    Compiled::new(card)
                }
            };
            match compiled {
                Ok(c) => cards.push(c),
                Err(e) => {
                    if kind == DefinitionKind::Campaign {
                        campaigns.pop();
                    }
                    problems.push(format!("{source}: {e}"));
                }
            }
        }
        (Self(Arc::new(cards), Arc::new(campaigns)), problems)
    }
}

/// The scorecards and campaigns of the read model that count: from a location that may shape
/// the organisation (the others were refused when read; this holds if a location's trust was
/// lowered since).
pub fn definitions(snap: &Snapshot) -> Definitions {
    let mut out = Vec::new();
    for kind in DEFINITION_KINDS {
        let prefix = format!("{kind}:");
        let start = snap
            .entities
            .partition_point(|e| *e.entity_ref < *prefix.as_str());
        out.extend(
            snap.entities[start..]
                .iter()
                .take_while(|e| e.entity_ref.starts_with(&prefix))
                .filter(|e| e.shapes_org)
                .map(|e| (e.entity_ref.clone(), e.body.clone())),
        );
    }
    out
}

/// The platform's scorecards with the catalog's definitions added (see
/// [`Scorecards::with_catalog`]); each problem is logged.
pub fn active(platform: &Scorecards, defs: &Definitions) -> Scorecards {
    let parsed: Vec<(String, Definition)> = defs
        .iter()
        .filter_map(|(r, body)| {
            let value: serde_json::Value = serde_json::from_str(body).ok()?;
            let source = crate::origin::annotation(&value, socle_catalog::MANAGED_BY_LOCATION)
                .unwrap_or(r)
                .to_owned();
            match socle_scorecard::definition_of_entity(&value, &source, 1) {
                Ok(d) => Some((source, d)),
                Err(problems) => {
                    for p in problems {
                        tracing::warn!("{r}: {p}");
                    }
                    None
                }
            }
        })
        .collect();
    let (cards, problems) = platform.with_catalog(parsed);
    for p in problems {
        tracing::warn!("{p}");
    }
    cards
}

/// Refuses the scorecards and campaigns of a read whose names the platform's own definitions
/// take, each with an error at its file and line (rule `scorecard.taken`). The error names no
/// entity: an earlier version, accepted before the platform took the name, goes too.
pub fn refuse_taken(read: &mut LocationRead, platform: &Scorecards) {
    let taken = platform.names();
    let mut errors = Vec::new();
    read.entities.retain(|e| {
        let Some(kind) = DefinitionKind::of(e.entity_ref.kind()) else {
            return true;
        };
        let name = e.entity_ref.name().to_owned();
        if !taken.contains(&(kind, name.clone())) {
            return true;
        }
        errors.push(EntityError {
            line: Some(e.line),
            path: "metadata.name".into(),
            value: Some(name.clone()),
            ..EntityError::file(
                &e.file,
                "scorecard.taken",
                format!(
                    "{}: the platform already defines the {} {name:?} (built in or in its \
                     configuration); a catalog location cannot replace it — choose another name",
                    e.entity_ref,
                    kind.noun()
                ),
            )
        });
        false
    });
    read.errors.extend(errors);
}
