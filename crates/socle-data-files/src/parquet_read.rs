//! Parquet files through the `parquet` crate's record API (no Arrow): each top-level column's
//! native type named as DuckDB names it (what datacontract-cli's type checks compare with the
//! contract's types), and each value as the cell the in-memory table stores — integers and
//! floats as they are, booleans as 1/0, dates as `YYYY-MM-DD`, timestamps as UTC ISO-8601 text
//! with microseconds (what SQLite's date functions read), anything else as its text.

use std::path::Path;

use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use crate::load::{Affinity, Cell};

/// A column's type as DuckDB reports it for a Parquet column.
pub fn native_type(t: &Type) -> String {
    let info = t.get_basic_info();
    if !t.is_primitive() {
        return match (info.logical_type_ref(), info.converted_type()) {
            (Some(LogicalType::List), _) | (_, ConvertedType::LIST) => "LIST".into(),
            (Some(LogicalType::Map), _)
            | (_, ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE) => "MAP".into(),
            _ => "STRUCT".into(),
        };
    }
    let logical = info.logical_type_ref();
    if let Some(LogicalType::Decimal { scale, precision }) = logical {
        return format!("DECIMAL({precision},{scale})");
    }
    match (t.get_physical_type(), logical) {
        (Physical::BOOLEAN, _) => "BOOLEAN".into(),
        (_, Some(LogicalType::Date)) => "DATE".into(),
        (_, Some(LogicalType::Time { .. })) => "TIME".into(),
        (
            _,
            Some(LogicalType::Timestamp {
                is_adjusted_to_u_t_c,
                ..
            }),
        ) => {
            if *is_adjusted_to_u_t_c {
                "TIMESTAMP WITH TIME ZONE".into()
            } else {
                "TIMESTAMP".into()
            }
        }
        (
            _,
            Some(LogicalType::Integer {
                bit_width,
                is_signed,
            }),
        ) => {
            let name = match bit_width {
                8 => "TINYINT",
                16 => "SMALLINT",
                32 => "INTEGER",
                _ => "BIGINT",
            };
            if *is_signed {
                name.into()
            } else {
                format!("U{name}")
            }
        }
        (_, Some(LogicalType::Uuid)) => "UUID".into(),
        (_, Some(LogicalType::Json)) => "JSON".into(),
        (Physical::INT32, _) => "INTEGER".into(),
        (Physical::INT64, _) => "BIGINT".into(),
        (Physical::INT96, _) => "TIMESTAMP".into(),
        (Physical::FLOAT, _) => "FLOAT".into(),
        (Physical::DOUBLE, _) => "DOUBLE".into(),
        (Physical::BYTE_ARRAY, Some(LogicalType::String | LogicalType::Enum)) => "VARCHAR".into(),
        (Physical::BYTE_ARRAY, _) if info.converted_type() == ConvertedType::UTF8 => {
            "VARCHAR".into()
        }
        _ => "BLOB".into(),
    }
}

/// `micros` since the epoch as `2026-12-04T10:00:00.000000Z`.
fn timestamp(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    ))
    .unwrap_or_default()
}

