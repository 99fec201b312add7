//! The `Subscription` root: changes pushed as they are committed on any node,
//! fed from the change log (`services::tail`), over WebSocket
//! (`http::graphql_ws`). Each event is read again under the subscriber (the
//! visibility rules and filters of the queries), so an anonymous subscriber
//! sees only public content.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::{
    Context, ErrorExtensions, ID, Result, SimpleObject, Subscription as GqlSubscription,
};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::changes::ChangeOp;
use super::types::{Article, ArticleFilterInput, Event};
use super::{RequestCtx, gql_error};
use crate::auth::Actor;
use crate::services::changes::ChangeRow;
use crate::services::sync::SyncOp;
use crate::services::tail::Tail;
use crate::services::{self, articles};

pub struct Subscription;

/// A change to an event, as the subscriber may see it.
#[derive(SimpleObject)]
pub struct EventChange {
    /// `UPSERT`: the event as it is now; `DELETE`: gone or no longer visible.
    pub op: ChangeOp,
    /// The event's global ID.
    pub id: ID,
    pub slug: String,
    /// The event as it is now (null for a delete).
    pub event: Option<Event>,
}

/// The error that ends a subscription whose subscriber fell too far behind.
fn lagged(missed: u64) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "this subscription fell {missed} batches of changes behind and was ended; \
         subscribe again and catch up with `changes(after:)`"
    ))
    .extend_with(|_, e| e.set("code", "LAGGED"))
}

/// The entries after the subscription began (`start`), batch by batch;
/// a subscriber that lagged gets the error that ends its stream.
fn entries(
    rx: tokio::sync::broadcast::Receiver<Arc<[ChangeRow]>>,
    start: i64,
) -> impl Stream<Item = Result<Vec<ChangeRow>>> {
    futures_util::stream::unfold(Some(rx), move |rx| async move {
        let mut rx = rx?;
        loop {
            match rx.recv().await {
                Ok(batch) => {
                    let rows: Vec<ChangeRow> =
                        batch.iter().filter(|r| r.seq > start).cloned().collect();
                    if !rows.is_empty() {
                        return Some((Ok(rows), Some(rx)));
                    }
                }
                Err(RecvError::Lagged(n)) => return Some((Err(lagged(n)), None)),
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Did the article become visible to `actor` with this entry?
fn became_visible(actor: &Actor, r: &ChangeRow) -> bool {
    r.kind == "article"
        && if actor.can_see_drafts() {
            r.op == "publish" || (r.op == "create" && r.is_public)
        } else {
            !r.was_public && r.is_public
        }
}

/// The subscriber's database and caller.
fn caller(ctx: &Context<'_>) -> Result<(sea_orm::DatabaseConnection, Actor, Arc<Tail>)> {
    let rc = ctx.data::<RequestCtx>()?;
    let tail = ctx.data::<Arc<Tail>>()?.clone();
    Ok((rc.db.clone(), rc.actor.clone(), tail))
}

/// The articles of `ids` that `actor` may see and `filter` matches, in the
/// order of `ids`.
async fn articles_in_order(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    filter: &crate::domain::ArticleFilter,
    ids: Vec<i32>,
) -> Result<Vec<Article>> {
    let mut found: std::collections::HashMap<i32, Article> =
        articles::matching(db, actor, filter, &ids)
            .await
            .map_err(gql_error)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    Ok(ids.into_iter().filter_map(|id| found.remove(&id)).collect())
}

/// Unique ids of the entries that pass `keep`, in log order.
fn ids_of(rows: &[ChangeRow], keep: impl Fn(&ChangeRow) -> bool) -> Vec<i32> {
    let mut seen = HashSet::new();
    rows.iter()
        .filter(|r| keep(r))
        .map(|r| r.object_id)
        .filter(|id| seen.insert(*id))
        .collect()
}

#[GqlSubscription]
impl Subscription {
    /// Articles as they become visible to the subscriber: published (or a
    /// scheduled publication coming due) for the public; editors also get
    /// articles created published. With `filter`, only those it matches.
    async fn article_published(
        &self,
        ctx: &Context<'_>,
        filter: Option<ArticleFilterInput>,
    ) -> Result<impl Stream<Item = Result<Article>>> {
        let filter = filter.unwrap_or_default().into_domain()?;
        let (db, actor, tail) = caller(ctx)?;
        let (rx, start) = tail.subscribe().await.map_err(gql_error)?;
        Ok(flatten(entries(rx, start), move |rows| {
            let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
            async move {
                let ids = ids_of(&rows, |r| became_visible(&actor, r));
                articles_in_order(&db, &actor, &filter, ids).await
            }
        }))
    }

    /// Mentions as they are recorded (`recordMention`, `POST /mentions`): the
    /// public sees those published at once; editors see every one.
    async fn mention_recorded(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<Article>>> {
        let (db, actor, tail) = caller(ctx)?;
        let (rx, start) = tail.subscribe().await.map_err(gql_error)?;
        Ok(flatten(entries(rx, start), move |rows| {
            let (db, actor) = (db.clone(), actor.clone());
            async move {
                let ids = ids_of(&rows, |r| {
                    r.kind == "article"
                        && r.cause == "mention"
                        && r.op == "create"
                        && (r.is_public || actor.can_see_drafts())
                });
                articles_in_order(&db, &actor, &Default::default(), ids).await
            }
        }))
    }

    /// Events as they are created, changed, published, unpublished or
    /// deleted, as the subscriber may see them.
    async fn event_changed(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = Result<EventChange>>> {
        let (db, actor, tail) = caller(ctx)?;
        let (rx, start) = tail.subscribe().await.map_err(gql_error)?;
        Ok(flatten(entries(rx, start), move |rows| {
            let (db, actor) = (db.clone(), actor.clone());
            async move {
                // The sync API's view of each entry (who sees what, and an
                // upsert of what the subscriber can no longer see as a delete).
                let rows: Vec<ChangeRow> = rows
                    .into_iter()
                    .filter(|r| r.kind == "event" && r.op != "touch")
                    .collect();
                let (seen, now) = services::sync::seen_by(&db, &actor, rows)
                    .await
                    .map_err(gql_error)?;
                Ok(seen
                    .into_iter()
                    .map(|e| {
                        let event = match e.op {
                            SyncOp::Upsert => now.events.get(&e.row.object_id).cloned(),
                            SyncOp::Delete => None,
                        };
                        EventChange {
                            op: if event.is_some() {
                                ChangeOp::Upsert
                            } else {
                                ChangeOp::Delete
                            },
                            id: super::global_id("Event", e.row.object_id),
                            slug: e.row.slug,
                            event,
                        }
                    })
                    .collect())
            }
        }))
    }
}

/// Each batch of entries turned into items by `items`, one at a time; an
/// error ends the stream after it is sent.
fn flatten<T, F, Fut>(
    batches: impl Stream<Item = Result<Vec<ChangeRow>>> + Send + 'static,
    items: F,
) -> impl Stream<Item = Result<T>>
where
    T: Send + 'static,
    F: Fn(Vec<ChangeRow>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>>> + Send,
{
    use futures_util::StreamExt;
    let mut done = false;
    batches
        .then(move |b| {
            let fut = b.map(&items);
            async move {
                match fut {
                    Ok(f) => f.await,
                    Err(e) => Err(e),
                }
            }
        })
        .flat_map(|r: Result<Vec<T>>| {
            let v: Vec<Result<T>> = match r {
                Ok(items) => items.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures_util::stream::iter(v)
        })
        .take_while(move |r| {
            let go = !done;
            done = r.is_err();
            std::future::ready(go)
        })
}
