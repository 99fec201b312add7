//! Outlets: lookup by slug and id, their parent/children hierarchy, and listing.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Select,
};

use crate::domain::{Cursor, OutletFilter, Page, PageRequest, name_key};
use crate::entities::outlet;
use crate::error::AppResult;

use super::{keyset_page, text_cursor};

/// How deep outlet nesting is followed ("CBC" > "CBC Radio One" > a programme).
const MAX_DEPTH: usize = 4;

pub async fn get_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> AppResult<Option<outlet::Model>> {
    super::by_slug(db, outlet::Entity::find(), slug).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<Vec<outlet::Model>> {
    super::by_ids(db, outlet::Entity::find(), ids).await
}

/// The direct children of each of `parent_ids`, by name.
pub async fn children_of(
    db: &impl ConnectionTrait,
    parent_ids: &[i32],
) -> AppResult<Vec<outlet::Model>> {
    if parent_ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(outlet::Entity::find()
        .filter(outlet::Column::ParentId.is_in(parent_ids.to_vec()))
        .order_by_asc(outlet::Column::SearchKey)
        .all(db)
        .await?)
}

/// The outlet named by `slug` and all its descendants; `None` if there is no such outlet.
pub async fn family_ids(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<Vec<i32>>> {
    let Some(root) = get_by_slug(db, slug).await? else {
        return Ok(None);
    };
    let mut all = vec![root.id];
    let mut level = vec![root.id];
    for _ in 0..MAX_DEPTH {
        let next: Vec<i32> = children_of(db, &level)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect();
        let next: Vec<i32> = next.into_iter().filter(|id| !all.contains(id)).collect();
        if next.is_empty() {
            break;
        }
        all.extend(&next);
        level = next;
    }
    Ok(Some(all))
}

fn filtered(filter: &OutletFilter) -> Select<outlet::Entity> {
    let mut q = outlet::Entity::find();
    if let Some(query) = filter.query.as_deref() {
        // Every word must appear in the name or an alias, in any order.
        for k in name_key(query).split(' ').filter(|k| !k.is_empty()) {
            q = q.filter(outlet::Column::SearchKey.contains(k));
        }
    }
    if let Some(kind) = filter.kind {
        q = q.filter(outlet::Column::Kind.eq(kind.as_str()));
    }
    q
}

/// How many outlets match `filter`.
pub async fn count(db: &impl ConnectionTrait, filter: &OutletFilter) -> AppResult<u64> {
    Ok(filtered(filter).count(db).await?)
}

/// Lists outlets by name, filtered by name/alias and kind.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &OutletFilter,
    page: &PageRequest,
) -> AppResult<Page<outlet::Model>> {
    keyset_page(
        db,
        filtered(filter),
        Expr::col((outlet::Entity, outlet::Column::SearchKey)),
        Expr::col((outlet::Entity, outlet::Column::Id)),
        text_cursor(page),
        false,
        page,
    )
    .await
}

pub fn cursor_of(o: &outlet::Model) -> Cursor {
    Cursor {
        ts: None,
        text: Some(o.search_key.clone()),
        num: None,
        id: o.id,
        kind: None,
    }
}
