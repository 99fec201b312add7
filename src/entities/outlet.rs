//! `outlets`: media outlets, optionally nested under a parent ("CBC Radio One" in "CBC").
//!
//! The model is also the GraphQL type `Outlet` (its loaded fields are in
//! `graphql::types`) and, with its global `id`, parent and children, the REST
//! JSON of an outlet.
use async_graphql::{ID, SimpleObject};
use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::graphql::{self, Language, OutletKind, node_id};

/// A media outlet (newspaper, broadcaster, podcast...), possibly part of a parent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, SimpleObject, Serialize, ToSchema)]
#[sea_orm(table_name = "outlets")]
#[graphql(name = "Outlet", complex)]
pub struct Model {
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    #[sea_orm(primary_key)]
    #[graphql(
        skip,
        derived(name = "id", into = "ID", owned = true, with = "node_id::outlet")
    )]
    #[serde(skip)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    #[graphql(
        skip,
        derived(
            name = "kind",
            into = "async_graphql::Result<OutletKind>",
            owned = true,
            with = "OutletKind::stored"
        )
    )]
    #[schema(value_type = crate::domain::OutletKind)]
    pub kind: String,
    #[graphql(skip)]
    #[serde(skip)]
    pub parent_id: Option<i32>,
    pub website: Option<String>,
    /// ISO 3166 country code.
    pub country: Option<String>,
    #[graphql(
        skip,
        derived(
            name = "language",
            into = "async_graphql::Result<Option<Language>>",
            owned = true,
            with = "Language::stored_opt"
        )
    )]
    #[schema(value_type = Option<crate::domain::Language>)]
    pub language: Option<String>,
    // A JSON array of other spellings met in the media.
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
