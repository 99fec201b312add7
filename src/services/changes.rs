//! The change log: one durable, ordered record of every committed content
//! write, the one source that sync, webhooks, subscriptions and cache
//! validation read.
//!
//! - **Order (D1).** Entries get their public sequence numbers in commit order,
//!   with no gaps: [`seal`], called by `WriteTxn::commit` as the last statement
//!   before the commit, adds the transaction's entry count to
//!   `content_state.log_head` in the same statement that bumps the content
//!   version (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING log_head`). Every
//!   content write takes that row's lock there and holds it until it commits, so
//!   a second writer waits, then reads the committed head (PostgreSQL's READ
//!   COMMITTED; SQLite has one writer at a time). A rolled-back write gives its
//!   numbers back. PostgreSQL makes a transaction visible before it releases
//!   its locks, so a snapshot that sees batch N sees every batch before it:
//!   readers ask for `seq > since` ([`read`]) and never miss one.
//! - **Storage (D2).** [`record`] queues entries in the transaction
//!   (`WriteTxn`'s [`Pending`]) and writes them in multi-row inserts of
//!   [`CHUNK`] under a `change_batches` row drawn when the first chunk is
//!   written, so a million-line import holds at most one chunk in memory. The
//!   seal writes what is left and sets the batch's `first_seq..last_seq`; an
//!   entry's number is `first_seq + ord - 1`. On PostgreSQL the seal also sends
//!   `NOTIFY` on `content::CHANNEL` with the new head as payload (delivered on
//!   commit only).
//! - **Publicity (D3).** Each entry says whether the anonymous public could see
//!   the object before (`was_public`) and after (`is_public`) the write,
//!   decided when it is written, never when it is read: articles are public
//!   when published and their `publish_at` has passed (the rule of
//!   `articles::visible`), events when published, experts, outlets, topics and
//!   the site always. The public view of an entry: `is_public` is an upsert,
//!   `was_public && !is_public` a tombstone, anything else is hidden. An
//!   article published with a `publish_at` ahead is logged hidden, then as a
//!   publication when it comes due ([`announce_due`], `change_due`).
//! - **Touches (D4).** Objects embed the names of others (an article its
//!   outlet, experts and topics; an outlet its parent and children): a write
//!   that changes what another object shows appends a `touch` entry for it
//!   (same version), so a mirror stays equal to the lists. Webhooks and
//!   subscriptions send nothing for a touch.
//!
//! Who appends: `records` (create, update, delete, publish, unpublish of every
//! kind and the site), `mentions` (the article and the outlets and experts it
//! creates, cause `mention`) and `import` (one entry per object written, cause
//! `import`). Not content, not logged: accounts, keys, idempotency, the shared
//! store, webhook endpoints and deliveries. Anything that later writes content
//! (comments, moderation) must call [`record`] in its transaction: in debug
//! builds `WriteTxn::commit` asserts that a transaction that changed content
//! logged entries, and the reverse.
//!
//! Retention: [`prune`] drops whole batches older than the retention window,
//! oldest first, and raises `content_state.log_floor` past them first.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, DeriveIden, FromQueryResult, Statement,
};

use super::WriteTxn;
use crate::auth::Actor;
use crate::entities::content_state;
use crate::error::AppResult;

/// Entries are written in multi-row inserts of at most this many.
pub const CHUNK: usize = 1000;

/// Prune deletes at most this many entries per transaction.
const PRUNE_CHUNK: i64 = 10_000;

#[derive(DeriveIden)]
enum ChangeBatches {
    Table,
    Batch,
    FirstSeq,
    LastSeq,
    At,
    Actor,
    Cause,
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Batch,
    Ord,
    Kind,
    ObjectId,
    Slug,
    Op,
    Version,
    WasPublic,
    IsPublic,
    Refs,
}

/// Why a batch was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A create, change or delete through the API (or the CLI).
    Write,
    /// A recorded mention (and what it created).
    Mention,
    /// An NDJSON import.
    Import,
    /// A scheduled publication coming due.
    Schedule,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Write => "write",
            Cause::Mention => "mention",
            Cause::Import => "import",
            Cause::Schedule => "schedule",
        }
    }
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
    Publish,
    Unpublish,
    /// Its representation changed through another object (an embedded name).
    Touch,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Publish => "publish",
            Op::Unpublish => "unpublish",
            Op::Touch => "touch",
        }
    }
}

