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
use crate::services::lines::{
    ArticleLine as CreateArticleInput, EventLine as CreateEventInput,
    ExpertLine as CreateExpertInput, OutletLine as CreateOutletInput,
    TopicLine as CreateTopicInput, UpdateArticleInput, UpdateEventInput, UpdateExpertInput,
    UpdateOutletInput, UpdateTopicInput,
};
use crate::services::mentions::MentionInput;
use crate::services::records::{self, Expected, Record};

use super::types::{ApiKey, Article, Event, Expert, Outlet, Site, Topic, User};
use super::{RequestCtx, gql_error};

pub struct Mutation;

#[derive(SimpleObject)]
pub struct RecordMentionPayload {
    /// The mention: new, or the one already recorded for this URL.
    pub article: Article,
    /// Whether this call created it.
    pub created: bool,
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

/// An input object as import-format fields (an update input serializes its
/// `newSlug` as `slug`). A create's absent fields (null) are left out.
fn fields(input: &impl Serialize, drop_nulls: bool) -> Map<String, Value> {
    let mut m = match serde_json::to_value(input) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if drop_nulls {
        m.retain(|_, v| !Value::is_null(v));
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

/// A new webhook endpoint (admins).
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// Where deliveries are POSTed (http or https).
    pub url: String,
    pub description: Option<String>,
    /// Event types (`article.published`, `article.*`, `*`); default all.
    pub events: Option<Vec<String>>,
    /// Expert slugs: only articles with one of them (and these experts).
    pub experts: Option<Vec<String>>,
    /// Outlet slugs: only articles of one of them (and these outlets).
    pub outlets: Option<Vec<String>>,
    /// Topic slugs: only articles with one of them (and these topics).
    pub topics: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Changes to a webhook endpoint: absent fields stay as they are; an empty
/// filter list removes that filter; `active: true` re-enables it.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub url: Option<String>,
    pub description: MaybeUndefined<String>,
    pub events: Option<Vec<String>>,
    pub experts: Option<Vec<String>>,
    pub outlets: Option<Vec<String>>,
    pub topics: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// A webhook endpoint and, this once, its signing secret.
pub struct WebhookEndpointWithSecret {
    endpoint: services::webhooks::Endpoint,
    secret: String,
}

/// A webhook endpoint and, this once, its signing secret.
#[Object]
impl WebhookEndpointWithSecret {
    async fn endpoint(&self) -> &services::webhooks::Endpoint {
        &self.endpoint
    }

    /// `whsec_...`: shown only now; verify signatures with it.
    async fn secret(&self, ctx: &Context<'_>) -> Result<&str> {
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
        input: MentionInput,
    ) -> Result<RecordMentionPayload> {
        let rc = ctx.data::<RequestCtx>()?;
        let (a, created) = services::mentions::record_mention(&rc.db, &rc.actor, input)
            .await
            .map_err(input_error)?;
        Ok(RecordMentionPayload {
            article: a,
            created,
        })
    }

    /// Creates an article (contributors: a draft).
    async fn create_article(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleInput,
    ) -> Result<Article> {
        create::<article::Model>(ctx, &input).await
    }

    /// Changes an article if it is still at `expectedVersion` (editors; a
    /// contributor its own drafts).
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        input: UpdateArticleInput,
    ) -> Result<Article> {
        update::<article::Model>(ctx, &input.slug, input.expected_version, &input).await
    }

    /// Publishes an article (editors).
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Article> {
        set_status::<article::Model>(ctx, &slug, expected_version, ArticleStatus::Published).await
    }

    /// Takes an article back to draft (editors).
    async fn unpublish_article(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Article> {
        set_status::<article::Model>(ctx, &slug, expected_version, ArticleStatus::Draft).await
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
        create::<expert::Model>(ctx, &input).await
    }

    /// Changes an expert if it is still at `expectedVersion` (editors).
    async fn update_expert(&self, ctx: &Context<'_>, input: UpdateExpertInput) -> Result<Expert> {
        update::<expert::Model>(ctx, &input.slug, input.expected_version, &input).await
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
        create::<outlet::Model>(ctx, &input).await
    }

    /// Changes an outlet if it is still at `expectedVersion` (editors).
    async fn update_outlet(&self, ctx: &Context<'_>, input: UpdateOutletInput) -> Result<Outlet> {
        update::<outlet::Model>(ctx, &input.slug, input.expected_version, &input).await
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
        create::<topic::Model>(ctx, &input).await
    }

    /// Renames a topic if it is still at `expectedVersion` (editors).
    async fn update_topic(&self, ctx: &Context<'_>, input: UpdateTopicInput) -> Result<Topic> {
        update::<topic::Model>(ctx, &input.slug, input.expected_version, &input).await
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
        create::<event::Model>(ctx, &input).await
    }

    /// Changes an event if it is still at `expectedVersion` (editors).
    async fn update_event(&self, ctx: &Context<'_>, input: UpdateEventInput) -> Result<Event> {
        update::<event::Model>(ctx, &input.slug, input.expected_version, &input).await
    }

    /// Publishes an event (editors).
    async fn publish_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Event> {
        set_status::<event::Model>(ctx, &slug, expected_version, ArticleStatus::Published).await
    }

    /// Takes an event back to draft (editors).
    async fn unpublish_event(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: i32,
    ) -> Result<Event> {
        set_status::<event::Model>(ctx, &slug, expected_version, ArticleStatus::Draft).await
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

    /// Registers a webhook endpoint; its secret is in the answer this once (admins).
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<WebhookEndpointWithSecret> {
        let rc = ctx.data::<RequestCtx>()?;
        let input = services::webhooks::EndpointInput {
            url: Some(input.url),
            description: Some(input.description),
            events: input.events,
            experts: input.experts,
            outlets: input.outlets,
            topics: input.topics,
            active: input.active,
        };
        let (endpoint, secret) =
            services::webhooks::create(&rc.db, &rc.actor, input, &rc.webhooks_allowed)
                .await
                .map_err(input_error)?;
        Ok(WebhookEndpointWithSecret { endpoint, secret })
    }

    /// Changes a webhook endpoint, or enables or disables it (admins).
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: UpdateWebhookEndpointInput,
    ) -> Result<services::webhooks::Endpoint> {
        let rc = ctx.data::<RequestCtx>()?;
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d)),
        };
        let input = services::webhooks::EndpointInput {
            url: input.url,
            description,
            events: input.events,
            experts: input.experts,
            outlets: input.outlets,
            topics: input.topics,
            active: input.active,
        };
        services::webhooks::update(&rc.db, &rc.actor, id, input, &rc.webhooks_allowed)
            .await
            .map_err(input_error)
    }

