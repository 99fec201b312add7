//! Authentication at the edge: `Authorization: Bearer <jwt>` becomes an `Actor`
//! (no header: anonymous; a bad, expired or foreign token, or one whose key was
//! revoked or whose user was deactivated: 401 with `WWW-Authenticate`), and
//! `POST /api/v1/auth/token` exchanges an API key or e-mail and password for a
//! token. What an actor may do is decided in the services.

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::Actor;
use crate::auth::jwt::TTL_SECONDS;
use crate::error::{AppError, AppResult};
use crate::services::accounts;

use super::AppState;

/// The bearer token of a request: `None` without `Authorization`, an error for
/// an `Authorization` that is not a bearer token.
fn bearer(req: &HttpRequest) -> AppResult<Option<&str>> {
    let Some(h) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let h = h.to_str().map_err(|_| AppError::Unauthenticated)?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
        .map(|t| Some(t.trim()))
        .ok_or(AppError::Unauthenticated)
}

/// The subject of the request's token when its signature and claims verify
/// (without the database look-up of [`actor`]): whom a rate limit may count a
/// request against. Never the raw header, which the caller chooses freely.
pub fn verified_subject(req: &HttpRequest, state: &AppState) -> Option<String> {
    let token = bearer(req).ok().flatten()?;
    state.jwt.verify(token).ok().map(|c| c.sub)
}

/// The caller of this request.
pub async fn actor(req: &HttpRequest, state: &AppState) -> AppResult<Actor> {
    let Some(token) = bearer(req)? else {
        return Ok(Actor::Anonymous);
    };
    let claims = state.jwt.verify(token)?;
    actor_of(state, claims).await
}

/// The caller a verified token names, if its account still stands (a reader
/// not deleted; a user active, a key not revoked).
pub async fn actor_of(state: &AppState, claims: crate::auth::jwt::Claims) -> AppResult<Actor> {
    if claims.role == crate::auth::jwt::READER_ROLE {
        let id = crate::services::readers::current(&state.db.conn, &claims.sub).await?;
        return Ok(Actor::Reader { id });
    }
    let role = accounts::current_role(&state.db.conn, &claims.sub).await?;
    Ok(Actor::User {
        subject: claims.sub,
        role,
    })
}

/// Whether the request carries credentials (its answer is private).
pub fn has_credentials(req: &HttpRequest) -> bool {
    req.headers().contains_key(AUTHORIZATION)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    api_key: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

/// `POST /api/v1/auth/token`
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return Err(AppError::invalid("content-type", "send application/json"));
    }
    let t: TokenRequest = serde_json::from_slice(&body)
        .map_err(|e| AppError::invalid("body", format!("not a token request: {e}")))?;
    let (db, guard) = (&state.db.conn, &state.logins);
    let client =
        super::client::client_ip(&req, &state.trusted_proxies).map(super::client::budget_address);
    let principal = match (t.api_key, t.email, t.password) {
        (Some(k), None, None) => accounts::login_with_key(db, guard, client, &k).await?,
        (None, Some(e), Some(p)) => {
            accounts::login_with_password(db, guard, client, &e, &p).await?
        }
        _ => {
            return Err(AppError::invalid(
                "body",
                "give either api_key, or email and password",
            ));
        }
    };
    let token = state.jwt.issue(&principal.subject, principal.role)?;
    // An access token is a secret: never kept for replay.
    Ok(super::rest::writes::carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TTL_SECONDS,
            })),
    ))
}

/// Decodes a JSON request body: 415 unless it is JSON, 413 past `limit`, 422 for
/// a body that is not the expected object (unknown fields included).
pub fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    limit: usize,
) -> AppResult<T> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !(ct.starts_with("application/json") || ct.starts_with("application/merge-patch+json")) {
        return Err(AppError::UnsupportedMediaType);
    }
    if body.len() > limit {
        return Err(AppError::PayloadTooLarge(limit));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::invalid("body", format!("malformed JSON: {e}")))?;
    crate::domain::from_json(value)
}
