//! `socle data validate` end to end: the binary on Bitol's ODCS examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn socle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_socle"))
        .args(args)
        .current_dir(root())
        .env("SOCLE_LOG", "warn")
        .output()
        .expect("socle runs")
}

#[test]
fn a_valid_contract_prints_its_catalog_entity() {
    let o = socle(&[
        "data",
        "validate",
        "conformance/odcs/all/full-example.odcs.yaml",
        "-o",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], true);
    let c = &report["contracts"][0];
    assert_eq!(c["entity"], "datacontract:default/my-quantum");
    assert_eq!(c["odcs"], "v3.1.0");
    assert_eq!(c["owner"], "my-team");
}

#[test]
fn an_invalid_contract_exits_1_with_file_line_and_path() {
    let o = socle(&[
        "data",
        "validate",
        "conformance/odcs/stakeholders/basic-four-dpo.odcs.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let text = std::fs::read_to_string(
        root().join("conformance/odcs/stakeholders/basic-four-dpo.odcs.yaml"),
    )
    .unwrap();
    let line = text.lines().position(|l| l.starts_with("team:")).unwrap() + 2;
    assert!(
        stderr.contains(&format!("basic-four-dpo.odcs.yaml:{line}:")) && stderr.contains(" team: "),
        "line {line}: {stderr}"
    );
    assert!(stderr.contains("[odcs.schema]"), "{stderr}");
}

/// The data-test corpus fixture in a schema of its own (psql; PostgreSQL from
/// SOCLE_TEST_DATABASE_URL, skipped without it unless SOCLE_REQUIRE_POSTGRES is set).
struct PgFixture {
    url: String,
    schema: String,
}

impl PgFixture {
    fn load(prefix: &str) -> Option<PgFixture> {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            return None;
        };
        let schema = format!("socle_cli_{prefix}_{}", std::process::id());
        let fixture = root().join("conformance/data-test/fixture.sql");
        let f = PgFixture { url, schema };
        f.psql(&[
            "-c",
            &format!(
                "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
                f.schema
            ),
        ]);
        let o = Command::new("psql")
            .args([f.url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(&fixture)
            .env("PGOPTIONS", format!("-c search_path={}", f.schema))
            .output()
            .expect("psql runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(f)
    }

    fn psql(&self, args: &[&str]) {
        let o = Command::new("psql")
            .arg(&self.url)
            .args(["-q", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .output()
            .expect("psql runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        self.psql(&[
            "-c",
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        ]);
    }
}

fn data_test(f: &PgFixture, contract: &str, extra: &[&str]) -> Output {
    let path = format!("conformance/data-test/{contract}");
    let mut args = vec![
        "data",
        "test",
        path.as_str(),
        "--url",
        f.url.as_str(),
        "--schema",
        f.schema.as_str(),
    ];
    args.extend_from_slice(extra);
    socle(&args)
}

#[test]
fn a_contract_the_data_meets_passes_and_exits_zero() {
    let Some(f) = PgFixture::load("pass") else {
        return;
    };
    let o = data_test(&f, "customers.odcs.yaml", &["-o", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["result"], "passed");
    assert_eq!(report["counts"]["passed"], 25);
    assert_eq!(report["serverType"], "postgres");
}

#[test]
fn failing_checks_exit_one_and_are_named_on_stderr_and_in_junit() {
    let Some(f) = PgFixture::load("fail") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let o = data_test(
        &f,
        "orders.odcs.yaml",
        &["--junit", junit.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("conformance/data-test/orders.odcs.yaml: orders__customer_email__field_required: Actual missing_count(customer_email) was 1, expected = 0"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(
            "orders on local (postgres): failed — 22 passed, 1 warnings, 14 failed, 0 errors"
        ),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(
        xml.contains("tests=\"37\" failures=\"14\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"Required column &apos;missing_col&apos; is missing\""),
        "{xml}"
    );
}

#[test]
fn an_unknown_server_is_refused_with_the_names_the_contract_has() {
    let o = socle(&[
        "data",
        "test",
        "conformance/data-test/orders.odcs.yaml",
        "--server",
        "prod",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("has no server named \"prod\" (it has: local)"),
        "{stderr}"
    );
}

/// A contract over one CSV file in a temporary directory, run from another directory: the
/// file's path is read from the contract's directory.
fn csv_contract(dir: &Path, rows: &str) -> PathBuf {
    std::fs::write(dir.join("people.csv"), rows).unwrap();
    let contract = dir.join("people.odcs.yaml");
    std::fs::write(
        &contract,
        r#"apiVersion: v3.1.0
kind: DataContract
id: people
version: 1.0.0
status: active
servers:
  - server: files
    type: local
    format: csv
    path: people.csv
schema:
  - name: people
    quality:
      - metric: rowCount
        mustBeGreaterThan: 1
    properties:
      - name: id
        logicalType: integer
        primaryKey: true
      - name: age
        logicalType: integer
        logicalTypeOptions:
          minimum: 0
"#,
    )
    .unwrap();
    contract
}

#[test]
fn csv_files_the_contract_holds_pass_and_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_contract(dir.path(), "id,age\n1,30\n2,41\n");
    let o = socle(&["data", "test", c.to_str().unwrap(), "-o", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Nothing fails; the two type checks are warnings (not run on CSV, as with the peer).
    assert_eq!(report["result"], "warning", "{report}");
    assert_eq!(report["counts"]["failed"], 0, "{report}");
    assert_eq!(report["counts"]["warning"], 2, "{report}");
    assert_eq!(report["serverType"], "local");
}

#[test]
fn a_csv_row_breaking_the_contract_exits_one_naming_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let c = csv_contract(dir.path(), "id,age\n1,30\n1,-4\n");
    let o = socle(&["data", "test", c.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("people__id__field_primary_key_unique"),
        "{err}"
    );
    assert!(err.contains("people__age__field_minimum"), "{err}");
}

#[test]
fn a_pipeline_s_lineage_is_printed_in_dependency_order() {
    let o = socle(&[
        "data",
        "lineage",
        "conformance/data-pipeline",
        "--source",
        "shop=landing",
        "-o",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = p["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "orders_raw",
            "customers",
            "orders",
            "revenue_by_day",
            "revenue_report"
        ]
    );
    assert_eq!(
        p["models"][0]["reads"],
        serde_json::json!([{"kind": "source", "source": "shop", "table": "orders_raw"}])
    );
    assert_eq!(
        p["models"][0]["sql"]
            .as_str()
            .unwrap()
            .trim_start()
            .lines()
            .last()
            .unwrap(),
        "select * from \"landing\".\"orders_raw\""
    );
}

#[test]
fn a_pipeline_with_a_cycle_exits_1_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::write(
        dir.path().join("models/a.sql"),
        "select * from {{ ref('b') }}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("models/b.sql"),
        "select 1,\n2 from {{ ref('a') }}",
    )
    .unwrap();
    let path = dir.path().display().to_string();
    let o = socle(&["data", "lineage", &path]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("models/a.sql:1: the models refer to each other in a cycle: a → b → a"),
        "{stderr}"
    );
    // `data run` refuses it the same way, before connecting anywhere.
    let store = tempfile::tempdir().unwrap();
    let o = socle(&[
        "data",
        "run",
        &path,
        "--url",
        "postgres://nobody@127.0.0.1:1/none",
        "--data-dir",
        &store.path().display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("models/a.sql:1: "));
}

#[tokio::test]
async fn recorded_runs_are_listed_and_one_is_shown_with_its_models() {
    use socle_store::{CheckCounts, DataRunModelRecord, DataRunRecord, ModelStatus};
    let data = tempfile::tempdir().unwrap();
    let store = socle_store::Store::open(&socle_store::StoreConfig::new(data.path(), None))
        .await
        .unwrap();
    let model = |name: &str, status, reason: Option<&str>| DataRunModelRecord {
        model: name.into(),
        tier: Some("gold".into()),
        materialized: "table".into(),
        status,
        duration_ms: 7,
        checks: CheckCounts {
            passed: 2,
            warning: 0,
            failed: 1,
            error: 0,
        },
        reason: reason.map(Into::into),
    };
    store
        .record_data_run(&DataRunRecord {
            id: "r1".into(),
            pipeline: "shop".into(),
            target_schema: "analytics".into(),
            started_at: 1_000,
            finished_at: 1_250,
            passed: false,
            models: vec![
                model(
                    "revenue",
                    ModelStatus::Failed,
                    Some("1 of its contract's checks failed"),
                ),
                model(
                    "report",
                    ModelStatus::Skipped,
                    Some("upstream model revenue failed its gold checks"),
                ),
            ],
            model_count: 2,
            failed: 1,
            skipped: 1,
        })
        .await
        .unwrap();
    drop(store);
    let dir = data.path().display().to_string();
    let o = socle(&["data", "runs", "--data-dir", &dir, "-o", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list["totalItems"], 1);
    assert_eq!(list["items"][0]["id"], "r1");
    assert_eq!(list["items"][0]["skipped"], 1);
    let o = socle(&["data", "runs", "r1", "--data-dir", &dir, "-o", "json"]);
    assert_eq!(o.status.code(), Some(1), "a failed run exits 1");
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(run["models"][1]["status"], "skipped");
    assert_eq!(
        run["models"][1]["reason"],
        "upstream model revenue failed its gold checks"
    );
}

#[tokio::test]
async fn record_keeps_the_run_in_the_products_quality_history_and_without_it_no_store_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store_dir = data.path().join("store");
    let c = csv_contract(dir.path(), "id,age\n1,30\n1,-4\n");
    let d = store_dir.display().to_string();
    let o = socle(&["data", "test", c.to_str().unwrap(), "--data-dir", &d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!store_dir.exists(), "no --record, no store");
    let o = socle(&[
        "data",
        "test",
        c.to_str().unwrap(),
        "--record",
        "--data-dir",
        &d,
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let store = socle_store::Store::open(&socle_store::StoreConfig::new(&store_dir, None))
        .await
        .unwrap();
    let runs = store.latest_quality(None).await.unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r.product, "datacontract:default/people");
    assert_eq!(r.origin, socle_store::QualityOrigin::Cli);
    assert_eq!(r.result, socle_store::QualityVerdict::Failed);
    assert_eq!((r.counts.failed, r.server.as_str()), (2, "files"));
    assert!(r.recorded_by.starts_with("cli"), "{}", r.recorded_by);
}
