//! The server's own page for reader sign-in links (`GET /readers/sign-in`,
//! the default `--reader-link-base`): opening the link only shows a button
//! (mail scanners open links, and the token works once); the button posts
//! the token (`POST /readers/sign-in`, a form), which is exchanged for a
//! session through `services::readers::sign_in` and shown as JSON. A
//! frontend replaces it by posting the token to `/api/v1/readers/session`.
//! The page's own `<meta name="referrer" content="no-referrer">` keeps the
//! token in its URL from leaking to anything it links to.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::AppState;
use crate::error::{AppError, AppResult};

#[derive(Template)]
#[template(path = "reader_sign_in.html")]
struct Page<'a> {
    token: &'a str,
    session: Option<String>,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct TokenForm {
    token: Option<String>,
}

fn page(status: StatusCode, p: &Page<'_>) -> AppResult<HttpResponse> {
    let body = p
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ))
        .body(body))
}

const MISSING: &str = "This sign-in link has no token: ask for a new one.";

/// `GET /readers/sign-in?token=...`: the button that signs in.
pub async fn show(req: HttpRequest) -> AppResult<HttpResponse> {
    let form: TokenForm =
        serde_urlencoded::from_str(req.query_string()).unwrap_or(TokenForm { token: None });
    match form
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(token) => page(
            StatusCode::OK,
            &Page {
                token,
                session: None,
                error: None,
            },
        ),
        None => page(
            StatusCode::BAD_REQUEST,
            &Page {
                token: "",
                session: None,
                error: Some(MISSING),
            },
        ),
    }
}

/// `POST /readers/sign-in` (form `token=...`): the session, or why not.
pub async fn exchange(state: web::Data<AppState>, body: web::Bytes) -> AppResult<HttpResponse> {
    let form: TokenForm = serde_urlencoded::from_bytes(&body).unwrap_or(TokenForm { token: None });
    let Some(token) = form.token.filter(|t| !t.trim().is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            &Page {
                token: "",
                session: None,
                error: Some(MISSING),
            },
        );
    };
    match crate::services::readers::sign_in(&state.db.conn, &state.jwt, &token).await {
        Ok(s) => {
            let json = serde_json::to_string_pretty(&s)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("session JSON: {e}")))?;
            page(
                StatusCode::OK,
                &Page {
                    token: "",
                    session: Some(json),
                    error: None,
                },
            )
        }
        Err(AppError::Validation(_)) => page(
            StatusCode::BAD_REQUEST,
            &Page {
                token: "",
                session: None,
                error: Some(
                    "This sign-in link was used already or has expired: ask for a new one.",
                ),
            },
        ),
        Err(e) => Err(e),
    }
}
