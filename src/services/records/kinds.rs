//! The kinds of content `records` writes: how each is found, shown as an
//! import-format line, checked and stored, and who may change it.

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Map, Value, json};

use super::{Op, Record, Versioned, delete_if, slug_free, store};
use crate::auth::Actor;
use crate::domain::{ArticleStatus, FieldError, Role, Slug, SourceUrl};
use crate::entities::{
    article, article_expert, article_topic, event, expert, expert_topic, outlet, site, topic,
};
use crate::error::{AppError, AppResult};
use crate::services::changes::{Entry, Op as ChangeOp};
use crate::services::lines::{
    ArticleLine, EventLine, ExpertLine, OutletLine, SiteLine, TopicLine, ValidArticle,
    validate_article, validate_event, validate_expert, validate_outlet, validate_site,
    validate_topic, value_of,
};
use crate::services::resolve::Resolver;
use crate::services::slugs;
use crate::services::{articles, changes, events, experts, outlets, search};

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A model's line, for a kind whose line fields are model fields of the same
/// names and values (as the model serializes them).
fn line_of(model: &impl serde::Serialize, fields: &[&str]) -> Map<String, Value> {
    let mut m = object(serde_json::to_value(model).unwrap_or_default());
    m.retain(|k, _| fields.contains(&k.as_str()));
    m
}

fn unprocessable(errors: Vec<FieldError>) -> AppError {
    AppError::Unprocessable(errors)
}

