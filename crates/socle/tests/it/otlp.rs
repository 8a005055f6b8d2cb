//! Traces over OTLP/HTTP: `socle serve --otlp-endpoint` sends a span per HTTP request to a
//! collector — here a receiver in the test that decodes the protobuf export requests with the
//! OpenTelemetry project's own message definitions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;

use crate::readme::start_demo_with;

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_a_span_at_the_collector() {
    let received: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let sink = received.clone();
    let collector = socle_testkit::serve(axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: Bytes| async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                sink.lock().unwrap().push((ct, body));
                axum::http::StatusCode::OK
            },
        ),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}/v1/traces", collector.addr);
    let server = start_demo_with(
        dir.path(),
        &["--otlp-endpoint", &endpoint],
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    );
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let r = socle_testkit::request(
        addr,
        "GET",
        "/api/v1/entities/component/default/no-such-service",
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, 404);
    // The batch goes out within its 100 ms delay; allow a slow machine.
    let started = Instant::now();
    let span = loop {
        let bodies = received.lock().unwrap().clone();
        let found = bodies.iter().find_map(|(ct, body)| {
            assert_eq!(ct, "application/x-protobuf");
            let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("OTLP protobuf");
            req.resource_spans.into_iter().find_map(|rs| {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| attr(&r.attributes, "service.name"))
                    .cloned();
                rs.scope_spans
                    .into_iter()
                    .flat_map(|ss| ss.spans)
                    .find(|s| s.name == "GET /api/v1/entities/{kind}/{namespace}/{name}")
                    .map(|s| (service, s))
            })
        });
        if let Some(f) = found {
            break f;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no span arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (service, span) = span;
    assert_eq!(service, Some(AnyValue::StringValue("socle".into())));
    assert_eq!(
        attr(&span.attributes, "http.route"),
        Some(&AnyValue::StringValue(
            "/api/v1/entities/{kind}/{namespace}/{name}".into()
        ))
    );
    assert_eq!(
        attr(&span.attributes, "http.response.status_code"),
        Some(&AnyValue::IntValue(404))
    );
    assert_eq!(span.kind, 2, "SPAN_KIND_SERVER");
    assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
    drop(server);
}
