//! `newsletter_subscriptions`: an address on a list (`services::newsletters`);
//! only the digest of its confirmation token is kept.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "newsletter_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub newsletter_id: i32,
    /// Lowercased.
    pub email: String,
    /// `en` or `fr`: the language its issues are written in.
    pub language: String,
    /// `pending`, `confirmed` or `unsubscribed`.
    pub state: String,
    /// SHA-256 (hex) of the pending confirmation token.
    pub token_hash: Option<String>,
    pub token_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub unsubscribed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
