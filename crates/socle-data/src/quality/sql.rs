//! The SQL the engines send, written here so it can be read and tested without a server: every
//! counting check of a table in one aggregation (one scan), every duplicate check of a table in
//! one `GROUPING SETS` query (PostgreSQL; one `GROUP BY` per key set on SQLite), and the
//! failed-row samples. Two dialects: PostgreSQL (`socle-data-pg`) and SQLite (`socle-data-files`,
//! which loads files into an in-memory database). Names are always quoted and values always
//! literals, so nothing a contract says is read as SQL (a rule's own `sql` query aside, which the
//! guard and a read-only connection keep to reading).

use serde_json::Value;

use super::plan::Validity;

/// Whose SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    /// SQLite 3.38 or later, with a `REGEXP` function (sqlx's `regexp` feature).
    Sqlite,
}

impl Dialect {
    /// A value as text.
    fn text(self, col: &str) -> String {
        match self {
            Dialect::Postgres => format!("{col}::text"),
            Dialect::Sqlite => format!("CAST({col} AS TEXT)"),
        }
    }

    /// The value (as text) contains a match of the regular expression `lit`.
    fn matches(self, col: &str, lit: &str) -> String {
        match self {
            Dialect::Postgres => format!("{} ~ {lit}", self.text(col)),
            Dialect::Sqlite => format!("{} REGEXP {lit}", self.text(col)),
        }
    }

    /// Length in characters of the value as text.
    fn length(self, col: &str) -> String {
        match self {
            Dialect::Postgres => format!("char_length({})", self.text(col)),
            Dialect::Sqlite => format!("length({})", self.text(col)),
        }
    }

    /// Seconds since the epoch of `f` (`max`/`min`) of a timestamp column, as a float, then
    /// that value as text.
    fn extreme(self, f: &str, col: &str) -> [String; 2] {
        match self {
            Dialect::Postgres => [
                format!("extract(epoch FROM {f}({col}))::float8"),
                format!("{f}({col})::text"),
            ],
            // Text timestamps with different offsets do not sort as times: compare epochs.
            Dialect::Sqlite => [
                format!("{f}(unixepoch({col}, 'subsec'))"),
                format!(
                    "strftime('%Y-%m-%d %H:%M:%f+00', {f}(unixepoch({col}, 'subsec')), 'unixepoch')"
                ),
            ],
        }
    }

    /// A row of `cols` (quoted names) as a JSON object's text.
    fn json_row(self, cols: &[String], from: &str) -> String {
        match self {
            Dialect::Postgres => format!("SELECT row_to_json(s)::text FROM ({from}) s"),
            Dialect::Sqlite => {
                let pairs: Vec<String> = cols
                    .iter()
                    .map(|c| {
                        let name = c.trim_matches('"').replace("\"\"", "\"");
                        format!("'{}', s.{c}", name.replace('\'', "''"))
                    })
                    .collect();
                format!("SELECT json_object({}) FROM ({from}) s", pairs.join(", "))
            }
        }
    }
}

/// A quoted identifier (`"a""b"`), optionally schema-qualified.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The table as the queries name it.
pub fn table_ref(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", ident(s), ident(table)),
        None => ident(table),
    }
}

/// A SQL literal for a contract value; `None` for values that are not scalars.
pub fn literal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(format!("'{}'", s.replace('\'', "''"))),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
        _ => None,
    }
}

/// `col IN (…)`, comparing as text when every value is a string (so `''` can be listed against
/// a numeric column), or `None` when no value is a scalar.
fn member(d: Dialect, col: &str, values: &[Value]) -> Option<String> {
    let lits: Vec<String> = values.iter().filter_map(literal).collect();
    if lits.is_empty() {
        return None;
    }
    let lhs = if values.iter().all(Value::is_string) {
        d.text(col)
    } else {
        col.to_owned()
    };
    Some(format!("{lhs} IN ({})", lits.join(", ")))
}

/// Rows whose value is missing: null, or one of `values`.
pub fn missing(d: Dialect, col: &str, values: &[Value]) -> String {
    match member(d, col, values) {
        Some(m) => format!("({col} IS NULL OR {m})"),
        None => format!("{col} IS NULL"),
    }
}

