//! Reader comments in GraphQL: `Article.commentCount` (through the
//! `CommentCount` loader, so a list of articles costs one statement for all
//! counts), `Article.comments` (a Relay connection, oldest first), the
//! editors' `comments(status:)` queue, and the mutations `postComment`,
//! `updateComment`, `deleteComment`, `approveComment`, `rejectComment`,
//! `markCommentSpam`. Thin adapters over `services::comments`, with the same
//! answers as the REST routes (`http::rest::comments`).

use std::sync::Arc;

use async_graphql::{Context, Enum, Result};
use futures_util::future::BoxFuture;

use super::connection::{Conn, TotalOf, connection, page_args};
use super::loaders::loader_error;
use super::{Loaders, RequestCtx, gql_error};
use crate::domain::{CommentBody, CommentStatus};
use crate::error::{AppError, AppResult};
use crate::services::comments::{self, Comment, Decision, NewComment};

/// Spends one comment of a reader's and this client's budgets.
pub type SpendComment = Arc<dyn Fn(i32) -> BoxFuture<'static, AppResult<()>> + Send + Sync>;

/// What the comment resolvers need from the server: the policy and the
/// budgets bound to the request's client (absent on subscription sockets,
/// which cannot post).
pub struct CommentAccess {
    pub settings: comments::Settings,
    pub spend: SpendComment,
}

/// A comment's status.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CommentStatus")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Spam,
}

impl From<Status> for CommentStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Pending => Self::Pending,
            Status::Approved => Self::Approved,
            Status::Rejected => Self::Rejected,
            Status::Spam => Self::Spam,
        }
    }
}

impl From<CommentStatus> for Status {
    fn from(s: CommentStatus) -> Self {
        match s {
            CommentStatus::Pending => Self::Pending,
            CommentStatus::Approved => Self::Approved,
            CommentStatus::Rejected => Self::Rejected,
            CommentStatus::Spam => Self::Spam,
        }
    }
}

#[async_graphql::ComplexObject]
impl comments::Comment {
    /// Where it stands: only its author and editors see other than APPROVED.
    async fn status(&self) -> Result<Status> {
        self.status
            .parse::<CommentStatus>()
            .map(Into::into)
            .map_err(|e| gql_error(AppError::Internal(anyhow::anyhow!(e))))
    }
}

fn body(s: &str) -> Result<CommentBody> {
    CommentBody::parse(s).map_err(|m| gql_error(AppError::invalid("body", m)))
}

fn access<'a>(ctx: &'a Context<'_>) -> Result<&'a CommentAccess> {
    ctx.data_opt::<CommentAccess>().ok_or_else(|| {
        gql_error(AppError::Forbidden(
            "comments cannot be written on this connection".into(),
        ))
    })
}

/// `Article.commentCount`
pub async fn count(ctx: &Context<'_>, article: i32) -> Result<i64> {
    let l = ctx.data::<Loaders>()?;
    Ok(l.comment_count
        .load_one(article)
        .await
        .map_err(loader_error)?
        .unwrap_or_default())
}

/// `Article.comments`
pub async fn of_article(
    ctx: &Context<'_>,
    slug: &str,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Conn<Comment>> {
    let rc = ctx.data::<RequestCtx>()?;
    let page = page_args(first, after, last, before)?;
    let p = comments::list_for_article(&rc.db, &rc.actor, slug, &page)
        .await
        .map_err(gql_error)?;
    Ok(connection(
        p,
        comments::cursor_of,
        |c| c,
        TotalOf::Comments(slug.to_owned()),
    ))
}

/// `comments(status:)`
pub async fn queue(
    ctx: &Context<'_>,
    status: Option<Status>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Conn<Comment>> {
    let rc = ctx.data::<RequestCtx>()?;
    let page = page_args(first, after, last, before)?;
    let status = status.map(Into::into);
    let p = comments::list(&rc.db, &rc.actor, status, &page)
        .await
        .map_err(gql_error)?;
    Ok(connection(
        p,
        comments::cursor_of,
        |c| c,
        TotalOf::CommentQueue(status),
    ))
}

/// `postComment`
pub async fn post(
    ctx: &Context<'_>,
    article: String,
    text: String,
    parent_id: Option<i32>,
) -> Result<Comment> {
    let rc = ctx.data::<RequestCtx>()?;
    let reader = comments::commenter(&rc.actor).map_err(gql_error)?;
    let a = access(ctx)?;
    let input = NewComment {
        body: body(&text)?,
        parent_id,
    };
    (a.spend)(reader).await.map_err(gql_error)?;
    comments::create(&rc.db, &rc.actor, &a.settings, &article, input)
        .await
        .map_err(gql_error)
}

/// `updateComment`
pub async fn update(ctx: &Context<'_>, id: i32, text: String) -> Result<Comment> {
    let rc = ctx.data::<RequestCtx>()?;
    let a = access(ctx)?;
    comments::update(&rc.db, &rc.actor, &a.settings, id, body(&text)?)
        .await
        .map_err(gql_error)
}

/// `deleteComment`
pub async fn delete(ctx: &Context<'_>, id: i32) -> Result<bool> {
    let rc = ctx.data::<RequestCtx>()?;
    comments::delete(&rc.db, &rc.actor, id)
        .await
        .map_err(gql_error)?;
    Ok(true)
}

/// `approveComment`, `rejectComment`, `markCommentSpam`
pub async fn decide(ctx: &Context<'_>, id: i32, decision: Decision) -> Result<Comment> {
    let rc = ctx.data::<RequestCtx>()?;
    comments::moderate(&rc.db, &rc.actor, id, decision)
        .await
        .map_err(gql_error)
}
