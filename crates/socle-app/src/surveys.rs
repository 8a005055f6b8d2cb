//! Surveys in the application: which surveys the platform has (the built-in DevEx survey and
//! the `surveys/` of the platform configuration — admin-trusted sources only), who may answer
//! which round, and anonymous results.
//!
//! **Anonymity** (docs/surveys.md): a response is stored with the respondent's team and
//! nothing else; who answered a round is a set kept apart (to refuse a second answer). An
//! answer is not written to the audit log (its time would date the response) nor to any log
//! line; results show a group only from the threshold of respondents on, with complementary
//! suppression (`socle_survey::results`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use socle_catalog::RelationType;
use socle_store::{Role, SurveySubmission};
use socle_survey::{Audience, GroupResult, Question, Recurrence, Round, Survey};

use crate::error::ErrorCode;
use crate::{Actor, App, AppError, teams};

/// The team of a respondent who belongs to none.
pub const NO_TEAM: &str = "(no team)";

/// The platform's surveys.
#[derive(Clone, Debug)]
pub struct Surveys(pub Arc<Vec<Survey>>);

impl Surveys {
    /// The built-in surveys and `extra` (from the platform configuration); a name given twice
    /// is an error.
    pub fn new(extra: Vec<Survey>) -> Result<Self, String> {
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for s in socle_survey::builtin_surveys().into_iter().chain(extra) {
            if !names.insert(s.name.clone()) {
                return Err(format!("{}: survey {} is defined twice", s.source, s.name));
            }
            out.push(s);
        }
        Ok(Self(Arc::new(out)))
    }

    pub fn get(&self, name: &str) -> Option<&Survey> {
        self.0.iter().find(|s| s.name == name)
    }
}

impl Default for Surveys {
    fn default() -> Self {
        Self::new(Vec::new()).expect("the built-in surveys load")
    }
}

/// The caller's standing towards a survey's open round.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct YourStatus {
    /// The caller is one of the people the survey asks.
    pub in_audience: bool,
    /// The caller answered the open round.
    pub answered: bool,
}

/// A survey as listed.
#[derive(Clone, Debug, Serialize)]
pub struct SurveyInfo {
    pub name: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub audience: Audience,
    pub recurrence: Recurrence,
    pub questions: usize,
    /// Results of a group are shown from this many respondents on.
    pub threshold: u32,
    /// The round open now, if any.
    pub open_round: Option<Round>,
    /// The rounds that have opened so far, latest first.
    pub rounds: Vec<String>,
    /// For a person signed in: whether they are asked and have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub you: Option<YourStatus>,
    pub source: String,
}

/// A survey with its questions (the answer form).
#[derive(Clone, Debug, Serialize)]
pub struct SurveyDetail {
    #[serde(flatten)]
    pub info: SurveyInfo,
    pub question_list: Vec<Question>,
}

/// One round's results.
#[derive(Clone, Debug, Serialize)]
pub struct SurveyResults {
    pub survey: String,
    pub title: String,
    pub round: Round,
    /// The round compared with, if any.
    pub previous_round: Option<String>,
    pub threshold: u32,
    /// The organisation first, then every team that answered.
    pub groups: Vec<GroupResult>,
    /// The questions, for their texts and types.
    pub question_list: Vec<Question>,
}

/// A recorded answer: which round it counted for.
#[derive(Clone, Debug, Serialize)]
pub struct AnswerReceipt {
    pub survey: String,
    pub round: String,
}

impl App {
    fn find_survey(&self, name: &str) -> Result<&Survey, AppError> {
        self.config
            .surveys
            .get(name)
            .ok_or_else(|| AppError::not_found(format!("no survey named {name:?}")))
    }

    /// The threshold of a survey: its own or the platform's, never below 3.
    pub fn survey_threshold(&self, s: &Survey) -> u32 {
        s.threshold
            .unwrap_or(self.config.survey_threshold)
            .max(socle_survey::MIN_THRESHOLD)
    }

    /// The team a person answers for, or why they may not answer: they must be a User of the
    /// catalog and, for a survey of some teams, a member of one of them or of a team under one.
    fn respondent_team(
        &self,
        actor: &Actor,
        survey: &Survey,
    ) -> Result<(String, String), AppError> {
        let p = actor.require(Role::Member)?;
        let snap = self.snapshot();
        if !p.subject.starts_with("user:") || snap.get(&p.subject).is_none() {
            return Err(AppError::forbidden(format!(
                "surveys are answered by people of the catalog; {} is not a User",
                p.subject
            )));
        }
        let mut groups: Vec<String> = teams::groups_of(&snap, &p.subject)
            .into_iter()
            .map(|g| snap.name(g).to_owned())
            .collect();
        groups.sort();
        let team = match &survey.audience {
            Audience::Everyone => groups
                .into_iter()
                .next()
                .unwrap_or_else(|| NO_TEAM.to_owned()),
            Audience::Teams(asked) => groups
                .into_iter()
                .find(|g| {
                    teams::walk(&snap, g, RelationType::ChildOf)
                        .iter()
                        .any(|up| asked.contains(up))
                })
                .ok_or_else(|| {
                    AppError::forbidden(format!(
                        "survey {} asks the teams {}; {} is in none of them",
                        survey.name,
                        asked.join(", "),
                        p.subject
                    ))
                })?,
        };
        Ok((p.subject.clone(), team))
    }

