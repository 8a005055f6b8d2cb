//! `/surveys`: the platform's surveys; `/surveys/{name}`: the answer form of the open round
//! (signed-in people of the catalog, once per round; the answer is stored without them);
//! `/surveys/{name}/results`: a round's results per group past the threshold, with bar charts
//! drawn as SVG (readable without JavaScript).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::surveys::{SurveyDetail, SurveyResults};
use socle_app::{AppError, ErrorCode};
use socle_survey::{Outcome, Question, QuestionKind, QuestionResult, Summary};
use socle_ui::chart::{Bar, bar_chart, fmt_num};

use crate::error::PageError;
use crate::layout::{self, date};
use crate::session::Viewer;

pub async fn list(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let surveys = state.list_surveys(&viewer.caller()).await?;
    Ok(layout::page(
        &viewer,
        "Surveys",
        "/surveys",
        html! {
            h1 { "Surveys" }
            p class="sub" { "How is work going, and is the platform helping? Answers are anonymous: they are stored without your name, and a team's results are shown only when enough people answered." }
            table {
                thead { tr { th { "Survey" } th { "Questions" } th { "Open round" } th { "You" } th { "Results" } } }
                tbody {
                    @for s in &surveys {
                        tr {
                            td { a href={ "/surveys/" (s.name) } { (s.title) } }
                            td { (s.questions) }
                            td { @if let Some(r) = &s.open_round { (r.id) " (until " (date(r.closes_ms - 1)) ")" } @else { span class="muted" { "none" } } }
                            td {
                                @match &s.you {
                                    Some(y) if y.answered => { "answered" }
                                    Some(y) if y.in_audience => { a href={ "/surveys/" (s.name) } { "Answer" } }
                                    Some(_) => { span class="muted" { "not asked" } }
                                    None => { span class="muted" { "–" } }
                                }
                            }
                            td { @if s.rounds.is_empty() { span class="muted" { "none yet" } } @else { a href={ "/surveys/" (s.name) "/results" } { "Results" } } }
                        }
                    }
                }
            }
        },
    ))
}

fn question_field(q: &Question, kept: &BTreeMap<String, Vec<String>>) -> Markup {
    let id = format!("q-{}", q.id);
    let was = |v: &str| kept.get(&q.id).is_some_and(|vs| vs.iter().any(|x| x == v));
    html! {
        fieldset class="field" {
            legend { (q.text) @if q.required { " " span class="muted" { "(required)" } } }
            @match &q.kind {
                QuestionKind::Likert | QuestionKind::Enps => {
                    @let (lo, hi) = q.kind.scale().unwrap_or((0, 0));
                    div class="scale" {
                        @if q.kind == QuestionKind::Likert { span class="muted" { "Strongly disagree" } } @else { span class="muted" { "Not likely" } }
                        @for v in lo..=hi {
                            @let vid = format!("{id}-{v}");
                            label for=(vid) {
                                input type="radio" id=(vid) name=(q.id) value=(v) required[q.required] checked[was(&v.to_string())];
                                " " (v)
                            }
                        }
                        @if q.kind == QuestionKind::Likert { span class="muted" { "Strongly agree" } } @else { span class="muted" { "Very likely" } }
                    }
                }
                QuestionKind::Single(options) => {
                    @for (i, o) in options.iter().enumerate() {
                        @let vid = format!("{id}-{i}");
                        div { label for=(vid) { input type="radio" id=(vid) name=(q.id) value=(o) required[q.required] checked[was(o)]; " " (o) } }
                    }
                }
                QuestionKind::Multiple(options) => {
                    @for (i, o) in options.iter().enumerate() {
                        @let vid = format!("{id}-{i}");
                        div { label for=(vid) { input type="checkbox" id=(vid) name=(q.id) value=(o) checked[was(o)]; " " (o) } }
                    }
                }
                QuestionKind::Text => {
                    textarea id=(id) name=(q.id) maxlength=(socle_survey::model::MAX_TEXT) rows="4" aria-label=(q.text) {
                        (kept.get(&q.id).and_then(|v| v.first()).map(String::as_str).unwrap_or_default())
                    }
                }
            }
        }
    }
}

fn form_page(
    viewer: &Viewer,
    s: &SurveyDetail,
    kept: &BTreeMap<String, Vec<String>>,
    problems: &[String],
) -> Markup {
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    let info = &s.info;
    html! {
        h1 { (info.title) }
        @if let Some(d) = &info.description { p class="sub" { (d) } }
        p class="notice" { "Your answers are anonymous: they are stored without your name or the time you answered, apart from the record that you took part (so that you answer once). Results show a team only when at least " (info.threshold) " people answered. Please do not write names in free text." }
        @match (&info.open_round, &info.you) {
            (None, _) => { p { "No round of this survey is open now." } }
            (Some(r), Some(y)) if y.answered => { p role="status" { "You answered round " (r.id) ". Thank you!" } }
            (Some(_), Some(y)) if !y.in_audience => { p { "This survey does not ask your teams." } }
            (Some(r), _) => {
                @if !problems.is_empty() {
                    div class="error" role="alert" {
                        p { "Some answers need another look:" }
                        ul { @for p in problems { li { (p) } } }
                    }
                }
                form method="post" action={ "/surveys/" (info.name) } id="survey-form" {
                    input type="hidden" name="csrf" value=(csrf);
                    @for q in &s.question_list { (question_field(q, kept)) }
                    p class="muted" { "Round " (r.id) ", open until " (date(r.closes_ms - 1)) "." }
                    button type="submit" { "Send my answers" }
                }
            }
        }
    }
}

