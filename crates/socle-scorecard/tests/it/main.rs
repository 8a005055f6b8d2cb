mod bounds;
mod builtin;
mod campaigns;
mod levels;
mod load;
mod sarif;

use socle_scorecard::{Compiled, Facts, Scorecard};

pub fn fixture() -> Scorecard {
    let text = include_str!("../data/fixture.yaml");
    socle_scorecard::load(text, "fixture.yaml")
        .expect("fixture loads")
        .remove(0)
}

pub fn facts(name: &str, doc: serde_json::Value) -> Facts {
    Facts {
        entity_ref: format!("component:default/{name}"),
        doc: doc.as_object().cloned().expect("an object"),
        provenance: Default::default(),
    }
}

pub fn compile(card: Scorecard) -> Compiled {
    Compiled::new(card).expect("compiles")
}

/// The Unix time the fixture's facts are evaluated at.
pub const NOW: i64 = 1_780_000_000;
