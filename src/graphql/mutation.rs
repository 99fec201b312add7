//! The `Mutation` root. Writes need a Bearer token; the service layer
//! (`services::records`, `services::mentions`) decides what each role may do.
//!
//! Inputs are read as import-format fields: a create leaves out what it does
//! not set, an update's absent fields stay as they are and an explicit `null`
//! clears one. Invalid input is a `BAD_USER_INPUT` error whose
//! `extensions.fields` lists every bad field; a stale `expectedVersion` is a
//! `CONFLICT`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{ArticleStatus, FieldError, Role};
use crate::entities::{article, event, expert, outlet, site, topic};
use crate::error::AppError;
use crate::services;
use crate::services::mentions::MentionInput;
use crate::services::records::{self, Expected, Record};

use super::types::{ApiKey, Article, Event, Expert, Outlet, Site, Topic, User};
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
    /// `published` (default for editors) or `draft` (contributors' only choice).
    pub status: Option<String>,
    /// Create outlets and experts that no name or alias matches (editors).
    #[graphql(default)]
    pub create_missing: bool,
}

#[derive(SimpleObject)]
pub struct RecordMentionPayload {
    /// The mention: new, or the one already recorded for this URL.
    pub article: Article,
    /// Whether this call created it.
    pub created: bool,
}

/// A new article. Contributors' articles are drafts.
#[derive(InputObject, Serialize)]
pub struct CreateArticleInput {
    /// Default: the title's slug, with `-2`, `-3`... only if taken. A given
    /// slug that is taken is refused.
    pub slug: Option<String>,
    pub title: String,
    pub url: Option<String>,
    /// Outlet name, alias or slug.
    pub outlet: Option<String>,
    /// Expert names, aliases or slugs, in order.
    #[graphql(default)]
    pub experts: Vec<String>,
    #[graphql(default)]
    pub authors: Vec<String>,
    /// A date (`2022-06-29`) or an RFC 3339 date-time.
    pub published_at: String,
    /// `en` or `fr`.
    pub language: String,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub dateline: Option<String>,
    pub program: Option<String>,
    /// Topic names or slugs.
    #[graphql(default)]
    pub topics: Vec<String>,
    /// `draft`, `published` (default for editors) or `archived`.
    pub status: Option<String>,
    /// Hidden from the public until this time.
    pub publish_at: Option<String>,
}

/// Changes to an article: fields left out stay as they are, `null` clears them.
#[derive(InputObject, Serialize)]
pub struct UpdateArticleInput {
    #[serde(skip)]
    pub slug: String,
    /// The `version` the change is based on; a stale one is a `CONFLICT`.
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub new_slug: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub title: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub url: MaybeUndefined<String>,
    /// Outlet name, alias or slug.
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub outlet: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub experts: MaybeUndefined<Vec<String>>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub authors: MaybeUndefined<Vec<String>>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub published_at: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub language: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub summary: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub body: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub dateline: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub program: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub topics: MaybeUndefined<Vec<String>>,
    /// `draft`, `published` or `archived`.
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub status: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub publish_at: MaybeUndefined<String>,
}

/// A new expert.
#[derive(InputObject, Serialize)]
pub struct CreateExpertInput {
    /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
    /// slug that is taken is refused.
    pub slug: Option<String>,
    pub name: String,
    /// Other spellings met in the media.
    #[graphql(default)]
    pub aliases: Vec<String>,
    pub title: Option<String>,
    pub affiliation: Option<String>,
    pub bio_en: Option<String>,
    pub bio_fr: Option<String>,
    pub photo_url: Option<String>,
    /// Topic names or slugs.
    #[graphql(default)]
    pub topics: Vec<String>,
}

/// Changes to an expert: fields left out stay as they are, `null` clears them.
#[derive(InputObject, Serialize)]
pub struct UpdateExpertInput {
    #[serde(skip)]
    pub slug: String,
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub new_slug: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub name: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub aliases: MaybeUndefined<Vec<String>>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub title: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub affiliation: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub bio_en: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub bio_fr: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub photo_url: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub topics: MaybeUndefined<Vec<String>>,
}

