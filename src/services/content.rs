//! The global content version: every write bumps it inside its own transaction
//! (as it seals its change log batch, `services::changes::seal`), so
//! ETags derived from it change on every node that shares the database; and the
//! [`StampWatch`], which keeps the stamp known in the process so that a public
//! read that is answered from a cache (or with a 304) costs no statement.
//!
//! How a watched stamp stays true:
//! - a write committed by this process (any connection) makes it stale at once
//!   (`WriteTxn::commit` of a transaction that logged changes), so the node
//!   that took a write answers fresh immediately;
//! - writes by other processes: on PostgreSQL, the commit of a content write
//!   sends `NOTIFY` on [`CHANNEL`] with the new head of the change log
//!   (`changes::seal`; delivered at commit) and [`listen`] makes the watch
//!   stale when it hears of a head past the one it knows (its own writes'
//!   notifications cost it nothing); without a live listener (SQLite, or the listener's connection
//!   lost) the stamp is trusted for at most [`MAX_AGE`];
//! - the passage of time: the stamp is read with the next scheduled publication
//!   and event start, and is stale from that instant on.
//!
//! With a read replica the stamp is still read from the primary, together with the
//! primary's WAL position ([`StampWatch::tracking_wal`]), which `db::replica` holds
//! the replica's replay position against before a public answer renders there.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::error::{AppError, AppResult};

/// The PostgreSQL notification channel every content write signals on.
pub const CHANNEL: &str = "mediadesk_content";

/// The longest a stamp read from the database is trusted when nothing would
/// tell this process of another process's write: the bound within which other
/// nodes (and the CLI) are seen on SQLite, or on PostgreSQL while the listener
/// is down.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Content writes this process committed to one database (a SQLite file, or a
/// PostgreSQL host, port and database): each makes that database's watches
/// stale at once. Kept per database so that a process serving several (the
/// tests) does not re-read one's stamp for another's writes.
#[derive(Clone, Debug, Default)]
pub(crate) struct LocalCommits(Arc<Commits>);

#[derive(Debug, Default)]
struct Commits {
    count: AtomicU64,
    /// Told of every commit (`services::tail` waits on it).
    committed: tokio::sync::Notify,
    /// A commit wrote a scheduled publication (`changes::announce_due` waits on it).
    scheduled: tokio::sync::Notify,
    /// Webhook deliveries may have become due (the delivery worker waits on it).
    deliveries: tokio::sync::Notify,
    /// A commit queued e-mail (the outbox worker waits on it).
    mail: tokio::sync::Notify,
}

