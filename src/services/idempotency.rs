//! `Idempotency-Key`: a caller that retries a POST with the same key gets the
//! first answer again instead of a second write. A key is claimed before the
//! request runs (so two concurrent requests with one key cannot both write),
//! completed with the answer, or released when the request failed so that it
//! can be retried. Keys belong to one caller and expire after a day.
//!
//! An answer that carries a secret (a new API key, an access token) is never
//! stored: a secret is shown once and written nowhere in clear. Its key is kept
//! without the answer, so a retry is a 409 that says the request was done and
//! its secret was shown once, never a second write and never the secret again.

use chrono::Duration;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::entities::idempotency_key;
use crate::error::{AppError, AppResult};

/// How long an answer is kept for replay.
const KEEP_HOURS: i64 = 24;

/// A stored first answer.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// `None` when the answer carried a secret and was not kept.
    pub body: Option<String>,
}

/// What a claim found.
pub enum Claim {
    /// The key is new: run the request, then `complete` or `release`.
    Fresh,
    /// The same request was answered before.
    Replay(Answer),
}

/// Checks a key's form: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> AppResult<()> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(())
}

async fn find(
    db: &DatabaseConnection,
    actor: &str,
    key: &str,
) -> AppResult<Option<idempotency_key::Model>> {
    Ok(idempotency_key::Entity::find()
        .filter(idempotency_key::Column::Actor.eq(actor))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await?)
}

/// What is stored for a key: the request's hash and, once it finished, the answer.
pub struct Stored {
    pub request_hash: String,
    pub answer: Option<Answer>,
}

/// The live (unexpired) record of `key`, if any.
pub async fn stored(db: &DatabaseConnection, actor: &str, key: &str) -> AppResult<Option<Stored>> {
    let Some(row) = find(db, actor, key).await? else {
        return Ok(None);
    };
    if row.created_at < super::now() - Duration::hours(KEEP_HOURS) {
        release(db, actor, key).await?;
        return Ok(None);
    }
    Ok(Some(Stored {
        request_hash: row.request_hash,
        answer: (row.status != 0).then(|| Answer {
            status: u16::try_from(row.status).unwrap_or(200),
            location: row.location,
            body: row.response,
        }),
    }))
}

/// Compares a stored key with a new request: a replay when the request is the
/// same, a 409 while the first one still runs, a 422 for a different request.
pub fn replay(stored: Stored, request_hash: &str) -> AppResult<Answer> {
    match stored.answer {
        None => Err(AppError::Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        )),
        Some(_) if stored.request_hash != request_hash => Err(AppError::Unprocessable(vec![
            crate::domain::FieldError::new(
                "Idempotency-Key",
                "was already used with a different request; use a new key for a new request",
            ),
        ])),
        Some(Answer { body: None, .. }) => Err(AppError::Conflict(
            "a request with this Idempotency-Key was already done; its answer held a secret, \
             which is shown once and not kept (list what exists, or send a new request with a new key)"
                .into(),
        )),
        Some(answer) => Ok(answer),
    }
}

async fn earlier(
    db: &DatabaseConnection,
    actor: &str,
    key: &str,
    request_hash: &str,
) -> AppResult<Option<Answer>> {
    match stored(db, actor, key).await? {
        Some(s) => replay(s, request_hash).map(Some),
        None => Ok(None),
    }
}

/// Claims `key` for a request, or finds the earlier answer to it.
pub async fn claim(
    db: &DatabaseConnection,
    actor: &str,
    key: &str,
    request_hash: &str,
) -> AppResult<Claim> {
    if let Some(answer) = earlier(db, actor, key, request_hash).await? {
        return Ok(Claim::Replay(answer));
    }
    let row = idempotency_key::ActiveModel {
        actor: Set(actor.into()),
        key: Set(key.into()),
        request_hash: Set(request_hash.into()),
        status: Set(0),
        location: Set(None),
        response: Set(None),
        created_at: Set(super::now()),
    };
    // Keep each caller's table small: its expired keys go as it makes new ones.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Actor.eq(actor))
        .filter(idempotency_key::Column::CreatedAt.lt(super::now() - Duration::hours(KEEP_HOURS)))
        .exec(db)
        .await?;
    match row.insert(db).await {
        Ok(_) => Ok(Claim::Fresh),
        // Another request claimed it between our look and our insert.
        Err(e) => match AppError::from(e) {
            AppError::Conflict(_) => match earlier(db, actor, key, request_hash).await? {
                Some(answer) => Ok(Claim::Replay(answer)),
                None => Err(AppError::Conflict(
                    "a request with this Idempotency-Key is still being processed".into(),
                )),
            },
            other => Err(other),
        },
    }
}

/// Stores the answer to a claimed key (and the request's hash, when it was
/// only known once the body had been read). Give an answer that carries a
/// secret with `body: None`: only that the request was done is kept.
pub async fn complete(
    db: &DatabaseConnection,
    actor: &str,
    key: &str,
    request_hash: &str,
    answer: &Answer,
) -> AppResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            Expr::val(i32::from(answer.status)),
        )
        .col_expr(
            idempotency_key::Column::RequestHash,
            Expr::val(request_hash.to_owned()),
        )
        .col_expr(
            idempotency_key::Column::Location,
            Expr::val(answer.location.clone()),
        )
        .col_expr(
            idempotency_key::Column::Response,
            Expr::val(answer.body.clone()),
        )
        .filter(idempotency_key::Column::Actor.eq(actor))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets a claimed key (the request failed and may be retried).
pub async fn release(db: &DatabaseConnection, actor: &str, key: &str) -> AppResult<()> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Actor.eq(actor))
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
