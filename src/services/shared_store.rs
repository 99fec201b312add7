//! State that several server nodes behind one load balancer must share, kept in
//! Redis or in the PostgreSQL database (`--shared-store`): the write budgets
//! (GCRA, one timestamp a caller), the failed-login windows (a counter an identity
//! or client address) and the persisted GraphQL queries (hash → text). With the
//! default `memory` there is no shared store and each process keeps its own
//! (`http::limits`, `accounts::LoginGuard`, `graphql::persisted`), which is right
//! for one node.
//!
//! Every operation is one atomic step on the store (a Lua script in Redis, one
//! statement in PostgreSQL) whose clock is the store's, so nodes whose clocks
//! differ still agree. Callers treat a store error as "the store is down" and fall
//! back to their own process's state (see `http::limits::spend`).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, TryGetable};

/// How long a step may take before the store counts as down.
const TIMEOUT: Duration = Duration::from_millis(500);
/// How long a persisted query is kept after it was registered (a client whose
/// query was dropped sends it again).
pub const PERSISTED_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where shared state lives, as given to `--shared-store`.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// In each process (one node).
    Memory,
    /// A Redis server (`redis://host:port[/db]`).
    Redis(String),
    /// The PostgreSQL database the server uses.
    Postgres,
}

/// Never shows a Redis URL (it may hold a password).
impl std::fmt::Debug for StoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Memory => "memory",
            Self::Redis(_) => "redis",
            Self::Postgres => "postgres",
        })
    }
}

impl std::str::FromStr for StoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "" | "memory" => Ok(Self::Memory),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            _ if s.starts_with("redis://") || s.starts_with("redis+unix://") => {
                Ok(Self::Redis(s.to_owned()))
            }
            _ => Err(format!(
                "`{s}`: expected `memory`, `postgres` or a `redis://host:port` URL"
            )),
        }
    }
}

/// Why a step on the shared store failed (it is unreachable, slow or refuses).
#[derive(Debug, thiserror::Error)]
#[error("shared store: {0}")]
pub struct StoreError(String);

type StoreResult<T> = Result<T, StoreError>;

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        Self(e.to_string())
    }
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self(e.to_string())
    }
}

/// A shared store (Redis or PostgreSQL). Cheap to clone.
#[derive(Clone)]
pub enum SharedStore {
    /// Keys start with `md:<namespace>:`, so deployments can share one Redis.
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
    Postgres(DatabaseConnection),
}

/// Spends one unit of a GCRA budget: the key holds the theoretical arrival time
/// (µs, the store's clock); a unit is allowed while that time, one period on, is
/// at most `burst` periods ahead of now. Returns 0 when allowed, else the wait in µs.
const SPEND_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + period
local early = new - burst * period - now
if early > 0 then return early end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1)
return 0
";

/// Counts an attempt against two windows (identity, client address): each key is a
/// counter that expires `ARGV[1]` ms after its first attempt. Returns each key's
/// count and remaining ms.
const ATTEMPT_LUA: &str = r"
local out = {}
for i = 1, 2 do
  local c = redis.call('INCR', KEYS[i])
  if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  out[2 * i - 1] = c
  out[2 * i] = redis.call('PTTL', KEYS[i])
end
return out
";

/// A success takes its attempt back: the identity's failures are forgotten and
/// the client's count goes down by one.
const SUCCEEDED_LUA: &str = r"
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
";

/// The database's clock in µs since the epoch.
const PG_NOW_US: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint";

/// The outcome of counting a sign-in attempt against both windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounts {
    /// Attempts in the identity's window, this one included, and its time left.
    pub identity: (u32, Duration),
    /// The same for the client address.
    pub client: (u32, Duration),
}

impl SharedStore {
    /// Opens the store `kind` names (`None` for `memory`). Redis is connected on
    /// first use and reconnected when lost, so a node may start before Redis. The
    /// `namespace` sets one deployment's Redis keys apart from another's (every
    /// node of a deployment must give the same).
    pub fn open(
        kind: &StoreKind,
        db: &DatabaseConnection,
        namespace: &str,
    ) -> anyhow::Result<Option<Self>> {
        match kind {
            StoreKind::Memory => Ok(None),
            StoreKind::Postgres => {
                if db.get_database_backend() != DatabaseBackend::Postgres {
                    anyhow::bail!("`postgres` needs a PostgreSQL database (DATABASE_URL)");
                }
                Ok(Some(Self::Postgres(db.clone())))
            }
            StoreKind::Redis(url) => {
                let client = redis::Client::open(url.as_str())
                    .map_err(|e| anyhow::anyhow!("the Redis URL: {e}"))?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                let manager = ConnectionManager::new_lazy_with_config(client, config)
                    .map_err(|e| anyhow::anyhow!("Redis: {e}"))?;
                Ok(Some(Self::Redis {
                    conn: manager,
                    prefix: format!("md:{namespace}:"),
                }))
            }
        }
    }

