//! The files engine on hand-made data: what each check measures, samples without sensitive
//! columns, a rule's query that tries to write, limits.

use std::path::{Path, PathBuf};

use socle_catalog::Limits;
use socle_data::quality::{CheckResult, Verdict, plan};
use socle_data_files::RunOptions;

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../conformance/data-test/files"
    ))
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `@AGO 5h@` as the UTC time five hours ago (`YYYY-MM-DDTHH:MM:SSZ`).
fn ago(hours: i64) -> String {
    let t = now() as i64 - hours * 3600;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn render(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@AGO ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 5..];
        let end = tail.find("h@").expect("@AGO Nh@");
        out.push_str(&ago(tail[..end].parse().expect("hours")));
        rest = &tail[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The files corpus in a temporary directory: contracts copied, data rendered.
pub fn render_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().ends_with(".odcs.yaml") {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(corpus_dir().join("data")).unwrap() {
        let p = entry.unwrap().path();
        if let Some(name) = p.file_name().unwrap().to_str().unwrap().strip_suffix(".in") {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(dir.path().join("data").join(name), render(&text)).unwrap();
        }
    }
    crate::parquet_fixture::csv_to_parquet(
        &dir.path().join("data/orders.csv"),
        &dir.path().join("data/orders.parquet"),
    );
    dir
}

/// Every check of `dir/orders.odcs.yaml` on `server` (`parquet`: of orders-parquet.odcs.yaml).
pub async fn run_server(dir: &Path, server: &str, samples: bool) -> Vec<CheckResult> {
    let contract = if server == "parquet" {
        "orders-parquet.odcs.yaml"
    } else {
        "orders.odcs.yaml"
    };
    run_file(&dir.join(contract), server, samples).await
}

pub async fn run_file(contract: &Path, server: &str, samples: bool) -> Vec<CheckResult> {
    let text = std::fs::read_to_string(contract).unwrap();
    let c = socle_data::load(&text, "c.odcs.yaml", &Limits::default()).expect("contract loads");
    let spec = c.test_spec().unwrap();
    let s = spec
        .servers
        .iter()
        .find(|s| s.server == server)
        .expect("server");
    let checks = plan(&spec, s);
    let mut opts = RunOptions::at(now());
    opts.samples = samples;
    socle_data_files::run(contract.parent().unwrap(), s, &spec, &checks, &opts)
        .await
        .expect("engine runs")
}

fn find<'a>(results: &'a [CheckResult], key: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

#[tokio::test]
async fn a_csv_empty_field_is_null_and_a_json_empty_string_is_not() {
    let dir = render_corpus();
    let csv = run_server(dir.path(), "csv", false).await;
    let json = run_server(dir.path(), "json", false).await;
    // country: "" in row 4 is null in CSV (min length not broken), a short string in JSON.
    assert_eq!(
        find(&csv, "orders__country__field_min_length").result,
        Verdict::Passed
    );
    assert_eq!(
        find(&json, "orders__country__field_min_length").result,
        Verdict::Failed
    );
}

#[tokio::test]
async fn a_column_no_file_has_is_reported_missing() {
    let dir = render_corpus();
    let csv = run_server(dir.path(), "csv", false).await;
    let r = find(&csv, "orders__missing_col__field_is_present");
    assert_eq!(r.result, Verdict::Failed);
}

#[tokio::test]
async fn samples_leave_out_pii_columns() {
    let dir = render_corpus();
    let csv = run_server(dir.path(), "csv", true).await;
    let r = find(&csv, "orders__customer_email__field_required");
    assert_eq!(r.result, Verdict::Failed);
    assert!(!r.samples.is_empty(), "{r:?}");
    for s in &r.samples {
        assert!(!s.contains_key("customer_email"), "{s:?}");
        assert!(s.contains_key("order_id"), "identifiers are shown: {s:?}");
    }
    let dup = find(&csv, "orders__order_id__field_primary_key_unique");
    assert_eq!(dup.samples.len(), 1);
    assert_eq!(dup.samples[0]["order_id"], "o2");
    assert_eq!(dup.samples[0]["duplicate_count"], 2);
}

fn contract_with(dir: &Path, rule: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: csv\n    type: local\n    format: csv\n    path: t.csv\nschema:\n  - name: t\n    quality:\n{rule}\n    properties:\n      - name: a\n        logicalType: integer\n"
    );
    std::fs::write(dir.join("t.csv"), "a\n1\n2\n").unwrap();
    let p = dir.join("t.odcs.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test]
async fn a_rule_that_writes_is_refused_and_the_data_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let rules = "      - type: sql\n        query: DELETE FROM t\n        mustBe: 0\n      - type: sql\n        query: SELECT count(*) FROM t\n        mustBe: 2";
    let p = contract_with(dir.path(), rules);
    let r = run_file(&p, "csv", false).await;
    let refused = r.iter().find(|c| c.key == "t__quality_sql_0").unwrap();
    assert_ne!(refused.result, Verdict::Passed, "{refused:?}");
    let count = r.iter().find(|c| c.key == "t__quality_sql_1").unwrap();
    assert_eq!(count.result, Verdict::Passed, "{count:?}");
}

#[tokio::test]
async fn a_query_past_the_time_limit_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let slow = "      - type: sql\n        query: WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n\n        mustBe: 0";
    let p = contract_with(dir.path(), slow);
    let text = std::fs::read_to_string(&p).unwrap();
    let c = socle_data::load(&text, "t.odcs.yaml", &Limits::default()).unwrap();
    let spec = c.test_spec().unwrap();
    let checks = plan(&spec, &spec.servers[0]);
    let mut opts = RunOptions::at(now());
    opts.statement_timeout = std::time::Duration::from_millis(300);
    let started = std::time::Instant::now();
    let r = socle_data_files::run(dir.path(), &spec.servers[0], &spec, &checks, &opts)
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let q = r.iter().find(|c| c.key == "t__quality_sql_0").unwrap();
    assert_eq!(q.result, Verdict::Failed, "{q:?}");
    assert!(
        q.reason
            .as_deref()
            .unwrap_or_default()
            .contains("interrupt"),
        "{q:?}"
    );
}

#[tokio::test]
async fn more_rows_than_the_bound_fail_the_object_not_the_machine() {
    let dir = tempfile::tempdir().unwrap();
    let p = contract_with(
        dir.path(),
        "      - metric: rowCount\n        mustBeGreaterThan: 0",
    );
    let text = std::fs::read_to_string(&p).unwrap();
    let c = socle_data::load(&text, "t.odcs.yaml", &Limits::default()).unwrap();
    let spec = c.test_spec().unwrap();
    let checks = plan(&spec, &spec.servers[0]);
    let mut opts = RunOptions::at(now());
    opts.max_rows = 1;
    let r = socle_data_files::run(dir.path(), &spec.servers[0], &spec, &checks, &opts)
        .await
        .unwrap();
    let rc = r.iter().find(|c| c.key == "t__row_count").unwrap();
    assert_eq!(rc.result, Verdict::Failed);
    assert!(
        rc.reason
            .as_deref()
            .unwrap_or_default()
            .contains("More than 1 rows"),
        "{rc:?}"
    );
}

#[tokio::test]
async fn a_glob_reads_every_file_matching_columns_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    // The second file has its columns in another order and one more column.
    std::fs::write(dir.path().join("parts/1.csv"), "a,b\n1,x\n2,y\n").unwrap();
    std::fs::write(dir.path().join("parts/2.csv"), "extra,b,a\nz,w,3\n").unwrap();
    let text = "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: csv\n    type: local\n    format: csv\n    path: parts/*.csv\nschema:\n  - name: t\n    quality:\n      - type: sql\n        query: SELECT sum(a) FROM t WHERE b = 'w' AND extra = 'z'\n        mustBe: 3\n      - metric: rowCount\n        mustBe: 3\n    properties:\n      - name: a\n        logicalType: integer\n        required: true\n";
    let p = dir.path().join("t.odcs.yaml");
    std::fs::write(&p, text).unwrap();
    let r = run_file(&p, "csv", false).await;
    for key in ["t__a__field_required", "t__row_count", "t__quality_sql_0"] {
        assert_eq!(find(&r, key).result, Verdict::Passed, "{:?}", find(&r, key));
    }
}