pub async fn form(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Markup, PageError> {
    if viewer.principal.is_none() {
        return Err(PageError::sign_in(
            "Sign in to answer surveys (your answers stay anonymous).",
        ));
    }
    let s = state.survey(&viewer.caller(), &name).await?;
    Ok(layout::page(
        &viewer,
        &s.info.title,
        "/surveys",
        form_page(&viewer, &s, &BTreeMap::new(), &[]),
    ))
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    viewer.check_form(&headers, csrf)?;
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in fields.into_iter().filter(|(k, _)| k != "csrf") {
        raw.entry(k).or_default().push(v);
    }
    match state.answer_survey(&viewer.caller(), &name, &raw).await {
        Ok(receipt) => Ok(layout::page(
            &viewer,
            "Thank you",
            "/surveys",
            html! {
                h1 { "Thank you" }
                p role="status" id="answered" { "Your answers to round " (receipt.round) " were recorded, without your name." }
                p { a href="/surveys" { "Back to the surveys" } }
            },
        )
        .into_response()),
        Err(e @ AppError { code: ErrorCode::InvalidRequest, .. }) if e.details.is_some() => {
            let s = state.survey(&viewer.caller(), &name).await?;
            let page = layout::page(&viewer, &s.info.title, "/surveys", form_page(&viewer, &s, &raw, &e.detail_lines()));
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ResultsQuery {
    round: Option<String>,
}

/// Counts as the shared horizontal bar chart, titled after the question (ids stay distinct).
fn counts_chart(q: &QuestionResult, rows: &[(String, u64)], label: &str) -> Markup {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(l, c)| Bar {
            label: l.clone(),
            value: *c as f64,
        })
        .collect();
    bar_chart(&format!("{}: {label}", q.id), &bars, 420)
}

fn figure(q: &QuestionResult) -> Markup {
    let change = |c: Option<f64>| html! { @if let Some(c) = c { " " span class="muted" { "(" @if c >= 0.0 { "+" } (fmt_num(c)) " since the previous round)" } } };
    match &q.summary {
        Summary::Likert {
            mean,
            ci,
            distribution,
        } => html! {
            p { "Mean " strong { (mean.map(fmt_num).unwrap_or_else(|| "–".into())) } " of 5"
                @if let Some([lo, hi]) = ci { " (95 % interval " (fmt_num(*lo)) "–" (fmt_num(*hi)) ")" } (change(q.change)) }
            (counts_chart(q, &distribution.iter().enumerate().map(|(i, c)| ((i + 1).to_string(), *c)).collect::<Vec<_>>(), "Answers from 1 (strongly disagree) to 5 (strongly agree)"))
        },
        Summary::Enps {
            score,
            ci,
            promoters,
            passives,
            detractors,
            ..
        } => html! {
            p { "eNPS " strong { (score.map(fmt_num).unwrap_or_else(|| "–".into())) }
                @if let Some([lo, hi]) = ci { " (95 % interval " (fmt_num(*lo)) " to " (fmt_num(*hi)) ")" } (change(q.change)) }
            (counts_chart(q, &[("Promoters (9–10)".to_owned(), *promoters), ("Passives (7–8)".to_owned(), *passives), ("Detractors (0–6)".to_owned(), *detractors)], "Promoters, passives and detractors"))
        },
        Summary::Choices { counts } => html! {
            (counts_chart(q, &counts.iter().map(|c| (c.option.clone(), c.count)).collect::<Vec<_>>(), "Answers per option"))
        },
        Summary::Text { texts } => html! {
            @if texts.is_empty() { p class="muted" { "No text answers." } }
            ul class="texts" { @for t in texts { li { (t) } } }
        },
    }
}

fn results_page(r: &SurveyResults) -> Markup {
    fn text_of<'a>(r: &'a SurveyResults, id: &'a str) -> &'a str {
        r.question_list
            .iter()
            .find(|q| q.id == id)
            .map_or(id, |q| q.text.as_str())
    }
    html! {
        h1 { (r.title) ": results" }
        p class="sub" { "Round " (r.round.id) @if let Some(p) = &r.previous_round { ", compared with round " (p) } ". A group is shown from " (r.threshold) " respondents on; a team is also hidden when showing it would reveal a smaller one." }
        @for g in &r.groups {
            section class="survey-group" {
                h2 { (layout::short(&g.group)) }
                @match &g.outcome {
                    Outcome::NotEnoughAnswers => { p class="muted not-enough" { "Not enough answers." } }
                    Outcome::Shown { respondents, questions } => {
                        p { (respondents) " respondents" }
                        @for q in questions {
                            div class="survey-question" {
                                h3 { (text_of(r, &q.id)) }
                                (figure(q))
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn results(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Markup, PageError> {
    viewer.can_read(&state)?;
    let r = state
        .survey_results(&viewer.caller(), &name, q.round.as_deref())
        .await?;
    Ok(layout::page(
        &viewer,
        &r.title,
        "/surveys",
        results_page(&r),
    ))
}
