//! The one implementation of public reads over HTTP: every anonymous GET (REST,
//! GraphQL, feeds, the widget and its preview) goes through [`respond`], which
//!
//! 1. takes the content stamp (the version every write bumps, the latest scheduled
//!    publication that came due, the latest event start that passed, so time alone
//!    changes it too) from `services::content::StampWatch`, which reads it from the
//!    database only when it may have changed: a cache hit or a 304 costs no statement;
//! 2. names the answer by what determines it: a scope, the request's identity
//!    (URL, or a GraphQL operation) and the base URL its links are written for;
//! 3. gives a strong `ETag` and a `Last-Modified`, answers `If-None-Match` /
//!    `If-Modified-Since` with 304, and takes the body from the response cache or
//!    renders it and fills the cache.
//!
//! Two validators: [`Validator::Stamp`] (decided before rendering, so a current
//! copy costs no rendering; it changes with any content change) and
//! [`Validator::Content`] (a hash of the body, so it changes only when the answer
//! does; for feeds and the widget, whose readers poll). Both include the answer's
//! identity and base URL, so a validator is never honoured for a body rendered for
//! another request or another host. Callers with credentials are rendered fresh
//! and marked private; nothing of theirs is cached or shared.
//!
//! With a read replica (`--read-database-url`), an anonymous answer that has to
//! be rendered comes from the replica only when it has replayed the primary's
//! WAL up to where it was when the stamp was read (`db::replica` has the rule),
//! so an answer is never cached under a stamp newer than its data. Signed-in
//! callers always read the primary.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::cache::{Entry, ResponseCache};
use crate::services::content::Stamp;

/// How an answer's `ETag` is made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// From the content stamp and the answer's identity: known before rendering.
    Stamp,
    /// From the rendered body and the answer's identity: changes only with the body.
    Content,
}

/// What a public answer is: the parts that determine it and how it is validated.
pub struct Public<'a> {
    scope: &'static str,
    identity: Vec<&'a [u8]>,
    validator: Validator,
    revalidate: bool,
    /// A second key the answer is cached under (a GraphQL POST's exact body).
    alias: Option<[u8; 32]>,
}

impl<'a> Public<'a> {
    /// An answer determined by its URL (path and query string).
    pub fn url(scope: &'static str, req: &'a HttpRequest, validator: Validator) -> Self {
        Self::new(
            scope,
            vec![req.path().as_bytes(), req.query_string().as_bytes()],
            validator,
        )
    }

    /// An answer determined by `identity` (e.g. a GraphQL operation and its variables).
    pub fn new(scope: &'static str, identity: Vec<&'a [u8]>, validator: Validator) -> Self {
        Self {
            scope,
            identity,
            validator,
            revalidate: true,
            alias: None,
        }
    }

    /// The answer also depends on `part` (a representation chosen by `Accept`).
    pub fn with(mut self, part: &'a [u8]) -> Self {
        self.identity.push(part);
        self
    }

    /// Cached, but neither validated nor cacheable by clients (GraphQL over POST).
    pub fn without_validators(mut self) -> Self {
        self.revalidate = false;
        self
    }

    /// Also cached under `key`, for [`cached`] to find before the request is
    /// parsed. Only for answers without validators, and only with a key that
    /// covers everything the answer depends on (a POST's exact body and the
    /// base URL).
    pub fn also_as(mut self, key: [u8; 32]) -> Self {
        debug_assert!(!self.revalidate);
        self.alias = Some(key);
        self
    }
}

/// The answer cached under `key` (see [`Public::also_as`]) for the current
/// content stamp, as [`respond`] gives it without validators (callers check
/// that the request has no credentials).
pub async fn cached(state: &AppState, scope: &'static str, key: &[u8; 32]) -> Option<HttpResponse> {
    let known = state.stamps.current(&state.db.conn).await.ok()?;
    let entry = state.cache.get(key, known.stamp.key())?;
    crate::metrics::cache_lookup(scope, true);
    let mut res = rebuild(&entry);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(res)
}

/// What a renderer produced.
pub enum Rendered {
    /// An answer that may be shared (and cached when its status is 200).
    Shared(HttpResponse),
    /// An answer that must be neither cached nor validated (a GraphQL answer with
    /// errors).
    Unshared(HttpResponse),
}

impl From<HttpResponse> for Rendered {
    fn from(res: HttpResponse) -> Self {
        Rendered::Shared(res)
    }
}

impl Rendered {
    fn into_response(self) -> HttpResponse {
        match self {
            Rendered::Shared(r) | Rendered::Unshared(r) => r,
        }
    }
}

