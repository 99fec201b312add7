//! `articles`: media mentions. `url_key` is the canonical source URL, unique when present.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    /// JSON array of bylines as written ("Julie Gordon", "Rod Gordon").
    pub authors: Json,
    pub outlet_id: Option<i32>,
    /// The programme or show within the outlet, when the source names one.
    pub program: Option<String>,
    pub published_at: DateTimeUtc,
    pub language: String,
    pub url: Option<String>,
    pub url_key: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub dateline: Option<String>,
    pub status: String,
    /// Scheduled publication: hidden from the public until this time.
    pub publish_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The account that created it (`user:<id>`, `key:<id>`); `None` for imports.
    pub created_by: Option<String>,
    /// Text-search relevance when the row came from a ranked search (not stored).
    #[sea_orm(ignore)]
    pub search_rank: Option<f64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::article_expert::Entity")]
    ArticleExperts,
    #[sea_orm(has_many = "super::article_topic::Entity")]
    ArticleTopics,
}

impl Related<super::article_expert::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ArticleExperts.def()
    }
}

impl Related<super::article_topic::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ArticleTopics.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
