//! Scorecards: many entities' facts (catalog entry, deployments, guardrails, DORA, repository
//! files, findings — shaped as socle-app's collector makes them) scored against a scorecard of
//! 25 rules (built-in and Rego), in process, on every core (rayon).

use std::time::Instant;

use clap::Args;
use serde::Serialize;
use serde_json::json;
use socle_scorecard::{Compiled, Facts, evaluate, evaluate_all};

use crate::output::{self, Format};

#[derive(Args)]
pub struct ScorecardsBench {
    /// Entities to score.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    #[arg(long, short, value_enum, default_value_t)]
    output: Format,
}

#[derive(Serialize)]
struct Report {
    entities: usize,
    rules: usize,
    threads: usize,
    compile_ms: f64,
    evaluate_seconds: f64,
    entities_per_second: f64,
    /// One entity re-scored alone after one of its facts changed (median of 101).
    rescore_one_ms: f64,
    levels: Vec<(String, usize)>,
    errors: usize,
}

/// 25 rules over three levels: built-in checks of every fact family and Rego of the kinds a
/// platform team writes.
const CARD: &str = r#"apiVersion: socle.dev/v1alpha1
kind: Scorecard
metadata: {name: bench}
spec:
  filter: {kind: Component}
  rules:
    - {id: owner, level: Bronze, check: {builtin: has-owner}}
    - {id: system, level: Bronze, check: {builtin: has-system}}
    - {id: description, level: Bronze, check: {builtin: has-description}}
    - {id: lifecycle, level: Bronze, check: {builtin: has-annotation, params: {key: socle.dev/tier}}}
    - {id: docs, level: Bronze, check: {builtin: has-docs}}
    - {id: readme, level: Bronze, check: {builtin: has-readme}}
    - {id: codeowners, level: Bronze, check: {builtin: has-codeowners}}
    - {id: ci, level: Bronze, check: {builtin: has-ci-workflow}}
    - id: tags
      level: Bronze
      title: Tagged
      fixit: Add tags.
      check: {rego: "pass if count(object.get(input.entity.metadata, \"tags\", [])) > 0"}
    - {id: dockerfile, level: Silver, check: {builtin: has-dockerfile}}
    - {id: renovate, level: Silver, check: {builtin: has-renovate}}
    - {id: slo, level: Silver, check: {builtin: has-slo}}
    - {id: probes, level: Silver, check: {builtin: has-probes}}
    - {id: resources, level: Silver, check: {builtin: has-resources}}
    - {id: guardrails, level: Silver, check: {builtin: guardrails-passing}}
    - {id: findings, level: Silver, check: {builtin: no-old-findings}}
    - id: links
      level: Silver
      title: Has a runbook link
      fixit: Add a link titled Runbook.
      check:
        rego: |
          pass if {
            some l in object.get(input.entity.metadata, "links", [])
            l.title == "Runbook"
          }
    - {id: deployed, level: Gold, check: {builtin: deployed-recently, params: {environment: production, days: 30}}}
    - {id: frequency, level: Gold, check: {builtin: dora-deploy-frequency, params: {at_least: weekly}}}
    - {id: high-findings, level: Gold, check: {builtin: no-old-findings, params: {severity: [high, critical], days: 30}}}
    - {id: dockerfile-pinned, level: Gold, check: {builtin: file-matches, params: {path: Dockerfile, pattern: "^FROM .+@sha256:"}}}
    - id: lead-time
      level: Gold
      title: Lead time under a week
      fixit: Ship smaller changes.
      check: {rego: "pass if input.dora.lead_time_median_hours < 168"}
    - id: cfr
      level: Gold
      title: Change failure rate at most 15 %
      fixit: Test before you ship.
      check: {rego: "pass if input.dora.change_failure_rate <= 0.15"}
    - id: no-waivers
      level: Gold
      title: No guardrail waived
      fixit: Fix what the waivers set aside.
      check: {rego: "pass if input.guardrails.waived == 0"}
    - id: relations
      level: Gold
      title: Provides an API
      fixit: Declare spec.providesApis.
      check:
        rego: |
          pass if {
            some r in input.relations
            r.type == "providesApi"
          }
