//! `outlets`: media outlets, optionally nested under a parent ("CBC Radio One" in "CBC").
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outlets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<i32>,
    pub website: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    /// JSON array of alternative spellings.
    pub aliases: Json,
    /// Normalised name and aliases (`|`-separated) for accent/case-insensitive lookup.
    pub search_key: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
