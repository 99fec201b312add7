//! The read replica (`--read-database-url`): a PostgreSQL streaming standby that
//! public reads may render from, and the rule that keeps them from going back in
//! time.
//!
//! The rule (`http::conditional::respond` applies it to every public read):
//! - the content stamp is read from the primary, together with the primary's WAL
//!   position at that moment (`pg_current_wal_insert_lsn()`, in the same statement,
//!   so every commit the stamp reflects lies at or before it);
//! - a public answer rendered under that stamp comes from the replica only when
//!   the replica has replayed at least that position
//!   (`pg_last_wal_replay_lsn()`), else from the primary; so an answer cached under
//!   a stamp never shows older data than the stamp stands for;
//! - the replica's replay position is remembered for [`TRUST`] and asked again only
//!   when a newer stamp needs more (at most every [`RECHECK`] while it lags), so a
//!   render costs no extra statement while nothing changed;
//! - a replica that does not answer (or fails a render) is marked down: its reads
//!   go to the primary, never a 5xx because of the replica, and a background task
//!   ([`ReadReplica::revive`]) tries it every [`RETRY`], so no request waits for a
//!   replica that is down;
//! - signed-in requests, writes and readiness never come here: they use the primary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, SqlxPostgresConnector, Statement};

/// The longest a request waits for the replica's replay position before it
/// renders from the primary instead.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a replay position read from the replica is trusted (a restarted
/// replica is asked again within this).
pub const TRUST: Duration = Duration::from_secs(1);
/// While the replica lags behind the stamp, how often it is asked again.
pub const RECHECK: Duration = Duration::from_millis(50);
/// While the replica is down, how often it is tried again (in the background).
pub const RETRY: Duration = Duration::from_secs(1);

/// What the last look at the replica found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Health {
    /// Not asked yet.
    Unknown = 0,
    /// Answering, and caught up with the stamp last asked for.
    Up = 1,
    /// Answering, but behind the stamp last asked for.
    Behind = 2,
    /// Not answering (or not a standby).
    Down = 3,
}

impl Health {
    pub fn name(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Behind => "behind",
            Health::Down => "down",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Health::Up,
            2 => Health::Behind,
            3 => Health::Down,
            _ => Health::Unknown,
        }
    }
}

/// The replay position as last read, and when.
#[derive(Clone, Copy)]
struct Replayed {
    lsn: u64,
    at: Instant,
}

/// A connection pool to the replica and what this process knows of its replay.
pub struct ReadReplica {
    conn: DatabaseConnection,
    replayed: Mutex<Option<Replayed>>,
    /// No question to the replica before this instant (it lags or is down).
    quiet_until: Mutex<Option<Instant>>,
    /// One question at a time; requests meanwhile render from the primary.
    asking: tokio::sync::Mutex<()>,
    health: AtomicU8,
    /// Public answers rendered from the replica, and from the primary instead.
    reads: AtomicU64,
    fallbacks: AtomicU64,
}

/// Counters and health, for `/readyz`.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    pub health: Health,
    pub reads: u64,
    pub fallbacks: u64,
}

