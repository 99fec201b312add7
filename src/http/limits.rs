//! Rate limits on writes (`POST`, `PATCH`, `DELETE` under `/api/v1`, the token
//! endpoint included, and signed-in GraphQL mutations), per caller: the verified
//! subject of the request's token, else the client's address (`http::client`:
//! forwarded addresses only from trusted proxies). The token endpoint always
//! counts against the address. Never the raw `Authorization` header: the caller
//! chooses it freely, and a new one each time would be a fresh budget each time.
//! Past the limit: 429 problem+json with `Retry-After`.
//!
//! A budget is GCRA (`burst` writes at once, then one per period). It is kept in
//! this process (`--shared-store memory`, one node) or in the shared store that
//! every node uses (`services::shared_store`), so a caller's budget holds across
//! nodes. While the shared store cannot be reached, each node falls back to its
//! own budget for the caller (a warning is logged): writes go on, and a caller
//! gets at most one budget per node until the store is back.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::AppState;
use super::problem::problem;
use crate::services::shared_store::SharedStore;

/// The path whose callers are always counted by address (they have no token yet).
const TOKEN_PATH: &str = "/api/v1/auth/token";

type LocalLimiter = RateLimiter<[u8; 16], DefaultKeyedStateStore<[u8; 16]>, DefaultClock>;

/// The write budgets of all callers, shared by the REST middleware and GraphQL.
pub struct WriteLimits {
    /// This process's budgets: the only ones with `memory`, the fallback otherwise.
    local: Arc<LocalLimiter>,
    shared: Option<SharedStore>,
    period: Duration,
    burst: u32,
    /// When the fallback was last logged (s since the epoch), so an outage of the
    /// store logs a line every few seconds, not one per write.
    warned_at: AtomicU64,
}

impl WriteLimits {
    /// `per_minute` writes a minute on average, in bursts of up to `burst`, kept
    /// in `shared` when given.
    pub fn new(per_minute: u32, burst: u32, shared: Option<SharedStore>) -> Self {
        let period = Duration::from_millis((60_000 / u64::from(per_minute.max(1))).max(1));
        Self::with_period(period, burst, shared)
    }

    /// `burst` at once, then one every `period`, kept in `shared` when given.
    pub fn with_period(period: Duration, burst: u32, shared: Option<SharedStore>) -> Self {
        let burst = burst.max(1);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            local: Arc::new(RateLimiter::keyed(quota)),
            shared,
            period,
            burst,
            warned_at: AtomicU64::new(0),
        }
    }

    /// Spends one write of `key`'s budget: `None` when allowed, else how long
    /// until the next one is.
    async fn spend(&self, key: [u8; 16]) -> Option<Duration> {
        if let Some(store) = &self.shared {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            match store.spend(&hex, self.period, self.burst).await {
                Ok(wait) => return wait,
                Err(e) => self.warn(&e),
            }
        }
        self.local
            .check_key(&key)
            .err()
            .map(|negative| negative.wait_time_from(DefaultClock::default().now()))
    }

    fn warn(&self, e: &crate::services::shared_store::StoreError) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.warned_at.swap(now, Ordering::Relaxed);
        if now.saturating_sub(last) >= 10 {
            tracing::warn!(error = %e, "write budgets fall back to this node's own");
        }
    }

    /// Forgets callers whose local budget has refilled, so the key map stays small.
    pub fn prune(&self) {
        self.local.retain_recent();
        self.local.shrink_to_fit();
    }
}

/// Keys a budget by `basis` (what it counts: `kind:value`).
fn key_of(basis: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    key.copy_from_slice(&Sha256::digest(basis.as_bytes())[..16]);
    key
}

/// The budgets of reader sign-in requests: per e-mail address (so nobody can
/// flood an inbox) and per client address. Both are spent on every request,
/// known address or not, so a refusal tells nothing about accounts.
pub struct SignInLimits {
    per_address: WriteLimits,
    per_client: WriteLimits,
}

impl SignInLimits {
    /// 3 links per address at once, then one every 5 minutes; 10 requests
    /// per client at once, then one a minute.
    pub fn new(shared: Option<SharedStore>) -> Self {
        Self {
            per_address: WriteLimits::with_period(Duration::from_secs(300), 3, shared.clone()),
            per_client: WriteLimits::with_period(Duration::from_secs(60), 10, shared),
        }
    }

    /// The budget key of a request's client (its address, IPv6 by /64).
    pub fn client_of(state: &AppState, req: &HttpRequest) -> String {
        super::client::client_ip(req, &state.trusted_proxies)
            .map(|ip| super::client::budget_address(ip).to_string())
            .unwrap_or_default()
    }

    /// Spends one request of `email`'s and the request's client's budgets,
    /// or answers 429.
    pub async fn spend(
        &self,
        state: &AppState,
        req: &HttpRequest,
        email: &str,
    ) -> crate::error::AppResult<()> {
        self.spend_for(&Self::client_of(state, req), email).await
    }

    /// [`SignInLimits::spend`] for a client already known.
    pub async fn spend_for(&self, client: &str, email: &str) -> crate::error::AppResult<()> {
        let by_client = self
            .per_client
            .spend(key_of(&format!("sign-in-ip:{client}")))
            .await;
        let by_address = self
            .per_address
            .spend(key_of(&format!(
                "sign-in-email:{}",
                email.trim().to_lowercase()
            )))
            .await;
        match by_client.into_iter().chain(by_address).max() {
            None => Ok(()),
            Some(wait) => {
                crate::metrics::refused("sign_ins");
                Err(crate::error::AppError::TooManyRequests {
                    what: "sign-in requests".into(),
                    retry_after_secs: wait.as_secs().max(1),
                })
            }
        }
    }

