//! Webhooks, fed from the change log (`services::changes`): administrators
//! register endpoints (URL, event types, optional filters by expert, outlet or
//! topic, active flag); every committed change the anonymous public can see
//! becomes a message to each endpoint that wants it, signed as the Standard
//! Webhooks specification says (`send`), retried with backoff and jitter for
//! about a day, and logged attempt by attempt.
//!
//! - **Admin** (this module): `list`, `get`, `create` (the secret is returned
//!   once, like an API key's), `update` (re-enabling clears
//!   `disabled_reason`), `delete`, `rotate_secret`, `deliveries`, `redeliver`;
//!   administrators only, audited, the secret never audited, logged or shown
//!   again. Not change-log content: nothing here calls `changes::record`.
//! - **Events** ([`event_of`]): the public view of an entry (D3): `touch`
//!   entries and entries the public cannot see are never sent, so a draft never
//!   triggers a webhook; publishing is `article.published`, unpublishing
//!   `article.unpublished`.
//! - **Dispatch and delivery** (`worker`): one node at a time turns new log
//!   entries into messages and deliveries; every node claims due deliveries
//!   under a lease and sends them outside any transaction (`worker`'s header).
//! - **SSRF** (`guard`): only public destinations, checked on resolved
//!   addresses, unless `--webhook-allow-cidr` lets a range through.

pub mod guard;
pub mod send;
pub mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::auth::Actor;
use crate::domain::{FieldError, Role};
use crate::entities::{
    expert, outlet, topic, webhook_attempt, webhook_delivery, webhook_endpoint, webhook_message,
};
use crate::error::{AppError, AppResult};

pub use guard::Allowed;

/// Every event type, in the order the docs list them.
pub const EVENT_TYPES: &[&str] = &[
    "article.published",
    "article.updated",
    "article.unpublished",
    "article.deleted",
    "mention.recorded",
    "expert.created",
    "expert.updated",
    "expert.deleted",
    "outlet.created",
    "outlet.updated",
    "outlet.deleted",
    "topic.created",
    "topic.updated",
    "topic.deleted",
    "event.published",
    "event.updated",
    "event.unpublished",
    "event.deleted",
    "site.updated",
];

/// The default retry delays after each failed attempt (8 attempts over
/// about 27.6 hours), each stretched by a random 0.8 to 1.2.
pub const RETRY_SCHEDULE: &[u64] = &[5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// How webhooks behave in this server (from `serve`'s flags).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Ranges let through the SSRF guard (`--webhook-allow-cidr`).
    pub allowed: Allowed,
    /// The delays between attempts (`--webhook-retry-schedule`).
    pub schedule: Vec<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allowed: Allowed::default(),
            schedule: RETRY_SCHEDULE
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        }
    }
}

/// What the public view of a change log entry sends, if anything: the sync
/// API's event for an anonymous caller (`sync::view`), but `mention.recorded`
/// for a mention public at once, and nothing for a `touch` (a name embedded
/// from another object changed).
pub fn event_of(row: &super::changes::ChangeRow) -> Option<&'static str> {
    if row.op == "touch" {
        return None;
    }
    let (_, what) = super::sync::view(&Actor::Anonymous, row)?;
    if row.kind == "article" && what == "published" && row.cause == "mention" && row.op == "create"
    {
        return Some("mention.recorded");
    }
    EVENT_TYPES
        .iter()
        .copied()
        .find(|t| t.split_once('.') == Some((row.kind.as_str(), what)))
}

/// Does a list of wanted types (`*`, `article.*`, `article.published`) take `ty`?
pub fn wants(types: &[String], ty: &str) -> bool {
    types.iter().any(|t| {
        t == "*"
            || t == ty
            || t.strip_suffix(".*")
                .is_some_and(|k| ty.split_once('.').is_some_and(|(tk, _)| tk == k))
    })
}

fn ids_of(json: &Option<String>) -> Option<Vec<i32>> {
    json.as_deref()
        .and_then(|s| serde_json::from_str::<Vec<i32>>(s).ok())
        .filter(|v| !v.is_empty())
}

/// An endpoint's filters, by id.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub experts: Option<Vec<i32>>,
    pub outlets: Option<Vec<i32>>,
    pub topics: Option<Vec<i32>>,
}

impl Filters {
    pub fn of(e: &webhook_endpoint::Model) -> Self {
        Self {
            experts: ids_of(&e.expert_ids),
            outlets: ids_of(&e.outlet_ids),
            topics: ids_of(&e.topic_ids),
        }
    }