fn date(days: i32) -> String {
    let d = time::Date::from_julian_day(2_440_588 + days).unwrap_or(time::Date::MIN);
    d.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// A Parquet value as the table stores it in a column of affinity `a`.
pub fn cell(f: &Field, a: Affinity) -> Cell {
    match f {
        Field::Null => Cell::Null,
        Field::Bool(b) => Cell::Int(i64::from(*b)),
        Field::Byte(v) => Cell::Int(i64::from(*v)),
        Field::Short(v) => Cell::Int(i64::from(*v)),
        Field::Int(v) => Cell::Int(i64::from(*v)),
        Field::Long(v) => Cell::Int(*v),
        Field::UByte(v) => Cell::Int(i64::from(*v)),
        Field::UShort(v) => Cell::Int(i64::from(*v)),
        Field::UInt(v) => Cell::Int(i64::from(*v)),
        Field::ULong(v) => i64::try_from(*v).map_or_else(|_| Cell::Text(v.to_string()), Cell::Int),
        Field::Float(v) => Cell::Real(f64::from(*v)),
        Field::Double(v) => Cell::Real(*v),
        Field::Str(s) if a == Affinity::Text => Cell::Text(s.clone()),
        Field::Str(s) => a.typed(s),
        Field::Date(d) => Cell::Text(date(*d)),
        Field::TimestampMillis(ms) => Cell::Text(timestamp(ms.saturating_mul(1000))),
        Field::TimestampMicros(us) => Cell::Text(timestamp(*us)),
        Field::Bytes(b) => Cell::Text(String::from_utf8_lossy(b.data()).into_owned()),
        other => match a {
            Affinity::Text => Cell::Text(other.to_string()),
            _ => a.typed(&other.to_string()),
        },
    }
}

/// An open Parquet file: its top-level columns with their native types, and its rows.
pub struct ParquetFile {
    reader: SerializedFileReader<std::fs::File>,
}

impl ParquetFile {
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let f = std::fs::File::open(path).map_err(|e| format!("Could not read {shown}: {e}"))?;
        let reader = SerializedFileReader::new(f).map_err(|e| format!("{shown}: {e}"))?;
        Ok(ParquetFile { reader })
    }

    /// `(name, native type)` of each top-level column, in order.
    pub fn columns(&self) -> Vec<(String, String)> {
        self.reader
            .metadata()
            .file_metadata()
            .schema()
            .get_fields()
            .iter()
            .map(|t| (t.name().to_owned(), native_type(t)))
            .collect()
    }

    /// Every row, in file order.
    pub fn rows<'a>(
        &'a self,
        path: &'a Path,
    ) -> Result<impl Iterator<Item = Result<Row, String>> + 'a, String> {
        let rows = self
            .reader
            .get_row_iter(None)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(rows.map(move |r| r.map_err(|e| format!("{}: {e}", path.display()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::schema::parser::parse_message_type;

    #[test]
    fn native_types_are_named_as_duckdb_names_them() {
        let schema = parse_message_type(
            "message m {
  OPTIONAL BYTE_ARRAY s (STRING);
  OPTIONAL DOUBLE d;
  OPTIONAL INT64 i (INTEGER(64,true));
  OPTIONAL INT32 small (INTEGER(16,true));
  OPTIONAL INT64 t (TIMESTAMP(MICROS,true));
  OPTIONAL INT64 local (TIMESTAMP(MILLIS,false));
  OPTIONAL INT32 day (DATE);
  OPTIONAL INT64 money (DECIMAL(12,2));
  OPTIONAL BOOLEAN b;
  OPTIONAL BYTE_ARRAY raw;
}",
        )
        .unwrap();
        let names: Vec<String> = schema.get_fields().iter().map(|t| native_type(t)).collect();
        assert_eq!(
            names,
            [
                "VARCHAR",
                "DOUBLE",
                "BIGINT",
                "SMALLINT",
                "TIMESTAMP WITH TIME ZONE",
                "TIMESTAMP",
                "DATE",
                "DECIMAL(12,2)",
                "BOOLEAN",
                "BLOB"
            ]
        );
    }

    #[test]
    fn values_become_cells_sqlite_reads() {
        assert_eq!(
            cell(
                &Field::TimestampMicros(1_780_000_000_123_456),
                Affinity::Text
            ),
            Cell::Text("2026-05-28T20:26:40.123456Z".into())
        );
        assert_eq!(
            cell(&Field::Date(20_000), Affinity::Text),
            Cell::Text("2024-10-04".into())
        );
        assert_eq!(cell(&Field::Bool(true), Affinity::Boolean), Cell::Int(1));
        assert_eq!(
            cell(&Field::Str("42".into()), Affinity::Integer),
            Cell::Int(42)
        );
        assert_eq!(
            cell(&Field::ULong(u64::MAX), Affinity::Integer),
            Cell::Text(u64::MAX.to_string())
        );
    }
}
