//! Articles (media mentions): listing with filters and keyset pagination, lookup by
//! slug and id, and the batched loads of their experts and topics. Visibility lives
//! here: the public sees only published articles whose publish time has passed.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Select,
};

use crate::auth::Actor;
use crate::domain::{ArticleFilter, ArticleOrder, ArticleStatus, Cursor, Page, PageRequest};
use crate::entities::{article, article_expert, article_topic, expert, outlet, topic};
use crate::error::{AppError, AppResult};
use crate::services::search::TextQuery;
use crate::services::search_index::SearchIndex;

use super::{keyset, keyset_page, keyset_window, now, ts_cursor};

/// The condition that hides what `actor` may not see.
pub(crate) fn visible(actor: &Actor) -> Option<Condition> {
    if actor.can_see_drafts() {
        return None;
    }
    let public = Condition::all()
        .add(article::Column::Status.eq(ArticleStatus::Published.as_str()))
        .add(
            Condition::any()
                .add(article::Column::PublishAt.is_null())
                .add(article::Column::PublishAt.lte(now())),
        );
    // Contributors also see what they wrote themselves.
    Some(match actor.subject() {
        Some(me) => Condition::any()
            .add(public)
            .add(article::Column::CreatedBy.eq(me)),
        None => public,
    })
}

fn scoped(actor: &Actor) -> Select<article::Entity> {
    let q = article::Entity::find();
    match visible(actor) {
        Some(c) => q.filter(c),
        None => q,
    }
}

/// Which link table drives a listing, so the keyset runs on its index.
enum Driver {
    Articles,
    Expert(i32),
    Topic(i32),
}

/// What a filter's slugs resolved to; `None` when a slug names nothing.
struct Resolved {
    driver: Driver,
    text: Option<TextQuery>,
    backend: DbBackend,
    outlet_ids: Option<Vec<i32>>,
    extra_topic: Option<i32>,
}

async fn resolve_filter(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ArticleFilter,
) -> AppResult<Option<Resolved>> {
    if let Some(status) = filter.status
        && status != ArticleStatus::Published
        && !actor.can_see_drafts()
    {
        return Err(match actor {
            Actor::Anonymous => AppError::Unauthenticated,
            _ => AppError::Forbidden("only editors may list unpublished articles".into()),
        });
    }
    let text = match filter.query.as_deref() {
        None => None,
        Some(q) => match TextQuery::parse(q) {
            Some(t) => Some(t),
            // Nothing searchable (only punctuation): nothing matches.
            None => return Ok(None),
        },
    };
    let expert_id = match &filter.expert {
        None => None,
        Some(slug) => match super::experts::id_by_slug(db, slug.as_str()).await? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    let topic_id = match &filter.topic {
        None => None,
        Some(slug) => match super::topics::id_by_slug(db, slug.as_str()).await? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    let outlet_ids = match &filter.outlet {
        None => None,
        Some(slug) => match super::outlets::family_ids(db, slug.as_str()).await? {
            Some(ids) => Some(ids),
            None => return Ok(None),
        },
    };
    let (driver, extra_topic) = match (expert_id, topic_id) {
        (Some(e), t) => (Driver::Expert(e), t),
        (None, Some(t)) => (Driver::Topic(t), None),
        (None, None) => (Driver::Articles, None),
    };
    Ok(Some(Resolved {
        driver,
        text,
        backend: db.get_database_backend(),
        outlet_ids,
        extra_topic,
    }))
}

/// Lists the articles `actor` may see that match `filter`, one keyset page at a time.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ArticleFilter,
    order: ArticleOrder,
    page: &PageRequest,
) -> AppResult<Page<article::Model>> {
    list_ranked(db, None, actor, filter, order, page).await
}

/// [`list`], with the server's relevance index when it has one: a relevance
/// search with only a text query (and at most `status: PUBLISHED`) is then
/// answered from the index (see [`list_from_index`]).
pub async fn list_ranked(
    db: &impl ConnectionTrait,
    index: Option<&Arc<SearchIndex>>,
    actor: &Actor,
    filter: &ArticleFilter,
    order: ArticleOrder,
    page: &PageRequest,
) -> AppResult<Page<article::Model>> {
    let q = ListQuery {
        index,
        actor,
        filter,
        order,
        page,
    };
    Ok(q.run(db, false).await?.0)
}

/// [`list_ranked`] and the outlets its articles name: read with the page in
/// one statement (a join) where the page comes from the database in date
/// order; by their ids otherwise.
pub async fn list_with_outlets(
    db: &impl ConnectionTrait,
    index: Option<&Arc<SearchIndex>>,
    actor: &Actor,
    filter: &ArticleFilter,
    order: ArticleOrder,
    page: &PageRequest,
) -> AppResult<(Page<article::Model>, Vec<outlet::Model>)> {
    let q = ListQuery {
        index,
        actor,
        filter,
        order,
        page,
    };
    q.run(db, true).await
}

/// The arguments of one article listing.
struct ListQuery<'a> {
    index: Option<&'a Arc<SearchIndex>>,
    actor: &'a Actor,
    filter: &'a ArticleFilter,
    order: ArticleOrder,
    page: &'a PageRequest,
}

