//! Experts: lookup by slug and id, listing by name with a name/alias search, and
//! their topics.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Select};

use crate::domain::{Cursor, ExpertFilter, Page, PageRequest, name_key};
use crate::entities::{expert, expert_topic, topic};
use crate::error::AppResult;

use super::{keyset_page, text_cursor};

pub async fn id_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<i32>> {
    super::id_by_slug::<expert::Entity>(db, slug).await
}

pub async fn get_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> AppResult<Option<expert::Model>> {
    super::by_slug(db, expert::Entity::find(), slug).await
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i32]) -> AppResult<Vec<expert::Model>> {
    super::by_ids(db, expert::Entity::find(), ids).await
}

/// The aliases stored with an expert or outlet.
pub fn aliases(json: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(json.clone()).unwrap_or_default()
}

async fn filtered(
    db: &impl ConnectionTrait,
    filter: &ExpertFilter,
) -> AppResult<Option<Select<expert::Entity>>> {
    let mut q = expert::Entity::find();
    if let Some(query) = filter.query.as_deref() {
        // Every word must appear in the name or an alias, in any order.
        for k in name_key(query).split(' ').filter(|k| !k.is_empty()) {
            q = q.filter(expert::Column::SearchKey.contains(k));
        }
    }
    if let Some(t) = &filter.topic {
        let Some(tid) = super::topics::id_by_slug(db, t.as_str()).await? else {
            return Ok(None);
        };
        q = q.filter(
            expert::Column::Id.in_subquery(
                Query::select()
                    .column(expert_topic::Column::ExpertId)
                    .from(expert_topic::Entity)
                    .and_where(expert_topic::Column::TopicId.eq(tid))
                    .to_owned(),
            ),
        );
    }
    Ok(Some(q))
}

/// How many experts match `filter`.
pub async fn count(db: &impl ConnectionTrait, filter: &ExpertFilter) -> AppResult<u64> {
    Ok(match filtered(db, filter).await? {
        Some(q) => q.count(db).await?,
        None => 0,
    })
}

/// Lists experts by name (accent- and case-folded), filtered by name/alias and topic.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &ExpertFilter,
    page: &PageRequest,
) -> AppResult<Page<expert::Model>> {
    let Some(q) = filtered(db, filter).await? else {
        return Ok(Page {
            items: vec![],
            has_next: false,
            has_previous: false,
        });
    };
    keyset_page(
        db,
        q,
        Expr::col((expert::Entity, expert::Column::SearchKey)),
        Expr::col((expert::Entity, expert::Column::Id)),
        text_cursor(page),
        false,
        page,
    )
    .await
}

pub fn cursor_of(e: &expert::Model) -> Cursor {
    Cursor {
        ts: None,
        text: Some(e.search_key.clone()),
        num: None,
        id: e.id,
        kind: None,
    }
}

/// Topics of each expert, by name: one statement (the links joined to the
/// topics) for any number of experts.
pub async fn topics_of(
    db: &impl ConnectionTrait,
    expert_ids: &[i32],
) -> AppResult<HashMap<i32, Vec<topic::Model>>> {
    if expert_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = expert_topic::Entity::find()
        .find_also_related(topic::Entity)
        .filter(expert_topic::Column::ExpertId.is_in(expert_ids.to_vec()))
        .all(db)
        .await?;
    Ok(super::topics::by_name(
        rows.into_iter().map(|(link, t)| (link.expert_id, t)),
    ))
}

/// Replaces an expert's topics.
pub(crate) async fn write_topics(
    db: &impl ConnectionTrait,
    expert_id: i32,
    topic_ids: &[i32],
) -> AppResult<()> {
    use sea_orm::ActiveValue::Set;
    expert_topic::Entity::delete_many()
        .filter(expert_topic::Column::ExpertId.eq(expert_id))
        .exec(db)
        .await?;
    if !topic_ids.is_empty() {
        expert_topic::Entity::insert_many(topic_ids.iter().map(|t| expert_topic::ActiveModel {
            expert_id: Set(expert_id),
            topic_id: Set(*t),
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}
