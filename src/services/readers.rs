//! Readers: the fourth kind of principal, signed in by e-mail, with none of the
//! contributors', editors' or admins' powers (`Actor::Reader`).
//!
//! - **Sign-in request** ([`request_sign_in`]): the same answer whether or not
//!   the address has an account (the adapters answer 202 with a fixed body);
//!   a new address gets an unactivated reader. In one transaction a one-time
//!   token is stored (its SHA-256 only; [`SIGN_IN_TTL`], single use) and the
//!   sign-in mail is queued in the outbox with a link to the configured
//!   frontend (`--reader-link-base`, `?token=` appended).
//! - **Session** ([`sign_in`]): the token is taken by one conditional `UPDATE`
//!   (unused, unexpired), so it works once even under concurrent use; the
//!   first use activates the account. The session is an access token (a JWT
//!   with role `reader`, issued by `auth::jwt`) and a refresh token (stored
//!   hashed, [`REFRESH_TTL`]), rotated by [`refresh`] (each works once).
//! - **Account**: [`me`], [`update_me`] (display name, language), [`export`]
//!   (everything stored about the reader), [`delete_me`]: the row stays as a
//!   tombstone with its e-mail and name cleared, so what the reader wrote
//!   stays attributed to "deleted reader"; its tokens are deleted.
//!
//! No address, token or name is ever logged.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::auth::jwt::Keys;
use crate::domain::{FieldError, Language};
use crate::entities::{reader, reader_token};
use crate::error::{AppError, AppResult};
use crate::services::{begin_write, lease, now, outbox};

/// How long a sign-in link works.
pub const SIGN_IN_TTL: chrono::Duration = chrono::Duration::minutes(15);
/// How long a refresh token works.
pub const REFRESH_TTL: chrono::Duration = chrono::Duration::days(30);
/// What every sign-in request is answered, known address or not.
pub const SIGN_IN_ACCEPTED: &str = "If this address can receive e-mail, a sign-in link is on its way; it works once, for 15 minutes.";
/// The name shown for a reader who deleted the account.
pub const DELETED_NAME: &str = "deleted reader";

/// A valid e-mail address, trimmed and lower-cased.
pub fn parse_email(s: &str) -> AppResult<String> {
    let s = s.trim().to_lowercase();
    let bad = |m: &str| AppError::invalid("email", m);
    if s.is_empty() || s.len() > 254 {
        return Err(bad("an e-mail address of at most 254 characters"));
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
    {
        return Err(bad("an e-mail address has no spaces, quotes or <>,;"));
    }
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(s)
        }
        _ => Err(bad("not an e-mail address (name@example.org)")),
    }
}

/// A random token (32 bytes, URL-safe base64) and its stored digest.
fn new_token() -> (String, String) {
    use base64::Engine;
    let mut b = [0u8; 32];
    if getrandom::fill(&mut b).is_err() {
        // Never a guessable token: fall back on two lease tokens' randomness.
        let h = Sha256::digest(format!(
            "{}{}",
            lease::random_hex(16),
            lease::random_hex(16)
        ));
        b.copy_from_slice(&h);
    }
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let digest = digest(&token);
    (token, digest)
}

