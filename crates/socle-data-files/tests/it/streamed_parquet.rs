//! Parquet files are read a row group per thread, column by column, and counted while they are
//! decoded: a run without samples (streamed) must measure every check as a run with samples
//! (every check in SQL over the loaded table), on random typed columns (an integer, a double, a
//! text, a timestamp, each with nulls) declared with random logical types (so that values are
//! converted for their columns' affinity), random checks, and row groups of random sizes.

use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use proptest::prelude::*;

use crate::streamed::{number_options, rule, streamed_equals_sql, text_options};

#[derive(Debug, Clone)]
struct Row {
    a: Option<i64>,
    b: Option<f64>,
    c: Option<String>,
    d: Option<i64>,
}

#[derive(Debug, Clone)]
struct Case {
    rows: Vec<Row>,
    group: usize,
    logical: [&'static str; 3],
    rules: [String; 3],
    /// Text options and number options, for the columns declared as strings or numbers.
    options: (String, String),
}

const WORDS: &[&str] = &[
    "", "0", "12", " 12 ", "1.5", "1e3", "abc", "n/a", "x@y.io", "FR", "é",
];

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::of(prop_oneof![any::<i64>(), -30i64..30]),
        prop::option::of(prop_oneof![
            any::<f64>(),
            (-30.0f64..30.0),
            (-30i32..30).prop_map(f64::from)
        ]),
        prop::option::of(prop::sample::select(WORDS).prop_map(str::to_owned)),
        prop::option::of(prop_oneof![
            any::<i64>(),
            1_700_000_000_000_000i64..1_800_000_000_000_000
        ]),
    )
        .prop_map(|(a, b, c, d)| Row { a, b, c, d })
}

fn logical() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["integer", "number", "string", "boolean"])
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(row(), 0..40),
        1usize..12,
        [logical(), logical(), logical()],
        [rule(), rule(), rule()],
        (text_options(), number_options()),
    )
        .prop_map(|(rows, group, logical, rules, options)| Case {
            rows,
            group,
            logical,
            rules,
            options,
        })
}

fn write_parquet(path: &std::path::Path, case: &Case) {
    let schema = Arc::new(
        parse_message_type(
            "message m {
  OPTIONAL INT64 a;
  OPTIONAL DOUBLE b;
  OPTIONAL BYTE_ARRAY c (STRING);
  OPTIONAL INT64 d (TIMESTAMP(MICROS,true));
}",
        )
        .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_max_row_group_size(case.group)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    for rows in case.rows.chunks(case.group) {
        let defs = |f: &dyn Fn(&Row) -> bool| rows.iter().map(|r| i16::from(f(r))).collect();
        let mut rg = w.next_row_group().unwrap();
        let mut col = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            match col {
                0 => {
                    let v: Vec<i64> = rows.iter().filter_map(|r| r.a).collect();
                    let d: Vec<i16> = defs(&|r| r.a.is_some());
                    c.typed::<Int64Type>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                1 => {
                    let v: Vec<f64> = rows.iter().filter_map(|r| r.b).collect();
                    let d: Vec<i16> = defs(&|r| r.b.is_some());
                    c.typed::<DoubleType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                2 => {
                    let v: Vec<ByteArray> = rows
                        .iter()
                        .filter_map(|r| r.c.as_deref().map(ByteArray::from))
                        .collect();
                    let d: Vec<i16> = defs(&|r| r.c.is_some());
                    c.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&d), None)
                        .unwrap();
                }
                _ => {
                    let v: Vec<i64> = rows.iter().filter_map(|r| r.d).collect();
                    let d: Vec<i16> = defs(&|r| r.d.is_some());
                    c.typed::<Int64Type>()
                        .write_batch(&v, Some(&d), None)
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

fn write_case(dir: &std::path::Path, case: &Case) -> std::path::PathBuf {
    write_parquet(&dir.join("t.parquet"), case);
    let mut yaml = "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: f\n    type: local\n    format: parquet\n    path: t.parquet\nschema:\n  - name: t\n    quality:\n      - {metric: rowCount, mustBeGreaterThan: 0}\n      - {metric: duplicateValues, arguments: {properties: [a, d]}, mustBe: 0}\n      - {metric: duplicateValues, arguments: {properties: [b, c]}, mustBe: 0}\n    properties:\n".to_owned();
    for ((name, logical), rule) in ["a", "b", "c"].iter().zip(case.logical).zip(&case.rules) {
        yaml.push_str(&format!(
            "      - name: {name}\n        logicalType: {logical}\n"
        ));
        let options = match logical {
            "string" => &case.options.0,
            "integer" | "number" => &case.options.1,
            _ => "",
        };
        if !options.is_empty() {
            yaml.push_str(&format!("        logicalTypeOptions: {{{options}}}\n"));
        }
        yaml.push_str(&format!("        quality:\n          - {rule}\n"));
    }
    yaml.push_str("      - {name: d, logicalType: timestamp, required: true}\n");
    yaml.push_str("slaProperties:\n  - {property: freshness, value: 1, unit: d, element: t.d}\n  - {property: retention, value: 1, unit: y, element: t.d}\n");
    let p = dir.join("t.odcs.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn parquet_counted_by_row_group_measures_what_sql_measures(case in case()) {
        let dir = tempfile::tempdir().unwrap();
        streamed_equals_sql(&write_case(dir.path(), &case))?;
    }
}

/// A Parquet file with more rows than `max_rows` fails the object: its rows are counted from
/// the row groups the stage reads, before it reads them.
#[tokio::test]
async fn a_parquet_file_over_the_row_bound_fails_the_object() {
    let dir = tempfile::tempdir().unwrap();
    let row = Row {
        a: Some(1),
        b: None,
        c: None,
        d: None,
    };
    let case = Case {
        rows: vec![row; 5],
        group: 2,
        logical: ["integer", "number", "string"],
        rules: [
            "{metric: nullValues, mustBe: 0}".to_owned(),
            "{metric: nullValues, mustBe: 0}".to_owned(),
            "{metric: nullValues, mustBe: 0}".to_owned(),
        ],
        options: (String::new(), String::new()),
    };
    let contract = write_case(dir.path(), &case);
    let text = std::fs::read_to_string(&contract).unwrap();
    let c = socle_data::load(&text, "t.odcs.yaml", &socle_catalog::Limits::default()).unwrap();
    let spec = c.test_spec().unwrap();
    let checks = socle_data::quality::plan(&spec, &spec.servers[0]);
    let mut opts = socle_data_files::RunOptions::at(0.0);
    opts.max_rows = 4;
    let r = socle_data_files::run(dir.path(), &spec.servers[0], &spec, &checks, &opts)
        .await
        .unwrap();
    let rc = r.iter().find(|c| c.key == "t__row_count").unwrap();
    assert_eq!(rc.result, socle_data::quality::Verdict::Failed);
    let reason = rc.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("More than 4 rows"), "{rc:?}");
}
