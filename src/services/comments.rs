//! Readers' comments on published articles.
//!
//! - **Who.** Only a signed-in, activated reader (`Actor::Reader`) comments;
//!   the public is 401, contributors, editors and admins are 403: editors
//!   moderate, readers comment. A reader changes their own comment within
//!   [`EDIT_WINDOW`] of posting it (after: [`AppError::EditWindowClosed`]) and
//!   deletes it any time; another reader's comment is 403.
//! - **What.** Plain text ([`CommentBody`]), at most `max_links` links, one
//!   level of replies (a reply names a top-level comment of the same article
//!   in `parent_id`; a reply to a reply is a 400 naming `parent_id`). The same
//!   reader posting the same normalised body on the same article again is a
//!   409.
//! - **Moderation** ([`Moderation`], `--comment-moderation`, default `first`):
//!   with `first`, a comment is approved at once only when its author already
//!   has an approved comment and none rejected or marked spam; else it waits
//!   (`pending`). `all` holds every comment, `none` none. Editors list by
//!   status, approve, reject, mark spam and delete; every write is audited
//!   (`services::audit`, entity `comment`).
//! - **Visibility.** The public sees approved comments only (and counts only
//!   them: [`counts`]); a reader also sees their own pending ones. A deleted
//!   reader's comments stay, by [`readers::DELETED_NAME`].
//! - **Caches.** A write that changes what the public sees (an approved
//!   comment appears, changes or goes) logs a `touch` of the article in the
//!   change log (`services::changes`, D4), which moves the content stamp, so
//!   cached public answers are stale at once.
//!
//! Rate limits are the HTTP layer's (`http::limits::CommentLimits`). Bodies
//! are never logged.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use serde::Serialize;

use crate::auth::Actor;
use crate::domain::{CommentBody, CommentStatus, Cursor, Moderation, Page, PageRequest, Role};
use crate::entities::{article, comment, reader};
use crate::error::{AppError, AppResult};
use crate::services::changes::{self, Cause, Entry, Op};
use crate::services::{WriteTxn, begin_write, now, readers};

/// How long after posting a reader may change a comment.
pub const EDIT_WINDOW: chrono::Duration = chrono::Duration::minutes(10);

/// The server's comment policy.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub moderation: Moderation,
    /// The most links a comment may hold (`--comment-max-links`).
    pub max_links: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            moderation: Moderation::First,
            max_links: 2,
        }
    }
}

/// A comment as shown.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, async_graphql::SimpleObject)]
#[graphql(complex)]
pub struct Comment {
    /// The comment's id.
    pub id: i32,
    /// The slug of the article it is on.
    pub article: String,
    /// The top-level comment this one replies to.
    pub parent_id: Option<i32>,
    /// The author's display name, `reader` when they set none, `deleted
    /// reader` once they deleted their account.
    pub author: String,
    /// Plain text, never markup.
    pub body: String,
    /// `pending`, `approved`, `rejected` or `spam`.
    #[graphql(skip)]
    pub status: String,
    /// Whether the caller wrote it.
    pub mine: bool,
    pub created_at: DateTime<Utc>,
    /// When the author last changed it.
    pub edited_at: Option<DateTime<Utc>>,
}

/// A new comment.
#[derive(Debug)]
pub struct NewComment {
    pub body: CommentBody,
    pub parent_id: Option<i32>,
}

/// A moderation decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Spam,
}

impl Decision {
    fn status(self) -> CommentStatus {
        match self {
            Self::Approve => CommentStatus::Approved,
            Self::Reject => CommentStatus::Rejected,
            Self::Spam => CommentStatus::Spam,
        }
    }
    fn action(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Spam => "spam",
        }
    }
}

/// The reader writing, or why the caller may not comment (401 for the
/// public, 403 for contributors, editors and admins).
pub fn commenter(actor: &Actor) -> AppResult<i32> {
    match actor {
        Actor::Reader { id } => Ok(*id),
        Actor::Anonymous => Err(AppError::Unauthenticated),
        _ => Err(AppError::Forbidden(
            "only signed-in readers comment; editors moderate".into(),
        )),
    }
}