    /// Does an entry pass? Articles (their `refs`, as they were after the
    /// write, before it for a delete) must match every filter given (any of
    /// its listed ids); an expert, outlet or topic must be listed when the
    /// endpoint filters on its kind; events and the site pass.
    pub fn pass(&self, row: &super::changes::ChangeRow) -> bool {
        let listed = |f: &Option<Vec<i32>>, id: i32| f.as_ref().is_none_or(|ids| ids.contains(&id));
        match row.kind.as_str() {
            "article" => {
                #[derive(serde::Deserialize, Default)]
                struct Refs {
                    o: Option<i32>,
                    #[serde(default)]
                    e: Vec<i32>,
                    #[serde(default)]
                    t: Vec<i32>,
                }
                let refs: Refs = row
                    .refs
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok())
                    .unwrap_or_default();
                let any = |f: &Option<Vec<i32>>, have: &[i32]| {
                    f.as_ref()
                        .is_none_or(|ids| have.iter().any(|h| ids.contains(h)))
                };
                any(&self.experts, &refs.e)
                    && any(&self.topics, &refs.t)
                    && any(&self.outlets, refs.o.as_slice())
            }
            "expert" => listed(&self.experts, row.object_id),
            "outlet" => listed(&self.outlets, row.object_id),
            "topic" => listed(&self.topics, row.object_id),
            _ => true,
        }
    }
}

/// An endpoint as administrators see it (never its secret).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = WebhookEndpoint)]
#[graphql(name = "WebhookEndpoint")]
pub struct Endpoint {
    pub id: i32,
    pub url: String,
    pub description: Option<String>,
    /// Event types it receives (`*`: all; `article.*`: every article event).
    pub events: Vec<String>,
    /// Only articles with one of these experts (and experts among them), by slug.
    pub experts: Vec<String>,
    /// Only articles of one of these outlets (and outlets among them).
    pub outlets: Vec<String>,
    /// Only articles with one of these topics (and topics among them).
    pub topics: Vec<String>,
    pub active: bool,
    /// Why the server disabled it (`failing`), if it did.
    pub disabled_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
}

/// A new endpoint, or changes to one (absent fields stay as they are; an empty
/// filter list removes that filter).
#[derive(Clone, Debug, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub experts: Option<Vec<String>>,
    pub outlets: Option<Vec<String>>,
    pub topics: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Checks an endpoint URL: http or https, a host, no user info or fragment,
