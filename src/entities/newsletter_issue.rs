//! `newsletter_issues`: an issue sent to a list, with the period it covers
//! (`services::newsletters`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletter_issues")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub newsletter_id: i32,
    /// Exclusive.
    pub period_start: DateTimeUtc,
    /// Inclusive; the next issue starts here.
    pub period_end: DateTimeUtc,
    pub articles: i32,
    pub events: i32,
    pub recipients: i32,
    pub created_at: DateTimeUtc,
    /// Who sent it (the audit name).
    pub created_by: String,
    /// The change log's head when it was built: the next issue takes what
    /// became public after it (None: issues from before the column).
    pub log_head: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
