//! Error budgets from a real Prometheus: history with a known error ratio is backfilled with
//! `promtool tsdb create-blocks-from openmetrics`, the `prometheus` binary serves it, and every
//! figure Socle computes from its answers is checked against the hand-computed value.
//! Needs Debian's `prometheus` package; without it the test skips, unless
//! SOCLE_REQUIRE_PROMETHEUS=1 (CI), where it fails.

use std::fmt::Write as _;
use std::time::Duration;

use socle_app::slo::{MetricsSource, PrometheusHttp, budgets};
use socle_slo::budget::Severity;
use socle_slo::{LoadOptions, PromDuration, WindowCatalog, load};

/// The last sample's time, and when the budgets are computed.
const END: i64 = 1_764_000_000;
const STEP: i64 = 60;
const DAYS: i64 = 4;

/// Requests per minute and errors per minute of each service: a steady error ratio.
const TRAFFIC: [(&str, i64, i64); 2] = [("cart-service", 10_000, 5), ("checkout", 1_000, 20)];

fn openmetrics() -> String {
    let mut out = String::from("# HELP http_requests Requests.\n# TYPE http_requests counter\n");
    for (service, total, errors) in TRAFFIC {
        for (code, per_min) in [("200", total - errors), ("500", errors)] {
            let mut value = 0;
            let mut t = END - DAYS * 86_400;
            while t <= END {
                let _ = writeln!(
                    out,
                    "http_requests_total{{service=\"{service}\",code=\"{code}\"}} {value} {t}"
                );
                value += per_min;
                t += STEP;
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

const SPECS: &str = r#"version: "prometheus/v1"
service: "cart-service"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="cart-service",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="cart-service"}[{{.window}}]))
    alerting:
      name: CartErrors
---
version: "prometheus/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
    alerting:
      name: CheckoutErrors
"#;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_from_a_real_prometheus_equal_hand_computed_figures() {
    let Some(binaries) = socle_testkit::prometheus::binaries() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server =
        socle_testkit::prometheus::Prometheus::start(&binaries, &openmetrics(), dir.path())
            .unwrap();
    let url = server.url.clone();
    let client = PrometheusHttp::new(&url).unwrap();
    let mut ready = false;
    for _ in 0..120 {
        if client
            .instant("vector(1)", END as f64)
            .await
            .is_ok_and(|v| v == Some(1.0))
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "prometheus did not answer at {url}");
    let groups = load(SPECS, "slo.yaml", &LoadOptions::default()).unwrap();
    let catalog = WindowCatalog::default();
    let all = budgets(
        &client,
        &groups,
        PromDuration::days(30),
        &catalog,
        END as f64,
        4,
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 2);

    // cart-service: 5 errors in 10,000 requests (0.05%), half of a 0.1% budget everywhere.
    let cart = &all[0];
    assert_eq!(cart.windows.len(), 8);
    for w in &cart.windows {
        assert!(
            close(w.error_ratio.unwrap(), 0.0005),
            "{}: {:?}",
            w.window,
            w.error_ratio
        );
        assert!(
            close(w.burn_rate.unwrap(), 0.5),
            "{}: {:?}",
            w.window,
            w.burn_rate
        );
    }
    assert!(close(cart.sli.unwrap(), 0.9995));
    assert!(close(cart.remaining.unwrap(), 0.5));
    // Half the budget left at half the sustainable rate: 30 days.
    assert!(close(cart.seconds_to_exhaustion.unwrap(), 30.0 * 86_400.0));
    assert!(cart.firing.is_empty());

    // checkout: 20 errors in 1,000 (2%): burn rate 20, over both page (14.4) and ticket factors.
    let checkout = &all[1];
    for w in &checkout.windows {
        assert!(
            close(w.burn_rate.unwrap(), 20.0),
            "{}: {:?}",
            w.window,
            w.burn_rate
        );
    }
    assert!(close(checkout.remaining.unwrap(), -19.0));
    assert_eq!(checkout.seconds_to_exhaustion, Some(0.0));
    assert_eq!(checkout.firing, [Severity::Page, Severity::Ticket]);
}

#[tokio::test]
async fn a_prometheus_url_must_be_http_or_https_with_a_host() {
    assert!(PrometheusHttp::new("https://prometheus:9090").is_ok());
    assert!(PrometheusHttp::new("ftp://prometheus:9090").is_err());
    assert!(PrometheusHttp::new("http://").is_err());
    assert!(PrometheusHttp::new("http://user:pw@prometheus:9090").is_err());
}

#[test]
fn an_unaggregated_sli_query_is_refused() {
    let answer = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"code": "500"}, "value": [1, "0.1"]},
        {"metric": {"code": "502"}, "value": [1, "0.2"]}
    ]}});
    let e = socle_app::slo::single_value("q", &answer).unwrap_err();
    assert!(e.to_string().contains("2 series"), "{e}");
    let nan = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1, "NaN"]}
    ]}});
    assert_eq!(socle_app::slo::single_value("q", &nan).unwrap(), None);
}
