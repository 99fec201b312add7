//! `comments`: readers' comments on articles (`services::comments`). `status`
//! is `pending`, `approved`, `rejected` or `spam`; `parent_id` makes a reply
//! (one level deep).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub article_id: i32,
    pub reader_id: i32,
    pub parent_id: Option<i32>,
    pub body: String,
    /// Hex SHA-256 of the normalised body (duplicate detection).
    pub body_key: String,
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the author last changed the body.
    pub edited_at: Option<DateTimeUtc>,
    pub moderated_at: Option<DateTimeUtc>,
    /// The audit name of the last moderator.
    pub moderated_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