/// Rows whose non-missing value breaks the validity (datacontract-cli's invalid_count: not
/// missing, and not valid or one of the invalid values); `None` when nothing constrains it.
pub fn invalid(d: Dialect, col: &str, v: &Validity) -> Option<String> {
    let mut valid = Vec::new();
    if let Some(values) = &v.valid_values {
        valid.push(member(d, col, values).unwrap_or_else(|| "FALSE".into()));
    }
    if let Some(p) = &v.pattern {
        valid.push(d.matches(col, &literal(&Value::String(p.clone()))?));
    }
    if let Some(m) = v.minimum.as_ref().and_then(literal) {
        valid.push(format!("{col} >= {m}"));
    }
    if let Some(m) = v.maximum.as_ref().and_then(literal) {
        valid.push(format!("{col} <= {m}"));
    }
    if let Some(n) = v.min_length {
        valid.push(format!("{} >= {n}", d.length(col)));
    }
    if let Some(n) = v.max_length {
        valid.push(format!("{} <= {n}", d.length(col)));
    }
    let mut bad = Vec::new();
    if !valid.is_empty() {
        bad.push(format!("NOT ({})", valid.join(" AND ")));
    }
    if let Some(m) = member(d, col, &v.invalid_values) {
        bad.push(m);
    }
    if bad.is_empty() {
        return None;
    }
    Some(format!("({col} IS NOT NULL AND ({}))", bad.join(" OR ")))
}

/// One column of the aggregation.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    /// Rows where the predicate holds.
    CountWhere(String),
    /// Seconds since the epoch of the column's newest value, and that value as text.
    Newest(String),
    /// The same for the oldest value.
    Oldest(String),
    /// A `sql` rule folded into the aggregation (`fold`): its value, as text on PostgreSQL.
    Rule(String),
}

/// `SELECT count(*), … FROM table`: the row count first, then one or two columns per aggregate
/// (a count; or epoch seconds and text for newest/oldest).
pub fn aggregation(d: Dialect, table: &str, items: &[Aggregate]) -> String {
    let mut cols = vec!["count(*)".to_owned()];
    for a in items {
        match a {
            Aggregate::CountWhere(p) => cols.push(format!("count(*) FILTER (WHERE {p})")),
            Aggregate::Rule(e) => cols.push(match d {
                Dialect::Postgres => format!("({e})::text"),
                Dialect::Sqlite => format!("({e})"),
            }),
            Aggregate::Newest(c) | Aggregate::Oldest(c) => {
                let f = if matches!(a, Aggregate::Newest(_)) {
                    "max"
                } else {
                    "min"
                };
                cols.extend(d.extreme(f, c));
            }
        }
    }
    format!("SELECT {} FROM {table}", cols.join(", "))
}

/// The duplicate counts of several key sets in one scan: rows of `(set index, keys occurring
/// more than once)`. Keys with a null part are never duplicates (as with SQL `UNIQUE`).
/// `sets` index into `columns` (quoted names); at most 31 distinct columns (PostgreSQL's
/// `GROUPING` takes 31 arguments).
pub fn duplicates(table: &str, columns: &[String], sets: &[Vec<usize>]) -> String {
    let width = columns.len();
    let mask = |set: &[usize]| -> u32 {
        (0..width)
            .filter(|j| !set.contains(j))
            .map(|j| 1u32 << (width - 1 - j))
            .sum()
    };
    let grouping_sets: Vec<String> = sets
        .iter()
        .map(|s| {
            let cols: Vec<&str> = s.iter().map(|&j| columns[j].as_str()).collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    let set_of: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let not_null: Vec<String> = s
                .iter()
                .map(|&j| format!("{} IS NOT NULL", columns[j]))
                .collect();
            format!(
                "WHEN g = {} AND {} THEN {i}",
                mask(s),
                not_null.join(" AND ")
            )
        })
        .collect();
    format!(
        "SELECT k, count(*)::int8 FROM (SELECT CASE {} END AS k FROM (SELECT GROUPING({}) AS g, {}, count(*) AS n FROM {table} GROUP BY GROUPING SETS ({})) grouped WHERE n > 1) keyed WHERE k IS NOT NULL GROUP BY k",
        set_of.join(" "),
        columns.join(", "),
        columns.join(", "),
        grouping_sets.join(", ")
    )
}

