//! Feedback: the control every page carries (a rating and a comment, optionally anonymous; the
//! page it was sent from is taken from the same-origin `Referer`), `/feedback` — the platform
//! team's triage list for admins, one's own feedback and its status for everyone else — and
//! the triage form.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use socle_api::AppState;
use socle_app::feedback::FeedbackInput;
use socle_store::FeedbackStatus;

use crate::error::PageError;
use crate::layout::{self, date};
use crate::session::Viewer;

/// The control at the foot of every page for a signed-in viewer (no script: a `details`).
pub fn control(viewer: &Viewer) -> Markup {
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    html! {
        details class="feedback" {
            summary { "Feedback on this page" }
            form method="post" action="/feedback" {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "How useful is this page?" }
                    @for v in 1..=5u8 {
                        @let id = format!("fb-rating-{v}");
                        label for=(id) { input type="radio" id=(id) name="rating" value=(v) required; " " (v) }
                    }
                }
                div class="field" {
                    label for="fb-comment" { "What would make it better?" }
                    textarea id="fb-comment" name="comment" rows="3" maxlength=(socle_app::feedback::MAX_COMMENT) {}
                }
                div { label for="fb-anonymous" { input type="checkbox" id="fb-anonymous" name="anonymous" value="on"; " Send anonymously (you will not see its status)" } }
                button type="submit" { "Send feedback" }
            }
        }
    }
}

/// The path of a same-origin `Referer` (`/catalog?q=x` → `/catalog?q=x`), else `/`.
fn page_of(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://"))
        .and_then(|(_, rest)| rest.strip_prefix(host))
        .filter(|p| p.starts_with('/'))
        .map_or_else(|| "/".to_owned(), str::to_owned)
}

#[derive(Deserialize)]
pub struct SendForm {
    csrf: Option<String>,
    rating: u8,
    #[serde(default)]
    comment: String,
    anonymous: Option<String>,
}

pub async fn send(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<SendForm>,
) -> Result<Markup, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    let input = FeedbackInput {
        page: page_of(&headers),
        template: None,
        rating: f.rating,
        comment: f.comment,
        anonymous: f.anonymous.is_some(),
    };
    let record = state.send_feedback(&viewer.caller(), &input).await?;
    Ok(layout::page(
        &viewer,
        "Thank you",
        "",
        html! {
            h1 { "Thank you" }
            p role="status" id="feedback-sent" {
                "Your feedback on " code { (record.page) } " reached the platform team"
                @if record.author.is_none() { ", without your name." } @else { ". " a href="/feedback" { "Follow its status" } "." }
            }
            p { a href=(record.page) { "Back to the page" } }
        },
    ))
}

fn status_name(s: FeedbackStatus) -> &'static str {
    match s {
        FeedbackStatus::New => "new",
        FeedbackStatus::Planned => "planned",
        FeedbackStatus::Done => "done",
        FeedbackStatus::WontDo => "won't do",
    }
}

pub async fn list(State(state): State<Arc<AppState>>, viewer: Viewer) -> Result<Markup, PageError> {
    if viewer.principal.is_none() {
        return Err(PageError::sign_in("Sign in to see your feedback."));
    }
    let list = state.list_feedback(&viewer.caller()).await?;
    let csrf = viewer.csrf.as_deref().unwrap_or_default();
    let now = state.now_ms();
    let title = if list.all {
        "Feedback triage"
    } else {
        "Your feedback"
    };
    Ok(layout::page(
        &viewer,
        title,
        "",
        html! {
            h1 { (title) }
            p class="sub" { @if list.all { "Everything people told the platform team, newest first. Set a status: its author sees it." } @else { "What you sent (with your name) and where the platform team has put it." } }
            @if list.items.is_empty() { p class="muted" { "No feedback yet." } } @else {
                table id="feedback" {
                    thead { tr { th { "Sent" } th { "Page" } th { "Rating" } th { "Comment" } @if list.all { th { "From" } } th { "Status" } } }
                    tbody {
                        @for f in &list.items {
                            tr {
                                td { (layout::ago(f.created_at, now)) }
                                td { code { (f.page) } @if let Some(t) = &f.template { br; "golden path " (t) } }
                                td { (f.rating) " / 5" }
                                td class="comment" { (f.comment) }
                                @if list.all { td { (f.author.as_deref().unwrap_or("anonymous")) } }
                                td {
                                    @if list.all {
                                        form method="post" action="/feedback/status" class="inline" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="id" value=(f.id);
                                            select name="status" aria-label={ "Status of feedback sent " (date(f.created_at)) } {
                                                @for s in FeedbackStatus::ALL { option value=(s.as_str()) selected[s == f.status] { (status_name(s)) } }
                                            }
                                            " " button type="submit" class="link" { "Set" }
                                        }
                                    } @else { span class="status" { (status_name(f.status)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub struct StatusForm {
    csrf: Option<String>,
    id: String,
    status: String,
}

pub async fn set_status(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    viewer.check_form(&headers, f.csrf.as_deref())?;
    state
        .triage_feedback(&viewer.caller(), &f.id, &f.status)
        .await?;
    Ok(Redirect::to("/feedback").into_response())
}
