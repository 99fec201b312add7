//! `content_state`: one row whose `version` every write bumps. HTTP caches derive
//! ETags from it, so a write on any node changes what every node serves. It also
//! holds the change log's head: see `services::changes`.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "content_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub version: i64,
    pub updated_at: DateTimeUtc,
    /// The change log's last sequence number handed out (`services::changes`).
    pub log_head: i64,
    /// Sequence numbers at or below it may have been pruned.
    pub log_floor: i64,
    /// The change log's random name, set once by the server.
    pub log_epoch: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