fn approved() -> &'static str {
    CommentStatus::Approved.as_str()
}

/// The comments `actor` may see on an article: approved ones, and a reader's own.
fn visible_to(actor: &Actor) -> Condition {
    let c = Condition::any().add(comment::Column::Status.eq(approved()));
    match actor.reader() {
        Some(id) => c.add(
            Condition::all()
                .add(comment::Column::ReaderId.eq(id))
                .add(comment::Column::Status.eq(CommentStatus::Pending.as_str())),
        ),
        None => c,
    }
}

/// The published article with this slug, as the public sees it.
async fn public_article(db: &impl ConnectionTrait, slug: &str) -> AppResult<article::Model> {
    super::articles::get_by_slug(db, &Actor::Anonymous, slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no published article with slug {slug:?}")))
}

/// Renders comment rows with their authors' names and articles' slugs.
async fn views(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<comment::Model>,
) -> AppResult<Vec<Comment>> {
    let mut rids: Vec<i32> = rows.iter().map(|c| c.reader_id).collect();
    rids.sort_unstable();
    rids.dedup();
    let mut aids: Vec<i32> = rows.iter().map(|c| c.article_id).collect();
    aids.sort_unstable();
    aids.dedup();
    let names: HashMap<i32, String> = if rids.is_empty() {
        HashMap::new()
    } else {
        reader::Entity::find()
            .filter(reader::Column::Id.is_in(rids))
            .all(db)
            .await?
            .into_iter()
            .map(|r| {
                let name = if r.deleted_at.is_some() {
                    readers::DELETED_NAME.to_owned()
                } else {
                    r.display_name.unwrap_or_else(|| "reader".into())
                };
                (r.id, name)
            })
            .collect()
    };
    let slugs: HashMap<i32, String> = if aids.is_empty() {
        HashMap::new()
    } else {
        article::Entity::find()
            .select_only()
            .columns([article::Column::Id, article::Column::Slug])
            .filter(article::Column::Id.is_in(aids))
            .into_tuple::<(i32, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let me = actor.reader();
    Ok(rows
        .into_iter()
        .map(|c| Comment {
            id: c.id,
            article: slugs.get(&c.article_id).cloned().unwrap_or_default(),
            parent_id: c.parent_id,
            author: names
                .get(&c.reader_id)
                .cloned()
                .unwrap_or_else(|| readers::DELETED_NAME.into()),
            body: c.body,
            status: c.status,
            mine: me == Some(c.reader_id),
            created_at: c.created_at,
            edited_at: c.edited_at,
        })
        .collect())
}

/// The cursor of a comment (ordered by creation time, then id).
pub fn cursor_of(c: &Comment) -> Cursor {
    Cursor {
        ts: Some(c.created_at.timestamp_micros()),
        text: None,
        num: None,
        id: c.id,
        kind: None,
    }
}

/// The comments on the article `slug` that `actor` may see, oldest first.
pub async fn list_for_article(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
    page: &PageRequest,
) -> AppResult<Page<Comment>> {
    let a = super::articles::get_by_slug(db, actor, slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no article with slug {slug:?}")))?;
    let q = comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(a.id))
        .filter(visible_to(actor));
    page_of(db, actor, q, false, page).await
}

/// One keyset page of `q` by creation time, rendered.
async fn page_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: sea_orm::Select<comment::Entity>,
    newest_first: bool,
    page: &PageRequest,
) -> AppResult<Page<Comment>> {
    let p = super::keyset_page(
        db,
        q,
        Expr::col((comment::Entity, comment::Column::CreatedAt)),
        Expr::col((comment::Entity, comment::Column::Id)),
        super::ts_cursor(page),
        newest_first,
        page,
    )
    .await?;
    let items = views(db, actor, p.items).await?;
    Ok(Page {
        items,
        has_next: p.has_next,
        has_previous: p.has_previous,
    })
}

/// How many approved comments each of these articles has (for batch loaders;
/// every id is answered).
pub async fn counts(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> AppResult<HashMap<i32, i64>> {
    let mut out: HashMap<i32, i64> = article_ids.iter().map(|id| (*id, 0)).collect();
    if article_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i32, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::ArticleId)
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::ArticleId.is_in(article_ids.to_vec()))
        .filter(comment::Column::Status.eq(approved()))
        .group_by(comment::Column::ArticleId)
        .into_tuple()
        .all(db)
        .await?;
    out.extend(rows);
    Ok(out)
}

/// The moderation queue (editors), or a reader's own comments: in `status` (all when `None`),
/// newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    status: Option<CommentStatus>,
    page: &PageRequest,
) -> AppResult<Page<Comment>> {
    let q = queue(actor, status)?;
    page_of(db, actor, q, true, page).await
}

