//! The global content version: every write bumps it inside its own transaction, so
//! ETags derived from it change on every node that shares the database.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::entities::content_state;
use crate::error::AppResult;

/// Records that content changed. Call inside the writing transaction.
pub async fn bump(db: &impl ConnectionTrait) -> AppResult<()> {
    let now = super::now();
    let stmt = Query::insert()
        .into_table(content_state::Entity)
        .columns([
            content_state::Column::Id,
            content_state::Column::Version,
            content_state::Column::UpdatedAt,
        ])
        .values_panic([1.into(), 1i64.into(), now.into()])
        .on_conflict(
            OnConflict::column(content_state::Column::Id)
                .value(
                    content_state::Column::Version,
                    Expr::col((content_state::Entity, content_state::Column::Version)).add(1),
                )
                .value(content_state::Column::UpdatedAt, now)
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// The current content version and when it last changed (`None` before any write).
pub async fn current(db: &impl ConnectionTrait) -> AppResult<Option<content_state::Model>> {
    Ok(content_state::Entity::find_by_id(1).one(db).await?)
}

/// What cached public reads depend on: the content version, when it changed, and
/// the latest scheduled publication that has come due (content that becomes
/// visible with the passage of time, without a write).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub version: i64,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_due: Option<chrono::DateTime<chrono::Utc>>,
}

impl Stamp {
    /// When the public view of the content last changed.
    pub fn last_modified(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match (self.changed_at, self.last_due) {
            (Some(a), Some(b)) => Some(std::cmp::max(a, b)),
            (a, b) => a.or(b),
        }
    }
}

/// Reads the stamp in two indexed single-row queries.
pub async fn stamp(db: &impl ConnectionTrait) -> AppResult<Stamp> {
    use crate::entities::article;
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let state = current(db).await?;
    let last_due: Option<chrono::DateTime<chrono::Utc>> = article::Entity::find()
        .select_only()
        .column_as(article::Column::PublishAt.max(), "m")
        .filter(article::Column::PublishAt.lte(super::now()))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(Stamp {
        version: state.as_ref().map_or(0, |s| s.version),
        changed_at: state.map(|s| s.updated_at),
        last_due,
    })
}
