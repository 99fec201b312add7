//! The `Query` root.

use async_graphql::{Context, ID, Object, Result};

use crate::domain::{self, OutletFilter};
use crate::error::AppError;
use crate::services;

use super::connection::{Conn, TotalOf, connection, page_args};
use super::types::*;
use super::{RequestCtx, gql_error, parse_global_id};

pub struct Query;

#[Object]
impl Query {
    /// The signed-in reader's account (a reader's token; others are refused).
    async fn me(&self, ctx: &Context<'_>) -> Result<services::readers::Profile> {
        super::readers::me(ctx).await
    }

    /// The OpenID Connect providers readers may sign in with, in their
    /// configured order, each with the URL its "Sign in with ..." link goes to.
    async fn sign_in_providers(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<services::oidc::SignInProvider>> {
        super::readers::sign_in_providers(ctx)
    }

    /// The comment moderation queue, newest first (editors); for a signed-in
    /// reader, their own comments on every article, in every status.
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only comments in this status (all when left out).")] status: Option<
            super::comments::Status,
        >,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<services::comments::Comment>> {
        super::comments::queue(ctx, status, first, after, last, before).await
    }

    /// One article by slug or by global ID.
    async fn article(
        &self,
        ctx: &Context<'_>,
        slug: Option<String>,
        id: Option<ID>,
    ) -> Result<Option<Article>> {
        let rc = ctx.data::<RequestCtx>()?;
        match (slug, id) {
            (Some(s), None) => Ok(services::articles::get_by_slug(&rc.db, &rc.actor, &s)
                .await
                .map_err(gql_error)?),
            (None, Some(id)) => match parse_global_id(&id) {
                Some((kind, n)) if kind == "Article" => {
                    Ok(services::articles::by_ids(&rc.db, &rc.actor, &[n])
                        .await
                        .map_err(gql_error)?
                        .pop())
                }
                _ => Err(gql_error(AppError::invalid("id", "is not an Article ID"))),
            },
            _ => Err(gql_error(AppError::invalid(
                "slug",
                "give exactly one of slug or id",
            ))),
        }
    }

    /// Articles, newest first unless `orderBy` says otherwise.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ArticleFilterInput>,
        order_by: Option<ArticleOrder>,
    ) -> Result<Conn<Article>> {
        let f = filter.unwrap_or_default().into_domain()?;
        list_articles(ctx, first, after, last, before, f, order_by).await
    }

    /// Coverage statistics: the published mentions the public can see, counted
    /// by one subject (`EXPERT`, `OUTLET`, `TOPIC`, `LANGUAGE`) and/or one period
    /// (`MONTH`, `WEEK`; UTC), for the articles `filter` keeps (as `articles`
    /// does: an outlet includes its children; `status` may only be `PUBLISHED`).
    /// A scheduled article counts from its publication time on; drafts and
    /// archived articles never. An article counts once in each group it belongs
    /// to (once per expert it quotes, per topic it has); one without an outlet
    /// is in no outlet group. `rollUpOutlets` counts each outlet under its top
    /// parent (needs `OUTLET`). The `limit` (1 to 1000, default 100) largest
    /// groups are returned. The same counts for every caller.
    async fn mention_stats(
        &self,
        ctx: &Context<'_>,
        group_by: Vec<MentionGroupBy>,
        filter: Option<ArticleFilterInput>,
        roll_up_outlets: Option<bool>,
        limit: Option<i32>,
    ) -> Result<MentionStats> {
        let rc = ctx.data::<RequestCtx>()?;
        let q = domain::MentionStatsQuery::new(
            group_by.into_iter().map(Into::into).collect(),
            filter.unwrap_or_default().into_domain()?,
            roll_up_outlets.unwrap_or(false),
            limit.map(i64::from),
        )
        .map_err(|e| gql_error(AppError::Validation(e)))?;
        let s = services::stats::mentions(&rc.db, &q)
            .await
            .map_err(gql_error)?;
        Ok(s.into())
    }

    async fn expert(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Expert>> {
        let rc = ctx.data::<RequestCtx>()?;
        services::experts::get_by_slug(&rc.db, &slug)
            .await
            .map_err(gql_error)
    }

    /// Experts by name.
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn experts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ExpertFilterInput>,
    ) -> Result<Conn<Expert>> {
        let rc = ctx.data::<RequestCtx>()?;
        let page = page_args(first, after, last, before)?;
        let f = filter.unwrap_or_default().into_domain()?;
        let p = services::experts::list(&rc.db, &f, &page)
            .await
            .map_err(gql_error)?;
        super::types::prefetch_experts(ctx, &p.items).await?;
        Ok(connection(
            p,
            services::experts::cursor_of,
            Expert::from,
            TotalOf::Experts(f),
        ))
    }

