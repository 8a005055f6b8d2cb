//! Answers: what a respondent sends, checked against the survey's questions. An answer
//! carries no name, no time and no id; only the question ids and the values.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{MAX_TEXT, QuestionKind, Survey};

/// One answer to one question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// A Likert (1–5) or eNPS (0–10) value.
    Scale(u8),
    /// The chosen options of a multiple-choice question, in the survey's order.
    Choices(Vec<String>),
    /// The option of a single-choice question, or a free text.
    Text(String),
}

/// A response: question id → answer (questions left out were not answered).
pub type Answers = BTreeMap<String, Answer>;

/// Most fields a response may name, values per field (checked before anything else).
pub const MAX_FIELDS: usize = 100;
pub const MAX_VALUES: usize = 50;

/// Why a response was refused (each names the question).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{0}: this survey has no such question")]
    Unknown(String),
    #[error("{0}: an answer is required")]
    Missing(String),
    #[error("{id}: {message}")]
    Invalid { id: String, message: String },
    #[error("a response names at most {MAX_FIELDS} questions and {MAX_VALUES} values each")]
    TooLarge,
}

/// Free text kept as typed but for control characters (line breaks stay), trimmed.
fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Survey {
    /// Checks a response given as strings per question id (a form's fields; the API's JSON
    /// values turned to strings): every value in range, every option known, required
    /// questions answered, texts at most [`MAX_TEXT`] bytes. Empty values count as unanswered.
    pub fn check_answers(
        &self,
        raw: &BTreeMap<String, Vec<String>>,
    ) -> Result<Answers, Vec<AnswerError>> {
        if raw.len() > MAX_FIELDS || raw.values().any(|v| v.len() > MAX_VALUES) {
            return Err(vec![AnswerError::TooLarge]);
        }
        let mut errors: Vec<AnswerError> = raw
            .keys()
            .filter(|k| !self.questions.iter().any(|q| &q.id == *k))
            .map(|k| AnswerError::Unknown(k.chars().take(64).collect()))
            .collect();
        let mut out = Answers::new();
        for q in &self.questions {
            let values: Vec<&str> = raw
                .get(&q.id)
                .map(|v| {
                    v.iter()
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let invalid = |message: String| AnswerError::Invalid {
                id: q.id.clone(),
                message,
            };
            if values.is_empty() {
                if q.required {
                    errors.push(AnswerError::Missing(q.id.clone()));
                }
                continue;
            }
            let answer = match &q.kind {
                QuestionKind::Likert | QuestionKind::Enps => {
                    let (lo, hi) = q.kind.scale().unwrap_or((0, 0));
                    match values.as_slice() {
                        [v] => match v.parse::<u8>() {
                            Ok(n) if (lo..=hi).contains(&n) => Answer::Scale(n),
                            _ => {
                                errors.push(invalid(format!("a whole number from {lo} to {hi}")));
                                continue;
                            }
                        },
                        _ => {
                            errors.push(invalid("one value".into()));
                            continue;
                        }
                    }
                }
                QuestionKind::Single(options) => match values.as_slice() {
                    [v] if options.iter().any(|o| o == v) => Answer::Text((*v).to_owned()),
                    _ => {
                        errors.push(invalid(format!("one of: {}", options.join(", "))));
                        continue;
                    }
                },
                QuestionKind::Multiple(options) => {
                    let chosen: BTreeSet<&str> = values.iter().copied().collect();
                    if let Some(bad) = chosen.iter().find(|v| !options.iter().any(|o| o == *v)) {
                        errors.push(invalid(format!(
                            "{:?} is not an option; the options are: {}",
                            bad.chars().take(64).collect::<String>(),
                            options.join(", ")
                        )));
                        continue;
                    }
                    Answer::Choices(
                        options
                            .iter()
                            .filter(|o| chosen.contains(o.as_str()))
                            .cloned()
                            .collect(),
                    )
                }
                QuestionKind::Text => {
                    let text = clean_text(&values.join("\n"));
                    if text.len() > MAX_TEXT {
                        errors.push(invalid(format!("at most {MAX_TEXT} bytes")));
                        continue;
                    }
                    if text.is_empty() {
                        continue;
                    }
                    Answer::Text(text)
                }
            };
            out.insert(q.id.clone(), answer);
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
