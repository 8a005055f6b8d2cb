//! `socle data run` on a real PostgreSQL (SOCLE_TEST_DATABASE_URL; skipped without it unless
//! SOCLE_REQUIRE_POSTGRES is set): the bronze → silver → gold pipeline of
//! `conformance/data-pipeline`, its raw table loaded into a schema of the test's own, its models
//! built into another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socle_app::data_run::{DataRunError, DataRunReport, DataRunRequest, ModelRun, run_pipeline};
use socle_store::ModelStatus;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};

fn pipeline_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/data-pipeline")
}

/// Two schemas of the test's own: the raw data's (`seed.sql` loaded) and the models'.
struct Db {
    url: String,
    options: PgConnectOptions,
    landing: String,
    schema: String,
}

impl Db {
    async fn new(prefix: &str) -> Option<Db> {
        let Ok(url) = std::env::var("SOCLE_TEST_DATABASE_URL") else {
            assert!(
                std::env::var_os("SOCLE_REQUIRE_POSTGRES").is_none(),
                "SOCLE_REQUIRE_POSTGRES set without SOCLE_TEST_DATABASE_URL"
            );
            return None;
        };
        let options = PgConnectOptions::from_str(&url).expect("database URL");
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tag = format!("{prefix}_{}_{n}", std::process::id());
        let db = Db {
            url,
            options,
            landing: format!("socle_pl_landing_{tag}"),
            schema: format!("socle_pl_{tag}"),
        };
        let seed = std::fs::read_to_string(pipeline_dir().join("seed.sql")).unwrap();
        db.sql(&format!(
            "CREATE SCHEMA {l}; SET search_path TO {l}; {seed}",
            l = db.landing
        ))
        .await;
        Some(db)
    }

    async fn sql(&self, q: &str) -> Vec<sqlx::postgres::PgRow> {
        let mut c = PgConnection::connect_with(&self.options).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_owned()))
            .fetch_all(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn request(&self, dir: &Path) -> DataRunRequest {
        DataRunRequest {
            dir: dir.to_owned(),
            url: self.url.clone(),
            schema: self.schema.clone(),
            sources: BTreeMap::from([("shop".to_owned(), self.landing.clone())]),
            select: None,
            fail_fast: false,
            server: None,
            statement_timeout: Duration::from_secs(30),
        }
    }

    /// The kind of relation `name` is in the models' schema (`r` table, `v` view), if any.
    async fn kind(&self, name: &str) -> Option<String> {
        let rows = self
            .sql(&format!(
                "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = '{}' AND c.relname = '{name}'",
                self.schema
            ))
            .await;
        rows.first().map(|r| r.get(0))
    }

    async fn drop(self) {
        self.sql(&format!(
            "DROP SCHEMA IF EXISTS {} CASCADE; DROP SCHEMA IF EXISTS {} CASCADE",
            self.schema, self.landing
        ))
        .await;
    }
}

fn model<'a>(r: &'a DataRunReport, name: &str) -> &'a ModelRun {
    r.models
        .iter()
        .find(|m| m.model == name)
        .unwrap_or_else(|| panic!("no {name} in the run"))
}