    /// Deletes a webhook endpoint and its delivery log (admins).
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: i32) -> Result<bool> {
        let rc = ctx.data::<RequestCtx>()?;
        services::webhooks::delete(&rc.db, &rc.actor, id)
            .await
            .map_err(gql_error)?;
        Ok(true)
    }

    /// Gives a webhook endpoint a new secret, in the answer this once (admins).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> Result<WebhookEndpointWithSecret> {
        let rc = ctx.data::<RequestCtx>()?;
        let (endpoint, secret) = services::webhooks::rotate_secret(&rc.db, &rc.actor, id)
            .await
            .map_err(gql_error)?;
        Ok(WebhookEndpointWithSecret { endpoint, secret })
    }

    /// Sends a delivery again, with the same `webhook-id` (admins).
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        endpoint: i32,
        delivery: i64,
    ) -> Result<services::webhooks::Delivery> {
        let rc = ctx.data::<RequestCtx>()?;
        services::webhooks::redeliver(&rc.db, &rc.actor, endpoint, delivery)
            .await
            .map_err(gql_error)
    }

    /// E-mails a one-time sign-in link to a reader (a new address gets an
    /// unactivated account). The same answer whether or not the address is
    /// known; budgeted per address and per client.
    async fn request_reader_sign_in(
        &self,
        ctx: &Context<'_>,
        email: String,
        #[graphql(
            desc = "The e-mail's language (and a new account's); default: a known reader's own, else EN."
        )]
        language: Option<super::types::Language>,
    ) -> Result<super::readers::SignInRequested> {
        super::readers::request_sign_in(ctx, email, language).await
    }

    /// Exchanges a sign-in link's token for a reader session (once; 15
    /// minutes); the first use activates the account.
    async fn sign_in_reader(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> Result<super::readers::ReaderSession> {
        super::readers::sign_in(ctx, token).await
    }

    /// Starts a reader's sign-in at an OpenID Connect provider: the URL to
    /// send the browser to (the provider's authorization endpoint, with PKCE,
    /// `state` and `nonce`; the login waits 10 minutes). Back from the
    /// provider, the reader lands on `returnTo` with `?token=...`, a one-time
    /// token for `signInReader`.
    async fn start_reader_oidc(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider's configured name, e.g. `google`.")] provider: String,
        #[graphql(
            desc = "The frontend page to come back to, on the origin of the reader sign-in links (default: the link base)."
        )]
        return_to: Option<String>,
    ) -> Result<String> {
        super::readers::start_oidc(ctx, provider, return_to).await
    }

    /// Exchanges a refresh token (used up) for a new reader session.
    async fn refresh_reader_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> Result<super::readers::ReaderSession> {
        super::readers::refresh(ctx, refresh_token).await
    }

    /// Changes the signed-in reader's display name or language.
    async fn update_me(
        &self,
        ctx: &Context<'_>,
        input: super::readers::UpdateMeInput,
    ) -> Result<services::readers::Profile> {
        super::readers::update_me(ctx, input).await
    }

    /// Deletes the signed-in reader's account: the e-mail and name are erased,
    /// every session ends; what they wrote stays, as "deleted reader".
    async fn delete_me(&self, ctx: &Context<'_>) -> Result<bool> {
        super::readers::delete_me(ctx).await
    }

    // comments
    /// Comments on a published article as the signed-in reader (plain text,
    /// at most 5,000 characters; `parentId` replies to a top-level comment).
    /// A first comment waits for moderation (`--comment-moderation`).
    async fn post_comment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's slug.")] article: String,
        body: String,
        parent_id: Option<i32>,
    ) -> Result<services::comments::Comment> {
        super::comments::post(ctx, article, body, parent_id).await
    }

    /// Changes the text of the reader's own comment, within 10 minutes of
    /// posting it (after: `EDIT_WINDOW_CLOSED`). An approved comment waits for
    /// moderation again where a new comment of its author would.
    async fn update_comment(
        &self,
        ctx: &Context<'_>,
        id: i32,
        body: String,
    ) -> Result<services::comments::Comment> {
        super::comments::update(ctx, id, body).await
    }

    /// Deletes a comment and its replies (its author, or an editor).
    async fn delete_comment(&self, ctx: &Context<'_>, id: i32) -> Result<bool> {
        super::comments::delete(ctx, id).await
    }

    /// Approves a comment: the public sees it (editors).
    async fn approve_comment(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> Result<services::comments::Comment> {
        super::comments::decide(ctx, id, services::comments::Decision::Approve).await
    }

    /// Rejects a comment (editors).
    async fn reject_comment(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> Result<services::comments::Comment> {
        super::comments::decide(ctx, id, services::comments::Decision::Reject).await
    }

    /// Marks a comment as spam (editors).
    async fn mark_comment_spam(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> Result<services::comments::Comment> {
        super::comments::decide(ctx, id, services::comments::Decision::Spam).await
    }

    /// Changes the site settings if they are still at `expectedVersion` (admins).
    async fn update_site(&self, ctx: &Context<'_>, input: UpdateSiteInput) -> Result<Site> {
        update::<site::Model>(ctx, "site", input.expected_version, &input)
            .await
            .map(Site)
    }

    // Newsletters (issue 14 item 5).
    /// Creates a newsletter list (admins; audited).
    async fn create_newsletter(
        &self,
        ctx: &Context<'_>,
        input: CreateNewsletterInput,
    ) -> Result<services::newsletters::Newsletter> {
        let rc = ctx.data::<RequestCtx>()?;
        let input = services::newsletters::NewsletterInput {
            slug: input.slug,
            name: Some(input.name),
            language: Some(input.language),
            description: Some(input.description),
            content: input.content,
        };
        services::newsletters::create(&rc.db, &rc.actor, input)
            .await
            .map_err(input_error)
    }

    /// Changes a newsletter list (admins; audited).
    async fn update_newsletter(
        &self,
        ctx: &Context<'_>,
        slug: String,
        input: UpdateNewsletterInput,
    ) -> Result<services::newsletters::Newsletter> {
        let rc = ctx.data::<RequestCtx>()?;
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(d) => Some(Some(d)),
        };
        let input = services::newsletters::NewsletterInput {
            slug: input.slug,
            name: input.name,
            language: input.language,
            description,
            content: input.content,
        };
        services::newsletters::update(&rc.db, &rc.actor, &slug, input)
            .await
            .map_err(input_error)
    }

    /// Deletes a newsletter list with its subscriptions and issues (admins; audited).
    async fn delete_newsletter(&self, ctx: &Context<'_>, slug: String) -> Result<bool> {
        let rc = ctx.data::<RequestCtx>()?;
        services::newsletters::delete(&rc.db, &rc.actor, &slug)
            .await
            .map_err(gql_error)?;
        Ok(true)
    }

    /// Subscribes an e-mail address (anyone): a confirmation link is mailed to
    /// it. The answer is the same whether the address is new, waiting for its
    /// confirmation or already confirmed.
    async fn subscribe_to_newsletter(
        &self,
        ctx: &Context<'_>,
        slug: String,
        email: String,
        #[graphql(desc = "`en` or `fr` (default: the list's).")] language: Option<String>,
    ) -> Result<SubscribeToNewsletterPayload> {
        let rc = ctx.data::<RequestCtx>()?;
        let nl = ctx.data::<super::NewsletterCtx>()?;
        if nl.limits.client(&nl.client).await.is_some() {
            return Err(gql_error(AppError::TooManyRequests {
                what: "newsletter subscriptions".into(),
                retry_after_secs: 60,
            }));
        }
        services::newsletters::parse_email(&email)
            .map_err(|e| gql_error(AppError::invalid("email", e)))?;
        services::newsletters::subscribe(
            &rc.db,
            &slug,
            &email,
            language.as_deref(),
            &nl.links,
            async || nl.limits.address(&email).await,
        )
        .await
        .map_err(gql_error)?;
        Ok(SubscribeToNewsletterPayload {
            accepted: true,
            message: SUBSCRIBE_MESSAGE.into(),
        })
    }

    /// Sends an issue of a list: what was published since its previous issue,
    /// to every confirmed subscriber (admins; audited). Null when nothing new
    /// was published: no issue, no mail.
    async fn send_newsletter(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> Result<Option<services::newsletters::Issue>> {
        let rc = ctx.data::<RequestCtx>()?;
        rc.actor.require(Role::Admin).map_err(gql_error)?;
        let nl = ctx.data::<super::NewsletterCtx>()?;
        services::newsletters::send(&rc.db, &rc.actor, &slug, &nl.links)
            .await
            .map_err(gql_error)
    }
}

// Newsletters (issue 14 item 5).

/// The words of every answer to `subscribeToNewsletter`.
const SUBSCRIBE_MESSAGE: &str =
    "If the address can receive this newsletter, a confirmation link is on its way.";

/// A new newsletter list (admins).
#[derive(InputObject)]
pub struct CreateNewsletterInput {
    /// Default: the name's slug, or its first free `-2`, `-3`, ...
    pub slug: Option<String>,
    pub name: String,
    /// `en` or `fr`.
    pub language: String,
    pub description: Option<String>,
    /// What its issues carry: `mentions` (published articles), `events` or
    /// `all` (the default).
    pub content: Option<String>,
}

/// Changes to a newsletter list: absent fields stay as they are; a null
/// `description` clears it.
#[derive(InputObject)]
pub struct UpdateNewsletterInput {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub language: Option<String>,
    pub description: MaybeUndefined<String>,
    /// `mentions`, `events` or `all`.
    pub content: Option<String>,
}

/// The one answer to a subscription.
#[derive(SimpleObject)]
pub struct SubscribeToNewsletterPayload {
    /// Always true.
    pub accepted: bool,
    pub message: String,
}
