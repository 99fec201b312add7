//! Relay connections over service pages: cursors are the services' opaque keyset
//! cursors; `totalCount` runs its COUNT query only when a client asks for it.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};

use crate::domain::{
    ArticleFilter, Cursor, EventFilter, ExpertFilter, OutletFilter, Page, PageRequest,
};
use crate::services;

use super::{RequestCtx, gql_error};

/// What `totalCount` counts.
pub enum TotalOf {
    Articles(ArticleFilter),
    Experts(ExpertFilter),
    Outlets(OutletFilter),
    Events(EventFilter),
    Search(String),
    Audit,
    /// The comments the caller sees on an article (by slug).
    Comments(String),
    /// The moderation queue, by status.
    CommentQueue(Option<crate::domain::CommentStatus>),
}

/// The extra fields of every connection.
pub struct Total(pub TotalOf);

#[Object]
impl Total {
    /// How many items match, across all pages (computed only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let rc = ctx.data::<RequestCtx>()?;
        let n = match &self.0 {
            TotalOf::Articles(f) => services::articles::count(&rc.db, &rc.actor, f).await,
            TotalOf::Experts(f) => services::experts::count(&rc.db, f).await,
            TotalOf::Outlets(f) => services::outlets::count(&rc.db, f).await,
            TotalOf::Events(f) => services::events::count(&rc.db, &rc.actor, f).await,
            TotalOf::Search(q) => services::search::count(&rc.db, &rc.actor, q).await,
            TotalOf::Audit => services::audit::count(&rc.db, &rc.actor).await,
            TotalOf::Comments(slug) => {
                services::comments::count_for_article(&rc.db, &rc.actor, slug).await
            }
            TotalOf::CommentQueue(s) => services::comments::count(&rc.db, &rc.actor, *s).await,
        };
        n.map_err(gql_error)
    }
}

pub type Conn<N> = Connection<String, N, Total>;

/// Wraps a service page as a connection.
pub fn connection<M, N: async_graphql::OutputType>(
    page: Page<M>,
    cursor: impl Fn(&M) -> Cursor,
    wrap: impl Fn(M) -> N,
    total: TotalOf,
) -> Conn<N> {
    let mut c = Connection::with_additional_fields(page.has_previous, page.has_next, Total(total));
    c.edges = page
        .items
        .into_iter()
        .map(|m| Edge::new(cursor(&m).encode(), wrap(m)))
        .collect();
    c
}

/// Relay arguments to a page request (a `BAD_USER_INPUT` error when invalid).
pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest> {
    PageRequest::relay(
        first.map(i64::from),
        after.as_deref(),
        last.map(i64::from),
        before.as_deref(),
    )
    .map_err(|e| gql_error(e.into()))
}

/// The complexity of a connection field: its page size times what each node costs.
pub fn connection_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first
        .or(last)
        .unwrap_or(crate::domain::DEFAULT_PAGE_SIZE as i32);
    (n.clamp(1, crate::domain::MAX_PAGE_SIZE as i32) as usize).saturating_mul(child.max(1)) + 1
}
