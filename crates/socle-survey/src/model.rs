//! The survey model: questions, audience, schedule.

use serde::Serialize;

/// Most questions of a survey, options of a choice question, bytes of a text.
pub const MAX_QUESTIONS: usize = 50;
pub const MAX_OPTIONS: usize = 20;
pub const MAX_TEXT: usize = 1000;
/// The respondent threshold: the default, and the lowest a survey or the platform may set.
pub const DEFAULT_THRESHOLD: u32 = 5;
pub const MIN_THRESHOLD: u32 = 3;

/// A survey: its questions, who is asked, when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Survey {
    /// `metadata.name`: a lower-case slug, unique among the platform's surveys.
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub audience: Audience,
    pub schedule: Schedule,
    /// Results of a group are shown from this many respondents on (None: the platform's
    /// setting). Never below [`MIN_THRESHOLD`].
    pub threshold: Option<u32>,
    pub questions: Vec<Question>,
    /// Where it was read from (`builtin/…` or a file of the platform directory).
    pub source: String,
}

/// Who is asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "teams")]
pub enum Audience {
    Everyone,
    /// Members of these groups (full references, `group:default/team-a`) or of a group under
    /// one of them.
    Teams(Vec<String>),
}

/// How often a survey runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// One round, from `opens` to `closes`.
    Once,
    Monthly,
    Quarterly,
    Yearly,
}

impl Recurrence {
    pub const ALL: [(&str, Recurrence); 4] = [
        ("once", Recurrence::Once),
        ("monthly", Recurrence::Monthly),
        ("quarterly", Recurrence::Quarterly),
        ("yearly", Recurrence::Yearly),
    ];

    /// Months between two rounds (0: a single round).
    pub fn months(self) -> u32 {
        match self {
            Self::Once => 0,
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Yearly => 12,
        }
    }
}

/// When a survey is open: one round (`once`: `opens` to `closes`), or a round every period from
/// `opens`, each open for `open_for_days` days (and none after `closes`, when given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    #[serde(serialize_with = "date")]
    pub opens: time::Date,
    #[serde(serialize_with = "opt_date")]
    pub closes: Option<time::Date>,
    pub recurrence: Recurrence,
    pub open_for_days: u32,
}

/// A date as `YYYY-MM-DD`.
fn date<S: serde::Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

fn opt_date<S: serde::Serializer>(d: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.collect_str(d),
        None => s.serialize_none(),
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Question {
    /// A slug unique in its survey.
    pub id: String,
    pub text: String,
    /// A theme results are grouped by (`flow`, `feedback-loops`, `cognitive-load`…).
    pub theme: Option<String>,
    pub required: bool,
    pub kind: QuestionKind,
}

/// What kind of answer a question takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "options")]
pub enum QuestionKind {
    /// 1 (strongly disagree) to 5 (strongly agree).
    Likert,
    /// 0 to 10: "how likely are you to recommend…" (employee Net Promoter Score).
    Enps,
    /// One of the options.
    Single(Vec<String>),
    /// Any number of the options.
    Multiple(Vec<String>),
    /// Free text, shown without names.
    Text,
}

impl QuestionKind {
    /// The kinds as written in YAML.
    pub const NAMES: [&str; 5] = ["likert", "enps", "single", "multiple", "text"];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Likert => "likert",
            Self::Enps => "enps",
            Self::Single(_) => "single",
            Self::Multiple(_) => "multiple",
            Self::Text => "text",
        }
    }

    /// The range of a scale question.
    pub fn scale(&self) -> Option<(u8, u8)> {
        match self {
            Self::Likert => Some((1, 5)),
            Self::Enps => Some((0, 10)),
            _ => None,
        }
    }

    pub fn options(&self) -> &[String] {
        match self {
            Self::Single(o) | Self::Multiple(o) => o,
            _ => &[],
        }
    }
}

/// A problem in a survey file, at its line and field path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{}{}: {message}", line.map(|l| l.to_string()).unwrap_or_default(), if path.is_empty() { String::new() } else { format!(": {path}") })]
pub struct SurveyError {
    pub file: String,
    pub line: Option<u32>,
    /// The field path (`spec.questions[2].options`), empty for the whole document.
    pub path: String,
    pub message: String,
}
