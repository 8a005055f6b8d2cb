//! What a full load of the read model reads: the catalog generation, every entity (by ref), then
//! every relation — from ONE snapshot of the database (SQLite: a read transaction; PostgreSQL:
//! `REPEATABLE READ`), so a load never holds half of a location's change. The delta of a running
//! reader is in `catalog_log.rs`.
//!
//! SQLite: the driver hands each row from its worker thread through a channel, and copies every
//! column of it; at a million entities that costs more than reading them. So a page of rows
//! comes back as ONE value — a row's fields joined by the unit separator (U+001F), rows by the
//! record separator (U+001E) — split here and handed on borrowed. Refs, relation types and JSON
//! text hold no control character (the catalog's rules refuse them in names; JSON escapes
//! them); a page where a row does not split into its fields, or whose row count is not
//! SQLite's, is read again row by row. PostgreSQL: the rows stream from the socket.

use sqlx::Row;

use crate::{Backend, Result, Store};

/// An entity as a full load reads it, borrowed from the page it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedEntity<'a> {
    pub entity_ref: &'a str,
    /// Read from a location of trust `organisation` (one that may shape the organisation).
    pub organisation: bool,
    /// The entity as JSON text.
    pub body: &'a str,
}

/// Where [`Store::load_catalog`] puts what it reads, in this order: every entity (ordered by
/// ref with the database's collation), [`CatalogSink::entities_done`] once, then every relation
/// as its source's spec emitted it, in no particular order.
pub trait CatalogSink: Send {
    fn entity(&mut self, e: LoadedEntity<'_>);
    /// Every entity has been given; relations follow.
    fn entities_done(&mut self) {}
    fn relation(&mut self, source: &str, kind: &str, target: &str);
    /// A page of relations, `[source, type, target]` each: one by one unless the sink does
    /// better with them together.
    fn relations(&mut self, page: &[[&str; 3]]) {
        for [source, kind, target] in page {
            self.relation(source, kind, target);
        }
    }
}

/// Rows per page of a load on SQLite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadPage {
    entities: i64,
    relations: i64,
}

impl Default for LoadPage {
    /// An entity is ~600 bytes in a generated organisation, a relation ~80.
    fn default() -> Self {
        Self {
            entities: 20_000,
            relations: 100_000,
        }
    }
}
const FIELD: char = '\u{1f}';
const ROW: char = '\u{1e}';

const GENERATION: &str = "SELECT value FROM meta WHERE key = 'catalog_generation'";
/// Whether an entity's location is of trust `organisation`.
macro_rules! organisation {
    () => {
        "(location_key IN (SELECT key FROM locations WHERE trust = 'organisation'))"
    };
}

const ENTITIES_PACKED: &str = concat!(
    "SELECT max(ref), count(*), group_concat(f, char(30)) FROM (SELECT ref, ref || char(31) || ",
    organisation!(),
    " || char(31) || body AS f FROM entities WHERE ref > ?1 ORDER BY ref LIMIT ?2)"
);
const ENTITIES_ROWS: &str = concat!(
    "SELECT ref, ",
    organisation!(),
    ", body FROM entities WHERE ref > ?1 AND ref <= ?2 ORDER BY ref"
);
const ENTITIES_PG: &str = concat!(
    "SELECT ref, ",
    organisation!(),
    ", body FROM entities ORDER BY ref"
);
const RELATIONS_PACKED: &str = "SELECT max(r), count(*), group_concat(f, char(30)) FROM (SELECT rowid AS r, \
    source_ref || char(31) || type || char(31) || target_ref AS f FROM relations WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)";
const RELATIONS_ROWS: &str =
    "SELECT source_ref, type, target_ref FROM relations WHERE rowid > ?1 AND rowid <= ?2";

/// Splits `text` into `count` rows of exactly `N` fields; `None` when it does not.
fn split_page<const N: usize>(text: &str, count: usize) -> Option<Vec<[&str; N]>> {
    let mut rows = Vec::with_capacity(count);
    for row in text.split(ROW) {
        let mut fields = row.split(FIELD);
        let mut out = [""; N];
        for slot in &mut out {
            *slot = fields.next()?;
        }
        if fields.next().is_some() {
            return None;
        }
        rows.push(out);
    }
    (rows.len() == count).then_some(rows)
}

/// An entity of a packed page: its flag must read `0` or `1`.
fn packed_entity<'a>([entity_ref, flag, body]: [&'a str; 3]) -> Option<LoadedEntity<'a>> {
    let organisation = match flag {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    Some(LoadedEntity {
        entity_ref,
        organisation,
        body,
    })
}

/// One page read by SQLite: the last key, the row count and the packed rows.
type Page<K> = (Option<K>, i64, Option<String>);

