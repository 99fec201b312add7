//! Rate limits on writes (`POST`, `PATCH`, `DELETE` under `/api/v1`, the token
//! endpoint included, and signed-in GraphQL mutations), per caller: the verified
//! subject of the request's token, else the client's address (`http::client`:
//! forwarded addresses only from trusted proxies). The token endpoint always
//! counts against the address. Never the raw `Authorization` header: the caller
//! chooses it freely, and a new one each time would be a fresh budget each time.
//! Past the limit: 429 problem+json with `Retry-After`.

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use std::sync::Arc;

use actix_governor::governor::RateLimiter;
use actix_governor::governor::state::keyed::DefaultKeyedStateStore;
use actix_web::dev::ServiceRequest;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, web};
use actix_web::{HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};

use super::AppState;
use super::problem::problem;

/// The path whose callers are always counted by address (they have no token yet).
const TOKEN_PATH: &str = "/api/v1/auth/token";

/// Who a write counts against.
#[derive(Clone, Copy, Debug)]
pub struct Caller;

impl KeyExtractor for Caller {
    type Key = [u8; 16];
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| SimpleKeyExtractionError::new("no application state"))?;
        Ok(caller_key(req.request(), state))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _: HttpResponseBuilder,
    ) -> HttpResponse {
        too_many(negative)
    }
}

/// Who a write counts against: the verified token subject, else the client address.
fn caller_key(req: &HttpRequest, state: &AppState) -> [u8; 16] {
    let subject = (req.path() != TOKEN_PATH)
        .then(|| super::auth::verified_subject(req, state))
        .flatten();
    let basis = match subject {
        Some(sub) => format!("sub:{sub}"),
        None => format!(
            "ip:{}",
            super::client::client_ip(req, &state.trusted_proxies)
                .map(|ip| super::client::budget_address(ip).to_string())
                .unwrap_or_default()
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
pub fn spend(state: &AppState, req: &HttpRequest) -> Option<HttpResponse> {
    state
        .write_limiter
        .check_key(&caller_key(req, state))
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
