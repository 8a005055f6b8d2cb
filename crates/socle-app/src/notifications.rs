//! Notifications: what golden paths tell people (`notification:send`), and each reader's list.
//!
//! A notification goes to everyone (a broadcast: admins only) or to entity refs. A user or a
//! group is notified as named; any other entity (a component, a system…) notifies its owner,
//! as Backstage's notification service does. A reader sees broadcasts and what was sent to
//! them, to a group they belong to, or to a parent of one (the organisation's tree).

use std::collections::BTreeSet;

use socle_catalog::{EntityRef, RelationType};
use socle_store::{
    NewNotification, Notification, NotificationPage, NotificationSeverity, Recipients,
};

use crate::App;
use crate::actor::Actor;
use crate::error::AppError;

/// Longest title, description, link and scope, in bytes.
pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_LINK: usize = 2_048;
pub const MAX_SCOPE: usize = 200;
/// Most entity refs one notification names.
pub const MAX_ENTITY_REFS: usize = 100;
/// Default and largest page of [`App::list_notifications`].
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 500;

/// Who a notification is for, as a sender names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Entity refs (`user:default/ann`, `group:team-a`, `component:shop`).
    Entities(Vec<String>),
}

/// A notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationInput {
    pub audience: Audience,
    pub title: String,
    pub description: Option<String>,
    pub link: Option<String>,
    pub severity: NotificationSeverity,
    pub scope: Option<String>,
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("title is required")]
    NoTitle,
    #[error("{field}: {len} bytes, at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("link {0:?}: an http:// or https:// URL, or a path starting with /")]
    Link(String),
    #[error("entityRefs: name at least one recipient")]
    NoRecipients,
    #[error("entityRefs: {0} refs, at most {MAX_ENTITY_REFS}")]
    TooManyRecipients(usize),
    #[error("entityRefs: {reference:?} is not an entity ref: {reason}")]
    BadRef { reference: String, reason: String },
    #[error("entityRefs: {0} is not in the catalog")]
    Unknown(String),
    #[error("entityRefs: {0} has no owner to notify")]
    NoOwner(String),
}