/// One entry, as a write appends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `article`, `expert`, `outlet`, `topic`, `event` or `site`.
    pub kind: &'static str,
    pub object_id: i32,
    pub slug: String,
    pub op: Op,
    /// The object's version after the write (before it, for a delete).
    pub version: i32,
    /// Could the anonymous public see it before the write?
    pub was_public: bool,
    /// Can the anonymous public see it after the write?
    pub is_public: bool,
    /// Articles: `{"o":outlet,"e":[experts],"t":[topics]}` by id, after the
    /// write (before it for a delete), for filters.
    pub refs: Option<String>,
    /// Articles left published with a `publish_at` still to come: when the
    /// public will see them ([`announce_due`] logs it then).
    pub due: Option<DateTime<Utc>>,
}

/// An article's `refs`.
pub fn article_refs(outlet: Option<i32>, experts: &[i32], topics: &[i32]) -> String {
    serde_json::json!({ "o": outlet, "e": experts, "t": topics }).to_string()
}

/// Is an article with this status and `publish_at` public at `now`? The rule
/// of `articles::visible`.
pub fn article_public(status: &str, publish_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    status == crate::domain::ArticleStatus::Published.as_str()
        && publish_at.is_none_or(|t| t <= now)
}

/// When an article with this status and `publish_at` becomes public, if that
/// is still to come after `now`: published, with a `publish_at` ahead.
pub fn article_due(
    status: &str,
    publish_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    publish_at.filter(|t| status == crate::domain::ArticleStatus::Published.as_str() && *t > now)
}

/// Is an event with this status public? The rule of `events::scoped`.
pub fn event_public(status: &str) -> bool {
    status == crate::domain::ArticleStatus::Published.as_str()
}

/// What a write transaction has logged so far.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Cause and actor of the batch (the first `record` call's).
    header: Option<(Cause, String)>,
    /// The batch row, once a chunk was written.
    batch: Option<i64>,
    /// Entries written so far (the next `ord` is one more).
    written: i32,
    /// Entries not written yet (fewer than `CHUNK`).
    buffer: Vec<Entry>,
    /// Whether a scheduled publication was written (the scheduler is told
    /// after the commit).
    pub(crate) scheduled: bool,
}

impl Pending {
    /// Has nothing been logged?
    pub(crate) fn is_empty(&self) -> bool {
        self.batch.is_none() && self.buffer.is_empty()
    }
}

/// Appends `entries` to the change log of the write `txn` (they become visible,
/// numbered, when it commits; not at all if it rolls back). Marks the
/// transaction as a content change (when there is any entry).
pub(crate) async fn record(
    txn: &WriteTxn,
    cause: Cause,
    actor: &Actor,
    entries: impl IntoIterator<Item = Entry>,
) -> AppResult<()> {
    let (added, full) = {
        let mut p = txn.log();
        p.header
            .get_or_insert_with(|| (cause, super::audit::actor_name(actor)));
        let before = p.buffer.len();
        p.buffer.extend(entries);
        (p.buffer.len() > before, p.buffer.len() >= CHUNK)
    };
    if added {
        txn.content_changed();
    }
    if full {
        flush(txn).await?;
    }
    Ok(())
}

