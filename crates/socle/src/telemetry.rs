//! Logs and traces: logs to stderr (`--log`), and with `socle serve --otlp-endpoint` a span per
//! HTTP request exported over OTLP/HTTP protobuf (the OpenTelemetry SDK's batch processor; its
//! requests go through socle-app's HTTP exchange, `net::otlp::OtlpHttp`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// Where traces go: the collector's URL, the TLS roots, the runtime that sends.
pub struct Otlp {
    pub endpoint: String,
    pub tls: socle_app::net::TlsRoots,
    pub runtime: tokio::runtime::Handle,
}

/// Installs the global subscriber. The returned provider (with `otlp`) must be shut down before
/// the runtime ends, so that the last spans are sent.
pub fn init(log: &str, otlp: Option<Otlp>) -> anyhow::Result<Option<SdkTracerProvider>> {
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // No colour codes in logs read from a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(EnvFilter::try_new(log).unwrap_or_else(|_| "info".into()));
    let Some(otlp) = otlp else {
        tracing_subscriber::registry().with(fmt).init();
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(socle_app::net::otlp::OtlpHttp {
            tls: otlp.tls,
            runtime: otlp.runtime,
        })
        .with_endpoint(otlp.endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("socle")
                .build(),
        )
        .build();
    // Request spans only (and whatever else is at info or above): the exporter's own HTTP
    // client logs nothing into the traces it sends.
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("socle"))
        .with_filter(EnvFilter::new(
            "info,opentelemetry=off,opentelemetry_sdk=off,hyper=off",
        ));
    tracing_subscriber::registry().with(fmt).with(traces).init();
    Ok(Some(provider))
}
