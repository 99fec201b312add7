//! `webhook_attempts`: each try of a delivery (`services::webhooks`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: i64,
    pub at: DateTimeUtc,
    /// `ok`, `http_status`, `timeout`, `refused`, `connect` or `redirect`.
    pub outcome: String,
    pub response_code: Option<i32>,
    pub latency_ms: i32,
    /// The first KiB of the response (UTF-8, lossy).
    pub response_body: String,
    /// The server process that sent it.
    pub node: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
