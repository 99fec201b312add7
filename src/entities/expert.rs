//! `experts`: the institute's people quoted in the media.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "experts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// JSON array of alternative spellings ("Robert Huebert" for "Rob Huebert").
    pub aliases: Json,
    /// Normalised name and aliases (`|`-separated) for accent/case-insensitive lookup.
    pub search_key: String,
    pub title: Option<String>,
    pub affiliation: Option<String>,
    pub bio_en: Option<String>,
    pub bio_fr: Option<String>,
    pub photo_url: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
