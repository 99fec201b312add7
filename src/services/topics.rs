//! Topics: the shared tags. Few enough to list whole.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::topic;
use crate::error::AppResult;

pub async fn id_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<i32>> {
    Ok(topic::Entity::find()
        .select_only()
        .column(topic::Column::Id)
        .filter(topic::Column::Slug.eq(slug))
        .into_tuple()
        .one(db)
        .await?)
}

pub async fn get_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<topic::Model>> {
    Ok(topic::Entity::find()
        .filter(topic::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<Vec<topic::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(topic::Entity::find()
        .filter(topic::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?)
}

/// Every topic, by name.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<topic::Model>> {
    Ok(topic::Entity::find()
        .order_by_asc(topic::Column::Name)
        .order_by_asc(topic::Column::Id)
        .all(db)
        .await?)
}