/// and no IP literal the guard refuses.
fn check_url(url: &str, allowed: &Allowed) -> Result<String, FieldError> {
    let url = url.trim();
    let bad = |m: &str| FieldError::new("url", m);
    if url.len() > 2000 {
        return Err(bad("must be at most 2000 characters"));
    }
    let u = url::Url::parse(url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if u.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    guard::check_host(&u, allowed).map_err(|r| {
        bad(&format!(
            "{r} (private, loopback, link-local and other special addresses are refused)"
        ))
    })?;
    Ok(u.to_string())
}

fn check_events(events: &[String]) -> Result<Vec<String>, FieldError> {
    if events.is_empty() {
        return Err(FieldError::new(
            "events",
            "must name at least one event type (or \"*\")",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        let known = e == "*"
            || EVENT_TYPES.contains(&e)
            || e.strip_suffix(".*").is_some_and(|k| {
                EVENT_TYPES
                    .iter()
                    .any(|t| t.split_once('.').is_some_and(|(tk, _)| tk == k))
            });
        if !known {
            return Err(FieldError::new(
                "events",
                format!(
                    "{e:?} is not an event type (one of {}, \"<kind>.*\" or \"*\")",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

/// The ids of these slugs of kind `E`; unknown ones are errors of `field`.
async fn ids_by_slugs<E: super::Slugged>(
    db: &impl ConnectionTrait,
    field: &str,
    slugs: &[String],
    errors: &mut Vec<FieldError>,
) -> AppResult<Option<String>> {
    let mut ids = Vec::new();
    for s in slugs {
        match super::id_by_slug::<E>(db, s.trim()).await? {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => errors.push(FieldError::new(field, format!("no {field} {s:?}"))),
        }
    }
    Ok((!ids.is_empty()).then(|| serde_json::json!(ids).to_string()))
}

/// The slugs of these stored ids of kind `E`, in the stored order.
async fn slugs_of<E: super::Slugged>(
    db: &impl ConnectionTrait,
    ids: &Option<String>,
    slug: impl Fn(&E::Model) -> (i32, String),
) -> AppResult<Vec<String>>
where
    E::Model: Send + Sync,
{
    let Some(ids) = ids_of(ids) else {
        return Ok(vec![]);
    };
    let found: std::collections::HashMap<i32, String> = super::by_ids::<E>(db, E::find(), &ids)
        .await?
        .iter()
        .map(slug)
        .collect();
    Ok(ids.iter().filter_map(|i| found.get(i).cloned()).collect())
}

/// The administrators' view of a stored endpoint.
pub async fn view(db: &impl ConnectionTrait, e: &webhook_endpoint::Model) -> AppResult<Endpoint> {
    Ok(Endpoint {
        id: e.id,
        url: e.url.clone(),
        description: e.description.clone(),
        events: serde_json::from_str(&e.event_types).unwrap_or_default(),
        experts: slugs_of::<expert::Entity>(db, &e.expert_ids, |m| (m.id, m.slug.clone())).await?,
        outlets: slugs_of::<outlet::Entity>(db, &e.outlet_ids, |m| (m.id, m.slug.clone())).await?,
        topics: slugs_of::<topic::Entity>(db, &e.topic_ids, |m| (m.id, m.slug.clone())).await?,
        active: e.active,
        disabled_reason: e.disabled_reason.clone(),
        version: e.version,
        created_at: e.created_at,
        updated_at: e.updated_at,
        created_by: e.created_by.clone(),
    })
}

fn audit_json(v: &Endpoint) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

async fn find(db: &impl ConnectionTrait, id: i32) -> AppResult<webhook_endpoint::Model> {
    webhook_endpoint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no webhook endpoint with id {id}")))
}

/// Every endpoint, oldest first (administrators).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<Endpoint>> {
    actor.require(Role::Admin)?;
    let rows = webhook_endpoint::Entity::find()
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(db, r).await?);
    }
    Ok(out)
}

/// One endpoint (administrators).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: i32) -> AppResult<Endpoint> {
    actor.require(Role::Admin)?;
    view(db, &find(db, id).await?).await
}

/// Applies `input` to `am`, checking every field; all errors at once.
async fn apply(
    db: &impl ConnectionTrait,
    am: &mut webhook_endpoint::ActiveModel,
    input: EndpointInput,
    allowed: &Allowed,
) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Some(u) = input.url {
        match check_url(&u, allowed) {
            Ok(u) => am.url = Set(u),
            Err(e) => errors.push(e),
        }
    }
    if let Some(d) = input.description {
        match crate::domain::clean_optional("description", d.as_deref(), 500) {
            Ok(d) => am.description = Set(d),
            Err(e) => errors.push(e),
        }
    }
    if let Some(ev) = input.events {
        match check_events(&ev) {
            Ok(ev) => am.event_types = Set(serde_json::json!(ev).to_string()),
            Err(e) => errors.push(e),
        }
    }
    if let Some(s) = input.experts {
        am.expert_ids = Set(ids_by_slugs::<expert::Entity>(db, "expert", &s, &mut errors).await?);
    }
    if let Some(s) = input.outlets {
        am.outlet_ids = Set(ids_by_slugs::<outlet::Entity>(db, "outlet", &s, &mut errors).await?);
    }
    if let Some(s) = input.topics {
        am.topic_ids = Set(ids_by_slugs::<topic::Entity>(db, "topic", &s, &mut errors).await?);
    }
    if let Some(a) = input.active {
        am.active = Set(a);
        if a {
            am.disabled_reason = Set(None);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Unprocessable(errors))
    }
}

fn no_randomness(e: getrandom::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("no randomness: {e}"))
}

/// Creates an endpoint (administrators); returns it and its secret, which is
/// shown this once.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    input: EndpointInput,
    allowed: &Allowed,
) -> AppResult<(Endpoint, String)> {
    actor.require(Role::Admin)?;
    if input.url.is_none() {
        return Err(AppError::Unprocessable(vec![FieldError::new(
            "url",
            "is required",
        )]));
    }
    let secret = send::new_secret().map_err(no_randomness)?;
    let now = super::now();
    let mut am = webhook_endpoint::ActiveModel {
        id: NotSet,
        url: NotSet,
        description: Set(None),
        event_types: Set(r#"["*"]"#.into()),
        expert_ids: Set(None),
        outlet_ids: Set(None),
        topic_ids: Set(None),
        secret: Set(secret.clone()),
        active: Set(true),
        disabled_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set(super::audit::actor_name(actor)),
    };
    let txn = super::begin_write(db).await?;
    apply(&*txn, &mut am, input, allowed).await?;
    let row = am.insert(&*txn).await?;
    let v = view(&*txn, &row).await?;
    super::audit::record(
        &*txn,
        actor,
        "create",
        "webhook_endpoint",
        Some(format!("webhook:{}", row.id)),
        None,
        Some(audit_json(&v)),
    )
    .await?;
    txn.commit().await?;
    Ok((v, secret))
}

/// Changes an endpoint (administrators). `active: true` re-enables one the
/// server disabled.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    input: EndpointInput,
    allowed: &Allowed,
) -> AppResult<Endpoint> {
    actor.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    let row = find(&*txn, id).await?;
    let before = view(&*txn, &row).await?;
    let version = row.version;
    let mut am: webhook_endpoint::ActiveModel = row.into();
    apply(&*txn, &mut am, input, allowed).await?;
    am.version = Set(version + 1);
    am.updated_at = Set(super::now());
    let row = am.update(&*txn).await?;
    let after = view(&*txn, &row).await?;
    super::audit::record(
        &*txn,
        actor,
        "update",
        "webhook_endpoint",
        Some(format!("webhook:{id}")),
        Some(audit_json(&before)),
        Some(audit_json(&after)),
    )
    .await?;
    txn.commit().await?;
    // Re-enabled: its pending deliveries are due again.
    super::content::LocalCommits::of(db).deliveries_changed();
    Ok(after)
}

/// Deletes an endpoint and its deliveries (administrators).
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: i32) -> AppResult<()> {
    actor.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    let row = find(&*txn, id).await?;
    let before = view(&*txn, &row).await?;
    webhook_endpoint::Entity::delete_by_id(id)
        .exec(&*txn)
        .await?;
    super::audit::record(
        &*txn,
        actor,
        "delete",
        "webhook_endpoint",
        Some(format!("webhook:{id}")),
        Some(audit_json(&before)),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives an endpoint a new secret, returned this once (administrators). The
/// old one stops signing at once.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
) -> AppResult<(Endpoint, String)> {
    actor.require(Role::Admin)?;
    let secret = send::new_secret().map_err(no_randomness)?;
    let txn = super::begin_write(db).await?;
    let row = find(&*txn, id).await?;
    let version = row.version;
    let mut am: webhook_endpoint::ActiveModel = row.into();
    am.secret = Set(secret.clone());
    am.version = Set(version + 1);
    am.updated_at = Set(super::now());
    let row = am.update(&*txn).await?;
    let v = view(&*txn, &row).await?;
    // The audit says that it happened, never what the secret is.
    super::audit::record(
        &*txn,
        actor,
        "rotate_secret",
        "webhook_endpoint",
        Some(format!("webhook:{id}")),
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok((v, secret))
}

/// One attempt of a delivery, as the log shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = WebhookAttempt)]
#[graphql(name = "WebhookAttempt")]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// `ok`, `http_status`, `redirect`, `timeout`, `refused` or `connect`.
    pub outcome: String,
    pub response_code: Option<i32>,
    pub latency_ms: i32,
    /// The first KiB of the answer (or why there was none).
    pub response_body: String,
    /// The server process that sent it (`<pid>-<random>`).
    pub node: String,
}

/// A delivery and its attempts, newest last.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[schema(as = WebhookDelivery)]
#[graphql(name = "WebhookDelivery")]
pub struct Delivery {
    pub id: i64,
    /// The `webhook-id` header: the same on every attempt.
    pub message_id: String,
    pub event_type: String,
    /// The change log entry it announces.
    pub seq: i64,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attempts: Vec<AttemptView>,
}

async fn delivery_views(
    db: &impl ConnectionTrait,
    rows: Vec<webhook_delivery::Model>,
) -> AppResult<Vec<Delivery>> {
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let msg_ids: Vec<i64> = rows.iter().map(|d| d.message_id).collect();
    let messages: std::collections::HashMap<i64, webhook_message::Model> =
        webhook_message::Entity::find()
            .filter(webhook_message::Column::Id.is_in(msg_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
    let mut attempts: std::collections::HashMap<i64, Vec<AttemptView>> = Default::default();
    for a in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?
    {
        attempts
            .entry(a.delivery_id)
            .or_default()
            .push(AttemptView {
                at: a.at,
                outcome: a.outcome,
                response_code: a.response_code,
                latency_ms: a.latency_ms,
                response_body: a.response_body,
                node: a.node,
            });
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let m = messages.get(&d.message_id);
            Delivery {
                id: d.id,
                message_id: m.map(|m| m.msg_id.clone()).unwrap_or_default(),
                event_type: m.map(|m| m.event_type.clone()).unwrap_or_default(),
                seq: m.map_or(0, |m| m.seq),
                next_attempt_at: (d.state == "pending").then_some(d.next_attempt_at),
                state: d.state,
                created_at: d.created_at,
                updated_at: d.updated_at,
                attempts: attempts.remove(&d.id).unwrap_or_default(),
            }
        })
        .collect())
}

/// An endpoint's deliveries, newest first: at most `limit` of those before the
/// delivery `before` (administrators). Returns them and the cursor of the next
/// page, if there is one.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    actor: &Actor,
    endpoint: i32,
    limit: u64,
    before: Option<i64>,
) -> AppResult<(Vec<Delivery>, Option<i64>)> {
    actor.require(Role::Admin)?;
    find(db, endpoint).await?;
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit + 1);
    if let Some(b) = before {
        q = q.filter(webhook_delivery::Column::Id.lt(b));
    }
    let mut rows = q.all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = more.then(|| rows.last().map(|d| d.id)).flatten();
    Ok((delivery_views(db, rows).await?, next))
}

