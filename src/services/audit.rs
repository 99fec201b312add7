//! The audit log: every write records who, when, what, and the values before and
//! after, inside the writing transaction (a rolled-back write leaves no entry).

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveModelTrait, ConnectionTrait};

use crate::auth::Actor;
use crate::entities::audit_entry;
use crate::error::AppResult;

/// The audit name of an actor: `user:<id>`, `key:<id>`, `system` or `anonymous`.
pub fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::Anonymous => "anonymous".into(),
        Actor::User { subject, .. } => subject.clone(),
        Actor::Reader { id } => format!("reader:{id}"),
        Actor::System => "system".into(),
    }
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AppResult<()> {
    audit_entry::ActiveModel {
        id: NotSet,
        at: Set(super::now()),
        actor: Set(actor_name(actor)),
        action: Set(action.into()),
        entity: Set(entity.into()),
        entity_id: Set(entity_id),
        before: Set(before),
        after: Set(after),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The audit log, newest first (administrators only).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    page: &crate::domain::PageRequest,
) -> AppResult<crate::domain::Page<audit_entry::Model>> {
    use sea_orm::EntityTrait;
    use sea_orm::sea_query::Expr;
    actor.require(crate::domain::Role::Admin)?;
    super::keyset_page(
        db,
        audit_entry::Entity::find(),
        Expr::col((audit_entry::Entity, audit_entry::Column::At)),
        Expr::col((audit_entry::Entity, audit_entry::Column::Id)),
        super::ts_cursor(page),
        true,
        page,
    )
    .await
}

/// How many entries the audit log holds (administrators only).
pub async fn count(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<u64> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    actor.require(crate::domain::Role::Admin)?;
    Ok(audit_entry::Entity::find().count(db).await?)
}

pub fn cursor_of(e: &audit_entry::Model) -> crate::domain::Cursor {
    crate::domain::Cursor {
        ts: Some(e.at.timestamp_micros()),
        text: None,
        num: None,
        id: e.id,
        kind: None,
    }
}
