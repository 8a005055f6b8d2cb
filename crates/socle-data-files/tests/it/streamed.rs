//! The counting checks computed while the files stream must measure what the same checks
//! measure in SQL over the loaded table. Two properties against SQLite itself:
//! * a cell settled for its column's affinity is what SQLite stores when given the raw cell,
//!   and its text is SQLite's `CAST(… AS TEXT)`;
//! * a whole run with samples (every check in SQL over the full table: the path without
//!   streaming) and without (streamed) gives every check the same value and verdict, on
//!   random data and random checks, in CSV and in JSON Lines.

use std::str::FromStr;

use proptest::prelude::*;
use socle_catalog::Limits;
use socle_data::quality::plan;
use socle_data_files::RunOptions;
use socle_data_files::stored::{self, Affinity, Cell};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Texts that sit on the edges of SQLite's number grammar and of the checks.
const TEXTS: &[&str] = &[
    "",
    " ",
    "0",
    "-0",
    "12",
    " 12 ",
    "+7",
    "1.5",
    "1.",
    ".5",
    "1e3",
    "3.0",
    "1e",
    "1e400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "0.1",
    "1e-7",
    "abc",
    "n/a",
    "NaN",
    "inf",
    "0x10",
    "1_000",
    "é",
    "x@y.io",
    "SKU-12",
    "FR",
    "fr",
    "12abc",
];

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Null),
        any::<i64>().prop_map(Cell::Int),
        (-1000i64..1000).prop_map(Cell::Int),
        any::<f64>().prop_map(Cell::Real),
        (-1.0e6f64..1.0e6).prop_map(Cell::Real),
        (-100i32..100, 0u32..4).prop_map(|(m, d)| Cell::Real(f64::from(m) / 10f64.powi(d as i32))),
        prop::sample::select(TEXTS).prop_map(|t| Cell::Text(t.to_owned())),
    ]
}

fn affinity() -> impl Strategy<Value = Affinity> {
    prop::sample::select(vec![
        Affinity::Integer,
        Affinity::Real,
        Affinity::Boolean,
        Affinity::Text,
    ])
}

async fn stored_by_sqlite(
    conn: &mut SqliteConnection,
    cell: &Cell,
    a: Affinity,
) -> (Cell, Option<String>) {
    let ty = match a {
        Affinity::Integer | Affinity::Boolean => "INTEGER",
        Affinity::Real => "REAL",
        Affinity::Text => "TEXT",
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP TABLE IF EXISTS t; CREATE TABLE t (c {ty})"
    )))
    .execute(&mut *conn)
    .await
    .unwrap();
    let q = sqlx::query("INSERT INTO t VALUES (?)");
    let q = match cell {
        Cell::Null => q.bind(None::<String>),
        Cell::Int(i) => q.bind(*i),
        Cell::Real(r) => q.bind(*r),
        Cell::Text(s) => q.bind(s.as_str()),
    };
    q.execute(&mut *conn).await.unwrap();
    let row = sqlx::query("SELECT typeof(c), c, CAST(c AS TEXT) FROM t")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let kind: String = row.get(0);
    let stored = match kind.as_str() {
        "null" => Cell::Null,
        "integer" => Cell::Int(row.get(1)),
        "real" => Cell::Real(row.get(1)),
        _ => Cell::Text(row.get(1)),
    };
    (stored, row.get(2))
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Real(x), Cell::Real(y)) => x.to_bits() == y.to_bits() || x == y,
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn a_settled_cell_is_what_sqlite_stores_and_its_text_is_sqlites(c in cell(), a in affinity()) {
        let rt = runtime();
        rt.block_on(async {
            let mut conn = SqliteConnection::connect_with(
                &SqliteConnectOptions::from_str("sqlite::memory:").unwrap(),
            )
            .await
            .unwrap();
            let settled = stored::settle(c.clone(), a);
            let (by_sqlite, text) = stored_by_sqlite(&mut conn, &c, a).await;
            prop_assert!(same(&settled, &by_sqlite), "{c:?} in {a:?}: settled {settled:?}, SQLite {by_sqlite:?}");
            let (again, _) = stored_by_sqlite(&mut conn, &settled, a).await;
            prop_assert!(same(&settled, &again), "{settled:?} changed to {again:?}");
            prop_assert_eq!(stored::text(&settled).map(|t| t.into_owned()), text);
            Ok(())
        })?;
    }
}

