//! What an engine does with each planned check on one table, whatever the engine: measured
//! already (a column missing, present, its type), one column of the table's aggregation, a
//! duplicate key set, or a rule's own query; and which columns a failed-row sample may show.
//! The engines (`socle-data-pg`, `socle-data-files`) only send the SQL and read the answers.

use super::evaluate::Measured;
use super::plan::{Check, Metric};
use super::spec::TestSpec;
use super::sql::{self, Aggregate, Dialect};

/// How a check is measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Prepared {
    Done(Measured),
    Aggregate(Aggregate),
    /// Quoted key columns.
    Duplicate(Vec<String>),
    Sql(String),
}

/// A table's column as the engine names it: quoted, with its native type.
pub type Column = (String, String);

/// How `c` is measured on a table whose columns `column` finds (exact name first, then
/// case-insensitively: the engine decides).
pub fn prepare(d: Dialect, c: &Check, column: impl Fn(&str) -> Option<Column>) -> Prepared {
    let field = c.field.as_deref().map(|f| (f, column(f)));
    let missing = |f: &str| Prepared::Done(Measured::Failed(format!("Column '{f}' not found")));
    match (&c.metric, field) {
        (Metric::FieldPresent, Some((_, col))) => Prepared::Done(Measured::Present(col.is_some())),
        (Metric::FieldType { .. } | Metric::FieldPhysicalType { .. }, Some((_, col))) => {
            Prepared::Done(Measured::NativeType(col.map(|(_, t)| t)))
        }
        (Metric::RowCount, _) => Prepared::Aggregate(Aggregate::CountWhere("TRUE".into())),
        (Metric::CustomSql { query }, _) => Prepared::Sql(query.clone()),
        (Metric::DuplicateCount { columns }, _) => {
            let mut quoted = Vec::new();
            for f in columns {
                match column(f) {
                    Some((q, _)) => quoted.push(q),
                    None => return missing(f),
                }
            }
            if quoted.is_empty() {
                return Prepared::Done(Measured::Failed("No columns to compare".into()));
            }
            Prepared::Duplicate(quoted)
        }
        (_, Some((f, None))) => missing(f),
        (Metric::MissingCount { values }, Some((_, Some((col, _))))) => {
            Prepared::Aggregate(Aggregate::CountWhere(sql::missing(d, &col, values)))
        }
        (Metric::InvalidCount(v), Some((_, Some((col, _))))) => match sql::invalid(d, &col, v) {
            Some(p) => Prepared::Aggregate(Aggregate::CountWhere(p)),
            None => Prepared::Aggregate(Aggregate::CountWhere("FALSE".into())),
        },
        (Metric::Freshness { .. }, Some((_, Some((col, _))))) => {
            Prepared::Aggregate(Aggregate::Newest(col))
        }
        (Metric::Retention { .. }, Some((_, Some((col, _))))) => {
            Prepared::Aggregate(Aggregate::Oldest(col))
        }
        (m, _) => Prepared::Done(Measured::Failed(format!("{} needs a column", m.label()))),
    }
}

/// A table's columns that identify a row (unique, primary key: shown in samples) and those
/// never shown (classified pii, personal, confidential, restricted, sensitive, secret, or
/// `personal_data` as datacontract-cli reads it), lower-cased.
#[derive(Clone, Debug, Default)]
pub struct SampleColumns {
    pub identifiers: Vec<String>,
    pub sensitive: Vec<String>,
}

impl SampleColumns {
    pub fn of(spec: &TestSpec, table: &str) -> Self {
        let mut out = Self::default();
        for o in spec.schema.iter().filter(|o| o.table() == table) {
            for p in &o.properties {
                if p.unique || p.primary_key {
                    out.identifiers.push(p.column().to_owned());
                }
                let class = p.classification.as_deref().unwrap_or_default().trim();
                if class.eq_ignore_ascii_case("personal_data") || crate::is_sensitive(class) {
                    out.sensitive.push(p.column().to_ascii_lowercase());
                }
            }
        }
        out
    }

    /// The quoted columns a sample of a check on `names` shows: found, not sensitive, once each.
    fn shown(&self, names: &[String], column: &impl Fn(&str) -> Option<Column>) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for n in names {
            if self.sensitive.contains(&n.to_ascii_lowercase()) {
                continue;
            }
            if let Some((q, _)) = column(n)
                && !seen.contains(&q)
            {
                seen.push(q);
            }
        }
        seen
    }

    /// The query of up to `limit` failing rows of `c` (missing, invalid, duplicate checks), or
    /// `None` when the check has no rows to show.
    pub fn sample_query(
        &self,
        d: Dialect,
        table: &str,
        c: &Check,
        column: impl Fn(&str) -> Option<Column>,
        limit: usize,
    ) -> Option<String> {
        let with_ids = || {
            let mut names = self.identifiers.clone();
            names.extend(c.field.clone());
            self.shown(&names, &column)
        };
        match (&c.metric, c.field.as_deref().and_then(&column)) {
            (Metric::MissingCount { values }, Some((col, _))) => Some(sql::samples(
                d,
                table,
                &sql::missing(d, &col, values),
                &with_ids(),
                limit,
            )),
            (Metric::InvalidCount(v), Some((col, _))) => {
                let p = sql::invalid(d, &col, v)?;
                Some(sql::samples(d, table, &p, &with_ids(), limit))
            }
            (Metric::DuplicateCount { columns }, _) => {
                let keys: Vec<String> = columns
                    .iter()
                    .filter_map(|f| column(f))
                    .map(|(q, _)| q)
                    .collect();
                if keys.len() != columns.len() {
                    return None;
                }
                let shown = self.shown(columns, &column);
                Some(sql::duplicate_samples(d, table, &keys, &shown, limit))
            }
            _ => None,
        }
    }
}
