//! Dispatch (change log → deliveries) and delivery (deliveries → HTTP), run by
//! every server unless `--no-webhooks`.
//!
//! - **Dispatch**, one node at a time: the `webhook_state` row (id 1) holds the
//!   position in the change log. PostgreSQL: `SELECT ... FOR UPDATE SKIP
//!   LOCKED` (no row back: another node is dispatching); SQLite: the write
//!   lock of `begin_write`. In that transaction up to [`BATCH`] entries past the
//!   position are read, each one's public event ([`super::event_of`]) is
//!   matched against the active endpoints (type, filters, created before the
//!   change), a message is inserted once per entry (`msg_<epoch>_<seq>`, the
//!   payload bytes that are signed) with a pending delivery per endpoint (both
//!   `ON CONFLICT DO NOTHING`), and the position moves on. Woken by [`wake`]
//!   (a local commit, another node's `NOTIFY`, else once a second where
//!   nothing would tell of other processes' writes); the delivery worker
//!   sleeps until the next delivery comes due, woken early by the dispatcher
//!   and by each settled attempt. Idle, neither costs a statement more than
//!   once a minute ([`IDLE`]) on PostgreSQL.
//! - **Claim**: one statement hands due pending deliveries of active
//!   endpoints to this node under a lease ([`LEASE`], longer than the send
//!   timeout) and a random token (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the
//!   write lock on SQLite). The send runs outside any transaction; its result
//!   is written only `WHERE lease_token = <ours>`, so a node whose lease ran out
//!   records nothing. So each message succeeds once per endpoint; only a node
//!   dying mid-send makes another send it again (same `webhook-id`).
//! - **Retry**: after failed attempt n the next is `schedule[n-1]` later times
//!   a random 0.8 to 1.2; past the schedule the delivery has `failed`, and its
//!   endpoint is disabled (`disabled_reason = failing`, audited as `system`)
//!   unless it had a success since that delivery's first attempt.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    Statement,
};

use super::send::{self, Outcome};
use super::{Filters, Settings};
use crate::auth::Actor;
use crate::entities::{webhook_attempt, webhook_delivery, webhook_endpoint, webhook_message};
use crate::error::AppResult;
use crate::services::content::{LocalCommits, StampWatch};
use crate::services::{begin_write, changes, lease, now};

/// Entries one dispatch transaction reads at most.
pub const BATCH: u64 = 500;
/// How long a claimed delivery is this node's.
pub const LEASE: Duration = Duration::from_secs(60);
/// Sends in flight per node.
pub const SENDS: usize = 8;
/// How often the dispatcher looks at the log when nothing would tell it of
/// another process's write (SQLite, or PostgreSQL's listener down).
pub const POLL: Duration = Duration::from_secs(1);
/// The longest the dispatcher and the delivery worker sleep otherwise (a
/// node that died holding leases, a lost notification).
pub const IDLE: Duration = Duration::from_secs(60);

#[derive(sea_orm::DeriveIden)]
enum WebhookState {
    Table,
    Id,
    DispatchedSeq,
    Epoch,
}