    async fn outlet(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Outlet>> {
        let rc = ctx.data::<RequestCtx>()?;
        services::outlets::get_by_slug(&rc.db, &slug)
            .await
            .map_err(gql_error)
    }

    /// Outlets by name.
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn outlets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OutletFilterInput>,
    ) -> Result<Conn<Outlet>> {
        let rc = ctx.data::<RequestCtx>()?;
        let page = page_args(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let f = OutletFilter {
            query: f.query,
            kind: f.kind.map(Into::into),
        };
        let p = services::outlets::list(&rc.db, &f, &page)
            .await
            .map_err(gql_error)?;
        super::types::prefetch_outlets(ctx, &p.items).await?;
        Ok(connection(
            p,
            services::outlets::cursor_of,
            Outlet::from,
            TotalOf::Outlets(f),
        ))
    }

    async fn event(&self, ctx: &Context<'_>, slug: String) -> Result<Option<Event>> {
        let rc = ctx.data::<RequestCtx>()?;
        services::events::get_by_slug(&rc.db, &rc.actor, &slug)
            .await
            .map_err(gql_error)
    }

    /// Events: latest first by default; with `upcoming: true`, soonest first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<EventFilterInput>,
        order_by: Option<EventOrder>,
    ) -> Result<Conn<Event>> {
        let rc = ctx.data::<RequestCtx>()?;
        let page = page_args(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let f = domain::EventFilter {
            upcoming: f.upcoming,
            from: f.from,
            to: f.to,
            kind: f.kind.map(Into::into),
            city: f.city,
            query: None,
        };
        let order = order_by.map(|o| match o {
            EventOrder::Soonest => domain::EventOrder::Soonest,
            EventOrder::Latest => domain::EventOrder::Latest,
        });
        let p = services::events::list(&rc.db, &rc.actor, &f, order, &page)
            .await
            .map_err(gql_error)?;
        Ok(connection(
            p,
            services::events::cursor_of,
            Event::from,
            TotalOf::Events(f),
        ))
    }

    /// Site-wide search: matching experts and outlets (names and aliases), then
    /// events, then articles by relevance. Case- and accent-insensitive.
    #[graphql(complexity = "super::connection::connection_cost(first, None, child_complexity)")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<SearchResult>> {
        let rc = ctx.data::<RequestCtx>()?;
        let page = page_args(first, after, None, None)?;
        let index = rc.search.as_ref();
        let p = services::search::search(&rc.db, index, &rc.actor, &query, &page)
            .await
            .map_err(gql_error)?;
        Ok(connection(
            p,
            |h| h.cursor(),
            SearchResult::from,
            TotalOf::Search(query),
        ))
    }