impl ListQuery<'_> {
    /// The page, and with `outlets` the outlets it names.
    #[tracing::instrument(level = "debug", name = "articles.list", skip_all, fields(order = ?self.order))]
    async fn run(
        &self,
        db: &impl ConnectionTrait,
        outlets: bool,
    ) -> AppResult<(Page<article::Model>, Vec<outlet::Model>)> {
        let p = match self.ranked(db).await? {
            Ranking::Done(p) => p,
            Ranking::ByDate(r) if outlets => return self.by_date_with_outlets(db, &r).await,
            Ranking::ByDate(r) => self.by_date(db, &r).await?,
        };
        let named = if outlets {
            let mut ids: Vec<i32> = p.items.iter().filter_map(|a| a.outlet_id).collect();
            ids.sort_unstable();
            ids.dedup();
            super::outlets::by_ids(db, &ids).await?
        } else {
            vec![]
        };
        Ok((p, named))
    }

    /// A page answered by relevance (or an empty one), or the filter to page
    /// through by date.
    async fn ranked(&self, db: &impl ConnectionTrait) -> AppResult<Ranking> {
        let Self {
            index,
            actor,
            filter,
            order,
            page,
        } = *self;
        if order == ArticleOrder::Relevance && filter.query.is_none() {
            return Err(AppError::invalid(
                "orderBy",
                "RELEVANCE ordering needs a text query",
            ));
        }
        let Some(r) = resolve_filter(db, actor, filter).await? else {
            return Ok(Ranking::Done(Page {
                items: vec![],
                has_next: false,
                has_previous: false,
            }));
        };
        if let (ArticleOrder::Relevance, Some(text)) = (order, &r.text) {
            if let Some(ix) = index.filter(|_| index_answers(filter)) {
                ix.wait_small_build().await;
                ix.catch_up(false).await?;
                if ix.is_ready() {
                    let p = list_from_index(db, ix, actor, filter, text, page).await?;
                    return Ok(Ranking::Done(p));
                }
            }
            let p = list_by_relevance(db, actor, filter, &r, text, page).await?;
            return Ok(Ranking::Done(p));
        }
        Ok(Ranking::ByDate(r))
    }

    /// The page's ordering key and tie-break: the date and id of the table the
    /// filter drives the listing from.
    fn date_key(r: &Resolved) -> (Expr, Expr) {
        match r.driver {
            Driver::Articles => (
                Expr::col((article::Entity, article::Column::PublishedAt)),
                Expr::col((article::Entity, article::Column::Id)),
            ),
            Driver::Expert(_) => (
                Expr::col((article_expert::Entity, article_expert::Column::PublishedAt)),
                Expr::col((article_expert::Entity, article_expert::Column::ArticleId)),
            ),
            Driver::Topic(_) => (
                Expr::col((article_topic::Entity, article_topic::Column::PublishedAt)),
                Expr::col((article_topic::Entity, article_topic::Column::ArticleId)),
            ),
        }
    }

    async fn by_date(
        &self,
        db: &impl ConnectionTrait,
        r: &Resolved,
    ) -> AppResult<Page<article::Model>> {
        let (key, id) = Self::date_key(r);
        let newest_first = self.order != ArticleOrder::Oldest;
        let q = filtered(self.actor, self.filter, r);
        keyset_page(
            db,
            q,
            key,
            id,
            ts_cursor(self.page),
            newest_first,
            self.page,
        )
        .await
    }

    /// [`Self::by_date`] with each article's outlet joined in.
    async fn by_date_with_outlets(
        &self,
        db: &impl ConnectionTrait,
        r: &Resolved,
    ) -> AppResult<(Page<article::Model>, Vec<outlet::Model>)> {
        let (key, id) = Self::date_key(r);
        let newest_first = self.order != ArticleOrder::Oldest;
        let q = filtered(self.actor, self.filter, r)
            .join(JoinType::LeftJoin, outlet_of())
            .select_also(outlet::Entity);
        let rows = keyset_window(q, key, id, ts_cursor(self.page), newest_first, self.page)
            .all(db)
            .await?;
        let (items, named): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
        let mut named: Vec<outlet::Model> = named.into_iter().flatten().collect();
        named.sort_unstable_by_key(|o| o.id);
        named.dedup_by_key(|o| o.id);
        Ok((Page::from_fetched(items, self.page), named))
    }
}

