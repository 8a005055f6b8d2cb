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

/// How one leaf column's values become cells (None: only the record API reads it).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Decode {
    Bool,
    Int,
    Float,
    Date,
    /// Timestamps in this many nanoseconds per unit (1,000,000 for millis, 1,000 micros, 1 nanos).
    Timestamp(i64),
    Text,
}

fn decode_of(c: &parquet::schema::types::ColumnDescriptor) -> Option<Decode> {
    let logical = c.logical_type_ref();
    if matches!(logical, Some(LogicalType::Decimal { .. }))
        || c.converted_type() == ConvertedType::DECIMAL
    {
        return None;
    }
    Some(match (c.physical_type(), logical) {
        (Physical::BOOLEAN, _) => Decode::Bool,
        (Physical::INT32, Some(LogicalType::Date)) => Decode::Date,
        (
            Physical::INT32,
            None
            | Some(LogicalType::Integer {
                is_signed: true, ..
            }),
        ) => Decode::Int,
        (Physical::INT64, Some(LogicalType::Timestamp { unit, .. })) => {
            Decode::Timestamp(match unit {
                parquet::basic::TimeUnit::MILLIS => 1_000_000,
                parquet::basic::TimeUnit::MICROS => 1_000,
                parquet::basic::TimeUnit::NANOS => 1,
            })
        }
        (
            Physical::INT64,
            Some(LogicalType::Integer {
                is_signed: true, ..
            }),
        )
        | (Physical::INT64, None) => Decode::Int,
        (Physical::FLOAT | Physical::DOUBLE, None) => Decode::Float,
        (
            Physical::BYTE_ARRAY,
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json),
        ) => Decode::Text,
        (Physical::BYTE_ARRAY, None) if c.converted_type() == ConvertedType::UTF8 => Decode::Text,
        _ => return None,
    })
}

/// One column's reader in a row group, with its decoding.
struct Leaf {
    reader: parquet::column::reader::ColumnReader,
    decode: Decode,
    max_def: i16,
    affinity: Affinity,
}

/// `records` rows of cells from a column's non-null `values` and, for an optional column, its
/// definition levels (below `max_def`: null).
fn spread<T>(
    records: usize,
    defs: Option<&[i16]>,
    max_def: i16,
    values: Vec<T>,
    conv: impl Fn(T) -> Cell,
    out: &mut Vec<Cell>,
) {
    let mut it = values.into_iter();
    match defs {
        None => out.extend(it.take(records).map(conv)),
        Some(defs) => {
            for d in defs.iter().take(records) {
                out.push(if *d < max_def {
                    Cell::Null
                } else {
                    it.next().map_or(Cell::Null, &conv)
                });
            }
        }
    }
}

impl Leaf {
    /// Up to `n` cells of this column, appended to `out`; how many rows were read.
    fn read(
        &mut self,
        n: usize,
        defs: &mut Vec<i16>,
        out: &mut Vec<Cell>,
    ) -> Result<usize, String> {
        use parquet::column::reader::ColumnReader as R;
        let (decode, a, max_def) = (self.decode, self.affinity, self.max_def);
        // A required column has no definition levels: every value is there.
        let optional = max_def > 0;
        macro_rules! go {
            ($r:expr, $conv:expr) => {{
                let mut values = Vec::with_capacity(n);
                defs.clear();
                let (records, _, _) = $r
                    .read_records(n, optional.then_some(&mut *defs), None, &mut values)
                    .map_err(|e| e.to_string())?;
                spread(
                    records,
                    optional.then_some(defs.as_slice()),
                    max_def,
                    values,
                    $conv,
                    out,
                );
                records
            }};
        }
        Ok(match (&mut self.reader, decode) {
            (R::BoolColumnReader(r), _) => go!(r, |v: bool| Cell::Int(i64::from(v))),
            (R::Int32ColumnReader(r), Decode::Date) => go!(r, |v: i32| Cell::Text(date(v))),
            (R::Int32ColumnReader(r), _) => go!(r, |v: i32| Cell::Int(i64::from(v))),
            (R::Int64ColumnReader(r), Decode::Timestamp(nanos)) => {
                go!(r, |v: i64| Cell::Text(timestamp(
                    v.saturating_mul(nanos) / 1_000
                )))
            }
            (R::Int64ColumnReader(r), _) => go!(r, Cell::Int),
            (R::FloatColumnReader(r), _) => go!(r, |v: f32| Cell::Real(f64::from(v))),
            (R::DoubleColumnReader(r), _) => go!(r, Cell::Real),
            (R::ByteArrayColumnReader(r), _) => go!(r, |v: parquet::data_type::ByteArray| {
                let s = String::from_utf8_lossy(v.data());
                if a == Affinity::Text {
                    Cell::Text(s.into_owned())
                } else {
                    a.typed(&s)
                }
            }),
            _ => return Err("a column type the columnar reader does not decode".into()),
        })
    }
}

