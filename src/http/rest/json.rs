//! The JSON shapes of the REST API (snake_case, RFC 3339 times). An article
//! embeds its outlet, experts and topics so a partner renders a listing in one
//! request; batches of articles load those in a constant number of queries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{ArticleStatus, Credit, Language, Office};
use crate::entities::{article, event, expert, outlet, site, topic};
use crate::error::AppResult;
use crate::graphql::global_id;
use crate::services;

/// A reference to a named thing.
#[derive(Serialize, Clone, ToSchema)]
pub struct Ref {
    pub slug: String,
    pub name: String,
}

macro_rules! ref_from {
    ($($m:ident),+) => {
        $(impl From<$m::Model> for Ref {
            fn from(m: $m::Model) -> Self {
                Ref { slug: m.slug, name: m.name }
            }
        })+
    };
}
ref_from!(expert, outlet, topic);

fn refs<M: Into<Ref>>(items: Vec<M>) -> Vec<Ref> {
    items.into_iter().map(Into::into).collect()
}

#[derive(Serialize, ToSchema)]
pub struct Article {
    /// Global ID (the same as GraphQL's).
    pub id: String,
    pub slug: String,
    pub title: String,
    /// Bylines as written, in order.
    pub authors: Vec<String>,
    pub outlet: Option<Ref>,
    /// In the source's order.
    pub experts: Vec<Ref>,
    pub topics: Vec<Ref>,
    pub published_at: DateTime<Utc>,
    #[schema(value_type = Language)]
    pub language: String,
    /// Canonical source URL.
    pub url: Option<String>,
    pub summary: Option<String>,
    /// Only on a single article.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How many approved comments it has (what "Be the first to comment"
    /// needs); only on a single article.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_count: Option<i64>,
    pub dateline: Option<String>,
    pub program: Option<String>,
    #[schema(value_type = ArticleStatus)]
    pub status: String,
    /// Goes up by one with every change.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl Article {
    /// The credit line under the title (`domain::Credit`), in the article's language.
    pub fn credit(&self) -> String {
        let authors: Vec<&str> = self.authors.iter().map(String::as_str).collect();
        let experts: Vec<&str> = self.experts.iter().map(|e| e.name.as_str()).collect();
        Credit {
            authors: &authors,
            experts: &experts,
            outlet: self.outlet.as_ref().map(|o| o.name.as_str()),
            published_at: self.published_at,
            // Stored languages are valid; English is the site's default otherwise.
            language: self.language.parse().unwrap_or(Language::En),
        }
        .line()
    }
}

/// `id -> {slug, name}` of the outlets with these ids (one query).
async fn outlet_refs(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<HashMap<i32, Ref>> {
    Ok(services::outlets::by_ids(db, ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.into()))
        .collect())
}

/// Renders articles with their outlets, experts and topics (four queries;
/// with `with_body`, a single article's view, also its approved comments' count).
pub async fn articles(
    db: &impl ConnectionTrait,
    items: Vec<article::Model>,
    with_body: bool,
) -> AppResult<Vec<Article>> {
    let ids: Vec<i32> = items.iter().map(|a| a.id).collect();
    let mut experts = services::articles::experts_of(db, &ids).await?;
    let mut topics = services::articles::topics_of(db, &ids).await?;
    let mut outlet_ids: Vec<i32> = items.iter().filter_map(|a| a.outlet_id).collect();
    outlet_ids.sort_unstable();
    outlet_ids.dedup();
    let outlets = outlet_refs(db, &outlet_ids).await?;
    let comment_counts = if with_body {
        services::comments::counts(db, &ids).await?
    } else {
        HashMap::new()
    };
    Ok(items
        .into_iter()
        .map(|a| Article {
            id: global_id("Article", a.id).0,
            outlet: a.outlet_id.and_then(|id| outlets.get(&id).cloned()),
            experts: refs(experts.remove(&a.id).unwrap_or_default()),
            topics: refs(topics.remove(&a.id).unwrap_or_default()),
            authors: serde_json::from_value(a.authors).unwrap_or_default(),
            slug: a.slug,
            title: a.title,
            published_at: a.published_at,
            language: a.language,
            url: a.url,
            summary: a.summary,
            body: if with_body { a.body } else { None },
            comment_count: comment_counts.get(&a.id).copied(),
            dateline: a.dateline,
            program: a.program,
            status: a.status,
            version: a.version,
            updated_at: a.updated_at,
        })
        .collect())
}