/// Writes the queued entries (opening the batch row first if need be).
async fn flush(txn: &WriteTxn) -> Result<(), DbErr> {
    let (batch, header, first_ord, mut entries) = {
        let mut p = txn.log();
        let entries = std::mem::take(&mut p.buffer);
        let first = p.written + 1;
        p.written += i32::try_from(entries.len()).unwrap_or(i32::MAX);
        (p.batch, p.header.clone(), first, entries)
    };
    if entries.is_empty() {
        return Ok(());
    }
    if schedule(txn, &mut entries).await? {
        txn.log().scheduled = true;
    }
    let batch = match batch {
        Some(b) => b,
        None => {
            let b = open_batch(txn, header).await?;
            txn.log().batch = Some(b);
            b
        }
    };
    let mut ord = first_ord;
    for chunk in entries.chunks(CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(Changes::Table).columns([
            Changes::Batch,
            Changes::Ord,
            Changes::Kind,
            Changes::ObjectId,
            Changes::Slug,
            Changes::Op,
            Changes::Version,
            Changes::WasPublic,
            Changes::IsPublic,
            Changes::Refs,
        ]);
        for e in chunk {
            stmt.values_panic([
                batch.into(),
                ord.into(),
                e.kind.into(),
                e.object_id.into(),
                e.slug.as_str().into(),
                e.op.as_str().into(),
                e.version.into(),
                e.was_public.into(),
                e.is_public.into(),
                e.refs.clone().into(),
            ]);
            ord += 1;
        }
        txn.execute(&stmt).await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum ChangeDue {
    Table,
    Kind,
    ObjectId,
    DueAt,
}

/// Is this an entry of an article write (not a touch)? Those keep
/// `change_due` in step.
fn article_write(e: &Entry) -> bool {
    e.kind == "article" && e.op != Op::Touch
}

/// Keeps `change_due` in step with the article writes among `entries` (D3):
/// a write to an article takes its pending row. A row already due that the
/// scheduler has not announced yet is claimed by the write, whose entry then
/// says the public did not see the article before: the public learns of the
/// publication once, from whichever logs it first. An article left published
/// with its `publish_at` ahead gets a row. Whether one was written.
async fn schedule(txn: &WriteTxn, entries: &mut [Entry]) -> Result<bool, DbErr> {
    let now = super::now();
    let written: Vec<i32> = entries
        .iter()
        .filter(|e| article_write(e) && e.op != Op::Create)
        .map(|e| e.object_id)
        .collect();
    if !written.is_empty() {
        let stmt = Query::delete()
            .from_table(ChangeDue::Table)
            .and_where(Expr::col(ChangeDue::Kind).eq("article"))
            .and_where(Expr::col(ChangeDue::ObjectId).is_in(written))
            .returning(Query::returning().columns([ChangeDue::ObjectId, ChangeDue::DueAt]))
            .to_owned();
        for row in txn.query_all(&stmt).await? {
            let id: i32 = row.try_get_by_index(0)?;
            let due: DateTime<Utc> = row.try_get_by_index(1)?;
            if due <= now
                && let Some(e) = entries
                    .iter_mut()
                    .find(|e| article_write(e) && e.object_id == id)
            {
                e.was_public = false;
            }
        }
    }
    let due: Vec<(i32, DateTime<Utc>)> = entries
        .iter()
        .filter(|e| article_write(e) && e.op != Op::Delete)
        .filter_map(|e| Some((e.object_id, e.due?)))
        .collect();
    for chunk in due.chunks(CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(ChangeDue::Table)
            .columns([ChangeDue::Kind, ChangeDue::ObjectId, ChangeDue::DueAt])
            .on_conflict(
                OnConflict::columns([ChangeDue::Kind, ChangeDue::ObjectId])
                    .update_column(ChangeDue::DueAt)
                    .to_owned(),
            );
        for (id, at) in chunk {
            stmt.values_panic(["article".into(), (*id).into(), (*at).into()]);
        }
        txn.execute(&stmt).await?;
    }
    Ok(!due.is_empty())
}

/// How many due publications one transaction of [`announce_due`] logs at most.
const DUE_CHUNK: u64 = 500;

/// Logs the scheduled publications that have come due, as `publish` entries
/// (cause `schedule`, actor `system`) that the public sees as the articles
/// becoming visible, each exactly once: the rows are taken with a `DELETE ...
/// RETURNING`, so of two nodes (or a node and a write claiming the row) only
/// one gets each. Returns how many were logged.
pub async fn announce_due(db: &DatabaseConnection) -> AppResult<u64> {
    use super::records::{Record, entry_of};
    use crate::entities::article;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut announced = 0;
    loop {
        let now = super::now();
        let txn = super::begin_write(db).await?;
        let due = Query::select()
            .column(ChangeDue::ObjectId)
            .from(ChangeDue::Table)
            .and_where(Expr::col(ChangeDue::Kind).eq("article"))
            .and_where(Expr::col(ChangeDue::DueAt).lte(now))
            .order_by(ChangeDue::DueAt, Order::Asc)
            .limit(DUE_CHUNK)
            .to_owned();
        let take = Query::delete()
            .from_table(ChangeDue::Table)
            .and_where(Expr::col(ChangeDue::Kind).eq("article"))
            .and_where(Expr::col(ChangeDue::ObjectId).in_subquery(due))
            .returning_col(ChangeDue::ObjectId)
            .to_owned();
        let ids = txn
            .query_all(&take)
            .await?
            .iter()
            .map(|r| r.try_get_by_index::<i32>(0))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            txn.rollback().await?;
            return Ok(announced);
        }
        let articles = article::Entity::find()
            .filter(article::Column::Id.is_in(ids))
            .all(&*txn)
            .await?;
        let mut entries = Vec::with_capacity(articles.len());
        // One that is no longer public was changed since; that write logged it.
        for a in articles.iter().filter(|a| a.publicity()) {
            entries.push(entry_of(&txn, a, Op::Publish, false, true).await?);
        }
        announced += entries.len() as u64;
        record(&txn, Cause::Schedule, &Actor::System, entries).await?;
        txn.commit().await?;
    }
}

/// When the next scheduled publication comes due, if any is pending.
pub async fn next_due(db: &impl ConnectionTrait) -> AppResult<Option<DateTime<Utc>>> {
    let stmt = Query::select()
        .expr(Expr::col(ChangeDue::DueAt).min())
        .from(ChangeDue::Table)
        .to_owned();
    Ok(match db.query_one(&stmt).await? {
        Some(row) => row.try_get_by_index::<Option<DateTime<Utc>>>(0)?,
        None => None,
    })
}

/// The longest the scheduler sleeps without looking at `change_due` again
/// (for publications scheduled by other processes, e.g. a CLI import).
const SCHEDULER_POLL: std::time::Duration = std::time::Duration::from_secs(60);

/// Announces scheduled publications as they come due ([`announce_due`]), for
/// as long as the server runs: sleeps until the next one, or until this
/// process commits a new one or another process's write is heard (PostgreSQL
/// `NOTIFY`: a CLI import may have scheduled some), or [`SCHEDULER_POLL`].
pub async fn run_scheduler(
    db: DatabaseConnection,
    stamps: std::sync::Arc<super::content::StampWatch>,
) {
    let commits = super::content::LocalCommits::of(&db);
    loop {
        // One read while nothing is due; the write only when something is.
        let next = match next_due(&db).await {
            Ok(Some(at)) if at <= super::now() => match announce_due(&db).await {
                Ok(_) => next_due(&db).await,
                Err(e) => Err(e),
            },
            other => other,
        };
        let wait = match next {
            // Not at once for one still due (another node is announcing it).
            Ok(Some(at)) => (at - super::now())
                .to_std()
                .unwrap_or_default()
                .clamp(std::time::Duration::from_millis(5), SCHEDULER_POLL),
            Ok(None) => SCHEDULER_POLL,
            Err(e) => {
                tracing::warn!(error = %e, "scheduled publications were not announced; retrying");
                std::time::Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = commits.next_scheduled() => {}
            () = stamps.next_heard() => {}
        }
    }
}

/// Inserts the transaction's batch row (not numbered yet); its id.
async fn open_batch(txn: &WriteTxn, header: Option<(Cause, String)>) -> Result<i64, DbErr> {
    let (cause, actor) = header.unwrap_or((Cause::Write, "system".into()));
    let stmt = Query::insert()
        .into_table(ChangeBatches::Table)
        .columns([
            ChangeBatches::At,
            ChangeBatches::Actor,
            ChangeBatches::Cause,
        ])
        .values_panic([super::now().into(), actor.into(), cause.as_str().into()])
        .returning_col(ChangeBatches::Batch)
        .to_owned();
    let row = txn
        .query_one(&stmt)
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    row.try_get_by_index::<i64>(0)
}

/// Numbers the transaction's entries and bumps the content version: the last
/// statements before the commit (see the module header). Returns the new head.
pub(crate) async fn seal(txn: &WriteTxn) -> Result<i64, DbErr> {
    flush(txn).await?;
    let (batch, n) = {
        let p = txn.log();
        (p.batch, i64::from(p.written))
    };
    let now = super::now();
    use content_state::Column as C;
    let stmt = Query::insert()
        .into_table(content_state::Entity)
        .columns([C::Id, C::Version, C::UpdatedAt, C::LogHead])
        .values_panic([1.into(), 1i64.into(), now.into(), n.into()])
        .on_conflict(
            OnConflict::column(C::Id)
                .value(
                    C::Version,
                    Expr::col((content_state::Entity, C::Version)).add(1),
                )
                .value(C::UpdatedAt, now)
                .value(
                    C::LogHead,
                    Expr::col((content_state::Entity, C::LogHead)).add(n),
                )
                .to_owned(),
        )
        .returning_col(C::LogHead)
        .to_owned();
    let head = txn
        .query_one(&stmt)
        .await?
        .ok_or(DbErr::RecordNotInserted)?
        .try_get_by_index::<i64>(0)?;
    if let Some(b) = batch {
        let stmt = Query::update()
            .table(ChangeBatches::Table)
            .value(ChangeBatches::FirstSeq, head - n + 1)
            .value(ChangeBatches::LastSeq, head)
            .value(ChangeBatches::At, now)
            .and_where(Expr::col(ChangeBatches::Batch).eq(b))
            .to_owned();
        txn.execute(&stmt).await?;
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        // Delivered to every listening node when (and only if) this commits.
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [super::content::CHANNEL.into(), head.to_string().into()],
        ))
        .await?;
    }
    Ok(head)
}