    /// Spends one write from `key`'s budget (`burst` at once, then one per
    /// `period`): `None` when allowed, else how long until the next one is.
    pub async fn spend(
        &self,
        key: &str,
        period: Duration,
        burst: u32,
    ) -> StoreResult<Option<Duration>> {
        let period_us = i64::try_from(period.as_micros()).unwrap_or(i64::MAX).max(1);
        let burst = i64::from(burst.max(1));
        let early_us: i64 = match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                redis::Script::new(SPEND_LUA)
                    .key(format!("{prefix}budget:{key}"))
                    .arg(period_us)
                    .arg(burst)
                    .invoke_async(&mut conn)
                    .await?
            }
            Self::Postgres(db) => {
                // The upsert moves the arrival time on only when the write is
                // allowed; the outer SELECT sees the row as it was before, for
                // the wait of a refused one.
                let sql = format!(
                    "WITH now_us AS (SELECT {PG_NOW_US} AS t), \
                     spent AS ( \
                       INSERT INTO rate_budgets AS b (key, tat) \
                       SELECT $1, t + $2 FROM now_us \
                       ON CONFLICT (key) DO UPDATE \
                         SET tat = GREATEST(b.tat, (SELECT t FROM now_us)) + $2 \
                         WHERE GREATEST(b.tat, (SELECT t FROM now_us)) + $2 \
                               - (SELECT t FROM now_us) <= $3 * $2 \
                       RETURNING tat) \
                     SELECT CASE WHEN EXISTS (SELECT 1 FROM spent) THEN 0::bigint \
                       ELSE GREATEST(1, (SELECT tat FROM rate_budgets WHERE key = $1) \
                            + $2 - $3 * $2 - (SELECT t FROM now_us)) END AS early"
                );
                let row = tokio::time::timeout(
                    TIMEOUT,
                    db.query_one_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        sql,
                        [key.into(), period_us.into(), burst.into()],
                    )),
                )
                .await
                .map_err(|_| StoreError("timed out".into()))??;
                row.and_then(|r| i64::try_get(&r, "", "early").ok())
                    .unwrap_or(0)
            }
        };
        Ok((early_us > 0).then(|| Duration::from_micros(early_us.unsigned_abs())))
    }

    /// Counts a sign-in attempt against the windows of `identity` and `client`
    /// (each lasting `window` from its first attempt) and returns both counts.
    pub async fn attempt(
        &self,
        identity: &str,
        client: &str,
        window: Duration,
    ) -> StoreResult<AttemptCounts> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let counts: [(i64, i64); 2] = match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let v: Vec<i64> = redis::Script::new(ATTEMPT_LUA)
                    .key(format!("{prefix}login:{identity}"))
                    .key(format!("{prefix}login:{client}"))
                    .arg(window_ms)
                    .invoke_async(&mut conn)
                    .await?;
                let at = |i: usize| v.get(i).copied().unwrap_or(0);
                [(at(0), at(1)), (at(2), at(3))]
            }
            Self::Postgres(db) => {
                let sql = format!(
                    "WITH now_ms AS (SELECT {PG_NOW_US} / 1000 AS t) \
                     INSERT INTO login_windows AS w (key, count, since) \
                     SELECT k, 1, t FROM now_ms, (VALUES ($1), ($2)) AS keys(k) \
                     ON CONFLICT (key) DO UPDATE SET \
                       count = CASE WHEN w.since + $3 <= (SELECT t FROM now_ms) \
                                    THEN 1 ELSE w.count + 1 END, \
                       since = CASE WHEN w.since + $3 <= (SELECT t FROM now_ms) \
                                    THEN (SELECT t FROM now_ms) ELSE w.since END \
                     RETURNING key, count::bigint AS count, \
                       (since + $3 - (SELECT t FROM now_ms))::bigint AS left_ms"
                );
                let rows = tokio::time::timeout(
                    TIMEOUT,
                    db.query_all_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        sql,
                        [identity.into(), client.into(), window_ms.into()],
                    )),
                )
                .await
                .map_err(|_| StoreError("timed out".into()))??;
                let mut out = [(0, 0); 2];
                for r in rows {
                    let key = String::try_get(&r, "", "key").unwrap_or_default();
                    let pair = (
                        i64::try_get(&r, "", "count").unwrap_or(0),
                        i64::try_get(&r, "", "left_ms").unwrap_or(0),
                    );
                    if key == identity {
                        out[0] = pair;
                    } else {
                        out[1] = pair;
                    }
                }
                out
            }
        };
        let as_pair = |(count, left_ms): (i64, i64)| {
            (
                u32::try_from(count).unwrap_or(u32::MAX),
                Duration::from_millis(left_ms.max(0).unsigned_abs()),
            )
        };
        Ok(AttemptCounts {
            identity: as_pair(counts[0]),
            client: as_pair(counts[1]),
        })
    }

    /// A sign-in succeeded: forget the identity's failures and take the attempt
    /// back from the client's count.
    pub async fn attempt_succeeded(&self, identity: &str, client: &str) -> StoreResult<()> {
        match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: i64 = redis::Script::new(SUCCEEDED_LUA)
                    .key(format!("{prefix}login:{identity}"))
                    .key(format!("{prefix}login:{client}"))
                    .invoke_async(&mut conn)
                    .await?;
            }
            Self::Postgres(db) => {
                let sql = "WITH gone AS (DELETE FROM login_windows WHERE key = $1) \
                           UPDATE login_windows SET count = count - 1 \
                           WHERE key = $2 AND count > 0";
                tokio::time::timeout(
                    TIMEOUT,
                    db.execute_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        sql,
                        [identity.into(), client.into()],
                    )),
                )
                .await
                .map_err(|_| StoreError("timed out".into()))??;
            }
        }
        Ok(())
    }

    /// The text of the persisted query with this SHA-256 (hex), if registered.
    pub async fn persisted_query(&self, hash: &str) -> StoreResult<Option<String>> {
        match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                Ok(redis::cmd("GET")
                    .arg(format!("{prefix}pq:{hash}"))
                    .query_async(&mut conn)
                    .await?)
            }
            Self::Postgres(db) => {
                let row = tokio::time::timeout(
                    TIMEOUT,
                    db.query_one_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        "SELECT query FROM persisted_queries WHERE hash = $1",
                        [hash.into()],
                    )),
                )
                .await
                .map_err(|_| StoreError("timed out".into()))??;
                Ok(row.and_then(|r| String::try_get(&r, "", "query").ok()))
            }
        }
    }

    /// Registers a persisted query (its hash already checked against the text).
    pub async fn persist_query(&self, hash: &str, query: &str) -> StoreResult<()> {
        match self {
            Self::Redis { conn, prefix } => {
                let mut conn = conn.clone();
                let _: () = redis::cmd("SET")
                    .arg(format!("{prefix}pq:{hash}"))
                    .arg(query)
                    .arg("EX")
                    .arg(PERSISTED_FOR.as_secs())
                    .query_async(&mut conn)
                    .await?;
            }
            Self::Postgres(db) => {
                let sql = format!(
                    "INSERT INTO persisted_queries (hash, query, stored_at) \
                     VALUES ($1, $2, {PG_NOW_US} / 1000) ON CONFLICT (hash) DO NOTHING"
                );
                tokio::time::timeout(
                    TIMEOUT,
                    db.execute_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        sql,
                        [hash.into(), query.into()],
                    )),
                )
                .await
                .map_err(|_| StoreError("timed out".into()))??;
            }
        }
        Ok(())
    }

    /// Drops what has expired (PostgreSQL; Redis expires keys itself): budgets
    /// that have refilled, windows over `login_window`, persisted queries older
    /// than [`PERSISTED_FOR`].
    pub async fn prune(&self, login_window: Duration) -> StoreResult<()> {
        let Self::Postgres(db) = self else {
            return Ok(());
        };
        let window_ms = i64::try_from(login_window.as_millis()).unwrap_or(i64::MAX);
        let kept_ms = i64::try_from(PERSISTED_FOR.as_millis()).unwrap_or(i64::MAX);
        for (sql, arg) in [
            (
                format!("DELETE FROM rate_budgets WHERE tat < {PG_NOW_US}"),
                None,
            ),
            (
                format!("DELETE FROM login_windows WHERE since + $1 < {PG_NOW_US} / 1000"),
                Some(window_ms),
            ),
            (
                format!("DELETE FROM persisted_queries WHERE stored_at + $1 < {PG_NOW_US} / 1000"),
                Some(kept_ms),
            ),
        ] {
            db.execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                sql,
                arg.map(Into::into),
            ))
            .await?;
        }
        Ok(())
    }
}
