//! Prometheus metrics (`metrics` facade, `metrics-exporter-prometheus`): every
//! metric's name and help text, the process's one recorder, and the recording
//! helpers the layers below HTTP call (statements, the SQLite write lock,
//! webhook attempts). Nothing here speaks HTTP: `http::metrics` measures
//! requests and serves `/metrics`.
//!
//! Until a server is configured to expose metrics (`--metrics-bind`,
//! `--metrics-token`) no recorder is installed and every `counter!`/`histogram!`
//! is a no-op. The recorder is the process's (the `metrics` facade has one
//! global recorder): several servers in one process (the tests) share it.
//!
//! Labels are bounded sets: route patterns (never raw paths), known methods,
//! status codes, statement kinds, fixed outcome names.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "mediadesk_http_requests_total";
pub const HTTP_DURATION: &str = "mediadesk_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "mediadesk_http_requests_in_flight";
pub const POOL_SIZE: &str = "mediadesk_db_pool_connections";
pub const POOL_IDLE: &str = "mediadesk_db_pool_idle_connections";
pub const POOL_MAX: &str = "mediadesk_db_pool_max_connections";
pub const STATEMENT_DURATION: &str = "mediadesk_db_statement_duration_seconds";
pub const STATEMENT_ERRORS: &str = "mediadesk_db_statement_errors_total";
pub const WRITE_LOCK_WAIT: &str = "mediadesk_db_write_lock_wait_seconds";
pub const WRITE_LOCK_WAITING: &str = "mediadesk_db_write_lock_waiting";
pub const CACHE_HITS: &str = "mediadesk_response_cache_hits_total";
pub const CACHE_MISSES: &str = "mediadesk_response_cache_misses_total";
pub const RATE_LIMITED: &str = "mediadesk_rate_limit_refusals_total";
pub const WEBHOOK_DELIVERIES: &str = "mediadesk_webhook_deliveries";
pub const WEBHOOK_ATTEMPTS: &str = "mediadesk_webhook_attempts_total";
pub const OUTBOX_MESSAGES: &str = "mediadesk_outbox_messages";
pub const OUTBOX_SENT: &str = "mediadesk_outbox_sent_total";
pub const OUTBOX_RETRIES: &str = "mediadesk_outbox_retries_total";
pub const OUTBOX_FAILED: &str = "mediadesk_outbox_failed_total";
pub const BUILD_INFO: &str = "mediadesk_build_info";

/// Buckets of request, statement and lock-wait durations (seconds).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's recorder, installed by the first call (later calls, from
/// other servers in the same process, share it); an error when another
/// recorder was installed first.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| e.to_string())?;
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            // Histogram samples wait in buffers until drained: drain them even
            // when nobody scrapes, so they do not pile up.
            let upkeep = handle.clone();
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
            Ok(handle)
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("metrics recorder: {e}"))
}

enum Kind {
    Counter,
    Histogram,
    Gauge,
}

/// Every metric with its help text.
const HELP: &[(Kind, &str, &str)] = &[
    (
        Kind::Counter,
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern, method and status",
    ),
    (
        Kind::Counter,
        STATEMENT_ERRORS,
        "SQL statements that failed, by kind",
    ),
    (
        Kind::Counter,
        CACHE_HITS,
        "public answers served from the response cache, by scope",
    ),
    (
        Kind::Counter,
        CACHE_MISSES,
        "public answers rendered because the response cache had none current, by scope",
    ),
    (
        Kind::Counter,
        RATE_LIMITED,
        "requests refused with 429, by limit (writes, logins, sign_ins)",
    ),
    (
        Kind::Counter,
        WEBHOOK_ATTEMPTS,
        "webhook delivery attempts made by this process, by outcome",
    ),
    (
        Kind::Counter,
        OUTBOX_SENT,
        "e-mails this process handed to the mail server (or wrote as files), by kind",
    ),
    (
        Kind::Counter,
        OUTBOX_RETRIES,
        "e-mail attempts of this process that failed and will be tried again, by kind",
    ),
    (
        Kind::Counter,
        OUTBOX_FAILED,
        "e-mails this process gave up on (every attempt failed, or a permanent refusal), by kind",
    ),
    (
        Kind::Histogram,
        HTTP_DURATION,
        "time to answer an HTTP request, by route pattern and method",
    ),
    (
        Kind::Histogram,
        STATEMENT_DURATION,
        "time to run an SQL statement (its connection in hand), by kind",
    ),
    (
        Kind::Histogram,
        WRITE_LOCK_WAIT,
        "SQLite: time a write transaction waited for the writers' queue and BEGIN IMMEDIATE",
    ),
    (Kind::Gauge, HTTP_IN_FLIGHT, "HTTP requests being handled"),
    (
        Kind::Gauge,
        POOL_SIZE,
        "open database connections, by pool (at scrape)",
    ),
    (
        Kind::Gauge,
        POOL_IDLE,
        "idle database connections, by pool (at scrape)",
    ),
    (Kind::Gauge, POOL_MAX, "the most connections a pool opens"),
    (
        Kind::Gauge,
        WRITE_LOCK_WAITING,
        "SQLite: write transactions waiting for the write lock",
    ),
    (
        Kind::Gauge,
        WEBHOOK_DELIVERIES,
        "webhook deliveries in the delivery log, by state pending or failed (at scrape)",
    ),
    (
        Kind::Gauge,
        OUTBOX_MESSAGES,
        "e-mails in the outbox, by state pending or failed (at scrape)",
    ),
    (Kind::Gauge, BUILD_INFO, "always 1; the version as a label"),
];

