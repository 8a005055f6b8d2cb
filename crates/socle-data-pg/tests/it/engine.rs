//! The engine on a real PostgreSQL (SOCLE_TEST_DATABASE_URL; skipped without it unless
//! SOCLE_REQUIRE_POSTGRES is set): the corpus fixture in a schema of its own per test.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socle_catalog::Limits;
use socle_data::quality::{CheckResult, Verdict, plan};
use socle_data_pg::RunOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::corpus::corpus_dir;

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The corpus fixture loaded into a schema of its own.
pub struct Fixture {
    pub url: String,
    pub options: PgConnectOptions,
    pub schema: String,
}

impl Fixture {
    pub async fn load(prefix: &str) -> Option<Fixture> {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            return None;
        };
        let options = PgConnectOptions::from_str(&url).expect("database URL");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!("socle_dq_{prefix}_{}_{nanos}", std::process::id());
        let fixture = std::fs::read_to_string(corpus_dir().join("fixture.sql")).unwrap();
        let mut c = PgConnection::connect_with(&options).await.expect("connect");
        let setup = format!("CREATE SCHEMA {schema}; SET search_path TO {schema}; {fixture}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
            .execute(&mut c)
            .await
            .expect("fixture");
        Some(Fixture {
            url,
            options,
            schema,
        })
    }

    pub async fn sql(&self, q: &str) -> Vec<sqlx::postgres::PgRow> {
        let mut c = PgConnection::connect_with(&self.options).await.unwrap();
        let q = format!("SET search_path TO {}; {q}", self.schema);
        sqlx::raw_sql(sqlx::AssertSqlSafe(q))
            .fetch_all(&mut c)
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        self.sql(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

/// Plans the contract at `path` for its first server and runs it on the fixture.
pub async fn run_contract(fixture: &Fixture, path: &Path, opts: RunOptions) -> Vec<CheckResult> {
    let text = std::fs::read_to_string(path).unwrap();
    let contract = socle_data::load(&text, &path.display().to_string(), &Limits::default())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let spec = contract.test_spec().unwrap();
    let checks = plan(&spec, &spec.servers[0]);
    let target = socle_data_pg::Target::of(&spec.servers[0], Some(&fixture.url)).unwrap();
    socle_data_pg::run(&target, Some(&fixture.schema), &spec, &checks, &opts)
        .await
        .expect("engine runs")
}

fn contract(yaml_schema: &str) -> String {
    format!(
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: s\n    type: postgres\n    host: 127.0.0.1\n    port: 5432\n    database: test\n    schema: public\nschema:\n{yaml_schema}"
    )
}

async fn run_text(fixture: &Fixture, yaml: &str, opts: RunOptions) -> Vec<CheckResult> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.odcs.yaml");
    std::fs::write(&path, yaml).unwrap();
    run_contract(fixture, &path, opts).await
}

fn result<'a>(results: &'a [CheckResult], key: &str) -> &'a CheckResult {
    results.iter().find(|r| r.key == key).unwrap_or_else(|| {
        panic!(
            "no {key} in {:?}",
            results.iter().map(|r| &r.key).collect::<Vec<_>>()
        )
    })
}

#[tokio::test]
async fn a_rule_that_writes_through_a_select_is_stopped_by_the_read_only_transaction() {
    let Some(f) = Fixture::load("ro").await else {
        return;
    };
    f.sql("CREATE SEQUENCE ticket").await;
    let yaml = contract(
        "  - name: orders\n    quality:\n      - type: sql\n        query: SELECT nextval('ticket')\n        mustBeGreaterThan: 0\n",
    );
    let results = run_text(&f, &yaml, RunOptions::at(now())).await;
    let r = result(&results, "orders__quality_sql_0");
    assert_eq!(r.result, Verdict::Failed);
    assert!(r.reason.as_deref().unwrap().contains("read-only"), "{r:?}");
    let rows = f.sql("SELECT last_value, is_called FROM ticket").await;
    use sqlx::Row;
    assert!(!rows[0].get::<bool, _>(1), "the sequence moved");
    f.drop().await;
}

#[tokio::test]
async fn a_slow_rule_is_stopped_at_the_statement_limit_and_the_others_still_run() {
    let Some(f) = Fixture::load("slow").await else {
        return;
    };
    let yaml = contract(
        "  - name: orders\n    quality:\n      - type: sql\n        query: SELECT count(*) FROM pg_sleep(30)\n        mustBe: 1\n      - metric: rowCount\n        mustBe: 6\n",
    );
    let opts = RunOptions {
        statement_timeout: Duration::from_millis(300),
        ..RunOptions::at(now())
    };
    let started = std::time::Instant::now();
    let results = run_text(&f, &yaml, opts).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    let slow = result(&results, "orders__quality_sql_0");
    assert_eq!(slow.result, Verdict::Failed);
    assert!(
        slow.reason
            .as_deref()
            .unwrap()
            .contains("statement timeout"),
        "{slow:?}"
    );
    assert_eq!(
        result(&results, "orders__row_count").result,
        Verdict::Passed
    );
    f.drop().await;
}

