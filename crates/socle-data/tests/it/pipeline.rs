//! Pipelines of SQL models: read from files, ordered by their refs (deterministically), refused
//! with file:line on unknown refs and cycles, selected dbt's way; the fixture pipeline's lineage.

use std::path::Path;

use proptest::prelude::*;
use socle_data::pipeline::{
    ColumnSource, Dataset, MAX_MODELS, ModelFile, Pipeline, PipelineError, RenderTarget, dag, load,
};

fn files(list: &[(&str, &str)]) -> Vec<ModelFile> {
    list.iter()
        .map(|(p, t)| ModelFile {
            path: (*p).to_owned(),
            text: (*t).to_owned(),
        })
        .collect()
}

fn target() -> RenderTarget {
    RenderTarget {
        schema: Some("analytics".into()),
        sources: [("shop".to_owned(), "landing".to_owned())].into(),
    }
}

fn names(p: &Pipeline) -> Vec<&str> {
    p.models.iter().map(|m| m.name.as_str()).collect()
}

fn errors(list: &[(&str, &str)]) -> Vec<String> {
    load(&files(list), &target())
        .unwrap_err()
        .iter()
        .map(PipelineError::to_string)
        .collect()
}

#[test]
fn models_come_after_what_they_refer_to_ties_by_name() {
    let p = load(
        &files(&[
            ("models/z.sql", "select 1"),
            (
                "models/c.sql",
                "select * from {{ ref('b') }} join {{ ref('a') }} using (x)",
            ),
            ("models/b.sql", "select * from {{ ref('z') }}"),
            ("models/a.sql", "select 2"),
        ]),
        &target(),
    )
    .unwrap();
    assert_eq!(names(&p), ["a", "z", "b", "c"]);
}

#[test]
fn cycles_are_named_at_the_ref_that_closes_them() {
    assert_eq!(
        errors(&[
            ("models/a.sql", "select * from {{ ref('b') }}"),
            ("models/b.sql", "select *\nfrom {{ ref('c') }}"),
            ("models/c.sql", "select 1,\n2\nfrom {{ ref('a') }}"),
            ("models/d.sql", "select * from {{ ref('a') }}"),
            ("models/self.sql", "\nselect * from {{ ref('self') }}"),
        ]),
        [
            "models/a.sql:1: the models refer to each other in a cycle: a → b → c → a",
            "models/self.sql:2: the models refer to each other in a cycle: self → self",
        ]
    );
}

#[test]
fn every_file_s_error_is_reported_with_its_line() {
    let e = errors(&[
        ("models/a.sql", "select 1\nfrom {{ ref('missing') }}"),
        ("models/b.sql", "select 1 from t\nwhere )"),
    ]);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        e[0],
        "models/a.sql:2: ref(\"missing\"): there is no model named \"missing\" (a model is a models/**/NAME.sql file)"
    );
    assert!(
        e[1].starts_with("models/b.sql:2: the SQL could not be read"),
        "{e:?}"
    );
}

#[test]
fn two_files_of_one_name_are_refused() {
    assert_eq!(
        errors(&[("models/a.sql", "select 1"), ("models/x/a.sql", "select 1")]),
        [
            "models/x/a.sql: model \"a\" is also defined by models/a.sql: model names are file names and must be unique"
        ]
    );
}

#[test]
fn too_many_models_are_refused_before_any_is_read() {
    let many: Vec<ModelFile> = (0..=MAX_MODELS)
        .map(|i| ModelFile {
            path: format!("models/m{i}.sql"),
            text: "select 1".into(),
        })
        .collect();
    let e = load(&many, &target()).unwrap_err();
    assert!(e[0].message.contains("at most 5000 models"), "{e:?}");
}

#[test]
fn selectors_take_upstream_and_downstream_models() {
    let p = load(
        &files(&[
            ("models/a.sql", "select 1"),
            ("models/b.sql", "select * from {{ ref('a') }}"),
            ("models/c.sql", "select * from {{ ref('b') }}"),
            ("models/d.sql", "select 1"),
        ]),
        &target(),
    )
    .unwrap();
    let sel = |s: &str| dag::select(&p.models, s).map(|v| v.into_iter().collect::<Vec<_>>());
    assert_eq!(sel("b").unwrap(), ["b"]);
    assert_eq!(sel("+b").unwrap(), ["a", "b"]);
    assert_eq!(sel("b+").unwrap(), ["b", "c"]);
    assert_eq!(sel("+b+,d").unwrap(), ["a", "b", "c", "d"]);
    assert!(sel("nope").is_err());
}