/// The last sequence number handed out (0 before the first write).
pub async fn head(db: &impl ConnectionTrait) -> AppResult<i64> {
    Ok(bounds(db).await?.0)
}

/// The head and the floor (numbers at or below the floor may be pruned).
pub async fn bounds(db: &impl ConnectionTrait) -> AppResult<(i64, i64)> {
    use content_state::Column as C;
    let stmt = Query::select()
        .columns([C::LogHead, C::LogFloor])
        .from(content_state::Entity)
        .and_where(Expr::col(C::Id).eq(1))
        .to_owned();
    Ok(match db.query_one(&stmt).await? {
        Some(row) => (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
        None => (0, 0),
    })
}

/// An entry as read back, with its number and its batch's time, actor and cause.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct ChangeRow {
    pub seq: i64,
    pub kind: String,
    pub object_id: i32,
    pub slug: String,
    pub op: String,
    pub version: i32,
    pub was_public: bool,
    pub is_public: bool,
    pub refs: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub cause: String,
}

/// The entries after `since`, in order, at most `limit` of them: one
/// statement, a keyset range on both tables.
pub async fn read(db: &impl ConnectionTrait, since: i64, limit: u64) -> AppResult<Vec<ChangeRow>> {
    let backend = db.get_database_backend();
    let (p1, p2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?1", "?2"),
    };
    // `c.ord > since - first_seq + 1` (rather than `first_seq + ord - 1 >
    // since`) lets each batch's entries be sought by their key.
    let sql = format!(
        "SELECT b.first_seq + c.ord - 1 AS seq, c.kind, c.object_id, c.slug, c.op, c.version, \
                c.was_public, c.is_public, c.refs, b.at, b.actor, b.cause \
         FROM change_batches b JOIN changes c ON c.batch = b.batch \
         WHERE b.last_seq > {p1} AND c.ord > {p1} - b.first_seq + 1 \
         ORDER BY b.first_seq, c.ord LIMIT {p2}"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(ChangeRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [since.into(), limit.into()],
    ))
    .all(db)
    .await?)
}

