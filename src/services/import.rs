//! NDJSON import: one JSON object a line with a `type` of `outlet`, `expert`,
//! `topic`, `article`, `event` or `site`, references by slug, name or alias.
//!
//! Every line is validated and each bad one reported with its line number. The
//! import runs in one transaction: without `skip_invalid` any bad line rolls the
//! whole file back, so a failed import leaves the database exactly as it was. It
//! streams: articles go to the database in batches, and memory holds one batch
//! plus the (small) name tables, whatever the file's size.
//!
//! The demo data set (`demo.rs`) is loaded through this same path.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{InsertStatement, Query};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::auth::Actor;
use crate::domain::{
    ArticleStatus, EventKind, FieldError, Language, Office, OutletKind, Slug, SourceUrl,
    clean_list, clean_optional, clean_text, parse_timestamp, search_key,
};
use crate::entities::{
    article, article_expert, article_topic, event, expert, expert_topic, outlet, site, topic,
};
use crate::error::{AppError, AppResult};

use super::resolve::Resolver;

/// Articles are written in batches of this many rows.
const BATCH: usize = 400;
/// A line longer than this is refused (a body of 200,000 characters fits).
const MAX_LINE_BYTES: usize = 1 << 20;
/// At most this many line errors are kept in the report; the count goes on.
const MAX_REPORTED_ERRORS: usize = 1000;
const MAX_EXPERTS: usize = 20;

#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Import the valid lines and report the bad ones, instead of all-or-nothing.
    pub skip_invalid: bool,
}

/// Records per type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub outlets: u64,
    pub experts: u64,
    pub topics: u64,
    pub articles: u64,
    pub events: u64,
    pub site: u64,
}

/// A line that could not be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Lines read (blank lines included).
    pub lines: u64,
    /// Records created (or, for the site settings, replaced).
    pub created: Counts,
    /// Outlets, experts and topics whose slug already existed: kept as they were.
    pub existing: Counts,
    /// The first bad lines, in file order.
    pub errors: Vec<LineError>,
    pub error_count: u64,
    /// Whether the import was committed (false: nothing was written).
    pub committed: bool,
}

/// Progress reported while an import runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub lines: u64,
    pub bytes: u64,
    pub articles: u64,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Outlet(OutletLine),
    Expert(ExpertLine),
    Topic(TopicLine),
    Article(ArticleLine),
    Event(EventLine),
    Site(SiteLine),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutletLine {
    slug: Option<String>,
    name: String,
    kind: Option<String>,
    parent: Option<String>,
    website: Option<String>,
    country: Option<String>,
    language: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpertLine {
    slug: Option<String>,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    title: Option<String>,
    affiliation: Option<String>,
    #[serde(alias = "bio_en")]
    bio: Option<String>,
    bio_fr: Option<String>,
    photo_url: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicLine {
    slug: Option<String>,
    name: String,
}

/// An article as the import format (and `recordMention`) gives it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleLine {
    pub slug: Option<String>,
    pub title: String,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub experts: Vec<String>,
    pub outlet: Option<String>,
    pub program: Option<String>,
    pub published_at: String,
    pub language: String,
    pub url: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub dateline: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    pub status: Option<String>,
    pub publish_at: Option<String>,
}

/// An article line that passed validation, its names resolved.
pub(crate) struct ValidArticle {
    pub slug: Option<Slug>,
    pub title: String,
    pub authors: Vec<String>,
    pub outlet_id: Option<i32>,
    pub program: Option<String>,
    pub published_at: DateTime<Utc>,
    pub language: Language,
    pub url: Option<SourceUrl>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub dateline: Option<String>,
    pub status: ArticleStatus,
    pub publish_at: Option<DateTime<Utc>>,
    pub expert_ids: Vec<i32>,
    pub topic_ids: Vec<i32>,
}

fn topic_refs(resolver: &Resolver, c: &mut Check, refs: &[String]) -> Vec<i32> {
    let mut ids = Vec::new();
    for r in refs {
        match resolver.topics.find(r) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                c.0.push(unknown("topics", "topic", r, resolver.topics.suggest(r)))
            }
        }
    }
    ids
}

