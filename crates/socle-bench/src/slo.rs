//! SLOs: validate and generate the Prometheus rules of many SLO specs (Sloth `prometheus/v1`,
//! ten SLOs per file, events and raw SLIs, page and ticket alerts), in process.

use std::time::Instant;

use clap::Args;
use serde::Serialize;
use socle_slo::{GenerateOptions, LoadOptions, RuleWrapping};

use crate::output::{self, Format};

#[derive(Args)]
pub struct SloBench {
    /// SLOs to validate and generate (ten per spec file).
    #[arg(long, default_value_t = 10_000)]
    slos: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct SloReport {
    slos: usize,
    files: usize,
    validate_seconds: f64,
    generate_seconds: f64,
    total_seconds: f64,
    slos_per_second: f64,
    rules: usize,
    yaml_bytes: usize,
}

fn synthetic_spec(file: usize, slos: usize) -> String {
    let mut s = format!(
        "version: \"prometheus/v1\"\nservice: \"svc-{file}\"\nlabels:\n  owner: team-{t}\n  tier: \"2\"\nslos:\n",
        t = file % 50
    );
    for i in 0..slos {
        if i % 2 == 0 {
            s.push_str(&format!(
                "  - name: \"availability-{i}\"\n    objective: 99.9\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{{service=\"svc-{file}\",code=~\"5..\",route=\"/r{i}\"}}[{{{{.window}}}}]))\n        total_query: sum(rate(http_requests_total{{service=\"svc-{file}\",route=\"/r{i}\"}}[{{{{.window}}}}]))\n"
            ));
        } else {
            s.push_str(&format!(
                "  - name: \"latency-{i}\"\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: 1 - (sum(rate(http_request_duration_seconds_bucket{{service=\"svc-{file}\",le=\"0.5\"}}[{{{{.window}}}}])) / sum(rate(http_request_duration_seconds_count{{service=\"svc-{file}\"}}[{{{{.window}}}}])))\n"
            ));
        }
        s.push_str(&format!(
            "    alerting:\n      name: Svc{file}Slo{i}\n      labels:\n        category: slo\n      page_alert:\n        labels:\n          severity: page\n      ticket_alert:\n        labels:\n          severity: ticket\n"
        ));
    }
    s
}

pub fn slo(args: SloBench) -> anyhow::Result<std::process::ExitCode> {
    let per_file = 10;
    let files: Vec<String> = (0..args.slos.div_ceil(per_file))
        .map(|f| synthetic_spec(f, per_file.min(args.slos - f * per_file)))
        .collect();
    let options = LoadOptions::default();
    let start = Instant::now();
    let mut loaded = Vec::with_capacity(files.len());
    for (i, text) in files.iter().enumerate() {
        let name = format!("svc-{i}.yaml");
        let groups =
            socle_slo::load(text, &name, &options).map_err(|e| anyhow::anyhow!("{}", e[0]))?;
        loaded.push((name, groups));
    }
    let duplicates = socle_slo::duplicates(&loaded);
    anyhow::ensure!(duplicates.is_empty(), "{}", duplicates[0]);
    let validate_time = start.elapsed();
    let t = Instant::now();
    let gen_options = GenerateOptions::default();
    let (mut rules, mut bytes, mut slos) = (0, 0, 0);
    for (name, groups) in &loaded {
        for g in groups {
            let groups = socle_slo::group_rules(g, &gen_options)?;
            rules += groups.iter().map(|g| g.rules.len()).sum::<usize>();
            bytes += socle_slo::to_yaml(g, &groups, name, RuleWrapping::AsSloth)?.len();
            slos += g.slos.len();
        }
    }
    let generate_time = t.elapsed();
    let total = start.elapsed().as_secs_f64();
    let report = SloReport {
        slos,
        files: files.len(),
        validate_seconds: validate_time.as_secs_f64(),
        generate_seconds: generate_time.as_secs_f64(),
        total_seconds: total,
        slos_per_second: slos as f64 / total,
        rules,
        yaml_bytes: bytes,
    };
    output::print(args.output, &report, |r| {
        output::table(
            &[
                "SLOS", "FILES", "VALIDATE", "GENERATE", "TOTAL", "SLOS/S", "RULES", "YAML",
            ],
            &[vec![
                r.slos.to_string(),
                r.files.to_string(),
                format!("{:.3} s", r.validate_seconds),
                format!("{:.3} s", r.generate_seconds),
                format!("{:.3} s", r.total_seconds),
                format!("{:.0}", r.slos_per_second),
                r.rules.to_string(),
                format!("{:.1} MB", r.yaml_bytes as f64 / 1e6),
            ]],
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