impl From<NotificationError> for AppError {
    fn from(e: NotificationError) -> Self {
        AppError::bad_request(e.to_string())
    }
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<(), NotificationError> {
    if value.len() > max {
        return Err(NotificationError::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

impl NotificationInput {
    /// Checks sizes and the link (a reader's client opens it: no `javascript:` or other scheme).
    pub fn check(&self) -> Result<(), NotificationError> {
        if self.title.trim().is_empty() {
            return Err(NotificationError::NoTitle);
        }
        bounded("title", &self.title, MAX_TITLE)?;
        bounded(
            "description",
            self.description.as_deref().unwrap_or(""),
            MAX_DESCRIPTION,
        )?;
        bounded("scope", self.scope.as_deref().unwrap_or(""), MAX_SCOPE)?;
        if let Some(link) = &self.link {
            bounded("link", link, MAX_LINK)?;
            let lower = link.to_ascii_lowercase();
            let ok = lower.starts_with("https://")
                || lower.starts_with("http://")
                || (link.starts_with('/') && !link.starts_with("//"));
            if !ok || link.chars().any(char::is_control) {
                return Err(NotificationError::Link(link.clone()));
            }
        }
        if let Audience::Entities(refs) = &self.audience {
            if refs.is_empty() {
                return Err(NotificationError::NoRecipients);
            }
            if refs.len() > MAX_ENTITY_REFS {
                return Err(NotificationError::TooManyRecipients(refs.len()));
            }
        }
        Ok(())
    }
}

impl App {
    /// The refs a notification to `refs` reaches: users and groups as named, any other entity's
    /// owner. Every ref must be in the catalog.
    fn recipients(&self, refs: &[String]) -> Result<Vec<String>, NotificationError> {
        let snap = self.snapshot();
        let mut out = BTreeSet::new();
        for text in refs {
            let r =
                EntityRef::parse(text, None, "default").map_err(|e| NotificationError::BadRef {
                    reference: text.clone(),
                    reason: e.to_string(),
                })?;
            let key = r.to_string().to_lowercase();
            let v = snap
                .get(&key)
                .ok_or_else(|| NotificationError::Unknown(key.clone()))?;
            match v.kind() {
                "user" | "group" => {
                    out.insert(key);
                }
                _ => {
                    let owner = v
                        .owner
                        .ok_or_else(|| NotificationError::NoOwner(key.clone()))?;
                    out.insert(snap.name(owner).to_lowercase());
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Sends a notification as `actor` (a member; a broadcast needs an admin); `via` says what
    /// sent it (a golden path's run), recorded with the sender.
    pub async fn send_notification(
        &self,
        actor: &Actor,
        input: NotificationInput,
        via: &str,
    ) -> Result<Notification, AppError> {
        let principal = actor.require(socle_store::Role::Member)?;
        input.check()?;
        let recipients = match &input.audience {
            Audience::Everyone => {
                if !actor.is_admin() {
                    return Err(AppError::forbidden(format!(
                        "a broadcast notifies everyone: admins only ({} is not an admin); name the users or groups to notify",
                        principal.subject
                    )));
                }
                Recipients::Broadcast
            }
            Audience::Entities(refs) => Recipients::Entities(self.recipients(refs)?),
        };
        let origin = format!("{} via {via}", principal.subject);
        Ok(self
            .store
            .send_notification(
                NewNotification {
                    origin,
                    title: input.title,
                    description: input.description,
                    link: input.link,
                    severity: input.severity,
                    scope: input.scope,
                    recipients,
                },
                self.now_ms(),
            )
            .await?)
    }

    /// Removes a notification a failed run sent.
    pub async fn retract_notification(&self, id: &str) -> Result<(), AppError> {
        Ok(self.store.delete_notification(id).await?)
    }

    /// The refs that stand for a signed-in reader: their own, every group they belong to
    /// (service accounts: the groups listing them) and every parent of those, bounded.
    pub fn reader_refs(&self, actor: &Actor) -> Result<Vec<String>, AppError> {
        let principal = actor.require(socle_store::Role::Viewer)?;
        let snap = self.snapshot();
        let subject = principal.subject.to_lowercase();
        let mut refs = BTreeSet::from([subject.clone()]);
        for g in crate::teams::groups_of(&snap, &subject) {
            let group = snap.name(g).to_owned();
            refs.extend(crate::teams::walk(&snap, &group, RelationType::ChildOf));
        }
        let mut refs: Vec<String> = refs.into_iter().map(|r| r.to_lowercase()).collect();
        if refs.len() > socle_store::MAX_RECIPIENT_REFS {
            tracing::warn!(
                subject,
                refs = refs.len(),
                "a reader stands for more refs than a notification query takes: the first {} are used",
                socle_store::MAX_RECIPIENT_REFS
            );
            refs.truncate(socle_store::MAX_RECIPIENT_REFS);
        }
        Ok(refs)
    }

    /// A signed-in reader's notifications, newest first (anonymous callers have none: 401).
    pub async fn list_notifications(
        &self,
        actor: &Actor,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<NotificationPage, AppError> {
        let refs = self.reader_refs(actor)?;
        if let Some(c) = cursor
            && !c.strip_prefix("notification-").is_some_and(|n| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && n.len() < 19
            })
        {
            return Err(AppError::bad_request(format!(
                "cursor {c:?} is not a notification id (the nextCursor of a previous page)"
            )));
        }
        let limit = limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        Ok(self.store.list_notifications(&refs, cursor, limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(link: Option<&str>) -> NotificationInput {
        NotificationInput {
            audience: Audience::Entities(vec!["user:default/ann".into()]),
            title: "Hello".into(),
            description: None,
            link: link.map(str::to_owned),
            severity: NotificationSeverity::Normal,
            scope: None,
        }
    }

    #[test]
    fn links_are_web_urls_or_paths() {
        for ok in [
            "https://x.example/a",
            "HTTP://x",
            "/catalog/default/component/shop",
        ] {
            assert_eq!(input(Some(ok)).check(), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "data:text/html,x",
            "https://x\n",
        ] {
            assert!(
                matches!(input(Some(bad)).check(), Err(NotificationError::Link(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_field_is_bounded() {
        let mut i = input(None);
        i.title = "t".repeat(MAX_TITLE + 1);
        assert!(matches!(
            i.check(),
            Err(NotificationError::TooLong { field: "title", .. })
        ));
        let mut i = input(None);
        i.description = Some("d".repeat(MAX_DESCRIPTION + 1));
        assert!(matches!(
            i.check(),
            Err(NotificationError::TooLong {
                field: "description",
                ..
            })
        ));
        let mut i = input(None);
        i.audience = Audience::Entities(vec!["user:default/a".into(); MAX_ENTITY_REFS + 1]);
        assert_eq!(
            i.check(),
            Err(NotificationError::TooManyRecipients(MAX_ENTITY_REFS + 1))
        );
        let mut i = input(None);
        i.title = "  ".into();
        assert_eq!(i.check(), Err(NotificationError::NoTitle));
        let mut i = input(None);
        i.audience = Audience::Entities(vec![]);
        assert_eq!(i.check(), Err(NotificationError::NoRecipients));
    }
}
