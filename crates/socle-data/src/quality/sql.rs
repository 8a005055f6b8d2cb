//! The SQL the PostgreSQL engine sends, written here so it can be read and tested without a
//! server: every counting check of a table in one aggregation (one scan), every duplicate check
//! of a table in one `GROUPING SETS` query (a second scan), and the failed-row samples. Names
//! are always quoted and values always literals, so nothing a contract says is read as SQL
//! (a rule's own `sql` query aside, which the guard and a read-only transaction keep to reading).

use serde_json::Value;

use super::plan::Validity;

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
fn member(col: &str, values: &[Value]) -> Option<String> {
    let lits: Vec<String> = values.iter().filter_map(literal).collect();
    if lits.is_empty() {
        return None;
    }
    let lhs = if values.iter().all(Value::is_string) {
        format!("{col}::text")
    } else {
        col.to_owned()
    };
    Some(format!("{lhs} IN ({})", lits.join(", ")))
}

/// Rows whose value is missing: null, or one of `values`.
pub fn missing(col: &str, values: &[Value]) -> String {
    match member(col, values) {
        Some(m) => format!("({col} IS NULL OR {m})"),
        None => format!("{col} IS NULL"),
    }
}

/// Rows whose non-missing value breaks the validity (datacontract-cli's invalid_count: not
/// missing, and not valid or one of the invalid values); `None` when nothing constrains it.
pub fn invalid(col: &str, v: &Validity) -> Option<String> {
    let text = format!("{col}::text");
    let mut valid = Vec::new();
    if let Some(values) = &v.valid_values {
        valid.push(member(col, values).unwrap_or_else(|| "FALSE".into()));
    }
    if let Some(p) = &v.pattern {
        valid.push(format!("{text} ~ {}", literal(&Value::String(p.clone()))?));
    }
    if let Some(m) = v.minimum.as_ref().and_then(literal) {
        valid.push(format!("{col} >= {m}"));
    }
    if let Some(m) = v.maximum.as_ref().and_then(literal) {
        valid.push(format!("{col} <= {m}"));
    }
    if let Some(n) = v.min_length {
        valid.push(format!("char_length({text}) >= {n}"));
    }
    if let Some(n) = v.max_length {
        valid.push(format!("char_length({text}) <= {n}"));
    }
    let mut bad = Vec::new();
    if !valid.is_empty() {
        bad.push(format!("NOT ({})", valid.join(" AND ")));
    }
    if let Some(m) = member(col, &v.invalid_values) {
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
}

/// `SELECT count(*), … FROM table`: the row count first, then one or two columns per aggregate
/// (a count; or epoch seconds and text for newest/oldest).
pub fn aggregation(table: &str, items: &[Aggregate]) -> String {
    let mut cols = vec!["count(*)".to_owned()];
    for a in items {
        match a {
            Aggregate::CountWhere(p) => cols.push(format!("count(*) FILTER (WHERE {p})")),
            Aggregate::Newest(c) | Aggregate::Oldest(c) => {
                let f = if matches!(a, Aggregate::Newest(_)) {
                    "max"
                } else {
                    "min"
                };
                cols.push(format!("extract(epoch FROM {f}({c}))::float8"));
                cols.push(format!("{f}({c})::text"));
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
pub fn samples(table: &str, predicate: &str, columns: &[String], limit: usize) -> String {
    let cols = if columns.is_empty() {
        "1 AS row".to_owned()
    } else {
        columns.join(", ")
    };
    format!(
        "SELECT row_to_json(s)::text FROM (SELECT {cols} FROM {table} WHERE {predicate} LIMIT {limit}) s"
    )
}

/// Up to `limit` duplicated keys with how often each occurs.
pub fn duplicate_samples(table: &str, keys: &[String], shown: &[String], limit: usize) -> String {
    let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
    let mut cols: Vec<String> = shown.to_vec();
    cols.push("count(*) AS duplicate_count".into());
    format!(
        "SELECT row_to_json(s)::text FROM (SELECT {} FROM {table} WHERE {} GROUP BY {} HAVING count(*) > 1 LIMIT {limit}) s",
        cols.join(", "),
        not_null.join(" AND "),
        keys.join(", ")
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
        assert_eq!(missing("\"c\"", &[]), "\"c\" IS NULL");
        assert_eq!(
            missing("\"c\"", &[json!("n/a"), json!("")]),
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
            invalid("\"a\"", &v).unwrap(),
            "(\"a\" IS NOT NULL AND (NOT (\"a\" >= 0)))"
        );
        assert_eq!(invalid("\"a\"", &Validity::default()), None);
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
