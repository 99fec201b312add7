//! The operations of reader comments (`http::rest::comments`), kept apart
//! from `ops` so the routes of one feature are documented in one place.

use serde_json::{Value, json};
use utoipa::openapi::path::Operation;

use super::{Op, data, json_content, page, problem, response, schema};
use crate::domain::CommentStatus;
use crate::http::rest::comments::{CommentPatch, NewCommentBody};
use crate::services::comments::Comment;

/// What a reader's or editor's write answers besides its success.
const REFUSALS: &[(u16, &str)] = &[
    (400, "BadBody"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (413, "PayloadTooLarge"),
    (415, "UnsupportedMediaType"),
    (422, "Unprocessable"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

/// What a write without a body (delete, a moderation decision) answers
/// besides its success (400: a malformed `Idempotency-Key`; 409: a request
/// with the same key still running; 422: the key used for another request).
const BODILESS_REFUSALS: &[(u16, &str)] = &[
    (400, "BadRequest"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "NotFound"),
    (409, "Conflict"),
    (422, "Unprocessable"),
    (429, "TooManyRequests"),
    (503, "Unavailable"),
    (507, "InsufficientStorage"),
];

fn comment_id() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The comment's id.", "schema": {"type": "integer"}})
}

fn article_slug() -> Value {
    json!({"name": "slug", "in": "path", "required": true, "description": "The article's slug.", "schema": {"type": "string", "pattern": super::components::SLUG_PATTERN}})
}

/// A write's answer: the comment (or, replayed, the first answer again).
fn the_comment(description: &str) -> Value {
    response(
        description,
        &["Idempotent-Replayed"],
        json_content(data(schema::<Comment>())),
    )
}

/// `GET /api/v1/articles/{slug}/comments`
pub fn list_article_comments() -> Operation {
    Op::new(
        "listArticleComments",
        &["comments"],
        "The approved comments on a published article, oldest first.",
    )
    .describe(
        "Replies name their top-level comment in `parent_id` (one level deep). A signed-in\n\
            reader also sees their own pending comments (`mine: true`), in a private answer;\n\
            the public answer is cached and validated like every public read and changes as\n\
            soon as a comment is approved, changed or removed.",
    )
    .parameter(article_slug())
    .param("limit")
    .param("cursor")
    .answer(
        200,
        response(
            "A page of comments.",
            &["ETag", "Last-Modified", "Cache-Control", "Link"],
            json_content(page(schema::<Comment>())),
        ),
    )
    .answers(&[
        (304, "NotModified"),
        (400, "BadRequest"),
        (401, "Unauthorized"),
        (404, "NotFound"),
    ])
    .into()
}

/// `POST /api/v1/articles/{slug}/comments`
pub fn create_comment() -> Operation {
    Op::new(
        "createComment",
        &["comments"],
        "Comment on a published article (a signed-in reader's Bearer token).",
    )
    .describe(
        "Plain text, 1 to 5,000 characters, with at most `--comment-max-links` links (default 2).\n\
            A reply names a top-level comment of the same article in `parent_id`; a reply to a\n\
            reply is a 400 naming `parent_id`. Without a token the answer is 401; contributors,\n\
            editors and admins are 403 (editors moderate, readers comment). With\n\
            `--comment-moderation first` (the default) a comment is `pending` until its author\n\
            has an approved comment and none rejected or marked spam; `all` holds every comment,\n\
            `none` none. Budgeted per reader and per client address (429).",
    )
    .bearer()
    .parameter(article_slug())
    .param("IdempotencyKey")
    .body(json_content(schema::<NewCommentBody>()))
    .answer(201, the_comment("The comment (`pending` or `approved`)."))
    .answer(
        409,
        problem("The reader already posted this text (ignoring case and spacing) on this article, or a request with the same `Idempotency-Key` is still running."),
    )
    .answers(REFUSALS)
    .into()
}

/// `GET /api/v1/comments`
pub fn list_comments() -> Operation {
    Op::new("listComments", &["comments"], "The moderation queue, newest first (editors; Bearer token); for a reader, their own comments on every article in every status.")
        .bearer()
        .parameter(json!({"name": "status", "in": "query", "description": "Only comments in this status (all when left out).", "schema": schema::<CommentStatus>()}))
        .param("limit")
        .param("cursor")
        .answer(200, response("A page of comments.", &["Link"], json_content(page(schema::<Comment>()))))
        .answers(&[(400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden")])
        .into()
}

/// `PATCH /api/v1/comments/{id}`
pub fn update_comment() -> Operation {
    Op::new("updateComment", &["comments"], "Change the text of your own comment within 10 minutes of posting it (a reader's Bearer token).")
        .describe("Another reader's comment is a 403; after 10 minutes the answer is 409 with code\n\
            `EDIT_WINDOW_CLOSED` (delete the comment instead). An approved comment waits for\n\
            moderation again where a new comment of its author would (`--comment-moderation`\n\
            `all`, or `first` for a reader without an approved comment or with a rejected one);\n\
            any other status stays as it is.")
        .bearer()
        .parameter(comment_id())
        .param("IdempotencyKey")
        .body(json_content(schema::<CommentPatch>()))
        .answer(200, the_comment("The changed comment."))
        .answer(409, problem("The edit window has closed (`EDIT_WINDOW_CLOSED`), the reader already posted this text on the article, or a request with the same `Idempotency-Key` is still running."))
        .answers(REFUSALS)
        .into()
}

/// `DELETE /api/v1/comments/{id}`
pub fn delete_comment() -> Operation {
    Op::new(
        "deleteComment",
        &["comments"],
        "Delete a comment and its replies (its author any time, or an editor; Bearer token).",
    )
    .bearer()
    .parameter(comment_id())
    .param("IdempotencyKey")
    .answer(
        204,
        response("Deleted.", &["Idempotent-Replayed"], Value::Null),
    )
    .answers(BODILESS_REFUSALS)
    .into()
}

fn decision(id: &str, summary: &str) -> Operation {
    Op::new(id, &["comments"], summary)
        .describe("Audited. A reader's token is a 403.")
        .bearer()
        .parameter(comment_id())
        .param("IdempotencyKey")
        .answer(200, the_comment("The comment in its new status."))
        .answers(BODILESS_REFUSALS)
        .into()
}

/// `POST /api/v1/comments/{id}/approve`
pub fn approve_comment() -> Operation {
    decision(
        "approveComment",
        "Approve a comment: the public sees it (editors).",
    )
}

/// `POST /api/v1/comments/{id}/reject`
pub fn reject_comment() -> Operation {
    decision(
        "rejectComment",
        "Reject a comment: hidden, and its author's next comments wait (editors).",
    )
}

/// `POST /api/v1/comments/{id}/spam`
pub fn spam_comment() -> Operation {
    decision(
        "markCommentSpam",
        "Mark a comment as spam: hidden, and its author's next comments wait (editors).",
    )
}