/// A new outlet.
#[derive(InputObject, Serialize)]
pub struct CreateOutletInput {
    /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
    /// slug that is taken is refused.
    pub slug: Option<String>,
    pub name: String,
    /// `newspaper`, `magazine`, `tv`, `radio`, `online`, `wire` or `other` (default).
    pub kind: Option<String>,
    /// The parent outlet's name, alias or slug.
    pub parent: Option<String>,
    pub website: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    #[graphql(default)]
    pub aliases: Vec<String>,
}

/// Changes to an outlet: fields left out stay as they are, `null` clears them.
#[derive(InputObject, Serialize)]
pub struct UpdateOutletInput {
    #[serde(skip)]
    pub slug: String,
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub new_slug: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub name: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub kind: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub parent: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub website: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub country: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub language: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub aliases: MaybeUndefined<Vec<String>>,
}

/// A new topic.
#[derive(InputObject, Serialize)]
pub struct CreateTopicInput {
    /// Default: the name's slug, with `-2`, `-3`... only if taken. A given
    /// slug that is taken is refused.
    pub slug: Option<String>,
    pub name: String,
}

/// Changes to a topic.
#[derive(InputObject, Serialize)]
pub struct UpdateTopicInput {
    #[serde(skip)]
    pub slug: String,
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub new_slug: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub name: MaybeUndefined<String>,
}

/// A new event.
#[derive(InputObject, Serialize)]
pub struct CreateEventInput {
    /// Default: the title's slug, with `-2`, `-3`... only if taken. A given
    /// slug that is taken is refused.
    pub slug: Option<String>,
    pub title: String,
    /// `conference`, `roundtable`, `webinar`, `briefing` or `other`.
    pub kind: String,
    /// RFC 3339 date-time or a date.
    pub starts_at: String,
    pub ends_at: Option<String>,
    /// IANA time zone of the venue, e.g. `America/Edmonton`.
    pub time_zone: Option<String>,
    pub venue: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub description: Option<String>,
    pub registration_url: Option<String>,
    /// `published` (default), `draft` or `archived`.
    pub status: Option<String>,
}

/// Changes to an event: fields left out stay as they are, `null` clears them.
#[derive(InputObject, Serialize)]
pub struct UpdateEventInput {
    #[serde(skip)]
    pub slug: String,
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub new_slug: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub title: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub kind: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub starts_at: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub ends_at: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub time_zone: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub venue: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub city: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub region: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub country: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub description: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub registration_url: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub status: MaybeUndefined<String>,
}

/// An office of the organisation.
#[derive(InputObject, Serialize)]
pub struct OfficeInput {
    pub label: String,
    #[graphql(default)]
    pub street: Vec<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// Changes to the site settings (admins).
#[derive(InputObject, Serialize)]
pub struct UpdateSiteInput {
    #[serde(skip)]
    pub expected_version: i32,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub name: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub tagline_en: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub tagline_fr: MaybeUndefined<String>,
    /// Replaces the list of offices.
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub offices: MaybeUndefined<Vec<OfficeInput>>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub phone: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub email: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub web: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub copyright: MaybeUndefined<String>,
    #[serde(skip_serializing_if = "MaybeUndefined::is_undefined")]
    pub charity_registration: MaybeUndefined<String>,
}

/// An input object as import-format fields. A create's absent fields (null)
/// are left out; an update's `newSlug` is its `slug`.
fn fields(input: &impl Serialize, drop_nulls: bool) -> Map<String, Value> {
    let mut m = match serde_json::to_value(input) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if drop_nulls {
        m.retain(|_, v| !Value::is_null(v));
    }
    if let Some(s) = m.remove("new_slug") {
        m.insert("slug".into(), s);
    }
    m
}

/// A mutation's input error, its fields named as the client wrote them
/// (`input.startsAt`, `input.offices[0].label`).
fn input_error(e: AppError) -> async_graphql::Error {
    fn path(mut f: FieldError) -> FieldError {
        let mut camel = String::with_capacity(f.field.len() + 6);
        camel.push_str("input.");
        let mut upper = false;
        for c in f.field.chars() {
            match c {
                '_' => upper = true,
                c if upper => {
                    camel.extend(c.to_uppercase());
                    upper = false;
                }
                c => camel.push(c),
            }
        }
        f.field = camel;
        f
    }
    gql_error(match e {
        AppError::Unprocessable(f) => AppError::Unprocessable(f.into_iter().map(path).collect()),
        AppError::Validation(f) => AppError::Validation(f.into_iter().map(path).collect()),
        e => e,
    })
}

async fn create<R: Record>(ctx: &Context<'_>, input: &impl Serialize) -> Result<R> {
    let rc = ctx.data::<RequestCtx>()?;
    records::create::<R>(&rc.db, &rc.actor, fields(input, true))
        .await
        .map_err(input_error)
}

async fn update<R: Record>(
    ctx: &Context<'_>,
    slug: &str,
    expected_version: i32,
    input: &impl Serialize,
) -> Result<R> {
    let rc = ctx.data::<RequestCtx>()?;
    records::update::<R>(
        &rc.db,
        &rc.actor,
        slug,
        &Expected::Version(expected_version),
        fields(input, false),
    )
    .await
    .map_err(input_error)
}

async fn delete<R: Record>(ctx: &Context<'_>, slug: &str, expected_version: i32) -> Result<bool> {
    let rc = ctx.data::<RequestCtx>()?;
    records::delete::<R>(
        &rc.db,
        &rc.actor,
        slug,
        &Expected::Version(expected_version),
    )
    .await
    .map(|()| true)
    .map_err(gql_error)
}

async fn set_status<R: Record>(
    ctx: &Context<'_>,
    slug: &str,
    expected_version: i32,
    status: ArticleStatus,
) -> Result<R> {
    let rc = ctx.data::<RequestCtx>()?;
    records::set_status::<R>(
        &rc.db,
        &rc.actor,
        slug,
        &Expected::Version(expected_version),
        status,
    )
    .await
    .map_err(gql_error)
}

/// A new account.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    /// At least 12 characters.
    #[graphql(secret)]
    pub password: String,
    /// `contributor`, `editor` or `admin`.
    pub role: String,
}

