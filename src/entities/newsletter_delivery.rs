//! `newsletter_deliveries`: which subscription an issue was queued for, and
//! its outbox message; one per (issue, subscription).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletter_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub issue_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub subscription_id: i32,
    pub outbox_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