    async fn survey_info(&self, actor: &Actor, s: &Survey) -> Result<SurveyInfo, AppError> {
        let now = self.now_ms();
        let open_round = s.open_round(now);
        let you = match (actor.principal(), &open_round) {
            (Some(p), Some(round)) if p.subject.starts_with("user:") => Some(YourStatus {
                in_audience: self.respondent_team(actor, s).is_ok(),
                answered: self
                    .store
                    .survey_answered(&s.name, &round.id, &p.subject)
                    .await?,
            }),
            _ => None,
        };
        Ok(SurveyInfo {
            name: s.name.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            audience: s.audience.clone(),
            recurrence: s.schedule.recurrence,
            questions: s.questions.len(),
            threshold: self.survey_threshold(s),
            rounds: s
                .rounds_started(now)
                .into_iter()
                .rev()
                .map(|r| r.id)
                .collect(),
            open_round,
            you,
            source: s.source.clone(),
        })
    }

    /// Every survey, with its open round and the caller's standing.
    pub async fn list_surveys(&self, actor: &Actor) -> Result<Vec<SurveyInfo>, AppError> {
        self.can_read(actor)?;
        let mut out = Vec::new();
        for s in self.config.surveys.0.iter() {
            out.push(self.survey_info(actor, s).await?);
        }
        Ok(out)
    }

    /// One survey with its questions.
    pub async fn survey(&self, actor: &Actor, name: &str) -> Result<SurveyDetail, AppError> {
        self.can_read(actor)?;
        let s = self.find_survey(name)?;
        Ok(SurveyDetail {
            info: self.survey_info(actor, s).await?,
            question_list: s.questions.clone(),
        })
    }

    /// Records the caller's answers to the survey's open round. `raw` holds each question's
    /// values as strings (a form's fields). Refused: outside the audience, no open round, a
    /// second answer to the round, an invalid answer (each problem listed in the details).
    /// Not audited and not logged: see the module documentation.
    pub async fn answer_survey(
        &self,
        actor: &Actor,
        name: &str,
        raw: &BTreeMap<String, Vec<String>>,
    ) -> Result<AnswerReceipt, AppError> {
        let s = self.find_survey(name)?;
        let (person, team) = self.respondent_team(actor, s)?;
        let round = s.open_round(self.now_ms()).ok_or_else(|| {
            AppError::new(
                ErrorCode::Conflict,
                format!("survey {name} has no round open now"),
            )
        })?;
        let already = || {
            AppError::new(
                ErrorCode::Conflict,
                format!("you already answered round {} of survey {name}", round.id),
            )
        };
        // Said before the answers are checked (and checked again in the store's transaction).
        if self
            .store
            .survey_answered(&s.name, &round.id, &person)
            .await?
        {
            return Err(already());
        }
        let answers = s.check_answers(raw).map_err(|errors| {
            AppError::bad_request(format!(
                "the answers are not valid ({} problems)",
                errors.len()
            ))
            .with_details(Some(serde_json::Value::Array(
                errors.iter().map(|e| e.to_string().into()).collect(),
            )))
        })?;
        let json = serde_json::to_string(&answers).map_err(AppError::internal)?;
        match self
            .store
            .submit_survey_response(&s.name, &round.id, &person, &team, &json)
            .await?
        {
            SurveySubmission::Recorded => Ok(AnswerReceipt {
                survey: s.name.clone(),
                round: round.id,
            }),
            SurveySubmission::AlreadyAnswered => Err(already()),
        }
    }

    /// One round's results (default: the latest round that opened), compared with the round
    /// before. Computed on the CPU gate.
    pub async fn survey_results(
        &self,
        actor: &Actor,
        name: &str,
        round: Option<&str>,
    ) -> Result<SurveyResults, AppError> {
        self.can_read(actor)?;
        let s = self.find_survey(name)?.clone();
        let now = self.now_ms();
        let (round, previous) = match round {
            Some(id) => s.round_and_previous(id, now).ok_or_else(|| {
                AppError::not_found(format!("survey {name} has no round {id:?} (yet)"))
            })?,
            None => {
                let latest = s.rounds_started(now).pop().ok_or_else(|| {
                    AppError::not_found(format!("survey {name} has not opened yet"))
                })?;
                s.round_and_previous(&latest.id, now)
                    .ok_or_else(|| AppError::internal("the latest round has vanished"))?
            }
        };
        let current = self.store.survey_responses(&s.name, &round.id).await?;
        let before = match &previous {
            Some(p) => self.store.survey_responses(&s.name, &p.id).await?,
            None => Vec::new(),
        };
        let threshold = self.survey_threshold(&s);
        let previous_id = previous.map(|p| p.id);
        self.cpu
            .run(move || {
                let parse = |rows: Vec<socle_store::StoredResponse>| -> Result<Vec<_>, AppError> {
                    rows.into_iter()
                        .map(|r| {
                            serde_json::from_str(&r.answers)
                                .map(|a| (r.team, a))
                                .map_err(AppError::internal)
                        })
                        .collect()
                };
                let mut groups = socle_survey::results(&s, &parse(current)?, threshold);
                if previous_id.is_some() {
                    socle_survey::compare(
                        &mut groups,
                        &socle_survey::results(&s, &parse(before)?, threshold),
                    );
                }
                Ok(SurveyResults {
                    survey: s.name.clone(),
                    title: s.title.clone(),
                    round,
                    previous_round: previous_id,
                    threshold,
                    groups,
                    question_list: s.questions.clone(),
                })
            })
            .await?
    }
}