#[tokio::test]
async fn the_pipeline_builds_every_tier_in_order_and_its_contracts_pass() {
    let Some(db) = Db::new("ok").await else {
        return;
    };
    let report = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    let order: Vec<(&str, ModelStatus)> = report
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.status))
        .collect();
    assert_eq!(
        order,
        [
            ("orders_raw", ModelStatus::Passed),
            ("customers", ModelStatus::Passed),
            ("orders", ModelStatus::Passed),
            ("revenue_by_day", ModelStatus::Passed),
            ("revenue_report", ModelStatus::Passed),
        ],
        "{report:#?}"
    );
    assert!(report.passed);
    assert_eq!(model(&report, "orders").checks.unwrap().failed, 0);
    assert!(model(&report, "orders").checks.unwrap().passed >= 5);
    assert_eq!(db.kind("orders_raw").await.as_deref(), Some("v"));
    assert_eq!(db.kind("orders").await.as_deref(), Some("r"));
    assert_eq!(db.kind("revenue_by_day").await.as_deref(), Some("r"));
    assert_eq!(db.kind("revenue_report").await.as_deref(), Some("v"));
    let rows = db
        .sql(&format!(
            "SELECT day::text, revenue::text, orders FROM {}.revenue_by_day ORDER BY day",
            db.schema
        ))
        .await;
    let got: Vec<(String, String, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-11-01".to_owned(), "25.50".to_owned(), 2),
            ("2026-11-02".to_owned(), "20.00".to_owned(), 1),
        ]
    );
    // A view of someone else's on a table model, readable by everyone.
    db.sql(&format!(
        "CREATE VIEW {l}.big_days AS SELECT day FROM {}.revenue_by_day WHERE revenue > 20; \
         GRANT SELECT ON {l}.big_days TO PUBLIC",
        db.schema,
        l = db.landing,
    ))
    .await;
    // A second run swaps the tables in place (the views on them created again over the new
    // ones) and sees new raw rows.
    db.sql(&format!(
        "INSERT INTO {}.orders_raw VALUES (7, 'dan', 'paid', 40.50, '2026-11-03 08:00')",
        db.landing
    ))
    .await;
    let again = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    assert!(again.passed, "{again:#?}");
    let n = db
        .sql(&format!(
            "SELECT count(*) FROM {}.revenue_report",
            db.schema
        ))
        .await;
    assert_eq!(n[0].get::<i64, _>(0), 3);
    let big = db
        .sql(&format!(
            "SELECT day::text FROM {}.big_days ORDER BY day",
            db.landing
        ))
        .await;
    let big: Vec<String> = big.iter().map(|r| r.get(0)).collect();
    assert_eq!(big, ["2026-11-01", "2026-11-03"]);
    let public = db
        .sql(&format!(
            "SELECT has_table_privilege('public', '{}.big_days', 'SELECT')",
            db.landing
        ))
        .await;
    assert!(public[0].get::<bool, _>(0), "the grant was lost");
    db.drop().await;
}

#[tokio::test]
async fn a_failing_gold_check_skips_what_depends_on_it_and_other_branches_go_on() {
    let Some(db) = Db::new("gold").await else {
        return;
    };
    // A refund recorded as a paid order: a day's revenue goes negative.
    db.sql(&format!(
        "INSERT INTO {}.orders_raw VALUES (8, 'eve', 'paid', -100.00, '2026-11-04 10:00')",
        db.landing
    ))
    .await;
    let report = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    assert!(!report.passed);
    let gold = model(&report, "revenue_by_day");
    assert_eq!(gold.status, ModelStatus::Failed, "{gold:#?}");
    assert!(
        gold.failures.iter().any(|f| f.contains("revenue")),
        "{gold:#?}"
    );
    let report_model = model(&report, "revenue_report");
    assert_eq!(report_model.status, ModelStatus::Skipped);
    assert_eq!(
        report_model.reason.as_deref(),
        Some("upstream model revenue_by_day failed its gold checks")
    );
    assert_eq!(db.kind("revenue_report").await, None);
    assert_eq!(model(&report, "customers").status, ModelStatus::Passed);
    assert_eq!(model(&report, "orders").status, ModelStatus::Passed);
    db.drop().await;
}

#[tokio::test]
async fn a_failing_silver_check_stops_downstream_only_with_fail_fast() {
    let Some(db) = Db::new("ff").await else {
        return;
    };
    db.sql(&format!(
        "INSERT INTO {}.orders_raw VALUES (9, 'fay', 'lost', 1.00, '2026-11-01 11:00')",
        db.landing
    ))
    .await;
    let report = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    assert_eq!(model(&report, "orders").status, ModelStatus::Failed);
    assert_eq!(model(&report, "revenue_by_day").status, ModelStatus::Passed);
    let mut req = db.request(&pipeline_dir());
    req.fail_fast = true;
    let report = run_pipeline(&req).await.unwrap();
    assert_eq!(
        model(&report, "revenue_by_day").status,
        ModelStatus::Skipped
    );
    assert_eq!(
        model(&report, "revenue_report").reason.as_deref(),
        Some("upstream model orders failed its checks (--fail-fast)")
    );
    db.drop().await;
}

