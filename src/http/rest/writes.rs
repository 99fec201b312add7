//! REST writes: `POST` on a collection creates, `PATCH` (a JSON merge-patch,
//! with `If-Match`) changes, `DELETE` (with `If-Match`) deletes, for every
//! resource; `POST /mentions` records a mention; `POST /import` takes NDJSON.
//! Every POST honours `Idempotency-Key`. The rules live in `services::records`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use actix_web::body::{BoxBody, to_bytes};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::auth::Actor;
use crate::domain::{FieldError, Role};
use crate::entities::{article, event, expert, outlet, site, topic};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::auth::json_body;
use crate::services::idempotency::{self, Answer, Claim};
use crate::services::records::{self, Expected, Record};
use crate::services::{self, import::ImportOptions};

use super::json;
use super::params::Params;

/// Largest JSON body a create, change or mention may have.
pub const MAX_JSON_BODY: usize = 64 * 1024;
/// Largest NDJSON body `POST /import` reads.
pub const MAX_IMPORT_BODY: u64 = 256 * 1024 * 1024;

/// A record as REST shows it, and where its collection lives.
pub trait RestRecord: Record + 'static {
    const COLLECTION: &'static str;
    fn render(self, db: &DatabaseConnection) -> impl Future<Output = AppResult<Value>>;
}

fn to_json<T: serde::Serialize>(v: T) -> AppResult<Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(e.into()))
}

impl RestRecord for article::Model {
    const COLLECTION: &'static str = "/api/v1/articles";
    async fn render(self, db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::articles(db, vec![self], true).await?.pop())
    }
}

impl RestRecord for expert::Model {
    const COLLECTION: &'static str = "/api/v1/experts";
    async fn render(self, db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::experts(db, vec![self]).await?.pop())
    }
}

impl RestRecord for outlet::Model {
    const COLLECTION: &'static str = "/api/v1/outlets";
    async fn render(self, db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::outlets(db, vec![self]).await?.pop())
    }
}

impl RestRecord for topic::Model {
    const COLLECTION: &'static str = "/api/v1/topics";
    async fn render(self, _db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::topic(self))
    }
}

impl RestRecord for event::Model {
    const COLLECTION: &'static str = "/api/v1/events";
    async fn render(self, _db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::event(self))
    }
}

impl RestRecord for site::Model {
    const COLLECTION: &'static str = "/api/v1/site";
    async fn render(self, _db: &DatabaseConnection) -> AppResult<Value> {
        to_json(json::site(self))
    }
}

/// Adds the strong validator of a record's version to a response (for the
/// `If-Match` of a later change).
pub fn with_version_tag<R: Record>(mut res: HttpResponse, r: &R) -> HttpResponse {
    if let Ok(v) = HeaderValue::from_str(&records::etag(r)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The answer to a write: the record, its ETag, and `Location` when created.
async fn written<R: RestRecord>(
    db: &DatabaseConnection,
    status: StatusCode,
    r: R,
) -> AppResult<HttpResponse> {
    let tag = records::etag(&r);
    let location = match r.slug() {
        "site" => R::COLLECTION.to_owned(),
        slug => format!("{}/{slug}", R::COLLECTION),
    };
    let data = r.render(db).await?;
    let mut b = HttpResponse::build(status);
    b.insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::CREATED {
        b.insert_header((header::LOCATION, location));
    }
    Ok(b.json(json!({ "data": data })))
}

/// What an `If-Match` names: `*`, or a list of entity tags; 428 without one.
fn if_match(req: &HttpRequest) -> AppResult<Expected> {
    let v = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AppError::PreconditionRequired(
                "send If-Match with the ETag of the version you changed (GET it with your token)"
                    .into(),
            )
        })?
        .trim();
    if v == "*" {
        return Ok(Expected::Any);
    }
    // Strong comparison: a weak tag (`W/"..."`) never matches.
    Ok(Expected::Tags(
        v.split(',').map(|t| t.trim().to_owned()).collect(),
    ))
}

