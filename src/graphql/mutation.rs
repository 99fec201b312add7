//! The `Mutation` root. Writes need a Bearer token; the service layer decides
//! what each role may do.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

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

#[Object]
impl Mutation {
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
