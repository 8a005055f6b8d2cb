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

use crate::load::{Affinity, Cell, Val};
use crate::parquet_batch::{Batch, date, decode_of, recycle, timestamp};

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
    reader: SerializedFileReader<At>,
}

impl ParquetFile {
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let f = std::fs::File::open(path).map_err(|e| format!("Could not read {shown}: {e}"))?;
        let reader = SerializedFileReader::new(At(std::sync::Arc::new(f)))
            .map_err(|e| format!("{shown}: {e}"))?;
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

/// A file read at positions (`pread`): readers of different row groups share no file offset,
/// so row groups are read on several threads at once.
pub struct At(std::sync::Arc<std::fs::File>);

/// A reader of [`At`] from a position on.
pub struct AtRead {
    file: std::sync::Arc<std::fs::File>,
    pos: u64,
}

#[cfg(unix)]
fn read_at(f: &std::fs::File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &std::fs::File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}

impl std::io::Read for AtRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl parquet::file::reader::Length for At {
    fn len(&self) -> u64 {
        self.0.metadata().map_or(0, |m| m.len())
    }
}

impl parquet::file::reader::ChunkReader for At {
    type T = std::io::BufReader<AtRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(AtRead {
            file: std::sync::Arc::clone(&self.0),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        use std::io::Read;
        let mut buf = Vec::with_capacity(length);
        self.get_read(start)?
            .into_inner()
            .take(length as u64)
            .read_to_end(&mut buf)?;
        if buf.len() < length {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{length} bytes expected at {start}, {} read",
                buf.len()
            )));
        }
        Ok(buf.into())
    }
}

impl ParquetFile {
    /// Whether every column is a flat column the columnar reader decodes (no nesting, no
    /// decimals, no INT96): then [`Self::read_group`] reads it, else the record API does.
    pub fn columnar(&self) -> bool {
        let meta = self.reader.metadata().file_metadata();
        let top = meta.schema().get_fields().len();
        let leaves = meta.schema_descr().columns();
        leaves.len() == top
            && leaves
                .iter()
                .all(|c| c.max_rep_level() == 0 && decode_of(c).is_some())
    }

    pub fn row_groups(&self) -> usize {
        self.reader.num_row_groups()
    }

