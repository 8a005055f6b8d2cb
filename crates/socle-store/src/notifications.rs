//! Notifications: what a golden path (`notification:send`) tells people. Each goes to everyone
//! (broadcast) or to entity refs (users and groups); a reader's notifications are those sent to
//! everyone or to one of the refs that stand for them (the application decides which: the user
//! and their teams).

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BeginWrite, NotificationSeverity, Result, Store, StoreError, with_pool};

/// Most refs a reader stands for in one query (the user and their teams).
pub const MAX_RECIPIENT_REFS: usize = 1_000;
/// Prefix of notification ids (`notification-<seq>`).
const ID_PREFIX: &str = "notification-";

/// Who receives a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    /// Everyone who can sign in.
    Broadcast,
    /// These entity refs (`user:default/ann`, `group:default/team-a`), lowercased.
    Entities(Vec<String>),
}

/// A notification to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Who or what sent it (`user:default/ann via template hello (run-3)`).
    pub origin: String,
    pub title: String,
    pub description: Option<String>,
    pub link: Option<String>,
    pub severity: NotificationSeverity,
    pub scope: Option<String>,
    pub recipients: Recipients,
}

/// A recorded notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `notification-<seq>`, assigned by the store.
    pub id: String,
    pub created_at: i64,
    pub origin: String,
    pub title: String,
    pub description: Option<String>,
    pub link: Option<String>,
    pub severity: NotificationSeverity,
    pub scope: Option<String>,
    /// Sent to everyone.
    pub broadcast: bool,
    /// The entity refs it was sent to (empty for a broadcast).
    pub recipients: Vec<String>,
}

/// A page of a reader's notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// How many notifications the reader has, on every page.
    pub total: usize,
    /// The id the next page starts after; None on the last page.
    pub next_cursor: Option<String>,
}

/// The sequence number in a cursor (`notification-<seq>`).
fn cursor_seq(cursor: &str) -> Result<i64> {
    cursor
        .strip_prefix(ID_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Invalid(format!("cursor {cursor:?} is not a notification id")))
}

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition that keeps a reader's notifications, its refs bound from `$first`.
fn visible(first: usize, refs: usize) -> String {
    let mine = if refs == 0 {
        "0 = 1".to_owned()
    } else {
        format!(
            "EXISTS (SELECT 1 FROM notification_recipients r WHERE r.notification_id = n.id AND r.recipient IN ({}))",
            placeholders(first, refs)
        )
    };
    format!("(n.broadcast = 1 OR {mine})")
}

const COLUMNS: &str = "n.id, n.seq, n.created_at, n.origin, n.title, n.description, n.link, n.severity, n.scope, n.broadcast";

macro_rules! notification_row {
    ($r:expr) => {{
        let severity: String = $r.try_get("severity")?;
        Notification {
            id: $r.try_get("id")?,
            created_at: $r.try_get("created_at")?,
            origin: $r.try_get("origin")?,
            title: $r.try_get("title")?,
            description: $r.try_get("description")?,
            link: $r.try_get("link")?,
            severity: NotificationSeverity::parse(&severity)
                .ok_or_else(|| StoreError::Corrupt(format!("notification severity {severity}")))?,
            scope: $r.try_get("scope")?,
            broadcast: $r.try_get::<i64, _>("broadcast")? != 0,
            recipients: Vec::new(),
        }
    }};
}