fn pipeline(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

#[tokio::test]
async fn a_cycle_and_an_unknown_ref_are_refused_with_file_and_line_before_anything_runs() {
    let dir = pipeline(&[
        ("models/a.sql", "select *\nfrom {{ ref('b') }}"),
        ("models/b.sql", "select * from {{ ref('a') }}"),
    ]);
    let req = DataRunRequest {
        dir: dir.path().to_owned(),
        url: "postgres://nobody@127.0.0.1:1/none".into(),
        schema: "x".into(),
        sources: BTreeMap::new(),
        select: None,
        fail_fast: false,
        server: None,
        statement_timeout: Duration::from_secs(1),
    };
    let Err(DataRunError::Pipeline(errors)) = run_pipeline(&req).await else {
        panic!("a cycle ran");
    };
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["models/a.sql:2: the models refer to each other in a cycle: a → b → a"]
    );
    let dir = pipeline(&[(
        "models/sub/c.sql",
        "select 1\n\n  from {{ ref('nowhere') }}",
    )]);
    let Err(DataRunError::Pipeline(errors)) = run_pipeline(&DataRunRequest {
        dir: dir.path().to_owned(),
        ..req
    })
    .await
    else {
        panic!("an unknown ref ran");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line),
        ("models/sub/c.sql", Some(3))
    );
}

#[tokio::test]
async fn sql_smuggled_through_a_model_a_name_or_a_schema_does_not_run() {
    let Some(db) = Db::new("inj").await else {
        return;
    };
    let short = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 1_000_000;
    let canary = format!("public.canary_{short}");
    db.sql(&format!("CREATE TABLE {canary} (x int)")).await;
    let present = || async {
        db.sql(&format!("SELECT to_regclass('{canary}') IS NOT NULL"))
            .await[0]
            .get::<bool, _>(0)
    };
    // A second statement after the model's query: refused before anything is sent.
    let dir = pipeline(&[(
        "models/m.sql",
        &format!("select 1 as x; drop table {canary}"),
    )]);
    let e = run_pipeline(&db.request(dir.path())).await.unwrap_err();
    assert!(e.to_string().starts_with("models/m.sql:"), "{e}");
    assert!(present().await, "the canary was dropped");
    // A model named to close the identifier: refused as a name.
    let dir = pipeline(&[(
        &format!("models/x\"; drop table {canary}; --.sql") as &str,
        "select 1",
    )]);
    let e = run_pipeline(&db.request(dir.path())).await.unwrap_err();
    assert!(e.to_string().contains("file name must be a name"), "{e}");
    // A config value that is not one of the values: refused.
    let dir = pipeline(&[(
        "models/m.sql",
        &format!(
            "{{{{ config(materialized='table as select 1; drop table {canary}; --') }}}}select 1"
        ),
    )]);
    let e = run_pipeline(&db.request(dir.path())).await.unwrap_err();
    assert!(e.to_string().starts_with("models/m.sql:1:"), "{e}");
    // A schema named to close the identifier: a schema of that very name is used.
    let dir = pipeline(&[("models/m.sql", "select 1 as x")]);
    let mut req = db.request(dir.path());
    req.schema = format!("s{short}\"; drop table {canary}; --");
    let report = run_pipeline(&req).await.unwrap();
    assert!(report.passed, "{report:#?}");
    assert!(present().await, "the canary was dropped");
    let quoted = format!("\"{}\"", req.schema.replace('"', "\"\""));
    let n = db.sql(&format!("SELECT count(*) FROM {quoted}.m")).await;
    assert_eq!(n[0].get::<i64, _>(0), 1);
    db.sql(&format!(
        "DROP SCHEMA {quoted} CASCADE; DROP TABLE {canary}"
    ))
    .await;
    db.drop().await;
}