fn fixture() -> Vec<ModelFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/data-pipeline");
    let mut out = Vec::new();
    for tier in ["bronze", "silver", "gold"] {
        let dir = root.join("models").join(tier);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for n in names {
            out.push(ModelFile {
                path: format!("models/{tier}/{n}"),
                text: std::fs::read_to_string(dir.join(&n)).unwrap(),
            });
        }
    }
    out
}

#[test]
fn the_fixture_pipeline_s_lineage_from_its_sql() {
    let p = load(&fixture(), &target()).unwrap();
    assert_eq!(
        names(&p),
        [
            "orders_raw",
            "customers",
            "orders",
            "revenue_by_day",
            "revenue_report"
        ]
    );
    let model = |n: &str| p.model(n).unwrap();
    assert_eq!(
        model("orders_raw").reads,
        [Dataset::Source {
            source: "shop".into(),
            table: "orders_raw".into()
        }]
    );
    // The CTE is not a table read; the model it reads through is.
    assert_eq!(
        model("customers").reads,
        [Dataset::Model {
            name: "orders_raw".into()
        }]
    );
    // Columns are traced through the CTE.
    let customers = model("customers").columns.as_ref().unwrap();
    assert_eq!(
        customers[0].source,
        ColumnSource::Column {
            dataset: Dataset::Model {
                name: "orders_raw".into()
            },
            column: "customer".into()
        }
    );
    let cols = model("orders").columns.as_ref().unwrap();
    let shown: Vec<(String, String)> = cols
        .iter()
        .map(|c| {
            let from = match &c.source {
                ColumnSource::Column { dataset, column } => format!("{}.{column}", dataset.key()),
                ColumnSource::Expression { sql } => format!("expr {sql}"),
                other => format!("{other:?}"),
            };
            (c.output.clone(), from)
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("id".to_owned(), "model:orders_raw.id".to_owned()),
            (
                "customer".to_owned(),
                "model:orders_raw.customer".to_owned()
            ),
            ("status".to_owned(), "expr lower(r.status)".to_owned()),
            ("amount".to_owned(), "model:orders_raw.amount".to_owned()),
            ("day".to_owned(), "expr r.ordered_at::DATE".to_owned()),
        ]
    );
    assert_eq!(
        model("revenue_report").columns.as_ref().unwrap()[1].source,
        ColumnSource::Column {
            dataset: Dataset::Model {
                name: "revenue_by_day".into()
            },
            column: "revenue".into()
        }
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any acyclic pipeline (each model may refer to models with a smaller number) is ordered
    /// with every model after all it refers to, and reads exactly the models it refers to.
    #[test]
    fn any_acyclic_pipeline_is_ordered_and_its_reads_are_its_refs(
        edges in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..4), 1..25)
    ) {
        let mut list = Vec::new();
        for (i, refs) in edges.iter().enumerate() {
            let mut targets: Vec<usize> = if i == 0 { vec![] } else { refs.iter().map(|r| r.index(i)).collect() };
            targets.sort();
            targets.dedup();
            let sql = if targets.is_empty() {
                "select 1 as x".to_owned()
            } else {
                let froms: Vec<String> = targets.iter().map(|t| format!("{{{{ ref('m{t}') }}}}")).collect();
                format!("with c as (select 1) select * from {}, c", froms.join(", "))
            };
            list.push(ModelFile { path: format!("models/m{i}.sql"), text: sql });
        }
        let p = load(&list, &target()).unwrap();
        let position = |n: &str| p.models.iter().position(|m| m.name == n).unwrap();
        for m in &p.models {
            let mut read: Vec<String> = m.reads.iter().map(|d| d.key()).collect();
            let mut refs: Vec<String> = m.refs.iter().map(|r| format!("model:{}", r.name)).collect();
            read.sort();
            refs.sort();
            prop_assert_eq!(read, refs);
            for r in &m.refs {
                prop_assert!(position(&r.name) < position(&m.name));
            }
        }
    }
}
