//! Feedback where the work happens: a rating (1–5) and a comment sent from any portal page or
//! golden-path run (the template recorded from `/create/{template}` and from a run's page), signed or anonymous, triaged by the platform team (admins) with a status
//! its author sees.
//!
//! Anyone signed in may send feedback. Admins list all of it and set its status (audited,
//! `feedback.triage`); everyone else lists their own signed feedback. Anonymous feedback is
//! stored without its author (its time is kept, for triage), so nobody — its author included —
//! finds it under a name.

use serde::{Deserialize, Serialize};
use socle_store::{FeedbackRecord, FeedbackStatus, NewFeedback, Role};

use crate::{Actor, App, AppError, AuditAction};

/// Longest comment and page path, in bytes.
pub const MAX_COMMENT: usize = 2000;
pub const MAX_PAGE: usize = 500;

/// Feedback as sent.
#[derive(Clone, Debug, Deserialize)]
pub struct FeedbackInput {
    /// The portal path it is about (`/catalog/component/default/shop`).
    pub page: String,
    /// The golden path it is about, if any.
    #[serde(default)]
    pub template: Option<String>,
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
    /// Store it without the author.
    #[serde(default)]
    pub anonymous: bool,
}

/// A list of feedback and whether the caller sees all of it (admins) or only theirs.
#[derive(Clone, Debug, Serialize)]
pub struct FeedbackList {
    pub all: bool,
    pub items: Vec<FeedbackRecord>,
}

fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A golden path named by a page: `/create/{template}` (not the run pages, which name runs).
pub fn template_of_page(page: &str) -> Option<String> {
    let rest = page.strip_prefix("/create/")?;
    let name = rest.split(['/', '?', '#']).next()?;
    (!name.is_empty() && name != "runs" && name != "live").then(|| name.to_owned())
}

/// The run a page shows: `/create/runs/{id}`.
pub fn run_of_page(page: &str) -> Option<&str> {
    let id = page
        .strip_prefix("/create/runs/")?
        .split(['/', '?', '#'])
        .next()?;
    (!id.is_empty() && id.len() <= 64).then_some(id)
}

impl App {
    /// Records feedback from a signed-in caller.
    pub async fn send_feedback(
        &self,
        actor: &Actor,
        input: &FeedbackInput,
    ) -> Result<FeedbackRecord, AppError> {
        let p = actor.require(Role::Viewer)?;
        if !(1..=5).contains(&input.rating) {
            return Err(AppError::bad_request("rating: a whole number from 1 to 5"));
        }
        let comment = clean(&input.comment);
        if comment.len() > MAX_COMMENT {
            return Err(AppError::bad_request(format!(
                "comment: at most {MAX_COMMENT} bytes"
            )));
        }
        let page = clean(&input.page);
        if !page.starts_with('/') || page.starts_with("//") || page.len() > MAX_PAGE {
            return Err(AppError::bad_request(format!(
                "page: a path of this portal, starting with / (at most {MAX_PAGE} bytes)"
            )));
        }
        let template = match &input.template {
            Some(t) if !socle_survey::load::is_slug(t) => {
                return Err(AppError::bad_request("template: a golden path's name"));
            }
            Some(t) => Some(t.clone()),
            None => match run_of_page(&page) {
                // A golden-path run's page: the run's template.
                Some(run) => self.store.get_template_run(run).await?.map(|r| r.template),
                None => template_of_page(&page).filter(|t| socle_survey::load::is_slug(t)),
            },
        };
        let record = NewFeedback {
            page,
            template,
            rating: input.rating,
            comment,
            author: (!input.anonymous).then(|| p.subject.clone()),
        };
        Ok(self.store.add_feedback(&record, self.now_ms()).await?)
    }

    /// All feedback for admins; a caller's own signed feedback for everyone else signed in.
    pub async fn list_feedback(&self, actor: &Actor) -> Result<FeedbackList, AppError> {
        let p = actor.require(Role::Viewer)?;
        let all = p.role == Role::Admin;
        let items = self
            .store
            .list_feedback((!all).then_some(p.subject.as_str()))
            .await?;
        Ok(FeedbackList { all, items })
    }

    /// Sets a piece of feedback's status (admins; audited).
    pub async fn triage_feedback(
        &self,
        actor: &Actor,
        id: &str,
        status: &str,
    ) -> Result<FeedbackStatus, AppError> {
        let target: String = id.chars().take(64).collect();
        let result = async {
            actor.require(Role::Admin)?;
            let status = FeedbackStatus::parse(status).ok_or_else(|| {
                AppError::bad_request(format!(
                    "status: one of {}",
                    FeedbackStatus::ALL.map(FeedbackStatus::as_str).join(", ")
                ))
            })?;
            self.store
                .set_feedback_status(id, status, self.now_ms())
                .await?;
            Ok(status)
        }
        .await;
        self.audited_with(actor, AuditAction::FeedbackTriage, &target, result, |s| {
            s.as_str().to_owned()
        })
        .await
    }
}
