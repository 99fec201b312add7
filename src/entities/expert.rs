//! `experts`: the institute's people quoted in the media.
//!
//! The model is also the GraphQL type `Expert` (its loaded fields are in
//! `graphql::types`) and, with its global `id` and topics, the REST JSON of an
//! expert.
use async_graphql::{ID, SimpleObject};
use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::graphql::{self, node_id};

/// One of the institute's experts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, SimpleObject, Serialize, ToSchema)]
#[sea_orm(table_name = "experts")]
#[graphql(name = "Expert", complex)]
pub struct Model {
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    #[sea_orm(primary_key)]
    #[graphql(
        skip,
        derived(name = "id", into = "ID", owned = true, with = "node_id::expert")
    )]
    #[serde(skip)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// Other spellings of the name met in the media.
    // Stored as a JSON array ("Robert Huebert" for "Rob Huebert").
    #[graphql(
        skip,
        derived(
            name = "aliases",
            into = "Vec<String>",
            owned = true,
            with = "graphql::names"
        )
    )]
    #[schema(value_type = Vec<String>)]
    pub aliases: Json,
    /// Normalised name and aliases (`|`-separated) for accent/case-insensitive lookup.
    #[graphql(skip)]
    #[serde(skip)]
    pub search_key: String,
    pub title: Option<String>,
    pub affiliation: Option<String>,
    // GraphQL: `bio(language)`.
    #[graphql(skip)]
    pub bio_en: Option<String>,
    #[graphql(skip)]
    pub bio_fr: Option<String>,
    pub photo_url: Option<String>,
    #[graphql(skip)]
    #[serde(skip)]
    pub created_at: DateTimeUtc,
    #[graphql(skip)]
    #[serde(skip)]
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
