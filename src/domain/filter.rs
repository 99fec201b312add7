//! One filter struct per listable resource. GraphQL inputs and REST query
//! parameters convert into these; feeds build them directly.

use chrono::{DateTime, Utc};

use super::{ArticleStatus, EventKind, FieldError, Language, MentionGroup, OutletKind, Slug};

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

/// A request for coverage statistics: counts of the public's mentions grouped by
/// at most one subject and at most one period, matching `filter`. Valid by
/// construction ([`MentionStatsQuery::new`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MentionStatsQuery {
    pub group_by: Vec<MentionGroup>,
    /// Its `status` is `None`: statistics count published mentions only.
    pub filter: ArticleFilter,
    /// Count each outlet under its top parent (needs `group_by` outlet).
    pub roll_up_outlets: bool,
    /// At most this many groups, the largest counts first.
    pub limit: usize,
}

impl MentionStatsQuery {
    /// Groups returned when no limit is given.
    pub const DEFAULT_LIMIT: usize = 100;
    /// The largest limit.
    pub const MAX_LIMIT: usize = 1000;

    /// Checks the grouping (one or two keys, no more than one subject and one
    /// period), the date range, the status (published or none) and the limit.
    pub fn new(
        group_by: Vec<MentionGroup>,
        mut filter: ArticleFilter,
        roll_up_outlets: bool,
        limit: Option<i64>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let subjects = group_by.iter().filter(|g| !g.is_period()).count();
        let periods = group_by.len() - subjects;
        if group_by.is_empty() || subjects > 1 || periods > 1 {
            errors.push(FieldError::new(
                "group_by",
                "give one or two keys: at most one of expert, outlet, topic, language and at most one of month, week",
            ));
        }
        if roll_up_outlets && !group_by.contains(&MentionGroup::Outlet) {
            errors.push(FieldError::new(
                "roll_up",
                "rolls outlets up: needs group_by outlet",
            ));
        }
        if let (Some(from), Some(to)) = (filter.published_after, filter.published_before)
            && from > to
        {
            errors.push(FieldError::new("from", "is after `to`"));
        }
        match filter.status {
            None | Some(ArticleStatus::Published) => filter.status = None,
            Some(_) => errors.push(FieldError::new(
                "status",
                "statistics count published mentions only",
            )),
        }
        let limit = match limit {
            None => Self::DEFAULT_LIMIT,
            Some(n) if (1..=Self::MAX_LIMIT as i64).contains(&n) => n as usize,
            Some(_) => {
                errors.push(FieldError::new(
                    "limit",
                    format!("is not a whole number from 1 to {}", Self::MAX_LIMIT),
                ));
                Self::DEFAULT_LIMIT
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            group_by,
            filter,
            roll_up_outlets,
            limit,
        })
    }

    /// The subject key, if any.
    pub fn subject(&self) -> Option<MentionGroup> {
        self.group_by.iter().copied().find(|g| !g.is_period())
    }

    /// The period key, if any.
    pub fn period(&self) -> Option<MentionGroup> {
        self.group_by.iter().copied().find(|g| g.is_period())
    }
}

impl MentionGroup {
    /// Month and week.
    pub fn is_period(self) -> bool {
        matches!(self, MentionGroup::Month | MentionGroup::Week)
    }
}

#[cfg(test)]
mod stats_tests {
    use super::*;
    use MentionGroup::*;

    fn q(
        keys: &[MentionGroup],
        roll_up: bool,
        limit: Option<i64>,
    ) -> Result<MentionStatsQuery, Vec<FieldError>> {
        MentionStatsQuery::new(keys.to_vec(), ArticleFilter::default(), roll_up, limit)
    }

    #[test]
    fn one_subject_and_one_period_at_most() {
        assert!(q(&[Expert, Month], false, None).is_ok());
        assert!(q(&[Week], false, None).is_ok());
        for bad in [&[][..], &[Expert, Topic], &[Month, Week], &[Expert, Expert]] {
            assert_eq!(q(bad, false, None).unwrap_err()[0].field, "group_by");
        }
        assert_eq!(q(&[Expert], true, None).unwrap_err()[0].field, "roll_up");
        assert_eq!(q(&[Outlet], false, Some(0)).unwrap_err()[0].field, "limit");
        assert_eq!(
            q(&[Outlet], true, None).unwrap().limit,
            MentionStatsQuery::DEFAULT_LIMIT
        );
    }

    #[test]
    fn a_reversed_range_and_unpublished_statuses_are_refused() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let f = ArticleFilter {
            published_after: Some(t("2025-02-01T00:00:00Z")),
            published_before: Some(t("2025-01-01T00:00:00Z")),
            status: Some(ArticleStatus::Draft),
            ..Default::default()
        };
        let errs = MentionStatsQuery::new(vec![Month], f, false, None).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["from", "status"]);
        let published = ArticleFilter {
            status: Some(ArticleStatus::Published),
            ..Default::default()
        };
        let ok = MentionStatsQuery::new(vec![Month], published, false, None).unwrap();
        assert_eq!(ok.filter.status, None);
    }
}
