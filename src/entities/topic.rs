//! `topics`: tags shared by articles, experts and events.
//!
//! The model is also the GraphQL type `Topic` and, with its global `id`, the
//! REST JSON of a topic.
use async_graphql::{ID, SimpleObject};
use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::graphql::node_id;

/// A subject tag shared by articles, experts and events.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, SimpleObject, Serialize, ToSchema)]
#[sea_orm(table_name = "topics")]
#[graphql(name = "Topic")]
pub struct Model {
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    #[sea_orm(primary_key)]
    #[graphql(
        skip,
        derived(name = "id", into = "ID", owned = true, with = "node_id::topic")
    )]
    #[serde(skip)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
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