"#;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// True with probability `p` percent.
    fn pct(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

const NOW: i64 = 1_780_000_000;

fn facts(i: usize, rng: &mut Rng) -> Facts {
    let team = format!("group:default/team-{}", i % 500);
    let mut p = |x| rng.pct(x);
    let entity = json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {
            "name": format!("svc-{i}"), "namespace": "default",
            "description": if p(90) { json!("A service.") } else { json!(null) },
            "annotations": {"socle.dev/tier": "2", "backstage.io/techdocs-ref": if p(70) { "dir:." } else { "" },
                             "backstage.io/managed-by-location": format!("git:/srv/repos/svc-{i}.git?ref=main&path=catalog-info.yaml")},
            "tags": if p(80) { json!(["rust", "http"]) } else { json!([]) },
            "links": if p(50) { json!([{"url": "https://runbooks/x", "title": "Runbook"}]) } else { json!([]) },
        },
        "spec": {"type": "service", "lifecycle": "production", "owner": format!("team-{}", i % 500),
                 "system": if p(85) { json!(format!("system-{}", i % 900)) } else { json!(null) }},
    });
    let deployed = p(80);
    let doc = json!({
        "entity": entity,
        "owner": team,
        "relations": [{"type": "ownedBy", "target": team}, {"type": "providesApi", "target": format!("api:default/svc-{i}")}],
        "deployments": if deployed { json!({"production": {"at": NOW - (i as i64 % 60) * 86_400, "status": "success", "probes": p(90), "resources": p(90)},
                                            "dev": {"at": NOW - 3600, "status": "success", "probes": true, "resources": true}}) } else { json!({}) },
        "guardrails": {"evaluated": deployed, "failures": if p(10) { 1 } else { 0 }, "waived": if p(5) { 1 } else { 0 }},
        "dora": {"deployment_frequency": {"per_day": 0.4, "bucket": if p(60) { "daily" } else { "monthly" }},
                 "lead_time_median_hours": (i % 300) as f64, "change_failure_rate": (i % 30) as f64 / 100.0,
                 "recovery_time_median_hours": 3.0},
        "slos": {"declared": p(60)},
        "docs": {"techdocs": p(70)},
        "repository": {"read": true, "present": {"readme": p(95), "codeowners": p(70), "dockerfile": p(90), "renovate": p(50)},
                       "workflows": if p(85) { json!(["ci.yaml"]) } else { json!([]) },
                       "matches": {"Dockerfile::^FROM .+@sha256:": p(40)}},
        "findings": {"open": if p(20) { json!([{"tool": "Trivy", "rule": format!("CVE-2024-{i}"), "severity": if p(30) { "critical" } else { "high" }, "first_seen": NOW - 20 * 86_400, "location": "Dockerfile:1"}]) } else { json!([]) }},
    });
    Facts {
        entity_ref: format!("component:default/svc-{i}"),
        doc: doc.as_object().cloned().unwrap_or_default(),
        provenance: Default::default(),
    }
}

pub fn scorecards(args: ScorecardsBench) -> anyhow::Result<std::process::ExitCode> {
    let card = socle_scorecard::load(CARD, "bench.yaml")
        .map_err(|e| anyhow::anyhow!("{}", e[0]))?
        .remove(0);
    let rules = card.rules.len();
    let t = Instant::now();
    let compiled = Compiled::new(card)?;
    let compile_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let entities: Vec<Facts> = (0..args.entities).map(|i| facts(i, &mut rng)).collect();
    let cards = [compiled];
    let t = Instant::now();
    let results = evaluate_all(&cards, &entities, NOW);
    let evaluate_seconds = t.elapsed().as_secs_f64();
    let mut levels = std::collections::BTreeMap::new();
    let mut errors = 0;
    for r in results.iter().flatten() {
        *levels
            .entry(r.level.clone().unwrap_or_else(|| "(none)".into()))
            .or_insert(0usize) += 1;
        errors += usize::from(r.error.is_some());
    }
    let mut one = entities[0].clone();
    let mut times = Vec::new();
    for k in 0..101 {
        one.doc
            .insert("slos".into(), json!({"declared": k % 2 == 0}));
        let t = Instant::now();
        let r = evaluate(&cards, &one, NOW);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(r.len() == 1, "the entity is scored");
    }
    times.sort_by(f64::total_cmp);
    let report = Report {
        entities: args.entities,
        rules,
        threads: rayon::current_num_threads(),
        compile_ms,
        evaluate_seconds,
        entities_per_second: args.entities as f64 / evaluate_seconds,
        rescore_one_ms: times[times.len() / 2],
        levels: levels.into_iter().collect(),
        errors,
    };
    output::print(args.output, &report, |r| {
        format!(
            "{} entities × {} rules on {} threads: {:.2} s ({:.0} entities/s); compile {:.1} ms; one entity re-scored in {:.2} ms\nlevels: {:?}; errors: {}\n",
            r.entities,
            r.rules,
            r.threads,
            r.evaluate_seconds,
            r.entities_per_second,
            r.compile_ms,
            r.rescore_one_ms,
            r.levels,
            r.errors
        )
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