#[tokio::test]
async fn samples_show_at_most_five_rows_and_never_a_sensitive_column() {
    let Some(f) = Fixture::load("samples").await else {
        return;
    };
    let opts = RunOptions {
        samples: true,
        ..RunOptions::at(now())
    };
    let results = run_contract(&f, &corpus_dir().join("orders.odcs.yaml"), opts).await;
    let email = result(&results, "orders__customer_email__field_required");
    assert_eq!(email.result, Verdict::Failed);
    assert_eq!(email.samples.len(), 1);
    for r in &results {
        assert!(r.samples.len() <= 5, "{}", r.key);
        for row in &r.samples {
            assert!(!row.contains_key("customer_email"), "{}: {row:?}", r.key);
        }
    }
    // The failing row is named by the table's key column.
    assert_eq!(email.samples[0]["order_id"], "o2");
    let dup = result(&results, "orders__order_id__field_primary_key_unique");
    assert_eq!(dup.samples[0]["order_id"], "o2");
    assert_eq!(dup.samples[0]["duplicate_count"], 2);
    f.drop().await;
}

async fn scans(f: &Fixture) -> i64 {
    use sqlx::Row;
    let q = format!(
        "SELECT coalesce(seq_scan, 0)::int8 FROM pg_stat_user_tables WHERE schemaname = '{}' AND relname = 'orders'",
        f.schema
    );
    f.sql(&q).await[0].get::<i64, _>(0)
}

#[tokio::test]
async fn the_counting_and_duplicate_checks_scan_the_table_at_most_twice() {
    let Some(f) = Fixture::load("scans").await else {
        return;
    };
    let before = scans(&f).await;
    // Counting rules of every kind, three duplicate checks, an SLA and two sql rules that are
    // one aggregate of the table each (folded into the counting scan).
    let yaml = contract(concat!(
        "  - name: orders\n    quality:\n      - metric: rowCount\n        mustBe: 6\n",
        "      - type: sql\n        query: SELECT count(*) FROM {object} WHERE amount < 0\n        mustBe: 1\n",
        "      - type: sql\n        query: SELECT avg(amount) FROM {object}\n        mustBeGreaterThan: 0\n",
        "      - metric: duplicateValues\n        arguments:\n          properties: [order_id, country]\n        mustBe: 0\n",
        "    properties:\n      - name: order_id\n        primaryKey: true\n",
        "      - name: status\n        required: true\n        quality:\n          - metric: invalidValues\n            arguments:\n              validValues: [paid]\n            mustBe: 0\n",
        "      - name: qty\n        logicalType: integer\n        unique: true\n        logicalTypeOptions:\n          minimum: 1\n",
        "      - name: placed_at\nslaProperties:\n  - property: freshness\n    value: 1\n    unit: d\n    element: orders.placed_at\n",
    ));
    let results = run_text(&f, &yaml, RunOptions::at(now())).await;
    let rules: Vec<&CheckResult> = results
        .iter()
        .filter(|r| r.metric == "custom_sql")
        .collect();
    assert_eq!(rules.len(), 2);
    assert!(
        rules.iter().all(|r| r.result == Verdict::Passed),
        "{rules:?}"
    );
    let mut after = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = scans(&f).await;
        if after > before {
            tokio::time::sleep(Duration::from_millis(300)).await;
            after = scans(&f).await;
            break;
        }
    }
    assert!(after > before, "no scan recorded");
    assert!(after - before <= 2, "{} scans", after - before);
    f.drop().await;
}

/// Each rule twice: as one aggregate of the table (folded into the counting scan) and wrapped
/// in a CTE (not folded: run as its own query). Both must measure the same value.
const FOLD_PAIRS: &[&str] = &[
    "count(*) FROM {object} WHERE amount < 0",
    "avg(amount) FROM {object}",
    "count(DISTINCT status) FROM {object} WHERE qty BETWEEN 1 AND 3",
    "round(sum(amount) / NULLIF(count(amount), 0), 2) FROM {object} WHERE country IN ('FR', 'DE')",
    "count(*) FILTER (WHERE qty > 2) FROM {object} WHERE order_id IS NOT NULL",
    "max(qty) > 3 FROM {object} WHERE status <> 'paid'",
    "min(amount) FROM {object} WHERE amount > 1000000",
    "count(customer_email) * 100.0 / count(*) FROM {object} WHERE status LIKE 'p%'",
];

#[tokio::test]
async fn a_folded_rule_measures_what_its_own_query_measures() {
    let Some(f) = Fixture::load("fold").await else {
        return;
    };
    let mut yaml = contract("  - name: orders\n    quality:\n");
    for q in FOLD_PAIRS {
        for text in [
            format!("SELECT {q}"),
            format!("WITH o AS (SELECT 1) SELECT {q}"),
        ] {
            yaml.push_str(&format!(
                "      - type: sql\n        description: {text:?}\n        query: {text:?}\n        mustBeGreaterOrEqualTo: -1000000\n"
            ));
        }
    }
    let results = run_text(&f, &yaml, RunOptions::at(now())).await;
    for q in FOLD_PAIRS {
        let by_name = |name: String| {
            results
                .iter()
                .find(|r| r.name == name)
                .unwrap_or_else(|| panic!("no result named {name}"))
        };
        let folded = by_name(format!("SELECT {q}"));
        let alone = by_name(format!("WITH o AS (SELECT 1) SELECT {q}"));
        assert_eq!(folded.value, alone.value, "{q}");
        assert_eq!(folded.result, alone.result, "{q}");
        assert_eq!(folded.reason, alone.reason, "{q}");
    }
    f.drop().await;
}