macro_rules! sqlite_entities {
    ($tx:expr, $sink:expr, $page:expr) => {{
        let mut after = String::new();
        loop {
            let (last, count, text): Page<String> = sqlx::query_as(ENTITIES_PACKED)
                .bind(&after)
                .bind($page.entities)
                .fetch_one(&mut *$tx)
                .await?;
            let Some(last) = last else { break };
            let text = text.unwrap_or_default();
            let page = split_page::<3>(&text, count as usize).and_then(|rows| {
                rows.into_iter()
                    .map(packed_entity)
                    .collect::<Option<Vec<_>>>()
            });
            match page {
                Some(entities) => entities.into_iter().for_each(|e| $sink.entity(e)),
                None => {
                    let rows = sqlx::query(ENTITIES_ROWS)
                        .bind(&after)
                        .bind(&last)
                        .fetch_all(&mut *$tx)
                        .await?;
                    for row in &rows {
                        $sink.entity(LoadedEntity {
                            entity_ref: row.try_get(0)?,
                            organisation: row.try_get::<i64, _>(1)? != 0,
                            body: row.try_get(2)?,
                        });
                    }
                }
            }
            if count < $page.entities {
                break;
            }
            after = last;
        }
    }};
}

macro_rules! sqlite_relations {
    ($tx:expr, $sink:expr, $page:expr) => {{
        let mut after = 0_i64;
        loop {
            let (last, count, text): Page<i64> = sqlx::query_as(RELATIONS_PACKED)
                .bind(after)
                .bind($page.relations)
                .fetch_one(&mut *$tx)
                .await?;
            let Some(last) = last else { break };
            let text = text.unwrap_or_default();
            match split_page::<3>(&text, count as usize) {
                Some(rows) => $sink.relations(&rows),
                None => {
                    let rows = sqlx::query(RELATIONS_ROWS)
                        .bind(after)
                        .bind(last)
                        .fetch_all(&mut *$tx)
                        .await?;
                    for row in &rows {
                        $sink.relation(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                    }
                }
            }
            if count < $page.relations {
                break;
            }
            after = last;
        }
    }};
}

impl Store {
    /// This store with full loads read `rows` at a time on SQLite: tests take several pages
    /// with a few.
    #[doc(hidden)]
    pub fn with_load_page(mut self, rows: usize) -> Self {
        let rows = i64::try_from(rows.max(1)).unwrap_or(i64::MAX);
        self.load_page = LoadPage {
            entities: rows,
            relations: rows,
        };
        self
    }

    /// Reads the whole catalog into `sink` from one snapshot of the database and returns the
    /// generation that snapshot holds.
    pub async fn load_catalog(&self, sink: &mut impl CatalogSink) -> Result<i64> {
        use futures_util::TryStreamExt;
        let generation: i64;
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                generation = sqlx::query_scalar(GENERATION).fetch_one(&mut *tx).await?;
                sqlite_entities!(tx, sink, self.load_page);
                sink.entities_done();
                sqlite_relations!(tx, sink, self.load_page);
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                generation = sqlx::query_scalar(GENERATION).fetch_one(&mut *tx).await?;
                {
                    let mut rows = sqlx::query(ENTITIES_PG).fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await? {
                        sink.entity(LoadedEntity {
                            entity_ref: row.try_get(0)?,
                            organisation: row.try_get(1)?,
                            body: row.try_get(2)?,
                        });
                    }
                }
                sink.entities_done();
                {
                    let mut rows =
                        sqlx::query("SELECT source_ref, type, target_ref FROM relations")
                            .fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await? {
                        sink.relation(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                    }
                }
                tx.commit().await?;
            }
        }
        Ok(generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_splits_into_its_rows_and_fields() {
        let text = "a\u{1f}1\u{1f}{}\u{1e}b\u{1f}0\u{1f}{\"x\":1}";
        let rows = split_page::<3>(text, 2).unwrap();
        assert_eq!(rows, vec![["a", "1", "{}"], ["b", "0", "{\"x\":1}"]]);
        assert_eq!(
            packed_entity(rows[0]),
            Some(LoadedEntity {
                entity_ref: "a",
                organisation: true,
                body: "{}"
            })
        );
    }

    #[test]
    fn a_row_with_a_separator_in_a_field_does_not_split() {
        // A fourth field, or a row too many: the page is read again row by row.
        assert_eq!(split_page::<3>("a\u{1f}1\u{1f}{\u{1f}}", 1), None);
        assert_eq!(split_page::<3>("a\u{1f}1\u{1f}{\u{1e}}", 1), None);
        assert_eq!(split_page::<3>("a\u{1f}1", 1), None);
        assert_eq!(packed_entity(["a", "2", "{}"]), None);
    }
}
