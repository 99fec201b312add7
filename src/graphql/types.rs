//! GraphQL object, enum and input types. Objects wrap entity models; nested fields
//! resolve through the request's DataLoaders.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Interface, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};

use crate::domain::{self, ArticleFilter, ExpertFilter, Slug};
use crate::entities::{article, expert, outlet};
use crate::error::AppError;
use crate::services;

use super::connection::{Conn, TotalOf, connection, page_args};
use super::loaders::loader_error;
use super::{Loaders, RequestCtx, global_id, gql_error};

macro_rules! gql_enum {
    ($(#[$m:meta])* $name:ident => $domain:ident { $($v:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($v),+ }
        impl From<domain::$domain> for $name {
            fn from(d: domain::$domain) -> Self { match d { $(domain::$domain::$v => $name::$v),+ } }
        }
        impl From<$name> for domain::$domain {
            fn from(g: $name) -> Self { match g { $($name::$v => domain::$domain::$v),+ } }
        }
        impl $name {
            /// The value as a column stores it (a field of an entity model).
            pub fn stored(s: String) -> Result<Self> {
                Ok(parse::<domain::$domain>(stringify!($name), &s)?.into())
            }
            /// The value of a nullable column.
            #[allow(dead_code)]
            pub fn stored_opt(s: Option<String>) -> Result<Option<Self>> {
                s.map(Self::stored).transpose()
            }
        }
    };
}

gql_enum!(
    /// Language of a text.
    Language => Language { En, Fr }
);
gql_enum!(
    /// Editorial state.
    Status => ArticleStatus { Draft, Published, Archived }
);
gql_enum!(
    OutletKind => OutletKind { Newspaper, Magazine, Tv, Radio, Wire, Online, Podcast, Other }
);
gql_enum!(
    EventKind => EventKind { Conference, Roundtable, Webinar, Briefing, Other }
);
gql_enum!(
    /// What coverage statistics are grouped by: a subject (`EXPERT`, `OUTLET`,
    /// `TOPIC`, `LANGUAGE`) or a period (`MONTH`: UTC calendar month, `WEEK`: ISO week).
    MentionGroupBy => MentionGroup { Expert, Outlet, Topic, Language, Month, Week }
);

/// Coverage statistics (`mentionStats`).
#[derive(SimpleObject)]
pub struct MentionStats {
    /// The groups, largest count first (ties by key), at most `limit`.
    pub groups: Vec<MentionGroup>,
    /// How many groups there were before the limit.
    pub group_count: i32,
    /// Whether groups were left out by the limit.
    pub truncated: bool,
    /// Distinct articles counted: an article in several groups counts once here.
    pub total: i64,
}

/// One group of `mentionStats`.
#[derive(SimpleObject)]
pub struct MentionGroup {
    /// Its keys, in the order of `groupBy`.
    pub keys: Vec<MentionKey>,
    /// Public mentions in the group.
    pub count: i64,
}

/// One key of a group.
#[derive(SimpleObject)]
pub struct MentionKey {
    pub by: MentionGroupBy,
    /// The expert's, outlet's or topic's slug, the language code (`en`), the
    /// month (`2026-03`) or the ISO week (`2026-W09`).
    pub value: String,
    /// The expert's, outlet's or topic's name, the week's Monday (`2026-02-23`).
    pub label: Option<String>,
}

impl From<services::stats::MentionStats> for MentionStats {
    fn from(s: services::stats::MentionStats) -> Self {
        Self {
            truncated: s.group_count > s.groups.len(),
            group_count: s.group_count as i32,
            total: s.total,
            groups: s
                .groups
                .into_iter()
                .map(|g| MentionGroup {
                    count: g.count,
                    keys: g
                        .keys
                        .into_iter()
                        .map(|k| MentionKey {
                            by: k.group.into(),
                            value: k.value,
                            label: k.label,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// How articles are ordered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum ArticleOrder {
    /// Newest first (the default).
    #[default]
    Newest,
    Oldest,
    /// Best text-search match first; needs `filter.query`.
    Relevance,
}

impl From<ArticleOrder> for domain::ArticleOrder {
    fn from(o: ArticleOrder) -> Self {
        match o {
            ArticleOrder::Newest => Self::Newest,
            ArticleOrder::Oldest => Self::Oldest,
            ArticleOrder::Relevance => Self::Relevance,
        }
    }
}

/// How events are ordered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventOrder {
    Soonest,
    Latest,
}

fn parse<T: std::str::FromStr<Err = String>>(field: &str, s: &str) -> Result<T> {
    s.parse::<T>()
        .map_err(|m| gql_error(AppError::invalid(field, m)))
}

fn slug_arg(field: &str, s: Option<String>) -> Result<Option<Slug>> {
    s.map(|s| Slug::parse(&s).map_err(|m| gql_error(AppError::invalid(field, m))))
        .transpose()
}

/// Which articles to list. Date ranges include their start and exclude their end.
#[derive(InputObject, Default, Clone)]
#[graphql(name = "ArticleFilter")]
pub struct ArticleFilterInput {
    /// Expert slug.
    pub expert: Option<String>,
    /// Outlet slug; includes the outlet's child outlets.
    pub outlet: Option<String>,
    /// Topic slug.
    pub topic: Option<String>,
    pub language: Option<Language>,
    /// Published at or after this time.
    pub published_after: Option<DateTime<Utc>>,
    /// Published before this time.
    pub published_before: Option<DateTime<Utc>>,
    /// Text search over titles, summaries, bodies, bylines, experts and outlets.
    pub query: Option<String>,
    /// Editors only.
    pub status: Option<Status>,
}

impl ArticleFilterInput {
    pub fn into_domain(self) -> Result<ArticleFilter> {
        Ok(ArticleFilter {
            expert: slug_arg("filter.expert", self.expert)?,
            outlet: slug_arg("filter.outlet", self.outlet)?,
            topic: slug_arg("filter.topic", self.topic)?,
            language: self.language.map(Into::into),
            published_after: self.published_after,
            published_before: self.published_before,
            query: self.query.filter(|q| !q.trim().is_empty()),
            status: self.status.map(Into::into),
        })
    }
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "ExpertFilter")]
pub struct ExpertFilterInput {
    /// Matches names and aliases, ignoring case and accents.
    pub query: Option<String>,
    /// Topic slug.
    pub topic: Option<String>,
}

impl ExpertFilterInput {
    pub fn into_domain(self) -> Result<ExpertFilter> {
        Ok(ExpertFilter {
            query: self.query,
            topic: slug_arg("filter.topic", self.topic)?,
        })
    }
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "OutletFilter")]
pub struct OutletFilterInput {
    /// Matches names and aliases, ignoring case and accents.
    pub query: Option<String>,
    pub kind: Option<OutletKind>,
}

#[derive(InputObject, Default, Clone)]
#[graphql(name = "EventFilter")]
pub struct EventFilterInput {
    /// Only events starting after now (`true`) or not after now (`false`).
    pub upcoming: Option<bool>,
    /// Starting at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Starting before this time.
    pub to: Option<DateTime<Utc>>,
    pub kind: Option<EventKind>,
    pub city: Option<String>,
}

/// One result of `search`.
#[derive(async_graphql::Union)]
pub enum SearchResult {
    Article(Article),
    Expert(Expert),
    Outlet(Outlet),
    Event(Event),
}

impl From<services::search::Hit> for SearchResult {
    fn from(h: services::search::Hit) -> Self {
        use services::search::Hit;
        match h {
            Hit::Article(m) => SearchResult::Article(m),
            Hit::Expert(m) => SearchResult::Expert(m),
            Hit::Outlet(m) => SearchResult::Outlet(m),
            Hit::Event(m) => SearchResult::Event(m),
        }
    }
}

/// Anything with a global ID.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Article(Article),
    Expert(Expert),
    Outlet(Outlet),
    Event(Event),
    Topic(Topic),
}

pub use crate::entities::article::Model as Article;

#[ComplexObject]
impl Article {
    async fn outlet(&self, ctx: &Context<'_>) -> Result<Option<Outlet>> {
        let Some(id) = self.outlet_id else {
            return Ok(None);
        };
        let l = ctx.data::<Loaders>()?;
        l.outlet.load_one(id).await.map_err(loader_error)
    }
    /// Featured experts, in the order the source gives them.
    async fn experts(&self, ctx: &Context<'_>) -> Result<Vec<Expert>> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.experts_of_article
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    }
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.topics_of_article
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    }

    // comments
    /// How many approved comments the article has.
    async fn comment_count(&self, ctx: &Context<'_>) -> Result<i64> {
        super::comments::count(ctx, self.id).await
    }
    /// The approved comments, oldest first (and the signed-in reader's own
    /// pending ones). Replies name their top-level comment in `parentId`.
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<services::comments::Comment>> {
        super::comments::of_article(ctx, &self.slug, first, after, last, before).await
    }
}

pub use crate::entities::expert::Model as Expert;

#[ComplexObject]
impl Expert {
    /// The biography in `language` (default English; falls back to the other one).
    async fn bio(&self, language: Option<Language>) -> Option<&str> {
        let (en, fr) = (self.bio_en.as_deref(), self.bio_fr.as_deref());
        match language.unwrap_or(Language::En) {
            Language::En => en.or(fr),
            Language::Fr => fr.or(en),
        }
    }
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.topics_of_expert
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    }
    /// Articles featuring this expert, newest first by default.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilterInput>,
        order_by: Option<ArticleOrder>,
    ) -> Result<Conn<Article>> {
        let mut f = filter.unwrap_or_default().into_domain()?;
        f.expert =
            Some(Slug::parse(&self.slug).map_err(|m| gql_error(AppError::invalid("slug", m)))?);
        list_articles(ctx, first, after, last, before, f, order_by).await
    }
    /// How many published mentions feature this expert.
    async fn mention_count(&self, ctx: &Context<'_>) -> Result<i64> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.mention_count
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .unwrap_or(0))
    }
    /// The newest mention featuring this expert.
    async fn latest_mention(&self, ctx: &Context<'_>) -> Result<Option<Article>> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.latest_mention
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .flatten())
    }
}

