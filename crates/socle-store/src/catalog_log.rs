//! The catalog's change log (migration 0065): every write that moves the catalog generation
//! records which entities it touched, in the same transaction; a reader holding the read model
//! of generation `g` asks for the delta since `g` ([`Store::catalog_delta`]) and gets, from one
//! consistent snapshot of the database, the entities and relations its read model must rebuild.

use std::collections::{BTreeSet, HashSet};

use sqlx::{QueryBuilder, Row};

use crate::{Backend, Result, Store, StoreError, StoredEntity, StoredRelation};

/// Most refs one generation lists; past it the row says "rebuild" (`refs` NULL).
pub const MAX_LOGGED_REFS: usize = 20_000;

/// Generations the log keeps: a running reader lags by a poll interval, and one that is further
/// behind (or starts) loads everything; at most 200 × 20,000 refs stay in the table.
pub const KEPT_GENERATIONS: i64 = 200;
/// Most refs a delta touches before a rebuild is cheaper.
pub const MAX_DELTA_TOUCHED: usize = 50_000;
/// Most refs a delta rebuilds (touched refs and their neighbours).
pub const MAX_DELTA_AFFECTED: usize = 250_000;

/// What changed in the catalog since a reader's generation.
#[derive(Debug)]
pub enum CatalogChanges {
    /// Nothing: the reader is current.
    Unchanged,
    /// Too much changed, or the log no longer reaches back to the reader's generation: load the
    /// whole catalog.
    Rebuild,
    Delta(CatalogDelta),
}

/// The part of the catalog a reader must rebuild to move to `generation`.
#[derive(Debug, Default)]
pub struct CatalogDelta {
    pub generation: i64,
    /// The entities the changes added, changed or removed, sorted.
    pub touched: Vec<String>,
    /// Every ref whose view is rebuilt: the touched ones, the neighbours the reader named and
    /// the targets of the touched entities' relations now; sorted.
    pub affected: Vec<String>,
    /// The affected entities that exist now, sorted by ref.
    pub entities: Vec<StoredEntity>,
    /// Every stored relation whose source or target is affected, sorted, without repeats.
    pub relations: Vec<StoredRelation>,
    /// The locations that shape the organisation now.
    pub organisation_locations: HashSet<String>,
}

/// Moves the catalog generation and logs the refs `$refs` (an iterator of `&str`) under it:
/// NULL past [`MAX_LOGGED_REFS`]. Trims the log to the newest [`KEPT_GENERATIONS`].
macro_rules! log_catalog_change {
    ($tx:ident, $refs:expr) => {{
        let generation: i64 = sqlx::query_scalar(
            "UPDATE meta SET value = value + 1 WHERE key = 'catalog_generation' RETURNING value",
        )
        .fetch_one(&mut *$tx)
        .await?;
        let refs = $crate::catalog_log::logged_refs($refs)?;
        sqlx::query("INSERT INTO catalog_changes (generation, refs) VALUES ($1, $2)")
            .bind(generation)
            .bind(refs)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM catalog_changes WHERE generation <= $1")
            .bind(generation - $crate::catalog_log::KEPT_GENERATIONS)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use log_catalog_change;

/// The JSON array a generation logs, or `None` when there are too many refs to list.
pub(crate) fn logged_refs<'a>(refs: impl Iterator<Item = &'a str>) -> Result<Option<String>> {
    let refs: BTreeSet<&str> = refs.take(MAX_LOGGED_REFS + 1).collect();
    if refs.len() > MAX_LOGGED_REFS {
        return Ok(None);
    }
    serde_json::to_string(&refs)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Reads the delta in the open read transaction `$tx` into `$out` (a `CatalogChanges`).
macro_rules! read_delta {
    ($tx:ident, $since:expr, $neighbours:expr, $out:ident) => {'read: {
        let generation: i64 = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'catalog_generation'").fetch_one(&mut *$tx).await?;
        if generation == $since {
            $out = CatalogChanges::Unchanged;
            break 'read;
        }
        let rows = sqlx::query("SELECT generation, refs FROM catalog_changes WHERE generation > $1 ORDER BY generation")
            .bind($since).fetch_all(&mut *$tx).await?;
        let Some(touched) = touched_refs(&rows.iter().map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<Option<String>, _>(1)?))).collect::<Result<Vec<_>>>()?, $since, generation)? else {
            $out = CatalogChanges::Rebuild;
            break 'read;
        };
        let mut affected: BTreeSet<String> = touched.iter().cloned().collect();
        affected.extend($neighbours(&touched));
        for chunk in touched.chunks(crate::catalog::KEY_BATCH) {
            let mut qb = QueryBuilder::new("SELECT target_ref FROM relations WHERE source_ref IN (");
            crate::catalog::push_in_list!(qb, chunk.iter().map(String::as_str));
            for row in qb.build().fetch_all(&mut *$tx).await? {
                affected.insert(row.try_get(0)?);
            }
        }
        if affected.len() > MAX_DELTA_AFFECTED {
            $out = CatalogChanges::Rebuild;
            break 'read;
        }
        let affected: Vec<String> = affected.into_iter().collect();
        let mut entities = Vec::new();
        let mut relations = Vec::new();
        for chunk in affected.chunks(crate::catalog::KEY_BATCH) {
            let mut qb = QueryBuilder::new(crate::catalog::ENTITY_COLUMNS);
            qb.push(" WHERE ref IN (");
            crate::catalog::push_in_list!(qb, chunk.iter().map(String::as_str));
            for row in qb.build().fetch_all(&mut *$tx).await? {
                entities.push(crate::catalog::entity_row!(row));
            }
            for column in ["source_ref", "target_ref"] {
                let mut qb = QueryBuilder::new("SELECT source_ref, type, target_ref FROM relations WHERE ");
                qb.push(column).push(" IN (");
                crate::catalog::push_in_list!(qb, chunk.iter().map(String::as_str));
                for row in qb.build().fetch_all(&mut *$tx).await? {
                    relations.push(StoredRelation { source: row.try_get(0)?, kind: row.try_get(1)?, target: row.try_get(2)? });
                }
            }
        }
        let organisation_locations = sqlx::query_scalar::<_, String>("SELECT key FROM locations WHERE trust = 'organisation'")
            .fetch_all(&mut *$tx).await?.into_iter().collect();
        entities.sort_by(|a, b| a.entity_ref.cmp(&b.entity_ref));
        relations.sort();
        relations.dedup();
        $out = CatalogChanges::Delta(CatalogDelta { generation, touched, affected, entities, relations, organisation_locations });
    }};
}

