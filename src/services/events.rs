//! Events: listing by start time (soonest or latest first) with filters, and lookup.
//! The public sees published events only.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};

use crate::auth::Actor;
use crate::domain::{ArticleStatus, Cursor, EventFilter, EventOrder, Page, PageRequest};
use crate::entities::event;
use crate::error::AppResult;

use super::{keyset_page, now, ts_cursor};

fn scoped(actor: &Actor) -> Select<event::Entity> {
    let q = event::Entity::find();
    if actor.can_see_drafts() {
        q
    } else {
        q.filter(event::Column::Status.eq(ArticleStatus::Published.as_str()))
    }
}

pub async fn get_by_slug(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> AppResult<Option<event::Model>> {
    super::by_slug(db, scoped(actor), slug).await
}

pub async fn by_ids(
    db: &impl ConnectionTrait,
    actor: &Actor,
    ids: &[i32],
) -> AppResult<Vec<event::Model>> {
    super::by_ids(db, scoped(actor), ids).await
}

/// The ordering used when the client names none: upcoming events soonest first,
/// everything else latest first.
pub fn default_order(filter: &EventFilter) -> EventOrder {
    if filter.upcoming == Some(true) {
        EventOrder::Soonest
    } else {
        EventOrder::Latest
    }
}

fn filtered(actor: &Actor, filter: &EventFilter) -> Select<event::Entity> {
    let mut q = scoped(actor);
    match filter.upcoming {
        Some(true) => q = q.filter(event::Column::StartsAt.gt(now())),
        Some(false) => q = q.filter(event::Column::StartsAt.lte(now())),
        None => {}
    }
    if let Some(from) = filter.from {
        q = q.filter(event::Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(event::Column::StartsAt.lt(to));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(event::Column::Kind.eq(kind.as_str()));
    }
    if let Some(query) = filter.query.as_deref() {
        for k in crate::domain::name_key(query)
            .split(' ')
            .filter(|k| !k.is_empty())
        {
            q = q.filter(event::Column::SearchKey.contains(k));
        }
    }
    if let Some(city) = filter.city.as_deref() {
        q = q.filter(
            Expr::expr(Func::lower(Expr::col((event::Entity, event::Column::City))))
                .eq(city.trim().to_lowercase()),
        );
    }
    q
}

pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &EventFilter,
    order: Option<EventOrder>,
    page: &PageRequest,
) -> AppResult<Page<event::Model>> {
    let order = order.unwrap_or_else(|| default_order(filter));
    keyset_page(
        db,
        filtered(actor, filter),
        Expr::col((event::Entity, event::Column::StartsAt)),
        Expr::col((event::Entity, event::Column::Id)),
        ts_cursor(page),
        order == EventOrder::Latest,
        page,
    )
    .await
}

pub async fn count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &EventFilter,
) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(filtered(actor, filter).count(db).await?)
}

pub fn cursor_of(e: &event::Model) -> Cursor {
    Cursor {
        ts: Some(e.starts_at.timestamp_micros()),
        text: None,
        num: None,
        id: e.id,
        kind: None,
    }
}

/// Does an event already have this slug?
pub(crate) async fn slug_taken(db: &impl ConnectionTrait, slug: &str) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(event::Entity::find()
        .filter(event::Column::Slug.eq(slug))
        .count(db)
        .await?
        > 0)
}