impl ReadReplica {
    /// A lazily connected pool of at most `pool` connections to the replica at
    /// `url` (a `postgres://` URL): nothing is connected until the first public
    /// read, so a replica that is down does not stop the server from starting.
    pub fn open(url: &str, pool: u32) -> Result<Self, String> {
        use sea_orm::sqlx::ConnectOptions;
        use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
            return Err("must be a postgres:// URL (a streaming replica of the primary)".into());
        }
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
        let pool = PgPoolOptions::new()
            .max_connections(pool.max(2))
            .min_connections(0)
            .acquire_timeout(super::WAIT)
            .idle_timeout(Duration::from_secs(60))
            .connect_lazy_with(options.disable_statement_logging());
        Ok(Self {
            conn: SqlxPostgresConnector::from_sqlx_postgres_pool(pool),
            replayed: Mutex::new(None),
            quiet_until: Mutex::new(None),
            asking: tokio::sync::Mutex::new(()),
            health: AtomicU8::new(Health::Unknown as u8),
            reads: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        })
    }

    /// The replica's connection, if it has replayed the primary's WAL up to
    /// `wal` (see the module header); `None`: render from the primary.
    pub async fn caught_up(&self, wal: u64) -> Option<&DatabaseConnection> {
        if self.known_at(wal) {
            return Some(&self.conn);
        }
        if self.quiet() || self.health() == Health::Down {
            // A replica that is down is tried again in the background
            // ([`ReadReplica::revive`]): no request waits for it.
            return None;
        }
        // Whoever asks, asks for everyone; the others do not wait for it.
        let _turn = self.asking.try_lock().ok()?;
        if self.known_at(wal) {
            return Some(&self.conn);
        }
        let asked = tokio::time::timeout(CHECK_TIMEOUT, replay_position(&self.conn)).await;
        match asked {
            Ok(Ok(Some(lsn))) => {
                *lock(&self.replayed) = Some(Replayed {
                    lsn,
                    at: Instant::now(),
                });
                if lsn >= wal {
                    self.set_health(Health::Up);
                    *lock(&self.quiet_until) = None;
                    Some(&self.conn)
                } else {
                    self.set_health(Health::Behind);
                    *lock(&self.quiet_until) = Some(Instant::now() + RECHECK);
                    None
                }
            }
            Ok(Ok(None)) => {
                self.down("it is not a standby (pg_last_wal_replay_lsn() is null)");
                None
            }
            Ok(Err(e)) => {
                self.down(&e.to_string());
                None
            }
            Err(_) => {
                self.down("it did not answer in time");
                None
            }
        }
    }

    /// While the process runs (`this` upgrades), tries a replica that is down
    /// again every [`RETRY`], and puts it back in use when it answers.
    pub async fn revive(this: std::sync::Weak<Self>) {
        loop {
            tokio::time::sleep(RETRY).await;
            let Some(r) = this.upgrade() else { break };
            if r.health() != Health::Down {
                continue;
            }
            let _turn = r.asking.lock().await;
            if let Ok(Ok(Some(lsn))) =
                tokio::time::timeout(CHECK_TIMEOUT, replay_position(&r.conn)).await
            {
                *lock(&r.replayed) = Some(Replayed {
                    lsn,
                    at: Instant::now(),
                });
                *lock(&r.quiet_until) = None;
                r.set_health(Health::Up);
            }
        }
    }

    /// A render on the replica failed: read from the primary until it answers
    /// again.
    pub fn failed(&self, why: &str) {
        self.down(why);
    }

    /// Counts an answer rendered from the replica (`true`) or from the primary.
    pub fn served(&self, from_replica: bool) {
        let c = if from_replica {
            &self.reads
        } else {
            &self.fallbacks
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn report(&self) -> Report {
        Report {
            health: self.health(),
            reads: self.reads.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    fn health(&self) -> Health {
        Health::from_u8(self.health.load(Ordering::SeqCst))
    }

    /// Is the replica known, without asking, to have replayed `wal`?
    fn known_at(&self, wal: u64) -> bool {
        self.health() != Health::Down
            && lock(&self.replayed).is_some_and(|r| r.lsn >= wal && r.at.elapsed() < TRUST)
    }

    fn quiet(&self) -> bool {
        lock(&self.quiet_until).is_some_and(|t| Instant::now() < t)
    }

    fn down(&self, why: &str) {
        let was = Health::from_u8(self.health.swap(Health::Down as u8, Ordering::SeqCst));
        *lock(&self.replayed) = None;
        if was != Health::Down {
            tracing::warn!(
                reason = why,
                "the read replica is not usable; public reads go to the primary"
            );
        }
    }

    fn set_health(&self, h: Health) {
        let was = Health::from_u8(self.health.swap(h as u8, Ordering::SeqCst));
        if was == Health::Down {
            tracing::info!("the read replica answers again; public reads use it");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `pg_last_wal_replay_lsn()` as a byte position; `None` when the server is not
/// a standby.
async fn replay_position(db: &DatabaseConnection) -> Result<Option<u64>, sea_orm::DbErr> {
    use sea_orm::TryGetable;
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
        ))
        .await?;
    Ok(row
        .and_then(|r| Option::<i64>::try_get(&r, "", "lsn").ok().flatten())
        .map(|v| u64::try_from(v).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_postgres_url_opens_and_nothing_is_connected_before_a_read() {
        assert!(ReadReplica::open("sqlite://x.db", 2).is_err());
        assert!(ReadReplica::open("mysql://h/db", 2).is_err());
        // Nothing listens there: opening still succeeds (lazily), and the
        // replica is reported as not asked yet.
        let r = ReadReplica::open("postgres://postgres@127.0.0.1:1/none", 2).unwrap();
        let report = r.report();
        assert_eq!(report.health, Health::Unknown);
        // Asked, it is down; then no request asks it again (the background
        // task does).
        assert!(r.caught_up(1).await.is_none());
        assert_eq!(r.report().health, Health::Down);
        let t = Instant::now();
        assert!(r.caught_up(0).await.is_none());
        assert!(t.elapsed() < Duration::from_millis(50));
    }
}