/// Up to `limit` failing rows as JSON objects of `columns`.
pub fn samples(
    d: Dialect,
    table: &str,
    predicate: &str,
    columns: &[String],
    limit: usize,
) -> String {
    let (cols, named) = if columns.is_empty() {
        ("1 AS \"row\"".to_owned(), vec!["\"row\"".to_owned()])
    } else {
        (columns.join(", "), columns.to_vec())
    };
    d.json_row(
        &named,
        &format!("SELECT {cols} FROM {table} WHERE {predicate} LIMIT {limit}"),
    )
}

/// The duplicate count of one key set (SQLite: no `GROUPING SETS`): keys with a null part are
/// never duplicates.
pub fn duplicate_count(table: &str, keys: &[String]) -> String {
    let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    format!(
        "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {} GROUP BY {} HAVING count(*) > 1)",
        not_null.join(" AND "),
        keys.join(", ")
    )
}

/// Up to `limit` duplicated keys with how often each occurs.
pub fn duplicate_samples(
    d: Dialect,
    table: &str,
    keys: &[String],
    shown: &[String],
    limit: usize,
) -> String {
    let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    let mut cols: Vec<String> = shown.to_vec();
    cols.push("count(*) AS \"duplicate_count\"".into());
    let mut named: Vec<String> = shown.to_vec();
    named.push("\"duplicate_count\"".into());
    d.json_row(
        &named,
        &format!(
            "SELECT {} FROM {table} WHERE {} GROUP BY {} HAVING count(*) > 1 LIMIT {limit}",
            cols.join(", "),
            not_null.join(" AND "),
            keys.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_quote_in_a_name_or_a_value_stays_inside_it() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal(&json!("it's")).unwrap(), "'it''s'");
        assert_eq!(table_ref(Some("s"), "t"), "\"s\".\"t\"");
    }

    #[test]
    fn missing_values_compare_as_text() {
        assert_eq!(missing(Dialect::Postgres, "\"c\"", &[]), "\"c\" IS NULL");
        assert_eq!(
            missing(Dialect::Postgres, "\"c\"", &[json!("n/a"), json!("")]),
            "(\"c\" IS NULL OR \"c\"::text IN ('n/a', ''))"
        );
    }

    #[test]
    fn invalid_is_not_missing_and_breaking_a_bound() {
        let v = Validity {
            minimum: Some(json!(0)),
            ..Validity::default()
        };
        assert_eq!(
            invalid(Dialect::Postgres, "\"a\"", &v).unwrap(),
            "(\"a\" IS NOT NULL AND (NOT (\"a\" >= 0)))"
        );
        assert_eq!(
            invalid(Dialect::Postgres, "\"a\"", &Validity::default()),
            None
        );
    }

    #[test]
    fn sqlite_text_regex_and_length() {
        let v = Validity {
            pattern: Some("^[A-Z]{2}$".into()),
            max_length: Some(2),
            ..Validity::default()
        };
        assert_eq!(
            invalid(Dialect::Sqlite, "\"c\"", &v).unwrap(),
            "(\"c\" IS NOT NULL AND (NOT (CAST(\"c\" AS TEXT) REGEXP '^[A-Z]{2}$' AND length(CAST(\"c\" AS TEXT)) <= 2)))"
        );
        assert_eq!(
            missing(Dialect::Sqlite, "\"c\"", &[json!("")]),
            "(\"c\" IS NULL OR CAST(\"c\" AS TEXT) IN (''))"
        );
    }

    #[test]
    fn sqlite_samples_are_json_objects_of_the_shown_columns() {
        let q = samples(
            Dialect::Sqlite,
            "\"t\"",
            "TRUE",
            &["\"it's\"".to_owned()],
            5,
        );
        assert_eq!(
            q,
            "SELECT json_object('it''s', s.\"it's\") FROM (SELECT \"it's\" FROM \"t\" WHERE TRUE LIMIT 5) s"
        );
    }

    #[test]
    fn grouping_masks_name_the_columns_left_out() {
        let cols = vec!["\"a\"".to_owned(), "\"b\"".to_owned(), "\"c\"".to_owned()];
        let q = duplicates("t", &cols, &[vec![0], vec![1, 2]]);
        assert!(q.contains("WHEN g = 3 AND \"a\" IS NOT NULL THEN 0"), "{q}");
        assert!(
            q.contains("WHEN g = 4 AND \"b\" IS NOT NULL AND \"c\" IS NOT NULL THEN 1"),
            "{q}"
        );
        assert!(q.contains("GROUPING SETS ((\"a\"), (\"b\", \"c\"))"), "{q}");
    }
}