/// Renders the payload `data` of change log rows (the sync API's shape for an
/// anonymous caller, with the object as it is now), by sequence number. Given
/// by the HTTP layer (`http::rest::json::webhook_render`), which owns the
/// JSON shapes.
pub type Render = Arc<
    dyn Fn(
            DatabaseConnection,
            Vec<changes::ChangeRow>,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = AppResult<HashMap<i64, serde_json::Value>>> + Send,
            >,
        > + Send
        + Sync,
>;

/// Waits until the log may have grown: this process committed content, another
/// node's `NOTIFY` was heard (PostgreSQL), or [`POLL`] passed while nothing
/// would tell of another process's write ([`IDLE`] while something would).
/// The one place the dispatcher's wake-up is decided (the subscriptions'
/// `services::tail` is woken the same way).
/// Take it before the work and await it after: what happens meanwhile wakes it.
pub(crate) fn wake<'a>(
    commits: &'a LocalCommits,
    stamps: &'a StampWatch,
) -> impl std::future::Future<Output = ()> + 'a {
    let (commit, heard) = (commits.next_commit(), stamps.next_heard());
    async move {
        let poll = if stamps.is_listening() { IDLE } else { POLL };
        tokio::select! {
            () = commit => {}
            () = heard => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// The dispatcher's position, made at the log's head the first time.
async fn position(db: &DatabaseConnection) -> AppResult<i64> {
    let read = Query::select()
        .column(WebhookState::DispatchedSeq)
        .from(WebhookState::Table)
        .and_where(Expr::col(WebhookState::Id).eq(1))
        .to_owned();
    if let Some(row) = db.query_one(&read).await? {
        return Ok(row.try_get_by_index(0)?);
    }
    let head = changes::head(db).await?;
    let insert = Query::insert()
        .into_table(WebhookState::Table)
        .columns([
            WebhookState::Id,
            WebhookState::DispatchedSeq,
            WebhookState::Epoch,
        ])
        .values_panic([1.into(), head.into(), lease::random_hex(4).into()])
        .on_conflict(OnConflict::column(WebhookState::Id).do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    Ok(head)
}

/// Dispatches the entries past the position (one batch); how many were read.
/// The entries are read, matched and rendered first; then, under the
/// dispatcher's lock, the messages and deliveries are written if the position
/// has not moved meanwhile (another node dispatched them).
pub async fn dispatch(db: &DatabaseConnection, render: &Render) -> AppResult<usize> {
    let from = position(db).await?;
    if changes::head(db).await? <= from {
        return Ok(0);
    }
    let entries = changes::read(db, from, BATCH).await?;
    let Some(last) = entries.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let endpoints: Vec<(webhook_endpoint::Model, Vec<String>, Filters)> =
        webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Active.eq(true))
            .all(db)
            .await?
            .into_iter()
            .map(|e| {
                let types = serde_json::from_str(&e.event_types).unwrap_or_default();
                let f = Filters::of(&e);
                (e, types, f)
            })
            .collect();
    let mut wanted = Vec::new();
    for entry in &entries {
        let Some(ty) = super::event_of(entry) else {
            continue;
        };
        let targets: Vec<i32> = endpoints
            .iter()
            .filter(|(e, types, f)| {
                e.created_at <= entry.at && super::wants(types, ty) && f.pass(entry)
            })
            .map(|(e, _, _)| e.id)
            .collect();
        if !targets.is_empty() {
            wanted.push((entry, ty, targets));
        }
    }
    let rendered = if wanted.is_empty() {
        HashMap::new()
    } else {
        render(
            db.clone(),
            wanted.iter().map(|(e, _, _)| (*e).clone()).collect(),
        )
        .await?
    };
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let lock = match backend {
        DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let claimed = txn
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT dispatched_seq, epoch FROM webhook_state WHERE id = 1{lock}"),
        ))
        .await?;
    let Some(row) = claimed else {
        txn.rollback().await?;
        return Ok(0);
    };
    let at_now: i64 = row.try_get_by_index(0)?;
    let epoch: String = row.try_get_by_index(1)?;
    if at_now != from {
        // Another node dispatched these meanwhile.
        txn.rollback().await?;
        return Ok(0);
    }
    let at = now();
    for (entry, ty, targets) in &wanted {
        let msg_id = format!("msg_{epoch}_{}", entry.seq);
        let payload = serde_json::json!({
            "type": ty,
            "timestamp": entry.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "data": rendered.get(&entry.seq).cloned().unwrap_or_else(|| minimal(entry)),
        })
        .to_string();
        webhook_message::Entity::insert(webhook_message::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            seq: sea_orm::ActiveValue::Set(entry.seq),
            msg_id: sea_orm::ActiveValue::Set(msg_id.clone()),
            event_type: sea_orm::ActiveValue::Set((*ty).to_owned()),
            payload: sea_orm::ActiveValue::Set(payload),
            created_at: sea_orm::ActiveValue::Set(at),
        })
        .on_conflict_do_nothing_on([webhook_message::Column::MsgId])
        .exec(&*txn)
        .await?;
        let message = webhook_message::Entity::find()
            .filter(webhook_message::Column::MsgId.eq(msg_id))
            .one(&*txn)
            .await?
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound("webhook message".into()))?;
        let rows = targets.iter().map(|e| webhook_delivery::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            endpoint_id: sea_orm::ActiveValue::Set(*e),
            message_id: sea_orm::ActiveValue::Set(message.id),
            state: sea_orm::ActiveValue::Set("pending".into()),
            attempts: sea_orm::ActiveValue::Set(0),
            next_attempt_at: sea_orm::ActiveValue::Set(at),
            lease_until: sea_orm::ActiveValue::Set(None),
            lease_token: sea_orm::ActiveValue::Set(None),
            created_at: sea_orm::ActiveValue::Set(at),
            updated_at: sea_orm::ActiveValue::Set(at),
        });
        webhook_delivery::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([
                webhook_delivery::Column::EndpointId,
                webhook_delivery::Column::MessageId,
            ])
            .exec(&*txn)
            .await?;
    }
    txn.execute(
        &Query::update()
            .table(WebhookState::Table)
            .value(WebhookState::DispatchedSeq, last)
            .and_where(Expr::col(WebhookState::Id).eq(1))
            .to_owned(),
    )
    .await?;
    txn.commit().await?;
    Ok(entries.len())
}

