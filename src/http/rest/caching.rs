//! HTTP caching of public reads: a strong ETag derived from the content stamp
//! (shared through the database, so every node agrees) and the request URL,
//! decided before anything is rendered; `If-None-Match` / `If-Modified-Since`
//! answered with 304; `Cache-Control`, `Last-Modified` and `Vary` on every answer.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::cache::{Entry, ResponseCache};
use crate::services;

/// Answers a public GET: 304 when the client's copy is current, else `render()`.
pub async fn conditional<F, Fut>(
    req: &HttpRequest,
    state: &AppState,
    render: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<HttpResponse>>,
{
    if crate::http::auth::has_credentials(req) {
        // Answers for a signed-in caller may show drafts: never shared, never cached.
        let mut res = render().await?;
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(res);
    }
    let stamp = services::content::stamp(&state.db.conn).await?;
    let mut h = Sha256::new();
    h.update(stamp.version.to_le_bytes());
    h.update(
        stamp
            .last_due
            .map_or(0, |t| t.timestamp_micros())
            .to_le_bytes(),
    );
    h.update(req.path().as_bytes());
    h.update(b"?");
    h.update(req.query_string().as_bytes());
    let digest = h.finalize();
    let etag = format!("\"{}\"", hex(&digest[..12]));
    let last_modified = stamp.last_modified();

    let not_modified = match req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t == etag || t.strip_prefix("W/") == Some(etag.as_str())
        }),
        None => match (
            req.headers()
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
            last_modified,
        ) {
            (Some(ims), Some(lm)) => chrono::DateTime::parse_from_rfc2822(ims)
                .map(|ims| lm.timestamp() <= ims.timestamp())
                .unwrap_or(false),
            _ => false,
        },
    };
    let key = ResponseCache::key(&[
        b"rest",
        req.path().as_bytes(),
        req.query_string().as_bytes(),
    ]);
    let mut res = if not_modified {
        HttpResponse::NotModified().finish()
    } else if let Some(hit) = state.cache.get(&key, stamp.key()) {
        rebuild(hit.body, hit.link)
    } else {
        let res = render().await?;
        if res.status() == StatusCode::OK {
            let link = res
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = actix_web::body::to_bytes(res.into_body())
                .await
                .map_err(|_| {
                    AppError::Internal(anyhow::anyhow!("could not buffer a response body"))
                })?;
            state.cache.put(
                key,
                Entry {
                    stamp: stamp.key(),
                    body: body.clone(),
                    link: link.clone(),
                    modified: None,
                },
            );
            rebuild(body, link)
        } else {
            res
        }
    };
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        let hs = res.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            hs.insert(header::ETAG, v);
        }
        if let Some(lm) = last_modified
            && let Ok(v) =
                HeaderValue::from_str(&lm.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        {
            hs.insert(header::LAST_MODIFIED, v);
        }
        if let Ok(v) = HeaderValue::from_str(&state.cache_control) {
            hs.insert(header::CACHE_CONTROL, v);
        }
        hs.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    Ok(res)
}

fn rebuild(body: Bytes, link: Option<String>) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    b.content_type("application/json");
    if let Some(l) = link {
        b.insert_header(("link", l));
    }
    b.body(body)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Answers a public GET whose validator is the content itself: the body is
/// rendered (or taken from the response cache) and hashed, so the ETag changes
/// when, and only when, the body does. `render` returns the body and when its
/// content last changed (for `Last-Modified`).
pub async fn conditional_by_content<F, Fut>(
    req: &HttpRequest,
    state: &AppState,
    content_type: &'static str,
    render: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<(Vec<u8>, Option<chrono::DateTime<chrono::Utc>>)>>,
{
    let stamp = services::content::stamp(&state.db.conn).await?;
    let key = ResponseCache::key(&[
        b"content",
        req.path().as_bytes(),
        req.query_string().as_bytes(),
    ]);
    let (body, modified) = match state.cache.get(&key, stamp.key()) {
        Some(hit) => (hit.body, hit.modified),
        None => {
            let (body, modified) = render().await?;
            let body = Bytes::from(body);
            state.cache.put(
                key,
                Entry {
                    stamp: stamp.key(),
                    body: body.clone(),
                    link: None,
                    modified,
                },
            );
            (body, modified)
        }
    };
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body)[..12]));
    let inm = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let not_modified = match inm {
        Some(inm) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => match (
            req.headers()
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
            modified,
        ) {
            (Some(ims), Some(lm)) => chrono::DateTime::parse_from_rfc2822(ims)
                .is_ok_and(|ims| lm.timestamp() <= ims.timestamp()),
            _ => false,
        },
    };
    let mut res = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok().content_type(content_type).body(body)
    };
    let hs = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        hs.insert(header::ETAG, v);
    }
    if let Some(lm) = modified
        && let Ok(v) = HeaderValue::from_str(&lm.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        hs.insert(header::LAST_MODIFIED, v);
    }
    if let Ok(v) = HeaderValue::from_str(&state.cache_control) {
        hs.insert(header::CACHE_CONTROL, v);
    }
    hs.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(res)
}
