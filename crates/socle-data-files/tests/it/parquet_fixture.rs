//! Writes the corpus' Parquet file from its rendered CSV as DuckDB does in
//! scripts/data-test-files-expected.sh (`read_csv` with typed columns, then `COPY … (FORMAT
//! parquet)`): an empty field is null; amount DOUBLE, qty BIGINT, placed_at TIMESTAMPTZ
//! (microseconds, UTC), the rest VARCHAR; Snappy-compressed, as DuckDB writes it.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

const SCHEMA: &str = "message duckdb_schema {
  OPTIONAL BYTE_ARRAY order_id (STRING);
  OPTIONAL BYTE_ARRAY customer_email (STRING);
  OPTIONAL BYTE_ARRAY status (STRING);
  OPTIONAL DOUBLE amount;
  OPTIONAL INT64 qty (INTEGER(64,true));
  OPTIONAL INT64 placed_at (TIMESTAMP(MICROS,true));
  OPTIONAL BYTE_ARRAY country (STRING);
}";

/// One column's values (present ones only) and definition levels.
#[derive(Default)]
struct Col<T> {
    values: Vec<T>,
    defs: Vec<i16>,
}

impl<T> Col<T> {
    fn push(&mut self, v: Option<T>) {
        self.defs.push(i16::from(v.is_some()));
        self.values.extend(v);
    }
}

fn micros(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s}: {e}"));
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap()
}

pub fn csv_to_parquet(csv_path: &Path, out: &Path) {
    let mut r = csv::Reader::from_path(csv_path).unwrap();
    let mut text: [Col<ByteArray>; 4] = Default::default();
    let mut amount = Col::<f64>::default();
    let mut qty = Col::<i64>::default();
    let mut placed = Col::<i64>::default();
    for rec in r.records() {
        let rec = rec.unwrap();
        let field = |i: usize| Some(&rec[i]).filter(|s| !s.is_empty());
        for (slot, i) in [(0, 0), (1, 1), (2, 2), (3, 6)] {
            text[slot].push(field(i).map(ByteArray::from));
        }
        amount.push(field(3).map(|s| s.parse().unwrap()));
        qty.push(field(4).map(|s| s.parse().unwrap()));
        placed.push(field(5).map(micros));
    }
    let schema = Arc::new(parse_message_type(SCHEMA).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let file = std::fs::File::create(out).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut column = 0;
    while let Some(mut c) = rg.next_column().unwrap() {
        match column {
            0..=2 | 6 => {
                let t = &text[if column == 6 { 3 } else { column }];
                c.typed::<ByteArrayType>()
                    .write_batch(&t.values, Some(&t.defs), None)
                    .unwrap();
            }
            3 => {
                c.typed::<DoubleType>()
                    .write_batch(&amount.values, Some(&amount.defs), None)
                    .unwrap();
            }
            4 | 5 => {
                let t = if column == 4 { &qty } else { &placed };
                c.typed::<Int64Type>()
                    .write_batch(&t.values, Some(&t.defs), None)
                    .unwrap();
            }
            _ => unreachable!(),
        }
        c.close().unwrap();
        column += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
}
