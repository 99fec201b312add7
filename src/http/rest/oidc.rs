//! Social sign-in of readers over HTTP (OpenID Connect): `start` sends the
//! browser to the provider, `callback` takes it back and on to the frontend
//! with a one-time `token` for `POST /api/v1/readers/session` (the e-mail
//! link's kind). The rules live in `services::oidc`.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::conditional::{Public, Validator, respond};
use crate::services::oidc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartQuery {
    return_to: Option<String>,
}

/// The provider's callback parameters (`iss` and `session_state` are sent by
/// some providers and need nothing from us).
#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn query<T: for<'de> Deserialize<'de>>(req: &HttpRequest) -> AppResult<T> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| AppError::invalid("query", e.to_string()))
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, to))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .finish()
}

/// `GET /api/v1/readers/oidc`: the configured providers and their start
/// URLs (public; cached and validated like every public read).
pub async fn providers(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let list = state.oidc.sign_in_providers();
    let req = &req;
    respond(
        req,
        &state,
        Public::url("rest", req, Validator::Content),
        |_| {
            let list = list.clone();
            async move { Ok(HttpResponse::Ok().json(serde_json::json!({ "data": list }))) }
        },
    )
    .await
}

/// `GET /api/v1/readers/oidc/{provider}/start`: 303 to the provider.
pub async fn start(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let q: StartQuery = query(&req)?;
    let url = oidc::start(
        &state.db.conn,
        &state.oidc,
        &path,
        q.return_to.as_deref(),
        &state.reader_link_base,
    )
    .await?;
    Ok(see_other(&url))
}

/// `GET /api/v1/readers/oidc/{provider}/callback`: 303 to the frontend, with
/// a one-time sign-in token or, when no one was signed in, `?error=` (the
/// browser arrives here by a top-level navigation: it never lands on JSON).
pub async fn callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let q: CallbackQuery = query(&req)?;
    let params = oidc::CallbackParams {
        code: q.code.as_deref(),
        state: q.state.as_deref(),
        error: q.error.as_deref(),
    };
    let to = oidc::callback(
        &state.db.conn,
        &state.oidc,
        &path,
        params,
        &state.reader_link_base,
    )
    .await?;
    Ok(see_other(&to))
}
