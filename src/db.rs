//! Connecting to the database: SQLite (file created on demand, WAL, busy timeout,
//! foreign keys) or PostgreSQL (pool with timeouts), then migrations; and the
//! optional read replica that public reads may use ([`replica`]).

pub mod replica;

use std::path::PathBuf;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use crate::error::{AppError, AppResult};

/// The longest a request waits for the database (a connection from the pool,
/// SQLite's write lock, the in-process writers' queue) before it answers 503:
/// well under the 10 s a client may reasonably wait.
pub const WAIT: Duration = Duration::from_secs(4);

/// An open database plus what readiness checks need to know about it.
#[derive(Clone, Debug)]
pub struct Db {
    pub conn: DatabaseConnection,
    /// The SQLite file, when the backend is SQLite (readiness checks it still exists).
    pub sqlite_file: Option<PathBuf>,
}

/// Opens (creating an SQLite file if needed) and migrates the database at `url`.
pub async fn connect(url: &str, pool: u32) -> AppResult<Db> {
    connect_with(url, pool, &[]).await
}

/// Like [`connect`], with extra SQLite pragmas set on every connection
/// (`("max_page_count", "...")` caps the file size, which tests use to fill
/// the disk); ignored on PostgreSQL.
pub async fn connect_with(url: &str, pool: u32, sqlite_pragmas: &[(&str, &str)]) -> AppResult<Db> {
    let pragmas: Vec<(String, String)> = sqlite_pragmas
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (mut conn, sqlite_file) = if url.starts_with("sqlite:") {
        let file = sqlite_path(url);
        if let Some(dir) = file.as_ref().and_then(|f| f.parent())
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                AppError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(pool.max(1))
            .min_connections(1)
            .acquire_timeout(WAIT)
            // A local file has no connection to lose: no ping before every query.
            .test_before_acquire(false)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(WAIT)
                    .foreign_keys(true);
                pragmas
                    .iter()
                    .fold(o, |o, (k, v)| o.pragma(k.clone(), v.clone()))
            });
        (Database::connect(opts).await?, file)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(pool.max(2))
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(WAIT)
            // Ping only connections that sat idle, not before every query.
            .test_before_acquire_if_idle_for(Duration::from_secs(5))
            .sqlx_logging(false)
            // A write waiting on another's lock (a long import, a manual
            // `LOCK TABLE`) gives up like SQLite's busy timeout: 55P03 -> 503.
            .map_sqlx_postgres_opts(|o| {
                o.options([("lock_timeout", format!("{}ms", WAIT.as_millis()))])
            });
        (Database::connect(opts).await?, None)
    } else {
        return Err(AppError::invalid(
            "DATABASE_URL",
            "must start with sqlite:// or postgres://",
        ));
    };
    // Each statement's time by kind (a no-op until a metrics recorder is installed).
    conn.set_metric_callback(crate::metrics::statement);
    Migrator::up(&conn, None).await?;
    Ok(Db { conn, sqlite_file })
}

fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

impl Db {
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend() {
            DbBackend::Postgres => "postgres",
            _ => "sqlite",
        }
    }

    /// The pool's open connections, idle ones and most connections.
    pub fn pool_stats(&self) -> (u32, usize, u32) {
        match self.backend() {
            DbBackend::Postgres => {
                let p = self.conn.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            _ => {
                let p = self.conn.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
        }
    }

    /// Is the database reachable (and, for SQLite, its file still in place)?
    pub async fn ready(&self) -> AppResult<()> {
        if let Some(f) = &self.sqlite_file
            && !f.exists()
        {
            return Err(AppError::Unavailable("database file is missing".into()));
        }
        match tokio::time::timeout(Duration::from_secs(3), self.conn.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::Unavailable(e.to_string())),
            Err(_) => Err(AppError::Unavailable("database ping timed out".into())),
        }
    }
}
