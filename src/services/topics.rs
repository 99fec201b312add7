//! Topics: the shared tags. Few enough to list whole.

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::entities::topic;
use crate::error::AppResult;

pub async fn id_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<i32>> {
    super::id_by_slug::<topic::Entity>(db, slug).await
}

pub async fn get_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<topic::Model>> {
    super::by_slug(db, topic::Entity::find(), slug).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<Vec<topic::Model>> {
    super::by_ids(db, topic::Entity::find(), ids).await
}

/// Every topic, by name.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<topic::Model>> {
    Ok(topic::Entity::find()
        .order_by_asc(topic::Column::Name)
        .order_by_asc(topic::Column::Id)
        .all(db)
        .await?)
}

/// Topics joined to their owners' links (owner id, topic), grouped by owner and
/// sorted by name within each owner.
pub(crate) fn by_name(
    rows: impl IntoIterator<Item = (i32, Option<topic::Model>)>,
) -> std::collections::HashMap<i32, Vec<topic::Model>> {
    let mut out = super::group_joined(rows);
    for v in out.values_mut() {
        v.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}
