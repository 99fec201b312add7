//! Reader comments over HTTP: an article's thread (public, cached and
//! validated like every public read; a signed-in reader also sees their own
//! pending comments, rendered fresh and private), posting (readers, budgeted
//! per reader and per client address), the author's change and delete, and
//! the editors' moderation queue and decisions. Every write honours
//! `Idempotency-Key`. The rules live in `services::comments`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::domain::{CommentBody, CommentStatus};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::http::auth::{actor, json_body};
use crate::http::conditional::{Public, Validator, respond};
use crate::services::comments::{self, Decision, NewComment};

use super::accounts::private;
use super::handlers::list_response;
use super::params::Params;
use super::writes::{MAX_JSON_BODY, idempotent};

/// `POST /api/v1/articles/{slug}/comments`
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCommentBody {
    /// Plain text, 1 to 5,000 characters, at most `--comment-max-links` links.
    body: String,
    /// The top-level comment of the same article this one replies to.
    parent_id: Option<i32>,
}

/// `PATCH /api/v1/comments/{id}`
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentPatch {
    /// The new text (within 10 minutes of posting).
    body: String,
}

fn body(s: &str) -> AppResult<CommentBody> {
    CommentBody::parse(s).map_err(|m| AppError::invalid("body", m))
}

fn one(c: comments::Comment) -> HttpResponse {
    private(HttpResponse::Ok().json(json!({ "data": c })))
}

/// `GET /api/v1/articles/{slug}/comments`: approved comments, oldest first
/// (and the signed-in reader's own pending ones).
pub async fn list_for_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let page = p.page();
    p.finish()?;
    let actor = actor(&req, &state).await?;
    let (actor, slug, page, req) = (&actor, slug.as_str(), &page, &req);
    respond(
        req,
        &state,
        Public::url("rest", req, Validator::Stamp),
        |db| async move {
            let p = comments::list_for_article(db, actor, slug, page).await?;
            let next = p.next_cursor(comments::cursor_of);
            Ok(list_response(req, p.items, next, page.limit))
        },
    )
    .await
}

/// `POST /api/v1/articles/{slug}/comments`: 201 with the comment.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    raw: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    // Who may comment is decided before the body is read: the public is a
    // 401 whatever it sends.
    let reader = comments::commenter(&actor)?;
    // A retry with the same `Idempotency-Key` is answered before it spends
    // the comment budget.
    idempotent(&req, &state, &actor, &raw, || async {
        let b: NewCommentBody = json_body(&req, &raw, MAX_JSON_BODY)?;
        let input = NewComment {
            body: body(&b.body)?,
            parent_id: b.parent_id,
        };
        let client = crate::http::limits::SignInLimits::client_of(&state, &req);
        state.comment_limits.spend_for(&client, reader).await?;
        let c = comments::create(&state.db.conn, &actor, &state.comments, &slug, input).await?;
        Ok(private(HttpResponse::Created().json(json!({ "data": c }))))
    })
    .await
}

fn id(path: &str) -> AppResult<i32> {
    path.parse()
        .map_err(|_| AppError::NotFound(format!("no comment {path:?}")))
}

/// `PATCH /api/v1/comments/{id}`: the author, within 10 minutes.
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    raw: web::Bytes,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    idempotent(&req, &state, &actor, &raw, || async {
        let b: CommentPatch = json_body(&req, &raw, MAX_JSON_BODY)?;
        let c = comments::update(
            &state.db.conn,
            &actor,
            &state.comments,
            id(&path)?,
            body(&b.body)?,
        )
        .await?;
        Ok(one(c))
    })
    .await
}

/// `DELETE /api/v1/comments/{id}`: 204 (the author, or an editor).
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    idempotent(&req, &state, &actor, &[], || async {
        comments::delete(&state.db.conn, &actor, id(&path)?).await?;
        Ok(private(HttpResponse::NoContent().finish()))
    })
    .await
}

/// `GET /api/v1/comments?status=`: the moderation queue (editors), newest first.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut p = Params::parse(req.query_string())?;
    let status = p.parse_as::<CommentStatus>("status");
    let page = p.page();
    p.finish()?;
    let actor = actor(&req, &state).await?;
    let found = comments::list(&state.db.conn, &actor, status, &page).await?;
    let next = found.next_cursor(comments::cursor_of);
    Ok(private(list_response(&req, found.items, next, page.limit)))
}

async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    decision: Decision,
) -> AppResult<HttpResponse> {
    let actor = actor(&req, &state).await?;
    idempotent(&req, &state, &actor, &[], || async {
        let c = comments::moderate(&state.db.conn, &actor, id(&path)?, decision).await?;
        Ok(one(c))
    })
    .await
}

/// `POST /api/v1/comments/{id}/approve`
pub async fn approve(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide(req, state, path, Decision::Approve).await
}

/// `POST /api/v1/comments/{id}/reject`
pub async fn reject(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide(req, state, path, Decision::Reject).await
}

/// `POST /api/v1/comments/{id}/spam`
pub async fn spam(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide(req, state, path, Decision::Spam).await
}
