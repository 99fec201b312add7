//! Reader accounts over HTTP: the sign-in request (always 202, the same body
//! whether or not the address is known, after the per-address and per-client
//! budgets), the exchange of a link's token or a refresh token for a session,
//! and the reader's own account (`/readers/me`: read, change, delete, export).
//! The rules live in `services::readers`.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::domain::Language;
use crate::error::AppResult;
use crate::http::AppState;
use crate::http::auth::{actor, json_body};
use crate::services::readers;

use super::accounts::private;
use super::writes::MAX_JSON_BODY;

/// What every sign-in request is answered, known address or not.
pub const SIGN_IN_ACCEPTED: &str = "If this address can receive e-mail, a sign-in link is on its way; it works once, for 15 minutes.";

/// `POST /api/v1/readers/sign-in`
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignInRequest {
    /// The reader's e-mail address.
    email: String,
    /// The language of the e-mail (and of a new account): `en` or `fr`; by
    /// default a known reader's own, else `en`.
    #[schema(value_type = Option<Language>)]
    language: Option<String>,
}

/// `POST /api/v1/readers/sign-in`: 202, always the same answer.
pub async fn request_sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let b: SignInRequest = json_body(&req, &body, MAX_JSON_BODY)?;
    let language = b
        .language
        .as_deref()
        .map(|l| language(Some(l)))
        .transpose()?;
    let email = readers::parse_email(&b.email)?;
    state.sign_in_limits.spend(&state, &req, &email).await?;
    readers::request_sign_in(&state.db.conn, &email, language, &state.reader_link_base).await?;
    Ok(private(HttpResponse::Accepted().json(
        json!({ "status": "accepted", "message": readers::SIGN_IN_ACCEPTED }),
    )))
}

fn language(s: Option<&str>) -> AppResult<Language> {
    s.map_or(Ok(Language::En), |l| {
        l.parse::<Language>()
            .map_err(|e| crate::error::AppError::invalid("language", e))
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionRequest {
    /// The `token` of the sign-in link.
    token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token of the current session (it is used up).
    refresh_token: String,
}

fn session(s: &readers::Session) -> HttpResponse {
    super::writes::carries_secret(
        HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(s),
    )
}

/// `POST /api/v1/readers/session`: a sign-in link's token for a session.
pub async fn create_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let b: SessionRequest = json_body(&req, &body, MAX_JSON_BODY)?;
    let s = readers::sign_in(&state.db.conn, &state.jwt, &b.token).await?;
    Ok(session(&s))
}

/// `POST /api/v1/readers/session/refresh`: a refresh token for a new session.
pub async fn refresh_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let b: RefreshRequest = json_body(&req, &body, MAX_JSON_BODY)?;
    let s = readers::refresh(&state.db.conn, &state.jwt, &b.refresh_token).await?;
    Ok(session(&s))
}

/// `GET /api/v1/readers/me`
pub async fn get_me(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let p = readers::me(&state.db.conn, &actor).await?;
    Ok(private(HttpResponse::Ok().json(json!({ "data": p }))))
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfilePatch {
    /// The name shown with the reader's comments (1 to 80 characters); `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// The language of the reader's e-mail.
    #[schema(value_type = Option<Language>)]
    language: Option<String>,
}

/// `PATCH /api/v1/readers/me`
pub async fn patch_me(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    super::writes::idempotent(&req, &state, &actor, &body, || async {
        let b: ProfilePatch = json_body(&req, &body, MAX_JSON_BODY)?;
        let patch = readers::ProfilePatch {
            display_name: b.display_name,
            language: b
                .language
                .as_deref()
                .map(|l| language(Some(l)))
                .transpose()?,
        };
        let p = readers::update_me(&state.db.conn, &actor, patch).await?;
        Ok(private(HttpResponse::Ok().json(json!({ "data": p }))))
    })
    .await
}

/// `DELETE /api/v1/readers/me`: 204.
pub async fn delete_me(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    readers::delete_me(&state.db.conn, &actor).await?;
    Ok(private(HttpResponse::NoContent().finish()))
}

/// `GET /api/v1/readers/me/export`: everything stored about the reader.
pub async fn export_me(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    let v = readers::export(&state.db.conn, &actor).await?;
    Ok(private(
        HttpResponse::Ok()
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"reader-export.json\"",
            ))
            .json(json!({ "data": v })),
    ))
}
