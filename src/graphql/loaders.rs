//! Per-request DataLoaders. Each batches the keys asked for during one execution
//! step into one service call, and goes through the service layer so visibility
//! rules hold for nested data too.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DatabaseConnection;

use crate::auth::Actor;
use crate::entities::{article, expert, outlet, topic};
use crate::error::AppError;
use crate::services;

type LoadResult<V> = Result<HashMap<i32, V>, Arc<AppError>>;

/// Loads outlets by id.
pub struct OutletById(DatabaseConnection);
/// Loads an article's experts, in order, by article id.
pub struct ExpertsOfArticle(DatabaseConnection);
/// Loads an article's topics by article id.
pub struct TopicsOfArticle(DatabaseConnection);
/// Loads an expert's topics by expert id.
pub struct TopicsOfExpert(DatabaseConnection);
/// Counts an expert's visible mentions by expert id.
pub struct MentionCount(DatabaseConnection, Actor);
/// Loads an expert's newest visible mention by expert id.
pub struct LatestMention(DatabaseConnection, Actor);
/// Loads an outlet's direct children (by name) by outlet id.
pub struct ChildrenOf(DatabaseConnection);
/// Counts an article's approved comments by article id.
pub struct CommentCount(DatabaseConnection);

impl Loader<i32> for CommentCount {
    type Value = i64;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<i64> {
        Ok(services::comments::counts(&self.0, keys).await?)
    }
}

impl Loader<i32> for LatestMention {
    /// `None` for an expert without a visible mention (cached too).
    type Value = Option<article::Model>;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<Option<article::Model>> {
        let mut found = services::articles::latest_for_experts(&self.0, &self.1, keys).await?;
        Ok(keys.iter().map(|k| (*k, found.remove(k))).collect())
    }
}

impl Loader<i32> for ChildrenOf {
    type Value = Vec<outlet::Model>;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<Vec<outlet::Model>> {
        let mut out: HashMap<i32, Vec<outlet::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for child in services::outlets::children_of(&self.0, keys).await? {
            if let Some(parent) = child.parent_id {
                out.entry(parent).or_default().push(child);
            }
        }
        Ok(out)
    }
}

impl Loader<i32> for OutletById {
    type Value = outlet::Model;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<outlet::Model> {
        Ok(services::outlets::by_ids(&self.0, keys)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect())
    }
}

impl Loader<i32> for ExpertsOfArticle {
    type Value = Vec<expert::Model>;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<Vec<expert::Model>> {
        Ok(services::articles::experts_of(&self.0, keys).await?)
    }
}

impl Loader<i32> for TopicsOfArticle {
    type Value = Vec<topic::Model>;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<Vec<topic::Model>> {
        Ok(services::articles::topics_of(&self.0, keys).await?)
    }
}

impl Loader<i32> for TopicsOfExpert {
    type Value = Vec<topic::Model>;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<Vec<topic::Model>> {
        let mut found = services::experts::topics_of(&self.0, keys).await?;
        // Experts without topics are answered (and cached) too.
        Ok(keys
            .iter()
            .map(|k| (*k, found.remove(k).unwrap_or_default()))
            .collect())
    }
}

impl Loader<i32> for MentionCount {
    type Value = i64;
    type Error = Arc<AppError>;
    async fn load(&self, keys: &[i32]) -> LoadResult<i64> {
        let mut counts = services::articles::mention_counts(&self.0, &self.1, keys).await?;
        for k in keys {
            counts.entry(*k).or_insert(0);
        }
        Ok(counts)
    }
}

/// The loaders of one request.
///
/// They cache for the length of the request, so lists can prime them (see
/// `types::prefetch_articles`): batching then does not depend on timing.
pub struct Loaders {
    pub outlet: DataLoader<OutletById, HashMapCache>,
    pub experts_of_article: DataLoader<ExpertsOfArticle, HashMapCache>,
    pub topics_of_article: DataLoader<TopicsOfArticle, HashMapCache>,
    pub topics_of_expert: DataLoader<TopicsOfExpert, HashMapCache>,
    pub mention_count: DataLoader<MentionCount, HashMapCache>,
    pub latest_mention: DataLoader<LatestMention, HashMapCache>,
    pub children: DataLoader<ChildrenOf, HashMapCache>,
    pub comment_count: DataLoader<CommentCount, HashMapCache>,
}