impl Store {
    /// Records a notification; its id is assigned here.
    pub async fn send_notification(&self, n: NewNotification, now_ms: i64) -> Result<Notification> {
        let (broadcast, mut recipients) = match n.recipients {
            Recipients::Broadcast => (true, Vec::new()),
            Recipients::Entities(refs) => (
                false,
                refs.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>(),
            ),
        };
        recipients.sort();
        recipients.dedup();
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let seq: i64 = sqlx::query_scalar("UPDATE meta SET value = value + 1 WHERE key = 'notification_seq' RETURNING value").fetch_one(&mut *tx).await?;
            let id = format!("{ID_PREFIX}{seq}");
            sqlx::query("INSERT INTO notifications (id, seq, created_at, origin, title, description, link, severity, scope, broadcast) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(&id).bind(seq).bind(now_ms).bind(&n.origin).bind(&n.title).bind(&n.description)
                .bind(&n.link).bind(n.severity.as_str()).bind(&n.scope).bind(i64::from(broadcast))
                .execute(&mut *tx).await?;
            for r in &recipients {
                sqlx::query("INSERT INTO notification_recipients (notification_id, seq, recipient) VALUES ($1, $2, $3)")
                    .bind(&id).bind(seq).bind(r).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        Ok(Notification {
            id,
            created_at: now_ms,
            origin: n.origin,
            title: n.title,
            description: n.description,
            link: n.link,
            severity: n.severity,
            scope: n.scope,
            broadcast,
            recipients,
        })
    }

    /// Removes a notification (a run that sent it was undone). Missing: nothing to do.
    pub async fn delete_notification(&self, id: &str) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM notification_recipients WHERE notification_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM notifications WHERE id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The notifications of a reader who stands for `refs` (lowercased entity refs, at most
    /// [`MAX_RECIPIENT_REFS`]): broadcasts and those sent to one of the refs, newest first,
    /// `limit` (1–500) after `cursor` (the previous page's last id).
    pub async fn list_notifications(
        &self,
        refs: &[String],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<NotificationPage> {
        if refs.len() > MAX_RECIPIENT_REFS {
            return Err(StoreError::Invalid(format!(
                "{} refs: at most {MAX_RECIPIENT_REFS}",
                refs.len()
            )));
        }
        let before = cursor.map(cursor_seq).transpose()?.unwrap_or(i64::MAX);
        let limit = limit.clamp(1, 500);
        let page_sql = format!(
            "SELECT {COLUMNS} FROM notifications n WHERE n.seq < $1 AND {} ORDER BY n.seq DESC LIMIT $2",
            visible(3, refs.len())
        );
        let count_sql = format!(
            "SELECT COUNT(*) FROM notifications n WHERE {}",
            visible(1, refs.len())
        );
        let (mut items, total) = with_pool!(self, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(page_sql)).bind(before).bind(i64::try_from(limit + 1).unwrap_or(i64::MAX));
            for r in refs {
                q = q.bind(r);
            }
            let rows = q.fetch_all(pool).await?;
            let mut items = Vec::with_capacity(rows.len());
            for r in rows {
                items.push(notification_row!(r));
            }
            let mut c = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql));
            for r in refs {
                c = c.bind(r);
            }
            let total = c.fetch_one(pool).await?;
            (items, total)
        });
        let more = items.len() > limit;
        items.truncate(limit);
        self.fill_recipients(&mut items).await?;
        let next_cursor = if more {
            items.last().map(|n| n.id.clone())
        } else {
            None
        };
        Ok(NotificationPage {
            items,
            total: usize::try_from(total).unwrap_or(0),
            next_cursor,
        })
    }

    /// Sets each notification's `recipients`.
    async fn fill_recipients(&self, items: &mut [Notification]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT notification_id, recipient FROM notification_recipients WHERE notification_id IN ({}) ORDER BY recipient",
            placeholders(1, items.len())
        );
        let rows: Vec<(String, String)> = with_pool!(self, pool => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for n in items.iter() {
                q = q.bind(&n.id);
            }
            let mut out = Vec::new();
            for r in q.fetch_all(pool).await? {
                out.push((r.try_get("notification_id")?, r.try_get("recipient")?));
            }
            out
        });
        for (id, recipient) in rows {
            if let Some(n) = items.iter_mut().find(|n| n.id == id) {
                n.recipients.push(recipient);
            }
        }
        Ok(())
    }
}
