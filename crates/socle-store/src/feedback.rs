//! Feedback: a rating and a comment about a portal page or a golden path, with its triage
//! status. Listed newest first.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{FeedbackStatus, Result, Store, StoreError, with_pool};

/// Feedback to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFeedback {
    pub page: String,
    pub template: Option<String>,
    pub rating: u8,
    pub comment: String,
    /// None: sent anonymously.
    pub author: Option<String>,
}

/// Stored feedback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub id: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub page: String,
    pub template: Option<String>,
    pub rating: u8,
    pub comment: String,
    pub author: Option<String>,
    pub status: FeedbackStatus,
    pub updated_at: i64,
}

/// Most feedback listed at once.
pub const MAX_FEEDBACK_LIST: i64 = 1000;

fn row(r: &impl RowLike) -> Result<FeedbackRecord> {
    r.record()
}

trait RowLike {
    fn record(&self) -> Result<FeedbackRecord>;
}

macro_rules! impl_row {
    ($t:ty) => {
        impl RowLike for $t {
            fn record(&self) -> Result<FeedbackRecord> {
                let status: String = self.try_get("status")?;
                let rating: i64 = self.try_get("rating")?;
                Ok(FeedbackRecord {
                    id: self.try_get("id")?,
                    created_at: self.try_get("created_at")?,
                    page: self.try_get("page")?,
                    template: self.try_get("template")?,
                    rating: u8::try_from(rating)
                        .map_err(|_| StoreError::Corrupt(format!("feedback rating {rating}")))?,
                    comment: self.try_get("comment")?,
                    author: self.try_get("author")?,
                    status: FeedbackStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("feedback status {status:?}"))
                    })?,
                    updated_at: self.try_get("updated_at")?,
                })
            }
        }
    };
}
impl_row!(sqlx::sqlite::SqliteRow);
impl_row!(sqlx::postgres::PgRow);

impl Store {
    /// Stores feedback (status `new`) and returns it.
    pub async fn add_feedback(&self, f: &NewFeedback, now_ms: i64) -> Result<FeedbackRecord> {
        let mut id = [0u8; 12];
        rand::Rng::fill(&mut rand::rng(), &mut id);
        let id = hex::encode(id);
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO feedback (id, created_at, page, template, rating, comment, author, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'new', $2)")
                .bind(&id).bind(now_ms).bind(&f.page).bind(&f.template).bind(i64::from(f.rating))
                .bind(&f.comment).bind(&f.author)
                .execute(pool).await?;
        });
        Ok(FeedbackRecord {
            id,
            created_at: now_ms,
            page: f.page.clone(),
            template: f.template.clone(),
            rating: f.rating,
            comment: f.comment.clone(),
            author: f.author.clone(),
            status: FeedbackStatus::New,
            updated_at: now_ms,
        })
    }

    /// Feedback newest first: all of it, or only `author`'s.
    pub async fn list_feedback(&self, author: Option<&str>) -> Result<Vec<FeedbackRecord>> {
        with_pool!(self, pool => {
            let rows = match author {
                Some(a) => sqlx::query("SELECT * FROM feedback WHERE author = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
                    .bind(a).bind(MAX_FEEDBACK_LIST).fetch_all(pool).await?,
                None => sqlx::query("SELECT * FROM feedback ORDER BY created_at DESC, id DESC LIMIT $1")
                    .bind(MAX_FEEDBACK_LIST).fetch_all(pool).await?,
            };
            rows.iter().map(row).collect()
        })
    }

    /// Sets a piece of feedback's status; NotFound when there is none with this id.
    pub async fn set_feedback_status(
        &self,
        id: &str,
        status: FeedbackStatus,
        now_ms: i64,
    ) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE feedback SET status = $2, updated_at = $3 WHERE id = $1")
                .bind(id).bind(status.as_str()).bind(now_ms).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("feedback {id}")));
        }
        Ok(())
    }
}