/// Answers a public read: 304 when the client's copy is current, else the cached
/// answer, else `render(db)` (whose answer is cached under the current stamp).
/// `db` is the primary, or the read replica when it has replayed the stamp
/// (`db::replica`); `render` runs a second time, on the primary, when it fails
/// on the replica.
pub async fn respond<'s, F, Fut, R>(
    req: &HttpRequest,
    state: &'s AppState,
    public: Public<'_>,
    render: F,
) -> AppResult<HttpResponse>
where
    F: Fn(&'s DatabaseConnection) -> Fut,
    Fut: Future<Output = AppResult<R>>,
    R: Into<Rendered>,
{
    if crate::http::auth::has_credentials(req) {
        // Answers for a signed-in caller may show drafts: never shared, never
        // cached; and they come from the primary, which has the caller's writes.
        let mut res = render(&state.db.conn).await?.into().into_response();
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
        return Ok(res);
    }
    let known = state.stamps.current(&state.db.conn).await?;
    let stamp = known.stamp;
    let base = state.public_base(req);
    let mut parts: Vec<&[u8]> = vec![public.scope.as_bytes(), base.as_bytes()];
    parts.extend(public.identity.iter().copied());
    let key = ResponseCache::key(&parts);
    let last_modified = stamp.last_modified();

    let stamp_etag = (public.validator == Validator::Stamp).then(|| stamp_etag(&stamp, &key));
    if public.revalidate
        && let Some(etag) = &stamp_etag
        && is_current(req, etag, last_modified)
    {
        return Ok(validated(
            HttpResponse::NotModified().finish(),
            state,
            etag,
            last_modified,
        ));
    }
    let cached = state.cache.get(&key, stamp.key());
    crate::metrics::cache_lookup(public.scope, cached.is_some());
    let entry = match cached {
        Some(hit) => hit,
        None => {
            let res = match render_public(state, known.wal, &render).await? {
                Rendered::Unshared(res) => return Ok(res),
                Rendered::Shared(res) if res.status() != StatusCode::OK => return Ok(res),
                Rendered::Shared(res) => res,
            };
            let content_type = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            let link = res
                .headers()
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = actix_web::body::to_bytes(res.into_body())
                .await
                .map_err(|_| {
                    AppError::Internal(anyhow::anyhow!("could not buffer a response body"))
                })?;
            let etag = match stamp_etag {
                Some(e) => e,
                None => content_etag(&key, &body),
            };
            let entry = Entry {
                stamp: stamp.key(),
                body,
                content_type,
                link,
                etag,
            };
            state.cache.put(key, entry.clone());
            if let Some(alias) = public.alias {
                state.cache.put(alias, entry.clone());
            }
            entry
        }
    };
    if !public.revalidate {
        let mut res = rebuild(&entry);
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    let res =
        if public.validator == Validator::Content && is_current(req, &entry.etag, last_modified) {
            HttpResponse::NotModified().finish()
        } else {
            rebuild(&entry)
        };
    Ok(validated(res, state, &entry.etag, last_modified))
}

/// Renders a public answer from the read replica when there is one and it has
/// replayed the primary's WAL up to `wal` (where the primary was when the stamp
/// the answer will be cached under was read), else from the primary; and again
/// from the primary when the replica fails (which then rests, `db::replica`).
async fn render_public<'s, F, Fut, R>(
    state: &'s AppState,
    wal: Option<u64>,
    render: &F,
) -> AppResult<Rendered>
where
    F: Fn(&'s DatabaseConnection) -> Fut,
    Fut: Future<Output = AppResult<R>>,
    R: Into<Rendered>,
{
    if let Some(replica) = &state.replica {
        if let Some(wal) = wal
            && let Some(conn) = replica.caught_up(wal).await
        {
            match render(conn).await {
                Err(AppError::Unavailable(why)) => replica.failed(&why),
                Err(AppError::Internal(e)) => replica.failed(&format!("{e:#}")),
                done => {
                    replica.served(true);
                    return done.map(Into::into);
                }
            }
        }
        replica.served(false);
    }
    render(&state.db.conn).await.map(Into::into)
}

/// A strong validator over everything in the stamp and the answer's key.
fn stamp_etag(stamp: &Stamp, key: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    for p in stamp.key() {
        h.update(p.to_le_bytes());
    }
    h.update(key);
    quoted(&h.finalize())
}

/// A strong validator over the body and the answer's key.
fn content_etag(key: &[u8; 32], body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(Sha256::digest(body));
    quoted(&h.finalize())
}

fn quoted(digest: &[u8]) -> String {
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether the client's copy is current: `If-None-Match` when sent (RFC 9110 weak
/// comparison), else `If-Modified-Since` against when the content last changed.
fn is_current(req: &HttpRequest, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    let headers = req.headers();
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        return inm.to_str().is_ok_and(|inm| {
            inm.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
            })
        });
    }
    match (
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok()),
        last_modified,
    ) {
        (Some(ims), Some(lm)) => {
            DateTime::parse_from_rfc2822(ims).is_ok_and(|ims| lm.timestamp() <= ims.timestamp())
        }
        _ => false,
    }
}