/// Refuses the public before anything else is looked at.
fn signed_in(actor: &Actor) -> AppResult<()> {
    actor.require(Role::Contributor)
}

/// `POST` on a collection: creates a record (201, `Location`, `ETag`).
pub async fn create<R: RestRecord>(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = crate::http::auth::actor(&req, &state).await?;
    signed_in(&actor)?;
    idempotent(&req, &state, &actor, &body, || async {
        let input: Map<String, Value> = json_body(&req, &body, MAX_JSON_BODY)?;
        let db = &state.db.conn;
        let r = records::create::<R>(db, &actor, input).await?;
        written(db, StatusCode::CREATED, r).await
    })
    .await
}

async fn patch_slug<R: RestRecord>(
    req: &HttpRequest,
    state: &AppState,
    slug: &str,
    body: &[u8],
) -> AppResult<HttpResponse> {
    let actor = crate::http::auth::actor(req, state).await?;
    signed_in(&actor)?;
    let patch: Map<String, Value> = json_body(req, body, MAX_JSON_BODY)?;
    let expected = if_match(req)?;
    let db = &state.db.conn;
    let r = records::update::<R>(db, &actor, slug, &expected, patch).await?;
    written(db, StatusCode::OK, r).await
}

/// `PATCH` on a record: a merge-patch of the fields to change, with `If-Match`.
pub async fn patch<R: RestRecord>(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    patch_slug::<R>(&req, &state, &slug, &body).await
}

/// `PATCH /api/v1/site` (administrators).
pub async fn patch_site(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    patch_slug::<site::Model>(&req, &state, "site", &body).await
}

