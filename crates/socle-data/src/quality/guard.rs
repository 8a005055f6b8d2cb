//! A contract's own SQL (`quality[].type: sql`): its placeholders filled with the table and
//! column names, and refused unless it is one read-only query. A data contract is not always
//! written by the person whose credentials run it, so a rule may read and nothing else (the
//! engine also runs it in a read-only transaction with a time limit).

use std::sync::OnceLock;

use regex::{Captures, Regex};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// Longest query text a rule may hold.
pub const MAX_QUERY: usize = 64 * 1024;

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"["'`]?\$?\{(model|table|object|schema|dataset|project|catalog|database|field|column|property)\}["'`]?"#,
        )
        .expect("placeholder pattern compiles")
    })
}

fn bare(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// A PostgreSQL identifier: left bare when it reads as one (so the server's case folding still
/// applies, as the author expects), double-quoted otherwise (or when `forced`).
pub fn identifier(name: &str, forced: bool) -> String {
    name.split('.')
        .map(|part| {
            if forced || !bare(part) {
                format!("\"{}\"", part.replace('"', "\"\""))
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The query with `{model}`/`{table}`/`{object}`, `{schema}` and (on a column's rule)
/// `{field}`/`{column}`/`{property}` replaced, in one pass. Quotes written around a
/// placeholder are dropped; backticks force quoting.
pub fn substitute(query: &str, table: &str, field: Option<&str>, schema: Option<&str>) -> String {
    placeholder()
        .replace_all(query, |c: &Captures| {
            let whole = &c[0];
            let name = match &c[1] {
                "model" | "table" | "object" | "dataset" | "project" | "catalog" | "database" => {
                    table
                }
                "schema" => schema.unwrap_or(table),
                _ => match field {
                    Some(f) => f,
                    None => return whole.to_owned(),
                },
            };
            identifier(name, whole.contains('`'))
        })
        .into_owned()
}

/// Why the query is refused, or `None` for a single read-only query (SELECT, a set operation or
/// a parenthesised query, with or without CTEs). Fails closed: a query that does not parse is
/// refused, and so is a second statement.
pub fn refusal(query: &str) -> Option<String> {
    if query.len() > MAX_QUERY {
        return Some(format!(
            "A quality rule query may hold at most {MAX_QUERY} bytes, so it was not executed."
        ));
    }
    match Parser::parse_sql(&PostgreSqlDialect {}, query) {
        Err(e) => Some(format!(
            "The query could not be read as postgres SQL: {e}, so it was not executed."
        )),
        Ok(statements) => match statements.as_slice() {
            [Statement::Query(q)] if read_only(q) => None,
            _ => Some(
                "A quality rule query must be a single read-only query, so it was not executed."
                    .into(),
            ),
        },
    }
}

/// A query whose CTEs are queries too (`WITH d AS (DELETE … RETURNING …)` writes).
pub(crate) fn read_only(q: &sqlparser::ast::Query) -> bool {
    let body_reads = !matches!(
        *q.body,
        sqlparser::ast::SetExpr::Insert(_)
            | sqlparser::ast::SetExpr::Update(_)
            | sqlparser::ast::SetExpr::Delete(_)
            | sqlparser::ast::SetExpr::Merge(_)
    );
    let ctes_read = q
        .with
        .as_ref()
        .is_none_or(|w| w.cte_tables.iter().all(|c| read_only(&c.query)));
    body_reads && ctes_read && q.locks.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_take_names_bare_or_quoted() {
        let q = "SELECT count(*) FROM {object} WHERE {property} < 0";
        assert_eq!(
            substitute(q, "orders", Some("amount"), None),
            "SELECT count(*) FROM orders WHERE amount < 0"
        );
        let q = "SELECT count(*) FROM \"{model}\" WHERE `{field}` IS NULL";
        assert_eq!(
            substitute(q, "Order Lines", Some("select"), None),
            "SELECT count(*) FROM \"Order Lines\" WHERE \"select\" IS NULL"
        );
    }

    #[test]
    fn a_quote_in_a_name_cannot_end_the_identifier() {
        let q = substitute("SELECT 1 FROM {table}", "a\"; DROP TABLE x; --", None, None);
        assert_eq!(q, "SELECT 1 FROM \"a\"\"; DROP TABLE x; --\"");
        assert_eq!(refusal(&q), None);
    }

    #[test]
    fn a_column_placeholder_on_a_table_rule_stays() {
        assert_eq!(substitute("{field}", "t", None, None), "{field}");
    }

    #[test]
    fn only_one_read_only_query_passes() {
        assert_eq!(refusal("SELECT count(*) FROM t"), None);
        assert_eq!(
            refusal("WITH a AS (SELECT 1) SELECT * FROM a UNION SELECT 2"),
            None
        );
        for bad in [
            "DELETE FROM t",
            "SELECT 1; DROP TABLE t",
            "COPY t TO PROGRAM 'rm -rf /'",
            "WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d",
            "SELECT * FROM t FOR UPDATE",
            "SET search_path TO x",
            "SELEC 1",
        ] {
            assert!(refusal(bad).is_some(), "{bad}");
        }
    }
}
