//! Rate limits on writes (`POST`, `PATCH`, `DELETE` under `/api/v1`, the token
//! endpoint included, and signed-in GraphQL mutations), per caller: by bearer token, else by peer address. Past the
//! limit: 429 problem+json with `Retry-After` (actix-governor adds the header).

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use std::net::SocketAddr;
use std::sync::Arc;

use actix_governor::governor::RateLimiter;
use actix_governor::governor::state::keyed::DefaultKeyedStateStore;
use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};

use super::problem::problem;

/// Who a write counts against.
#[derive(Clone, Copy, Debug)]
pub struct Caller;

impl KeyExtractor for Caller {
    type Key = [u8; 16];
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        Ok(caller_key(req.headers(), req.peer_addr()))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _: HttpResponseBuilder,
    ) -> HttpResponse {
        too_many(negative)
    }
}

/// Who a write counts against: the bearer token, else the peer address.
fn caller_key(headers: &HeaderMap, peer: Option<SocketAddr>) -> [u8; 16] {
    let basis = match headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(token) => format!("t:{token}"),
        None => format!(
            "ip:{}",
            peer.map(|a| a.ip().to_string()).unwrap_or_default()
        ),
    };
    let mut key = [0u8; 16];
    key.copy_from_slice(&Sha256::digest(basis.as_bytes())[..16]);
    key
}

/// 429 problem+json with `Retry-After`.
fn too_many(negative: &NotUntil<QuantaInstant>) -> HttpResponse {
    let wait = negative
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        .max(1);
    let mut res = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        &format!("too many writes; retry in {wait} s"),
        &[],
    );
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait.to_string()) {
        res.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, v);
    }
    res
}

/// The write budgets of all callers, shared by the REST middleware and GraphQL.
pub type WriteLimiter =
    Arc<RateLimiter<[u8; 16], DefaultKeyedStateStore<[u8; 16]>, DefaultClock, NoOpMiddleware>>;

/// Spends one write of the caller's budget (a GraphQL mutation): `None` when
/// allowed, else the 429 answer.
pub fn spend(limiter: &WriteLimiter, req: &HttpRequest) -> Option<HttpResponse> {
    limiter
        .check_key(&caller_key(req.headers(), req.peer_addr()))
        .err()
        .map(|negative| too_many(&negative))
}

/// `per_minute` writes a minute on average, in bursts of up to `burst`.
pub fn writes(per_minute: u32, burst: u32) -> GovernorConfig<Caller, NoOpMiddleware> {
    let period_ms = (60_000 / u64::from(per_minute.max(1))).max(1);
    GovernorConfigBuilder::default()
        .period(std::time::Duration::from_millis(period_ms))
        .burst_size(burst.max(1))
        .methods(vec![
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::PUT,
        ])
        .key_extractor(Caller)
        .finish()
        .unwrap_or_else(unreachable_config)
}

fn unreachable_config() -> GovernorConfig<Caller, NoOpMiddleware> {
    // `finish` only fails for a zero period or burst, both excluded above.
    GovernorConfigBuilder::default()
        .key_extractor(Caller)
        .finish()
        .expect("default governor configuration")
}