fn rebuild(entry: &Entry) -> HttpResponse {
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, entry.content_type.as_str()));
    if let Some(l) = &entry.link {
        b.insert_header((header::LINK, l.as_str()));
    }
    b.body(Bytes::clone(&entry.body))
}

/// Adds the validators and the public caching headers.
fn validated(
    mut res: HttpResponse,
    state: &AppState,
    etag: &str,
    last_modified: Option<DateTime<Utc>>,
) -> HttpResponse {
    let hs = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        hs.insert(header::ETAG, v);
    }
    if let Some(lm) = last_modified
        && let Ok(v) = HeaderValue::from_str(&lm.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    {
        hs.insert(header::LAST_MODIFIED, v);
    }
    if let Ok(v) = HeaderValue::from_str(&state.cache_control) {
        hs.insert(header::CACHE_CONTROL, v);
    }
    hs.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::default();
        for (k, v) in headers {
            r = r.insert_header((*k, *v));
        }
        r.to_http_request()
    }

    #[test]
    fn if_none_match_is_compared_weakly_and_wins_over_if_modified_since() {
        let etag = "\"abc\"";
        let lm = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(is_current(
            &req(&[("if-none-match", "\"abc\"")]),
            etag,
            None
        ));
        assert!(is_current(
            &req(&[("if-none-match", "W/\"x\", W/\"abc\"")]),
            etag,
            None
        ));
        assert!(is_current(&req(&[("if-none-match", "*")]), etag, None));
        assert!(!is_current(
            &req(&[("if-none-match", "\"abd\"")]),
            etag,
            Some(lm)
        ));
        // A stale If-None-Match is not rescued by a current If-Modified-Since.
        assert!(!is_current(
            &req(&[
                ("if-none-match", "\"old\""),
                ("if-modified-since", "Fri, 02 Jan 2026 03:04:05 GMT")
            ]),
            etag,
            Some(lm)
        ));
        let ims = |v: &str| req(&[("if-modified-since", v)]);
        assert!(is_current(
            &ims("Fri, 02 Jan 2026 03:04:05 GMT"),
            etag,
            Some(lm)
        ));
        assert!(!is_current(
            &ims("Fri, 02 Jan 2026 03:04:04 GMT"),
            etag,
            Some(lm)
        ));
        assert!(!is_current(&ims("yesterday"), etag, Some(lm)));
        assert!(!is_current(
            &ims("Fri, 02 Jan 2026 03:04:05 GMT"),
            etag,
            None
        ));
        assert!(!is_current(&req(&[]), etag, Some(lm)));
    }

    #[test]
    fn validators_cover_every_part_of_the_stamp_and_the_key() {
        let t = |s: &str| Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
        let stamp = Stamp {
            version: 7,
            changed_at: t("2026-01-01T00:00:00Z"),
            last_due: t("2026-01-02T00:00:00Z"),
            last_started: t("2026-01-03T00:00:00Z"),
        };
        let key = ResponseCache::key(&[b"rest", b"https://a.example", b"/x", b""]);
        let other_base = ResponseCache::key(&[b"rest", b"https://b.example", b"/x", b""]);
        let e = stamp_etag(&stamp, &key);
        assert_ne!(e, stamp_etag(&stamp, &other_base));
        for changed in [
            Stamp {
                version: 8,
                ..stamp
            },
            Stamp {
                last_due: t("2026-01-04T00:00:00Z"),
                ..stamp
            },
            Stamp {
                last_started: t("2026-01-04T00:00:00Z"),
                ..stamp
            },
        ] {
            assert_ne!(e, stamp_etag(&changed, &key));
        }
        assert_eq!(content_etag(&key, b"body"), content_etag(&key, b"body"));
        assert_ne!(
            content_etag(&key, b"body"),
            content_etag(&other_base, b"body")
        );
        assert_ne!(content_etag(&key, b"body"), content_etag(&key, b"body2"));
    }
}
