//! Building a pipeline's models on PostgreSQL (`socle data run`). Each model in one
//! transaction with a statement time limit: a view as `CREATE OR REPLACE VIEW` (a table of the
//! same name dropped first), a table as `CREATE TABLE … AS` under a temporary name, the old
//! relation dropped and the new one renamed into place — readers see the old table or the new
//! one, never none. Views built on the old relation (`pg_depend`, transitively) are created
//! again over the new one in the same transaction, from their own definitions, with their
//! grants. Names are always quoted; the model's SQL, already checked to be exactly one
//! read-only query, is sent as one prepared statement, which PostgreSQL refuses to hold two.

use std::time::Duration;

use socle_data::pipeline::{Materialized, relation};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

use crate::EngineError;

/// Suffix of the temporary name a table is built under.
const TMP_SUFFIX: &str = "__socle_new";

/// A connection that builds models.
pub struct Builder {
    conn: PgConnection,
    statement_timeout: Duration,
}

/// What exists under a model's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Existing {
    Nothing,
    Table,
    View,
    MaterializedView,
    Other,
}

fn db_error(e: sqlx::Error) -> String {
    match e.as_database_error() {
        Some(d) => d.message().to_owned(),
        None => e.to_string(),
    }
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

async fn exec(tx: &mut Tx<'_>, sql: String) -> Result<(), String> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(db_error)
}

/// A temporary name for `name` that stays within PostgreSQL's 63 bytes.
fn temporary(name: &str) -> String {
    let mut keep = 63 - TMP_SUFFIX.len();
    while !name.is_char_boundary(keep.min(name.len())) {
        keep -= 1;
    }
    format!("{}{TMP_SUFFIX}", &name[..keep.min(name.len())])
}

impl Builder {
    /// Connects to `url` (credentials in it or from libpq's environment).
    pub async fn connect(url: &str, statement_timeout: Duration) -> Result<Self, EngineError> {
        let options = url
            .parse::<PgConnectOptions>()
            .map_err(|e| EngineError::Connect {
                at: "the given URL".into(),
                message: e.to_string(),
            })?
            .application_name("socle data run");
        let conn = crate::connect(&options).await?;
        Ok(Self {
            conn,
            statement_timeout,
        })
    }

    async fn begin(&mut self) -> Result<Tx<'_>, String> {
        let mut tx = self.conn.begin().await.map_err(db_error)?;
        let ms = self.statement_timeout.as_millis().max(1);
        exec(&mut tx, format!("SET LOCAL statement_timeout = {ms}")).await?;
        exec(&mut tx, "SET LOCAL client_min_messages = warning".into()).await?;
        Ok(tx)
    }

    /// Creates `schema` unless it exists.
    pub async fn ensure_schema(&mut self, schema: &str) -> Result<(), String> {
        let mut tx = self.begin().await?;
        exec(
            &mut tx,
            format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                socle_data::quality::sql::ident(schema)
            ),
        )
        .await?;
        tx.commit().await.map_err(db_error)
    }

    /// Builds one model as `schema.name` from its rendered `sql`.
    pub async fn build(
        &mut self,
        schema: &str,
        name: &str,
        materialized: Materialized,
        sql: &str,
    ) -> Result<(), String> {
        let target = relation(Some(schema), name);
        let mut tx = self.begin().await?;
        let (existing, oid) = existing(&mut tx, schema, name).await?;
        if materialized == Materialized::View && existing == Existing::View {
            // In place when PostgreSQL allows it (the same columns, maybe more at the end);
            // otherwise dropped and created again below, with the views built on it.
            let mut sp = tx.begin().await.map_err(db_error)?;
            let replace = format!("CREATE OR REPLACE VIEW {target} AS\n{sql}");
            if exec(&mut sp, replace).await.is_ok() {
                sp.commit().await.map_err(db_error)?;
                return tx.commit().await.map_err(db_error);
            }
            sp.rollback().await.map_err(db_error)?;
        }
        let staged = match materialized {
            Materialized::View => None,
            Materialized::Table => {
                let tmp_name = temporary(name);
                let tmp = relation(Some(schema), &tmp_name);
                exec(&mut tx, format!("DROP TABLE IF EXISTS {tmp}")).await?;
                exec(&mut tx, format!("CREATE TABLE {tmp} AS\n{sql}")).await?;
                Some(tmp)
            }
        };
        let saved = match oid {
            Some(oid) => dependent_views(&mut tx, oid, &target).await?,
            None => Vec::new(),
        };
        drop_existing(&mut tx, existing, &target, !saved.is_empty()).await?;
        match staged {
            None => exec(&mut tx, format!("CREATE VIEW {target} AS\n{sql}")).await?,
            Some(tmp) => {
                exec(
                    &mut tx,
                    format!(
                        "ALTER TABLE {tmp} RENAME TO {}",
                        socle_data::quality::sql::ident(name)
                    ),
                )
                .await?
            }
        }
        for v in &saved {
            exec(
                &mut tx,
                format!("CREATE VIEW {} AS\n{}", v.relation, v.definition),
            )
            .await
            .map_err(|e| {
                format!(
                    "the view {} built on {target} no longer applies to it: {e}",
                    v.relation
                )
            })?;
            for g in &v.grants {
                if let Some((privilege, grantee)) = g.split_once(' ') {
                    let grant = format!("GRANT {privilege} ON {} TO {grantee}", v.relation);
                    exec(&mut tx, grant).await?;
                }
            }
        }
        tx.commit().await.map_err(db_error)
    }
}