/// The payload `data` of an entry the renderer left out (it cannot happen for
/// an entry with a public event; a safe fallback all the same).
fn minimal(e: &changes::ChangeRow) -> serde_json::Value {
    serde_json::json!({
        "seq": e.seq,
        "kind": e.kind,
        "id": crate::graphql::kind_id(&e.kind, e.object_id).map(|id| id.0),
        "slug": e.slug,
        "version": e.version,
        "at": e.at,
        "data": null,
    })
}

/// A delivery this node holds, with what it needs to send it.
struct Claimed {
    delivery: webhook_delivery::Model,
    token: String,
    endpoint: webhook_endpoint::Model,
    message: webhook_message::Model,
}

/// The deliveries' queue: pending, and their endpoint active.
const QUEUE: lease::Queue = lease::Queue {
    table: "webhook_deliveries",
    alias: "d",
    join: "JOIN webhook_endpoints e ON e.id = d.endpoint_id",
    ready: "d.state = 'pending' AND e.active",
};

/// Claims up to `k` due deliveries for this node.
async fn claim(db: &DatabaseConnection, k: usize) -> AppResult<Vec<Claimed>> {
    let lease::Claimed { ids, token } = QUEUE.claim(db, k, LEASE).await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let endpoints: std::collections::HashMap<i32, webhook_endpoint::Model> =
        webhook_endpoint::Entity::find()
            .filter(
                webhook_endpoint::Column::Id
                    .is_in(deliveries.iter().map(|d| d.endpoint_id).collect::<Vec<_>>()),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let messages: std::collections::HashMap<i64, webhook_message::Model> =
        webhook_message::Entity::find()
            .filter(
                webhook_message::Column::Id
                    .is_in(deliveries.iter().map(|d| d.message_id).collect::<Vec<_>>()),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
    Ok(deliveries
        .into_iter()
        .filter_map(|d| {
            Some(Claimed {
                endpoint: endpoints.get(&d.endpoint_id)?.clone(),
                message: messages.get(&d.message_id)?.clone(),
                token: token.clone(),
                delivery: d,
            })
        })
        .collect())
}

/// Writes an attempt's result, if the lease is still this node's.
async fn settle(
    db: &DatabaseConnection,
    schedule: &[Duration],
    node: &str,
    c: &Claimed,
    a: &send::Attempt,
) -> AppResult<()> {
    let n = c.delivery.attempts + 1;
    let at = now();
    crate::metrics::webhook_attempt(a.outcome.as_str());
    let (state, next) = if a.outcome == Outcome::Ok {
        ("succeeded", at)
    } else if let Some(next) = lease::retry_at(schedule, n, at) {
        ("pending", next)
    } else {
        ("failed", at)
    };
    let txn = begin_write(db).await?;
    use webhook_delivery::Column as D;
    let done = webhook_delivery::Entity::update_many()
        .col_expr(D::State, Expr::value(state))
        .col_expr(D::Attempts, Expr::value(n))
        .col_expr(D::NextAttemptAt, Expr::value(next))
        .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::LeaseToken, Expr::value(Option::<String>::None))
        .col_expr(D::UpdatedAt, Expr::value(at))
        .filter(D::Id.eq(c.delivery.id))
        .filter(D::LeaseToken.eq(c.token.as_str()))
        .exec(&*txn)
        .await?;
    if done.rows_affected == 0 {
        // The lease ran out and another node has it: it records its own try.
        txn.rollback().await?;
        return Ok(());
    }
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        delivery_id: sea_orm::ActiveValue::Set(c.delivery.id),
        at: sea_orm::ActiveValue::Set(at),
        outcome: sea_orm::ActiveValue::Set(a.outcome.as_str().into()),
        response_code: sea_orm::ActiveValue::Set(a.status.map(i32::from)),
        latency_ms: sea_orm::ActiveValue::Set(
            i32::try_from(a.latency.as_millis()).unwrap_or(i32::MAX),
        ),
        response_body: sea_orm::ActiveValue::Set(a.body.clone()),
        node: sea_orm::ActiveValue::Set(node.to_owned()),
    })
    .exec(&*txn)
    .await?;
    if state == "failed" {
        disable_if_failing(&txn, c.endpoint.id, c.delivery.id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Disables an endpoint whose delivery `delivery` failed for good, unless it
/// had a success since that delivery's first attempt.
async fn disable_if_failing(
    txn: &crate::services::WriteTxn,
    endpoint: i32,
    delivery: i64,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    let p = |i: usize| match backend {
        DbBackend::Postgres => format!("${i}"),
        _ => format!("?{i}"),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.endpoint_id = {} AND a.outcome = 'ok' AND a.at >= \
           (SELECT MIN(f.at) FROM webhook_attempts f WHERE f.delivery_id = {})",
        p(1),
        p(2)
    );
    let ok: i64 = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [endpoint.into(), delivery.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index(0))
        .transpose()?
        .unwrap_or(0);
    if ok > 0 {
        return Ok(());
    }
    use webhook_endpoint::Column as E;
    let changed = webhook_endpoint::Entity::update_many()
        .col_expr(E::Active, Expr::value(false))
        .col_expr(E::DisabledReason, Expr::value("failing"))
        .col_expr(E::Version, Expr::col(E::Version).add(1))
        .col_expr(E::UpdatedAt, Expr::value(now()))
        .filter(E::Id.eq(endpoint))
        .filter(E::Active.eq(true))
        .exec(&**txn)
        .await?;
    if changed.rows_affected > 0 {
        tracing::warn!(
            endpoint,
            delivery,
            "webhook endpoint disabled: a delivery failed on every attempt"
        );
        crate::services::audit::record(
            &**txn,
            &Actor::System,
            "disable",
            "webhook_endpoint",
            Some(format!("webhook:{endpoint}")),
            None,
            Some(serde_json::json!({ "active": false, "disabled_reason": "failing", "delivery": delivery })),
        )
        .await?;
    }
    Ok(())
}

/// Drops the messages created before `now - keep` that have no pending
/// delivery left, with their deliveries and attempts (the change log's
/// retention: called from the server's minute loop). Returns how many.
pub async fn prune(db: &DatabaseConnection, keep: Duration) -> AppResult<u64> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let cutoff = now()
        .checked_sub_signed(keep)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let txn = begin_write(db).await?;
    let backend = txn.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?1",
    };
    let gone = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "DELETE FROM webhook_messages WHERE created_at < {p} AND NOT EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = webhook_messages.id \
                  AND d.state = 'pending')"
            ),
            [cutoff.into()],
        ))
        .await?
        .rows_affected();
    txn.commit().await?;
    Ok(gone)
}

