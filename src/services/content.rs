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