/// Sends a delivery again (administrators): it is pending now, with a fresh
/// schedule and the same `webhook-id`; it goes out once its endpoint is active.
pub async fn redeliver(
    db: &DatabaseConnection,
    actor: &Actor,
    endpoint: i32,
    delivery: i64,
) -> AppResult<Delivery> {
    actor.require(Role::Admin)?;
    let txn = super::begin_write(db).await?;
    find(&*txn, endpoint).await?;
    let d = webhook_delivery::Entity::find_by_id(delivery)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .one(&*txn)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no delivery {delivery} of webhook endpoint {endpoint}"
            ))
        })?;
    let now = super::now();
    let mut am: webhook_delivery::ActiveModel = d.into();
    am.state = Set("pending".into());
    am.attempts = Set(0);
    am.next_attempt_at = Set(now);
    am.lease_until = Set(None);
    am.lease_token = Set(None);
    am.updated_at = Set(now);
    let d = am.update(&*txn).await?;
    super::audit::record(
        &*txn,
        actor,
        "redeliver",
        "webhook_endpoint",
        Some(format!("webhook:{endpoint}")),
        None,
        Some(serde_json::json!({ "delivery": delivery })),
    )
    .await?;
    txn.commit().await?;
    super::content::LocalCommits::of(db).deliveries_changed();
    Ok(delivery_views(db, vec![d]).await?.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::changes::ChangeRow;

    fn row(kind: &str, op: &str, was: bool, is: bool, cause: &str) -> ChangeRow {
        ChangeRow {
            seq: 1,
            kind: kind.into(),
            object_id: 1,
            slug: "s".into(),
            op: op.into(),
            version: 1,
            was_public: was,
            is_public: is,
            refs: None,
            at: chrono::Utc::now(),
            actor: "system".into(),
            cause: cause.into(),
        }
    }

    #[test]
    fn each_entry_is_its_public_event() {
        let cases = [
            (
                row("article", "create", false, true, "write"),
                Some("article.published"),
            ),
            (row("article", "create", false, false, "write"), None),
            (row("article", "update", false, false, "write"), None),
            (
                row("article", "publish", false, true, "write"),
                Some("article.published"),
            ),
            (
                row("article", "update", true, true, "write"),
                Some("article.updated"),
            ),
            (row("article", "touch", true, true, "write"), None),
            (
                row("article", "unpublish", true, false, "write"),
                Some("article.unpublished"),
            ),
            (
                row("article", "delete", true, false, "write"),
                Some("article.deleted"),
            ),
            (row("article", "delete", false, false, "write"), None),
            (
                row("article", "create", false, true, "mention"),
                Some("mention.recorded"),
            ),
            (
                row("article", "publish", false, true, "schedule"),
                Some("article.published"),
            ),
            (
                row("expert", "create", false, true, "mention"),
                Some("expert.created"),
            ),
            (
                row("outlet", "update", true, true, "write"),
                Some("outlet.updated"),
            ),
            (
                row("topic", "delete", true, false, "write"),
                Some("topic.deleted"),
            ),
            (
                row("event", "create", false, true, "write"),
                Some("event.published"),
            ),
            (
                row("event", "unpublish", true, false, "write"),
                Some("event.unpublished"),
            ),
            (
                row("event", "delete", true, false, "write"),
                Some("event.deleted"),
            ),
            (
                row("site", "update", true, true, "write"),
                Some("site.updated"),
            ),
        ];
        for (r, want) in cases {
            assert_eq!(
                event_of(&r),
                want,
                "{} {} {} {}",
                r.kind,
                r.op,
                r.was_public,
                r.is_public
            );
        }
    }

    #[test]
    fn wanted_types() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants(&t(&["*"]), "site.updated"));
        assert!(wants(&t(&["article.*"]), "article.deleted"));
        assert!(!wants(&t(&["article.*"]), "mention.recorded"));
        assert!(!wants(&t(&["article.published"]), "article.updated"));
    }
}
