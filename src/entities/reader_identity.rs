//! `reader_identities`: a reader's linked accounts at OpenID Connect providers
//! (`services::oidc`); (`provider`, `subject`) is unique.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reader_identities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reader_id: i32,
    /// The provider's configured name (`google`, `facebook`, ...).
    pub provider: String,
    /// The ID token's `sub`: the account at the provider.
    pub subject: String,
    /// The verified e-mail the provider last vouched for, if any.
    pub email: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_sign_in_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
