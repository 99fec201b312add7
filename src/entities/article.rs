//! `articles`: media mentions. `url_key` is the canonical source URL, unique when present.
//!
//! The model is also the GraphQL type `Article` (its loaded fields, outlet,
//! experts and topics, are in `graphql::types`); REST embeds those in its own
//! shape (`http::rest::json::Article`).
use async_graphql::{ID, SimpleObject};
use sea_orm::entity::prelude::*;

use crate::graphql::{self, Language, Status, node_id};

/// A media mention: an article, interview or broadcast featuring experts.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, SimpleObject)]
#[sea_orm(table_name = "articles")]
#[graphql(name = "Article", complex)]
pub struct Model {
    #[sea_orm(primary_key)]
    #[graphql(
        skip,
        derived(name = "id", into = "ID", owned = true, with = "node_id::article")
    )]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    /// Bylines as written, in order.
    // Stored as a JSON array ("Julie Gordon", "Rod Gordon").
    #[graphql(
        skip,
        derived(
            name = "authors",
            into = "Vec<String>",
            owned = true,
            with = "graphql::names"
        )
    )]
    pub authors: Json,
    #[graphql(skip)]
    pub outlet_id: Option<i32>,
    pub published_at: DateTimeUtc,
    #[graphql(
        skip,
        derived(
            name = "language",
            into = "async_graphql::Result<Language>",
            owned = true,
            with = "Language::stored"
        )
    )]
    pub language: String,
    /// The canonical source URL.
    pub url: Option<String>,
    #[graphql(skip)]
    pub url_key: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    /// Where the story was filed ("OTTAWA").
    pub dateline: Option<String>,
    /// The programme or show within the outlet, when known.
    pub program: Option<String>,
    #[graphql(
        skip,
        derived(
            name = "status",
            into = "async_graphql::Result<Status>",
            owned = true,
            with = "Status::stored"
        )
    )]
    pub status: String,
    /// Scheduled publication time, if any.
    // Hidden from the public until this time.
    pub publish_at: Option<DateTimeUtc>,
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The account that created it (`user:<id>`, `key:<id>`); `None` for imports.
    #[graphql(skip)]
    pub created_by: Option<String>,
    /// Text-search relevance when the row came from a ranked search (not stored).
    #[sea_orm(ignore)]
    #[graphql(skip)]
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
