//! Recording a media mention: the admin scripts' main call. Names resolve through
//! aliases (unknown ones are a 422 with suggestions, or are created on request);
//! the canonical source URL makes it idempotent: the first call creates the
//! article, any later one (even concurrent) returns it unchanged, to a caller
//! who may see it (`articles::visible`); anyone else is told only that the URL
//! is already recorded (a conflict without content), so a known or guessed URL
//! never opens someone else's draft or an embargoed article.

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use serde::Deserialize;

use crate::auth::Actor;
use crate::domain::{FieldError, OutletKind, Role, Slug, SourceUrl, name_key, search_key};
use crate::entities::{article, expert, outlet};
use crate::error::{AppError, AppResult};

use super::changes::{self, Cause, Entry, Op};
use super::lines::{ArticleLine, validate_article};
use super::records::Record;
use super::resolve::Resolver;
use super::slugs::claim;

/// A media mention as a script records it.
// REST `POST /api/v1/mentions` and GraphQL `recordMention` (this struct is its
// input type, its doc comments the descriptions); unknown fields are refused.
#[derive(Clone, Debug, Default, Deserialize, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "RecordMentionInput")]
pub struct MentionInput {
    pub title: String,
    /// The canonical source URL: recording the same URL again changes nothing.
    pub url: String,
    /// Outlet name, alias or slug.
    pub outlet: Option<String>,
    /// Expert names, aliases or slugs, in order.
    #[serde(default)]
    pub experts: Vec<String>,
    #[serde(default)]
    #[graphql(default)]
    pub authors: Vec<String>,
    /// A date (`2022-06-29`) or an RFC 3339 date-time.
    pub published_at: String,
    /// `en` or `fr`.
    pub language: String,
    pub summary: Option<String>,
    #[serde(default)]
    #[graphql(default)]
    pub topics: Vec<String>,
    /// `published` (default for editors) or `draft` (contributors' only choice).
    pub status: Option<String>,
    /// Create outlets and experts that no name or alias matches (editors).
    #[serde(default)]
    #[graphql(default)]
    pub create_missing: bool,
}

/// Records a mention; `true` when it was created, `false` when the URL was
/// known (and the caller may see its article: otherwise a conflict).
#[tracing::instrument(level = "debug", name = "mentions.record", skip_all)]
pub async fn record_mention(
    db: &DatabaseConnection,
    actor: &Actor,
    input: MentionInput,
) -> AppResult<(article::Model, bool)> {
    actor.require(Role::Contributor)?;
    let line = article_line(&input)?;
    let url = SourceUrl::parse(&input.url).ok();
    // A mention already recorded is answered without taking the write lock
    // (scripts re-post their whole list every run): checked as a new one would be.
    if !input.create_missing {
        let names = Resolver::shared(db, db).await?;
        validate_article(&names, &line).map_err(AppError::Unprocessable)?;
        if let Some(u) = &url
            && let Some(existing) = recorded(db, actor, u).await?
        {
            return existing.map(|a| (a, false));
        }
    }
    let txn = super::begin_write(db).await?;
    if let Some(u) = &url
        && let Some(existing) = recorded(&*txn, actor, u).await?
    {
        txn.rollback().await?;
        return existing.map(|a| (a, false));
    }
    // The names as this transaction sees them.
    let mut resolver = Resolver::shared(db, &*txn).await?;
    let mut created = Vec::new();
    if input.create_missing {
        // The article's table first, as the import locks it, so the two never
        // wait on each other's locks (PostgreSQL; see `services::slugs`).
        super::slugs::lock::<article::Entity>(&*txn).await?;
        created = create_missing(
            &*txn,
            actor,
            std::sync::Arc::make_mut(&mut resolver),
            &input,
        )
        .await?;
    }
    // The article rules, as for any created article.
    let saved = <article::Model as Record>::save(&txn, actor, &resolver, line, None).await;
    let inserted = match saved {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "insert returned no row"
            )));
        }
        Err(err) => {
            txn.rollback().await?;
            // Another request recorded the same URL first: answer with its article.
            if matches!(err, AppError::Conflict(_))
                && let Some(u) = &url
                && let Some(existing) = recorded(db, actor, u).await?
            {
                return existing.map(|a| (a, false));
            }
            return Err(err);
        }
    };
    let after = inserted.to_line(&txn).await?;
    super::audit::record(
        &*txn,
        actor,
        "record_mention",
        "article",
        Some(inserted.slug.clone()),
        None,
        Some(serde_json::Value::Object(after)),
    )
    .await?;
    let article =
        super::records::entry_of(&txn, &inserted, Op::Create, false, inserted.publicity()).await?;
    created.push(article);
    changes::record(&txn, Cause::Mention, actor, created).await?;
    txn.commit().await?;
    Ok((inserted, true))
}