/// An expert: its public fields, global `id` and topics.
#[derive(Serialize, ToSchema)]
pub struct Expert {
    /// Global ID (the same as GraphQL's).
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub record: expert::Model,
    pub topics: Vec<Ref>,
}

pub async fn experts(
    db: &impl ConnectionTrait,
    items: Vec<expert::Model>,
) -> AppResult<Vec<Expert>> {
    let ids: Vec<i32> = items.iter().map(|e| e.id).collect();
    let mut topics = services::experts::topics_of(db, &ids).await?;
    Ok(items
        .into_iter()
        .map(|e| Expert {
            id: global_id("Expert", e.id).0,
            topics: refs(topics.remove(&e.id).unwrap_or_default()),
            record: e,
        })
        .collect())
}

/// An outlet: its public fields, global `id`, parent and (on its own page)
/// children.
#[derive(Serialize, ToSchema)]
pub struct Outlet {
    /// Global ID (the same as GraphQL's).
    pub id: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub record: outlet::Model,
    pub parent: Option<Ref>,
    /// Only on a single outlet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<Ref>>,
}

pub async fn outlets(
    db: &impl ConnectionTrait,
    items: Vec<outlet::Model>,
) -> AppResult<Vec<Outlet>> {
    let mut parent_ids: Vec<i32> = items.iter().filter_map(|o| o.parent_id).collect();
    parent_ids.sort_unstable();
    parent_ids.dedup();
    let parents = outlet_refs(db, &parent_ids).await?;
    Ok(items
        .into_iter()
        .map(|o| Outlet {
            id: global_id("Outlet", o.id).0,
            parent: o.parent_id.and_then(|p| parents.get(&p).cloned()),
            children: None,
            record: o,
        })
        .collect())
}

/// A record as REST shows it: its global `id` and its model's public fields
/// (those the model serializes).
#[derive(Serialize)]
pub struct Node<M> {
    pub id: String,
    #[serde(flatten)]
    pub record: M,
}

/// A `Node`'s schema: its model's (inline) with the global `id` first, named
/// as the REST type (a generic `Node`'s schemas would all be called `Node`).
macro_rules! node_schema {
    ($($node:ident = $m:ty),+) => {$(
        impl utoipa::PartialSchema for Node<$m> {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let id = utoipa::openapi::ObjectBuilder::new()
                    .property(
                        "id",
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::String)
                            .description(Some("Global ID (the same as GraphQL's).")),
                    )
                    .required("id");
                utoipa::openapi::AllOfBuilder::new()
                    .item(id)
                    .item(<$m as utoipa::PartialSchema>::schema())
                    .into()
            }
        }
        impl ToSchema for Node<$m> {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($node).into()
            }
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                <$m as ToSchema>::schemas(schemas);
            }
        }
    )+};
}
node_schema!(Event = event::Model, Topic = topic::Model);

pub type Event = Node<event::Model>;

pub fn event(e: event::Model) -> Event {
    Node {
        id: global_id("Event", e.id).0,
        record: e,
    }
}

pub type Topic = Node<topic::Model>;

pub fn topic(t: topic::Model) -> Topic {
    Node {
        id: global_id("Topic", t.id).0,
        record: t,
    }
}

#[derive(Serialize, ToSchema)]
pub struct Site {
    pub name: String,
    pub tagline_en: String,
    pub tagline_fr: String,
    pub offices: Vec<Office>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub web: Option<String>,
    pub copyright: Option<String>,
    pub charity_registration: Option<String>,
    /// Goes up by one with every change.
    pub version: i32,
}

pub fn site(s: site::Model) -> Site {
    Site {
        offices: services::site::offices(&s),
        name: s.name,
        tagline_en: s.tagline_en,
        tagline_fr: s.tagline_fr,
        phone: s.phone,
        email: s.email,
        web: s.web,
        copyright: s.copyright,
        charity_registration: s.charity_registration,
        version: s.version,
    }
}

