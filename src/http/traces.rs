//! The HTTP server span of a trace. Every request has a span (made in
//! `request_id`, which carries its id in the log lines); when traces are exported
//! (`--otlp-endpoint`, `telemetry`) it becomes the trace's server span, named
//! `METHOD /route/{pattern}`, continuing the caller's W3C `traceparent` (a
//! sampled flag of 0 there is honoured too: nothing of that request is exported),
//! with the answer's status. Without export nothing here reads a header or
//! records a field, and the log lines are as before.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::exporting;

/// The span of the request `req`, whose id is `id`.
pub fn request_span(req: &ServiceRequest, id: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        http.route = Empty,
        http.response.status_code = Empty,
    );
    if exporting() {
        // The route pattern, not the path: one name for every `/articles/{slug}`.
        let route = req.match_pattern();
        let name = match &route {
            Some(r) => format!("{} {r}", req.method()),
            None => req.method().to_string(),
        };
        span.record("otel.kind", "server");
        span.record("otel.name", name.as_str());
        if let Some(r) = &route {
            span.record("http.route", r.as_str());
        }
        let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
        // Fails only without the OpenTelemetry layer, which `exporting` rules out.
        let _ = span.set_parent(parent);
    }
    span
}

/// Records the answer's status on the request's span (an error from 500 on).
pub fn record_status(span: &tracing::Span, status: u16) {
    if exporting() {
        span.record("http.response.status_code", i64::from(status));
        if status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// The request's headers, as the propagator reads them.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