/// The moderation queue's query (editors), or a reader's own comments on
/// every article, whatever their status (a reader's "my comments").
fn queue(
    actor: &Actor,
    status: Option<CommentStatus>,
) -> AppResult<sea_orm::Select<comment::Entity>> {
    let q = match actor {
        Actor::Reader { id } => comment::Entity::find().filter(comment::Column::ReaderId.eq(*id)),
        _ => {
            actor.require(Role::Editor)?;
            comment::Entity::find()
        }
    };
    Ok(match status {
        Some(s) => q.filter(comment::Column::Status.eq(s.as_str())),
        None => q,
    })
}

/// The status a new comment of `reader` starts in under `moderation`.
async fn first_status(
    db: &impl ConnectionTrait,
    moderation: Moderation,
    reader: i32,
) -> AppResult<CommentStatus> {
    Ok(match moderation {
        Moderation::None => CommentStatus::Approved,
        Moderation::All => CommentStatus::Pending,
        Moderation::First => {
            let of = |s: &[CommentStatus]| {
                comment::Entity::find()
                    .filter(comment::Column::ReaderId.eq(reader))
                    .filter(comment::Column::Status.is_in(s.iter().map(|s| s.as_str())))
            };
            let bad = of(&[CommentStatus::Rejected, CommentStatus::Spam])
                .count(db)
                .await?;
            let good = of(&[CommentStatus::Approved]).count(db).await?;
            if bad == 0 && good > 0 {
                CommentStatus::Approved
            } else {
                CommentStatus::Pending
            }
        }
    })
}

/// Refuses a body over the link cap.
fn check_links(body: &CommentBody, settings: &Settings) -> AppResult<()> {
    if body.links() > settings.max_links {
        return Err(AppError::invalid(
            "body",
            format!("at most {} links per comment", settings.max_links),
        ));
    }
    Ok(())
}

/// Refuses a body this reader already posted on this article.
async fn check_duplicate(
    db: &impl ConnectionTrait,
    reader: i32,
    article: i32,
    key: &str,
    except: Option<i32>,
) -> AppResult<()> {
    let mut q = comment::Entity::find()
        .filter(comment::Column::ReaderId.eq(reader))
        .filter(comment::Column::ArticleId.eq(article))
        .filter(comment::Column::BodyKey.eq(key));
    if let Some(id) = except {
        q = q.filter(comment::Column::Id.ne(id));
    }
    if q.count(db).await? > 0 {
        return Err(AppError::Conflict(
            "you already posted this comment on this article".into(),
        ));
    }
    Ok(())
}

/// Logs a `touch` of the comment's article: what the public sees of it changed.
async fn touch(txn: &WriteTxn, actor: &Actor, article_id: i32) -> AppResult<()> {
    let Some(a) = article::Entity::find_by_id(article_id).one(&**txn).await? else {
        return Ok(());
    };
    let public = changes::article_public(&a.status, a.publish_at, now());
    let entry = Entry {
        kind: "article",
        object_id: a.id,
        slug: a.slug,
        op: Op::Touch,
        version: a.version,
        was_public: public,
        is_public: public,
        refs: None,
        due: None,
    };
    changes::record(txn, Cause::Write, actor, [entry]).await
}

