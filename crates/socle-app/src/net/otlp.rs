//! The HTTP client of the OTLP trace exporter (`socle serve --otlp-endpoint`): the exporter's
//! requests go through [`super::exchange`] — http:// or https:// with Socle's trust roots, a
//! timeout and a bounded answer — on the server's tokio runtime, whatever thread the exporter
//! runs on (the task's handle is awaited, which needs no runtime of its own).

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};

use super::{Endpoint, TlsRoots, exchange};

/// How long one export may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read from a collector.
const MAX_ANSWER: usize = 1 << 20;

/// Sends the exporter's requests through Socle's HTTP exchange on `runtime`.
#[derive(Clone)]
pub struct OtlpHttp {
    pub tls: TlsRoots,
    pub runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for OtlpHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtlpHttp")
    }
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttp {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let url = request.uri().to_string();
        let endpoint = Endpoint::of(&url)?;
        let (parts, body) = request.into_parts();
        let request = hyper::Request::from_parts(parts, Full::new(body));
        let tls = self.tls.clone();
        let task = self
            .runtime
            .spawn(async move { exchange(&endpoint, &tls, request, TIMEOUT, MAX_ANSWER).await });
        let (status, body) = task.await??;
        Ok(Response::builder().status(status).body(body)?)
    }
}