/// Validates an article and resolves its outlet, experts and topics by slug,
/// name or alias. The one set of article rules, for imports and mentions alike.
pub(crate) fn validate_article(
    resolver: &Resolver,
    l: &ArticleLine,
) -> Result<ValidArticle, Vec<FieldError>> {
    let mut c = Check::default();
    let title = c.take(clean_text("title", &l.title, 500));
    let slug = opt_slug(&mut c, l.slug.as_deref());
    let authors = c.take(clean_list("authors", &l.authors, 20, 200));
    let outlet_id = match l.outlet.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) => match resolver.outlets.find(o) {
            Some(id) => Some(id),
            None => {
                c.0.push(unknown("outlet", "outlet", o, resolver.outlets.suggest(o)));
                None
            }
        },
    };
    let mut expert_ids = Vec::new();
    if l.experts.len() > MAX_EXPERTS {
        c.0.push(FieldError::new(
            "experts",
            format!(
                "at most {MAX_EXPERTS} experts allowed, got {}",
                l.experts.len()
            ),
        ));
    } else {
        for e in &l.experts {
            match resolver.experts.find(e) {
                Some(id) if !expert_ids.contains(&id) => expert_ids.push(id),
                Some(_) => {}
                None => {
                    c.0.push(unknown("experts", "expert", e, resolver.experts.suggest(e)))
                }
            }
        }
    }
    let topic_ids = topic_refs(resolver, &mut c, &l.topics);
    let program = c.take(clean_optional("program", l.program.as_deref(), 200));
    let published_at = c.parse("published_at", parse_timestamp(&l.published_at));
    let language = c.parse("language", l.language.parse::<Language>());
    let url = opt_url(&mut c, "url", l.url.as_deref());
    let summary = c.take(clean_optional("summary", l.summary.as_deref(), 5_000));
    let body = c.take(clean_optional("body", l.body.as_deref(), 200_000));
    let dateline = c.take(clean_optional("dateline", l.dateline.as_deref(), 100));
    let status = match l.status.as_deref() {
        None => Some(ArticleStatus::Published),
        Some(s) => c.parse("status", s.parse::<ArticleStatus>()),
    };
    let publish_at = l
        .publish_at
        .as_deref()
        .and_then(|s| c.parse("publish_at", parse_timestamp(s)));
    let (Some(published_at), Some(language), Some(status), true) =
        (published_at, language, status, c.0.is_empty())
    else {
        return Err(c.0);
    };
    Ok(ValidArticle {
        slug,
        title,
        authors,
        outlet_id,
        program,
        published_at,
        language,
        url,
        summary,
        body,
        dateline,
        status,
        publish_at,
        expert_ids,
        topic_ids,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    slug: Option<String>,
    title: String,
    kind: String,
    starts_at: String,
    ends_at: Option<String>,
    time_zone: Option<String>,
    venue: Option<String>,
    city: Option<String>,
    region: Option<String>,
    country: Option<String>,
    description: Option<String>,
    registration_url: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteLine {
    name: String,
    tagline_en: String,
    tagline_fr: String,
    #[serde(default)]
    offices: Vec<Office>,
    phone: Option<String>,
    email: Option<String>,
    web: Option<String>,
    copyright: Option<String>,
    charity_registration: Option<String>,
}

/// An article line that passed validation, waiting for its batch.
struct PendingArticle {
    line: u64,
    id: i32,
    slug: String,
    url: Option<SourceUrl>,
    values: Vec<sea_orm::Value>,
    published_at: DateTime<Utc>,
    expert_ids: Vec<i32>,
    topic_ids: Vec<i32>,
}

/// Imports NDJSON from `reader` as `actor` (editor or above).
pub async fn import<R: AsyncBufRead + Unpin>(
    db: &DatabaseConnection,
    actor: &Actor,
    mut reader: R,
    opts: ImportOptions,
    mut progress: impl FnMut(&Progress),
) -> AppResult<ImportReport> {
    actor.require(crate::domain::Role::Editor)?;
    let backend = db.get_database_backend();
    let txn = super::begin_write(db).await?;
    if backend == DbBackend::Postgres {
        // Ids are assigned here, so no other writer may insert articles meanwhile.
        txn.execute_unprepared("LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    let max_id: Option<i32> = article::Entity::find()
        .select_only()
        .column_as(article::Column::Id.max(), "m")
        .into_tuple()
        .one(&txn)
        .await?
        .flatten();
    let mut im = Importer {
        txn: &txn,
        resolver: Resolver::load(&txn).await?,
        next_article_id: max_id.unwrap_or(0) + 1,
        batch: Vec::with_capacity(BATCH),
        report: ImportReport::default(),
        now: super::now(),
    };
    let mut buf = Vec::with_capacity(4096);
    let mut prog = Progress::default();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| AppError::invalid("file", format!("cannot read input: {e}")))?;
        if n == 0 {
            break;
        }
        im.report.lines += 1;
        prog.lines += 1;
        prog.bytes += n as u64;
        let line_no = im.report.lines;
        if n > MAX_LINE_BYTES {
            im.fail(
                line_no,
                format!("line is longer than {MAX_LINE_BYTES} bytes"),
            );
            continue;
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            im.fail(line_no, "line is not valid UTF-8".into());
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(text) {
            Ok(line) => im.handle(line_no, line).await?,
            Err(e) => im.fail(line_no, json_error(e)),
        }
        if im.batch.len() >= BATCH {
            im.flush().await?;
        }
        if prog.lines % 5000 == 0 {
            prog.articles = im.report.created.articles + im.batch.len() as u64;
            progress(&prog);
        }
    }
    im.flush().await?;
    prog.articles = im.report.created.articles;
    progress(&prog);
    let mut report = im.report;
    if report.error_count > 0 && !opts.skip_invalid {
        txn.rollback().await?;
        report.created = Counts::default();
        report.existing = Counts::default();
        return Ok(report);
    }
    if backend == DbBackend::Postgres && report.created.articles > 0 {
        txn.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('articles', 'id'), (SELECT MAX(id) FROM articles))",
        )
        .await?;
    }
    super::content::bump(&txn).await?;
    txn.commit().await?;
    report.committed = true;
    if report.created.articles >= 1000 {
        // Fresh statistics, so the planner picks the keyset indexes after a bulk load.
        let stmt = match backend {
            DbBackend::Postgres => {
                "ANALYZE articles, article_experts, article_topics, article_search, events"
            }
            _ => "ANALYZE",
        };
        db.execute_unprepared(stmt).await?;
    }
    Ok(report)
}

fn json_error(e: serde_json::Error) -> String {
    // serde reports "at line 1 column N" of the one-line document: keep the column.
    let msg = e.to_string();
    match msg.rfind(" at line 1 column ") {
        Some(i) => format!("invalid record: {} (column {})", &msg[..i], &msg[i + 18..]),
        None => format!("invalid record: {msg}"),
    }
}

struct Importer<'a, C: ConnectionTrait> {
    txn: &'a C,
    resolver: Resolver,
    next_article_id: i32,
    batch: Vec<PendingArticle>,
    report: ImportReport,
    now: DateTime<Utc>,
}

