//! Data pipelines: a synthetic pipeline of SQL models (bronze views over sources, silver
//! models joining two upstream models through CTEs, gold aggregates) read as `socle data
//! lineage` reads it — every model rendered (minijinja), parsed (sqlparser), its tables and
//! columns traced and the whole ordered — in process.

use std::time::Instant;

use clap::Args;
use serde::Serialize;
use socle_data::pipeline::{ColumnSource, ModelFile, RenderTarget, load};

use crate::output::{self, Format};

#[derive(Args)]
pub struct DataLineageBench {
    /// Models in the pipeline (a fifth bronze, three fifths silver, a fifth gold).
    #[arg(long, default_value_t = 200)]
    models: usize,
    /// Times the whole pipeline is read (the figures are of the slowest and the median).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    models: usize,
    repeat: usize,
    sql_bytes: usize,
    tables_read: usize,
    columns_traced: usize,
    /// Output columns traced to a column of a model or source.
    columns_resolved: usize,
    median_seconds: f64,
    max_seconds: f64,
    models_per_second: f64,
}

/// The synthetic pipeline: model `i` of each tier reads earlier models only.
pub fn synthetic(models: usize) -> Vec<ModelFile> {
    let bronze = (models / 5).max(1);
    let gold_from = models - models / 5;
    (0..models)
        .map(|i| {
            let text = if i < bronze {
                format!(
                    "{{{{ config(materialized='view', tier='bronze') }}}}\nselect id, customer_id, amount, status, created_at\nfrom {{{{ source('landing', 'raw_{i}') }}}}\n"
                )
            } else if i < gold_from {
                let a = i - 1;
                let b = (i * 7 + 3) % i;
                format!(
                    "{{{{ config(materialized='table', tier='silver') }}}}\nwith a as (\n    select * from {{{{ ref('m{a}') }}}} where status <> 'test'\n), b as (\n    select id, max(amount) as top from {{{{ ref('m{b}') }}}} group by id\n)\nselect a.id, a.customer_id, a.amount, b.top, lower(a.status) as status, a.created_at\nfrom a join b on a.id = b.id\nwhere a.amount > (select avg(amount) from {{{{ ref('m{b}') }}}})\n"
                )
            } else {
                let s = bronze + (i % (gold_from - bronze).max(1));
                format!(
                    "{{{{ config(materialized='table', tier='gold') }}}}\nselect s.customer_id, s.status, sum(s.amount) as revenue, count(*) as orders\nfrom {{{{ ref('m{s}') }}}} s\ngroup by s.customer_id, s.status\n"
                )
            };
            ModelFile {
                path: format!("models/m{i}.sql"),
                text,
            }
        })
        .collect()
}

pub fn data_lineage(args: DataLineageBench) -> anyhow::Result<std::process::ExitCode> {
    anyhow::ensure!(args.models >= 5, "--models must be at least 5");
    let files = synthetic(args.models);
    let target = RenderTarget {
        schema: Some("analytics".into()),
        sources: [("landing".to_owned(), "raw".to_owned())].into(),
    };
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..args.repeat.max(1) {
        let start = Instant::now();
        let p = load(&files, &target).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        times.push(start.elapsed().as_secs_f64());
        last = Some(p);
    }
    let p = last.expect("one run");
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let report = Report {
        models: p.models.len(),
        repeat: times.len(),
        sql_bytes: files.iter().map(|f| f.text.len()).sum(),
        tables_read: p.models.iter().map(|m| m.reads.len()).sum(),
        columns_traced: p
            .models
            .iter()
            .filter_map(|m| m.columns.as_ref())
            .map(Vec::len)
            .sum(),
        columns_resolved: p
            .models
            .iter()
            .filter_map(|m| m.columns.as_ref())
            .flatten()
            .filter(|c| matches!(c.source, ColumnSource::Column { .. }))
            .count(),
        median_seconds: median,
        max_seconds: times[times.len() - 1],
        models_per_second: p.models.len() as f64 / median,
    };
    output::print(args.output, &report, |r| {
        output::table(
            &[
                "MODELS",
                "SQL",
                "TABLES READ",
                "COLUMNS",
                "RESOLVED",
                "MEDIAN",
                "MAX",
                "MODELS/S",
            ],
            &[vec![
                r.models.to_string(),
                format!("{:.1} KB", r.sql_bytes as f64 / 1e3),
                r.tables_read.to_string(),
                r.columns_traced.to_string(),
                r.columns_resolved.to_string(),
                format!("{:.1} ms", r.median_seconds * 1e3),
                format!("{:.1} ms", r.max_seconds * 1e3),
                format!("{:.0}", r.models_per_second),
            ]],
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