    /// The change log after the token `after`, in commit order: how a mirror
    /// catches up (see `GET /api/v1/changes`). Without `after`, an empty page
    /// whose `pageInfo.endCursor` is the head: where a mirror starts before it
    /// copies the lists. `first` counts entries of the log read (1 to 1000),
    /// including those the caller may not see. A token the log can no longer
    /// answer is an error with code `SYNC_TOKEN_EXPIRED`: copy the lists again.
    #[graphql(
        complexity = "super::connection::connection_cost(Some(first), None, child_complexity)"
    )]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<super::changes::ChangeConnection> {
        let rc = ctx.data::<RequestCtx>()?;
        let max = services::sync::MAX_LIMIT;
        let limit = u64::try_from(first)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                gql_error(AppError::invalid(
                    "first",
                    format!("must be from 1 to {max}"),
                ))
            })?;
        let page = services::sync::page(&rc.db, &rc.actor, after.as_deref(), limit)
            .await
            .map_err(gql_error)?;
        Ok(page.into())
    }

    /// Every write, newest first (administrators only).
    #[graphql(complexity = "super::connection::connection_cost(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<AuditEntry>> {
        let rc = ctx.data::<RequestCtx>()?;
        let page = page_args(first, after, last, before)?;
        let p = services::audit::list(&rc.db, &rc.actor, &page)
            .await
            .map_err(gql_error)?;
        Ok(connection(
            p,
            services::audit::cursor_of,
            AuditEntry,
            TotalOf::Audit,
        ))
    }

    /// Every user account (administrators only).
    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<super::types::User>> {
        let rc = ctx.data::<RequestCtx>()?;
        Ok(services::accounts::list_users(&rc.db, &rc.actor)
            .await
            .map_err(gql_error)?
            .into_iter()
            .map(super::types::User)
            .collect())
    }

    /// Every webhook endpoint, oldest first, never a secret (administrators only).
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<services::webhooks::Endpoint>> {
        let rc = ctx.data::<RequestCtx>()?;
        services::webhooks::list(&rc.db, &rc.actor)
            .await
            .map_err(gql_error)
    }

    /// One webhook endpoint (administrators only); null when there is none.
    async fn webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> Result<Option<services::webhooks::Endpoint>> {
        let rc = ctx.data::<RequestCtx>()?;
        match services::webhooks::get(&rc.db, &rc.actor, id).await {
            Ok(e) => Ok(Some(e)),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(gql_error(e)),
        }
    }

    /// An endpoint's deliveries, newest first, each with its attempts
    /// (administrators only): `first` (1 to 100) after the cursor `after`.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint: i32,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<WebhookDeliveryPage> {
        let rc = ctx.data::<RequestCtx>()?;
        if !(1..=100).contains(&first) {
            return Err(gql_error(AppError::invalid(
                "first",
                "must be from 1 to 100",
            )));
        }
        let before = after
            .map(|a| a.parse::<i64>())
            .transpose()
            .map_err(|_| gql_error(AppError::invalid("after", "is not a cursor of this list")))?;
        let (nodes, next) =
            services::webhooks::deliveries(&rc.db, &rc.actor, endpoint, first as u64, before)
                .await
                .map_err(gql_error)?;
        Ok(WebhookDeliveryPage {
            nodes,
            end_cursor: next.map(|n| n.to_string()),
        })
    }

    /// Every API key, revoked ones included (administrators only).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<super::types::ApiKey>> {
        let rc = ctx.data::<RequestCtx>()?;
        Ok(services::accounts::list_keys(&rc.db, &rc.actor)
            .await
            .map_err(gql_error)?
            .into_iter()
            .map(super::types::ApiKey)
            .collect())
    }

    /// Every topic, by name.
    async fn topics(&self, ctx: &Context<'_>) -> Result<Vec<Topic>> {
        let rc = ctx.data::<RequestCtx>()?;
        Ok(services::topics::list(&rc.db)
            .await
            .map_err(gql_error)?
            .into_iter()
            .collect())
    }

    /// Organisation name, taglines, offices and contact details.
    async fn site(&self, ctx: &Context<'_>) -> Result<Site> {
        let rc = ctx.data::<RequestCtx>()?;
        Ok(Site(services::site::get(&rc.db).await.map_err(gql_error)?))
    }

    /// Any object by its global ID.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let rc = ctx.data::<RequestCtx>()?;
        let Some((kind, n)) = parse_global_id(&id) else {
            return Err(gql_error(AppError::invalid(
                "id",
                "is not a valid global ID",
            )));
        };
        let db = &rc.db;
        Ok(match kind.as_str() {
            "Article" => services::articles::by_ids(db, &rc.actor, &[n])
                .await
                .map_err(gql_error)?
                .pop()
                .map(Node::Article),
            "Expert" => services::experts::by_ids(db, &[n])
                .await
                .map_err(gql_error)?
                .pop()
                .map(Node::Expert),
            "Outlet" => services::outlets::by_ids(db, &[n])
                .await
                .map_err(gql_error)?
                .pop()
                .map(Node::Outlet),
            "Event" => services::events::by_ids(db, &rc.actor, &[n])
                .await
                .map_err(gql_error)?
                .pop()
                .map(Node::Event),
            "Topic" => services::topics::by_ids(db, &[n])
                .await
                .map_err(gql_error)?
                .pop()
                .map(Node::Topic),
            _ => {
                return Err(gql_error(AppError::invalid(
                    "id",
                    "is not a valid global ID",
                )));
            }
        })
    }

    // Newsletters (issue 14 item 5).
    /// Every newsletter list, by name (anyone).
    async fn newsletters(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<services::newsletters::Newsletter>> {
        let rc = ctx.data::<RequestCtx>()?;
        services::newsletters::list(&rc.db).await.map_err(gql_error)
    }
}

/// A page of webhook deliveries, newest first.
#[derive(async_graphql::SimpleObject)]
pub struct WebhookDeliveryPage {
    pub nodes: Vec<services::webhooks::Delivery>,
    /// Pass as `after` for the next page; null on the last page.
    pub end_cursor: Option<String>,
}
