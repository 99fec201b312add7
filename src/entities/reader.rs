//! `readers`: people who sign in by e-mail to read, comment and subscribe
//! (`services::readers`). A deleted reader is a tombstone: `deleted_at` set,
//! e-mail and display name cleared.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "readers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Lower-cased; `None` once deleted.
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// `en` or `fr`.
    pub language: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the first sign-in link was used.
    pub activated_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