#[tokio::test]
async fn a_json_key_first_seen_late_becomes_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for i in 0..10_000 {
        lines.push_str(&format!("{{\"a\": {i}}}\n"));
    }
    lines.push_str("{\"a\": 1, \"late\": \"here\"}\n");
    std::fs::write(dir.path().join("t.jsonl"), lines).unwrap();
    let text = "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: json\n    type: local\n    format: json\n    path: t.jsonl\nschema:\n  - name: t\n    quality:\n      - type: sql\n        query: SELECT count(*) FROM t WHERE late = 'here'\n        mustBe: 1\n      - metric: rowCount\n        mustBe: 10001\n    properties:\n      - name: a\n        logicalType: integer\n        quality:\n          - metric: duplicateValues\n            mustBe: 1\n";
    let p = dir.path().join("t.odcs.yaml");
    std::fs::write(&p, text).unwrap();
    let r = run_file(&p, "json", false).await;
    for key in [
        "t__row_count",
        "t__quality_sql_0",
        "t__a__field_duplicate_values",
    ] {
        assert_eq!(find(&r, key).result, Verdict::Passed, "{:?}", find(&r, key));
    }
}

#[tokio::test]
async fn a_rule_cannot_load_an_extension_or_attach_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("other.db");
    let rules = format!(
        "      - type: sql\n        query: SELECT load_extension('{0}')\n        mustBe: 0\n      - type: sql\n        query: \"ATTACH DATABASE '{0}' AS x\"\n        mustBe: 0",
        target.display()
    );
    let p = contract_with(dir.path(), &rules);
    let r = run_file(&p, "csv", false).await;
    for (key, why) in [
        ("t__quality_sql_0", "not authorized"),
        ("t__quality_sql_1", "single read-only query"),
    ] {
        let c = r.iter().find(|c| c.key == key).unwrap();
        assert_ne!(c.result, Verdict::Passed, "{c:?}");
        assert!(
            c.reason.as_deref().unwrap_or_default().contains(why),
            "{c:?}"
        );
    }
    assert!(!target.exists(), "ATTACH created {}", target.display());
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
    "total(qty) FROM {object} WHERE lower(country) = 'fr'",
];

