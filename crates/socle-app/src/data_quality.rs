//! Data quality history: the `socle data test` runs recorded for a data product — from the CLI
//! (`--record`), from a pipeline run, or posted to the API by CI — kept per product so that its
//! page can chart its quality and freshness over time and scorecards can read them as facts.
//!
//! Trust: only a member of the product's owner team (or of a parent team), one of its service
//! accounts, or an admin records a run for it; the server recounts the verdicts from the checks
//! (a posted summary is not believed), keeps at most [`MAX_CHECKS`] checks with their text
//! bounded, and never keeps failed-row samples (they may hold personal data). Anyone who may
//! read the catalog reads the history.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_data::quality::{CheckResult, Verdict};
use socle_store::{CheckCounts, NewQualityRun, QualityOrigin, QualityRunRecord, QualityVerdict};

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, clip};
use crate::data_test::DataTestReport;
use crate::error::AppError;

/// Most checks kept for one run.
pub const MAX_CHECKS: usize = 5_000;
/// Longest text of a check's field (name, reason, threshold, …), in characters.
pub const MAX_CHECK_TEXT: usize = 1_000;
/// Runs a product's page and history show by default.
pub const DEFAULT_HISTORY: i64 = 30;

/// One check of a recorded run: what `socle data test -o json` prints for it, without samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QualityCheck {
    #[serde(default)]
    pub key: String,
    #[serde(rename = "type", default)]
    pub check_type: String,
    pub name: String,
    #[serde(default)]
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default)]
    pub metric: String,
    pub result: QualityVerdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A number, a string or a boolean (anything else is dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
}

/// A run posted to the API: the JSON `socle data test -o json` prints (its `checks` carry the
/// verdicts; `result` and `counts` are recomputed from them).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedRun {
    pub server: String,
    #[serde(default)]
    pub duration_ms: u64,
    pub checks: Vec<QualityCheck>,
}

/// A product's history, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct QualityHistory {
    pub product: String,
    pub runs: Vec<QualityRunRecord>,
    /// The newest run with its checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<QualityRunRecord>,
}

const fn verdict(v: Verdict) -> QualityVerdict {
    match v {
        Verdict::Passed => QualityVerdict::Passed,
        Verdict::Warning => QualityVerdict::Warning,
        Verdict::Failed => QualityVerdict::Failed,
        Verdict::Error => QualityVerdict::Error,
    }
}

fn bounded(s: String) -> String {
    clip(&s, MAX_CHECK_TEXT).into_owned()
}

impl QualityCheck {
    /// A measured check as kept (its samples left behind).
    pub fn of(r: &CheckResult) -> Self {
        QualityCheck {
            key: r.key.clone(),
            check_type: r.check_type.clone(),
            name: r.name.clone(),
            table: r.table.clone(),
            field: r.field.clone(),
            metric: r.metric.to_owned(),
            result: verdict(r.result),
            reason: r.reason.clone(),
            value: r.value.clone(),
            threshold: r.threshold.clone(),
            age_seconds: r.age_seconds,
        }
    }

    /// Every text clipped, a value that is not a scalar dropped.
    fn bounded(self) -> Self {
        QualityCheck {
            key: bounded(self.key),
            check_type: bounded(self.check_type),
            name: bounded(self.name),
            table: bounded(self.table),
            field: self.field.map(bounded),
            metric: bounded(self.metric),
            result: self.result,
            reason: self.reason.map(bounded),
            value: self.value.and_then(|v| match v {
                Value::String(s) => Some(Value::String(bounded(s))),
                Value::Number(_) | Value::Bool(_) => Some(v),
                _ => None,
            }),
            threshold: self.threshold.map(bounded),
            age_seconds: self.age_seconds.filter(|a| *a >= 0),
        }
    }
}

/// Whose run is recorded, by whom, from where and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    /// The data product's entity ref.
    pub product: String,
    pub origin: QualityOrigin,
    pub recorded_by: String,
    /// When it ran, milliseconds since the epoch.
    pub ran_at: i64,
}

