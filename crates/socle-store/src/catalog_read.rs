//! What a full load of the read model reads: every entity and every relation, streamed (the
//! delta of a running reader is in `catalog_log.rs`).

use sqlx::Row;

use crate::catalog::ENTITY_COLUMNS;
use crate::{Backend, Result, Store, StoreError, StoredEntity, with_pool};

/// `[type, target]` as SQLite's `json_array` writes it (borrowed unless escaped).
#[derive(serde::Deserialize)]
struct Pair<'a>(
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
);

impl Store {
    /// Streams every entity, ordered by ref, without holding them all at once.
    pub async fn for_each_entity(&self, mut f: impl FnMut(StoredEntity) + Send) -> Result<()> {
        use futures_util::TryStreamExt;
        with_pool!(self, pool => {
            let sql = sqlx::AssertSqlSafe(format!("{ENTITY_COLUMNS} ORDER BY ref"));
            let mut rows = sqlx::query(sql).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                f(crate::catalog::entity_row!(row));
            }
        });
        Ok(())
    }

    /// Streams every stored relation as `(source, type, target)`. On SQLite one row per
    /// source carries all its relations (a tenth of the rows to step through at a million
    /// entities); PostgreSQL streams the rows as they are.
    pub async fn for_each_relation(
        &self,
        mut f: impl FnMut(&str, &str, &str) + Send,
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut rows = sqlx::query(
                    "SELECT source_ref, json_group_array(json_array(type, target_ref)) FROM relations GROUP BY source_ref",
                )
                .fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let s: &str = row.try_get(0)?;
                    let all: &str = row.try_get(1)?;
                    let all: Vec<Pair<'_>> = serde_json::from_str(all)
                        .map_err(|e| StoreError::Corrupt(format!("the relations of {s}: {e}")))?;
                    for Pair(t, d) in &all {
                        f(s, t, d);
                    }
                }
            }
            Backend::Postgres(pool) => {
                let mut rows =
                    sqlx::query("SELECT source_ref, type, target_ref FROM relations").fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    f(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                }
            }
        }
        Ok(())
    }
}