    /// Rows in the file: the sum of its row groups' (what [`Self::read_group`] reads, whatever
    /// the footer's total says).
    pub fn num_rows(&self) -> usize {
        self.reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| usize::try_from(g.num_rows()).unwrap_or(usize::MAX))
            .fold(0, usize::saturating_add)
    }

    /// Row group `g`, read column by column in batches of at most `batch` rows: `each` gets
    /// every column's stored values (column `i` with `affinity[i]`) and the batch's row count.
    /// Row groups may be read on several threads at once.
    pub fn read_group(
        &self,
        path: &Path,
        g: usize,
        affinity: &[Affinity],
        batch: usize,
        mut each: impl FnMut(&[Vec<Val<'_>>], usize) -> Result<(), String>,
    ) -> Result<(), String> {
        let at = |e: String| format!("{}: {e}", path.display());
        let leaves = self
            .reader
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns();
        let rg = self
            .reader
            .get_row_group(g)
            .map_err(|e| at(e.to_string()))?;
        let mut left = usize::try_from(rg.metadata().num_rows()).unwrap_or(0);
        let mut readers = Vec::with_capacity(leaves.len());
        let mut batches = Vec::with_capacity(leaves.len());
        for (i, c) in leaves.iter().enumerate() {
            let decode = decode_of(c)
                .ok_or_else(|| at("a column the columnar reader does not decode".into()))?;
            readers.push(rg.get_column_reader(i).map_err(|e| at(e.to_string()))?);
            let a = affinity.get(i).copied().unwrap_or(Affinity::Text);
            batches.push(Batch::new(c.max_def_level(), decode, a));
        }
        // Each column's values, kept from batch to batch (refilled, not reallocated).
        let mut spare: Vec<Vec<Val<'static>>> = Vec::new();
        while left > 0 {
            let n = left.min(batch);
            for (reader, b) in readers.iter_mut().zip(&mut batches) {
                let read = b.refill(reader, n).map_err(at)?;
                if read != n {
                    return Err(at(format!("a column ended after {read} of {n} rows")));
                }
            }
            let columns = loop {
                let mut columns: Vec<Vec<Val<'_>>> = Vec::with_capacity(batches.len());
                let mut not_utf8 = None;
                for (i, b) in batches.iter().enumerate() {
                    let mut out = recycle(spare.pop().unwrap_or_default());
                    if !b.values(n, &mut out) {
                        not_utf8 = Some(i);
                    }
                    columns.push(out);
                }
                let Some(i) = not_utf8 else {
                    break columns;
                };
                spare = columns.into_iter().rev().map(recycle).collect();
                batches[i].lossy();
            };
            each(&columns, n)?;
            spare = columns.into_iter().rev().map(recycle).collect();
            left -= n;
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
    fn the_columnar_reader_gives_the_record_apis_cells_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_file(&path, 10);
        let pq = ParquetFile::open(&path).unwrap();
        assert!(pq.columnar());
        // The last string column read as integers, as a contract's integer column would; the
        // double column as text, the integer column as a real (a settled conversion each).
        let mut affinity = vec![Affinity::Text; 8];
        affinity[7] = Affinity::Integer;
        affinity[1] = Affinity::Integer;
        affinity[6] = Affinity::Real;
        let mut columnar = Vec::new();
        for g in 0..pq.row_groups() {
            pq.read_group(&path, g, &affinity, 3, |columns, n| {
                for r in 0..n {
                    columnar.push(columns.iter().map(|c| c[r].to_cell()).collect::<Vec<_>>());
                }
                Ok(())
            })
            .unwrap();
        }
        let mut record = Vec::new();
        for row in pq.rows(&path).unwrap() {
            let row = row.unwrap();
            record.push(
                row.get_column_iter()
                    .zip(&affinity)
                    .map(|((_, f), a)| crate::stored::settle(cell(f, *a), *a))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(columnar.len(), 20);
        assert_eq!(columnar, record);
        assert_eq!(columnar[0][0], Cell::Null, "a null stays null");
        assert_eq!(columnar[1][7], Cell::Int(7), "text read as an integer");
        assert_eq!(
            columnar[1][2],
            Cell::Text("0.25".into()),
            "a double as text"
        );
        assert_eq!(columnar[1][6], Cell::Real(-1.0), "an integer as a real");
        assert_eq!(
            columnar[13][1],
            Cell::Int(13),
            "the second row group follows the first"
        );
    }

    #[test]
    fn text_that_is_not_utf8_reads_lossily_in_its_batch_only() {
        use parquet::data_type::{ByteArray, ByteArrayType};
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let schema =
            Arc::new(parse_message_type("message m { OPTIONAL BYTE_ARRAY s (STRING); }").unwrap());
        let file = std::fs::File::create(&path).unwrap();
        let mut w =
            SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))
                .unwrap();
        let mut rg = w.next_row_group().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let values = [
            ByteArray::from("ok"),
            ByteArray::from(vec![b'a', 0xff, b'b']),
            ByteArray::from("fine"),
        ];
        c.typed::<ByteArrayType>()
            .write_batch(&values, Some(&[1, 0, 1, 1]), None)
            .unwrap();
        c.close().unwrap();
        rg.close().unwrap();
        w.close().unwrap();
        let pq = ParquetFile::open(&path).unwrap();
        let mut got = Vec::new();
        pq.read_group(&path, 0, &[Affinity::Text], 2, |columns, n| {
            got.extend(columns[0][..n].iter().map(|v| v.to_cell()));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            got,
            [
                Cell::Text("ok".into()),
                Cell::Null,
                Cell::Text("a\u{fffd}b".into()),
                Cell::Text("fine".into())
            ]
        );
    }

    fn any_affinity() -> impl proptest::strategy::Strategy<Value = Affinity> {
        proptest::sample::select(vec![
            Affinity::Integer,
            Affinity::Real,
            Affinity::Boolean,
            Affinity::Text,
        ])
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Every pairing of a file's type and a column's affinity, in batches of any size.
        #[test]
        fn any_affinity_reads_as_the_record_api_settled(
            affinity in proptest::collection::vec(any_affinity(), 8),
            rows in 1usize..40,
            batch in 1usize..50,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.parquet");
            write_file(&path, rows);
            let pq = ParquetFile::open(&path).unwrap();
            let mut columnar = Vec::new();
            for g in 0..pq.row_groups() {
                pq.read_group(&path, g, &affinity, batch, |columns, n| {
                    for r in 0..n {
                        columnar.push(columns.iter().map(|c| c[r].to_cell()).collect::<Vec<_>>());
                    }
                    Ok(())
                })
                .unwrap();
            }
            let record: Vec<Vec<Cell>> = pq
                .rows(&path)
                .unwrap()
                .map(|row| {
                    row.unwrap()
                        .get_column_iter()
                        .zip(&affinity)
                        .map(|((_, f), a)| crate::stored::settle(cell(f, *a), *a))
                        .collect()
                })
                .collect();
            proptest::prop_assert_eq!(columnar, record);
        }
    }
}