/// One column's random rule, as contract YAML under the property.
pub fn rule() -> impl Strategy<Value = String> {
    let word = || prop::sample::select(TEXTS).prop_map(|t| format!("{t:?}"));
    prop_oneof![
        Just("{metric: nullValues, mustBe: 0}".to_owned()),
        prop::collection::vec(word(), 0..3).prop_map(|w| format!(
            "{{metric: missingValues, arguments: {{missingValues: [{}]}}, mustBe: 0}}",
            w.join(", ")
        )),
        prop::collection::vec(word(), 0..3).prop_map(|w| format!(
            "{{metric: invalidValues, arguments: {{validValues: [{}]}}, mustBe: 0}}",
            w.join(", ")
        )),
        prop::sample::select(vec!["^[0-9]+$", "@", "^-", "\\\\.", "^[a-z]{2}$"]).prop_map(
            |p| format!("{{metric: invalidValues, arguments: {{pattern: '{p}'}}, mustBe: 0}}")
        ),
        Just("{metric: duplicateValues, mustBe: 0}".to_owned()),
    ]
}

pub fn number_options() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (-20i64..20).prop_map(|m| format!("minimum: {m}")),
        (-20.0f64..20.0).prop_map(|m| format!("maximum: {m:.2}")),
        (-20i64..0, 0i64..20).prop_map(|(a, b)| format!("minimum: {a}, maximum: {b}")),
    ]
}

pub fn text_options() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (0u64..5).prop_map(|n| format!("maxLength: {n}")),
        (0u64..5).prop_map(|n| format!("minLength: {n}")),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    rows: Vec<[Cell; 3]>,
    rules: [String; 3],
    options: [String; 3],
    json: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec([cell(), cell(), cell()], 0..30),
        [rule(), rule(), rule()],
        (number_options(), number_options(), text_options()),
        any::<bool>(),
    )
        .prop_map(|(rows, rules, (a, b, c), json)| Case {
            rows,
            rules,
            options: [a, b, c],
            json,
        })
}

const COLUMNS: [(&str, &str); 3] = [("a", "integer"), ("b", "number"), ("c", "string")];

