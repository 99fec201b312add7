//! The service layer: the only code that builds queries or changes data. It owns
//! filtering, visibility of drafts and scheduled items, keyset pagination,
//! validation beyond parsing, name resolution, transactions and the meaning of
//! errors. GraphQL, REST, feeds and the CLI are thin adapters over these functions.
//! Nothing here imports actix_web; async_graphql only for the derives that
//! make the line structs (`lines`, `mentions::MentionInput`) GraphQL inputs
//! and `readers::Profile` and `comments::Comment` GraphQL objects.

pub mod accounts;
pub mod articles;
pub mod audit;
pub mod changes;
pub mod comments;
pub mod content;
pub mod demo;
pub mod events;
pub mod experts;
pub mod idempotency;
pub mod import;
pub mod lease;
pub mod lines;
pub mod mentions;
// Newsletters (issue 14 item 5).
pub mod newsletters;
pub mod oidc;
pub mod outbox;
pub mod outlets;
pub mod readers;
pub mod records;
pub mod resolve;
pub mod search;
pub mod search_index;
pub mod shared_store;
pub mod site;
pub mod slugs;
pub mod stats;
pub mod sync;
pub mod tail;
pub mod topics;
pub mod webhooks;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{Condition, Order};

use crate::domain::{Cursor, Direction, PageRequest};

/// A write transaction. On SQLite it also holds this process's turn to write
/// (see [`begin_write`]); the turn passes on when it commits, rolls back or drops.
pub(crate) struct WriteTxn {
    txn: sea_orm::DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Set by `changes::record`: the commit seals the
    /// change log's batch and tells this process's stamp watches.
    content_changed: std::sync::atomic::AtomicBool,
    /// What this transaction appended to the change log.
    changes: std::sync::Mutex<changes::Pending>,
    /// The commit counter of the database written to.
    commits: content::LocalCommits,
    /// Set by `outbox::enqueue`: the commit wakes this process's outbox worker.
    mail_queued: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for WriteTxn {
    type Target = sea_orm::DatabaseTransaction;
    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

impl WriteTxn {
    fn new(
        db: &sea_orm::DatabaseConnection,
        txn: sea_orm::DatabaseTransaction,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Self {
        Self {
            txn,
            _turn: turn,
            content_changed: Default::default(),
            changes: Default::default(),
            commits: content::LocalCommits::of(db),
            mail_queued: Default::default(),
        }
    }

    pub(crate) fn mail_queued(&self) {
        self.mail_queued
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn content_changed(&self) {
        self.content_changed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The change log entries this transaction holds.
    pub(crate) fn log(&self) -> std::sync::MutexGuard<'_, changes::Pending> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits; a content change first seals its change log batch (numbered in
    /// commit order, the content version bumped: `changes::seal`), and after it
    /// this process's cached stamps are stale (even if the commit reports an
    /// error: it may have landed).
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        let changed = self
            .content_changed
            .load(std::sync::atomic::Ordering::SeqCst);
        debug_assert_eq!(
            changed,
            !self.log().is_empty(),
            "a content write logs its changes (services::changes::record), and only a content write does"
        );
        if changed {
            changes::seal(&self).await?;
        }
        let scheduled = self.log().scheduled;
        let done = self.txn.commit().await;
        if changed {
            self.commits.committed();
        }
        if scheduled {
            self.commits.scheduled();
        }
        if done.is_ok() && self.mail_queued.load(std::sync::atomic::Ordering::SeqCst) {
            self.commits.mail_queued();
        }
        done
    }
    pub async fn rollback(self) -> Result<(), sea_orm::DbErr> {
        self.txn.rollback().await
    }
}

/// The writers' queue of each SQLite file this process writes to.
fn sqlite_turns(db: &sea_orm::DatabaseConnection) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    static TURNS: Mutex<Option<HashMap<std::path::PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
        Mutex::new(None);
    let file = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    let mut g = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    g.get_or_insert_with(HashMap::new)
        .entry(file)
        .or_default()
        .clone()
}

/// Begins a write transaction. On SQLite, writers first queue in this process
/// (fair, no polling), then take the database's write lock at once
/// (`BEGIN IMMEDIATE`), so a read transaction never has to upgrade and
/// concurrent writers do not wait in SQLite's busy handler, whose growing
/// sleeps made the slowest of eight concurrent writes take over half a second.
pub(crate) async fn begin_write(
    db: &sea_orm::DatabaseConnection,
) -> crate::error::AppResult<WriteTxn> {
    use sea_orm::{DbBackend, SqliteTransactionMode, TransactionOptions, TransactionTrait};
    Ok(match db.get_database_backend() {
        DbBackend::Sqlite => {
            // A bounded wait: behind a long import or a stuck writer, answer
            // "busy" rather than queue forever.
            let wait = crate::metrics::WriteLockWait::start();
            let turn = tokio::time::timeout(crate::db::WAIT, sqlite_turns(db).lock_owned())
                .await
                .map_err(|_| {
                    crate::error::AppError::Unavailable("the writers' queue is full".into())
                })?;
            let txn = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            wait.acquired();
            WriteTxn::new(db, txn, Some(turn))
        }
        _ => WriteTxn::new(db, db.begin().await?, None),
    })
}

/// The current time, truncated to microseconds so it round-trips through both
/// databases and through cursors unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Converts a cursor timestamp back into the value stored in the database.
pub(crate) fn ts_from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// The keyset condition "after this cursor" for an ordering on `(key, id)`.
///
/// `descending` is the direction of the requested ordering; a backward page
/// flips it. Returns the condition and the order to fetch rows in.
pub(crate) fn keyset(
    key: SimpleExpr,
    id: SimpleExpr,
    cursor_key: Option<SimpleExpr>,
    cursor_id: Option<i32>,
    descending: bool,
    page: &PageRequest,
) -> (Option<Condition>, Order) {
    let fetch_desc = match page.direction {
        Direction::Forward => descending,
        Direction::Backward => !descending,
    };
    let order = if fetch_desc { Order::Desc } else { Order::Asc };
    // `key <= ck` lets the index seek straight to the cursor; the row-value
    // comparison then skips the rows of the same key already seen. Written as
    // `a < x OR (a = x AND b < y)` instead, both databases scan from the start of
    // the range and the cost of a page grows with its depth.
    let cond = match (cursor_key, cursor_id) {
        (Some(ck), Some(cid)) => {
            let pair = Expr::tuple([key.clone(), id]);
            let at = Expr::tuple([ck.clone(), Expr::val(cid)]);
            let (seek, past) = if fetch_desc {
                (Expr::expr(key).lte(ck), pair.lt(at))
            } else {
                (Expr::expr(key).gte(ck), pair.gt(at))
            };
            Some(Condition::all().add(seek).add(past))
        }
        _ => None,
    };
    (cond, order)
}

/// The timestamp sort key and id a cursor carries.
pub(crate) fn ts_cursor(page: &PageRequest) -> Option<(sea_orm::Value, i32)> {
    page.cursor
        .as_ref()
        .and_then(|c: &Cursor| c.ts.map(|t| (ts_from_micros(t).into(), c.id)))
}

/// The text sort key and id a cursor carries.
pub(crate) fn text_cursor(page: &PageRequest) -> Option<(sea_orm::Value, i32)> {
    page.cursor
        .as_ref()
        .and_then(|c: &Cursor| c.text.clone().map(|t| (t.into(), c.id)))
}

/// A kind whose records have an id and a unique slug: the lookups every such
/// kind shares (by slug, by ids) are written once, over a query already scoped
/// to what the caller may see.
pub(crate) trait Slugged: sea_orm::EntityTrait {
    const ID: Self::Column;
    const SLUG: Self::Column;
}

macro_rules! slugged {
    ($($m:ident),+) => {$(
        impl Slugged for crate::entities::$m::Entity {
            const ID: crate::entities::$m::Column = crate::entities::$m::Column::Id;
            const SLUG: crate::entities::$m::Column = crate::entities::$m::Column::Slug;
        }
    )+};
}
slugged!(article, event, expert, outlet, topic);

/// The record of `scope` with this slug.
pub(crate) async fn by_slug<E: Slugged>(
    db: &impl sea_orm::ConnectionTrait,
    scope: sea_orm::Select<E>,
    slug: &str,
) -> crate::error::AppResult<Option<E::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    Ok(scope.filter(E::SLUG.eq(slug)).one(db).await?)
}

/// The records of `scope` with these ids (for batch loaders), in no order.
pub(crate) async fn by_ids<E: Slugged>(
    db: &impl sea_orm::ConnectionTrait,
    scope: sea_orm::Select<E>,
    ids: &[i32],
) -> crate::error::AppResult<Vec<E::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(scope.filter(E::ID.is_in(ids.to_vec())).all(db).await?)
}

/// The id of the record of `E` with this slug.
pub(crate) async fn id_by_slug<E: Slugged>(
    db: &impl sea_orm::ConnectionTrait,
    slug: &str,
) -> crate::error::AppResult<Option<i32>> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    Ok(E::find()
        .select_only()
        .column(E::ID)
        .filter(E::SLUG.eq(slug))
        .into_tuple()
        .one(db)
        .await?)
}

