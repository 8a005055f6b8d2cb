//! An entity's facts, each with its source and time: the catalog entry and its relations, the
//! deployments per environment, the latest guardrail results and waivers, the DORA figures of the
//! service, SLO and docs annotations, the repository's files (gix) and the open scanner findings.
//! The store is read once for every entity scored together ([`Inputs::load`]); the facts of one
//! entity are then assembled without IO but the repository's ([`repo`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use socle_scorecard::{FactSource, Facts};
use socle_store::{
    DeploymentRecord, DeploymentStatus, FindingRecord, PolicyResult, QualityRunRecord, Store,
};

use super::repo::{self, RepoRef};
use crate::snapshot::{EntityView, Snapshot};

/// The annotation pointing at an entity's SLO file (golden paths write it).
pub const SLO_ANNOTATION: &str = "socle.dev/slo";
pub const TECHDOCS_ANNOTATION: &str = "backstage.io/techdocs-ref";
const LOCATION_ANNOTATION: &str = "backstage.io/managed-by-location";
/// The DORA window of the facts: the last 90 days.
pub const DORA_DAYS: i64 = 90;
/// Most deployment records read for one scoring pass.
const MAX_DEPLOYMENTS: u32 = 10_000;

/// What the store holds about the entities scored together, read once.
#[derive(Default)]
pub struct Inputs {
    /// Latest successful deployment per service and environment.
    pub deployments: HashMap<String, BTreeMap<String, DeploymentRecord>>,
    /// Latest guardrail evaluation per entity and environment.
    pub guardrails: HashMap<String, BTreeMap<String, PolicyResult>>,
    /// Waivers in force per entity.
    pub waivers: HashMap<String, usize>,
    pub findings: HashMap<String, Vec<FindingRecord>>,
    pub dora: Option<Arc<socle_dora::Dataset>>,
    /// Repository facts per repository (read once each).
    pub repos: HashMap<RepoRef, Value>,
    /// The newest recorded quality run per data product.
    pub quality: HashMap<String, QualityRunRecord>,
    pub now_ms: i64,
}

/// The service name deployments and delivery events use for an entity: a component of the
/// default namespace, by name.
pub fn service_of(v: &EntityView) -> Option<&str> {
    v.entity_ref.strip_prefix("component:default/")
}

impl Inputs {
    /// Reads what the store holds for `entities` (all of them when `None`).
    pub async fn load(
        store: &Store,
        entities: Option<&[String]>,
        dora: Option<Arc<socle_dora::Dataset>>,
        now_ms: i64,
    ) -> Result<Self, socle_store::StoreError> {
        let mut out = Inputs {
            dora,
            now_ms,
            ..Default::default()
        };
        let one = entities.filter(|e| e.len() == 1).map(|e| e[0].as_str());
        let service = one.and_then(|e| e.strip_prefix("component:default/"));
        let deployments = match (one, service) {
            (Some(_), None) => Vec::new(),
            _ => {
                store
                    .list_deployments(service, None, MAX_DEPLOYMENTS)
                    .await?
            }
        };
        // Newest first: the first success per environment is the latest.
        for d in deployments {
            if d.status != DeploymentStatus::Success {
                continue;
            }
            out.deployments
                .entry(d.service.clone())
                .or_default()
                .entry(d.environment.clone())
                .or_insert(d);
        }
        if let Some(list) = entities.filter(|e| e.len() <= 16) {
            for e in list {
                for r in store.policy_results(e, None, 100).await? {
                    out.guardrails
                        .entry(e.clone())
                        .or_default()
                        .entry(r.environment.clone())
                        .or_insert(r);
                }
                let f = store.entity_findings(e, false).await?;
                if !f.is_empty() {
                    out.findings.insert(e.clone(), f);
                }
            }
        } else {
            for f in store.open_findings().await? {
                out.findings.entry(f.entity.clone()).or_default().push(f);
            }
        }
        let products: Option<Vec<String>> = entities.map(|e| {
            e.iter()
                .filter(|r| r.starts_with("datacontract:"))
                .cloned()
                .collect()
        });
        if products.as_ref().is_none_or(|p| !p.is_empty()) {
            for q in store.latest_quality(products.as_deref()).await? {
                out.quality.insert(q.product.clone(), q);
            }
        }
        for w in store.list_waivers().await? {
            if w.revoked_at.is_none() && w.expires_at > now_ms {
                *out.waivers.entry(w.entity).or_default() += 1;
            }
        }
        Ok(out)
    }
}

