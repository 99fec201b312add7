//! The change log as it grows, for this server's subscribers (GraphQL
//! subscriptions): one task per server reads the new entries from the
//! primary and hands them to every subscriber on a bounded broadcast channel,
//! so a write on any node reaches subscribers on every node.
//!
//! The task is woken by this process's commits and, on PostgreSQL, by the
//! `NOTIFY` every content write sends (`services::content::listen`), and looks
//! at least once a second (writes by processes nothing tells of: SQLite, or a
//! lost listener). It reads only while someone listens: with no subscriber
//! it costs no statement. A subscriber starts at the head as it subscribes
//! ([`Tail::subscribe`]) and sees every entry after it, in order, unless it
//! falls more than [`CAPACITY`] batches behind, when its stream says so
//! (`Lagged`) and it must resubscribe and catch up through the sync API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use super::changes::{self, ChangeRow};
use super::content::{LocalCommits, StampWatch};
use crate::error::AppResult;

/// How many batches of entries a subscriber may fall behind.
pub const CAPACITY: usize = 1024;

/// How many entries one read takes.
const READ: u64 = 500;

/// The longest the task waits without looking at the log while someone listens.
const POLL: Duration = Duration::from_secs(1);

/// The log as it grows, for this server's subscribers.
pub struct Tail {
    tx: broadcast::Sender<Arc<[ChangeRow]>>,
    /// Where the task has read up to; `None` while nobody listens.
    pos: Mutex<Option<i64>>,
    db: DatabaseConnection,
}

impl Tail {
    /// A tail of the log of `db`, and its task (spawned here, ended when the
    /// tail is dropped).
    pub fn start(db: DatabaseConnection, stamps: Arc<StampWatch>) -> Arc<Self> {
        let (tx, _) = broadcast::channel(CAPACITY);
        let tail = Arc::new(Self {
            tx,
            pos: Mutex::new(None),
            db,
        });
        tokio::spawn(run(Arc::downgrade(&tail), stamps));
        tail
    }

    /// A receiver of the entries after the head as it is now, and that head
    /// (entries at or before it may still arrive: skip them).
    pub async fn subscribe(&self) -> AppResult<(broadcast::Receiver<Arc<[ChangeRow]>>, i64)> {
        // Receive first, then read the head: whatever is sent from now on
        // was committed after the entries the head covers, or among them.
        let rx = self.tx.subscribe();
        let head = changes::head(&self.db).await?;
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        if pos.is_none() {
            *pos = Some(head);
        }
        Ok((rx, head))
    }

    /// Reads and sends what was logged after the position, if anyone listens.
    async fn pump(&self) -> AppResult<()> {
        let from = {
            let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
            if self.tx.receiver_count() == 0 {
                *pos = None;
            }
            *pos
        };
        let Some(mut from) = from else {
            return Ok(());
        };
        loop {
            let rows = changes::read(&self.db, from, READ).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(());
            };
            let full = rows.len() as u64 == READ;
            from = last;
            *self.pos.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
            // No receiver left: nothing to do (the next pump starts over).
            let _ = self.tx.send(rows.into());
            if !full {
                return Ok(());
            }
        }
    }
}

async fn run(tail: std::sync::Weak<Tail>, stamps: Arc<StampWatch>) {
    let commits = match tail.upgrade() {
        Some(t) => LocalCommits::of(&t.db),
        None => return,
    };
    loop {
        // Taken before the read: a commit during it wakes the next one.
        let (commit, heard) = (commits.next_commit(), stamps.next_heard());
        {
            let Some(tail) = tail.upgrade() else { return };
            if let Err(e) = tail.pump().await {
                tracing::warn!(error = %e, "the change log tail did not read; retrying");
            }
        }
        tokio::select! {
            () = commit => {}
            () = heard => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
