//! The e-mail outbox: every message goes into the `outbox` table in the same
//! transaction as the write that causes it ([`enqueue`]), and a worker on each
//! server ([`start`]) sends it.
//!
//! - **Claim**: due pending rows are leased to one node at a time through the
//!   shared lease mechanics (`services::lease`: `FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL, the write lock on SQLite); a send's result is written only
//!   `WHERE lease_token = <ours>`. So with several nodes on one database each
//!   message is handed to the mail server once; only a node dying between the
//!   server's acceptance and the write of the result makes another send it
//!   again (with the same `Message-ID`, so a receiver can tell).
//! - **Retry**: after failed attempt n the next is `schedule[n-1]` later (a
//!   random 0.8 to 1.2 of it); past the schedule, or on a permanent refusal
//!   (SMTP 5xx, a malformed address), the message is `failed` (counted in
//!   `mediadesk_outbox_failed_total` and logged without the address).
//! - **Wake**: a local commit that queued mail wakes this node's worker at once;
//!   otherwise it looks every [`POLL`] (other processes' messages, retries).
//! - **Transport** (`transport`): SMTP through lettre (`--smtp-url`), or `.eml`
//!   files in a folder (`--mail-dir`, the default: no mail server needed).
//!
//! Messages are rendered when queued (`templates`), so a retry sends the same
//! bytes. Nothing here logs an address or a body.

pub mod templates;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entities::outbox;
use crate::error::AppResult;
use crate::services::content::LocalCommits;
use crate::services::{WriteTxn, lease, now};
pub use transport::Transport;

/// How long claimed messages are this node's (longer than a send may take).
pub const LEASE: Duration = Duration::from_secs(120);
/// Messages sent at once by one node.
pub const SENDS: usize = 4;
/// How often the worker looks for messages it was not told of.
pub const POLL: Duration = Duration::from_secs(1);

/// The delays between attempts (then the message has failed): about 12
/// hours of tries.
pub fn default_schedule() -> Vec<Duration> {
    [30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 28_800]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// An e-mail to queue: already rendered, text and HTML.
#[derive(Clone, Debug)]
pub struct Message {
    /// What causes it (`reader_sign_in`, `test`): a metric label.
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Extra headers (`List-Unsubscribe`, ...); a `Message-ID` is added.
    pub headers: Vec<(String, String)>,
}

/// The outbox's queue for the lease mechanics.
const QUEUE: lease::Queue = lease::Queue {
    table: "outbox",
    alias: "o",
    join: "",
    ready: "o.state = 'pending'",
};

/// Queues `msg` in the transaction `txn` (sent once it commits; this node's
/// worker is woken then). Returns the outbox id.
pub(crate) async fn enqueue(txn: &WriteTxn, msg: Message) -> AppResult<i64> {
    let mut headers = serde_json::Map::new();
    headers.insert(
        "Message-ID".into(),
        format!("<{}@mediadesk>", lease::random_hex(16)).into(),
    );
    for (k, v) in msg.headers {
        headers.insert(k, v.into());
    }
    let at = now();
    let row = outbox::Entity::insert(outbox::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        created_at: sea_orm::ActiveValue::Set(at),
        kind: sea_orm::ActiveValue::Set(msg.kind.into()),
        to_addr: sea_orm::ActiveValue::Set(msg.to),
        subject: sea_orm::ActiveValue::Set(msg.subject),
        text_body: sea_orm::ActiveValue::Set(msg.text),
        html_body: sea_orm::ActiveValue::Set(msg.html),
        headers: sea_orm::ActiveValue::Set(serde_json::Value::Object(headers).to_string()),
        state: sea_orm::ActiveValue::Set("pending".into()),
        attempts: sea_orm::ActiveValue::Set(0),
        next_attempt_at: sea_orm::ActiveValue::Set(at),
        lease_token: sea_orm::ActiveValue::Set(None),
        lease_until: sea_orm::ActiveValue::Set(None),
        sent_at: sea_orm::ActiveValue::Set(None),
        last_error: sea_orm::ActiveValue::Set(None),
    })
    .exec(&**txn)
    .await?;
    txn.mail_queued();
    Ok(row.last_insert_id)
}

/// Queues the test message of `mediadesk mail test` to `to` in `language`.
pub async fn enqueue_test(
    db: &DatabaseConnection,
    to: &str,
    language: crate::domain::Language,
) -> AppResult<i64> {
    let msg = templates::test_message(to, language)?;
    let txn = crate::services::begin_write(db).await?;
    let id = enqueue(&txn, msg).await?;
    txn.commit().await?;
    Ok(id)
}