/// A loader whose batches run in the span of the field that started them (a
/// batch is a task of its own: without this its statements would leave the trace).
fn cached<T: Loader<i32>>(loader: T) -> DataLoader<T, HashMapCache> {
    let spawn = |batch: futures_util::future::BoxFuture<'static, ()>| {
        tokio::spawn(tracing::Instrument::instrument(
            batch,
            tracing::Span::current(),
        ))
    };
    DataLoader::with_cache(loader, spawn, HashMapCache::default())
}

impl Loaders {
    /// Loaders that keep nothing between loads: for a subscription, whose
    /// events come minutes apart and must show what is current.
    pub fn uncached(db: &DatabaseConnection, actor: &Actor) -> Self {
        let l = Self::new(db, actor);
        l.outlet.enable_all_cache(false);
        l.experts_of_article.enable_all_cache(false);
        l.topics_of_article.enable_all_cache(false);
        l.topics_of_expert.enable_all_cache(false);
        l.mention_count.enable_all_cache(false);
        l.latest_mention.enable_all_cache(false);
        l.children.enable_all_cache(false);
        l.comment_count.enable_all_cache(false);
        l
    }

    pub fn new(db: &DatabaseConnection, actor: &Actor) -> Self {
        Self {
            outlet: cached(OutletById(db.clone())),
            experts_of_article: cached(ExpertsOfArticle(db.clone())),
            topics_of_article: cached(TopicsOfArticle(db.clone())),
            topics_of_expert: cached(TopicsOfExpert(db.clone())),
            mention_count: cached(MentionCount(db.clone(), actor.clone())),
            latest_mention: cached(LatestMention(db.clone(), actor.clone())),
            children: cached(ChildrenOf(db.clone())),
            comment_count: cached(CommentCount(db.clone())),
        }
    }
}

/// Turns a loader error back into a GraphQL error.
pub(crate) fn loader_error(e: Arc<AppError>) -> async_graphql::Error {
    let e = Arc::try_unwrap(e).unwrap_or_else(|shared| match &*shared {
        AppError::Validation(v) => AppError::Validation(v.clone()),
        AppError::Unprocessable(v) => AppError::Unprocessable(v.clone()),
        AppError::NotFound(m) => AppError::NotFound(m.clone()),
        AppError::UnsupportedMediaType => AppError::UnsupportedMediaType,
        AppError::PayloadTooLarge(n) => AppError::PayloadTooLarge(*n),
        AppError::Conflict(m) => AppError::Conflict(m.clone()),
        AppError::Stale(m) => AppError::Stale(m.clone()),
        AppError::PreconditionRequired(m) => AppError::PreconditionRequired(m.clone()),
        AppError::SyncTokenExpired(m) => AppError::SyncTokenExpired(m.clone()),
        AppError::EditWindowClosed(m) => AppError::EditWindowClosed(m.clone()),
        AppError::Unauthenticated => AppError::Unauthenticated,
        AppError::Forbidden(m) => AppError::Forbidden(m.clone()),
        AppError::TooManyRequests {
            what,
            retry_after_secs,
        } => AppError::TooManyRequests {
            what: what.clone(),
            retry_after_secs: *retry_after_secs,
        },
        AppError::Unavailable(m) => AppError::Unavailable(m.clone()),
        AppError::ProviderUnavailable(m) => AppError::ProviderUnavailable(m.clone()),
        AppError::InsufficientStorage(m) => AppError::InsufficientStorage(m.clone()),
        AppError::Internal(i) => AppError::Internal(anyhow::anyhow!("{i}")),
    });
    super::gql_error(e)
}