impl LocalCommits {
    /// The counter of the database `db` is connected to.
    pub(crate) fn of(db: &DatabaseConnection) -> Self {
        use std::collections::HashMap;
        use std::sync::Mutex;
        static ALL: Mutex<Option<HashMap<String, LocalCommits>>> = Mutex::new(None);
        let identity = match db.get_database_backend() {
            DbBackend::Postgres => {
                let o = db.get_postgres_connection_pool().connect_options();
                format!(
                    "postgres://{}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                )
            }
            _ => format!(
                "sqlite:{}",
                db.get_sqlite_connection_pool()
                    .connect_options()
                    .get_filename()
                    .display()
            ),
        };
        let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
        all.get_or_insert_with(HashMap::new)
            .entry(identity)
            .or_default()
            .clone()
    }

    /// Called after a transaction that bumped the version committed (or may have).
    pub(crate) fn committed(&self) {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        self.0.committed.notify_waiters();
    }

    /// Completes after the next content commit of this process: one made
    /// after this call, even before the future is first polled (so a waiter
    /// may take it before doing its work and await it after, missing none).
    pub(crate) fn next_commit(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.committed.notified()
    }

    /// Called after a transaction that wrote a scheduled publication committed.
    pub(crate) fn scheduled(&self) {
        self.0.scheduled.notify_one();
    }

    /// Called when webhook deliveries may have become due (new messages, a
    /// settled attempt, a redelivery, an endpoint enabled).
    pub(crate) fn deliveries_changed(&self) {
        self.0.deliveries.notify_one();
    }

    /// Resolves after the next [`LocalCommits::deliveries_changed`] (or at
    /// once if one came since the last wait): for the delivery worker.
    pub(crate) async fn next_deliveries(&self) {
        self.0.deliveries.notified().await;
    }

    /// Called after a transaction that queued e-mail committed.
    pub(crate) fn mail_queued(&self) {
        self.0.mail.notify_one();
    }

    /// Resolves after the next [`LocalCommits::mail_queued`] (or at once if
    /// one came since the last wait): for the outbox worker.
    pub(crate) async fn next_mail(&self) {
        self.0.mail.notified().await;
    }

    /// Resolves after the next [`LocalCommits::scheduled`] (or at once if one
    /// came since the last wait): for the one scheduler of the database.
    pub(crate) async fn next_scheduled(&self) {
        self.0.scheduled.notified().await;
    }

    fn get(&self) -> u64 {
        self.0.count.load(Ordering::SeqCst)
    }
}

/// What cached public reads depend on: the content version, when it changed, and
/// the two ways the public view changes with the passage of time alone: the
/// latest scheduled publication that has come due, and the latest event start
/// that has passed (`upcoming` listings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The change log's head (`content_state.log_head`): it moves with every
    /// committed content write, on any node.
    pub version: i64,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_due: Option<chrono::DateTime<chrono::Utc>>,
    pub last_started: Option<chrono::DateTime<chrono::Utc>>,
}

impl Stamp {
    /// When the public view of the content last changed.
    pub fn last_modified(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        [self.changed_at, self.last_due, self.last_started]
            .into_iter()
            .flatten()
            .max()
    }

    /// A short value that changes whenever the stamp does.
    pub fn key(&self) -> [i64; 3] {
        [
            self.version,
            self.last_due.map_or(0, |t| t.timestamp_micros()),
            self.last_started.map_or(0, |t| t.timestamp_micros()),
        ]
    }
}

/// A stamp as read, with what came with it.
#[derive(Clone, Copy, Debug)]
pub struct StampRead {
    pub stamp: Stamp,
    /// The earliest instant after now at which time alone will change the stamp
    /// (the next scheduled publication or event start), if any.
    pub next: Option<DateTime<Utc>>,
    /// The primary's WAL insert position (bytes) as the stamp was read, when asked
    /// for (PostgreSQL with a read replica, `db::replica`): every commit the stamp
    /// reflects lies at or before it.
    pub wal: Option<u64>,
}

/// Reads the stamp in one statement (five indexed single-row lookups), with the
/// earliest instant after now at which time alone will change it, and with
/// `wal`, the primary's WAL position (PostgreSQL only).
pub async fn stamp(db: &impl ConnectionTrait, wal: bool) -> AppResult<StampRead> {
    use sea_orm::{Statement, TryGetable};
    let backend = db.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?1",
    };
    let sql = format!(
        "SELECT (SELECT log_head FROM content_state WHERE id = 1) AS v, \
                (SELECT updated_at FROM content_state WHERE id = 1) AS c, \
                (SELECT MAX(publish_at) FROM articles WHERE publish_at <= {p}) AS d, \
                (SELECT MAX(starts_at) FROM events WHERE starts_at <= {p}) AS s, \
                (SELECT MIN(publish_at) FROM articles WHERE publish_at > {p}) AS nd, \
                (SELECT MIN(starts_at) FROM events WHERE starts_at > {p}) AS ns{w}",
        // Evaluated after the statement's snapshot was taken: at or past every
        // commit the snapshot sees (also with `synchronous_commit = off`).
        w = if wal && backend == DbBackend::Postgres {
            ", (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS w"
        } else {
            ""
        }
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [super::now().into()],
        ))
        .await?;
    let Some(row) = row else {
        let none = Stamp {
            version: 0,
            changed_at: None,
            last_due: None,
            last_started: None,
        };
        return Ok(StampRead {
            stamp: none,
            next: None,
            wal: None,
        });
    };
    type Ts = Option<DateTime<Utc>>;
    let get_ts = |col: &str| -> Ts { Ts::try_get(&row, "", col).ok().flatten() };
    let stamp = Stamp {
        version: Option::<i64>::try_get(&row, "", "v")
            .ok()
            .flatten()
            .unwrap_or(0),
        changed_at: get_ts("c"),
        last_due: get_ts("d"),
        last_started: get_ts("s"),
    };
    let next = [get_ts("nd"), get_ts("ns")].into_iter().flatten().min();
    let wal = Option::<i64>::try_get(&row, "", "w")
        .ok()
        .flatten()
        .map(|v| u64::try_from(v).unwrap_or(0));
    Ok(StampRead { stamp, next, wal })
}

