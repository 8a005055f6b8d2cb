//! The scorecard model: a filter choosing entities, ordered levels, rules each at one level.

use serde::Serialize;

/// The levels a scorecard has when it names none.
pub const DEFAULT_LEVELS: [&str; 3] = ["Bronze", "Silver", "Gold"];

/// Most levels, rules per scorecard and bytes of one rule's Rego: a scorecard is configuration,
/// and every rule is evaluated for every entity it selects.
pub const MAX_LEVELS: usize = 16;
pub const MAX_RULES: usize = 200;
pub const MAX_REGO_BYTES: usize = 16 * 1024;
/// Longest title, fix-it text and description.
pub const MAX_TEXT: usize = 4096;

/// A scorecard: which entities it scores, its levels (lowest first) and its rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scorecard {
    /// `metadata.name`: a lower-case slug, unique among the platform's scorecards.
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub filter: Filter,
    /// Lowest first. An entity holds the highest level whose rules, and those of every lower
    /// level, it passes.
    pub levels: Vec<String>,
    pub rules: Vec<Rule>,
    /// Where it was read from (`file`), for messages.
    pub source: String,
}

impl Scorecard {
    /// The index of a level by name.
    pub fn level_index(&self, level: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == level)
    }

    /// The rules of one level, in file order.
    pub fn rules_at(&self, level: usize) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.level == level)
    }
}

/// Which entities a scorecard scores: AND across fields, OR within one; an empty field
/// matches every entity. Kinds, types and lifecycles compare case-insensitively; owners and
/// systems are entity references (`team-a` is `group:default/team-a`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    pub kind: Vec<String>,
    #[serde(rename = "type")]
    pub spec_type: Vec<String>,
    pub lifecycle: Vec<String>,
    /// The entity has at least one of these tags.
    pub tags: Vec<String>,
    pub owner: Vec<String>,
    pub system: Vec<String>,
}

/// What an entity is, as far as filters look: read from its facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub kind: String,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub tags: Vec<String>,
    /// Full references (`group:default/team-a`).
    pub owner: Option<String>,
    pub system: Option<String>,
}

impl Filter {
    /// Whether the filter selects this subject.
    pub fn matches(&self, s: &Subject) -> bool {
        let one = |wanted: &[String], have: Option<&str>| {
            wanted.is_empty()
                || have.is_some_and(|h| wanted.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        one(&self.kind, Some(&s.kind))
            && one(&self.spec_type, s.spec_type.as_deref())
            && one(&self.lifecycle, s.lifecycle.as_deref())
            && (self.tags.is_empty() || s.tags.iter().any(|t| self.tags.contains(t)))
            && one(&self.owner, s.owner.as_deref())
            && one(&self.system, s.system.as_deref())
    }
}

/// One rule: at one level, with what to do when it fails and how it is checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    /// A slug unique in its scorecard.
    pub id: String,
    /// Index into [`Scorecard::levels`].
    pub level: usize,
    pub title: String,
    /// What to do to pass it (Markdown-free plain text).
    pub fixit: String,
    /// The facts it reads (dotted paths into the facts document), shown when it fails.
    pub facts: Vec<String>,
    pub check: Check,
}

/// How a rule is checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A rule of the built-in library, with its parameters.
    Builtin {
        name: String,
        params: serde_json::Value,
    },
    /// Rego v1 rules (no `package` line): `pass` (a boolean; `false` when undefined) and,
    /// optionally, `message` (a string saying what failed).
    Rego { source: String },
}

/// A problem in a scorecard file, at its line and field path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{}{}: {message}", line.map(|l| l.to_string()).unwrap_or_default(), if path.is_empty() { String::new() } else { format!(": {path}") })]
pub struct ScorecardError {
    pub file: String,
    pub line: Option<u32>,
    /// The field path (`spec.rules[2].check`), empty for the whole document.
    pub path: String,
    pub message: String,
}

/// The one level of a campaign's scorecard: every rule passes.
pub const CAMPAIGN_LEVEL: &str = "Done";

/// A campaign: rules every selected entity should pass by a target date (Cortex initiatives,
/// OpsLevel campaigns). Its `card` has the one level [`CAMPAIGN_LEVEL`]; progress is the share
/// of entities holding it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Campaign {
    pub card: Scorecard,
    #[serde(with = "date")]
    pub start: time::Date,
    #[serde(with = "date")]
    pub target: time::Date,
    /// Why and how, for the teams (plain text).
    pub brief: String,
}

impl Campaign {
    /// Days since 1970-01-01 of a date.
    pub fn day_of(d: time::Date) -> i64 {
        i64::from(d.to_julian_day())
            - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day())
    }

    /// The share of the campaign's time elapsed on `day` (days since 1970-01-01), 0 to 1.
    pub fn elapsed(&self, day: i64) -> f64 {
        let (s, t) = (Self::day_of(self.start), Self::day_of(self.target));
        ((day - s) as f64 / (t - s).max(1) as f64).clamp(0.0, 1.0)
    }
}

mod date {
    pub fn serialize<S: serde::Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }
}