fn audit_view(c: &comment::Model) -> serde_json::Value {
    serde_json::json!({ "status": c.status, "article_id": c.article_id, "reader_id": c.reader_id, "parent_id": c.parent_id })
}

async fn finish(
    txn: WriteTxn,
    actor: &Actor,
    action: &str,
    before: Option<&comment::Model>,
    after: Option<&comment::Model>,
) -> AppResult<()> {
    let id = before.or(after).map(|c| c.id.to_string());
    super::audit::record(
        &*txn,
        actor,
        action,
        "comment",
        id,
        before.map(audit_view),
        after.map(audit_view),
    )
    .await?;
    let was = before.is_some_and(|c| c.status == approved());
    let is = after.is_some_and(|c| c.status == approved());
    // An approved comment appearing, changing or going changes the public view.
    if (was || is)
        && let Some(c) = before.or(after)
    {
        touch(&txn, actor, c.article_id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Posts a comment on the published article `slug` as the signed-in reader.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    settings: &Settings,
    slug: &str,
    input: NewComment,
) -> AppResult<Comment> {
    let reader_id = commenter(actor)?;
    check_links(&input.body, settings)?;
    let txn = begin_write(db).await?;
    let r = reader::Entity::find_by_id(reader_id)
        .filter(reader::Column::DeletedAt.is_null())
        .one(&*txn)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if r.activated_at.is_none() {
        return Err(AppError::Forbidden(
            "use your sign-in link first: the account is not activated".into(),
        ));
    }
    let a = public_article(&*txn, slug).await?;
    if let Some(pid) = input.parent_id {
        let parent = comment::Entity::find_by_id(pid)
            .filter(comment::Column::ArticleId.eq(a.id))
            .filter(visible_to(actor))
            .one(&*txn)
            .await?
            .ok_or_else(|| AppError::invalid("parent_id", "no such comment on this article"))?;
        if parent.parent_id.is_some() {
            return Err(AppError::invalid(
                "parent_id",
                "replies are one level deep: reply to the top-level comment",
            ));
        }
    }
    let key = input.body.key();
    check_duplicate(&*txn, reader_id, a.id, &key, None).await?;
    let status = first_status(&*txn, settings.moderation, reader_id).await?;
    let at = now();
    let row = comment::ActiveModel {
        id: NotSet,
        article_id: Set(a.id),
        reader_id: Set(reader_id),
        parent_id: Set(input.parent_id),
        body: Set(input.body.as_str().to_owned()),
        body_key: Set(key),
        status: Set(status.as_str().into()),
        created_at: Set(at),
        updated_at: Set(at),
        edited_at: Set(None),
        moderated_at: Set(None),
        moderated_by: Set(None),
    };
    let id = comment::Entity::insert(row)
        .exec(&*txn)
        .await?
        .last_insert_id;
    let c = comment::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::NotFound("the comment just written".into()))?;
    finish(txn, actor, "create", None, Some(&c)).await?;
    one(db, actor, c).await
}

async fn one(db: &impl ConnectionTrait, actor: &Actor, c: comment::Model) -> AppResult<Comment> {
    views(db, actor, vec![c])
        .await?
        .pop()
        .ok_or_else(|| AppError::NotFound("comment".into()))
}

async fn find(db: &impl ConnectionTrait, id: i32) -> AppResult<comment::Model> {
    comment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no comment {id}")))
}

/// Changes the caller's own comment, within [`EDIT_WINDOW`] of posting it.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    settings: &Settings,
    id: i32,
    body: CommentBody,
) -> AppResult<Comment> {
    let reader_id = commenter(actor)?;
    check_links(&body, settings)?;
    let txn = begin_write(db).await?;
    let before = find(&*txn, id).await?;
    if before.reader_id != reader_id {
        return Err(AppError::Forbidden(
            "only its author changes a comment".into(),
        ));
    }
    if now() - before.created_at > EDIT_WINDOW {
        return Err(AppError::EditWindowClosed(format!(
            "a comment can be changed for {} minutes after it is posted; delete it instead",
            EDIT_WINDOW.num_minutes()
        )));
    }
    let key = body.key();
    check_duplicate(&*txn, reader_id, before.article_id, &key, Some(id)).await?;
    // New text is judged as a new comment would be: an approved comment
    // waits again where the reader's new one would (`all`, or `first` for a
    // reader not trusted); any other status stays.
    let status = if before.status == approved() {
        first_status(&*txn, settings.moderation, reader_id)
            .await?
            .as_str()
            .to_owned()
    } else {
        before.status.clone()
    };
    let at = now();
    comment::Entity::update_many()
        .col_expr(comment::Column::Status, Expr::value(status))
        .col_expr(comment::Column::Body, Expr::value(body.as_str()))
        .col_expr(comment::Column::BodyKey, Expr::value(key))
        .col_expr(comment::Column::EditedAt, Expr::value(Some(at)))
        .col_expr(comment::Column::UpdatedAt, Expr::value(at))
        .filter(comment::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    let after = find(&*txn, id).await?;
    finish(txn, actor, "update", Some(&before), Some(&after)).await?;
    one(db, actor, after).await
}

/// Deletes a comment (and its replies): its author any time, or an editor.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: i32) -> AppResult<()> {
    let editor = actor.require(Role::Editor).is_ok();
    if !editor {
        let reader_id = commenter(actor)?;
        let c = find(db, id).await?;
        if c.reader_id != reader_id {
            return Err(AppError::Forbidden(
                "only its author or an editor deletes a comment".into(),
            ));
        }
    }
    let txn = begin_write(db).await?;
    let before = find(&*txn, id).await?;
    let replies_public = comment::Entity::find()
        .filter(comment::Column::ParentId.eq(id))
        .filter(comment::Column::Status.eq(approved()))
        .count(&*txn)
        .await?
        > 0;
    comment::Entity::delete_many()
        .filter(comment::Column::ParentId.eq(id))
        .exec(&*txn)
        .await?;
    comment::Entity::delete_by_id(id).exec(&*txn).await?;
    if replies_public && before.status != approved() {
        touch(&txn, actor, before.article_id).await?;
    }
    finish(txn, actor, "delete", Some(&before), None).await
}

