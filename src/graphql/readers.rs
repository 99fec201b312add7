//! The reader side of GraphQL: `requestReaderSignIn`, `signInReader`,
//! `refreshReaderSession`, `me`, `updateMe`, `deleteMe`, `signInProviders`,
//! `startReaderOidc`. Thin adapters over
//! `services::readers`, with the same answers as the REST routes
//! (`http::rest::readers`): the sign-in request answers the same payload
//! whether or not the address is known.

use std::sync::Arc;

use async_graphql::{Context, InputObject, MaybeUndefined, Result, SimpleObject};
use futures_util::future::BoxFuture;

use super::types::Language;
use super::{RequestCtx, gql_error};
use crate::error::{AppError, AppResult};
use crate::services::readers::{self, Profile};

/// Spends one sign-in request of an address's and this client's budgets
/// (the HTTP layer's limiter, bound to the request's client).
pub type SpendSignIn = Arc<dyn Fn(String) -> BoxFuture<'static, AppResult<()>> + Send + Sync>;

/// What the reader resolvers need from the server besides the database.
pub struct ReaderAccess {
    /// Signs readers' access tokens.
    pub keys: crate::auth::jwt::Keys,
    /// Where sign-in links point.
    pub link_base: String,
    pub spend: SpendSignIn,
    /// Social sign-in: the configured OpenID Connect providers.
    pub oidc: Arc<crate::services::oidc::Providers>,
}

fn access(rc: &RequestCtx) -> Result<&ReaderAccess> {
    rc.readers.as_deref().ok_or_else(|| {
        gql_error(AppError::Forbidden(
            "reader sign-in is not available on this connection".into(),
        ))
    })
}

/// The answer to every sign-in request, known address or not.
#[derive(SimpleObject)]
pub struct SignInRequested {
    /// Always true.
    pub accepted: bool,
    pub message: String,
}

/// A reader's session: an access token (a JWT with role `reader`) and the
/// refresh token to renew it (it works once).
#[derive(SimpleObject)]
pub struct ReaderSession {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    pub refresh_token: String,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: i64,
    pub reader: Profile,
}

impl From<readers::Session> for ReaderSession {
    fn from(s: readers::Session) -> Self {
        Self {
            access_token: s.access_token,
            token_type: s.token_type.into(),
            expires_in: s.expires_in,
            refresh_token: s.refresh_token,
            refresh_expires_in: s.refresh_expires_in,
            reader: s.reader,
        }
    }
}

/// A change of the signed-in reader's account; fields left out stay.
#[derive(InputObject)]
pub struct UpdateMeInput {
    /// The name shown with the reader's comments (1 to 80 characters); `null` clears it.
    pub display_name: MaybeUndefined<String>,
    /// The language of the reader's e-mail.
    pub language: Option<Language>,
}

/// `requestReaderSignIn`
pub async fn request_sign_in(
    ctx: &Context<'_>,
    email: String,
    language: Option<Language>,
) -> Result<SignInRequested> {
    let rc = ctx.data::<RequestCtx>()?;
    let a = access(rc)?;
    let email = readers::parse_email(&email).map_err(gql_error)?;
    (a.spend)(email.clone()).await.map_err(gql_error)?;
    readers::request_sign_in(&rc.db, &email, language.map(Into::into), &a.link_base)
        .await
        .map_err(gql_error)?;
    Ok(SignInRequested {
        accepted: true,
        message: readers::SIGN_IN_ACCEPTED.into(),
    })
}

/// `signInReader`
pub async fn sign_in(ctx: &Context<'_>, token: String) -> Result<ReaderSession> {
    let rc = ctx.data::<RequestCtx>()?;
    rc.showing_secret();
    let a = access(rc)?;
    readers::sign_in(&rc.db, &a.keys, &token)
        .await
        .map(Into::into)
        .map_err(gql_error)
}

/// `refreshReaderSession`
pub async fn refresh(ctx: &Context<'_>, refresh_token: String) -> Result<ReaderSession> {
    let rc = ctx.data::<RequestCtx>()?;
    rc.showing_secret();
    let a = access(rc)?;
    readers::refresh(&rc.db, &a.keys, &refresh_token)
        .await
        .map(Into::into)
        .map_err(gql_error)
}

/// `me`
pub async fn me(ctx: &Context<'_>) -> Result<Profile> {
    let rc = ctx.data::<RequestCtx>()?;
    readers::me(&rc.db, &rc.actor).await.map_err(gql_error)
}

/// `updateMe`
pub async fn update_me(ctx: &Context<'_>, input: UpdateMeInput) -> Result<Profile> {
    let rc = ctx.data::<RequestCtx>()?;
    let patch = readers::ProfilePatch {
        display_name: match input.display_name {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        },
        language: input.language.map(Into::into),
    };
    readers::update_me(&rc.db, &rc.actor, patch)
        .await
        .map_err(gql_error)
}

/// `deleteMe`
pub async fn delete_me(ctx: &Context<'_>) -> Result<bool> {
    let rc = ctx.data::<RequestCtx>()?;
    readers::delete_me(&rc.db, &rc.actor)
        .await
        .map_err(gql_error)?;
    Ok(true)
}

/// `startReaderOidc`: the provider's authorization URL for a new login.
pub async fn start_oidc(
    ctx: &Context<'_>,
    provider: String,
    return_to: Option<String>,
) -> Result<String> {
    let rc = ctx.data::<RequestCtx>()?;
    let a = access(rc)?;
    crate::services::oidc::start(
        &rc.db,
        &a.oidc,
        &provider,
        return_to.as_deref(),
        &a.link_base,
    )
    .await
    .map_err(gql_error)
}

/// `signInProviders`: the configured OpenID Connect providers.
pub fn sign_in_providers(ctx: &Context<'_>) -> Result<Vec<crate::services::oidc::SignInProvider>> {
    let rc = ctx.data::<RequestCtx>()?;
    Ok(access(rc)?.oidc.sign_in_providers())
}