/// The current stamp, and the primary's WAL position when it was read (only
/// from a watch [`StampWatch::tracking_wal`], on PostgreSQL).
#[derive(Clone, Copy, Debug)]
pub struct Known {
    pub stamp: Stamp,
    pub wal: Option<u64>,
}

/// The stamp as last read, and what it was read under.
#[derive(Clone, Copy)]
struct Seen {
    stamp: Stamp,
    /// The primary's WAL position read with it (when the watch tracks it).
    wal: Option<u64>,
    /// From then on time alone has changed the stamp.
    valid_until: Option<DateTime<Utc>>,
    /// When the read began.
    read_at: Instant,
    /// [`LocalCommits`] and [`StampWatch::heard`] when the read began.
    commits: u64,
    heard: u64,
    /// The highest head announced when the read began.
    max_heard: i64,
}

/// The content stamp as this process knows it: read from the database only when
/// something may have changed it (see the module header), once for all the
/// requests that ask meanwhile. One per server, shared by its workers.
pub struct StampWatch {
    seen: RwLock<Option<Seen>>,
    /// This process's commits to the watched database.
    commits: LocalCommits,
    /// One refresh at a time; the requests queued behind it take its result.
    refreshing: tokio::sync::Mutex<()>,
    /// Refreshes attempted, and whether the last one failed.
    attempts: AtomicU64,
    failed: AtomicBool,
    /// Notifications heard from other processes (and listener restarts).
    heard: AtomicU64,
    /// Whether a listener is connected, so that nothing goes unheard.
    listening: AtomicBool,
    /// Told of every notification heard.
    heard_now: tokio::sync::Notify,
    /// The highest change log head other processes' notifications announced.
    max_heard: std::sync::atomic::AtomicI64,
    /// Whether stamps are read with the primary's WAL position (a read replica
    /// is configured).
    track_wal: bool,
}

impl StampWatch {
    /// A watch of the content of the database `db` is connected to; with
    /// `track_wal`, its stamps come with the primary's WAL position
    /// (`Known::wal`), for a server with a read replica.
    pub fn new(db: &DatabaseConnection, track_wal: bool) -> Self {
        Self {
            seen: RwLock::new(None),
            commits: LocalCommits::of(db),
            refreshing: tokio::sync::Mutex::new(()),
            attempts: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            heard: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            heard_now: tokio::sync::Notify::new(),
            max_heard: std::sync::atomic::AtomicI64::new(0),
            track_wal,
        }
    }

    /// The current stamp: the one known while nothing can have changed it, else
    /// read again (from `db`, the primary).
    pub async fn current(&self, db: &impl ConnectionTrait) -> AppResult<Known> {
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        let attempts = self.attempts.load(Ordering::SeqCst);
        let _turn = self.refreshing.lock().await;
        if let Some(s) = self.fresh() {
            return Ok(s);
        }
        if attempts != self.attempts.load(Ordering::SeqCst) && self.failed.load(Ordering::SeqCst) {
            // The read this request waited for failed: do not queue another
            // behind it, answer as it did.
            return Err(AppError::Unavailable("the database did not answer".into()));
        }
        let (commits, heard) = self.counters();
        let max_heard = self.max_heard.load(Ordering::SeqCst);
        let read_at = Instant::now();
        let read = stamp(db, self.track_wal).await;
        self.failed.store(read.is_err(), Ordering::SeqCst);
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let read = read?;
        *self.seen.write().unwrap_or_else(|e| e.into_inner()) = Some(Seen {
            stamp: read.stamp,
            wal: read.wal,
            valid_until: read.next,
            read_at,
            commits,
            heard,
            max_heard,
        });
        Ok(Known {
            stamp: read.stamp,
            wal: read.wal,
        })
    }

