//! Surveys over HTTP: the platform's surveys, one survey's questions, answering its open round
//! (signed-in people of the catalog, once per round, anonymously), and a round's results per
//! group past the respondent threshold.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Json, Query};

type S = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/surveys", get(list_surveys))
        .route("/api/v1/surveys/{name}", get(get_survey))
        .route(
            "/api/v1/surveys/{name}/answers",
            axum::routing::post(answer_survey),
        )
        .route("/api/v1/surveys/{name}/results", get(survey_results))
}

/// The platform's surveys: the built-in DevEx survey and those of the platform configuration,
/// each with its open round and, for a signed-in person, whether they are asked and answered.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, description = "`[{name, title, description, audience, recurrence, questions, threshold, open_round: {id, opens_ms, closes_ms}, rounds, you: {in_audience, answered}, source}]`", body = Vec<Object>),
              (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_surveys(State(state): S, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(state.list_surveys(&caller).await?).into_response())
}

/// One survey with its questions (`question_list: [{id, text, theme, required, kind: {type, options}}]`).
#[utoipa::path(get, path = "/api/v1/surveys/{name}", tag = "surveys",
    params(("name" = String, Path)),
    responses((status = 200, description = "the survey's listing and `question_list`", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_survey(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.survey(&caller, &name).await?).into_response())
}

/// `{"answers": {"focus-time": 4, "recommend": 9, "platform-used": ["Deploys"], "improve": "…"}}`
#[derive(Deserialize, ToSchema)]
pub struct AnswersIn {
    /// Question id → a number (Likert, eNPS), an option or a text, or a list of options.
    #[schema(value_type = Object)]
    answers: BTreeMap<String, Value>,
}

/// A JSON value as the strings a form would send.
fn as_strings(id: &str, v: &Value) -> Result<Vec<String>, ApiError> {
    let one = |v: &Value| match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(ApiError::from(socle_app::AppError::bad_request(format!(
            "answers.{}: a number, a string or a list of strings",
            id.chars().take(64).collect::<String>()
        )))),
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

/// Answers the survey's open round, once. The caller must be a person of the catalog (a
/// member's token or a signed-in session) in the survey's audience. The response is stored
/// without the person; this request is neither audited nor logged with its caller.
#[utoipa::path(post, path = "/api/v1/surveys/{name}/answers", tag = "surveys",
    params(("name" = String, Path)), request_body = AnswersIn,
    responses((status = 201, description = "`{survey, round}`", body = Object),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "no round open, or already answered", body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn answer_survey(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<AnswersIn>, ApiError>,
) -> Result<Response, ApiError> {
    // Who may answer is checked before the body is looked at (an anonymous caller learns
    // nothing about the survey from its errors).
    caller.require(socle_store::Role::Member)?;
    let Json(body) = body?;
    if body.answers.len() > socle_survey::answers::MAX_FIELDS {
        return Err(socle_app::AppError::bad_request("too many answers").into());
    }
    let raw = body
        .answers
        .iter()
        .map(|(k, v)| Ok((k.clone(), as_strings(k, v)?)))
        .collect::<Result<BTreeMap<_, _>, ApiError>>()?;
    let receipt = state.answer_survey(&caller, &name, &raw).await?;
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// The round (`YYYY-MM-DD`, the day it opened; default: the latest).
    round: Option<String>,
}

/// A round's results: the organisation and each team that answered, a group shown only from
/// the threshold of respondents on (`status: not_enough_answers` otherwise, without its
/// count); per question the Likert mean with a 95 % interval and distribution, the eNPS, option
/// counts or the texts (sorted, without names), and the change since the previous round.
#[utoipa::path(get, path = "/api/v1/surveys/{name}/results", tag = "surveys",
    params(("name" = String, Path), ResultsQuery),
    responses((status = 200, description = "`{survey, title, round, previous_round, threshold, groups: [{group, status, respondents, questions: [{id, answers, type, …, previous, change}]}], question_list}`", body = Object),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn survey_results(
    State(state): S,
    caller: Caller,
    Path(name): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(
        state
            .survey_results(&caller, &name, q.round.as_deref())
            .await?,
    )
    .into_response())
}
