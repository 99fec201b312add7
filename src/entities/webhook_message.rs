//! `webhook_messages`: one event, the exact bytes every endpoint gets signed
//! (`services::webhooks`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The change log entry it announces.
    pub seq: i64,
    /// `webhook-id`: the same on every attempt.
    #[sea_orm(unique)]
    pub msg_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