pub use crate::entities::outlet::Model as Outlet;

#[ComplexObject]
impl Outlet {
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Outlet>> {
        let Some(id) = self.parent_id else {
            return Ok(None);
        };
        let l = ctx.data::<Loaders>()?;
        l.outlet.load_one(id).await.map_err(loader_error)
    }
    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Outlet>> {
        let l = ctx.data::<Loaders>()?;
        Ok(l.children
            .load_one(self.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default())
    }
    /// Articles from this outlet and its child outlets, newest first by default.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilterInput>,
        order_by: Option<ArticleOrder>,
    ) -> Result<Conn<Article>> {
        let mut f = filter.unwrap_or_default().into_domain()?;
        f.outlet =
            Some(Slug::parse(&self.slug).map_err(|m| gql_error(AppError::invalid("slug", m)))?);
        list_articles(ctx, first, after, last, before, f, order_by).await
    }
}

pub use crate::entities::event::Model as Event;
pub use crate::entities::topic::Model as Topic;

/// An office of the organisation.
#[derive(SimpleObject)]
pub struct Office {
    pub label: String,
    /// Street lines, in order.
    pub street: Vec<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// Organisation-wide settings: name, taglines, offices and contact details.
pub struct Site(pub crate::entities::site::Model);

#[Object]
impl Site {
    /// Increases with every change (optimistic concurrency).
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The tagline in `language` (default English).
    async fn tagline(&self, language: Option<Language>) -> &str {
        match language.unwrap_or(Language::En) {
            Language::En => &self.0.tagline_en,
            Language::Fr => &self.0.tagline_fr,
        }
    }
    async fn offices(&self) -> Vec<Office> {
        services::site::offices(&self.0)
            .into_iter()
            .map(|o| Office {
                label: o.label,
                street: o.street,
                city: o.city,
                region: o.region,
                postal_code: o.postal_code,
                country: o.country,
            })
            .collect()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn web(&self) -> Option<&str> {
        self.0.web.as_deref()
    }
    async fn copyright(&self) -> Option<&str> {
        self.0.copyright.as_deref()
    }
    /// Charitable registration number.
    async fn charity_registration(&self) -> Option<&str> {
        self.0.charity_registration.as_deref()
    }
}

/// Shared by `articles`, `Expert.articles` and `Outlet.articles`.
pub(crate) async fn list_articles(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    filter: ArticleFilter,
    order_by: Option<ArticleOrder>,
) -> Result<Conn<Article>> {
    let rc = ctx.data::<RequestCtx>()?;
    let page = page_args(first, after, last, before)?;
    let order = order_by.unwrap_or_default().into();
    let index = rc.search.as_ref();
    let (p, outlets) = if node_wants(ctx, "outlet") {
        let (p, o) =
            services::articles::list_with_outlets(&rc.db, index, &rc.actor, &filter, order, &page)
                .await
                .map_err(gql_error)?;
        (p, Some(o))
    } else {
        let p = services::articles::list_ranked(&rc.db, index, &rc.actor, &filter, order, &page)
            .await
            .map_err(gql_error)?;
        (p, None)
    };
    articles_connection(ctx, p, outlets, filter).await
}

/// A page of articles as a connection, with what its selection asks for primed.
async fn articles_connection(
    ctx: &Context<'_>,
    p: crate::domain::Page<article::Model>,
    outlets: Option<Vec<outlet::Model>>,
    filter: ArticleFilter,
) -> Result<Conn<Article>> {
    prefetch_articles(ctx, &p.items, outlets).await?;
    Ok(connection(
        p,
        services::articles::cursor_of,
        Article::from,
        TotalOf::Articles(filter),
    ))
}

/// Loads, in one batch each, the outlets, experts and topics that the selection
/// asks for on a page of articles, and primes the request's loaders with them, so
/// the page costs the same number of statements whatever its size.
/// Does the connection being resolved select `field` on its nodes?
fn node_wants(ctx: &Context<'_>, field: &str) -> bool {
    let look = ctx.look_ahead();
    look.field("nodes").field(field).exists()
        || look.field("edges").field("node").field(field).exists()
}

/// Loads what a page of experts will ask for, in one batch per field, so
/// batching does not depend on timing.
pub(super) async fn prefetch_experts(ctx: &Context<'_>, items: &[expert::Model]) -> Result<()> {
    let l = ctx.data::<Loaders>()?;
    let ids: Vec<i32> = items.iter().map(|e| e.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    if node_wants(ctx, "latestMention") {
        let latest: Vec<article::Model> = l
            .latest_mention
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?
            .into_values()
            .flatten()
            .collect();
        // What the latest mentions will ask for, primed too.
        let look = ctx.look_ahead();
        let mention = |f: &str| {
            look.field("nodes").field("latestMention").field(f).exists()
                || look
                    .field("edges")
                    .field("node")
                    .field("latestMention")
                    .field(f)
                    .exists()
        };
        prime_articles(ctx, &latest, mention, false, None).await?;
    }
    if node_wants(ctx, "mentionCount") {
        l.mention_count
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
    }
    if node_wants(ctx, "topics") {
        l.topics_of_expert
            .load_many(ids.iter().copied())
            .await
            .map_err(loader_error)?;
    }
    Ok(())
}

/// Loads what a page of outlets will ask for (children, parents) in one batch each.
pub(super) async fn prefetch_outlets(ctx: &Context<'_>, items: &[outlet::Model]) -> Result<()> {
    let l = ctx.data::<Loaders>()?;
    if items.is_empty() {
        return Ok(());
    }
    if node_wants(ctx, "children") {
        l.children
            .load_many(items.iter().map(|o| o.id))
            .await
            .map_err(loader_error)?;
    }
    if node_wants(ctx, "parent") {
        l.outlet
            .load_many(items.iter().filter_map(|o| o.parent_id))
            .await
            .map_err(loader_error)?;
    }
    Ok(())
}

/// `outlets`: those the page's articles name, when they were read with it.
async fn prefetch_articles(
    ctx: &Context<'_>,
    items: &[article::Model],
    outlets: Option<Vec<outlet::Model>>,
) -> Result<()> {
    let look = ctx.look_ahead();
    let wants = |f: &str| {
        look.field("nodes").field(f).exists() || look.field("edges").field("node").field(f).exists()
    };
    let parents = look.field("nodes").field("outlet").field("parent").exists()
        || look
            .field("edges")
            .field("node")
            .field("outlet")
            .field("parent")
            .exists();
    prime_articles(ctx, items, wants, parents, outlets).await
}

/// Primes the loaders with what `wants` says the selection asks for on
/// `items` (and, with `parents`, the parents of their outlets): one batch each,
/// none for the outlets when they came with the page (`outlets`).
async fn prime_articles(
    ctx: &Context<'_>,
    items: &[article::Model],
    wants: impl Fn(&str) -> bool,
    parents: bool,
    outlets: Option<Vec<outlet::Model>>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let rc = ctx.data::<RequestCtx>()?;
    let l = ctx.data::<Loaders>()?;
    let ids: Vec<i32> = items.iter().map(|a| a.id).collect();
    if wants("experts") {
        let mut m = services::articles::experts_of(&rc.db, &ids)
            .await
            .map_err(gql_error)?;
        l.experts_of_article
            .feed_many(ids.iter().map(|id| (*id, m.remove(id).unwrap_or_default())))
            .await;
    }
    if wants("topics") {
        let mut m = services::articles::topics_of(&rc.db, &ids)
            .await
            .map_err(gql_error)?;
        l.topics_of_article
            .feed_many(ids.iter().map(|id| (*id, m.remove(id).unwrap_or_default())))
            .await;
    }
    if wants("outlet") {
        let mut outlet_ids: Vec<i32> = items.iter().filter_map(|a| a.outlet_id).collect();
        outlet_ids.sort_unstable();
        outlet_ids.dedup();
        let outlets = match outlets {
            Some(o) => o,
            None => services::outlets::by_ids(&rc.db, &outlet_ids)
                .await
                .map_err(gql_error)?,
        };
        let mut parent_ids: Vec<i32> = outlets
            .iter()
            .filter_map(|o| o.parent_id)
            .filter(|p| outlet_ids.binary_search(p).is_err())
            .collect();
        l.outlet
            .feed_many(outlets.into_iter().map(|o| (o.id, o)))
            .await;
        if parents {
            parent_ids.sort_unstable();
            parent_ids.dedup();
            l.outlet.load_many(parent_ids).await.map_err(loader_error)?;
        }
    }
    Ok(())
}

/// One write, as the audit log recorded it.
pub struct AuditEntry(pub crate::entities::audit_entry::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        global_id("AuditEntry", self.0.id)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// `user:<id>`, `key:<id>` or `system`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    async fn entity_id(&self) -> Option<&str> {
        self.0.entity_id.as_deref()
    }
    /// The values before the write (JSON), if any.
    async fn before(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.before.clone().map(async_graphql::Json)
    }
    /// The values after the write (JSON), if any.
    async fn after(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.after.clone().map(async_graphql::Json)
    }
}

/// An account of a person (administrators see these).
pub struct User(pub crate::entities::user::Model);

#[Object]
impl User {
    async fn id(&self) -> i32 {
        self.0.id
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// `contributor`, `editor` or `admin`.
    async fn role(&self) -> &str {
        &self.0.role
    }
    /// A deactivated user cannot sign in; its tokens stop working.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An API key for scripts; its secret is shown once, at creation.
pub struct ApiKey(pub crate::entities::api_key::Model);

#[Object]
impl ApiKey {
    async fn id(&self) -> i32 {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `contributor`, `editor` or `admin`.
    async fn role(&self) -> &str {
        &self.0.role
    }
    /// The key's first characters, to tell keys apart (`mdk_abcd1234`).
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}