/// Rows of a link table joined to what they link to (owner id, linked record),
/// grouped by owner in the rows' order; a link whose record is gone is left out.
pub(crate) fn group_joined<M>(
    rows: impl IntoIterator<Item = (i32, Option<M>)>,
) -> std::collections::HashMap<i32, Vec<M>> {
    let mut out: std::collections::HashMap<i32, Vec<M>> = Default::default();
    for (owner, linked) in rows {
        if let Some(m) = linked {
            out.entry(owner).or_default().push(m);
        }
    }
    out
}

/// Fetches one keyset page of `q` in the ordering `(key, id)`: the rows after the
/// cursor (or before it, paging backward), `limit + 1` of them to learn whether
/// more follow. The one place listings are paginated.
pub(crate) async fn keyset_page<E>(
    db: &impl sea_orm::ConnectionTrait,
    q: sea_orm::Select<E>,
    key: Expr,
    id: Expr,
    cursor: Option<(sea_orm::Value, i32)>,
    descending: bool,
    page: &PageRequest,
) -> crate::error::AppResult<crate::domain::Page<E::Model>>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
{
    let rows = keyset_window(q, key, id, cursor, descending, page)
        .all(db)
        .await?;
    Ok(crate::domain::Page::from_fetched(rows, page))
}

/// [`keyset_page`]'s query without the fetch, for a select that also reads a
/// joined record (`select_also`): the filter past the cursor, the order and
/// the limit of one page.
pub(crate) fn keyset_window<Q>(
    q: Q,
    key: Expr,
    id: Expr,
    cursor: Option<(sea_orm::Value, i32)>,
    descending: bool,
    page: &PageRequest,
) -> Q
where
    Q: sea_orm::QueryFilter + sea_orm::QueryOrder + sea_orm::QuerySelect,
{
    let (cursor_key, cursor_id) = match cursor {
        Some((k, i)) => (Some(Expr::val(k)), Some(i)),
        None => (None, None),
    };
    let (cond, ord) = keyset(
        key.clone(),
        id.clone(),
        cursor_key,
        cursor_id,
        descending,
        page,
    );
    let q = match cond {
        Some(c) => q.filter(c),
        None => q,
    };
    q.order_by(key, ord.clone())
        .order_by(id, ord)
        .limit(page.limit + 1)
}
