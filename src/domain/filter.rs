//! One filter struct per listable resource. GraphQL inputs and REST query
//! parameters convert into these; feeds build them directly.

use chrono::{DateTime, Utc};

use super::{ArticleStatus, EventKind, Language, OutletKind, Slug};

/// Which articles to list. Date ranges include their start and exclude their end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArticleFilter {
    pub expert: Option<Slug>,
    /// Includes the outlet's child outlets.
    pub outlet: Option<Slug>,
    pub topic: Option<Slug>,
    pub language: Option<Language>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
    /// Full-text query over titles, summaries, bodies, bylines, experts and outlets.
    pub query: Option<String>,
    /// Editors only; the public always sees published items.
    pub status: Option<ArticleStatus>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArticleOrder {
    #[default]
    Newest,
    Oldest,
    /// By text-search relevance; needs `query`.
    Relevance,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpertFilter {
    /// Matches names and aliases, accent- and case-insensitively.
    pub query: Option<String>,
    pub topic: Option<Slug>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutletFilter {
    pub query: Option<String>,
    pub kind: Option<OutletKind>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    /// Events starting after now.
    pub upcoming: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub kind: Option<EventKind>,
    pub city: Option<String>,
    /// Words that must all appear in the title, venue or city.
    pub query: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOrder {
    Soonest,
    Latest,
}