/// A new role or active flag for a user.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: i32,
    pub role: Option<String>,
    pub active: Option<bool>,
}

/// A new API key and its secret (see the GraphQL type's description).
pub struct CreatedApiKey {
    api_key: ApiKey,
    secret: String,
}

/// A new API key and, this once, its secret.
#[Object]
impl CreatedApiKey {
    async fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// Shown only now; store it safely.
    async fn secret(&self, ctx: &Context<'_>) -> Result<&str> {
        // The answer now holds a secret: the HTTP layer must not keep a copy.
        ctx.data::<RequestCtx>()?.showing_secret();
        Ok(&self.secret)
    }
}

fn role(s: &str) -> Result<Role> {
    s.parse::<Role>()
        .map_err(|e| input_error(AppError::Unprocessable(vec![FieldError::new("role", e)])))
}

#[Object]
impl Mutation {
    /// Records a media mention, idempotently by its canonical source URL. A URL
    /// already recorded answers with its article if the caller may see it, and
    /// otherwise with a `CONFLICT` error that names nothing of it.
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
        let (a, created) = services::mentions::record_mention(&rc.db, &rc.actor, input)
            .await
            .map_err(input_error)?;
        Ok(RecordMentionPayload {
            article: Article(a),
            created,
        })
    }

    /// Creates an article (contributors: a draft).
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleInput,
    ) -> Result<Article> {
        create::<article::Model>(ctx, &input).await.map(Article)
    }

    /// Changes an article if it is still at `expectedVersion` (editors; a
    /// contributor its own drafts).
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        input: UpdateArticleInput,
    ) -> Result<Article> {
        update::<article::Model>(ctx, &input.slug, input.expected_version, &input)
            .await
            .map(Article)
    }

    /// Publishes an article (editors).
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Article> {
        set_status::<article::Model>(ctx, &slug, expected_version, ArticleStatus::Published)
            .await
            .map(Article)
    }

    /// Takes an article back to draft (editors).
    async fn unpublish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Article> {
        set_status::<article::Model>(ctx, &slug, expected_version, ArticleStatus::Draft)
            .await
            .map(Article)
    }

    /// Deletes an article (editors; a contributor its own drafts).
    async fn delete_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        delete::<article::Model>(ctx, &slug, expected_version).await
    }

    /// Creates an expert (editors).
    async fn create_expert(&self, ctx: &Context<'_>, input: CreateExpertInput) -> Result<Expert> {
        create::<expert::Model>(ctx, &input).await.map(Expert)
    }

    /// Changes an expert if it is still at `expectedVersion` (editors).
    async fn update_expert(&self, ctx: &Context<'_>, input: UpdateExpertInput) -> Result<Expert> {
        update::<expert::Model>(ctx, &input.slug, input.expected_version, &input)
            .await
            .map(Expert)
    }

    /// Deletes an expert no article mentions (editors).
    async fn delete_expert(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        delete::<expert::Model>(ctx, &slug, expected_version).await
    }

    /// Creates an outlet (editors).
    async fn create_outlet(&self, ctx: &Context<'_>, input: CreateOutletInput) -> Result<Outlet> {
        create::<outlet::Model>(ctx, &input).await.map(Outlet)
    }

    /// Changes an outlet if it is still at `expectedVersion` (editors).
    async fn update_outlet(&self, ctx: &Context<'_>, input: UpdateOutletInput) -> Result<Outlet> {
        update::<outlet::Model>(ctx, &input.slug, input.expected_version, &input)
            .await
            .map(Outlet)
    }

    /// Deletes an outlet no article cites and no outlet sits under (editors).
    async fn delete_outlet(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        delete::<outlet::Model>(ctx, &slug, expected_version).await
    }

    /// Creates a topic (editors).
    async fn create_topic(&self, ctx: &Context<'_>, input: CreateTopicInput) -> Result<Topic> {
        create::<topic::Model>(ctx, &input).await.map(Topic)
    }

    /// Renames a topic if it is still at `expectedVersion` (editors).
    async fn update_topic(&self, ctx: &Context<'_>, input: UpdateTopicInput) -> Result<Topic> {
        update::<topic::Model>(ctx, &input.slug, input.expected_version, &input)
            .await
            .map(Topic)
    }

    /// Deletes a topic, taking it off what was tagged with it (editors).
    async fn delete_topic(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        delete::<topic::Model>(ctx, &slug, expected_version).await
    }

    /// Creates an event (editors).
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> Result<Event> {
        create::<event::Model>(ctx, &input).await.map(Event)
    }

    /// Changes an event if it is still at `expectedVersion` (editors).
    async fn update_event(&self, ctx: &Context<'_>, input: UpdateEventInput) -> Result<Event> {
        update::<event::Model>(ctx, &input.slug, input.expected_version, &input)
            .await
            .map(Event)
    }

    /// Publishes an event (editors).
    async fn publish_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Event> {
        set_status::<event::Model>(ctx, &slug, expected_version, ArticleStatus::Published)
            .await
            .map(Event)
    }

    /// Takes an event back to draft (editors).
    async fn unpublish_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Event> {
        set_status::<event::Model>(ctx, &slug, expected_version, ArticleStatus::Draft)
            .await
            .map(Event)
    }

    /// Deletes an event (editors).
    async fn delete_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<bool> {
        delete::<event::Model>(ctx, &slug, expected_version).await
    }

    /// Creates a user (admins).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let rc = ctx.data::<RequestCtx>()?;
        let r = role(&input.role)?;
        services::accounts::create_user(&rc.db, &rc.actor, &input.email, &input.password, r)
            .await
            .map(User)
            .map_err(input_error)
    }

    /// Changes a user's role or shuts them out (admins).
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<User> {
        let rc = ctx.data::<RequestCtx>()?;
        let r = input.role.as_deref().map(role).transpose()?;
        services::accounts::update_user(&rc.db, &rc.actor, input.id, r, input.active)
            .await
            .map(User)
            .map_err(gql_error)
    }

    /// Creates an API key for a script (admins).
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: String,
    ) -> Result<CreatedApiKey> {
        let rc = ctx.data::<RequestCtx>()?;
        let r = self::role(&role)?;
        let (k, secret) = services::accounts::create_key(&rc.db, &rc.actor, &name, r)
            .await
            .map_err(gql_error)?;
        Ok(CreatedApiKey {
            api_key: ApiKey(k),
            secret,
        })
    }

    /// Revokes an API key: its tokens stop working at once (admins).
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: i32) -> Result<ApiKey> {
        let rc = ctx.data::<RequestCtx>()?;
        services::accounts::revoke_key(&rc.db, &rc.actor, &id.to_string())
            .await
            .map(ApiKey)
            .map_err(gql_error)
    }

    /// Changes the site settings if they are still at `expectedVersion` (admins).
    async fn update_site(&self, ctx: &Context<'_>, input: UpdateSiteInput) -> Result<Site> {
        update::<site::Model>(ctx, "site", input.expected_version, &input)
            .await
            .map(Site)
    }
}
