//! The outermost middleware. Every request gets an id: the client's `X-Request-Id`
//! when it is sane, else a new UUID. It is echoed in the response header, carried
//! by the request's tracing span (so every log line of the request has it; the
//! span is also the trace's server span, `http::traces`) and put into
//! problem+json bodies. Every answer, refusals of inner middlewares included,
//! gets the common security headers here.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{
    HeaderMap, HeaderName, HeaderValue, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn sane(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The headers every answer carries: its request id, `nosniff`, the referrer
/// policy and, when clients reach us over https, `Strict-Transport-Security`.
/// Pages set their own Content-Security-Policy where they are rendered.
fn common_headers(h: &mut HeaderMap, id: &str, hsts: bool) {
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(HeaderName::from_static(HEADER), v);
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(REFERRER_POLICY) {
        h.insert(
            REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
    }
    if hsts {
        h.insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// The middleware (`actix_web::middleware::from_fn(request_id::middleware)`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = super::traces::request_span(&req, &id);
    let started = Instant::now();
    let hsts = req
        .app_data::<actix_web::web::Data<super::AppState>>()
        .is_some_and(|s| s.https());
    // A panic in a handler (a bug) answers 500 like any internal error instead
    // of dropping the connection; the hook in `log_panics` has logged it with
    // its backtrace, and the worker goes on serving.
    let result =
        AssertUnwindSafe(REQUEST_ID.scope(id.clone(), next.call(req).instrument(span.clone())))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                let mut res = REQUEST_ID.sync_scope(id.clone(), || {
                    super::problem::problem(
                        actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "INTERNAL",
                        "internal error",
                        &[],
                    )
                });
                res.headers_mut().insert(
                    actix_web::http::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                );
                Err(InternalError::from_response("handler panicked", res).into())
            });
    let mut res = match result {
        Ok(res) => res,
        Err(e) => {
            // An inner middleware's refusal (CORS, rate limit) carries the same
            // headers as any other answer.
            let mut res = e.error_response();
            common_headers(res.headers_mut(), &id, hsts);
            let status = res.status().as_u16();
            super::traces::record_status(&span, status);
            span.in_scope(|| tracing::info!(status, "request refused"));
            return Err(InternalError::from_response(e.to_string(), res).into());
        }
    };
    common_headers(res.headers_mut(), &id, hsts);
    let status = res.status().as_u16();
    super::traces::record_status(&span, status);
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        )
    });
    Ok(res)
}

/// Logs a panic inside a request as an error with its request id, message,
/// place and backtrace (panics elsewhere go to the previous hook). Installed
/// once per process.
pub fn log_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match current() {
            Some(request_id) => {
                let backtrace = std::backtrace::Backtrace::force_capture();
                tracing::error!(
                    %request_id,
                    panic = %info,
                    %backtrace,
                    "handler panicked"
                );
            }
            None => previous(info),
        }));
    });
}

/// `GET /__test/panic` (only with the hidden `serve --panic-route`): a handler
/// that panics, so tests can check that a bug answers 500 and the server lives on.
pub async fn panic() -> actix_web::HttpResponse {
    panic!("panic requested by GET /__test/panic")
}
