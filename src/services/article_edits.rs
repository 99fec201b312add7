//! Changing and deleting articles, with optimistic concurrency: every change names
//! the version it was based on, and the conditional `UPDATE ... WHERE version = ?`
//! lets exactly one of several concurrent changes win. Patches are JSON
//! merge-patch objects (absent: unchanged, `null`: cleared) applied to the
//! article's current values and checked by the same rules as imports and mentions.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};
use serde_json::{Map, Value};

use crate::auth::Actor;
use crate::domain::{FieldError, Role};
use crate::entities::{article, article_expert, article_topic};
use crate::error::{AppError, AppResult};

use super::import::{ArticleLine, validate_article};
use super::resolve::Resolver;

/// The fields a patch may set; anything else (ids, versions, timestamps) is refused.
const PATCHABLE: &[&str] = &[
    "title",
    "url",
    "outlet",
    "experts",
    "authors",
    "published_at",
    "language",
    "summary",
    "body",
    "dateline",
    "program",
    "topics",
    "status",
    "publish_at",
];

/// The strong validator of an article's current version (`If-Match`).
pub fn etag(a: &article::Model) -> String {
    format!("\"article-{}-v{}\"", a.id, a.version)
}

async fn load(db: &impl ConnectionTrait, slug: &str) -> AppResult<article::Model> {
    article::Entity::find()
        .filter(article::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no article with slug {slug:?}")))
}

fn stale(expected: i32, current: i32) -> AppError {
    AppError::Stale(format!(
        "the article changed since version {expected} (it is now version {current}); fetch it again"
    ))
}

/// The article's current values in the import format (names by slug).
async fn as_line(db: &impl ConnectionTrait, a: &article::Model) -> AppResult<Map<String, Value>> {
    let experts = super::articles::experts_of(db, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default();
    let topics = super::articles::topics_of(db, &[a.id])
        .await?
        .remove(&a.id)
        .unwrap_or_default();
    let outlet = match a.outlet_id {
        Some(id) => super::outlets::by_ids(db, &[id])
            .await?
            .pop()
            .map(|o| o.slug),
        None => None,
    };
    let v = serde_json::json!({
        "slug": a.slug, "title": a.title, "authors": a.authors,
        "experts": experts.iter().map(|e| e.slug.clone()).collect::<Vec<_>>(),
        "outlet": outlet, "program": a.program, "published_at": a.published_at.to_rfc3339(),
        "language": a.language, "url": a.url, "summary": a.summary, "body": a.body,
        "dateline": a.dateline, "topics": topics.iter().map(|t| t.slug.clone()).collect::<Vec<_>>(),
        "status": a.status, "publish_at": a.publish_at.map(|t| t.to_rfc3339()),
    });
    Ok(v.as_object().cloned().unwrap_or_default())
}

/// Applies `patch` to the article `slug` if it is still at `expected_version`.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected_version: Option<i32>,
    patch: Map<String, Value>,
) -> AppResult<article::Model> {
    actor.require(Role::Editor)?;
    let unknown: Vec<FieldError> = patch
        .keys()
        .filter(|k| !PATCHABLE.contains(&k.as_str()))
        .map(|k| {
            FieldError::new(
                k.clone(),
                "cannot be changed (unknown or set by the server)",
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::Unprocessable(unknown));
    }
    let txn = super::begin_write(db).await?;
    let before = load(&txn, slug).await?;
    if let Some(v) = expected_version
        && v != before.version
    {
        return Err(stale(v, before.version));
    }
    let mut merged = as_line(&txn, &before).await?;
    let before_json = Value::Object(merged.clone());
    for (k, v) in patch {
        merged.insert(k, v);
    }
    let line: ArticleLine = serde_json::from_value(Value::Object(merged.clone()))
        .map_err(|e| AppError::Unprocessable(vec![FieldError::new("body", e.to_string())]))?;
    let resolver = Resolver::load(&txn).await?;
    let v = validate_article(&resolver, &line).map_err(AppError::Unprocessable)?;
    let now = super::now();
    let mut update = Query::update();
    update
        .table(article::Entity)
        .values([
            (article::Column::Title, v.title.clone().into()),
            (
                article::Column::Authors,
                serde_json::json!(v.authors).into(),
            ),
            (article::Column::OutletId, v.outlet_id.into()),
            (article::Column::Program, v.program.clone().into()),
            (article::Column::PublishedAt, v.published_at.into()),
            (article::Column::Language, v.language.as_str().into()),
            (
                article::Column::Url,
                v.url.as_ref().map(|u| u.as_str().to_owned()).into(),
            ),
            (
                article::Column::UrlKey,
                v.url.as_ref().map(|u| u.canonical().to_owned()).into(),
            ),
            (article::Column::Summary, v.summary.clone().into()),
            (article::Column::Body, v.body.clone().into()),
            (article::Column::Dateline, v.dateline.clone().into()),
            (article::Column::Status, v.status.as_str().into()),
            (article::Column::PublishAt, v.publish_at.into()),
            (article::Column::UpdatedAt, now.into()),
        ])
        .value(
            article::Column::Version,
            Expr::col(article::Column::Version).add(1),
        )
        .and_where(article::Column::Id.eq(before.id))
        .and_where(article::Column::Version.eq(before.version));
    let done = txn.execute(&update).await?;
    if done.rows_affected() == 0 {
        return Err(stale(before.version, before.version + 1));
    }
    article_expert::Entity::delete_many()
        .filter(article_expert::Column::ArticleId.eq(before.id))
        .exec(&txn)
        .await?;
    article_topic::Entity::delete_many()
        .filter(article_topic::Column::ArticleId.eq(before.id))
        .exec(&txn)
        .await?;
    super::articles::write_links(&txn, before.id, v.published_at, &v.expert_ids, &v.topic_ids)
        .await?;
    super::search::index_articles(&txn, &[before.id]).await?;
    let after = load(&txn, slug).await?;
    let after_json = Value::Object(as_line(&txn, &after).await?);
    super::audit::record(
        &txn,
        actor,
        "update",
        "article",
        Some(after.slug.clone()),
        Some(before_json),
        Some(after_json),
    )
    .await?;
    super::content::bump(&txn).await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes the article `slug` if it is still at `expected_version`.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    slug: &str,
    expected_version: Option<i32>,
) -> AppResult<()> {
    actor.require(Role::Editor)?;
    let txn = super::begin_write(db).await?;
    let before = load(&txn, slug).await?;
    if let Some(v) = expected_version
        && v != before.version
    {
        return Err(stale(v, before.version));
    }
    let before_json = Value::Object(as_line(&txn, &before).await?);
    let gone = article::Entity::delete_many()
        .filter(article::Column::Id.eq(before.id))
        .filter(article::Column::Version.eq(before.version))
        .exec(&txn)
        .await?;
    if gone.rows_affected == 0 {
        return Err(stale(before.version, before.version + 1));
    }
    if txn.get_database_backend() == DbBackend::Sqlite {
        // FTS5 rows have no foreign key to cascade from.
        let del = Query::delete()
            .from_table(Alias::new("article_search"))
            .and_where(Expr::col(Alias::new("rowid")).eq(before.id))
            .to_owned();
        txn.execute(&del).await?;
    }
    super::audit::record(
        &txn,
        actor,
        "delete",
        "article",
        Some(before.slug.clone()),
        Some(before_json),
        None,
    )
    .await?;
    super::content::bump(&txn).await?;
    txn.commit().await?;
    Ok(())
}