fn join_errors(errors: Vec<FieldError>) -> String {
    errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects field errors while a line is validated.
#[derive(Default)]
struct Check(Vec<FieldError>);

impl Check {
    fn take<T: Default>(&mut self, r: Result<T, FieldError>) -> T {
        r.unwrap_or_else(|e| {
            self.0.push(e);
            T::default()
        })
    }
    fn parse<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.0.push(FieldError::new(field, m));
                None
            }
        }
    }
}

fn opt_slug(c: &mut Check, s: Option<&str>) -> Option<Slug> {
    s.and_then(|s| c.parse("slug", Slug::parse(s)))
}

fn opt_url(c: &mut Check, field: &str, s: Option<&str>) -> Option<SourceUrl> {
    match s.map(str::trim) {
        None | Some("") => None,
        Some(u) => c.parse(field, SourceUrl::parse(u)),
    }
}

impl<C: ConnectionTrait> Importer<'_, C> {
    fn fail(&mut self, line: u64, message: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < MAX_REPORTED_ERRORS {
            self.report.errors.push(LineError { line, message });
        }
    }

    async fn handle(&mut self, line_no: u64, line: Line) -> AppResult<()> {
        let result = match line {
            Line::Outlet(l) => self.outlet(l).await?,
            Line::Expert(l) => self.expert(l).await?,
            Line::Topic(l) => self.topic(l).await?,
            Line::Article(l) => self.article(line_no, l),
            Line::Event(l) => self.event(l).await?,
            Line::Site(l) => self.site(l).await?,
        };
        if let Err(errors) = result {
            self.fail(line_no, join_errors(errors));
        }
        Ok(())
    }

    async fn outlet(&mut self, l: OutletLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut c = Check::default();
        let name = c.take(clean_text("name", &l.name, 200));
        let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
        let kind = match l.kind.as_deref() {
            None => Some(OutletKind::Other),
            Some(k) => c.parse("kind", k.parse::<OutletKind>()),
        };
        let parent = match l.parent.as_deref() {
            None => None,
            Some(p) => match self.resolver.outlets.find(p) {
                Some(id) => Some(id),
                None => {
                    c.0.push(unknown(
                        "parent",
                        "outlet",
                        p,
                        self.resolver.outlets.suggest(p),
                    ));
                    None
                }
            },
        };
        let website = opt_url(&mut c, "website", l.website.as_deref());
        let country = c.take(clean_optional("country", l.country.as_deref(), 64));
        let language = match l.language.as_deref() {
            None => None,
            Some(x) => c.parse("language", x.parse::<Language>()),
        };
        let aliases = c.take(clean_list("aliases", &l.aliases, 20, 200));
        if !c.0.is_empty() {
            return Ok(Err(c.0));
        }
        if self.resolver.outlets.has_slug(slug.as_str()) {
            self.report.existing.outlets += 1;
            return Ok(Ok(()));
        }
        let key =
            search_key(std::iter::once(name.as_str()).chain(aliases.iter().map(String::as_str)));
        let am = outlet::ActiveModel {
            id: NotSet,
            slug: Set(slug.to_string()),
            name: Set(name.clone()),
            kind: Set(kind.unwrap_or(OutletKind::Other).as_str().into()),
            parent_id: Set(parent),
            website: Set(website.map(|u| u.as_str().to_owned())),
            country: Set(country),
            language: Set(language.map(|x| x.as_str().to_owned())),
            aliases: Set(serde_json::json!(aliases)),
            search_key: Set(key),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        let id = outlet::Entity::insert(am)
            .exec(self.txn)
            .await?
            .last_insert_id;
        self.resolver
            .outlets
            .add(id, slug.as_str(), &name, &aliases);
        self.report.created.outlets += 1;
        Ok(Ok(()))
    }

    async fn expert(&mut self, l: ExpertLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut c = Check::default();
        let name = c.take(clean_text("name", &l.name, 200));
        let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
        let aliases = c.take(clean_list("aliases", &l.aliases, 20, 200));
        let title = c.take(clean_optional("title", l.title.as_deref(), 300));
        let affiliation = c.take(clean_optional("affiliation", l.affiliation.as_deref(), 300));
        let bio_en = c.take(clean_optional("bio", l.bio.as_deref(), 20_000));
        let bio_fr = c.take(clean_optional("bio_fr", l.bio_fr.as_deref(), 20_000));
        let photo = opt_url(&mut c, "photo_url", l.photo_url.as_deref());
        let topic_ids = topic_refs(&self.resolver, &mut c, &l.topics);
        if !c.0.is_empty() {
            return Ok(Err(c.0));
        }
        if self.resolver.experts.has_slug(slug.as_str()) {
            self.report.existing.experts += 1;
            return Ok(Ok(()));
        }
        let key =
            search_key(std::iter::once(name.as_str()).chain(aliases.iter().map(String::as_str)));
        let am = expert::ActiveModel {
            id: NotSet,
            slug: Set(slug.to_string()),
            name: Set(name.clone()),
            aliases: Set(serde_json::json!(aliases)),
            search_key: Set(key),
            title: Set(title),
            affiliation: Set(affiliation),
            bio_en: Set(bio_en),
            bio_fr: Set(bio_fr),
            photo_url: Set(photo.map(|u| u.as_str().to_owned())),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        let id = expert::Entity::insert(am)
            .exec(self.txn)
            .await?
            .last_insert_id;
        if !topic_ids.is_empty() {
            let rows = topic_ids.iter().map(|t| expert_topic::ActiveModel {
                expert_id: Set(id),
                topic_id: Set(*t),
            });
            expert_topic::Entity::insert_many(rows)
                .exec(self.txn)
                .await?;
        }
        self.resolver
            .experts
            .add(id, slug.as_str(), &name, &aliases);
        self.report.created.experts += 1;
        Ok(Ok(()))
    }

    async fn topic(&mut self, l: TopicLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut c = Check::default();
        let name = c.take(clean_text("name", &l.name, 100));
        let slug = opt_slug(&mut c, l.slug.as_deref()).unwrap_or_else(|| Slug::from_text(&name));
        if !c.0.is_empty() {
            return Ok(Err(c.0));
        }
        if self.resolver.topics.has_slug(slug.as_str()) {
            self.report.existing.topics += 1;
            return Ok(Ok(()));
        }
        let am = topic::ActiveModel {
            id: NotSet,
            slug: Set(slug.to_string()),
            name: Set(name.clone()),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        let id = topic::Entity::insert(am)
            .exec(self.txn)
            .await?
            .last_insert_id;
        self.resolver.topics.add(id, slug.as_str(), &name, &[]);
        self.report.created.topics += 1;
        Ok(Ok(()))
    }

    fn article(&mut self, line: u64, l: ArticleLine) -> Result<(), Vec<FieldError>> {
        let ValidArticle {
            slug,
            title,
            authors,
            outlet_id,
            program,
            published_at,
            language,
            url,
            summary,
            body,
            dateline,
            status,
            publish_at,
            expert_ids,
            topic_ids,
        } = validate_article(&self.resolver, &l)?;
        let id = self.next_article_id;
        self.next_article_id += 1;
        let slug = slug
            .unwrap_or_else(|| Slug::from_text(&title).with_suffix(&base36(id)))
            .into_string();
        let values: Vec<sea_orm::Value> = vec![
            id.into(),
            slug.clone().into(),
            title.into(),
            serde_json::json!(authors).into(),
            outlet_id.into(),
            program.into(),
            published_at.into(),
            language.as_str().into(),
            url.as_ref().map(|u| u.as_str().to_owned()).into(),
            url.as_ref().map(|u| u.canonical().to_owned()).into(),
            summary.into(),
            body.into(),
            dateline.into(),
            status.as_str().into(),
            publish_at.into(),
            1i32.into(),
            self.now.into(),
            self.now.into(),
        ];
        self.batch.push(PendingArticle {
            line,
            id,
            slug,
            url,
            values,
            published_at,
            expert_ids,
            topic_ids,
        });
        Ok(())
    }

    /// Writes the pending articles, refusing those whose slug or source URL is taken
    /// (in the database, earlier in the file, or earlier in this batch).
    async fn flush(&mut self) -> AppResult<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let slugs: Vec<String> = batch.iter().map(|p| p.slug.clone()).collect();
        let urls: Vec<String> = batch
            .iter()
            .filter_map(|p| p.url.as_ref().map(|u| u.canonical().to_owned()))
            .collect();
        let taken_slugs: HashSet<String> = article::Entity::find()
            .select_only()
            .column(article::Column::Slug)
            .filter(article::Column::Slug.is_in(slugs))
            .into_tuple::<String>()
            .all(self.txn)
            .await?
            .into_iter()
            .collect();
        let taken_urls: HashSet<String> = if urls.is_empty() {
            HashSet::new()
        } else {
            article::Entity::find()
                .select_only()
                .column(article::Column::UrlKey)
                .filter(article::Column::UrlKey.is_in(urls))
                .into_tuple::<String>()
                .all(self.txn)
                .await?
                .into_iter()
                .collect()
        };
        let mut seen_slugs = HashSet::new();
        let mut seen_urls = HashSet::new();
        let mut articles = Query::insert();
        articles.into_table(article::Entity).columns([
            article::Column::Id,
            article::Column::Slug,
            article::Column::Title,
            article::Column::Authors,
            article::Column::OutletId,
            article::Column::Program,
            article::Column::PublishedAt,
            article::Column::Language,
            article::Column::Url,
            article::Column::UrlKey,
            article::Column::Summary,
            article::Column::Body,
            article::Column::Dateline,
            article::Column::Status,
            article::Column::PublishAt,
            article::Column::Version,
            article::Column::CreatedAt,
            article::Column::UpdatedAt,
        ]);
        let mut experts = Query::insert();
        experts.into_table(article_expert::Entity).columns([
            article_expert::Column::ArticleId,
            article_expert::Column::ExpertId,
            article_expert::Column::Position,
            article_expert::Column::PublishedAt,
        ]);
        let mut topics = Query::insert();
        topics.into_table(article_topic::Entity).columns([
            article_topic::Column::ArticleId,
            article_topic::Column::TopicId,
            article_topic::Column::PublishedAt,
        ]);
        let (mut n_articles, mut n_experts, mut n_topics) = (0u64, 0, 0);
        let mut inserted: Vec<i32> = Vec::with_capacity(BATCH);
        for p in batch {
            if taken_slugs.contains(&p.slug) || !seen_slugs.insert(p.slug.clone()) {
                self.fail(
                    p.line,
                    format!("slug: an article with slug {:?} already exists", p.slug),
                );
                continue;
            }
            if let Some(u) = &p.url
                && (taken_urls.contains(u.canonical())
                    || !seen_urls.insert(u.canonical().to_owned()))
            {
                self.fail(
                    p.line,
                    format!(
                        "url: an article with source url {:?} already exists",
                        u.as_str()
                    ),
                );
                continue;
            }
            articles.values_panic(p.values.into_iter().map(Into::into));
            n_articles += 1;
            inserted.push(p.id);
            for (pos, e) in p.expert_ids.iter().enumerate() {
                experts.values_panic([
                    p.id.into(),
                    (*e).into(),
                    (pos as i32).into(),
                    p.published_at.into(),
                ]);
                n_experts += 1;
            }
            for t in &p.topic_ids {
                topics.values_panic([p.id.into(), (*t).into(), p.published_at.into()]);
                n_topics += 1;
            }
        }
        exec_if(self.txn, &articles, n_articles).await?;
        exec_if(self.txn, &experts, n_experts).await?;
        exec_if(self.txn, &topics, n_topics).await?;
        super::search::index_articles(self.txn, &inserted).await?;
        self.report.created.articles += n_articles;
        Ok(())
    }

    async fn event(&mut self, l: EventLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut c = Check::default();
        let title = c.take(clean_text("title", &l.title, 300));
        let slug = opt_slug(&mut c, l.slug.as_deref());
        let kind = c.parse("kind", l.kind.parse::<EventKind>());
        let starts_at = c.parse("starts_at", parse_timestamp(&l.starts_at));
        let ends_at = l
            .ends_at
            .as_deref()
            .and_then(|s| c.parse("ends_at", parse_timestamp(s)));
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e < s
        {
            c.0.push(FieldError::new("ends_at", "must not be before starts_at"));
        }
        let time_zone = c.take(clean_optional("time_zone", l.time_zone.as_deref(), 64));
        let venue = c.take(clean_optional("venue", l.venue.as_deref(), 300));
        let city = c.take(clean_optional("city", l.city.as_deref(), 100));
        let region = c.take(clean_optional("region", l.region.as_deref(), 100));
        let country = c.take(clean_optional("country", l.country.as_deref(), 64));
        let description = c.take(clean_optional(
            "description",
            l.description.as_deref(),
            20_000,
        ));
        let registration = opt_url(&mut c, "registration_url", l.registration_url.as_deref());
        let status = match l.status.as_deref() {
            None => Some(ArticleStatus::Published),
            Some(s) => c.parse("status", s.parse::<ArticleStatus>()),
        };
        let (Some(kind), Some(starts_at), Some(status), true) =
            (kind, starts_at, status, c.0.is_empty())
        else {
            return Ok(Err(c.0));
        };
        let slug = slug.unwrap_or_else(|| {
            Slug::from_text(&title).with_suffix(&starts_at.format("%Y-%m-%d").to_string())
        });
        let taken = event::Entity::find()
            .select_only()
            .column(event::Column::Id)
            .filter(event::Column::Slug.eq(slug.as_str()))
            .into_tuple::<i32>()
            .one(self.txn)
            .await?;
        if taken.is_some() {
            return Ok(Err(vec![FieldError::new(
                "slug",
                format!("an event with slug {:?} already exists", slug.as_str()),
            )]));
        }
        let (title_for_key, venue_for_key, city_for_key) =
            (title.clone(), venue.clone(), city.clone());
        let am = event::ActiveModel {
            id: NotSet,
            slug: Set(slug.into_string()),
            title: Set(title),
            kind: Set(kind.as_str().into()),
            starts_at: Set(starts_at),
            ends_at: Set(ends_at),
            time_zone: Set(time_zone),
            venue: Set(venue),
            city: Set(city),
            region: Set(region),
            country: Set(country),
            description: Set(description),
            registration_url: Set(registration.map(|u| u.as_str().to_owned())),
            search_key: Set(search_key(
                [
                    Some(title_for_key.as_str()),
                    venue_for_key.as_deref(),
                    city_for_key.as_deref(),
                ]
                .into_iter()
                .flatten(),
            )),
            status: Set(status.as_str().into()),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        event::Entity::insert(am).exec(self.txn).await?;
        self.report.created.events += 1;
        Ok(Ok(()))
    }

    async fn site(&mut self, l: SiteLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut c = Check::default();
        let name = c.take(clean_text("name", &l.name, 200));
        let tagline_en = c.take(clean_text("tagline_en", &l.tagline_en, 300));
        let tagline_fr = c.take(clean_text("tagline_fr", &l.tagline_fr, 300));
        let phone = c.take(clean_optional("phone", l.phone.as_deref(), 64));
        let email = c.take(clean_optional("email", l.email.as_deref(), 200));
        let web = c.take(clean_optional("web", l.web.as_deref(), 300));
        let copyright = c.take(clean_optional("copyright", l.copyright.as_deref(), 300));
        let charity = c.take(clean_optional(
            "charity_registration",
            l.charity_registration.as_deref(),
            64,
        ));
        for (i, o) in l.offices.iter().enumerate() {
            c.take(clean_text(&format!("offices[{i}].label"), &o.label, 100));
            c.take(clean_text(&format!("offices[{i}].city"), &o.city, 100));
            c.take(clean_text(
                &format!("offices[{i}].country"),
                &o.country,
                100,
            ));
        }
        if !c.0.is_empty() {
            return Ok(Err(c.0));
        }
        let existing = site::Entity::find_by_id(1).one(self.txn).await?;
        let am = site::ActiveModel {
            id: Set(1),
            name: Set(name),
            tagline_en: Set(tagline_en),
            tagline_fr: Set(tagline_fr),
            offices: Set(serde_json::json!(l.offices)),
            phone: Set(phone),
            email: Set(email),
            web: Set(web),
            copyright: Set(copyright),
            charity_registration: Set(charity),
            version: Set(existing.as_ref().map_or(1, |s| s.version + 1)),
            updated_at: Set(self.now),
        };
        if existing.is_some() {
            site::Entity::update(am).exec(self.txn).await?;
        } else {
            site::Entity::insert(am).exec(self.txn).await?;
        }
        self.report.created.site += 1;
        Ok(Ok(()))
    }
}

async fn exec_if(db: &impl ConnectionTrait, stmt: &InsertStatement, rows: u64) -> AppResult<()> {
    if rows > 0 {
        db.execute(stmt).await?;
    }
    Ok(())
}

pub(crate) fn unknown(field: &str, what: &str, name: &str, suggestions: Vec<String>) -> FieldError {
    let mut msg = format!("unknown {what} {name:?}");
    if !suggestions.is_empty() {
        msg.push_str(&format!(
            " (did you mean {}?)",
            suggestions
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    FieldError::new(field, msg)
}

fn base36(mut n: i32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
