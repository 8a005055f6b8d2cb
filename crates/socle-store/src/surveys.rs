//! Survey answers, anonymous by design: who answered a round (a sorted set per round) and what
//! was answered (rows under random keys, with the respondent's team) are stored apart, with no
//! shared id and no time, and written in one transaction so that a person answers a round once.
//! See docs/surveys.md for what this protects against and what it does not.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, Result, Store, StoreError, with_pool};

/// Most respondents of one round (the set is rewritten on each answer).
pub const MAX_RESPONDENTS: usize = 100_000;
/// Most bytes of one response's JSON.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What became of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveySubmission {
    Recorded,
    /// This person already answered this round: nothing was written.
    AlreadyAnswered,
}

/// One stored response: the team it counts for and its answers (JSON), nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub team: String,
    pub answers: String,
}

fn random_slot() -> String {
    let mut b = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut b);
    hex::encode(b)
}

impl Store {
    /// Records `person`'s response to one round (unless they already answered it): the person
    /// joins the round's set of respondents and the response is stored under a random key,
    /// in one transaction. `person` is written nowhere else.
    pub async fn submit_survey_response(
        &self,
        survey: &str,
        round: &str,
        person: &str,
        team: &str,
        answers: &str,
    ) -> Result<SurveySubmission> {
        if answers.len() > MAX_ANSWER_BYTES {
            return Err(StoreError::Invalid(format!(
                "a response is at most {MAX_ANSWER_BYTES} bytes"
            )));
        }
        // The set is replaced only if nobody changed it since it was read (PostgreSQL: a
        // concurrent answer makes the update match nothing; SQLite: the write lock is held).
        for _ in 0..20 {
            let done: Option<SurveySubmission> = with_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                sqlx::query("INSERT INTO survey_rounds (survey, round, respondents) VALUES ($1, $2, '[]') ON CONFLICT (survey, round) DO NOTHING")
                    .bind(survey).bind(round).execute(&mut *tx).await?;
                let before: String = sqlx::query_scalar("SELECT respondents FROM survey_rounds WHERE survey = $1 AND round = $2")
                    .bind(survey).bind(round).fetch_one(&mut *tx).await?;
                let mut set: Vec<String> = serde_json::from_str(&before)
                    .map_err(|e| StoreError::Corrupt(format!("survey respondents: {e}")))?;
                match set.binary_search_by(|p| p.as_str().cmp(person)) {
                    Ok(_) => Some(SurveySubmission::AlreadyAnswered),
                    Err(_) if set.len() >= MAX_RESPONDENTS => {
                        return Err(StoreError::User(format!("this round has its {MAX_RESPONDENTS} respondents")));
                    }
                    Err(at) => {
                        set.insert(at, person.to_owned());
                        let after = serde_json::to_string(&set).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        let n = sqlx::query("UPDATE survey_rounds SET respondents = $3 WHERE survey = $1 AND round = $2 AND respondents = $4")
                            .bind(survey).bind(round).bind(&after).bind(&before).execute(&mut *tx).await?.rows_affected();
                        if n == 1 {
                            sqlx::query("INSERT INTO survey_answers (survey, round, slot, team, answers) VALUES ($1, $2, $3, $4, $5)")
                                .bind(survey).bind(round).bind(random_slot()).bind(team).bind(answers)
                                .execute(&mut *tx).await?;
                            tx.commit().await?;
                            Some(SurveySubmission::Recorded)
                        } else {
                            None
                        }
                    }
                }
            });
            if let Some(done) = done {
                return Ok(done);
            }
        }
        Err(StoreError::User(
            "too many answers at once; try again".into(),
        ))
    }

    /// Whether `person` answered this round.
    pub async fn survey_answered(&self, survey: &str, round: &str, person: &str) -> Result<bool> {
        let set: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT respondents FROM survey_rounds WHERE survey = $1 AND round = $2")
                .bind(survey).bind(round).fetch_optional(pool).await?
        });
        let Some(set) = set else { return Ok(false) };
        let set: Vec<String> = serde_json::from_str(&set)
            .map_err(|e| StoreError::Corrupt(format!("survey respondents: {e}")))?;
        Ok(set.binary_search_by(|p| p.as_str().cmp(person)).is_ok())
    }

    /// A round's responses, in the order of their random keys.
    pub async fn survey_responses(&self, survey: &str, round: &str) -> Result<Vec<StoredResponse>> {
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query("SELECT team, answers FROM survey_answers WHERE survey = $1 AND round = $2 ORDER BY slot LIMIT 100000")
                .bind(survey).bind(round).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(StoredResponse { team: r.try_get("team")?, answers: r.try_get("answers")? });
            }
            out
        }))
    }
}
