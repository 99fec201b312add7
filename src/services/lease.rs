//! Work queues in a table, taken by several nodes at once without sending
//! anything twice: the lease mechanics shared by the webhook deliveries
//! (`webhooks::worker`) and the e-mail outbox (`outbox`).
//!
//! A [`Queue`] names a table whose rows carry `next_attempt_at`,
//! `lease_until` and `lease_token`. [`Queue::claim`] hands up to `k` due rows
//! to this node in one statement under a fresh random token and a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two nodes never take the same
//! row; the write lock of `begin_write` on SQLite). The work runs outside any
//! transaction; its result must be written only `WHERE lease_token = <ours>`
//! (see [`Queue::owned`]), so a node whose lease ran out records nothing.
//! Retries follow a schedule stretched by a random 0.8 to 1.2 ([`retry_at`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use crate::error::AppResult;
use crate::services::{begin_write, now};

/// A table of leased work: which rows are ready besides being due and free.
#[derive(Clone, Copy, Debug)]
pub struct Queue {
    /// The table.
    pub table: &'static str,
    /// Its alias in `join` and `ready`.
    pub alias: &'static str,
    /// Joined tables (`JOIN ... ON ...`), or empty.
    pub join: &'static str,
    /// What else makes a row ready (`d.state = 'pending' AND e.active`).
    pub ready: &'static str,
}

/// Rows this node holds: their ids and the token their results must carry.
#[derive(Debug)]
pub struct Claimed {
    pub ids: Vec<i64>,
    pub token: String,
}

/// The `i`th bind parameter of `backend`.
fn param(backend: DbBackend, i: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => format!("?{i}"),
    }
}

impl Queue {
    /// Claims up to `k` due, unleased, ready rows for `lease`, oldest due first.
    pub async fn claim(
        &self,
        db: &DatabaseConnection,
        k: usize,
        lease: Duration,
    ) -> AppResult<Claimed> {
        let txn = begin_write(db).await?;
        let backend = txn.get_database_backend();
        let lock = match backend {
            DbBackend::Postgres => format!(" FOR UPDATE OF {} SKIP LOCKED", self.alias),
            _ => String::new(),
        };
        let (t, a, p) = (self.table, self.alias, |i| param(backend, i));
        let sql = format!(
            "UPDATE {t} SET lease_until = {}, lease_token = {} WHERE id IN (\
               SELECT {a}.id FROM {t} {a} {} \
               WHERE {} AND {a}.next_attempt_at <= {} \
                 AND ({a}.lease_until IS NULL OR {a}.lease_until < {}) \
               ORDER BY {a}.next_attempt_at, {a}.id LIMIT {}{lock}) RETURNING id",
            p(1),
            p(2),
            self.join,
            self.ready,
            p(3),
            p(3),
            p(4),
        );
        let at = now();
        let until = at + chrono::Duration::from_std(lease).unwrap_or_default();
        let token = random_hex(16);
        let ids = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    until.into(),
                    token.clone().into(),
                    at.into(),
                    i64::try_from(k).unwrap_or(1).into(),
                ],
            ))
            .await?
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0))
            .collect::<Result<_, _>>()?;
        txn.commit().await?;
        Ok(Claimed { ids, token })
    }

    /// When the next row [`Queue::claim`] would take comes due (a read, before
    /// taking any lock), if any.
    pub async fn next_due(&self, db: &DatabaseConnection) -> AppResult<Option<DateTime<Utc>>> {
        let backend = db.get_database_backend();
        let (t, a) = (self.table, self.alias);
        let sql = format!(
            "SELECT MIN({a}.next_attempt_at) FROM {t} {a} {} \
             WHERE {} AND ({a}.lease_until IS NULL OR {a}.lease_until < {})",
            self.join,
            self.ready,
            param(backend, 1)
        );
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [now().into()]))
            .await?;
        Ok(match row {
            Some(r) => r.try_get_by_index::<Option<DateTime<Utc>>>(0)?,
            None => None,
        })
    }

    /// How many rows are `pending` (the queue) and `failed` for good: one
    /// statement, for a metrics scrape.
    pub async fn backlog(&self, db: &DatabaseConnection) -> AppResult<(i64, i64)> {
        let sql = format!(
            "SELECT state, COUNT(*) FROM {} WHERE state IN ('pending', 'failed') GROUP BY state",
            self.table
        );
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        let (mut pending, mut failed) = (0, 0);
        for r in rows {
            let state: String = r.try_get_by_index(0)?;
            let n: i64 = r.try_get_by_index(1)?;
            if state == "pending" {
                pending = n;
            } else {
                failed = n;
            }
        }
        Ok((pending, failed))
    }

    /// How long a worker may sleep before looking again: until the next row
    /// comes due, at most `idle`; zero when one is due now.
    pub async fn sleep_until_due(
        &self,
        db: &DatabaseConnection,
        idle: Duration,
    ) -> AppResult<Duration> {
        Ok(match self.next_due(db).await? {
            Some(at) => (at - now()).to_std().unwrap_or_default().min(idle),
            None => idle,
        })
    }
}

/// A random token or name (`bytes` random bytes as hex).
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    if getrandom::fill(&mut b).is_err() {
        // Still unique enough within one process (a lease token, a node name).
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        return format!("{n:x}");
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `d` stretched by a random factor between 0.8 and 1.2.
pub fn jittered(d: Duration) -> Duration {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let r = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
    d.mul_f64(0.8 + 0.4 * r)
}

/// When to try again after failed attempt `n` (1-based): `schedule[n-1]`
/// (jittered) from `at`; `None` past the schedule (give up).
pub fn retry_at(schedule: &[Duration], n: i32, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let delay = usize::try_from(n - 1).ok().and_then(|i| schedule.get(i))?;
    Some(at + chrono::Duration::from_std(jittered(*delay)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_the_schedule_then_stop() {
        let s = [Duration::from_secs(10), Duration::from_secs(100)];
        let at = Utc::now();
        let first = retry_at(&s, 1, at).expect("a retry");
        assert!(
            first >= at + chrono::Duration::seconds(8)
                && first <= at + chrono::Duration::seconds(12)
        );
        let second = retry_at(&s, 2, at).expect("a retry");
        assert!(second >= at + chrono::Duration::seconds(80));
        assert_eq!(retry_at(&s, 3, at), None);
        assert_eq!(retry_at(&s, 0, at), None);
    }
}