#[tokio::test]
async fn a_folded_rule_measures_what_its_own_query_measures() {
    let dir = render_corpus();
    let mut text = String::from(
        "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\nservers:\n  - server: csv\n    type: local\n    format: csv\n    path: data/orders.csv\nschema:\n  - name: orders\n    properties:\n      - {name: amount, logicalType: number}\n      - {name: qty, logicalType: integer}\n    quality:\n",
    );
    for q in FOLD_PAIRS {
        for rule in [
            format!("SELECT {q}"),
            format!("WITH o AS (SELECT 1) SELECT {q}"),
        ] {
            text.push_str(&format!(
                "      - type: sql\n        description: {rule:?}\n        query: {rule:?}\n        mustBeGreaterOrEqualTo: -1000000\n"
            ));
        }
    }
    let p = dir.path().join("fold.odcs.yaml");
    std::fs::write(&p, text).unwrap();
    let results = run_file(&p, "csv", false).await;
    let by_name = |name: String| {
        results
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no result named {name}"))
    };
    for q in FOLD_PAIRS {
        let folded = by_name(format!("SELECT {q}"));
        let alone = by_name(format!("WITH o AS (SELECT 1) SELECT {q}"));
        assert_eq!(folded.value, alone.value, "{q}");
        assert_eq!(folded.result, alone.result, "{q}");
        assert_eq!(folded.reason, alone.reason, "{q}");
    }
}
