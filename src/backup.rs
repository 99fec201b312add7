//! Backups of an SQLite database: `backup` takes a consistent copy of a live
//! database (`VACUUM INTO`, which reads one snapshot while the server goes on
//! writing), `restore` puts a checked copy back in place of a database no process
//! has open. PostgreSQL has its own tools (`pg_dump`, `pg_restore`,
//! `pg_basebackup`); both commands say so. No HTTP here, no content rules.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

const ON_POSTGRES_BACKUP: &str = "on PostgreSQL use its own tools: `pg_dump -Fc -f mediadesk.dump \"$DATABASE_URL\"` (or `pg_basebackup` with WAL archiving for point-in-time recovery); see README \"Backups\"";
const ON_POSTGRES_RESTORE: &str = "on PostgreSQL use `pg_restore --clean --if-exists -d \"$DATABASE_URL\" mediadesk.dump` on a stopped server; see README \"Backups\"";

/// The file of an `sqlite:` URL, or an error naming the PostgreSQL tool.
fn sqlite_file(url: &str, postgres_hint: &str) -> anyhow::Result<PathBuf> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        bail!("{postgres_hint}");
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| anyhow!("DATABASE_URL must start with sqlite:// or postgres://"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        bail!("an in-memory database has nothing to back up or restore");
    }
    Ok(PathBuf::from(path))
}

/// One connection to an existing SQLite file, waiting at most `busy` for locks.
async fn open(file: &Path, busy: Duration) -> anyhow::Result<DatabaseConnection> {
    if !file.is_file() {
        bail!("{} does not exist", file.display());
    }
    let mut opts = ConnectOptions::new(format!("sqlite://{}", file.display()));
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| o.create_if_missing(false).busy_timeout(busy));
    Database::connect(opts)
        .await
        .with_context(|| format!("cannot open {}", file.display()))
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .ok_or_else(|| anyhow!("{sql} returned nothing"))?;
    Ok(match row.try_get_by_index::<String>(0) {
        Ok(s) => s,
        Err(_) => row.try_get_by_index::<i64>(0)?.to_string(),
    })
}

/// Is `file` an intact mediadesk database (integrity check passes, migrations
/// applied)? Returns how many migrations it has.
pub async fn check(file: &Path) -> anyhow::Result<i64> {
    let db = open(file, Duration::from_secs(4)).await?;
    let integrity = scalar(&db, "PRAGMA integrity_check")
        .await
        .with_context(|| format!("{} is not an SQLite database", file.display()))?;
    if integrity != "ok" {
        bail!("{} fails the integrity check: {integrity}", file.display());
    }
    let migrations = scalar(&db, "SELECT COUNT(*) FROM seaql_migrations")
        .await
        .map_err(|_| {
            anyhow!(
                "{} is not a mediadesk database (no migrations table)",
                file.display()
            )
        })?;
    let n: i64 = migrations.parse()?;
    if n == 0 {
        bail!(
            "{} is not a mediadesk database (no migrations applied)",
            file.display()
        );
    }
    db.close().await?;
    Ok(n)
}

/// A name beside `target` for a file being written.
fn partial(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    target.with_file_name(name)
}

/// Copies the live database at `url` to `target` (which must not exist) and
/// checks the copy. Writers keep going meanwhile; the copy is the database as
/// of one moment.
pub async fn backup(url: &str, target: &Path) -> anyhow::Result<()> {
    let file = sqlite_file(url, ON_POSTGRES_BACKUP)?;
    if target.exists() {
        bail!("{} exists; choose a new file", target.display());
    }
    let tmp = partial(target);
    let _ = std::fs::remove_file(&tmp);
    let db = open(&file, Duration::from_secs(4)).await?;
    let quoted = tmp.to_string_lossy().replace('\'', "''");
    let copied = db
        .execute_unprepared(&format!("VACUUM INTO '{quoted}'"))
        .await
        .context("the copy failed");
    db.close().await?;
    let result = async {
        copied?;
        check(&tmp).await?;
        if target.exists() {
            bail!("{} appeared meanwhile; not overwritten", target.display());
        }
        std::fs::rename(&tmp, target)
            .with_context(|| format!("cannot move the copy to {}", target.display()))
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Puts the backup `source` in place of the database at `url`, which no process
/// may have open (stop the server first).
pub async fn restore(url: &str, source: &Path) -> anyhow::Result<()> {
    let file = sqlite_file(url, ON_POSTGRES_RESTORE)?;
    if !source.is_file() {
        bail!("{} does not exist", source.display());
    }
    // Check a copy beside the target, so the file checked is the file put in
    // place and the final move is a rename within one folder (atomic).
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = partial(&file);
    std::fs::copy(source, &tmp).with_context(|| {
        format!(
            "cannot copy {} next to {}",
            source.display(),
            file.display()
        )
    })?;
    let result = async {
        check(&tmp).await?;
        if file.exists() {
            refuse_if_in_use(&file).await?;
        }
        std::fs::rename(&tmp, &file)
            .with_context(|| format!("cannot move the backup to {}", file.display()))?;
        // The old database's write-ahead log and index describe another file.
        for ext in ["-wal", "-shm"] {
            let mut side = file.as_os_str().to_os_string();
            side.push(ext);
            match std::fs::remove_file(PathBuf::from(side)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Fails when another process has the database open. Leaving WAL mode needs
/// every other connection closed (each open one, even idle, holds a lock on the
/// shared-memory index), so trying it is the test; the file is replaced next.
async fn refuse_if_in_use(file: &Path) -> anyhow::Result<()> {
    let db = open(file, Duration::from_millis(200)).await?;
    let in_use = db
        .execute_unprepared("PRAGMA journal_mode=DELETE")
        .await
        .is_err()
        || db
            .execute_unprepared("BEGIN EXCLUSIVE; COMMIT")
            .await
            .is_err();
    db.close().await?;
    if in_use {
        bail!(
            "{} is in use (is the server running?); stop it before restoring",
            file.display()
        );
    }
    Ok(())
}