/// `DELETE` on a record, with `If-Match`: 204.
pub async fn delete<R: RestRecord>(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = crate::http::auth::actor(&req, &state).await?;
    signed_in(&actor)?;
    let expected = if_match(&req)?;
    records::delete::<R>(&state.db.conn, &actor, &slug, &expected).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/mentions`: 201 with the new article, or 200 with the one already
/// recorded for the same canonical URL.
pub async fn record_mention(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = crate::http::auth::actor(&req, &state).await?;
    signed_in(&actor)?;
    idempotent(&req, &state, &actor, &body, || async {
        let input: services::mentions::MentionInput = json_body(&req, &body, MAX_JSON_BODY)?;
        let db = &state.db.conn;
        let (a, created) = services::mentions::record_mention(db, &actor, input).await?;
        let location = format!("/api/v1/articles/{}", a.slug);
        let tag = records::etag(&a);
        let data = json::articles(db, vec![a], true).await?.pop();
        let mut b = if created {
            HttpResponse::Created()
        } else {
            HttpResponse::Ok()
        };
        Ok(b.insert_header((header::LOCATION, location))
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "data": data, "meta": { "created": created } })))
    })
    .await
}

// ------------------------------------------------------------ Idempotency-Key

fn idempotency_key(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// What identifies a request for `Idempotency-Key`: method, path, query, body,
/// keyed with a server secret (the body may hold a password; the digest is
/// stored).
fn request_hasher(req: &HttpRequest, state: &AppState) -> Sha256 {
    let mut h = Sha256::new();
    h.update(state.jwt.digest_key());
    h.update(req.method().as_str());
    h.update(b" ");
    h.update(req.path());
    h.update(b"?");
    h.update(req.query_string());
    h.update(b"\n");
    h
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Marks an answer that carries a secret (an API key, an access token): it is
/// never stored for `Idempotency-Key` replay (`settle` keeps only that the
/// request was done). Every answer that shows a secret goes through here.
pub(crate) struct CarriesSecret;

/// Marks `res` as carrying a secret (see [`CarriesSecret`]).
pub(crate) fn carries_secret(mut res: HttpResponse) -> HttpResponse {
    res.extensions_mut().insert(CarriesSecret);
    res
}

/// The stored first answer, sent again.
fn replayed(a: Answer) -> HttpResponse {
    let mut b = HttpResponse::build(StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK));
    b.insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("idempotent-replayed", "true"));
    if let Some(l) = a.location {
        b.insert_header((header::LOCATION, l));
    }
    b.body(a.body.unwrap_or_default())
}

/// Did a request succeed, judged by its answer's status and body?
pub type Succeeded = fn(StatusCode, &[u8]) -> bool;

/// REST: any 2xx.
fn is_2xx(status: StatusCode, _body: &[u8]) -> bool {
    status.is_success()
}

/// Stores a successful answer under a claimed key, or releases the key.
async fn settle(
    db: &DatabaseConnection,
    subject: &str,
    key: &str,
    hash: &str,
    result: AppResult<HttpResponse>,
    succeeded: Succeeded,
) -> AppResult<HttpResponse> {
    let res = match result {
        Ok(res) if res.status().is_success() => res,
        other => {
            idempotency::release(db, subject, key).await?;
            return other;
        }
    };
    let status = res.status();
    let secret = res.extensions().get::<CarriesSecret>().is_some();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (res, body) = res.into_parts();
    let bytes = to_bytes(body)
        .await
        .map_err(|_| AppError::Internal(anyhow::anyhow!("unreadable response body")))?;
    if succeeded(status, &bytes) {
        let answer = Answer {
            status: status.as_u16(),
            location,
            body: (!secret).then(|| String::from_utf8_lossy(&bytes).into_owned()),
        };
        idempotency::complete(db, subject, key, hash, &answer).await?;
    } else {
        idempotency::release(db, subject, key).await?;
    }
    Ok(res.set_body(BoxBody::new(bytes)))
}

/// Runs a write once per `Idempotency-Key` of the caller's account (the
/// public has none: its requests just run): the same key and body again replay
/// the first answer (or, when it carried a secret, are a 409); the same key
/// with another body is a 422.
pub(crate) async fn idempotent<F, Fut>(
    req: &HttpRequest,
    state: &AppState,
    actor: &Actor,
    body: &[u8],
    run: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<HttpResponse>>,
{
    idempotent_when(req, state, actor, body, is_2xx, run).await
}

/// Like [`idempotent`], with the caller's idea of success (a GraphQL answer
/// with `errors` is a failure that does not use the key up).
pub(crate) async fn idempotent_when<F, Fut>(
    req: &HttpRequest,
    state: &AppState,
    actor: &Actor,
    body: &[u8],
    succeeded: Succeeded,
    run: F,
) -> AppResult<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<HttpResponse>>,
{
    let (Some(key), Some(subject)) = (idempotency_key(req), actor.account()) else {
        return run().await;
    };
    let subject = subject.as_str();
    idempotency::check_key(key)?;
    let mut h = request_hasher(req, state);
    h.update(body);
    let hash = hex(&h.finalize());
    let db = &state.db.conn;
    match idempotency::claim(db, subject, key, &hash).await? {
        Claim::Replay(a) => Ok(replayed(a)),
        Claim::Fresh => settle(db, subject, key, &hash, run().await, succeeded).await,
    }
}

// ------------------------------------------------------------ import

fn is_ndjson(req: &HttpRequest) -> bool {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    [
        "application/x-ndjson",
        "application/jsonl",
        "application/jsonlines",
    ]
    .iter()
    .any(|t| ct.starts_with(t))
}

/// The answer to an import: 200 with the counts when committed, else a 422
/// naming every bad line.
fn import_answer(r: services::import::ImportReport) -> HttpResponse {
    if r.committed {
        return HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "data": r }));
    }
    let lines: Vec<FieldError> = r
        .errors
        .iter()
        .map(|e| FieldError::new(format!("line {}", e.line), e.message.clone()))
        .collect();
    crate::http::problem::problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "IMPORT_REJECTED",
        &format!(
            "{} of {} lines are invalid, so nothing was imported (send skip_invalid=true to import the rest)",
            r.error_count, r.lines
        ),
        &lines,
    )
}

/// `POST /api/v1/import`: an NDJSON body in the CLI's format, streamed into one
/// transaction (editors). 200 with the counts when committed; 422 with every
/// line's errors when nothing was written.
pub async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let actor = crate::http::auth::actor(&req, &state).await?;
    actor.require(Role::Editor)?;
    if !is_ndjson(&req) {
        return Err(AppError::UnsupportedMediaType);
    }
    refuse_declared_too_large(&req)?;
    let mut p = Params::parse(req.query_string())?;
    let skip_invalid = p.boolean("skip_invalid").unwrap_or(false);
    p.finish()?;
    let db = &state.db.conn;
    let meter = BodyMeter::new(request_hasher(&req, &state));
    let mut reader = meter.reader(payload);
    let account = actor.account();
    let key = match (idempotency_key(&req), account.as_deref()) {
        (Some(k), Some(s)) => {
            idempotency::check_key(k)?;
            Some((k, s))
        }
        _ => None,
    };
    if let Some((k, s)) = key
        && let Some(stored) = idempotency::stored(db, s, k).await?
    {
        // Read the body only to tell a retry from a different request.
        tokio::io::copy(&mut reader, &mut tokio::io::sink())
            .await
            .map_err(|e| AppError::invalid("body", format!("cannot read the body: {e}")))?;
        return Ok(replayed(idempotency::replay(stored, &meter.hash())?));
    }
    if let Some((k, s)) = key
        && let Claim::Replay(a) = idempotency::claim(db, s, k, "").await?
    {
        return Ok(replayed(a));
    }
    let report = services::import::import(
        db,
        &actor,
        &mut reader,
        ImportOptions { skip_invalid },
        |_| {},
    )
    .await;
    let result = if meter.too_large() {
        Err(AppError::PayloadTooLarge(MAX_IMPORT_BODY as usize))
    } else {
        report.map(import_answer)
    };
    match key {
        Some((k, s)) => settle(db, s, k, &meter.hash(), result, is_2xx).await,
        None => result,
    }
}

/// Refuses (413) an import whose `Content-Length` is over [`MAX_IMPORT_BODY`]
/// before reading any of it.
fn refuse_declared_too_large(req: &HttpRequest) -> AppResult<()> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_IMPORT_BODY) {
        return Err(AppError::PayloadTooLarge(MAX_IMPORT_BODY as usize));
    }
    Ok(())
}

/// Watches an import body as it streams: hashes it for `Idempotency-Key`, and
/// past [`MAX_IMPORT_BODY`] fails the stream and remembers that it did.
struct BodyMeter {
    hasher: Rc<RefCell<Sha256>>,
    too_large: Rc<Cell<bool>>,
}

impl BodyMeter {
    fn new(hasher: Sha256) -> Self {
        BodyMeter {
            hasher: Rc::new(RefCell::new(hasher)),
            too_large: Rc::new(Cell::new(false)),
        }
    }

    /// The body as a reader that feeds this meter.
    fn reader(&self, payload: web::Payload) -> impl tokio::io::AsyncBufRead + Unpin {
        let (hasher, too_large) = (self.hasher.clone(), self.too_large.clone());
        let mut seen = 0u64;
        tokio_util::io::StreamReader::new(payload.map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            seen += chunk.len() as u64;
            if seen > MAX_IMPORT_BODY {
                too_large.set(true);
                return Err(std::io::Error::other("body too large"));
            }
            hasher.borrow_mut().update(&chunk);
            Ok::<_, std::io::Error>(chunk)
        }))
    }

    /// The request's hash, over the body read so far.
    fn hash(&self) -> String {
        hex(&self.hasher.borrow().clone().finalize())
    }

    /// Did the body go over [`MAX_IMPORT_BODY`]?
    fn too_large(&self) -> bool {
        self.too_large.get()
    }
}