/// How many deliveries are pending (the queue) and how many failed for good
/// (while the delivery log keeps them): one statement, for a metrics scrape.
pub async fn backlog(db: &DatabaseConnection) -> AppResult<(i64, i64)> {
    QUEUE.backlog(db).await
}

/// Starts this server's dispatcher and delivery worker.
pub fn start(
    db: DatabaseConnection,
    settings: Settings,
    render: Render,
    stamps: Arc<StampWatch>,
) -> anyhow::Result<()> {
    let client = send::client(&settings.allowed)?;
    let kick = LocalCommits::of(&db);
    let node = format!("{}-{}", std::process::id(), lease::random_hex(3));
    {
        let (db, kick) = (db.clone(), kick.clone());
        tokio::spawn(async move {
            let commits = LocalCommits::of(&db);
            loop {
                let woken = wake(&commits, &stamps);
                match dispatch(&db, &render).await {
                    // More may be waiting right behind a full batch.
                    Ok(n) if n as u64 >= BATCH => {
                        kick.deliveries_changed();
                        continue;
                    }
                    Ok(n) if n > 0 => kick.deliveries_changed(),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook dispatch failed"),
                }
                woken.await;
            }
        });
    }
    let sends = Arc::new(tokio::sync::Semaphore::new(SENDS));
    let settings = Arc::new(settings);
    tokio::spawn(async move {
        loop {
            let free = sends.available_permits();
            // Asleep until the next delivery comes due, or a new message, a
            // settled attempt or a freed send wakes it, or IDLE.
            let mut sleep = IDLE;
            if free > 0 {
                let due = QUEUE.next_due(&db).await;
                if let Ok(Some(at)) = &due {
                    sleep = (*at - now()).to_std().unwrap_or_default().min(IDLE);
                }
                let claimed = match due {
                    Ok(Some(at)) if at <= now() => claim(&db, free).await,
                    Ok(_) => Ok(vec![]),
                    Err(e) => Err(e),
                };
                if matches!(&claimed, Ok(list) if list.is_empty()) && sleep.is_zero() {
                    // Due, but taken in the meantime (another node's claim
                    // not yet committed): look again shortly, not at once.
                    sleep = Duration::from_millis(50);
                }
                match claimed {
                    Ok(list) => {
                        for c in list {
                            let Ok(permit) = sends.clone().acquire_owned().await else {
                                return;
                            };
                            let (db, client, settings, node, kick) = (
                                db.clone(),
                                client.clone(),
                                settings.clone(),
                                node.clone(),
                                kick.clone(),
                            );
                            tokio::spawn(async move {
                                let a = send::send(
                                    &client,
                                    &settings.allowed,
                                    &c.endpoint.url,
                                    &c.endpoint.secret,
                                    &c.message.msg_id,
                                    &c.message.payload,
                                )
                                .await;
                                if let Err(e) = settle(&db, &settings.schedule, &node, &c, &a).await
                                {
                                    tracing::warn!(error = %e, delivery = c.delivery.id, "a webhook attempt was not recorded");
                                }
                                drop(permit);
                                // Its retry (if any) and the freed send: look again.
                                kick.deliveries_changed();
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
                }
            }
            let _ = tokio::time::timeout(sleep, kick.next_deliveries()).await;
        }
    });
    Ok(())
}
