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
