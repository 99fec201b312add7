//! `webhook_endpoints`: where webhooks go (`services::webhooks`). The secret
//! signs deliveries; it is shown once and never in an answer, log or audit.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of event types (`["*"]`: all).
    pub event_types: String,
    /// JSON arrays of ids, when the endpoint filters on them.
    pub expert_ids: Option<String>,
    pub outlet_ids: Option<String>,
    pub topic_ids: Option<String>,
    /// `whsec_` and the base64 of 32 random bytes.
    pub secret: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