impl ParquetFile {
    /// Whether every column is a flat column the columnar reader decodes (no nesting, no
    /// decimals, no INT96): then [`Self::batches`] reads it, else the record API does.
    pub fn columnar(&self) -> bool {
        let meta = self.reader.metadata().file_metadata();
        let top = meta.schema().get_fields().len();
        let leaves = meta.schema_descr().columns();
        leaves.len() == top
            && leaves
                .iter()
                .all(|c| c.max_rep_level() == 0 && decode_of(c).is_some())
    }

    /// Every row, read column by column in batches of at most `batch` rows, each row's cells
    /// in column order with the column's affinity; `each` gets every batch of rows.
    pub fn batches(
        &self,
        path: &Path,
        affinity: &[Affinity],
        batch: usize,
        mut each: impl FnMut(Vec<Vec<Cell>>) -> Result<(), String>,
    ) -> Result<(), String> {
        let shown = path.display();
        let at = |e: String| format!("{shown}: {e}");
        let leaves = self
            .reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .to_vec();
        for g in 0..self.reader.num_row_groups() {
            let rg = self
                .reader
                .get_row_group(g)
                .map_err(|e| at(e.to_string()))?;
            let mut left = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
            let mut cols = Vec::with_capacity(leaves.len());
            for (i, c) in leaves.iter().enumerate() {
                cols.push(Leaf {
                    reader: rg.get_column_reader(i).map_err(|e| at(e.to_string()))?,
                    decode: decode_of(c)
                        .ok_or_else(|| at("a column the columnar reader does not decode".into()))?,
                    max_def: c.max_def_level(),
                    affinity: affinity.get(i).copied().unwrap_or(Affinity::Text),
                });
            }
            let mut defs = Vec::with_capacity(batch);
            while left > 0 {
                let n = left.min(batch);
                let mut columns: Vec<Vec<Cell>> = Vec::with_capacity(cols.len());
                for c in &mut cols {
                    let mut out = Vec::with_capacity(n);
                    let read = c.read(n, &mut defs, &mut out).map_err(at)?;
                    if read != n {
                        return Err(at(format!("a column ended after {read} of {n} rows")));
                    }
                    columns.push(out);
                }
                let mut iters: Vec<_> = columns.into_iter().map(Vec::into_iter).collect();
                let rows = (0..n)
                    .map(|_| {
                        iters
                            .iter_mut()
                            .map(|it| it.next().unwrap_or(Cell::Null))
                            .collect()
                    })
                    .collect();
                each(rows)?;
                left -= n;
            }
        }
        Ok(())
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

    /// Writes two row groups of `rows` each: every column type the columnar reader decodes,
    /// with nulls in the optional ones.
    fn write_file(path: &Path, rows: usize) {
        use parquet::data_type::{
            BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type,
        };
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use std::sync::Arc;
        let schema = Arc::new(
            parse_message_type(
                "message m {
  OPTIONAL BYTE_ARRAY s (STRING);
  REQUIRED INT64 id;
  OPTIONAL DOUBLE d;
  OPTIONAL INT32 day (DATE);
  OPTIONAL INT64 t (TIMESTAMP(MILLIS,true));
  OPTIONAL BOOLEAN b;
  OPTIONAL INT32 small (INTEGER(16,true));
  OPTIONAL BYTE_ARRAY n (STRING);
}",
            )
            .unwrap(),
        );
        let file = std::fs::File::create(path).unwrap();
        let mut w =
            SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))
                .unwrap();
        for g in 0..2i64 {
            let base = g * rows as i64;
            let ids: Vec<i64> = (base..base + rows as i64).collect();
            let defs: Vec<i16> = ids.iter().map(|i| i16::from(i % 3 != 0)).collect();
            let present: Vec<i64> = ids.iter().copied().filter(|i| i % 3 != 0).collect();
            let mut rg = w.next_row_group().unwrap();
            let mut col = 0;
            while let Some(mut c) = rg.next_column().unwrap() {
                match col {
                    0 => {
                        let v: Vec<ByteArray> = present
                            .iter()
                            .map(|i| ByteArray::from(format!("s{i}").as_str()))
                            .collect();
                        c.typed::<ByteArrayType>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    1 => {
                        c.typed::<Int64Type>()
                            .write_batch(&ids, None, None)
                            .unwrap();
                    }
                    2 => {
                        let v: Vec<f64> = present.iter().map(|i| *i as f64 / 4.0).collect();
                        c.typed::<DoubleType>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    3 => {
                        let v: Vec<i32> = present.iter().map(|i| 19_000 + *i as i32).collect();
                        c.typed::<Int32Type>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    4 => {
                        let v: Vec<i64> = present
                            .iter()
                            .map(|i| 1_780_000_000_000 + i * 1_234)
                            .collect();
                        c.typed::<Int64Type>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    5 => {
                        let v: Vec<bool> = present.iter().map(|i| i % 2 == 0).collect();
                        c.typed::<BoolType>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    6 => {
                        let v: Vec<i32> = present.iter().map(|i| -(*i as i32)).collect();
                        c.typed::<Int32Type>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                    _ => {
                        let v: Vec<ByteArray> = present
                            .iter()
                            .map(|i| ByteArray::from(format!("{}", i * 7).as_str()))
                            .collect();
                        c.typed::<ByteArrayType>()
                            .write_batch(&v, Some(&defs), None)
                            .unwrap();
                    }
                }
                c.close().unwrap();
                col += 1;
            }
            rg.close().unwrap();
        }
        w.close().unwrap();
    }

    #[test]
    fn the_columnar_reader_gives_the_record_apis_cells() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_file(&path, 10);
        let pq = ParquetFile::open(&path).unwrap();
        assert!(pq.columnar());
        // The last string column read as integers, as a contract's integer column would.
        let mut affinity = vec![Affinity::Text; 8];
        affinity[7] = Affinity::Integer;
        affinity[1] = Affinity::Integer;
        let mut columnar = Vec::new();
        pq.batches(&path, &affinity, 3, |rows| {
            columnar.extend(rows);
            Ok(())
        })
        .unwrap();
        let mut record = Vec::new();
        for row in pq.rows(&path).unwrap() {
            let row = row.unwrap();
            record.push(
                row.get_column_iter()
                    .zip(&affinity)
                    .map(|((_, f), a)| cell(f, *a))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(columnar.len(), 20);
        assert_eq!(columnar, record);
        assert_eq!(columnar[0][0], Cell::Null, "a null stays null");
        assert_eq!(columnar[1][7], Cell::Int(7), "text read as an integer");
        assert_eq!(
            columnar[13][1],
            Cell::Int(13),
            "the second row group follows the first"
        );
    }
}