fn describe() {
    for (kind, name, help) in HELP {
        let (name, help) = (*name, *help);
        match kind {
            Kind::Counter => describe_counter!(name, Unit::Count, help),
            Kind::Histogram => describe_histogram!(name, Unit::Seconds, help),
            Kind::Gauge => describe_gauge!(name, Unit::Count, help),
        }
    }
}

/// The kind of an SQL statement (its first word), never its text.
pub fn statement_kind(sql: &str) -> &'static str {
    let word = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    const KINDS: [&str; 5] = ["select", "insert", "update", "delete", "with"];
    KINDS
        .into_iter()
        .find(|k| word.eq_ignore_ascii_case(k))
        .unwrap_or("other")
}

/// Records one statement (sea-orm's metric callback, set in `db::connect`).
pub fn statement(info: &sea_orm::metric::Info<'_>) {
    let kind = statement_kind(&info.statement.sql);
    metrics::histogram!(STATEMENT_DURATION, "kind" => kind).record(info.elapsed.as_secs_f64());
    if info.failed {
        counter!(STATEMENT_ERRORS, "kind" => kind).increment(1);
    }
}

/// A write transaction waiting for SQLite's write lock: counted in
/// [`WRITE_LOCK_WAITING`] while it lives; [`WriteLockWait::acquired`] records
/// the wait.
pub struct WriteLockWait(Instant);

impl WriteLockWait {
    pub fn start() -> Self {
        gauge!(WRITE_LOCK_WAITING).increment(1.0);
        Self(Instant::now())
    }

    pub fn acquired(self) {
        metrics::histogram!(WRITE_LOCK_WAIT).record(self.0.elapsed().as_secs_f64());
    }
}

impl Drop for WriteLockWait {
    fn drop(&mut self) {
        gauge!(WRITE_LOCK_WAITING).decrement(1.0);
    }
}

/// A request refused by `limit` (`writes`, `logins`, `sign_ins`).
pub fn refused(limit: &'static str) {
    counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// A response cache lookup of `scope` (`rest`, `graphql`, `feed`, `embed`).
pub fn cache_lookup(scope: &'static str, hit: bool) {
    let name = if hit { CACHE_HITS } else { CACHE_MISSES };
    counter!(name, "scope" => scope).increment(1);
}

/// A webhook delivery attempt's outcome (`send::Outcome::as_str`).
pub fn webhook_attempt(outcome: &'static str) {
    counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
}

/// The webhook deliveries pending (the queue) and failed (read at scrape time).
pub fn webhook_backlog(pending: i64, failed: i64) {
    gauge!(WEBHOOK_DELIVERIES, "state" => "pending").set(pending as f64);
    gauge!(WEBHOOK_DELIVERIES, "state" => "failed").set(failed as f64);
}

/// An e-mail attempt of `kind` whose result was recorded: `sent`, `retry`
/// or `failed` (given up).
pub fn mail_attempt(kind: &str, outcome: &'static str) {
    let name = match outcome {
        "sent" => OUTBOX_SENT,
        "retry" => OUTBOX_RETRIES,
        _ => OUTBOX_FAILED,
    };
    counter!(name, "kind" => kind.to_owned()).increment(1);
}

/// The e-mails pending (the outbox's depth) and failed (read at scrape time).
pub fn outbox_backlog(pending: i64, failed: i64) {
    gauge!(OUTBOX_MESSAGES, "state" => "pending").set(pending as f64);
    gauge!(OUTBOX_MESSAGES, "state" => "failed").set(failed as f64);
}

/// The gauges read at scrape time: the pools' sizes. `pool` is `primary` or
/// `replica`.
pub fn pool(pool: &'static str, size: u32, idle: usize, max: u32) {
    gauge!(POOL_SIZE, "pool" => pool).set(f64::from(size));
    gauge!(POOL_IDLE, "pool" => pool).set(idle as f64);
    gauge!(POOL_MAX, "pool" => pool).set(f64::from(max));
}

#[cfg(test)]
mod tests {
    use super::statement_kind;

    #[test]
    fn statements_are_labelled_by_their_first_word_only() {
        assert_eq!(statement_kind("SELECT 1"), "select");
        assert_eq!(statement_kind("  (select x from t)"), "select");
        assert_eq!(statement_kind("insert INTO t"), "insert");
        assert_eq!(statement_kind("UPDATE\"t\" SET"), "update");
        assert_eq!(statement_kind("DELETE FROM t"), "delete");
        assert_eq!(statement_kind("WITH x AS (SELECT 1) SELECT"), "with");
        assert_eq!(statement_kind("PRAGMA foo"), "other");
        assert_eq!(statement_kind(""), "other");
        assert_eq!(statement_kind("selection"), "other");
    }
}