/// A run to store from its checks: verdict and counts computed from them, the freshness from
/// the first freshness check that measured an age.
pub fn new_run(
    rec: Recording,
    server: String,
    duration_ms: u64,
    checks: Vec<QualityCheck>,
) -> Result<NewQualityRun, AppError> {
    if checks.len() > MAX_CHECKS {
        return Err(AppError::bad_request(format!(
            "a run records at most {MAX_CHECKS} checks (this one has {})",
            checks.len()
        )));
    }
    let checks: Vec<QualityCheck> = checks.into_iter().map(QualityCheck::bounded).collect();
    let mut counts = CheckCounts::default();
    for c in &checks {
        match c.result {
            QualityVerdict::Passed => counts.passed += 1,
            QualityVerdict::Warning => counts.warning += 1,
            QualityVerdict::Failed => counts.failed += 1,
            QualityVerdict::Error => counts.error += 1,
        }
    }
    let result = checks
        .iter()
        .map(|c| c.result)
        .max()
        .unwrap_or(QualityVerdict::Passed);
    let freshness_s = checks
        .iter()
        .find(|c| c.metric == "freshness" && c.age_seconds.is_some())
        .and_then(|c| c.age_seconds);
    Ok(NewQualityRun {
        product: rec.product,
        server: bounded(server),
        origin: rec.origin,
        recorded_by: rec.recorded_by,
        ran_at: rec.ran_at,
        duration_ms: i64::try_from(duration_ms).unwrap_or(i64::MAX),
        result,
        counts,
        freshness_s,
        checks: serde_json::to_value(&checks).map_err(AppError::internal)?,
    })
}

/// A finished `socle data test` as a run to store.
pub fn run_of_report(report: &DataTestReport, rec: Recording) -> Result<NewQualityRun, AppError> {
    new_run(
        rec,
        report.server.clone(),
        report.duration_ms,
        report.checks.iter().map(QualityCheck::of).collect(),
    )
}

/// The catalog entity of a data product named `name` (`orders` or `datacontract:default/orders`).
pub fn product_ref(name: &str) -> Result<String, AppError> {
    socle_catalog::EntityRef::parse(name.trim(), Some("datacontract"), "default")
        .map(|r| r.to_string())
        .map_err(|e| AppError::bad_request(e.to_string()))
}

/// The data product named `name` in `snap`: its entity ref and its index, or a 404.
pub(crate) fn product_at<'s>(
    snap: &'s crate::snapshot::Snapshot,
    name: &str,
) -> Result<(String, &'s crate::snapshot::EntityView), AppError> {
    let r = product_ref(name)?;
    snap.get(&r)
        .filter(|v| v.kind() == "datacontract")
        .map(|v| (r.clone(), v))
        .ok_or_else(|| AppError::not_found(format!("there is no data product {r}")))
}

impl App {
    fn data_product_ref(&self, name: &str) -> Result<String, AppError> {
        product_at(&self.snapshot(), name).map(|(r, _)| r)
    }

    /// Records a run posted for `product` by its owners (audited as `data_quality.record`).
    pub async fn record_data_quality(
        &self,
        actor: &Actor,
        product: &str,
        run: PostedRun,
    ) -> Result<QualityRunRecord, AppError> {
        let target = clip(product, 256).into_owned();
        let result = self.record_data_quality_inner(actor, product, run).await;
        self.audited_with(
            actor,
            AuditAction::DataQualityRecord,
            &target,
            result,
            |r| {
                format!(
                    "{} on {}: {} passed, {} warning, {} failed, {} error",
                    r.result.as_str(),
                    r.server,
                    r.counts.passed,
                    r.counts.warning,
                    r.counts.failed,
                    r.counts.error
                )
            },
        )
        .await
    }

    async fn record_data_quality_inner(
        &self,
        actor: &Actor,
        product: &str,
        run: PostedRun,
    ) -> Result<QualityRunRecord, AppError> {
        // Who may write at all first: an anonymous caller or a viewer learns nothing of
        // which products exist.
        actor.require(socle_store::Role::Member)?;
        let product = self.data_product_ref(product)?;
        self.authorize_entity(actor, &product)?;
        let by = actor
            .principal()
            .map(|p| p.subject.clone())
            .unwrap_or_default();
        let rec = Recording {
            product,
            origin: QualityOrigin::Api,
            recorded_by: by,
            ran_at: self.clock.now_ms(),
        };
        let new = new_run(rec, run.server, run.duration_ms, run.checks)?;
        Ok(self.store.record_quality_run(&new).await?)
    }

    /// A product's last `limit` runs (and its newest with its checks), for whoever may read
    /// the catalog.
    pub async fn data_quality_history(
        &self,
        actor: &Actor,
        product: &str,
        limit: i64,
    ) -> Result<QualityHistory, AppError> {
        self.can_read(actor)?;
        let product = self.data_product_ref(product)?;
        let runs = self.store.quality_history(&product, limit).await?;
        let latest = match runs.first() {
            Some(r) => self.store.quality_run(&r.id).await?,
            None => None,
        };
        Ok(QualityHistory {
            product,
            runs,
            latest,
        })
    }
}