/// What [`ListQuery::ranked`] found.
enum Ranking {
    Done(Page<article::Model>),
    ByDate(Resolved),
}

/// How many articles `actor` may see match `filter` (for `totalCount`).
pub async fn count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ArticleFilter,
) -> AppResult<u64> {
    let Some(r) = resolve_filter(db, actor, filter).await? else {
        return Ok(0);
    };
    Ok(filtered(actor, filter, &r).count(db).await?)
}

/// Best matches first: one query for the page's (id, rank) pairs, one for the rows.
async fn list_by_relevance(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ArticleFilter,
    r: &Resolved,
    text: &TextQuery,
    page: &PageRequest,
) -> AppResult<Page<article::Model>> {
    let rank = text.rank(r.backend);
    let id = Expr::col((article::Entity, article::Column::Id));
    let cursor = page.cursor.as_ref().and_then(|c| c.num.map(|n| (n, c.id)));
    let (cond, ord) = keyset(
        rank.clone(),
        id.clone(),
        cursor.map(|(n, _)| n.into()),
        cursor.map(|(_, i)| i),
        true,
        page,
    );
    let mut q = filtered(actor, filter, r)
        .select_only()
        .column(article::Column::Id)
        .expr_as(rank.clone(), "rank");
    if let Some(c) = cond {
        q = q.filter(c);
    }
    let hits: Vec<(i32, f64)> = q
        .order_by(rank, ord.clone())
        .order_by(id, ord)
        .limit(page.limit + 1)
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i32> = hits.iter().map(|(id, _)| *id).collect();
    let mut rows: HashMap<i32, article::Model> = by_ids(db, actor, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let ranked: Vec<Ranked> = hits
        .into_iter()
        .filter_map(|(id, rank)| rows.remove(&id).map(|a| Ranked { article: a, rank }))
        .collect();
    Ok(ranked_page(ranked, page))
}

/// Whether the relevance index can answer a search with this filter: only a
/// text query, and at most the status every public result has anyway. Other
/// filters would drop most of the index's hits; the database ranks those.
fn index_answers(filter: &ArticleFilter) -> bool {
    let ArticleFilter {
        expert,
        outlet,
        topic,
        language,
        published_after,
        published_before,
        query,
        status,
    } = filter;
    query.is_some()
        && expert.is_none()
        && outlet.is_none()
        && topic.is_none()
        && language.is_none()
        && published_after.is_none()
        && published_before.is_none()
        && status.is_none_or(|s| s == ArticleStatus::Published)
}

/// Best matches first, from the relevance index: its top hits after the cursor,
/// then one statement for those rows under `actor`'s visibility (and the
/// status filter), in the index's order; hits that drop out (drafts, scheduled,
/// deleted) are made up for by a deeper batch.
async fn list_from_index(
    db: &impl ConnectionTrait,
    ix: &SearchIndex,
    actor: &Actor,
    filter: &ArticleFilter,
    text: &TextQuery,
    page: &PageRequest,
) -> AppResult<Page<article::Model>> {
    let want = page.limit as usize + 1;
    let backward = page.direction == crate::domain::Direction::Backward;
    let mut after = page.cursor.as_ref().and_then(|c| c.num.map(|n| (n, c.id)));
    let mut batch = want + want / 4 + 2;
    let mut ranked: Vec<Ranked> = Vec::with_capacity(want);
    loop {
        let hits = ix.top(text, after, backward, batch)?;
        let ids: Vec<i32> = hits.iter().map(|(_, id)| *id).collect();
        let mut q = scoped(actor).filter(article::Column::Id.is_in(ids));
        if let Some(status) = filter.status {
            q = q.filter(article::Column::Status.eq(status.as_str()));
        }
        let mut rows: HashMap<i32, article::Model> =
            q.all(db).await?.into_iter().map(|a| (a.id, a)).collect();
        for (rank, id) in &hits {
            if ranked.len() == want {
                break;
            }
            if let Some(a) = rows.remove(id) {
                ranked.push(Ranked {
                    article: a,
                    rank: *rank,
                });
            }
        }
        if ranked.len() == want || hits.len() < batch {
            break;
        }
        after = hits.last().copied();
        batch = (batch * 4).min(4096);
    }
    Ok(ranked_page(ranked, page))
}

/// A page of ranked rows (fetched in page order), each carrying its rank for
/// its cursor.
fn ranked_page(ranked: Vec<Ranked>, page: &PageRequest) -> Page<article::Model> {
    let p = Page::from_fetched(ranked, page);
    Page {
        items: p
            .items
            .into_iter()
            .map(|r| {
                let mut a = r.article;
                a.search_rank = Some(r.rank);
                a
            })
            .collect(),
        has_next: p.has_next,
        has_previous: p.has_previous,
    }
}

struct Ranked {
    article: article::Model,
    rank: f64,
}

fn filtered(actor: &Actor, filter: &ArticleFilter, r: &Resolved) -> Select<article::Entity> {
    let mut q = scoped(actor);
    if let Some(t) = &r.text {
        q = t.restrict(r.backend, q);
    }
    let (date_col_tbl, date_col): (sea_orm::sea_query::DynIden, sea_orm::sea_query::DynIden) =
        match r.driver {
            Driver::Articles => (
                sea_orm::sea_query::IntoIden::into_iden(article::Entity),
                sea_orm::sea_query::IntoIden::into_iden(article::Column::PublishedAt),
            ),
            Driver::Expert(e) => {
                q = q
                    .join(JoinType::InnerJoin, article::Relation::ArticleExperts.def())
                    .filter(article_expert::Column::ExpertId.eq(e));
                (
                    sea_orm::sea_query::IntoIden::into_iden(article_expert::Entity),
                    sea_orm::sea_query::IntoIden::into_iden(article_expert::Column::PublishedAt),
                )
            }
            Driver::Topic(t) => {
                q = q
                    .join(JoinType::InnerJoin, article::Relation::ArticleTopics.def())
                    .filter(article_topic::Column::TopicId.eq(t));
                (
                    sea_orm::sea_query::IntoIden::into_iden(article_topic::Entity),
                    sea_orm::sea_query::IntoIden::into_iden(article_topic::Column::PublishedAt),
                )
            }
        };
    if let Some(t) = r.extra_topic {
        q = q.filter(
            article::Column::Id.in_subquery(
                Query::select()
                    .column(article_topic::Column::ArticleId)
                    .from(article_topic::Entity)
                    .and_where(article_topic::Column::TopicId.eq(t))
                    .to_owned(),
            ),
        );
    }
    if let Some(ids) = &r.outlet_ids {
        q = q.filter(article::Column::OutletId.is_in(ids.clone()));
    }
    if let Some(lang) = filter.language {
        q = q.filter(article::Column::Language.eq(lang.as_str()));
    }
    if let Some(status) = filter.status {
        q = q.filter(article::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = filter.published_after {
        q = q.filter(Expr::col((date_col_tbl.clone(), date_col.clone())).gte(after));
    }
    if let Some(before) = filter.published_before {
        q = q.filter(Expr::col((date_col_tbl, date_col)).lt(before));
    }
    q
}

/// The ids of the articles the public may see that match `filter` (the rules
/// of [`list`] for an anonymous caller), as a subquery; `None` when the filter
/// names something that does not exist, so nothing matches.
pub(crate) async fn public_ids(
    db: &impl ConnectionTrait,
    filter: &ArticleFilter,
) -> AppResult<Option<sea_orm::sea_query::SelectStatement>> {
    let actor = Actor::Anonymous;
    let Some(r) = resolve_filter(db, &actor, filter).await? else {
        return Ok(None);
    };
    Ok(Some(
        filtered(&actor, filter, &r)
            .select_only()
            .column(article::Column::Id)
            .into_query(),
    ))
}

/// The articles among `ids` that `actor` may see and that match `filter`
/// (the rules of [`list`], for one batch of known articles).
pub async fn matching(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ArticleFilter,
    ids: &[i32],
) -> AppResult<Vec<article::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let Some(r) = resolve_filter(db, actor, filter).await? else {
        return Ok(vec![]);
    };
    Ok(filtered(actor, filter, &r)
        .filter(article::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?)
}

/// The cursor of an article in its listing's ordering (relevance when ranked).
pub fn cursor_of(a: &article::Model) -> Cursor {
    Cursor {
        ts: Some(a.published_at.timestamp_micros()),
        text: None,
        num: a.search_rank,
        id: a.id,
        kind: None,
    }
}

/// One article by slug, if `actor` may see it.
#[tracing::instrument(level = "debug", name = "articles.get", skip_all)]
pub async fn get_by_slug(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> AppResult<Option<article::Model>> {
    super::by_slug(db, scoped(actor), slug).await
}

/// The article recorded for this canonical source URL, if `actor` may see it.
pub async fn by_url_key(
    db: &impl ConnectionTrait,
    actor: &Actor,
    key: &str,
) -> AppResult<Option<article::Model>> {
    Ok(scoped(actor)
        .filter(article::Column::UrlKey.eq(key))
        .one(db)
        .await?)
}

/// Articles by id (for batch loaders), only those `actor` may see.
pub async fn by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[i32],
) -> AppResult<Vec<article::Model>> {
    super::by_ids(db, scoped(actor), ids).await
}

/// An article's outlet, for a join.
fn outlet_of() -> sea_orm::RelationDef {
    article::Entity::belongs_to(outlet::Entity)
        .from(article::Column::OutletId)
        .to(outlet::Column::Id)
        .into()
}

/// The featured experts of each article, in the article's order: one statement
/// (the links joined to the experts) for any number of articles.
pub async fn experts_of(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> AppResult<HashMap<i32, Vec<expert::Model>>> {
    if article_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = article_expert::Entity::find()
        .find_also_related(expert::Entity)
        .filter(article_expert::Column::ArticleId.is_in(article_ids.to_vec()))
        .order_by_asc(article_expert::Column::ArticleId)
        .order_by_asc(article_expert::Column::Position)
        .all(db)
        .await?;
    Ok(super::group_joined(
        rows.into_iter().map(|(link, e)| (link.article_id, e)),
    ))
}

/// The topics of each article, by name: one statement (the links joined to the
/// topics) for any number of articles.
pub async fn topics_of(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> AppResult<HashMap<i32, Vec<topic::Model>>> {
    if article_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = article_topic::Entity::find()
        .find_also_related(topic::Entity)
        .filter(article_topic::Column::ArticleId.is_in(article_ids.to_vec()))
        .all(db)
        .await?;
    Ok(super::topics::by_name(
        rows.into_iter().map(|(link, t)| (link.article_id, t)),
    ))
}

/// The newest visible article featuring each of `expert_ids`, in two statements
/// whatever their number: a correlated `LIMIT 1` subquery per expert (each an
/// index seek on `(expert_id, published_at, article_id)`), then the articles.
pub async fn latest_for_experts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    expert_ids: &[i32],
) -> AppResult<HashMap<i32, article::Model>> {
    use sea_orm::sea_query::{Alias, Order, SubQueryStatement};
    if expert_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ae = article_expert::Entity;
    let mut newest = Query::select();
    newest
        .column((ae, article_expert::Column::ArticleId))
        .from(ae)
        .inner_join(
            article::Entity,
            Expr::col((article::Entity, article::Column::Id))
                .equals((ae, article_expert::Column::ArticleId)),
        )
        .and_where(
            Expr::col((ae, article_expert::Column::ExpertId))
                .equals((expert::Entity, expert::Column::Id)),
        )
        .order_by((ae, article_expert::Column::PublishedAt), Order::Desc)
        .order_by((ae, article_expert::Column::ArticleId), Order::Desc)
        .limit(1);
    if let Some(c) = visible(actor) {
        newest.cond_where(c);
    }
    let stmt = Query::select()
        .column((expert::Entity, expert::Column::Id))
        .expr_as(
            Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(newest))),
            Alias::new("latest"),
        )
        .from(expert::Entity)
        .and_where(Expr::col((expert::Entity, expert::Column::Id)).is_in(expert_ids.to_vec()))
        .to_owned();
    let mut latest: Vec<(i32, i32)> = Vec::new();
    for row in db.query_all(&stmt).await? {
        let expert: i32 = row.try_get("", "id")?;
        if let Some(article) = row.try_get::<Option<i32>>("", "latest")? {
            latest.push((expert, article));
        }
    }
    let ids: Vec<i32> = latest.iter().map(|(_, a)| *a).collect();
    let articles: HashMap<i32, article::Model> = article::Entity::find()
        .filter(article::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    Ok(latest
        .into_iter()
        .filter_map(|(e, a)| articles.get(&a).map(|m| (e, m.clone())))
        .collect())
}

/// How many visible articles feature each expert.
pub async fn mention_counts(
    db: &impl ConnectionTrait,
    actor: &Actor,
    expert_ids: &[i32],
) -> AppResult<HashMap<i32, i64>> {
    if expert_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i32, i64)> = scoped(actor)
        .select_only()
        .column(article_expert::Column::ExpertId)
        .column_as(article::Column::Id.count(), "n")
        .join(JoinType::InnerJoin, article::Relation::ArticleExperts.def())
        .filter(article_expert::Column::ExpertId.is_in(expert_ids.to_vec()))
        .group_by(article_expert::Column::ExpertId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Writes an article's ordered experts and its topics (after its old links, if
/// any, were removed), with the publication date the keyset indexes need.
pub(crate) async fn write_links(
    db: &impl ConnectionTrait,
    article_id: i32,
    published_at: chrono::DateTime<chrono::Utc>,
    expert_ids: &[i32],
    topic_ids: &[i32],
) -> AppResult<()> {
    use sea_orm::ActiveValue::Set;
    if !expert_ids.is_empty() {
        article_expert::Entity::insert_many(expert_ids.iter().enumerate().map(|(i, e)| {
            article_expert::ActiveModel {
                article_id: Set(article_id),
                expert_id: Set(*e),
                position: Set(i as i32),
                published_at: Set(published_at),
            }
        }))
        .exec(db)
        .await?;
    }
    if !topic_ids.is_empty() {
        article_topic::Entity::insert_many(topic_ids.iter().map(|t| article_topic::ActiveModel {
            article_id: Set(article_id),
            topic_id: Set(*t),
            published_at: Set(published_at),
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}