fn annotation<'a>(entity: &'a Value, key: &str) -> Option<&'a str> {
    entity
        .pointer("/metadata/annotations")?
        .get(key)?
        .as_str()
        .filter(|s| !s.trim().is_empty())
}

/// The repository an entity's catalog entry came from, when it is a registered location.
pub fn repo_ref(entity: &Value, registered: &[socle_ingest::LocationSpec]) -> Option<RepoRef> {
    repo::repo_of(annotation(entity, LOCATION_ANNOTATION)?, registered)
}

/// Whether every container of a Score workload (JSON) has `field` (or one of `fields`) set.
fn every_container(spec: &str, fields: &[&str]) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(spec) else {
        return false;
    };
    let Some(containers) = v.get("containers").and_then(Value::as_object) else {
        return false;
    };
    !containers.is_empty()
        && containers.values().all(|c| {
            fields.iter().all(|f| {
                c.get(*f)
                    .is_some_and(|x| x.as_object().is_some_and(|o| !o.is_empty()))
            })
        })
}

fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The facts of one entity.
pub fn facts_of(snap: &Snapshot, v: &EntityView, inputs: &Inputs, repo: Option<&RepoRef>) -> Facts {
    let entity: Value = serde_json::from_str(&v.body).unwrap_or(Value::Null);
    let now = secs(inputs.now_ms);
    let mut doc = Map::new();
    let mut provenance = BTreeMap::new();
    let mut from = |key: &str, source: String, at: i64| {
        provenance.insert(key.to_owned(), FactSource { source, at });
    };
    let catalog = format!("catalog (generation {})", snap.generation);
    let relations: Vec<Value> = v
        .relations
        .iter()
        .map(|(t, i)| json!({"type": t.as_str(), "target": snap.name(*i)}))
        .collect();
    doc.insert("relations".into(), Value::Array(relations));
    if let Some(o) = v.owner {
        doc.insert("owner".into(), Value::from(snap.name(o)));
    }
    doc.insert(
        "docs".into(),
        json!({"techdocs": annotation(&entity, TECHDOCS_ANNOTATION).is_some()}),
    );
    let slo = annotation(&entity, SLO_ANNOTATION);
    doc.insert(
        "slos".into(),
        json!({"declared": slo.is_some(), "file": slo}),
    );
    for key in ["entity", "relations", "owner", "docs", "slos"] {
        from(key, catalog.clone(), now);
    }
    let service = service_of(v);
    let mut deployments = Map::new();
    if let Some(envs) = service.and_then(|s| inputs.deployments.get(s)) {
        for (env, d) in envs {
            deployments.insert(
                env.clone(),
                json!({
                    "at": secs(d.created_at), "version": d.version, "commit": d.source_commit,
                    "status": "success", "kind": d.kind,
                    "probes": every_container(&d.spec, &["livenessProbe", "readinessProbe"]),
                    "resources": every_container(&d.spec, &["resources"]),
                }),
            );
        }
        let latest = envs.values().map(|d| d.created_at).max().unwrap_or(0);
        from("deployments", "deployments".into(), secs(latest));
    }
    doc.insert("deployments".into(), Value::Object(deployments));
    let results = inputs.guardrails.get(&*v.entity_ref);
    let failures = results.map_or(0, |r| r.values().filter(|p| p.outcome == "blocked").count());
    let failing: Vec<&str> = results
        .into_iter()
        .flat_map(|r| r.values())
        .filter(|p| p.outcome == "blocked")
        .map(|p| p.environment.as_str())
        .collect();
    doc.insert(
        "guardrails".into(),
        json!({
            "evaluated": results.is_some_and(|r| !r.is_empty()),
            "failures": failures,
            "blocked_in": failing,
            "waived": inputs.waivers.get(&*v.entity_ref).copied().unwrap_or(0),
        }),
    );
    if let Some(at) = results.and_then(|r| r.values().map(|p| p.evaluated_at).max()) {
        from("guardrails", "guardrail evaluations".into(), secs(at));
    }
    let open: Vec<Value> = inputs
        .findings
        .get(&*v.entity_ref)
        .into_iter()
        .flatten()
        .map(|f| {
            json!({"tool": f.tool, "rule": f.rule, "severity": f.severity, "location": f.location,
                   "first_seen": secs(f.first_seen), "message": f.message})
        })
        .collect();
    if let Some(at) = inputs
        .findings
        .get(&*v.entity_ref)
        .and_then(|f| f.iter().map(|x| x.last_seen).max())
    {
        from(
            "findings",
            "scanner findings (SARIF imports)".into(),
            secs(at),
        );
    }
    doc.insert("findings".into(), json!({"open": open}));
    if let (Some(ds), Some(s)) = (&inputs.dora, service) {
        let w = socle_dora::Window {
            from: inputs.now_ms - DORA_DAYS * 86_400_000,
            to: inputs.now_ms,
        };
        let r = ds.report(Some(&[s.to_owned()]), w, false);
        doc.insert(
            "dora".into(),
            json!({
                "deployment_frequency": {"per_day": r.deployment_frequency_per_day, "bucket": r.deployment_frequency_bucket},
                "lead_time_median_hours": r.lead_time_median_hours,
                "change_failure_rate": r.change_failure_rate,
                "recovery_time_median_hours": r.recovery_time_median_hours,
            }),
        );
        from(
            "dora",
            format!("delivery events (last {DORA_DAYS} days)"),
            now,
        );
    }
    if v.kind() == "datacontract" {
        let quality = inputs.quality.get(&*v.entity_ref);
        doc.insert("data".into(), data_facts(quality, inputs.now_ms));
        if let Some(q) = quality {
            from(
                "data",
                format!("data quality run on {} ({})", q.server, q.origin.as_str()),
                secs(q.ran_at),
            );
        }
    }
    let repository = repo
        .and_then(|r| inputs.repos.get(r).cloned().map(|f| (r, f)))
        .map(|(r, f)| {
            let name = match r {
                RepoRef::Git { repo, branch } => format!("git {repo}@{branch}"),
                RepoRef::Dir(_) => "the location's directory".into(),
            };
            from("repository", name, now);
            f
        })
        .unwrap_or_else(|| json!({"read": false}));
    doc.insert("repository".into(), repository);
    doc.insert("entity".into(), entity);
    Facts {
        entity_ref: v.entity_ref.to_string(),
        doc,
        provenance,
    }
}

/// A data product's quality and freshness facts from its newest recorded run:
/// `data.quality.{recorded, result, passed, warning, failed, error, pass_ratio, age_hours}` and
/// `data.freshness.{measured, age_hours}` (the age of the newest data when the run measured it,
/// plus the time since the run).
fn data_facts(q: Option<&QualityRunRecord>, now_ms: i64) -> Value {
    let Some(q) = q else {
        return json!({"quality": {"recorded": false}, "freshness": {"measured": false}});
    };
    let c = q.counts;
    let total = c.passed + c.warning + c.failed + c.error;
    let since_run_h = (now_ms - q.ran_at).max(0) as f64 / 3_600_000.0;
    json!({
        "quality": {
            "recorded": true,
            "result": q.result.as_str(),
            "passed": c.passed, "warning": c.warning, "failed": c.failed, "error": c.error,
            "pass_ratio": if total > 0 { c.passed as f64 / total as f64 } else { 1.0 },
            "age_hours": since_run_h,
        },
        "freshness": match q.freshness_s {
            Some(s) => json!({"measured": true, "age_hours": s as f64 / 3600.0 + since_run_h}),
            None => json!({"measured": false}),
        },
    })
}
