//! The `Mutation` root. Writes need a Bearer token; the service layer decides
//! what each role may do.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use crate::error::AppError;
use crate::services;
use crate::services::mentions::MentionInput;

use super::types::Article;
use super::{RequestCtx, gql_error};

pub struct Mutation;

/// A media mention as a script records it.
#[derive(InputObject)]
pub struct RecordMentionInput {
    pub title: String,
    /// The canonical source URL: recording the same URL again changes nothing.
    pub url: String,
    /// Outlet name, alias or slug.
    pub outlet: Option<String>,
    /// Expert names, aliases or slugs, in order.
    pub experts: Vec<String>,
    #[graphql(default)]
    pub authors: Vec<String>,
    /// A date (`2022-06-29`) or an RFC 3339 date-time.
    pub published_at: String,
    /// `en` or `fr`.
    pub language: String,
    pub summary: Option<String>,
    #[graphql(default)]
    pub topics: Vec<String>,
    /// `published` (default for editors) or `draft`.
    pub status: Option<String>,
    /// Create outlets and experts that no name or alias matches (editors).
    #[graphql(default)]
    pub create_missing: bool,
}

/// One invalid input field.
#[derive(SimpleObject)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct RecordMentionPayload {
    /// The mention (new, or the one already recorded for this URL).
    pub article: Option<Article>,
    /// Whether this call created it.
    pub created: bool,
    /// What is wrong with the input, field by field (empty on success).
    pub errors: Vec<FieldError>,
}

/// Changes to an article: fields left out stay as they are, `null` clears them.
#[derive(InputObject)]
pub struct UpdateArticleInput {
    pub slug: String,
    /// The `version` the change is based on; a stale one is a `CONFLICT`.
    pub expected_version: i32,
    pub title: MaybeUndefined<String>,
    pub url: MaybeUndefined<String>,
    /// Outlet name, alias or slug.
    pub outlet: MaybeUndefined<String>,
    pub experts: MaybeUndefined<Vec<String>>,
    pub authors: MaybeUndefined<Vec<String>>,
    pub published_at: MaybeUndefined<String>,
    pub language: MaybeUndefined<String>,
    pub summary: MaybeUndefined<String>,
    pub body: MaybeUndefined<String>,
    pub dateline: MaybeUndefined<String>,
    pub topics: MaybeUndefined<Vec<String>>,
    /// `draft`, `published` or `archived`.
    pub status: MaybeUndefined<String>,
    pub publish_at: MaybeUndefined<String>,
}

fn put<T: serde::Serialize>(
    m: &mut serde_json::Map<String, serde_json::Value>,
    k: &str,
    v: MaybeUndefined<T>,
) {
    match v {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            m.insert(k.into(), serde_json::Value::Null);
        }
        MaybeUndefined::Value(v) => {
            m.insert(
                k.into(),
                serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
            );
        }
    }
}

/// The changed article, or what is wrong with the input.
#[derive(SimpleObject)]
pub struct ArticlePayload {
    pub article: Option<Article>,
    pub errors: Vec<FieldError>,
}

async fn edit(
    ctx: &Context<'_>,
    slug: &str,
    expected_version: i32,
    patch: serde_json::Map<String, serde_json::Value>,
) -> Result<ArticlePayload> {
    let rc = ctx.data::<RequestCtx>()?;
    match services::article_edits::update(&rc.db, &rc.actor, slug, Some(expected_version), patch)
        .await
    {
        Ok(a) => Ok(ArticlePayload {
            article: Some(Article(a)),
            errors: vec![],
        }),
        Err(AppError::Unprocessable(fields)) => Ok(ArticlePayload {
            article: None,
            errors: fields
                .into_iter()
                .map(|f| FieldError {
                    field: f.field,
                    message: f.message,
                })
                .collect(),
        }),
        Err(e) => Err(gql_error(e)),
    }
}

#[Object]
impl Mutation {
    /// Changes an article (editors), if it is still at `expectedVersion`.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        input: UpdateArticleInput,
    ) -> Result<ArticlePayload> {
        let mut m = serde_json::Map::new();
        put(&mut m, "title", input.title);
        put(&mut m, "url", input.url);
        put(&mut m, "outlet", input.outlet);
        put(&mut m, "experts", input.experts);
        put(&mut m, "authors", input.authors);
        put(&mut m, "published_at", input.published_at);
        put(&mut m, "language", input.language);
        put(&mut m, "summary", input.summary);
        put(&mut m, "body", input.body);
        put(&mut m, "dateline", input.dateline);
        put(&mut m, "topics", input.topics);
        put(&mut m, "status", input.status);
        put(&mut m, "publish_at", input.publish_at);
        edit(ctx, &input.slug, input.expected_version, m).await
    }

    /// Publishes an article (editors).
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<ArticlePayload> {
        let mut m = serde_json::Map::new();
        m.insert("status".into(), "published".into());
        edit(ctx, &slug, expected_version, m).await
    }

    /// Takes an article back to draft (editors).
    async fn unpublish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<ArticlePayload> {
        let mut m = serde_json::Map::new();
        m.insert("status".into(), "draft".into());
        edit(ctx, &slug, expected_version, m).await
    }

    /// Deletes an article (editors); true when it was deleted.
    async fn delete_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        let rc = ctx.data::<RequestCtx>()?;
        services::article_edits::delete(&rc.db, &rc.actor, &slug, Some(expected_version))
            .await
            .map(|_| true)
            .map_err(gql_error)
    }

    /// Records a media mention, idempotently by its canonical source URL.
    async fn record_mention(
        &self,
        ctx: &Context<'_>,
        input: RecordMentionInput,
    ) -> Result<RecordMentionPayload> {
        let rc = ctx.data::<RequestCtx>()?;
        let input = MentionInput {
            title: input.title,
            url: input.url,
            outlet: input.outlet,
            experts: input.experts,
            authors: input.authors,
            published_at: input.published_at,
            language: input.language,
            summary: input.summary,
            topics: input.topics,
            status: input.status,
            create_missing: input.create_missing,
        };
        match services::mentions::record_mention(&rc.db, &rc.actor, input).await {
            Ok((a, created)) => Ok(RecordMentionPayload {
                article: Some(Article(a)),
                created,
                errors: vec![],
            }),
            Err(AppError::Unprocessable(fields)) => Ok(RecordMentionPayload {
                article: None,
                created: false,
                errors: fields
                    .into_iter()
                    .map(|f| FieldError {
                        field: f.field,
                        message: f.message,
                    })
                    .collect(),
            }),
            Err(e) => Err(gql_error(e)),
        }
    }
}
