//! Newsletters: lists administrators keep, double opt-in subscriptions, and
//! issues built from what was published since the list's previous issue.
//!
//! - **Lists**: create, change, delete (administrators, audited); anyone reads
//!   them.
//! - **Subscribe** ([`subscribe`]): the answer never tells whether an address
//!   was new, pending or confirmed. A new, not yet confirmed or unsubscribed
//!   address gets a confirmation mail (and is pending until it confirms), queued through `services::outbox` in the same
//!   transaction as its row; the token is random, only its SHA-256 digest is
//!   stored, and it expires after [`CONFIRM_DAYS`] days. Only confirmed
//!   addresses receive issues.
//! - **Unsubscribe** ([`unsubscribe`]): every issue carries a link signed with
//!   a server key (HMAC-SHA256 over the subscription id; the key is derived
//!   from the token signing secret, so every node and the CLI agree), also as
//!   `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
//!   (RFC 8058); it needs no sign-in.
//! - **Issues** ([`send`]): the articles (mentions) and events that became
//!   public after the previous issue (the first issue: the last
//!   [`FIRST_PERIOD_DAYS`] days): by the change log's position, which the
//!   issue keeps (`log_head`), so a draft recorded long ago and published
//!   today, or a scheduled article come due, is in the next issue; one outbox message per confirmed subscriber
//!   in the subscriber's language, all in one transaction with the issue row.
//!   Nothing new, no issue and no mail; a list's sends take turns (the list's
//!   row is locked on PostgreSQL, the write lock on SQLite), so the same period
//!   is never sent twice, and `newsletter_deliveries` holds one row per issue
//!   and subscription.
//!
//! Nothing here logs an address.

pub mod templates;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::domain::{ArticleStatus, Cursor, FieldError, Language, Page, PageRequest, Role};
use crate::entities::{
    article, event, newsletter, newsletter_delivery, newsletter_issue, newsletter_subscription,
};
use crate::error::{AppError, AppResult};
use crate::services::{WriteTxn, audit, begin_write, changes, lease, now, outbox};

/// How long a confirmation link works.
pub const CONFIRM_DAYS: i64 = 7;
/// The period of a list's first issue.
pub const FIRST_PERIOD_DAYS: i64 = 7;
/// At most this many articles and this many events in one issue (newest first).
pub const MAX_ITEMS: u64 = 100;

/// Slugs that name the API's own pages under `/api/v1/newsletters/`.
const RESERVED: &[&str] = &["confirm", "unsubscribe"];