async fn existing(
    tx: &mut Tx<'_>,
    schema: &str,
    name: &str,
) -> Result<(Existing, Option<i64>), String> {
    let row = sqlx::query(
        "SELECT c.relkind::text, c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relname = $2",
    )
    .bind(schema)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_error)?;
    let Some(row) = row else {
        return Ok((Existing::Nothing, None));
    };
    let kind = match row.get::<String, _>(0).as_str() {
        "r" | "p" => Existing::Table,
        "v" => Existing::View,
        "m" => Existing::MaterializedView,
        _ => Existing::Other,
    };
    Ok((kind, Some(row.get(1))))
}

/// A view built on a relation about to be replaced, to be created again over the new one.
struct SavedView {
    relation: String,
    definition: String,
    /// `PRIVILEGE GRANTEE [WITH GRANT OPTION]`, the grantee quoted (or `PUBLIC`).
    grants: Vec<String>,
}

/// Views depending on `oid`, directly or through other views, in an order they can be created
/// in again (deepest last). Materialised views are refused (their data would be lost).
async fn dependent_views(
    tx: &mut Tx<'_>,
    oid: i64,
    target: &str,
) -> Result<Vec<SavedView>, String> {
    let rows = sqlx::query(
        "WITH RECURSIVE deps(oid, depth) AS ( \
           SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid \
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass \
              AND d.refobjid = $1::int8::oid AND r.ev_class <> $1::int8::oid \
           UNION \
           SELECT r.ev_class, deps.depth + 1 FROM deps \
             JOIN pg_depend d ON d.refobjid = deps.oid AND d.classid = 'pg_rewrite'::regclass \
                             AND d.refclassid = 'pg_class'::regclass \
             JOIN pg_rewrite r ON r.oid = d.objid \
            WHERE r.ev_class <> deps.oid AND deps.depth < 32) \
         SELECT n.nspname::text, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), max(deps.depth) AS depth, \
                ARRAY(SELECT a.privilege_type || ' ' || \
                        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END || \
                        CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END \
                      FROM aclexplode(c.relacl) a) AS grants \
           FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace \
          GROUP BY n.nspname, c.relname, c.relkind, c.oid ORDER BY depth, 1, 2",
    )
    .bind(oid)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (schema, name, kind): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let relation = relation(Some(&schema), &name);
        if kind != "v" {
            return Err(format!(
                "{relation} is built on {target} and is not a view; {target} was left as it was"
            ));
        }
        let definition: String = r.get(3);
        out.push(SavedView {
            relation,
            definition: definition.trim_end().trim_end_matches(';').to_owned(),
            grants: r.get(5),
        });
    }
    Ok(out)
}

/// Drops what is under the model's name. `cascade` only once the views built on it are saved,
/// to be created again in the same transaction.
async fn drop_existing(
    tx: &mut Tx<'_>,
    existing: Existing,
    target: &str,
    cascade: bool,
) -> Result<(), String> {
    let what = match existing {
        Existing::Nothing => return Ok(()),
        Existing::Table => "TABLE",
        Existing::View => "VIEW",
        Existing::MaterializedView => "MATERIALIZED VIEW",
        Existing::Other => {
            return Err(format!(
                "{target} exists and is neither a table nor a view; it was left alone"
            ));
        }
    };
    let cascade = if cascade { " CASCADE" } else { "" };
    exec(tx, format!("DROP {what} {target}{cascade}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_name_fits_postgres() {
        assert_eq!(temporary("orders"), "orders__socle_new");
        let long = "a".repeat(63);
        assert_eq!(temporary(&long).len(), 63);
    }
}
