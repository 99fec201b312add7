//! `events`: conferences, roundtables, webinars, briefings.
//!
//! The model is also the GraphQL type `Event` and, with its global `id`, the
//! REST JSON of an event: a field's doc comment is its description in both.
use async_graphql::{ID, SimpleObject};
use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::graphql::{EventKind, Status, node_id};

/// An event held by the institute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, SimpleObject, Serialize, ToSchema)]
#[sea_orm(table_name = "events")]
#[graphql(name = "Event")]
pub struct Model {
    /// Increases with every change (optimistic concurrency).
    pub version: i32,
    #[sea_orm(primary_key)]
    #[graphql(
        skip,
        derived(name = "id", into = "ID", owned = true, with = "node_id::event")
    )]
    #[serde(skip)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub title: String,
    #[graphql(
        skip,
        derived(
            name = "kind",
            into = "async_graphql::Result<EventKind>",
            owned = true,
            with = "EventKind::stored"
        )
    )]
    #[schema(value_type = crate::domain::EventKind)]
    pub kind: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    pub starts_at: DateTimeUtc,
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub ends_at: Option<DateTimeUtc>,
    /// IANA time zone of the venue ("America/Toronto").
    pub time_zone: Option<String>,
    pub venue: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    /// ISO 3166 country code.
    pub country: Option<String>,
    pub description: Option<String>,
    pub registration_url: Option<String>,
    /// The event will not take place (it stays listed, marked as cancelled).
    pub cancelled: bool,
    /// Folded title, venue and city (`|`-separated) for accent/case-insensitive search.
    #[graphql(skip)]
    #[serde(skip)]
    pub search_key: String,
    #[graphql(
        skip,
        derived(
            name = "status",
            into = "async_graphql::Result<Status>",
            owned = true,
            with = "Status::stored"
        )
    )]
    #[schema(value_type = crate::domain::ArticleStatus)]
    pub status: String,
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