fn write_case(dir: &std::path::Path, case: &Case) -> std::path::PathBuf {
    let mut data = String::new();
    if !case.json {
        data.push_str("a,b,c\n");
    }
    for row in &case.rows {
        if case.json {
            let obj: serde_json::Map<String, serde_json::Value> = COLUMNS
                .iter()
                .zip(row)
                .filter_map(|((n, _), c)| {
                    let v = match c {
                        Cell::Null => serde_json::Value::Null,
                        Cell::Int(i) => (*i).into(),
                        Cell::Real(r) => serde_json::Number::from_f64(*r)?.into(),
                        Cell::Text(t) => t.clone().into(),
                    };
                    Some(((*n).to_owned(), v))
                })
                .collect();
            data.push_str(&serde_json::Value::Object(obj).to_string());
        } else {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Null => String::new(),
                    Cell::Int(i) => i.to_string(),
                    Cell::Real(r) => r.to_string(),
                    Cell::Text(t) => format!("\"{}\"", t.replace('"', "\"\"")),
                })
                .collect();
            data.push_str(&fields.join(","));
        }
        data.push('\n');
    }
    let (file, format) = if case.json {
        ("t.jsonl", "json")
    } else {
        ("t.csv", "csv")
    };
    std::fs::write(dir.join(file), data).unwrap();
    let mut yaml = format!(
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: f\n    type: local\n    format: {format}\n    path: {file}\nschema:\n  - name: t\n    quality:\n      - {{metric: rowCount, mustBeGreaterThan: 0}}\n      - {{metric: duplicateValues, arguments: {{properties: [a, c]}}, mustBe: 0}}\n    properties:\n"
    );
    for (((name, logical), rule), opt) in COLUMNS.iter().zip(&case.rules).zip(&case.options) {
        yaml.push_str(&format!(
            "      - name: {name}\n        logicalType: {logical}\n"
        ));
        if !opt.is_empty() {
            yaml.push_str(&format!("        logicalTypeOptions: {{{opt}}}\n"));
        }
        yaml.push_str(&format!("        quality:\n          - {rule}\n"));
    }
    yaml.push_str("slaProperties:\n  - {property: freshness, value: 1, unit: d, element: t.c}\n  - {property: retention, value: 1, unit: y, element: t.a}\n");
    let p = dir.join("t.odcs.yaml");
    std::fs::write(&p, yaml).unwrap();
    p
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        (0u32..10_000, 0u32..14, 0u32..33),
        prop::sample::select(vec!["T", " ", "TT", "", "t"]),
        (0u32..26, 0u32..61, prop::option::of(0u32..62)),
        prop::option::of("[0-9]{1,12}"),
        prop::sample::select(vec![
            "", "Z", "z", "+01:00", "-14:00", "+15:00", " Z", "+0100", "-03:30", "+00:00",
        ]),
    )
        .prop_map(|((y, mo, d), sep, (h, mi, s), frac, tz)| {
            let mut t = format!("{y:04}-{mo:02}-{d:02}");
            if !sep.is_empty() || h % 5 != 0 {
                t.push_str(&format!("{sep}{h:02}:{mi:02}"));
                if let Some(s) = s {
                    t.push_str(&format!(":{s:02}"));
                    if let Some(f) = frac {
                        t.push('.');
                        t.push_str(&f);
                    }
                }
                t.push_str(tz);
            }
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn a_timestamp_read_in_rust_has_sqlites_unixepoch(t in timestamp()) {
        let ours = stored::unixepoch(&t);
        let rt = runtime();
        let theirs: Option<f64> = rt.block_on(async {
            let mut conn = SqliteConnection::connect_with(
                &SqliteConnectOptions::from_str("sqlite::memory:").unwrap(),
            )
            .await
            .unwrap();
            sqlx::query_scalar("SELECT unixepoch(?, 'subsec')")
                .bind(&t)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        });
        if let Some(e) = ours {
            prop_assert_eq!(Some(e), theirs, "{}", t);
        }
    }
}

async fn run(contract: &std::path::Path, samples: bool) -> Vec<socle_data::quality::CheckResult> {
    let text = std::fs::read_to_string(contract).unwrap();
    let c = socle_data::load(&text, "t.odcs.yaml", &Limits::default()).expect("contract loads");
    let spec = c.test_spec().unwrap();
    let checks = plan(&spec, &spec.servers[0]);
    let mut opts = RunOptions::at(0.0);
    opts.samples = samples;
    socle_data_files::run(
        contract.parent().unwrap(),
        &spec.servers[0],
        &spec,
        &checks,
        &opts,
    )
    .await
    .expect("engine runs")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn streamed_checks_measure_what_sql_measures(case in case()) {
        let dir = tempfile::tempdir().unwrap();
        streamed_equals_sql(&write_case(dir.path(), &case))?;
    }
}

/// The contract run streamed and with every check in SQL (samples on): every check measured
/// alike, same keys, values, verdicts and reasons.
pub fn streamed_equals_sql(contract: &std::path::Path) -> Result<(), TestCaseError> {
    let (streamed, in_sql) =
        runtime().block_on(async { (run(contract, false).await, run(contract, true).await) });
    prop_assert_eq!(streamed.len(), in_sql.len());
    for (s, q) in streamed.iter().zip(&in_sql) {
        prop_assert_eq!(&s.key, &q.key);
        prop_assert_eq!(&s.value, &q.value, "{}", s.key);
        prop_assert_eq!(s.result, q.result, "{}", s.key);
        prop_assert_eq!(&s.reason, &q.reason, "{}", s.key);
    }
    Ok(())
}