/// The refs the log rows of generations `since + 1 ..= generation` touched, sorted; `None` when
/// a generation is missing, too big to list, or the whole is past [`MAX_DELTA_TOUCHED`].
fn touched_refs(
    rows: &[(i64, Option<String>)],
    since: i64,
    generation: i64,
) -> Result<Option<Vec<String>>> {
    let complete = i64::try_from(rows.len()).ok() == Some(generation - since)
        && rows.first().is_none_or(|r| r.0 == since + 1);
    if !complete {
        return Ok(None);
    }
    let mut touched = BTreeSet::new();
    for (g, refs) in rows {
        let Some(refs) = refs else { return Ok(None) };
        let list: Vec<String> = serde_json::from_str(refs)
            .map_err(|e| StoreError::Corrupt(format!("catalog change {g}: {e}")))?;
        touched.extend(list);
        if touched.len() > MAX_DELTA_TOUCHED {
            return Ok(None);
        }
    }
    Ok(Some(touched.into_iter().collect()))
}

impl Store {
    /// What changed since generation `since`, read from one snapshot of the database (SQLite: a
    /// read transaction; PostgreSQL: `REPEATABLE READ`), so a delta never holds half of a
    /// location's change. `neighbours` names, for the touched refs, the refs the reader's read
    /// model relates them to now (their views change too).
    pub async fn catalog_delta(
        &self,
        since: i64,
        neighbours: impl FnOnce(&[String]) -> Vec<String> + Send,
    ) -> Result<CatalogChanges> {
        let out: CatalogChanges;
        match &self.backend {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                read_delta!(tx, since, neighbours, out);
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                read_delta!(tx, since, neighbours, out);
                tx.commit().await?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(g: i64, refs: &[&str]) -> (i64, Option<String>) {
        (g, Some(serde_json::to_string(refs).unwrap()))
    }

    #[test]
    fn consecutive_generations_give_their_refs_sorted_once() {
        let rows = [row(4, &["b", "a"]), row(5, &["a", "c"])];
        assert_eq!(
            touched_refs(&rows, 3, 5).unwrap(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
    }

    #[test]
    fn a_missing_generation_asks_for_a_rebuild() {
        let rows = [row(5, &["a"])];
        assert_eq!(touched_refs(&rows, 3, 5).unwrap(), None);
        assert_eq!(touched_refs(&[row(4, &["a"])], 3, 5).unwrap(), None);
    }

    #[test]
    fn a_generation_too_big_to_list_asks_for_a_rebuild() {
        let rows = [row(4, &["a"]), (5, None)];
        assert_eq!(touched_refs(&rows, 3, 5).unwrap(), None);
    }

    #[test]
    fn too_many_refs_are_logged_as_null() {
        let many: Vec<String> = (0..=MAX_LOGGED_REFS).map(|i| format!("c:{i}")).collect();
        assert_eq!(logged_refs(many.iter().map(String::as_str)).unwrap(), None);
        assert_eq!(
            logged_refs(["b", "a", "b"].into_iter()).unwrap().as_deref(),
            Some(r#"["a","b"]"#)
        );
    }
}