#[tokio::test]
async fn a_view_model_whose_columns_change_is_replaced_with_the_views_built_on_it() {
    let Some(db) = Db::new("cols").await else {
        return;
    };
    let dir = pipeline(&[
        ("models/v.sql", "select 1 as a, 2 as b"),
        ("models/w.sql", "select b from {{ ref('v') }}"),
    ]);
    assert!(run_pipeline(&db.request(dir.path())).await.unwrap().passed);
    // Someone else's view on the model's view.
    db.sql(&format!(
        "CREATE VIEW {}.mine AS SELECT b * 10 AS b10 FROM {}.v",
        db.landing, db.schema
    ))
    .await;
    // A column dropped: CREATE OR REPLACE VIEW cannot do it.
    std::fs::write(dir.path().join("models/v.sql"), "select 3 as b").unwrap();
    let report = run_pipeline(&db.request(dir.path())).await.unwrap();
    assert!(report.passed, "{report:#?}");
    let cols = db
        .sql(&format!(
            "SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) FROM information_schema.columns \
             WHERE table_schema = '{}' AND table_name = 'v'",
            db.schema
        ))
        .await;
    assert_eq!(cols[0].get::<String, _>(0), "b");
    let mine = db
        .sql(&format!("SELECT b10 FROM {}.mine", db.landing))
        .await;
    assert_eq!(mine[0].get::<i32, _>(0), 30);
    db.drop().await;
}

#[tokio::test]
async fn a_run_is_recorded_in_the_store() {
    let Some(db) = Db::new("rec").await else {
        return;
    };
    let report = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = socle_store::Store::open(&socle_store::StoreConfig::new(dir.path(), None))
        .await
        .unwrap();
    socle_app::data_run::record(&store, &report, "cli:ann")
        .await
        .unwrap();
    let stored = store.data_run(&report.id).await.unwrap();
    assert!(stored.passed);
    assert_eq!(stored.target_schema, db.schema);
    let models: Vec<(&str, ModelStatus, Option<&str>)> = stored
        .models
        .iter()
        .map(|m| (m.model.as_str(), m.status, m.tier.as_deref()))
        .collect();
    assert_eq!(
        models[3],
        ("revenue_by_day", ModelStatus::Passed, Some("gold"))
    );
    assert_eq!(stored.models.len(), 5);
    assert_eq!(
        stored.models[2].checks.passed as usize,
        report.models[2].checks.unwrap().passed
    );
    db.drop().await;
}

#[tokio::test]
async fn a_run_records_each_checked_contract_in_its_products_quality_history() {
    let Some(db) = Db::new("qrec").await else {
        return;
    };
    let report = run_pipeline(&db.request(&pipeline_dir())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = socle_store::Store::open(&socle_store::StoreConfig::new(dir.path(), None))
        .await
        .unwrap();
    socle_app::data_run::record(&store, &report, "cli:ann")
        .await
        .unwrap();
    let checked: Vec<&socle_app::data_run::ModelRun> = report
        .models
        .iter()
        .filter(|m| m.checks.is_some())
        .collect();
    assert!(!checked.is_empty());
    let latest = store.latest_quality(None).await.unwrap();
    assert_eq!(latest.len(), checked.len(), "{latest:#?}");
    for m in checked {
        let tested = m.tested.as_ref().unwrap();
        let product = tested.product.as_deref().unwrap();
        let q = latest.iter().find(|q| q.product == product).unwrap();
        let c = m.checks.unwrap();
        assert_eq!(
            (q.counts.passed, q.counts.failed, q.counts.error),
            (c.passed as i64, c.failed as i64, c.error as i64),
            "{product}"
        );
        assert_eq!(q.origin, socle_store::QualityOrigin::Pipeline);
        assert_eq!(
            (q.recorded_by.as_str(), q.ran_at),
            ("cli:ann", report.finished_at_ms)
        );
        assert_eq!(q.checks.as_array().unwrap().len(), tested.checks.len());
    }
    db.drop().await;
}
