//! tracing setup: human-readable on a terminal, JSON lines with `LOG_FORMAT=json`.
//! The level comes from `RUST_LOG` (default `info`).
//!
//! Traces (`serve --otlp-endpoint URL`): a second layer turns spans into
//! OpenTelemetry spans and exports them to an OTLP/HTTP collector as protobuf.
//! Without the flag that layer is not installed, and the spans only traces want
//! (services and resolvers at `debug`, sea-orm's `sea_orm.*` statement spans,
//! which the log filter keeps out) are never created. A trace starts at an HTTP
//! request (`http::traces`), continuing the caller's `traceparent`; spans with no
//! parent (background work: the scheduler, webhooks, the index) are not sampled.
//! The SDK batches finished spans on its own thread; the export's HTTP request runs
//! on our runtime through our reqwest client ([`OnRuntime`]); [`Traces::flush`]
//! sends what is left at shutdown.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanKind, TraceId, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{
    Sampler, SamplingDecision, SamplingResult, SdkTracerProvider, ShouldSample,
};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Set once spans are exported: only then does a request read `traceparent` and
/// record its route, and GraphQL open resolver spans.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces (`--otlp-endpoint`).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The trace exporter, if one was installed: flush it before the process ends.
#[must_use]
pub struct Traces(Option<SdkTracerProvider>);

impl Traces {
    /// Exports the spans still queued and stops the exporter (at shutdown). The
    /// SDK blocks while it does, so it runs on the blocking pool, leaving the
    /// runtime free to carry the export's HTTP request.
    pub async fn flush(self) {
        let Some(provider) = self.0 else { return };
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "traces not all exported at shutdown");
        }
    }
}

/// Installs the global subscriber: the log lines, and the trace exporter when
/// `otlp_endpoint` is given. A second call (tests) is a no-op.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> anyhow::Result<Traces> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sea_orm=warn,sqlx=warn"));
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);
    let provider = otlp_endpoint.map(provider).transpose()?;
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("mediadesk"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            .with_filter(
                Targets::new()
                    .with_target("mediadesk", Level::DEBUG)
                    .with_target("sea_orm", Level::INFO),
            )
    });
    if tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .is_err()
    {
        return Ok(Traces(None));
    }
    EXPORTING.store(provider.is_some(), Ordering::Relaxed);
    Ok(Traces(provider))
}

/// `<endpoint>/v1/traces`, the OTLP/HTTP path of traces under a collector's base URL.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The tracer provider exporting to the collector at `endpoint`, in batches.
fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let url = traces_url(endpoint);
    url::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| anyhow::anyhow!("--otlp-endpoint: {endpoint:?} is not an http(s) URL"))?;
    let timeout = std::time::Duration::from_secs(10);
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("--otlp-endpoint: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OnRuntime {
            client,
            runtime: tokio::runtime::Handle::current(),
        })
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .build()
        .map_err(|e| anyhow::anyhow!("--otlp-endpoint: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("mediadesk")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(RequestsOnly)))
        .with_resource(resource)
        .build())
}

/// Samples a trace that starts at a server span (an HTTP request) and no other
/// root; below a root its parent's decision holds (`Sampler::ParentBased`).
#[derive(Clone, Debug)]
struct RequestsOnly;

impl ShouldSample for RequestsOnly {
    fn should_sample(
        &self,
        _parent: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        SamplingResult {
            decision: if *kind == SpanKind::Server {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: Default::default(),
        }
    }
}

/// Our reqwest client, run on our Tokio runtime: the SDK's batch thread awaits
/// the export with a plain executor, where reqwest's connections (Tokio I/O)
/// cannot run, so each request is spawned onto the runtime and awaited there.
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_path_is_added_to_a_collectors_base_url_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("https://c/otlp/v1/traces"),
            "https://c/otlp/v1/traces"
        );
    }
}
