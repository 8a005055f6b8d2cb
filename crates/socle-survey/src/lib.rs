//! Surveys as code, pure: developer-experience surveys a platform team defines in its
//! configuration (`kind: Survey`, `apiVersion: socle.dev/v1alpha1`), the answers people give,
//! and their anonymous results.
//!
//! * `load.rs` reads survey files with positions: every error names `file:line` and the field
//!   path.
//! * `model.rs`: questions (Likert 1–5, eNPS 0–10, single or multiple choice, free text), an
//!   audience (everyone or teams, with the teams under them), a schedule (opens, closes,
//!   recurrence monthly/quarterly/yearly, each round open for some days), a respondent
//!   threshold (default 5, never below 3).
//! * `rounds.rs`: the rounds a schedule makes, named by the day they open.
//! * `answers.rs`: a response checked against the questions. A response holds no name.
//! * `results.rs`: per group (the organisation, each team) and question: Likert mean with a
//!   95 % confidence interval and distribution, eNPS with its interval, option counts, texts
//!   sorted; groups below the threshold shown as "not enough answers", with complementary
//!   suppression so that no hidden team can be recovered by subtraction; comparison with the
//!   previous round.
//!
//! A survey document:
//!
//! ```yaml
//! apiVersion: socle.dev/v1alpha1
//! kind: Survey
//! metadata: {name: devex, title: Developer experience}
//! spec:
//!   audience: everyone            # or {teams: [team-a, team-b]}
//!   opens: 2026-01-05             # YYYY-MM-DD (UTC)
//!   closes: 2027-12-31            # optional for recurring surveys
//!   recurrence: quarterly         # once (default: needs closes) | monthly | quarterly | yearly
//!   openForDays: 21               # recurring: each round's length (default 14)
//!   threshold: 5                  # optional; at least 3
//!   questions:
//!     - {id: flow, type: likert, theme: flow, text: "I can focus on my work without interruptions."}
//!     - {id: recommend, type: enps, text: "How likely are you to recommend Socle to a colleague?"}
//!     - {id: tools, type: multiple, options: [CLI, Portal, API], text: "What do you use?"}
//!     - {id: wish, type: text, text: "What one thing should the platform team improve?"}
//! ```

pub mod answers;
pub mod load;
pub mod model;
pub mod results;
pub mod rounds;

pub use answers::{Answer, AnswerError, Answers};
pub use load::{load, parse_date};
pub use model::{
    Audience, DEFAULT_THRESHOLD, MIN_THRESHOLD, Question, QuestionKind, Recurrence, Schedule,
    Survey, SurveyError,
};
pub use results::{GroupResult, ORGANISATION, Outcome, QuestionResult, Summary, compare, results};
pub use rounds::Round;

/// The built-in surveys, shipped with Socle: `(file name, YAML)`.
pub const BUILTIN: &[(&str, &str)] =
    &[("builtin/devex.yaml", include_str!("../surveys/devex.yaml"))];

/// The built-in surveys, loaded.
pub fn builtin_surveys() -> Vec<Survey> {
    BUILTIN
        .iter()
        .flat_map(|(file, text)| load(text, file).expect("the built-in surveys load"))
        .collect()
}