/// One entry of the change log as `GET /changes` shows it (`services::sync`).
#[derive(Serialize, ToSchema)]
pub struct Change {
    /// Its position in the log: increasing, in commit order.
    pub seq: i64,
    /// `article`, `expert`, `outlet`, `topic`, `event` or `site`.
    pub kind: String,
    /// Global ID (the same as GraphQL's); null for the site.
    pub id: Option<String>,
    pub slug: String,
    /// `upsert`: store `data` under (`kind`, `id`); `delete`: drop it.
    pub op: String,
    /// What happened, as the caller may know it: `article.published`,
    /// `expert.updated`, `event.deleted`, ...
    pub event: String,
    /// The object's version after the change (before it, for a delete).
    pub version: i32,
    /// When the change was committed.
    pub at: DateTime<Utc>,
    /// Who made it (shown to editors and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The object as it is now, in the shape of its list endpoint; null for a
    /// delete.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// Renders a page of changes, each kind's objects in one batch.
pub async fn changes(
    db: &impl ConnectionTrait,
    entries: Vec<services::sync::SyncEntry>,
    objects: services::sync::Objects,
) -> AppResult<Vec<Change>> {
    fn keyed<T: Serialize>(items: Vec<T>, ids: Vec<i32>) -> HashMap<i32, serde_json::Value> {
        ids.into_iter()
            .zip(items)
            .map(|(id, v)| (id, serde_json::to_value(v).unwrap_or_default()))
            .collect()
    }
    let services::sync::Objects {
        articles: a,
        experts: e,
        outlets: o,
        topics: t,
        events: ev,
        site: s,
    } = objects;
    let (a_ids, a): (Vec<i32>, Vec<_>) = a.into_iter().unzip();
    let (e_ids, e): (Vec<i32>, Vec<_>) = e.into_iter().unzip();
    let (o_ids, o): (Vec<i32>, Vec<_>) = o.into_iter().unzip();
    let mut data: HashMap<(&str, i32), serde_json::Value> = HashMap::new();
    for (kind, map) in [
        ("article", keyed(articles(db, a, false).await?, a_ids)),
        ("expert", keyed(experts(db, e).await?, e_ids)),
        ("outlet", keyed(outlets(db, o).await?, o_ids)),
        (
            "topic",
            t.into_iter()
                .map(|(id, m)| (id, serde_json::to_value(topic(m)).unwrap_or_default()))
                .collect(),
        ),
        (
            "event",
            ev.into_iter()
                .map(|(id, m)| (id, serde_json::to_value(event(m)).unwrap_or_default()))
                .collect(),
        ),
    ] {
        data.extend(map.into_iter().map(|(id, v)| ((kind, id), v)));
    }
    let site = s.map(|s| serde_json::to_value(site(s)).unwrap_or_default());
    Ok(entries
        .into_iter()
        .map(|e| {
            let r = e.row;
            let upsert = e.op == services::sync::SyncOp::Upsert;
            let data = match r.kind.as_str() {
                _ if !upsert => None,
                "site" => site.clone(),
                k => data.get(&(k, r.object_id)).cloned(),
            };
            Change {
                seq: r.seq,
                id: crate::graphql::kind_id(&r.kind, r.object_id).map(|id| id.0),
                kind: r.kind,
                slug: r.slug,
                op: e.op.as_str().into(),
                event: e.event,
                version: r.version,
                at: r.at,
                actor: e.actor,
                data,
            }
        })
        .collect())
}

/// Webhook payload data (`services::webhooks::worker::Render`): each row as
/// the sync API shows it to an anonymous caller, its object as it is now.
pub fn webhook_render() -> crate::services::webhooks::worker::Render {
    std::sync::Arc::new(|db, rows| {
        Box::pin(async move {
            let (entries, objects) =
                services::sync::seen_by(&db, &crate::auth::Actor::Anonymous, rows).await?;
            Ok(changes(&db, entries, objects)
                .await?
                .into_iter()
                .map(|c| (c.seq, serde_json::to_value(c).unwrap_or_default()))
                .collect())
        })
    })
}