/// An editor's decision on a comment.
pub async fn moderate(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i32,
    decision: Decision,
) -> AppResult<Comment> {
    actor.require(Role::Editor)?;
    let txn = begin_write(db).await?;
    let before = find(&*txn, id).await?;
    let at = now();
    comment::Entity::update_many()
        .col_expr(
            comment::Column::Status,
            Expr::value(decision.status().as_str()),
        )
        .col_expr(comment::Column::ModeratedAt, Expr::value(Some(at)))
        .col_expr(
            comment::Column::ModeratedBy,
            Expr::value(Some(super::audit::actor_name(actor))),
        )
        .col_expr(comment::Column::UpdatedAt, Expr::value(at))
        .filter(comment::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    let after = find(&*txn, id).await?;
    finish(txn, actor, decision.action(), Some(&before), Some(&after)).await?;
    one(db, actor, after).await
}

/// A reader's own comments, oldest first, as their data export shows them.
pub async fn export(db: &impl ConnectionTrait, reader_id: i32) -> AppResult<Vec<Comment>> {
    use sea_orm::QueryOrder;
    let rows = comment::Entity::find()
        .filter(comment::Column::ReaderId.eq(reader_id))
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    views(db, &Actor::Reader { id: reader_id }, rows).await
}

/// How many comments `actor` sees on the article `slug` (a connection's
/// `totalCount`).
pub async fn count_for_article(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> AppResult<u64> {
    let a = super::articles::get_by_slug(db, actor, slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no article with slug {slug:?}")))?;
    Ok(comment::Entity::find()
        .filter(comment::Column::ArticleId.eq(a.id))
        .filter(visible_to(actor))
        .count(db)
        .await?)
}

/// How many comments are in `status` (all when `None`; editors).
pub async fn count(
    db: &impl ConnectionTrait,
    actor: &Actor,
    status: Option<CommentStatus>,
) -> AppResult<u64> {
    let q = queue(actor, status)?;
    Ok(q.count(db).await?)
}