/// The article line a mention stands for; a mention without a URL or an
/// expert is refused.
fn article_line(input: &MentionInput) -> AppResult<ArticleLine> {
    if input.url.trim().is_empty() {
        return Err(AppError::Unprocessable(vec![FieldError::new(
            "url",
            "is required",
        )]));
    }
    if input.experts.is_empty() {
        return Err(AppError::Unprocessable(vec![FieldError::new(
            "experts",
            "name at least one expert",
        )]));
    }
    // Contributors' mentions are drafts (`Record::save` enforces it). The
    // slug is the title's, made unique as any new article's (`services::slugs`):
    // mentions are told apart by their URL, not their slug.
    Ok(ArticleLine {
        slug: None,
        title: input.title.clone(),
        url: Some(input.url.clone()),
        outlet: input.outlet.clone(),
        experts: input.experts.clone(),
        authors: input.authors.clone(),
        published_at: input.published_at.clone(),
        language: input.language.clone(),
        summary: input.summary.clone(),
        topics: input.topics.clone(),
        status: input.status.clone(),
        ..Default::default()
    })
}

/// Whether `url` is already recorded (`None`: not yet), and then its article if
/// `actor` may see it, or a conflict that names nothing of it.
async fn recorded(
    db: &impl ConnectionTrait,
    actor: &Actor,
    url: &SourceUrl,
) -> AppResult<Option<AppResult<article::Model>>> {
    if let Some(a) = super::articles::by_url_key(db, actor, url.canonical()).await? {
        return Ok(Some(Ok(a)));
    }
    if actor.can_see_drafts() {
        return Ok(None);
    }
    let taken = article::Entity::find()
        .filter(article::Column::UrlKey.eq(url.canonical()))
        .count(db)
        .await?
        > 0;
    Ok(taken.then(|| {
        Err(AppError::Conflict(
            "a mention with this source URL is already recorded".into(),
        ))
    }))
}

/// Creates the outlet and experts that nothing matches (editors and up); their
/// change log entries.
async fn create_missing(
    db: &impl ConnectionTrait,
    actor: &Actor,
    resolver: &mut Resolver,
    input: &MentionInput,
) -> AppResult<Vec<Entry>> {
    actor.require(Role::Editor)?;
    let now = super::now();
    let mut created = Vec::new();
    if let Some(name) = input
        .outlet
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        && resolver.outlets.find(name).is_none()
    {
        let name = crate::domain::clean_text("outlet", name, 200)?;
        let o = new_outlet(db, name, now).await?;
        audit_created(db, actor, "outlet", &o.slug, &o.name).await?;
        resolver.outlets.add(o.id, &o.slug, &o.name, &[]);
        created.push(new_entry("outlet", o.id, o.slug));
    }
    for name in &input.experts {
        let name = name.trim();
        if name.is_empty() || name_key(name).is_empty() || resolver.experts.find(name).is_some() {
            continue;
        }
        let name = crate::domain::clean_text("experts", name, 200)?;
        let e = new_expert(db, name, now).await?;
        audit_created(db, actor, "expert", &e.slug, &e.name).await?;
        resolver.experts.add(e.id, &e.slug, &e.name, &[]);
        created.push(new_entry("expert", e.id, e.slug));
    }
    Ok(created)
}

/// The change log entry of an outlet or expert a mention created (version 1,
/// public).
fn new_entry(kind: &'static str, object_id: i32, slug: String) -> Entry {
    Entry {
        kind,
        object_id,
        slug,
        op: Op::Create,
        version: 1,
        was_public: false,
        is_public: true,
        refs: None,
        due: None,
    }
}

/// A new outlet known by its name only.
async fn new_outlet(
    db: &impl ConnectionTrait,
    name: String,
    now: DateTime<Utc>,
) -> AppResult<outlet::Model> {
    let slug = claim::<outlet::Entity>(db, outlet::Column::Slug, &Slug::from_text(&name)).await?;
    Ok(outlet::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        search_key: Set(search_key([name.as_str()])),
        name: Set(name),
        kind: Set(OutletKind::Other.as_str().into()),
        parent_id: Set(None),
        website: Set(None),
        country: Set(None),
        language: Set(None),
        aliases: Set(serde_json::json!([])),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// A new expert known by their name only.
async fn new_expert(
    db: &impl ConnectionTrait,
    name: String,
    now: DateTime<Utc>,
) -> AppResult<expert::Model> {
    let slug = claim::<expert::Entity>(db, expert::Column::Slug, &Slug::from_text(&name)).await?;
    Ok(expert::ActiveModel {
        id: NotSet,
        slug: Set(slug.into_string()),
        search_key: Set(search_key([name.as_str()])),
        name: Set(name),
        aliases: Set(serde_json::json!([])),
        title: Set(None),
        affiliation: Set(None),
        bio_en: Set(None),
        bio_fr: Set(None),
        photo_url: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Audits the creation of an outlet or expert a mention named.
async fn audit_created(
    db: &impl ConnectionTrait,
    actor: &Actor,
    kind: &str,
    slug: &str,
    name: &str,
) -> AppResult<()> {
    super::audit::record(
        db,
        actor,
        "create",
        kind,
        Some(slug.to_owned()),
        None,
        Some(serde_json::json!({ "name": name })),
    )
    .await
}