/// A list as everyone sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = Newsletter)]
#[graphql(name = "Newsletter")]
pub struct Newsletter {
    /// Its name in URLs (`experts-weekly`).
    pub slug: String,
    pub name: String,
    /// `en` or `fr`: the language of a subscriber who names none.
    pub language: String,
    pub description: Option<String>,
    /// What its issues carry: `mentions` (published articles), `events`, or
    /// `all` (both).
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<newsletter::Model> for Newsletter {
    fn from(m: newsletter::Model) -> Self {
        Self {
            slug: m.slug,
            name: m.name,
            language: m.language,
            description: m.description,
            content: m.content,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A subscription as administrators see it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = NewsletterSubscriber)]
#[graphql(name = "NewsletterSubscriber")]
pub struct Subscriber {
    pub id: i32,
    pub email: String,
    /// `en` or `fr`: the language of its issues.
    pub language: String,
    /// `pending` (not confirmed yet), `confirmed` or `unsubscribed`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl From<newsletter_subscription::Model> for Subscriber {
    fn from(m: newsletter_subscription::Model) -> Self {
        Self {
            id: m.id,
            email: m.email,
            language: m.language,
            state: m.state,
            created_at: m.created_at,
            confirmed_at: m.confirmed_at,
            unsubscribed_at: m.unsubscribed_at,
        }
    }
}

/// An issue that was sent.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = NewsletterIssue)]
#[graphql(name = "NewsletterIssue")]
pub struct Issue {
    pub id: i32,
    /// The list's slug.
    pub newsletter: String,
    /// What it covers: published after this time...
    pub period_start: DateTime<Utc>,
    /// ...and up to this one (the next issue starts here).
    pub period_end: DateTime<Utc>,
    /// How many articles (mentions) it holds.
    pub articles: i32,
    /// How many events it holds.
    pub events: i32,
    /// How many confirmed subscribers it was queued for.
    pub recipients: i32,
    pub created_at: DateTime<Utc>,
}

/// A new list, or changes to one (absent fields stay as they are;
/// `description: Some(None)` clears it).
#[derive(Clone, Debug, Default)]
pub struct NewsletterInput {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub language: Option<String>,
    pub description: Option<Option<String>>,
    /// `mentions`, `events` or `all` (created without it: `all`).
    pub content: Option<String>,
}

/// What a list's issues carry.
pub const CONTENTS: &[&str] = &["mentions", "events", "all"];

/// Where the links in newsletter mail point, and the key that signs
/// unsubscribe links.
#[derive(Clone)]
pub struct Links {
    /// This API's public base URL (`https://media.example.org`).
    pub api: String,
    /// A front end's page for confirming and unsubscribing
    /// (`https://example.org/newsletters`: `<it>/confirm?token=...`,
    /// `<it>/unsubscribe?token=...`); else this API's own pages.
    pub frontend: Option<String>,
    key: [u8; 32],
}

impl Links {
    /// Links under `api` (and `frontend`), signed with a key derived from
    /// the token signing secret's `digest_key`.
    pub fn new(api: &str, frontend: Option<&str>, keys: &crate::auth::jwt::Keys) -> Self {
        Self {
            api: api.trim_end_matches('/').to_owned(),
            frontend: frontend
                .map(|f| f.trim_end_matches('/').to_owned())
                .filter(|f| !f.is_empty()),
            key: hmac_sha256::HMAC::mac(b"mediadesk newsletter unsubscribe", keys.digest_key()),
        }
    }

    fn page(&self, what: &str, token: &str) -> String {
        match &self.frontend {
            Some(f) => format!("{f}/{what}?token={token}"),
            None => format!("{}/api/v1/newsletters/{what}?token={token}", self.api),
        }
    }

    /// The confirmation link of `token`.
    pub fn confirm(&self, token: &str) -> String {
        self.page("confirm", token)
    }

    /// The signed unsubscribe token of a subscription: `<id>.<mac>`.
    pub fn unsubscribe_token(&self, subscription: i32) -> String {
        format!("{subscription}.{}", hex(&self.mac(subscription)[..16]))
    }

    fn mac(&self, subscription: i32) -> [u8; 32] {
        hmac_sha256::HMAC::mac(format!("unsubscribe:{subscription}").as_bytes(), self.key)
    }

    /// The subscription a token names, if its signature holds.
    fn verify(&self, token: &str) -> Option<i32> {
        let (id, mac) = token.split_once('.')?;
        let id: i32 = id.parse().ok()?;
        let want = hex(&self.mac(id)[..16]);
        // Constant time: every byte compared.
        let same = want.len() == mac.len()
            && want
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(id)
    }

    /// A fingerprint of the signing key (not the key): what the server
    /// records at start and every send compares ([`record_key`]).
    pub fn fingerprint(&self) -> String {
        hex(&hmac_sha256::HMAC::mac(b"mediadesk newsletter key fingerprint", self.key)[..16])
    }

    /// The page a person opens to unsubscribe (the link in the text).
    pub fn unsubscribe_page(&self, subscription: i32) -> String {
        self.page("unsubscribe", &self.unsubscribe_token(subscription))
    }

    /// The one-click URL of `List-Unsubscribe` (always this API: a mail
    /// client POSTs `List-Unsubscribe=One-Click` to it).
    pub fn one_click(&self, subscription: i32) -> String {
        format!(
            "{}/api/v1/newsletters/unsubscribe?token={}",
            self.api,
            self.unsubscribe_token(subscription)
        )
    }
}

/// The `settings` row that holds the fingerprint of the server's unsubscribe
/// key.
const KEY_SETTING: &str = "newsletter_key";

/// What a send answers when its links would be signed with another key than
/// the server's.
const OTHER_KEY: &str = "the unsubscribe links would be signed with another key than the \
    server's: MEDIADESK_JWT_SECRET (or <data dir>/jwt-secret) differs from the server's, and \
    the server would refuse these links; nothing was sent";

async fn recorded_key(db: &impl ConnectionTrait) -> AppResult<Option<String>> {
    use sea_orm::sea_query::{Alias, Query};
    let q = Query::select()
        .column(Alias::new("value"))
        .from(Alias::new("settings"))
        .and_where(Expr::col(Alias::new("name")).eq(KEY_SETTING))
        .to_owned();
    let row = db.query_one(&q).await?;
    Ok(row.and_then(|r| r.try_get::<String>("", "value").ok()))
}

async fn write_key(db: &impl ConnectionTrait, links: &Links, replace: bool) -> AppResult<()> {
    use sea_orm::sea_query::{Alias, OnConflict, Query};
    let mut on_conflict = OnConflict::column(Alias::new("name"));
    if replace {
        on_conflict.update_column(Alias::new("value"));
    } else {
        on_conflict.do_nothing();
    }
    let q = Query::insert()
        .into_table(Alias::new("settings"))
        .columns([Alias::new("name"), Alias::new("value")])
        .values_panic([KEY_SETTING.into(), links.fingerprint().into()])
        .on_conflict(on_conflict)
        .to_owned();
    db.execute(&q).await?;
    Ok(())
}

/// Records the fingerprint of the server's unsubscribe key (at start: the
/// server's key is the one its links are checked with). A different one
/// recorded before (the token signing secret changed) is replaced, with a
/// warning: links in mail sent before stop working.
///
/// The write takes its turn in the writers' queue (`begin_write`), like every
/// other: on SQLite a bare statement could lose the one write lock, again and
/// again, to the statistics' recount of a freshly imported million articles.
pub async fn record_key(db: &sea_orm::DatabaseConnection, links: &Links) -> AppResult<()> {
    let before = recorded_key(db).await?;
    if before.as_deref() == Some(links.fingerprint().as_str()) {
        return Ok(());
    }
    if before.is_some() {
        tracing::warn!(
            "the newsletter unsubscribe key changed (a new token signing secret): \
             unsubscribe links in newsletters sent before no longer work"
        );
    }
    let txn = begin_write(db).await?;
    write_key(&*txn, links, true).await?;
    txn.commit().await?;
    Ok(())
}

/// Refuses a send whose links would be signed with another key than the one
/// recorded (records it when none is).
async fn check_key(db: &impl ConnectionTrait, links: &Links) -> AppResult<()> {
    write_key(db, links, false).await?;
    match recorded_key(db).await? {
        Some(k) if k != links.fingerprint() => Err(AppError::Conflict(OTHER_KEY.into())),
        _ => Ok(()),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// An e-mail address as stored: trimmed, lowercased, one `@`, a dotted
/// domain, no spaces or characters that need quoting. Parsing only: whether
/// it exists is what the confirmation mail finds out.
pub fn parse_email(s: &str) -> Result<String, String> {
    let s = s.trim().to_lowercase();
    let bad = || Err("must be an e-mail address (name@example.org)".to_owned());
    if s.is_empty() || s.len() > 254 {
        return bad();
    }
    let Some((local, domain)) = s.split_once('@') else {
        return bad();
    };
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
    if local.is_empty()
        || local.len() > 64
        || local.contains(forbidden)
        || domain.contains(forbidden)
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return bad();
    }
    Ok(s)
}

fn language(field: &str, s: &str) -> AppResult<Language> {
    s.parse::<Language>()
        .map_err(|e| AppError::Validation(vec![FieldError::new(field, e)]))
}

/// Every list, by name.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<Newsletter>> {
    Ok(newsletter::Entity::find()
        .order_by_asc(newsletter::Column::Name)
        .order_by_asc(newsletter::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Newsletter::from)
        .collect())
}

async fn row(db: &impl ConnectionTrait, slug: &str) -> AppResult<newsletter::Model> {
    newsletter::Entity::find()
        .filter(newsletter::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no newsletter {slug:?}")))
}

/// One list.
pub async fn get(db: &impl ConnectionTrait, slug: &str) -> AppResult<Newsletter> {
    row(db, slug).await.map(Newsletter::from)
}

/// Checks an input's fields: the errors of all of them at once.
fn check(input: &NewsletterInput, creating: bool) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Some(s) = &input.slug {
        if let Err(e) = crate::domain::Slug::parse(s) {
            errors.push(FieldError::new("slug", e));
        } else if RESERVED.contains(&s.as_str()) {
            errors.push(FieldError::new("slug", "is reserved (a page of the API)"));
        }
    }
    match &input.name {
        Some(n) if n.trim().is_empty() || n.chars().count() > 200 => {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        None if creating => errors.push(FieldError::new("name", "is required")),
        _ => {}
    }
    match &input.language {
        Some(l) if l.parse::<Language>().is_err() => {
            errors.push(FieldError::new("language", "must be en or fr"));
        }
        None if creating => errors.push(FieldError::new("language", "is required")),
        _ => {}
    }
    if let Some(c) = &input.content
        && !CONTENTS.contains(&c.trim())
    {
        errors.push(FieldError::new(
            "content",
            "must be mentions, events or all",
        ));
    }
    if let Some(Some(d)) = &input.description
        && d.chars().count() > 2_000
    {
        errors.push(FieldError::new(
            "description",
            "must be at most 2000 characters",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

fn audited(n: &Newsletter) -> serde_json::Value {
    serde_json::to_value(n).unwrap_or_default()
}

/// The slug a name makes, if it makes one that is not reserved.
fn natural_slug(name: &str) -> AppResult<crate::domain::Slug> {
    let natural = slug::slugify(name);
    if RESERVED.contains(&natural.as_str()) {
        return Err(AppError::invalid(
            "slug",
            format!("give a slug: the name's, {natural:?}, is reserved (a page of the API)"),
        ));
    }
    crate::domain::Slug::parse(&natural)
        .map_err(|_| AppError::invalid("slug", "give a slug: the name makes none"))
}

/// Creates a list (administrators); without a slug, the name's, or its first
/// free `-2`, `-3`, ... (`services::slugs`).
pub async fn create(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: NewsletterInput,
) -> AppResult<Newsletter> {
    actor.require(Role::Admin)?;
    check(&input, true)?;
    let name = input.name.unwrap_or_default().trim().to_owned();
    // Without a slug, the one rule (`services::slugs`): the name's, or its
    // first free `-2`, `-3`, ...; an explicit slug that is taken is a 409.
    let base = match &input.slug {
        Some(_) => None,
        None => Some(natural_slug(&name)?),
    };
    let at = now();
    let txn = begin_write(db).await?;
    let slug = match base {
        Some(base) => {
            super::slugs::claim::<newsletter::Entity>(&*txn, newsletter::Column::Slug, &base)
                .await?
                .into_string()
        }
        None => input.slug.unwrap_or_default(),
    };
    let m = newsletter::ActiveModel {
        id: NotSet,
        slug: Set(slug.clone()),
        name: Set(name),
        language: Set(input.language.unwrap_or_default().trim().to_lowercase()),
        description: Set(input.description.flatten()),
        content: Set(input
            .content
            .map_or_else(|| "all".to_owned(), |c| c.trim().to_owned())),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict(format!("the slug {slug:?} is taken")),
        other => other,
    })?;
    let n = Newsletter::from(m);
    audit::record(
        &*txn,
        actor,
        "create",
        "newsletter",
        Some(n.slug.clone()),
        None,
        Some(audited(&n)),
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

/// Changes a list (administrators).
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    slug: &str,
    input: NewsletterInput,
) -> AppResult<Newsletter> {
    actor.require(Role::Admin)?;
    check(&input, false)?;
    let txn = begin_write(db).await?;
    let old = row(&*txn, slug).await?;
    let before = Newsletter::from(old.clone());
    let mut m: newsletter::ActiveModel = old.into();
    if let Some(s) = input.slug {
        m.slug = Set(s);
    }
    if let Some(n) = input.name {
        m.name = Set(n.trim().to_owned());
    }
    if let Some(l) = input.language {
        m.language = Set(l.trim().to_lowercase());
    }
    if let Some(d) = input.description {
        m.description = Set(d.filter(|d| !d.trim().is_empty()));
    }
    if let Some(c) = input.content {
        m.content = Set(c.trim().to_owned());
    }
    m.updated_at = Set(now());
    let n = Newsletter::from(m.update(&*txn).await?);
    audit::record(
        &*txn,
        actor,
        "update",
        "newsletter",
        Some(n.slug.clone()),
        Some(audited(&before)),
        Some(audited(&n)),
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

/// Deletes a list with its subscriptions and issues (administrators).
pub async fn delete(db: &sea_orm::DatabaseConnection, actor: &Actor, slug: &str) -> AppResult<()> {
    actor.require(Role::Admin)?;
    let txn = begin_write(db).await?;
    let old = row(&*txn, slug).await?;
    // Children first: SQLite does not enforce foreign keys on every connection.
    let issues: Vec<i32> = newsletter_issue::Entity::find()
        .select_only()
        .column(newsletter_issue::Column::Id)
        .filter(newsletter_issue::Column::NewsletterId.eq(old.id))
        .into_tuple()
        .all(&*txn)
        .await?;
    newsletter_delivery::Entity::delete_many()
        .filter(newsletter_delivery::Column::IssueId.is_in(issues))
        .exec(&*txn)
        .await?;
    newsletter_issue::Entity::delete_many()
        .filter(newsletter_issue::Column::NewsletterId.eq(old.id))
        .exec(&*txn)
        .await?;
    newsletter_subscription::Entity::delete_many()
        .filter(newsletter_subscription::Column::NewsletterId.eq(old.id))
        .exec(&*txn)
        .await?;
    newsletter::Entity::delete_by_id(old.id).exec(&*txn).await?;
    audit::record(
        &*txn,
        actor,
        "delete",
        "newsletter",
        Some(old.slug.clone()),
        Some(audited(&Newsletter::from(old))),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Subscribes `email` to the list `slug` (anyone). A new address, one not
/// confirmed yet, or one that unsubscribed gets a confirmation mail with a
/// fresh link and is `pending` (double opt-in again: no issue until it
/// confirms); a confirmed one nothing. `mail_allowed` spends one mail of the
/// address's budget and is asked only when a mail is due, so requests that
/// mail nothing (a confirmed address, an unknown list) spend none; when it
/// says no, nothing changes at all. The caller learns nothing either way: an
/// unknown list is a 404, a malformed address a 422, anything else the same
/// `Ok`.
pub async fn subscribe(
    db: &sea_orm::DatabaseConnection,
    slug: &str,
    email: &str,
    lang: Option<&str>,
    links: &Links,
    mail_allowed: impl AsyncFnOnce() -> bool,
) -> AppResult<()> {
    let email = parse_email(email).map_err(|e| AppError::invalid("email", e))?;
    let lang = lang.map(|l| language("language", l)).transpose()?;
    let list = row(db, slug).await?;
    let lang = match lang {
        Some(l) => l,
        None => language("language", &list.language)?,
    };
    let txn = begin_write(db).await?;
    let existing = newsletter_subscription::Entity::find()
        .filter(newsletter_subscription::Column::NewsletterId.eq(list.id))
        .filter(newsletter_subscription::Column::Email.eq(email.clone()))
        .one(&*txn)
        .await?;
    if existing.as_ref().is_some_and(|s| s.state == "confirmed") {
        return Ok(());
    }
    // A mail is due: past the address's budget nothing changes (an
    // unsubscribed address stays so).
    if !mail_allowed().await {
        return Ok(());
    }
    let token = lease::random_hex(32);
    let at = now();
    let expires = at + Duration::days(CONFIRM_DAYS);
    match existing {
        Some(s) => {
            let resubscribed = s.state == "unsubscribed";
            let mut m: newsletter_subscription::ActiveModel = s.into();
            m.state = Set("pending".into());
            if resubscribed {
                // Confirmed again only by the new link.
                m.confirmed_at = Set(None);
            }
            m.language = Set(lang.as_str().into());
            m.token_hash = Set(Some(digest(&token)));
            m.token_expires_at = Set(Some(expires));
            m.update(&*txn).await?;
        }
        None => {
            let inserted = newsletter_subscription::ActiveModel {
                id: NotSet,
                newsletter_id: Set(list.id),
                email: Set(email.clone()),
                language: Set(lang.as_str().into()),
                state: Set("pending".into()),
                token_hash: Set(Some(digest(&token))),
                token_expires_at: Set(Some(expires)),
                created_at: Set(at),
                confirmed_at: Set(None),
                unsubscribed_at: Set(None),
            }
            .insert(&*txn)
            .await;
            match inserted.map_err(AppError::from) {
                Ok(_) => {}
                // The same address at the same moment: that request mails it.
                Err(AppError::Conflict(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    let msg = templates::confirm_message(
        &email,
        lang,
        &list.name,
        &links.confirm(&token),
        CONFIRM_DAYS,
    )?;
    outbox::enqueue(&txn, msg).await?;
    txn.commit().await?;
    Ok(())
}

/// The pending subscription a confirmation token names (still valid).
async fn by_token(
    db: &impl ConnectionTrait,
    token: &str,
) -> AppResult<newsletter_subscription::Model> {
    let gone = || AppError::NotFound("this confirmation link is not valid (any more)".into());
    if token.is_empty() || token.len() > 200 {
        return Err(gone());
    }
    let s = newsletter_subscription::Entity::find()
        .filter(newsletter_subscription::Column::TokenHash.eq(digest(token)))
        .one(db)
        .await?
        .ok_or_else(gone)?;
    if s.state != "pending" || s.token_expires_at.is_none_or(|e| e < now()) {
        return Err(gone());
    }
    Ok(s)
}

/// The list of a subscription, and the subscription's language (of the pages
/// its links open).
pub type Subscribed = (Newsletter, Language);

async fn list_of(
    db: &impl ConnectionTrait,
    s: &newsletter_subscription::Model,
) -> AppResult<Subscribed> {
    let n = newsletter::Entity::find_by_id(s.newsletter_id)
        .one(db)
        .await?
        .map(Newsletter::from)
        .ok_or_else(|| AppError::NotFound("the newsletter was deleted".into()))?;
    Ok((n, s.language.parse().unwrap_or(Language::En)))
}

/// The list a confirmation token would confirm an address for (nothing
/// changes: the page a person confirms from).
pub async fn confirmation(db: &impl ConnectionTrait, token: &str) -> AppResult<Subscribed> {
    let s = by_token(db, token).await?;
    list_of(db, &s).await
}

/// Confirms the subscription of a confirmation token (the token then stops
/// working).
pub async fn confirm(db: &sea_orm::DatabaseConnection, token: &str) -> AppResult<Subscribed> {
    let txn = begin_write(db).await?;
    let s = by_token(&*txn, token).await?;
    let list = list_of(&*txn, &s).await?;
    let mut m: newsletter_subscription::ActiveModel = s.into();
    m.state = Set("confirmed".into());
    m.confirmed_at = Set(Some(now()));
    m.unsubscribed_at = Set(None);
    m.token_hash = Set(None);
    m.token_expires_at = Set(None);
    m.update(&*txn).await?;
    txn.commit().await?;
    Ok(list)
}

async fn signed(
    db: &impl ConnectionTrait,
    links: &Links,
    token: &str,
) -> AppResult<newsletter_subscription::Model> {
    let gone = || AppError::NotFound("this unsubscribe link is not valid".into());
    let id = links.verify(token).ok_or_else(gone)?;
    newsletter_subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(gone)
}

/// The list a signed unsubscribe token is for (nothing changes).
pub async fn unsubscription(
    db: &impl ConnectionTrait,
    links: &Links,
    token: &str,
) -> AppResult<Subscribed> {
    let s = signed(db, links, token).await?;
    list_of(db, &s).await
}

/// Unsubscribes the subscription of a signed token (anyone holding it; again
/// is fine). No issue reaches it afterwards unless it subscribes and confirms
/// again.
pub async fn unsubscribe(
    db: &sea_orm::DatabaseConnection,
    links: &Links,
    token: &str,
) -> AppResult<Subscribed> {
    let txn = begin_write(db).await?;
    let s = signed(&*txn, links, token).await?;
    let list = list_of(&*txn, &s).await?;
    if s.state != "unsubscribed" {
        let mut m: newsletter_subscription::ActiveModel = s.into();
        m.state = Set("unsubscribed".into());
        m.unsubscribed_at = Set(Some(now()));
        m.token_hash = Set(None);
        m.token_expires_at = Set(None);
        m.update(&*txn).await?;
    }
    txn.commit().await?;
    Ok(list)
}

/// A list's subscribers by id, one keyset page (administrators).
pub async fn subscribers(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
    page: &PageRequest,
) -> AppResult<Page<Subscriber>> {
    actor.require(Role::Admin)?;
    let list = row(db, slug).await?;
    let cursor = page
        .cursor
        .as_ref()
        .map(|c: &Cursor| (sea_orm::Value::from(c.id), c.id));
    let p = super::keyset_page(
        db,
        newsletter_subscription::Entity::find()
            .filter(newsletter_subscription::Column::NewsletterId.eq(list.id)),
        Expr::col((
            newsletter_subscription::Entity,
            newsletter_subscription::Column::Id,
        )),
        Expr::col((
            newsletter_subscription::Entity,
            newsletter_subscription::Column::Id,
        )),
        cursor,
        false,
        page,
    )
    .await?;
    Ok(Page {
        items: p.items.into_iter().map(Subscriber::from).collect(),
        has_next: p.has_next,
        has_previous: p.has_previous,
    })
}

/// Every subscriber of a list by id, for an export (administrators).
pub async fn export(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> AppResult<Vec<Subscriber>> {
    actor.require(Role::Admin)?;
    let list = row(db, slug).await?;
    Ok(newsletter_subscription::Entity::find()
        .filter(newsletter_subscription::Column::NewsletterId.eq(list.id))
        .order_by_asc(newsletter_subscription::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Subscriber::from)
        .collect())
}

/// The subscriptions of one e-mail address, for a reader's data export: each
/// list, its state and times (never a token).
pub async fn of_address(
    db: &impl ConnectionTrait,
    email: &str,
) -> AppResult<Vec<serde_json::Value>> {
    let subs = newsletter_subscription::Entity::find()
        .filter(newsletter_subscription::Column::Email.eq(email.to_lowercase()))
        .order_by_asc(newsletter_subscription::Column::Id)
        .all(db)
        .await?;
    let lists: std::collections::HashMap<i32, newsletter::Model> = newsletter::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    Ok(subs
        .into_iter()
        .map(|s| {
            let list = lists.get(&s.newsletter_id);
            serde_json::json!({
                "newsletter": list.map(|n| n.slug.clone()),
                "name": list.map(|n| n.name.clone()),
                "language": s.language,
                "state": s.state,
                "created_at": s.created_at,
                "confirmed_at": s.confirmed_at,
                "unsubscribed_at": s.unsubscribed_at,
            })
        })
        .collect())
}

/// Drops every subscription of an e-mail address (a reader deleting their
/// account: the address is personal data), in the caller's transaction.
pub async fn forget_address(db: &impl ConnectionTrait, email: &str) -> AppResult<()> {
    newsletter_subscription::Entity::delete_many()
        .filter(newsletter_subscription::Column::Email.eq(email.to_lowercase()))
        .exec(db)
        .await?;
    Ok(())
}

/// The cursor after a subscriber.
pub fn cursor_of(s: &Subscriber) -> Cursor {
    Cursor {
        ts: None,
        text: None,
        num: None,
        id: s.id,
        kind: None,
    }
}

/// One line of an issue.
#[derive(Clone, Debug)]
pub struct Item {
    pub title: String,
    /// The source (articles) or the event's page.
    pub url: Option<String>,
    /// A day (`2026-12-01`).
    pub date: String,
    /// The outlet (articles) or the city (events).
    pub place: Option<String>,
}

/// Sends an issue of the list `slug` (administrators; the CLI as the system):
/// what was published since the previous issue, to every confirmed
/// subscriber. `None` when nothing new was published: no issue, no mail.
pub async fn send(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    slug: &str,
    links: &Links,
) -> AppResult<Option<Issue>> {
    actor.require(Role::Admin)?;
    let txn = begin_write(db).await?;
    let list = row(&*txn, slug).await?;
    check_key(&*txn, links).await?;
    lock(&txn, list.id).await?;
    let last: Option<(DateTime<Utc>, Option<i64>)> = newsletter_issue::Entity::find()
        .select_only()
        .column(newsletter_issue::Column::PeriodEnd)
        .column(newsletter_issue::Column::LogHead)
        .filter(newsletter_issue::Column::NewsletterId.eq(list.id))
        .order_by_desc(newsletter_issue::Column::PeriodEnd)
        .into_tuple()
        .one(&*txn)
        .await?;
    let end = now();
    let head = changes::head(&*txn).await?;
    let period = Period {
        start: last.map_or(end - Duration::days(FIRST_PERIOD_DAYS), |l| l.0),
        end,
        since: last.and_then(|l| l.1),
        head,
    };
    let start = period.start;
    let (mut articles, mut events) = published(&*txn, &period).await?;
    // Only what the list carries.
    match list.content.as_str() {
        "mentions" => events.clear(),
        "events" => articles.clear(),
        _ => {}
    }
    if articles.is_empty() && events.is_empty() {
        txn.rollback().await?;
        return Ok(None);
    }
    let subs = newsletter_subscription::Entity::find()
        .filter(newsletter_subscription::Column::NewsletterId.eq(list.id))
        .filter(newsletter_subscription::Column::State.eq("confirmed"))
        .order_by_asc(newsletter_subscription::Column::Id)
        .all(&*txn)
        .await?;
    let issue = newsletter_issue::ActiveModel {
        id: NotSet,
        newsletter_id: Set(list.id),
        period_start: Set(start),
        period_end: Set(end),
        articles: Set(count(articles.len())),
        events: Set(count(events.len())),
        recipients: Set(count(subs.len())),
        created_at: Set(end),
        created_by: Set(audit::actor_name(actor)),
        log_head: Set(Some(head)),
    }
    .insert(&*txn)
    .await?;
    for s in &subs {
        let lang = s.language.parse::<Language>().unwrap_or(Language::En);
        let msg = templates::issue_message(
            &s.email,
            lang,
            &list,
            &articles,
            &events,
            (start, end),
            links,
            s.id,
        )?;
        let outbox_id = outbox::enqueue(&txn, msg).await?;
        newsletter_delivery::ActiveModel {
            issue_id: Set(issue.id),
            subscription_id: Set(s.id),
            outbox_id: Set(outbox_id),
        }
        .insert(&*txn)
        .await?;
    }
    let out = Issue {
        id: issue.id,
        newsletter: list.slug.clone(),
        period_start: issue.period_start,
        period_end: issue.period_end,
        articles: issue.articles,
        events: issue.events,
        recipients: issue.recipients,
        created_at: issue.created_at,
    };
    audit::record(
        &*txn,
        actor,
        "send",
        "newsletter_issue",
        Some(issue.id.to_string()),
        None,
        Some(serde_json::to_value(&out).unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(out))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Makes a list's sends take turns: on PostgreSQL the list's row is locked
/// until the transaction ends (SQLite's write lock already serializes).
async fn lock(txn: &WriteTxn, id: i32) -> AppResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM newsletters WHERE id = $1 FOR UPDATE",
            [id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// What an issue covers: the times `(start, end]` and the change log's
/// positions `(since, head]` (`since`: the previous issue's head, `None` for
/// the first issue and issues from before the column).
struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    since: Option<i64>,
    head: i64,
}

/// `"{table}"."id" IN` the objects of `kind` the change log shows becoming
/// public (`was_public` false, `is_public` true) within the period: by log
/// position after the previous issue's head, else (the first issue) in a
/// batch of the period. A draft published today, a scheduled article come
/// due and a re-published one are all such entries, whenever recorded.
fn became_public(table: &str, kind: &str, p: &Period) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Alias, JoinType, Query};
    let c = |col: &str| Expr::col((Alias::new("c"), Alias::new(col)));
    let b = |col: &str| Expr::col((Alias::new("b"), Alias::new(col)));
    let seq = || b("first_seq").add(c("ord")).sub(1);
    let sub = Query::select()
        .expr(c("object_id"))
        .from_as(Alias::new("changes"), Alias::new("c"))
        .join_as(
            JoinType::InnerJoin,
            Alias::new("change_batches"),
            Alias::new("b"),
            b("batch").eq(c("batch")),
        )
        .and_where(c("kind").eq(kind))
        .and_where(c("is_public").eq(true))
        .and_where(c("was_public").eq(false))
        .and_where(b("first_seq").is_not_null())
        .and_where(seq().lte(p.head))
        .and_where(match p.since {
            Some(since) => seq().gt(since),
            None => b("at").gt(p.start),
        })
        .to_owned();
    Expr::col((Alias::new(table), Alias::new("id"))).in_subquery(sub)
}

/// What became public in the period: articles the public may see now that the
/// change log shows becoming public in it, or whose publication (the later of
/// their recording and `publish_at`) falls in its times; published events
/// likewise. Newest articles first, events by date.
async fn published(db: &impl ConnectionTrait, p: &Period) -> AppResult<(Vec<Item>, Vec<Item>)> {
    use article::Column as A;
    let (start, end) = (p.start, p.end);
    let mut q = article::Entity::find();
    if let Some(c) = super::articles::visible(&Actor::Anonymous) {
        q = q.filter(c);
    }
    let rows = q
        .filter(
            // Public from the later of its recording and its publish time.
            Condition::any()
                .add(became_public("articles", "article", p))
                .add(
                    Condition::all()
                        .add(
                            Condition::any()
                                .add(A::PublishAt.is_null())
                                .add(Expr::col(A::PublishAt).lte(Expr::col(A::CreatedAt))),
                        )
                        .add(A::CreatedAt.gt(start))
                        .add(A::CreatedAt.lte(end)),
                )
                .add(
                    Condition::all()
                        .add(Expr::col(A::PublishAt).gt(Expr::col(A::CreatedAt)))
                        .add(A::PublishAt.gt(start))
                        .add(A::PublishAt.lte(end)),
                ),
        )
        .order_by_desc(A::PublishedAt)
        .order_by_desc(A::Id)
        .limit(MAX_ITEMS)
        .all(db)
        .await?;
    let outlet_ids: Vec<i32> = rows.iter().filter_map(|a| a.outlet_id).collect();
    let outlets: std::collections::HashMap<i32, String> = crate::entities::outlet::Entity::find()
        .filter(crate::entities::outlet::Column::Id.is_in(outlet_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let articles = rows
        .into_iter()
        .map(|a| Item {
            place: a.outlet_id.and_then(|o| outlets.get(&o).cloned()),
            title: a.title,
            url: a.url,
            date: a.published_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let events = event::Entity::find()
        .filter(event::Column::Status.eq(ArticleStatus::Published.as_str()))
        .filter(
            Condition::any()
                .add(became_public("events", "event", p))
                .add(
                    Condition::all()
                        .add(event::Column::CreatedAt.gt(start))
                        .add(event::Column::CreatedAt.lte(end)),
                ),
        )
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .limit(MAX_ITEMS)
        .all(db)
        .await?
        .into_iter()
        .map(|e| Item {
            title: e.title,
            url: e.registration_url,
            date: e.starts_at.format("%Y-%m-%d").to_string(),
            place: e.city,
        })
        .collect();
    Ok((articles, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_parsed_and_lowercased() {
        assert_eq!(
            parse_email(" Ann@Example.ORG ").as_deref(),
            Ok("ann@example.org")
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.org",
            "a b@example.org",
            "ann@localhost",
            "a@b@c.org",
            "<a@b.org>",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unsubscribe_tokens_verify_only_as_signed() {
        let keys = crate::auth::jwt::Keys::from_secret(&[7u8; 40]).expect("keys");
        let links = Links::new("https://x.test/", None, &keys);
        let t = links.unsubscribe_token(42);
        assert_eq!(links.verify(&t), Some(42));
        assert_eq!(links.verify(&t.replacen("42.", "43.", 1)), None);
        assert_eq!(links.verify("42.00"), None);
        let other = crate::auth::jwt::Keys::from_secret(&[8u8; 40]).expect("keys");
        assert_eq!(Links::new("https://x.test", None, &other).verify(&t), None);
        assert!(
            links
                .one_click(42)
                .starts_with("https://x.test/api/v1/newsletters/unsubscribe?token=42.")
        );
    }
}
