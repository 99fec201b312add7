//! Metrics over HTTP: the middleware that measures every request (count by
//! route pattern, method and status; latency; in flight) and `GET /metrics`,
//! the Prometheus text exposition (`crate::metrics` holds the names and the
//! recorder).
//!
//! Where `/metrics` is served: with `--metrics-bind`, on that listener only (a
//! server of its own that serves nothing else); else with `--metrics-token`, on
//! the public port; with neither, nowhere (404). A configured token is required
//! wherever `/metrics` is served (`Authorization: Bearer`, compared in
//! constant time). Scraping reads the pool's figures and costs one statement
//! (the webhook backlog); an unscraped idle server runs none.

use std::net::TcpListener;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::metrics as m;

/// What `/metrics` serves and who may read it.
pub struct Exposition {
    handle: metrics_exporter_prometheus::PrometheusHandle,
    /// SHA-256 of the configured token, if any.
    token: Option<[u8; 32]>,
}

impl Exposition {
    /// The exposition these flags ask for (installing the process's recorder),
    /// or `None` when metrics are off.
    pub fn configure(bind: Option<&str>, token: Option<&str>) -> anyhow::Result<Option<Self>> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        if bind.is_none() && token.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            handle: m::install()?,
            token: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }))
    }

    /// Does the request carry the token (when one is required)?
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(want) = &self.token else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests of equal length, compared without an early exit.
        let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        given
            .iter()
            .zip(want)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

/// `GET /metrics`: the Prometheus text format, after reading the figures
/// known only at scrape time.
pub async fn scrape(
    req: HttpRequest,
    state: web::Data<AppState>,
    exposition: web::Data<Exposition>,
) -> HttpResponse {
    if !exposition.admits(&req) {
        let mut res = super::problem::problem(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "/metrics needs the metrics token (Authorization: Bearer)",
            &[],
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return res;
    }
    let (size, idle, max) = state.db.pool_stats();
    m::pool("primary", size, idle, max);
    match crate::services::webhooks::worker::backlog(&state.db.conn).await {
        Ok((pending, failed)) => m::webhook_backlog(pending, failed),
        Err(e) => tracing::warn!(error = %e, "the webhook backlog was not read for /metrics"),
    }
    match crate::services::outbox::backlog(&state.db.conn).await {
        Ok((pending, failed)) => m::outbox_backlog(pending, failed),
        Err(e) => tracing::warn!(error = %e, "the outbox backlog was not read for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(exposition.handle.render())
}

/// The listener of `--metrics-bind`: `/metrics` and nothing else, one worker.
pub fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    exposition: web::Data<Exposition>,
) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(exposition.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(super::problem::not_found))
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(1)
    .run())
}

/// A method as a label: the standard ones, else `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|k| *k == method.as_str())
        .unwrap_or("other")
}

/// Counts a request in flight while it lives.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        ::metrics::gauge!(m::HTTP_IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        ::metrics::gauge!(m::HTTP_IN_FLIGHT).decrement(1.0);
    }
}

/// The outermost middleware when metrics are on: counts and times every
/// request by its route pattern (`/api/v1/articles/{slug}`; `unmatched` when no
/// route matched), method and status.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let _flight = InFlight::enter();
    let started = Instant::now();
    let method = method_label(req.method());
    // The pattern the router matches for this path (bounded: the route table's).
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.call(req).await;
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.error_response().status(),
    };
    ::metrics::counter!(
        m::HTTP_REQUESTS,
        "route" => route.clone(),
        "method" => method,
        "status" => status.as_str().to_owned(),
    )
    .increment(1);
    ::metrics::histogram!(m::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    res
}