/// How long a sent or given-up message is kept (addresses and one-time links
/// are personal data; a week answers "was it sent?").
pub const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Deletes the messages sent or given up on more than `keep` ago (the server
/// runs it every minute); pending ones stay whatever their age.
pub async fn prune(db: &DatabaseConnection, keep: Duration) -> AppResult<u64> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let cutoff = now()
        .checked_sub_signed(keep)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let txn = crate::services::begin_write(db).await?;
    let gone = outbox::Entity::delete_many()
        .filter(outbox::Column::State.is_in(["sent", "failed"]))
        .filter(outbox::Column::CreatedAt.lt(cutoff))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(gone)
}

/// How many messages are pending (the queue) and failed for good: one
/// statement, for a metrics scrape.
pub async fn backlog(db: &DatabaseConnection) -> AppResult<(i64, i64)> {
    QUEUE.backlog(db).await
}

/// The worker's settings.
#[derive(Clone)]
pub struct Settings {
    pub transport: Arc<Transport>,
    /// Delays between attempts.
    pub schedule: Vec<Duration>,
}

/// Writes a send's result, if the lease is still this node's.
async fn settle(
    db: &DatabaseConnection,
    schedule: &[Duration],
    row: &outbox::Model,
    token: &str,
    result: Result<(), transport::SendError>,
) -> AppResult<()> {
    let n = row.attempts + 1;
    let at = now();
    use outbox::Column as O;
    let mut update = outbox::Entity::update_many()
        .col_expr(O::Attempts, Expr::value(n))
        .col_expr(
            O::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(O::LeaseToken, Expr::value(Option::<String>::None));
    let outcome = match &result {
        Ok(()) => {
            update = update
                .col_expr(O::State, Expr::value("sent"))
                .col_expr(O::SentAt, Expr::value(Some(at)))
                .col_expr(O::LastError, Expr::value(Option::<String>::None));
            "sent"
        }
        Err(e) => {
            let next = (!e.permanent)
                .then(|| lease::retry_at(schedule, n, at))
                .flatten();
            update = update.col_expr(O::LastError, Expr::value(Some(e.message.clone())));
            match next {
                Some(next) => {
                    update = update.col_expr(O::NextAttemptAt, Expr::value(next));
                    "retry"
                }
                None => {
                    update = update.col_expr(O::State, Expr::value("failed"));
                    "failed"
                }
            }
        }
    };
    let txn = crate::services::begin_write(db).await?;
    let done = update
        .filter(O::Id.eq(row.id))
        .filter(O::LeaseToken.eq(token))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    if done.rows_affected == 0 {
        // The lease ran out and another node has the message now.
        return Ok(());
    }
    crate::metrics::mail_attempt(&row.kind, outcome);
    match (outcome, &result) {
        ("failed", Err(e)) => tracing::warn!(
            outbox = row.id,
            kind = %row.kind,
            attempts = n,
            error = %e.message,
            "an e-mail was given up on"
        ),
        ("retry", Err(e)) => tracing::info!(
            outbox = row.id,
            attempts = n,
            error = %e.message,
            "an e-mail will be tried again"
        ),
        _ => {}
    }
    Ok(())
}

/// Claims and sends one batch; how many were claimed.
pub async fn run_once(db: &DatabaseConnection, settings: &Settings) -> AppResult<usize> {
    let lease::Claimed { ids, token } = QUEUE.claim(db, SENDS, LEASE).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?;
    let sends = rows.iter().map(|row| async {
        let result = settings.transport.send(row).await;
        if let Err(e) = settle(db, &settings.schedule, row, &token, result).await {
            tracing::warn!(error = %e, outbox = row.id, "an e-mail's result was not recorded");
        }
    });
    futures_util::future::join_all(sends).await;
    Ok(ids.len())
}

/// Starts this server's outbox worker.
pub fn start(db: DatabaseConnection, settings: Settings) {
    tokio::spawn(async move {
        let commits = LocalCommits::of(&db);
        loop {
            let claimed = match run_once(&db, &settings).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "sending e-mail failed");
                    0
                }
            };
            if claimed >= SENDS {
                // More may be due right behind a full batch.
                continue;
            }
            let sleep = QUEUE.sleep_until_due(&db, POLL).await.unwrap_or(POLL);
            if sleep.is_zero() {
                // Due but taken meanwhile (another node's claim not yet
                // committed): look again shortly, not at once.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let _ = tokio::time::timeout(sleep, commits.next_mail()).await;
        }
    });
}
