//! `reader_tokens`: one-time sign-in tokens and refresh tokens of readers,
//! stored as SHA-256 digests only (`services::readers`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reader_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reader_id: i32,
    /// `sign_in` or `refresh`.
    pub purpose: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