    /// Forgets callers whose local budget has refilled.
    pub fn prune(&self) {
        self.per_address.prune();
        self.per_client.prune();
    }
}

/// The budgets of posting comments: per reader (so one account cannot flood
/// a thread) and per client address (so many accounts from one place cannot
/// either). Both are spent on every comment posted.
pub struct CommentLimits {
    per_reader: WriteLimits,
    per_client: WriteLimits,
}

impl CommentLimits {
    /// `reader_burst` comments per reader at once, then one a minute;
    /// `client_burst` per client address at once, then one every 10 s.
    pub fn new(reader_burst: u32, client_burst: u32, shared: Option<SharedStore>) -> Self {
        Self {
            per_reader: WriteLimits::with_period(
                Duration::from_secs(60),
                reader_burst,
                shared.clone(),
            ),
            per_client: WriteLimits::with_period(Duration::from_secs(10), client_burst, shared),
        }
    }

    /// Spends one comment of `reader`'s and `client`'s budgets, or answers 429.
    pub async fn spend_for(&self, client: &str, reader: i32) -> crate::error::AppResult<()> {
        let by_client = self
            .per_client
            .spend(key_of(&format!("comment-ip:{client}")))
            .await;
        let by_reader = self
            .per_reader
            .spend(key_of(&format!("comment-reader:{reader}")))
            .await;
        match by_client.into_iter().chain(by_reader).max() {
            None => Ok(()),
            Some(wait) => {
                crate::metrics::refused("comments");
                Err(crate::error::AppError::TooManyRequests {
                    what: "comments".into(),
                    retry_after_secs: wait.as_secs().max(1),
                })
            }
        }
    }

    /// Forgets callers whose local budget has refilled.
    pub fn prune(&self) {
        self.per_reader.prune();
        self.per_client.prune();
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
    key_of(&basis)
}

/// 429 problem+json with `Retry-After`.
fn too_many(wait: Duration) -> HttpResponse {
    crate::metrics::refused("writes");
    let wait = wait.as_secs_f64().ceil().max(1.0) as u64;
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

/// Spends one write of the caller's budget (a GraphQL mutation): `None` when
/// allowed, else the 429 answer.
pub async fn spend(state: &AppState, req: &HttpRequest) -> Option<HttpResponse> {
    state
        .write_limits
        .spend(caller_key(req, state))
        .await
        .map(too_many)
}

/// Middleware of the REST scope: every write spends one of the caller's budget.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PATCH | Method::DELETE | Method::PUT
    );
    if writes
        && let Some(state) = req.app_data::<web::Data<AppState>>()
        && let Some(refused) = spend(state, req.request()).await
    {
        return Ok(req.into_response(refused).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

// Newsletter subscriptions (issue 14 item 5).

/// The budgets of newsletter subscriptions (`POST /api/v1/newsletters/{slug}/
/// subscriptions`, GraphQL `subscribeToNewsletter`), apart from the write
/// budgets and tighter: per client address (past it: 429), and per e-mail
/// address, spent only by a request that mails a confirmation link (past it
/// the request is answered like any other and nothing is mailed, so the
/// answer still tells nothing about the address). Kept where
/// the write budgets are (this process, or the shared store).
pub struct SubscribeLimits {
    clients: WriteLimits,
    addresses: WriteLimits,
}

/// Confirmation mails one e-mail address may cause at once, then one per this long.
pub const ADDRESS_BURST: u32 = 3;
pub const ADDRESS_PERIOD: Duration = Duration::from_secs(20 * 60);

impl SubscribeLimits {
    /// `client_burst` subscriptions a client address may make at once, then
    /// one a minute.
    pub fn new(client_burst: u32, shared: Option<SharedStore>) -> Self {
        Self {
            clients: WriteLimits::new(1, client_burst, shared.clone()),
            addresses: WriteLimits::per_period(ADDRESS_PERIOD, ADDRESS_BURST, shared),
        }
    }

    /// Spends one of the client's subscriptions: the 429 answer when none is
    /// left. `client` is the client's budget address (`http::client`).
    pub async fn client(&self, client: &str) -> Option<HttpResponse> {
        self.clients
            .spend(basis_key(&format!("newsletter-client:{client}")))
            .await
            .map(too_many)
    }

    /// Spends one of the e-mail address's confirmation mails: whether one was
    /// left.
    pub async fn address(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        self.addresses
            .spend(basis_key(&format!("newsletter-address:{email}")))
            .await
            .is_none()
    }

    /// Forgets budgets that have refilled.
    pub fn prune(&self) {
        self.clients.prune();
        self.addresses.prune();
    }
}

impl WriteLimits {
    /// `burst` at once, then one per `period`, kept in `shared` when given.
    pub fn per_period(period: Duration, burst: u32, shared: Option<SharedStore>) -> Self {
        let mut limits = Self::new(1, burst, shared);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
        limits.local = Arc::new(RateLimiter::keyed(quota));
        limits.period = period;
        limits
    }
}

/// The budget key of a basis string.
fn basis_key(basis: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    key.copy_from_slice(&Sha256::digest(basis.as_bytes())[..16]);
    key
}

/// The address a request's subscriptions count against (`http::client`).
pub fn client_basis(req: &HttpRequest, state: &AppState) -> String {
    super::client::client_ip(req, &state.trusted_proxies)
        .map(|ip| super::client::budget_address(ip).to_string())
        .unwrap_or_default()
}
