//! Prometheus metrics for `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

/// Request latency histogram bounds, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    pub registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub entities: Gauge,
    pub generation: Gauge,
    pub refreshes: Family<OutcomeLabels, Counter>,
    pub refresh_seconds: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("socle");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // Round bounds: Socle's own latency SLO (deploy/slo/socle.yaml) reads `le="0.25"`.
            Histogram::new(LATENCY_BUCKETS.iter().copied())
        });
        let entities = Gauge::default();
        let generation = Gauge::default();
        let refreshes = Family::<OutcomeLabels, Counter>::default();
        let refresh_seconds = Histogram::new(exponential_buckets(0.01, 3.0, 10));
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "catalog_entities",
            "Entities in the served catalog",
            entities.clone(),
        );
        registry.register(
            "catalog_generation",
            "Catalog generation served",
            generation.clone(),
        );
        registry.register(
            "location_refreshes",
            "Location refreshes by outcome",
            refreshes.clone(),
        );
        registry.register(
            "location_refresh_duration_seconds",
            "Time to read and apply one location",
            refresh_seconds.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            entities,
            generation,
            refreshes,
            refresh_seconds,
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
