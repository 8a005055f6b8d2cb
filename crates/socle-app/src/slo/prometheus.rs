//! Error budgets from a real Prometheus: every SLO's SLI error ratio queried over each alert
//! window and the SLO period through the Prometheus HTTP API (`/api/v1/query`, instant queries at
//! one time), a bounded number at once, then turned into budgets by `socle_slo::budget`.
//!
//! The HTTP client ([`crate::net`]) speaks `http://` and `https://` (rustls, the system's roots
//! plus `SOCLE_CA_FILE`), with timeouts and a bounded response body; [`MetricsSource`] is the
//! seam tests replace.

use std::collections::BTreeMap;
use std::future::Future;

use futures_util::{StreamExt, stream};
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::Value;
use socle_slo::budget::{Budget, budget, budget_queries};
use socle_slo::{PromDuration, SloGroup, WindowCatalog};

/// Largest response read from Prometheus.
const MAX_RESPONSE: usize = 4 << 20;

/// Why a budget could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    #[error("Prometheus URL {url}: {source}")]
    Url {
        url: String,
        source: crate::net::NetError,
    },
    #[error("cannot connect to Prometheus: {0}")]
    Connect(crate::net::NetError),
    #[error("Prometheus at {url}: {message}")]
    Http { url: String, message: String },
    #[error("Prometheus refused the query {query:?}: {message}")]
    Query { query: String, message: String },
    #[error("the SLO period {0} has no alert windows")]
    Period(PromDuration),
}

/// Where SLI values come from: an instant query's single value (`None`: no data).
pub trait MetricsSource: Send + Sync {
    fn instant(
        &self,
        query: &str,
        at_unix_seconds: f64,
    ) -> impl Future<Output = Result<Option<f64>, PrometheusError>> + Send;
}

/// A source without data: every query answers "no data".
pub struct NoMetrics;

impl MetricsSource for NoMetrics {
    async fn instant(&self, _: &str, _: f64) -> Result<Option<f64>, PrometheusError> {
        Ok(None)
    }
}

/// A Prometheus HTTP API, e.g. `http://prometheus:9090` or `https://…` (TLS checked against
/// `tls`).
pub struct PrometheusHttp {
    base: String,
    endpoint: crate::net::Endpoint,
    tls: crate::net::TlsRoots,
}

impl PrometheusHttp {
    /// A Prometheus at `url`, trusting the system's roots.
    pub fn new(url: &str) -> Result<Self, PrometheusError> {
        Self::with_tls(url, crate::net::TlsRoots::default())
    }

    /// A Prometheus at `url`, trusting `tls`.
    pub fn with_tls(url: &str, tls: crate::net::TlsRoots) -> Result<Self, PrometheusError> {
        let base = url.trim_end_matches('/').to_owned();
        let endpoint = crate::net::Endpoint::of(&base).map_err(|source| PrometheusError::Url {
            url: url.to_owned(),
            source,
        })?;
        Ok(Self {
            base,
            endpoint,
            tls,
        })
    }

    async fn post(&self, path: &str, form: String) -> Result<Value, PrometheusError> {
        let url = format!("{}{path}", self.base);
        let http_err = |message: String| PrometheusError::Http {
            url: url.clone(),
            message,
        };
        let req = hyper::Request::post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| http_err(e.to_string()))?;
        let (status, bytes) = crate::net::exchange(
            &self.endpoint,
            &self.tls,
            req,
            std::time::Duration::from_secs(60),
            MAX_RESPONSE,
        )
        .await
        .map_err(|e| match e {
            crate::net::ExchangeError::Net(e) => PrometheusError::Connect(e),
            other => http_err(other.to_string()),
        })?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| http_err(format!("HTTP {status}: not a JSON answer")))?;
        Ok(v)
    }
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The one value of an instant query's answer (`None`: no series, or NaN).
pub fn single_value(query: &str, answer: &Value) -> Result<Option<f64>, PrometheusError> {
    let err = |message: String| PrometheusError::Query {
        query: query.to_owned(),
        message,
    };
    if answer["status"] != "success" {
        return Err(err(answer["error"].as_str().unwrap_or("error").to_owned()));
    }
    let data = &answer["data"];
    let value = match data["resultType"].as_str() {
        Some("scalar") => &data["result"],
        Some("vector") => match data["result"].as_array().map(Vec::as_slice) {
            Some([]) | None => return Ok(None),
            Some([one]) => &one["value"],
            Some(many) => {
                return Err(err(format!(
                    "{} series: an SLI query must aggregate to one (sum(…))",
                    many.len()
                )));
            }
        },
        other => return Err(err(format!("unexpected result type {other:?}"))),
    };
    let v: f64 = value[1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| err("a value that is not a number".into()))?;
    Ok(v.is_finite().then_some(v))
}

impl MetricsSource for PrometheusHttp {
    async fn instant(&self, query: &str, at: f64) -> Result<Option<f64>, PrometheusError> {
        let answer = self
            .post(
                "/api/v1/query",
                format!("query={}&time={at}", encode(query)),
            )
            .await?;
        single_value(query, &answer)
    }
}

/// Every SLO's budget at `at` (Unix seconds), at most `concurrency` queries in flight.
pub async fn budgets<M: MetricsSource>(
    source: &M,
    groups: &[SloGroup],
    default_period: PromDuration,
    catalog: &WindowCatalog,
    at: f64,
    concurrency: usize,
) -> Result<Vec<Budget>, PrometheusError> {
    let mut plans = Vec::new();
    for slo in groups.iter().flat_map(|g| &g.slos) {
        let period = slo.period.unwrap_or(default_period);
        let ws = *catalog.get(period).ok_or(PrometheusError::Period(period))?;
        plans.push((slo, ws, budget_queries(slo, &ws)));
    }
    // Owned queries: a future borrowing them could not be `Send` for every lifetime, which the
    // deploy path (the SLO gate) needs.
    let jobs: Vec<(usize, PromDuration, String)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, (_, _, qs))| qs.iter().map(move |(w, q)| (i, *w, q.clone())))
        .collect();
    let answers: Vec<(usize, PromDuration, Result<Option<f64>, PrometheusError>)> =
        stream::iter(jobs)
            .map(|(i, w, q)| async move {
                let r = source.instant(&q, at).await;
                (i, w, r)
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
    let mut measured: Vec<BTreeMap<PromDuration, Option<f64>>> = vec![BTreeMap::new(); plans.len()];
    for (i, w, r) in answers {
        measured[i].insert(w, r?);
    }
    Ok(plans
        .iter()
        .zip(&measured)
        .map(|((slo, ws, _), m)| budget(slo, ws, m))
        .collect())
}