fn digest(token: &str) -> String {
    Sha256::digest(token.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `link_base` with `token` as its `token` query parameter.
pub(crate) fn link(link_base: &str, token: &str) -> String {
    let sep = if link_base.contains('?') { '&' } else { '?' };
    format!("{link_base}{sep}token={token}")
}

pub(crate) async fn insert_token(
    db: &impl ConnectionTrait,
    reader_id: i32,
    purpose: &str,
    ttl: chrono::Duration,
) -> AppResult<String> {
    let (token, hash) = new_token();
    let at = now();
    reader_token::Entity::insert(reader_token::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        reader_id: Set(reader_id),
        purpose: Set(purpose.into()),
        token_hash: Set(hash),
        created_at: Set(at),
        expires_at: Set(at + ttl),
        used_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(token)
}

/// Sends a sign-in link to `email` (making an unactivated reader for a new
/// address, whose language is `language`, else English), in `language` when
/// given, else in the reader's own. The same outcome whatever the address:
/// the caller cannot tell.
pub async fn request_sign_in(
    db: &sea_orm::DatabaseConnection,
    email: &str,
    language: Option<Language>,
    link_base: &str,
) -> AppResult<()> {
    let email = parse_email(email)?;
    let txn = begin_write(db).await?;
    // Made if new, in one statement whatever the address (so a known and an
    // unknown one cost the same work, and two requests for a new address at
    // once make one reader).
    let at = now();
    reader::Entity::insert(reader::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        email: Set(Some(email.clone())),
        display_name: Set(None),
        language: Set(language.unwrap_or(Language::En).as_str().into()),
        created_at: Set(at),
        updated_at: Set(at),
        activated_at: Set(None),
        deleted_at: Set(None),
    })
    .on_conflict_do_nothing_on([reader::Column::Email])
    .exec(&*txn)
    .await?;
    let r = reader::Entity::find()
        .filter(reader::Column::Email.eq(email.as_str()))
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a reader just made is not there")))?;
    // The page the reader asked from is in `language`; else their own.
    let id = r.id;
    let language = language.unwrap_or_else(|| r.language.parse().unwrap_or(Language::En));
    let token = insert_token(&*txn, id, "sign_in", SIGN_IN_TTL).await?;
    let msg = outbox::templates::sign_in_message(
        &email,
        language,
        &link(link_base, &token),
        SIGN_IN_TTL.num_minutes(),
    )?;
    outbox::enqueue(&txn, msg).await?;
    txn.commit().await?;
    Ok(())
}

/// A reader's session: an access token and the refresh token to renew it.
#[derive(Debug, Serialize)]
pub struct Session {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: i64,
    pub reader: Profile,
}

/// What a reader sees of their account.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
pub struct Profile {
    /// The reader's id.
    pub id: i32,
    pub email: String,
    /// The name shown with the reader's comments (none until set).
    pub display_name: Option<String>,
    /// `en` or `fr`: the language of the reader's e-mail.
    pub language: String,
    pub created_at: DateTime<Utc>,
    /// When the first sign-in link was used.
    pub activated_at: Option<DateTime<Utc>>,
}

fn profile(r: &reader::Model) -> Profile {
    Profile {
        id: r.id,
        email: r.email.clone().unwrap_or_default(),
        display_name: r.display_name.clone(),
        language: r.language.clone(),
        created_at: r.created_at,
        activated_at: r.activated_at,
    }
}

/// Takes the unused, unexpired token of `purpose` (once: a conditional
/// update), and returns its reader.
async fn take_token(
    db: &impl ConnectionTrait,
    token: &str,
    purpose: &str,
    field: &str,
) -> AppResult<i32> {
    let refused = || {
        AppError::Validation(vec![FieldError::new(
            field,
            "unknown, already used or expired: ask for a new one",
        )])
    };
    let hash = digest(token);
    let at = now();
    use reader_token::Column as T;
    let taken = reader_token::Entity::update_many()
        .col_expr(T::UsedAt, Expr::value(Some(at)))
        .filter(T::TokenHash.eq(hash.as_str()))
        .filter(T::Purpose.eq(purpose))
        .filter(T::UsedAt.is_null())
        .filter(T::ExpiresAt.gt(at))
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(refused());
    }
    reader_token::Entity::find()
        .filter(T::TokenHash.eq(hash))
        .one(db)
        .await?
        .map(|t| t.reader_id)
        .ok_or_else(refused)
}

async fn session(db: &impl ConnectionTrait, keys: &Keys, r: &reader::Model) -> AppResult<Session> {
    let refresh_token = insert_token(db, r.id, "refresh", REFRESH_TTL).await?;
    Ok(Session {
        access_token: keys.issue_reader(r.id)?,
        token_type: "Bearer",
        expires_in: crate::auth::jwt::TTL_SECONDS,
        refresh_token,
        refresh_expires_in: REFRESH_TTL.num_seconds(),
        reader: profile(r),
    })
}

async fn live(db: &impl ConnectionTrait, id: i32) -> AppResult<reader::Model> {
    reader::Entity::find_by_id(id)
        .filter(reader::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// Exchanges a sign-in link's token for a session; the first use activates
/// the account.
pub async fn sign_in(
    db: &sea_orm::DatabaseConnection,
    keys: &Keys,
    token: &str,
) -> AppResult<Session> {
    let txn = begin_write(db).await?;
    let id = take_token(&*txn, token, "sign_in", "token").await?;
    let mut r = live(&*txn, id).await?;
    if r.activated_at.is_none() {
        let at = now();
        reader::Entity::update_many()
            .col_expr(reader::Column::ActivatedAt, Expr::value(Some(at)))
            .filter(reader::Column::Id.eq(id))
            .exec(&*txn)
            .await?;
        r.activated_at = Some(at);
    }
    let s = session(&*txn, keys, &r).await?;
    txn.commit().await?;
    Ok(s)
}

/// A new session for a refresh token, which is used up (rotation).
pub async fn refresh(
    db: &sea_orm::DatabaseConnection,
    keys: &Keys,
    token: &str,
) -> AppResult<Session> {
    let txn = begin_write(db).await?;
    let id = take_token(&*txn, token, "refresh", "refresh_token").await?;
    let r = live(&*txn, id).await?;
    let s = session(&*txn, keys, &r).await?;
    txn.commit().await?;
    Ok(s)
}

/// The reader of a reader token's subject (`reader:<id>`), if the account
/// still stands: else the token is refused (401).
pub async fn current(db: &impl ConnectionTrait, subject: &str) -> AppResult<i32> {
    let id: i32 = subject
        .strip_prefix("reader:")
        .and_then(|s| s.parse().ok())
        .ok_or(AppError::Unauthenticated)?;
    live(db, id).await.map(|r| r.id)
}

fn signed_in(actor: &Actor) -> AppResult<i32> {
    match actor {
        Actor::Reader { id } => Ok(*id),
        Actor::Anonymous => Err(AppError::Unauthenticated),
        _ => Err(AppError::Forbidden(
            "only a signed-in reader has a reader account".into(),
        )),
    }
}

/// The caller's own account.
pub async fn me(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Profile> {
    let id = signed_in(actor)?;
    Ok(profile(&live(db, id).await?))
}

/// A change of the caller's account: each field left `None` stays.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// `Some(None)` clears the name.
    pub display_name: Option<Option<String>>,
    pub language: Option<Language>,
}

/// Changes the caller's display name and/or language.
pub async fn update_me(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    patch: ProfilePatch,
) -> AppResult<Profile> {
    let id = signed_in(actor)?;
    let name = match patch.display_name {
        Some(Some(n)) => {
            let n = n.trim().to_owned();
            if n.is_empty() || n.chars().count() > 80 || n.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "display_name",
                    "1 to 80 characters, no control characters (null clears it)",
                ));
            }
            Some(Some(n))
        }
        other => other,
    };
    let txn = begin_write(db).await?;
    live(&*txn, id).await?;
    let mut u = reader::Entity::update_many()
        .col_expr(reader::Column::UpdatedAt, Expr::value(now()))
        .filter(reader::Column::Id.eq(id));
    if let Some(n) = name {
        u = u.col_expr(reader::Column::DisplayName, Expr::value(n));
    }
    if let Some(l) = patch.language {
        u = u.col_expr(reader::Column::Language, Expr::value(l.as_str()));
    }
    u.exec(&*txn).await?;
    let r = live(&*txn, id).await?;
    txn.commit().await?;
    Ok(profile(&r))
}