    /// The known stamp, if nothing can have changed it since it was read.
    fn fresh(&self) -> Option<Known> {
        let seen = (*self.seen.read().unwrap_or_else(|e| e.into_inner()))?;
        let unchanged = (seen.commits, seen.heard) == self.counters()
            && {
                // A head announced since the read began that the read did not
                // reach (one announced before it began and not reached was
                // not a real head: a stray notification, a restored copy).
                let announced = self.max_heard.load(Ordering::SeqCst);
                announced <= seen.stamp.version || announced == seen.max_heard
            }
            && (self.listening.load(Ordering::SeqCst) || seen.read_at.elapsed() < MAX_AGE)
            && seen.valid_until.is_none_or(|t| Utc::now() < t);
        unchanged.then_some(Known {
            stamp: seen.stamp,
            wal: seen.wal,
        })
    }

    fn counters(&self) -> (u64, u64) {
        (self.commits.get(), self.heard.load(Ordering::SeqCst))
    }

    /// Another process may have changed the content.
    fn heard(&self) {
        self.heard.fetch_add(1, Ordering::SeqCst);
        self.heard_now.notify_waiters();
    }

    /// A notification that the change log's head is now `head`: the stamp is
    /// stale if it is older (a node's own writes, whose notifications it
    /// hears too, cost it no second read).
    fn heard_head(&self, head: i64) {
        if self.max_heard.fetch_max(head, Ordering::SeqCst) < head {
            self.heard_now.notify_waiters();
        }
    }

    /// Whether a listener hears other processes' writes now (PostgreSQL).
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    /// Completes after the next notification of another process's write:
    /// one heard after this call, even before the future is first polled.
    pub fn next_heard(&self) -> tokio::sync::futures::Notified<'_> {
        self.heard_now.notified()
    }
}

/// Keeps `watch` told of content writes by other processes on the PostgreSQL
/// database `db` (a no-op on SQLite): `LISTEN`s on [`CHANNEL`] over a
/// connection of its own, and reconnects every second while it cannot. Runs
/// until the task is dropped.
pub async fn listen(watch: Arc<StampWatch>, db: DatabaseConnection) {
    use sea_orm::sqlx::postgres::{PgListener, PgPoolOptions};
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    // Its own pool of one, from the same options, so that listening takes no
    // connection from the requests' pool.
    let options = (*db.get_postgres_connection_pool().connect_options()).clone();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(crate::db::WAIT)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options);
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            // A lost connection is reported, not silently replaced, so that the
            // watch stops trusting its stamp until listening again.
            l.eager_reconnect(false);
            l.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(l)
        }
        .await;
        match listener {
            Ok(mut l) => {
                // Anything may have been written while nobody listened.
                watch.heard();
                watch.listening.store(true, Ordering::SeqCst);
                tracing::debug!("listening for content changes");
                loop {
                    match l.try_recv().await {
                        // The payload is the new head (`changes::seal`).
                        Ok(Some(n)) => match n.payload().parse::<i64>() {
                            Ok(head) => watch.heard_head(head),
                            Err(_) => watch.heard(),
                        },
                        Ok(None) => {
                            tracing::warn!("lost the content-change listener; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "content-change listener failed; reconnecting");
                            break;
                        }
                    }
                }
                watch.listening.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for content changes; retrying");
            }
        }
        tokio::time::sleep(MAX_AGE).await;
    }
}