/// Rebuilds the search documents of these articles, a chunk at a time (after an
/// expert's or outlet's names changed).
async fn reindex(db: &DatabaseTransaction, ids: Vec<i32>) -> AppResult<()> {
    for chunk in ids.chunks(500) {
        search::index_articles(db, chunk).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- touches (D4)

/// The `touch` entry of a record another write changed the representation of.
fn touch_of<R: Record>(r: &R) -> Entry {
    let public = r.publicity();
    Entry {
        kind: R::KIND,
        object_id: r.id(),
        slug: r.slug().to_owned(),
        op: ChangeOp::Touch,
        version: r.version(),
        was_public: public,
        is_public: public,
        refs: None,
        due: None,
    }
}

/// The `touch` entries of the articles with these ids.
async fn touch_articles(db: &DatabaseTransaction, ids: &[i32]) -> AppResult<Vec<Entry>> {
    use sea_orm::QuerySelect;
    type Row = (
        i32,
        String,
        i32,
        String,
        Option<chrono::DateTime<chrono::Utc>>,
    );
    let now = crate::services::now();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<Row> = article::Entity::find()
            .select_only()
            .columns([
                article::Column::Id,
                article::Column::Slug,
                article::Column::Version,
                article::Column::Status,
                article::Column::PublishAt,
            ])
            .filter(article::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(
            rows.into_iter()
                .map(|(id, slug, version, status, publish_at)| {
                    let public = changes::article_public(&status, publish_at, now);
                    Entry {
                        kind: "article",
                        object_id: id,
                        slug,
                        op: ChangeOp::Touch,
                        version,
                        was_public: public,
                        is_public: public,
                        refs: None,
                        due: None,
                    }
                }),
        );
    }
    Ok(out)
}

/// The `touch` entries of the outlets with these ids.
async fn touch_outlets(db: &DatabaseTransaction, ids: &[i32]) -> AppResult<Vec<Entry>> {
    Ok(outlets::by_ids(db, ids)
        .await?
        .iter()
        .map(touch_of)
        .collect())
}

macro_rules! versioned {
    ($m:ident, $created:expr) => {
        impl Versioned for $m::Entity {
            const ID: $m::Column = $m::Column::Id;
            const VERSION: $m::Column = $m::Column::Version;
            const CREATED_AT: Option<$m::Column> = $created;
            const UPDATED_AT: $m::Column = $m::Column::UpdatedAt;
        }
    };
}
versioned!(article, Some(article::Column::CreatedAt));
versioned!(expert, Some(expert::Column::CreatedAt));
versioned!(outlet, Some(outlet::Column::CreatedAt));
versioned!(topic, Some(topic::Column::CreatedAt));
versioned!(event, Some(event::Column::CreatedAt));
versioned!(site, None);

// ---------------------------------------------------------------- articles

/// Is this the contributor's own, still unpublished, article?
fn own_draft(actor: &Actor, a: &article::Model) -> bool {
    actor.role() == Some(Role::Contributor)
        && a.created_by.is_some()
        && a.created_by.as_deref() == actor.subject()
        && a.status == ArticleStatus::Draft.as_str()
}

/// The slug a record is stored under: for a new record given no slug
/// (`derived`), its natural slug made unique by the one rule
/// (`services::slugs`); a given slug is kept, and refused (409) if another
/// record of the kind has it.
async fn settle_slug<E>(
    db: &DatabaseTransaction,
    kind: &str,
    col: E::Column,
    slug: &str,
    derived: bool,
    except: Option<i32>,
) -> AppResult<String>
where
    E: Versioned,
    E::Model: Sync,
{
    if derived {
        let base = Slug::parse(slug).unwrap_or_else(|_| Slug::from_text(slug));
        return Ok(slugs::claim::<E>(db, col, &base).await?.into_string());
    }
    slug_free::<E>(db, kind, col, slug, except).await?;
    Ok(slug.to_owned())
}

/// The slug an article is stored under: the given one, else the one it has,
/// else one derived from its title (see `settle_slug`).
async fn article_slug(
    db: &DatabaseTransaction,
    v: &ValidArticle,
    existing: Option<&article::Model>,
) -> AppResult<String> {
    let (slug, derived) = match (&v.slug, existing) {
        (Some(s), _) => (s.as_str().to_owned(), false),
        (None, Some(a)) => (a.slug.clone(), false),
        (None, None) => (Slug::from_text(&v.title).into_string(), true),
    };
    settle_slug::<article::Entity>(
        db,
        "article",
        article::Column::Slug,
        &slug,
        derived,
        existing.map(|a| a.id),
    )
    .await
}

/// Refuses (409) a source URL another article (not `except`) already has.
async fn refuse_taken_url(
    db: &DatabaseTransaction,
    url: &SourceUrl,
    except: Option<i32>,
) -> AppResult<()> {
    let mut q = article::Entity::find().filter(article::Column::UrlKey.eq(url.canonical()));
    if let Some(id) = except {
        q = q.filter(article::Column::Id.ne(id));
    }
    // Says that the URL is taken, never by what: the other article
    // may be a draft the caller may not see.
    if q.count(db).await? > 0 {
        return Err(AppError::Conflict(
            "an article with this source URL already exists".into(),
        ));
    }
    Ok(())
}

/// The row a checked article is stored as; `version` and the timestamps are
/// `store`'s to set.
fn article_row(
    actor: &Actor,
    v: &ValidArticle,
    slug: String,
    existing: Option<&article::Model>,
) -> article::ActiveModel {
    article::ActiveModel {
        id: NotSet,
        slug: Set(slug),
        title: Set(v.title.clone()),
        authors: Set(json!(v.authors)),
        outlet_id: Set(v.outlet_id),
        program: Set(v.program.clone()),
        published_at: Set(v.published_at),
        language: Set(v.language.as_str().into()),
        url: Set(v.url.as_ref().map(|u| u.as_str().to_owned())),
        url_key: Set(v.url.as_ref().map(|u| u.canonical().to_owned())),
        summary: Set(v.summary.clone()),
        body: Set(v.body.clone()),
        dateline: Set(v.dateline.clone()),
        status: Set(v.status.as_str().into()),
        publish_at: Set(v.publish_at),
        version: NotSet,
        created_at: NotSet,
        updated_at: NotSet,
        // The author of a new article; an update leaves it alone.
        created_by: match existing {
            None => Set(actor.subject().map(str::to_owned)),
            Some(_) => NotSet,
        },
    }
}

/// Drops an article's expert and topic links before they are written anew.
async fn unlink_article(db: &DatabaseTransaction, id: i32) -> AppResult<()> {
    article_expert::Entity::delete_many()
        .filter(article_expert::Column::ArticleId.eq(id))
        .exec(db)
        .await?;
    article_topic::Entity::delete_many()
        .filter(article_topic::Column::ArticleId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

impl Record for article::Model {
    const KIND: &'static str = "article";
    const FIELDS: &'static [&'static str] = ArticleLine::FIELDS;
    type Line = ArticleLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i32 {
        self.version
    }

    fn publicity(&self) -> bool {
        changes::article_public(&self.status, self.publish_at, crate::services::now())
    }

    fn due(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        changes::article_due(&self.status, self.publish_at, crate::services::now())
    }

    async fn refs(&self, db: &DatabaseTransaction) -> AppResult<Option<String>> {
        use sea_orm::{QueryOrder, QuerySelect};
        let experts: Vec<i32> = article_expert::Entity::find()
            .select_only()
            .column(article_expert::Column::ExpertId)
            .filter(article_expert::Column::ArticleId.eq(self.id))
            .order_by_asc(article_expert::Column::Position)
            .into_tuple()
            .all(db)
            .await?;
        let topics: Vec<i32> = article_topic::Entity::find()
            .select_only()
            .column(article_topic::Column::TopicId)
            .filter(article_topic::Column::ArticleId.eq(self.id))
            .order_by_asc(article_topic::Column::TopicId)
            .into_tuple()
            .all(db)
            .await?;
        Ok(Some(changes::article_refs(
            self.outlet_id,
            &experts,
            &topics,
        )))
    }

    async fn find(db: &DatabaseTransaction, actor: &Actor, slug: &str) -> AppResult<Option<Self>> {
        articles::get_by_slug(db, actor, slug).await
    }

    async fn to_line(&self, db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        let experts = articles::experts_of(db, &[self.id])
            .await?
            .remove(&self.id)
            .unwrap_or_default();
        let topics = articles::topics_of(db, &[self.id])
            .await?
            .remove(&self.id)
            .unwrap_or_default();
        let outlet = match self.outlet_id {
            Some(id) => outlets::by_ids(db, &[id]).await?.pop().map(|o| o.slug),
            None => None,
        };
        Ok(object(json!({
            "slug": self.slug, "title": self.title, "authors": self.authors,
            "experts": experts.iter().map(|e| e.slug.clone()).collect::<Vec<_>>(),
            "outlet": outlet, "program": self.program,
            "published_at": self.published_at.to_rfc3339(),
            "language": self.language, "url": self.url, "summary": self.summary,
            "body": self.body, "dateline": self.dateline,
            "topics": topics.iter().map(|t| t.slug.clone()).collect::<Vec<_>>(),
            "status": self.status, "publish_at": self.publish_at.map(|t| t.to_rfc3339()),
        })))
    }

    async fn save(
        db: &DatabaseTransaction,
        actor: &Actor,
        names: &Resolver,
        mut line: ArticleLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        Self::authorize_line(actor, &mut line)?;
        let v = validate_article(names, &line).map_err(unprocessable)?;
        let slug = article_slug(db, &v, existing).await?;
        if let Some(url) = &v.url {
            refuse_taken_url(db, url, existing.map(|a| a.id)).await?;
        }
        let am = article_row(actor, &v, slug, existing);
        let Some(saved) =
            store::<article::Entity>(db, am, existing.map(|a| (a.id, a.version))).await?
        else {
            return Ok(None);
        };
        if existing.is_some() {
            unlink_article(db, saved.id).await?;
        }
        articles::write_links(db, saved.id, v.published_at, &v.expert_ids, &v.topic_ids).await?;
        search::index_articles(db, &[saved.id]).await?;
        Ok(Some(saved))
    }

    async fn remove(&self, db: &DatabaseTransaction) -> AppResult<bool> {
        let gone = delete_if::<article::Entity>(db, self.id, self.version).await?;
        if gone {
            search::remove_articles(db, &[self.id]).await?;
        }
        Ok(gone)
    }

    /// Contributors write drafts only (a line without a status becomes one);
    /// an editor publishes them.
    fn authorize_line(actor: &Actor, line: &mut ArticleLine) -> AppResult<()> {
        if actor.role() == Some(Role::Contributor) {
            match line.status.as_deref() {
                None => line.status = Some(ArticleStatus::Draft.as_str().into()),
                Some(s) if s == ArticleStatus::Draft.as_str() => {}
                Some(_) => {
                    return Err(AppError::Forbidden(
                        "contributors write drafts; an editor publishes them".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Contributors create drafts and change or delete their own drafts; editors
    /// anything.
    fn authorize(actor: &Actor, op: Op, existing: Option<&Self>) -> AppResult<()> {
        match (op, existing) {
            (Op::Create, _) => actor.require(Role::Contributor),
            (_, Some(a)) if own_draft(actor, a) => Ok(()),
            _ => actor.require(Role::Editor).map_err(|e| match e {
                AppError::Forbidden(_) if actor.role() == Some(Role::Contributor) => {
                    AppError::Forbidden("contributors may change only their own drafts".into())
                }
                e => e,
            }),
        }
    }
}

// ---------------------------------------------------------------- experts

impl Record for expert::Model {
    const KIND: &'static str = "expert";
    const FIELDS: &'static [&'static str] = ExpertLine::FIELDS;
    type Line = ExpertLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i32 {
        self.version
    }

    async fn find(db: &DatabaseTransaction, _actor: &Actor, slug: &str) -> AppResult<Option<Self>> {
        experts::get_by_slug(db, slug).await
    }

    async fn to_line(&self, db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        let topics = experts::topics_of(db, &[self.id])
            .await?
            .remove(&self.id)
            .unwrap_or_default();
        Ok(object(json!({
            "slug": self.slug, "name": self.name, "aliases": experts::aliases(&self.aliases),
            "title": self.title, "affiliation": self.affiliation, "bio_en": self.bio_en,
            "bio_fr": self.bio_fr, "photo_url": self.photo_url,
            "topics": topics.iter().map(|t| t.slug.clone()).collect::<Vec<_>>(),
        })))
    }

    async fn save(
        db: &DatabaseTransaction,
        _actor: &Actor,
        names: &Resolver,
        line: ExpertLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        let (mut am, topic_ids) = validate_expert(names, &line).map_err(unprocessable)?;
        let derived = existing.is_none() && line.slug.is_none();
        am.slug = Set(settle_slug::<expert::Entity>(
            db,
            "expert",
            expert::Column::Slug,
            &value_of(&am.slug),
            derived,
            existing.map(|e| e.id),
        )
        .await?);
        let renamed = existing.is_some_and(|e| value_of(&am.search_key) != e.search_key);
        let Some(saved) =
            store::<expert::Entity>(db, am, existing.map(|e| (e.id, e.version))).await?
        else {
            return Ok(None);
        };
        if renamed {
            // Articles are found by their experts' names: index them anew.
            reindex(db, articles_of_expert(db, saved.id).await?).await?;
        }
        let id = saved.id;
        experts::write_topics(db, id, &topic_ids).await?;
        Ok(Some(saved))
    }

    /// A new slug or name changes the articles that embed the expert.
    async fn touches(
        db: &DatabaseTransaction,
        before: Option<&Self>,
        after: Option<&Self>,
    ) -> AppResult<Vec<Entry>> {
        match (before, after) {
            (Some(b), Some(a)) if b.slug != a.slug || b.name != a.name => {
                touch_articles(db, &articles_of_expert(db, a.id).await?).await
            }
            _ => Ok(vec![]),
        }
    }

    /// Refused while articles mention the expert: deleting would silently take
    /// the expert off them.
    async fn remove(&self, db: &DatabaseTransaction) -> AppResult<bool> {
        let mentions = articles_of_expert(db, self.id).await?.len();
        if mentions > 0 {
            return Err(AppError::Conflict(format!(
                "{mentions} article(s) mention this expert; take the expert off them first"
            )));
        }
        delete_if::<expert::Entity>(db, self.id, self.version).await
    }
}

async fn articles_of_expert(db: &DatabaseTransaction, expert_id: i32) -> AppResult<Vec<i32>> {
    use sea_orm::QuerySelect;
    Ok(article_expert::Entity::find()
        .select_only()
        .column(article_expert::Column::ArticleId)
        .filter(article_expert::Column::ExpertId.eq(expert_id))
        .into_tuple()
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- outlets

impl Record for outlet::Model {
    const KIND: &'static str = "outlet";
    const FIELDS: &'static [&'static str] = OutletLine::FIELDS;
    type Line = OutletLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i32 {
        self.version
    }

    async fn find(db: &DatabaseTransaction, _actor: &Actor, slug: &str) -> AppResult<Option<Self>> {
        outlets::get_by_slug(db, slug).await
    }

    async fn to_line(&self, db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        let parent = match self.parent_id {
            Some(id) => outlets::by_ids(db, &[id]).await?.pop().map(|o| o.slug),
            None => None,
        };
        Ok(object(json!({
            "slug": self.slug, "name": self.name, "kind": self.kind, "parent": parent,
            "website": self.website, "country": self.country, "language": self.language,
            "aliases": experts::aliases(&self.aliases),
        })))
    }

    async fn save(
        db: &DatabaseTransaction,
        _actor: &Actor,
        names: &Resolver,
        line: OutletLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        let mut am = validate_outlet(names, &line).map_err(unprocessable)?;
        let derived = existing.is_none() && line.slug.is_none();
        am.slug = Set(settle_slug::<outlet::Entity>(
            db,
            "outlet",
            outlet::Column::Slug,
            &value_of(&am.slug),
            derived,
            existing.map(|o| o.id),
        )
        .await?);
        if let (Some(before), Some(parent)) = (existing, value_of(&am.parent_id)) {
            refuse_cycle(db, before.id, parent).await?;
        }
        let renamed = existing.is_some_and(|o| value_of(&am.search_key) != o.search_key);
        let saved = store::<outlet::Entity>(db, am, existing.map(|o| (o.id, o.version))).await?;
        if let Some(o) = &saved
            && renamed
        {
            // Articles are found by their outlet's names: index them anew.
            reindex(db, articles_of_outlet(db, o.id).await?).await?;
        }
        Ok(saved)
    }

    /// A new slug or name changes the articles that embed the outlet, its
    /// children and its parent (which lists it); a new, moved or deleted
    /// outlet changes its old and new parents.
    async fn touches(
        db: &DatabaseTransaction,
        before: Option<&Self>,
        after: Option<&Self>,
    ) -> AppResult<Vec<Entry>> {
        let mut parents: Vec<i32> = before
            .and_then(|o| o.parent_id)
            .into_iter()
            .chain(after.and_then(|o| o.parent_id))
            .collect();
        let mut out = Vec::new();
        if let (Some(b), Some(a)) = (before, after) {
            if b.parent_id == a.parent_id && b.slug == a.slug && b.name == a.name {
                return Ok(out);
            }
            if b.slug != a.slug || b.name != a.name {
                out = touch_articles(db, &articles_of_outlet(db, a.id).await?).await?;
                out.extend(
                    outlets::children_of(db, &[a.id])
                        .await?
                        .iter()
                        .map(touch_of),
                );
            }
        }
        parents.sort_unstable();
        parents.dedup();
        out.extend(touch_outlets(db, &parents).await?);
        Ok(out)
    }

    /// Refused while articles cite the outlet or outlets sit under it.
    async fn remove(&self, db: &DatabaseTransaction) -> AppResult<bool> {
        let cited = articles_of_outlet(db, self.id).await?.len();
        let children = outlets::children_of(db, &[self.id]).await?.len();
        if cited > 0 || children > 0 {
            return Err(AppError::Conflict(format!(
                "{cited} article(s) cite this outlet and {children} outlet(s) sit under it; move them first"
            )));
        }
        delete_if::<outlet::Entity>(db, self.id, self.version).await
    }
}

/// Refuses a parent that is the outlet itself or one of its descendants.
async fn refuse_cycle(db: &DatabaseTransaction, id: i32, parent: i32) -> AppResult<()> {
    let mut cur = Some(parent);
    let mut steps = 0;
    while let Some(p) = cur {
        if p == id {
            return Err(AppError::Unprocessable(vec![FieldError::new(
                "parent",
                "would make the outlet its own ancestor",
            )]));
        }
        steps += 1;
        if steps > 64 {
            break;
        }
        cur = outlets::by_ids(db, &[p])
            .await?
            .pop()
            .and_then(|o| o.parent_id);
    }
    Ok(())
}

async fn articles_of_outlet(db: &DatabaseTransaction, outlet_id: i32) -> AppResult<Vec<i32>> {
    use sea_orm::QuerySelect;
    Ok(article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .filter(article::Column::OutletId.eq(outlet_id))
        .into_tuple()
        .all(db)
        .await?)
}

// ---------------------------------------------------------------- topics

impl Record for topic::Model {
    const KIND: &'static str = "topic";
    const FIELDS: &'static [&'static str] = TopicLine::FIELDS;
    const USES_NAMES: bool = false;
    type Line = TopicLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i32 {
        self.version
    }

    async fn find(db: &DatabaseTransaction, _actor: &Actor, slug: &str) -> AppResult<Option<Self>> {
        crate::services::topics::get_by_slug(db, slug).await
    }

    async fn to_line(&self, _db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        Ok(line_of(self, Self::FIELDS))
    }

    async fn save(
        db: &DatabaseTransaction,
        _actor: &Actor,
        _names: &Resolver,
        line: TopicLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        let mut am = validate_topic(&line).map_err(unprocessable)?;
        let derived = existing.is_none() && line.slug.is_none();
        am.slug = Set(settle_slug::<topic::Entity>(
            db,
            "topic",
            topic::Column::Slug,
            &value_of(&am.slug),
            derived,
            existing.map(|t| t.id),
        )
        .await?);
        store::<topic::Entity>(db, am, existing.map(|x| (x.id, x.version))).await
    }

    /// A new slug or name, or its deletion, changes the articles and experts
    /// tagged with it (asked before the deletion, while they still are).
    async fn touches(
        db: &DatabaseTransaction,
        before: Option<&Self>,
        after: Option<&Self>,
    ) -> AppResult<Vec<Entry>> {
        use sea_orm::QuerySelect;
        let Some(b) = before else {
            return Ok(vec![]);
        };
        if after.is_some_and(|a| a.slug == b.slug && a.name == b.name) {
            return Ok(vec![]);
        }
        let tagged: Vec<i32> = article_topic::Entity::find()
            .select_only()
            .column(article_topic::Column::ArticleId)
            .filter(article_topic::Column::TopicId.eq(b.id))
            .into_tuple()
            .all(db)
            .await?;
        let mut out = touch_articles(db, &tagged).await?;
        let experts: Vec<i32> = expert_topic::Entity::find()
            .select_only()
            .column(expert_topic::Column::ExpertId)
            .filter(expert_topic::Column::TopicId.eq(b.id))
            .into_tuple()
            .all(db)
            .await?;
        for chunk in experts.chunks(500) {
            let found = crate::services::by_ids(db, expert::Entity::find(), chunk).await?;
            out.extend(found.iter().map(touch_of));
        }
        Ok(out)
    }

    /// Deleting a topic takes it off the articles and experts tagged with it.
    async fn remove(&self, db: &DatabaseTransaction) -> AppResult<bool> {
        delete_if::<topic::Entity>(db, self.id, self.version).await
    }
}

// ---------------------------------------------------------------- events

impl Record for event::Model {
    const KIND: &'static str = "event";
    const FIELDS: &'static [&'static str] = EventLine::FIELDS;
    const USES_NAMES: bool = false;
    type Line = EventLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i32 {
        self.version
    }

    fn publicity(&self) -> bool {
        changes::event_public(&self.status)
    }

    async fn find(db: &DatabaseTransaction, actor: &Actor, slug: &str) -> AppResult<Option<Self>> {
        events::get_by_slug(db, actor, slug).await
    }

    async fn to_line(&self, _db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        Ok(line_of(self, Self::FIELDS))
    }

    async fn save(
        db: &DatabaseTransaction,
        _actor: &Actor,
        _names: &Resolver,
        line: EventLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        let mut am = validate_event(&line).map_err(unprocessable)?;
        let derived = existing.is_none() && line.slug.is_none();
        am.slug = Set(settle_slug::<event::Entity>(
            db,
            "event",
            event::Column::Slug,
            &value_of(&am.slug),
            derived,
            existing.map(|e| e.id),
        )
        .await?);
        store::<event::Entity>(db, am, existing.map(|x| (x.id, x.version))).await
    }

    async fn remove(&self, db: &DatabaseTransaction) -> AppResult<bool> {
        delete_if::<event::Entity>(db, self.id, self.version).await
    }
}

// ---------------------------------------------------------------- site

/// The site settings: one record (its slug is `site`), changed by admins only.
impl Record for site::Model {
    const KIND: &'static str = "site";
    const FIELDS: &'static [&'static str] = &[
        "name",
        "tagline_en",
        "tagline_fr",
        "offices",
        "phone",
        "email",
        "web",
        "copyright",
        "charity_registration",
    ];
    const USES_NAMES: bool = false;
    type Line = SiteLine;

    fn id(&self) -> i32 {
        self.id
    }
    fn slug(&self) -> &str {
        "site"
    }
    fn version(&self) -> i32 {
        self.version
    }

    async fn find(
        db: &DatabaseTransaction,
        _actor: &Actor,
        _slug: &str,
    ) -> AppResult<Option<Self>> {
        Ok(site::Entity::find_by_id(1).one(db).await?)
    }

    async fn to_line(&self, _db: &DatabaseTransaction) -> AppResult<Map<String, Value>> {
        Ok(object(json!({
            "name": self.name, "tagline_en": self.tagline_en, "tagline_fr": self.tagline_fr,
            "offices": self.offices, "phone": self.phone, "email": self.email, "web": self.web,
            "copyright": self.copyright, "charity_registration": self.charity_registration,
        })))
    }

    async fn save(
        db: &DatabaseTransaction,
        _actor: &Actor,
        _names: &Resolver,
        line: SiteLine,
        existing: Option<&Self>,
    ) -> AppResult<Option<Self>> {
        let am = validate_site(&line).map_err(unprocessable)?;
        store::<site::Entity>(db, am, existing.map(|x| (x.id, x.version))).await
    }

    async fn remove(&self, _db: &DatabaseTransaction) -> AppResult<bool> {
        Err(AppError::Forbidden(
            "the site settings can be changed, not deleted".into(),
        ))
    }

    fn authorize(actor: &Actor, _op: Op, _existing: Option<&Self>) -> AppResult<()> {
        actor.require(Role::Admin)
    }
}