/// Deletes the caller's account: a tombstone keeps the id (so what they
/// wrote stays attributed to [`DELETED_NAME`]), the e-mail and name go, and
/// every token with them.
pub async fn delete_me(db: &sea_orm::DatabaseConnection, actor: &Actor) -> AppResult<()> {
    let id = signed_in(actor)?;
    let txn = begin_write(db).await?;
    let reader = live(&*txn, id).await?;
    let at = now();
    reader::Entity::update_many()
        .col_expr(reader::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(
            reader::Column::DisplayName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(reader::Column::DeletedAt, Expr::value(Some(at)))
        .col_expr(reader::Column::UpdatedAt, Expr::value(at))
        .filter(reader::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    reader_token::Entity::delete_many()
        .filter(reader_token::Column::ReaderId.eq(id))
        .exec(&*txn)
        .await?;
    // Social sign-in: the provider accounts no longer lead here.
    crate::services::oidc::unlink_all(&*txn, id).await?;
    // The answers kept for `Idempotency-Key` replay hold the address, name
    // and comments: they go too.
    crate::entities::idempotency_key::Entity::delete_many()
        .filter(crate::entities::idempotency_key::Column::Actor.eq(format!("reader:{id}")))
        .exec(&*txn)
        .await?;
    // Newsletters: the address's subscriptions go with it.
    if let Some(email) = &reader.email {
        crate::services::newsletters::forget_address(&*txn, email).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Everything stored about the caller, as JSON: the account and the sign-ins
/// and sessions (times only; tokens are never kept in a readable form).
pub async fn export(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<serde_json::Value> {
    let id = signed_in(actor)?;
    let r = live(db, id).await?;
    let tokens = reader_token::Entity::find()
        .filter(reader_token::Column::ReaderId.eq(id))
        .order_by_asc(reader_token::Column::Id)
        .all(db)
        .await?;
    let tokens: Vec<serde_json::Value> = tokens
        .iter()
        .map(|t| {
            serde_json::json!({
                "purpose": t.purpose,
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "used_at": t.used_at,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "reader": profile(&r),
        "updated_at": r.updated_at,
        "tokens": tokens,
        "comments": super::comments::export(db, id).await?,
        // Newsletters: subscriptions by the account's e-mail address.
        "subscriptions": match &r.email {
            Some(email) => super::newsletters::of_address(db, email).await?,
            None => Vec::new(),
        },
        // Social sign-in: the linked provider accounts.
        "identities": crate::services::oidc::export(db, id).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_and_folded() {
        assert_eq!(parse_email(" Ada@Example.ORG ").unwrap(), "ada@example.org");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "a b@example.org",
            "ada@example",
            "a@b@c.org",
            "<a@b.org>",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(ha, digest(&a));
        assert_eq!(ha.len(), 64);
        assert_eq!(link("https://f.test/in", "t"), "https://f.test/in?token=t");
        assert_eq!(
            link("https://f.test/in?x=1", "t"),
            "https://f.test/in?x=1&token=t"
        );
    }
}
