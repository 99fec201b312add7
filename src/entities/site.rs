//! `site`: the one row of organisation settings (id is always 1).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "site")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub name: String,
    pub tagline_en: String,
    pub tagline_fr: String,
    /// JSON array of `domain::Office`.
    pub offices: Json,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub web: Option<String>,
    pub copyright: Option<String>,
    pub charity_registration: Option<String>,
    pub version: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