/// Drops the batches sealed before `now - keep`, oldest first, at most
/// 10,000 entries per transaction, raising `log_floor` past each before any of
/// its entries goes. Returns the number of entries dropped.
pub async fn prune(db: &DatabaseConnection, keep: std::time::Duration) -> AppResult<u64> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let cutoff = super::now()
        .checked_sub_signed(keep)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut dropped = 0u64;
    loop {
        let txn = super::begin_write(db).await?;
        let oldest = Query::select()
            .columns([ChangeBatches::Batch, ChangeBatches::LastSeq])
            .from(ChangeBatches::Table)
            .and_where(Expr::col(ChangeBatches::LastSeq).is_not_null())
            .and_where(Expr::col(ChangeBatches::At).lt(cutoff))
            .order_by(ChangeBatches::LastSeq, Order::Asc)
            .limit(1)
            .to_owned();
        let Some(row) = txn.query_one(&oldest).await? else {
            txn.rollback().await?;
            return Ok(dropped);
        };
        let batch: i64 = row.try_get_by_index(0)?;
        let last: i64 = row.try_get_by_index(1)?;
        use content_state::Column as C;
        txn.execute(
            &Query::update()
                .table(content_state::Entity)
                .value(C::LogFloor, last)
                .and_where(Expr::col(C::Id).eq(1))
                .and_where(Expr::col(C::LogFloor).lt(last))
                .to_owned(),
        )
        .await?;
        let first_ord: Option<i32> = txn
            .query_one(
                &Query::select()
                    .expr(Expr::col(Changes::Ord).min())
                    .from(Changes::Table)
                    .and_where(Expr::col(Changes::Batch).eq(batch))
                    .to_owned(),
            )
            .await?
            .map(|r| r.try_get_by_index::<Option<i32>>(0))
            .transpose()?
            .flatten();
        let gone = match first_ord {
            Some(o) => txn
                .execute(
                    &Query::delete()
                        .from_table(Changes::Table)
                        .and_where(Expr::col(Changes::Batch).eq(batch))
                        .and_where(Expr::col(Changes::Ord).lt(i64::from(o) + PRUNE_CHUNK))
                        .to_owned(),
                )
                .await?
                .rows_affected(),
            None => 0,
        };
        if gone < PRUNE_CHUNK as u64 {
            txn.execute(
                &Query::delete()
                    .from_table(ChangeBatches::Table)
                    .and_where(Expr::col(ChangeBatches::Batch).eq(batch))
                    .to_owned(),
            )
            .await?;
        }
        txn.commit().await?;
        dropped += gone;
    }
}
