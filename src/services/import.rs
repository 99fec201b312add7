//! NDJSON import: one JSON object a line with a `type` of `outlet`, `expert`,
//! `topic`, `article`, `event` or `site`, references by slug, name or alias.
//!
//! Every line is validated and each bad one reported with its line number. The
//! import runs in one transaction: without `skip_invalid` any bad line rolls the
//! whole file back, so a failed import leaves the database exactly as it was. It
//! streams: articles go to the database in batches, and memory holds one batch
//! plus the (small) name tables, whatever the file's size.
//!
//! Every line is authorized by its kind's rule, the one creates and changes
//! apply (`records::authorize_write`): an editor's `site` line is refused as a
//! `PATCH /site` by an editor is, and the refusal (403) rolls the whole file
//! back, `skip_invalid` or not. The CLI imports as the system actor.
//!
//! Every object written gets its change log entry (`services::changes`, cause
//! `import`), in the same transaction, written a chunk at a time as the
//! articles are: a rolled-back import logs nothing.
//!
//! The demo data set (`demo.rs`) is loaded through this same path.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{InsertStatement, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, PrimaryKeyTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::auth::Actor;
use crate::domain::{FieldError, Slug, SourceUrl};
use crate::entities::{article, article_expert, article_topic, event, expert, outlet, site, topic};
use crate::error::{AppError, AppResult};

use super::changes::{self, Cause, Entry, Op as ChangeOp};
use super::lines::{
    ArticleLine, EventLine, ExpertLine, OutletLine, SiteLine, TopicLine, ValidArticle,
    validate_article, validate_event, validate_expert, validate_outlet, validate_site,
    validate_topic, value_of,
};
use super::records::{Versioned, authorize_write, stamp_new};
use super::resolve::Resolver;
use super::slugs::{self as slug_rule, Batch, Hints};

/// Articles are written in batches of this many rows.
const BATCH: usize = 400;
/// A line longer than this is refused (a body of 200,000 characters fits).
const MAX_LINE_BYTES: usize = 1 << 20;
/// At most this many line errors are kept in the report; the count goes on.
const MAX_REPORTED_ERRORS: usize = 1000;

#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Import the valid lines and report the bad ones, instead of all-or-nothing.
    pub skip_invalid: bool,
}

/// Records per type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = ImportCounts)]
pub struct Counts {
    pub outlets: u64,
    pub experts: u64,
    pub topics: u64,
    pub articles: u64,
    pub events: u64,
    pub site: u64,
}

/// A line that could not be imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
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

/// An article line that passed validation, waiting for its batch.
struct PendingArticle {
    line: u64,
    id: i32,
    /// The slug given on the line, or the title's (made unique at flush).
    slug: Result<String, Slug>,
    url: Option<SourceUrl>,
    values: Vec<sea_orm::Value>,
    published_at: DateTime<Utc>,
    outlet_id: Option<i32>,
    /// May the public see it (`services::changes`)? If not yet, when?
    public: bool,
    due: Option<DateTime<Utc>>,
    expert_ids: Vec<i32>,
    topic_ids: Vec<i32>,
}

/// One line of the file as read (newline included): `None` for a blank line,
/// else the typed line or why it is not one.
fn parse_line(bytes: &[u8]) -> Result<Option<Line>, String> {
    if bytes.len() > MAX_LINE_BYTES {
        return Err(format!("line is longer than {MAX_LINE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "line is not valid UTF-8".to_owned())?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str::<Line>(text)
        .map(Some)
        .map_err(json_error)
}

/// Imports NDJSON from `reader` as `actor`; each line's kind decides whether
/// the actor may write it.
pub async fn import<R: AsyncBufRead + Unpin>(
    db: &DatabaseConnection,
    actor: &Actor,
    reader: R,
    opts: ImportOptions,
    progress: impl FnMut(&Progress),
) -> AppResult<ImportReport> {
    actor.require(crate::domain::Role::Contributor)?;
    let txn = super::begin_write(db).await?;
    let cache = PageCache::widen(&*txn).await?;
    let read = async {
        let mut im = Importer::begin(&*txn, &txn, actor).await?;
        read_lines(&mut im, reader, progress).await?;
        Ok::<_, AppError>(im.report)
    }
    .await;
    let restored = cache.restore(&*txn).await;
    let report = read?;
    restored?;
    settle(db, txn, actor, report, opts).await
}

/// SQLite's page cache on the import's connection while the import runs.
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

/// The import's SQLite page cache: 64 MB instead of the connection's usual
/// 2 MB, given back before the transaction ends.
///
/// Why: the import is one transaction, so the pages it changes cannot be
/// checkpointed until it commits; once they outgrow the cache they are
/// spilled to the WAL, and every later read of a page that is not in the
/// cache looks it up in the WAL index, one hash table per 4,096 frames,
/// newest first. Both the misses and the cost of each grow with what the
/// import has written so far, so a small cache made each batch dearer than
/// the last (1M articles: 12 % of the time in `walFindFrame`, half the
/// system time copying pages to and from the WAL). The pages every batch touches
/// (the indexes' inner pages and insertion points, a batch's slug and URL
/// leaves, the full-text index's merges) fit in 64 MB, so they stay cached
/// whatever the file's size: memory stays flat, at a higher level.
/// PostgreSQL keeps its own shared buffers: nothing to do there.
struct PageCache(Option<i64>);

impl PageCache {
    async fn widen(txn: &impl ConnectionTrait) -> AppResult<Self> {
        if txn.get_database_backend() != DbBackend::Sqlite {
            return Ok(Self(None));
        }
        let before = txn
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA cache_size",
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?;
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
            .await?;
        Ok(Self(Some(before.unwrap_or(-2000))))
    }

    /// Puts the connection's own cache size back (it returns to the pool).
    async fn restore(self, txn: &impl ConnectionTrait) -> AppResult<()> {
        if let Some(size) = self.0 {
            txn.execute_unprepared(&format!("PRAGMA cache_size = {size}"))
                .await?;
        }
        Ok(())
    }
}

/// The read loop: reads `reader` a line at a time and hands each line, parsed,
/// to the importer (which checks it and writes articles a batch at a time).
async fn read_lines<C: ConnectionTrait>(
    im: &mut Importer<'_, C>,
    mut reader: impl AsyncBufRead + Unpin,
    mut progress: impl FnMut(&Progress),
) -> AppResult<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut prog = Progress::default();
    let mut lap = std::time::Instant::now();
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
        match parse_line(&buf) {
            Ok(Some(line)) => im.handle(line_no, line).await?,
            Ok(None) => {}
            Err(reason) => im.fail(line_no, reason),
        }
        if im.batch.len() >= BATCH {
            im.flush().await?;
        }
        if prog.lines % 5000 == 0 {
            prog.articles = im.report.created.articles + im.batch.len() as u64;
            progress(&prog);
        }
        if prog.lines % 10_000 == 0 {
            let t = std::mem::take(&mut im.timing);
            tracing::debug!(
                lines = prog.lines,
                articles = im.report.created.articles,
                ms = lap.elapsed().as_millis() as u64,
                slugs_ms = t.slugs.as_millis() as u64,
                urls_ms = t.urls.as_millis() as u64,
                insert_ms = t.insert.as_millis() as u64,
                index_ms = t.index.as_millis() as u64,
                "import progress (last 10,000 lines)"
            );
            lap = std::time::Instant::now();
        }
    }
    im.flush().await?;
    prog.articles = im.report.created.articles;
    progress(&prog);
    Ok(())
}

/// The end of an import: all or nothing unless `skip_invalid` (a file with a
/// bad line is rolled back), else audited and committed (its change log
/// entries, one per object written, sealed and the content version bumped by
/// the commit); a bulk load leaves fresh planner statistics.
async fn settle(
    db: &DatabaseConnection,
    txn: super::WriteTxn,
    actor: &Actor,
    mut report: ImportReport,
    opts: ImportOptions,
) -> AppResult<ImportReport> {
    let backend = db.get_database_backend();
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
    super::audit::record(
        &*txn,
        actor,
        "import",
        "import",
        None,
        None,
        Some(serde_json::json!({
            "lines": report.lines, "created": report.created, "existing": report.existing,
            "skipped_lines": report.error_count,
        })),
    )
    .await?;
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
    /// The same transaction, for the change log.
    log: &'a super::WriteTxn,
    actor: &'a Actor,
    resolver: Resolver,
    next_article_id: i32,
    /// Where each title's slug suffixes go on (bounded; see `slugs::Hints`).
    slug_hints: Hints,
    batch: Vec<PendingArticle>,
    report: ImportReport,
    now: DateTime<Utc>,
    timing: Timing,
}

/// Where the batches' time went since the last progress line.
#[derive(Default)]
struct Timing {
    slugs: std::time::Duration,
    urls: std::time::Duration,
    insert: std::time::Duration,
    index: std::time::Duration,
}

fn join_errors(errors: Vec<FieldError>) -> String {
    errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl<'a, C: ConnectionTrait> Importer<'a, C> {
    /// An importer writing in `txn`: the name tables read, article ids
    /// assigned from the highest one on.
    async fn begin(txn: &'a C, log: &'a super::WriteTxn, actor: &'a Actor) -> AppResult<Self> {
        if txn.get_database_backend() == DbBackend::Postgres {
            // Ids are assigned here, so no other writer may insert articles meanwhile.
            txn.execute_unprepared("LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        let max_id: Option<i32> = article::Entity::find()
            .select_only()
            .column_as(article::Column::Id.max(), "m")
            .into_tuple()
            .one(txn)
            .await?
            .flatten();
        Ok(Importer {
            txn,
            log,
            actor,
            resolver: Resolver::load(txn).await?,
            next_article_id: max_id.unwrap_or(0) + 1,
            slug_hints: Hints::default(),
            batch: Vec::with_capacity(BATCH),
            report: ImportReport::default(),
            now: super::now(),
            timing: Timing::default(),
        })
    }

    fn fail(&mut self, line: u64, message: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < MAX_REPORTED_ERRORS {
            self.report.errors.push(LineError { line, message });
        }
    }

    /// Writes one line; a line the actor may not write refuses the whole import.
    async fn handle(&mut self, line_no: u64, line: Line) -> AppResult<()> {
        self.write(line_no, line).await.map_err(|e| match e {
            AppError::Forbidden(m) => {
                AppError::Forbidden(format!("line {line_no}: {m}; nothing was imported"))
            }
            e => e,
        })
    }

    async fn write(&mut self, line_no: u64, line: Line) -> AppResult<()> {
        let actor = self.actor;
        let result = match line {
            Line::Outlet(mut l) => {
                authorize_write::<outlet::Model>(actor, None, &mut l)?;
                self.outlet(l).await?
            }
            Line::Expert(mut l) => {
                authorize_write::<expert::Model>(actor, None, &mut l)?;
                self.expert(l).await?
            }
            Line::Topic(mut l) => {
                authorize_write::<topic::Model>(actor, None, &mut l)?;
                self.topic(l).await?
            }
            Line::Article(mut l) => {
                authorize_write::<article::Model>(actor, None, &mut l)?;
                self.article(line_no, l)
            }
            Line::Event(mut l) => {
                authorize_write::<event::Model>(actor, None, &mut l)?;
                self.event(l).await?
            }
            Line::Site(l) => self.site(l).await?,
        };
        if let Err(errors) = result {
            self.fail(line_no, join_errors(errors));
        }
        Ok(())
    }

    /// Inserts a new row at version 1, created and updated now, and logs its
    /// creation (`is_public`: may the public see it); its id.
    async fn insert<E>(
        &self,
        kind: &'static str,
        slug: &str,
        is_public: bool,
        mut am: E::ActiveModel,
    ) -> AppResult<i32>
    where
        E: Versioned,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
        E::PrimaryKey: PrimaryKeyTrait<ValueType = i32>,
    {
        stamp_new::<E>(&mut am, self.now)?;
        let id = E::insert(am).exec(self.txn).await?.last_insert_id;
        self.log_changes([Entry {
            kind,
            object_id: id,
            slug: slug.to_owned(),
            op: ChangeOp::Create,
            version: 1,
            was_public: false,
            is_public,
            refs: None,
            due: None,
        }])
        .await?;
        Ok(id)
    }

    async fn log_changes(&self, entries: impl IntoIterator<Item = Entry>) -> AppResult<()> {
        changes::record(self.log, Cause::Import, self.actor, entries).await
    }

    async fn outlet(&mut self, l: OutletLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let am = match validate_outlet(&self.resolver, &l) {
            Ok(am) => am,
            Err(e) => return Ok(Err(e)),
        };
        let slug = value_of(&am.slug);
        if self.resolver.outlets.has_slug(&slug) {
            self.report.existing.outlets += 1;
            return Ok(Ok(()));
        }
        let name = value_of(&am.name);
        let aliases = super::experts::aliases(&value_of(&am.aliases));
        let parent = value_of(&am.parent_id);
        let id = self
            .insert::<outlet::Entity>("outlet", &slug, true, am)
            .await?;
        if let Some(p) = parent {
            // The parent lists its children (`services::changes`, D4).
            let parents = super::outlets::by_ids(self.txn, &[p]).await?;
            self.log_changes(parents.into_iter().map(|o| Entry {
                kind: "outlet",
                object_id: o.id,
                slug: o.slug,
                op: ChangeOp::Touch,
                version: o.version,
                was_public: true,
                is_public: true,
                refs: None,
                due: None,
            }))
            .await?;
        }
        self.resolver.outlets.add(id, &slug, &name, &aliases);
        self.report.created.outlets += 1;
        Ok(Ok(()))
    }

    async fn expert(&mut self, l: ExpertLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let (am, topic_ids) = match validate_expert(&self.resolver, &l) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let slug = value_of(&am.slug);
        if self.resolver.experts.has_slug(&slug) {
            self.report.existing.experts += 1;
            return Ok(Ok(()));
        }
        let name = value_of(&am.name);
        let aliases = super::experts::aliases(&value_of(&am.aliases));
        let id = self
            .insert::<expert::Entity>("expert", &slug, true, am)
            .await?;
        super::experts::write_topics(self.txn, id, &topic_ids).await?;
        self.resolver.experts.add(id, &slug, &name, &aliases);
        self.report.created.experts += 1;
        Ok(Ok(()))
    }

    async fn topic(&mut self, l: TopicLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let am = match validate_topic(&l) {
            Ok(am) => am,
            Err(e) => return Ok(Err(e)),
        };
        let slug = value_of(&am.slug);
        if self.resolver.topics.has_slug(&slug) {
            self.report.existing.topics += 1;
            return Ok(Ok(()));
        }
        let name = value_of(&am.name);
        let id = self
            .insert::<topic::Entity>("topic", &slug, true, am)
            .await?;
        self.resolver.topics.add(id, &slug, &name, &[]);
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
        let public = changes::article_public(status.as_str(), publish_at, self.now);
        let due = changes::article_due(status.as_str(), publish_at, self.now);
        let slug = slug
            .map(Slug::into_string)
            .ok_or_else(|| Slug::from_text(&title));
        let values: Vec<sea_orm::Value> = vec![
            id.into(),
            // The slug, set at flush.
            sea_orm::Value::String(None),
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
            self.actor.subject().map(str::to_owned).into(),
        ];
        self.batch.push(PendingArticle {
            line,
            id,
            slug,
            url,
            values,
            published_at,
            outlet_id,
            public,
            due,
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
        let t0 = std::time::Instant::now();
        // One query for the explicit slugs and the titles' slugs together.
        let mut slugs = Batch::<article::Entity>::new(article::Column::Slug, &mut self.slug_hints);
        slugs
            .prefetch(
                self.txn,
                batch
                    .iter()
                    .filter_map(|p| p.slug.as_ref().ok().map(String::as_str)),
                batch.iter().filter_map(|p| p.slug.as_ref().err()),
            )
            .await?;
        let t1 = std::time::Instant::now();
        let taken_urls = taken_urls(self.txn, &batch).await?;
        let url_time = t1.elapsed();
        self.timing.urls += url_time;
        let mut seen_urls = HashSet::new();
        let mut inserts = Inserts::new();
        let mut failed = Vec::new();
        for p in batch {
            if let Ok(s) = &p.slug
                && slugs.is_taken(self.txn, s).await?
            {
                failed.push((
                    p.line,
                    format!("slug: an article with slug {s:?} already exists"),
                ));
                continue;
            }
            if let Some(u) = &p.url
                && (taken_urls.contains(u.canonical())
                    || !seen_urls.insert(u.canonical().to_owned()))
            {
                failed.push((
                    p.line,
                    format!(
                        "url: an article with source url {:?} already exists",
                        u.as_str()
                    ),
                ));
                continue;
            }
            // A title's slug, or with the next free suffix (after the URL
            // check, so a refused line leaves no gap).
            let slug = match &p.slug {
                Ok(s) => {
                    slugs.take(s);
                    s.clone()
                }
                Err(base) => slugs.derive(self.txn, base).await?.into_string(),
            };
            inserts.push(p, slug);
        }
        for (line, message) in failed {
            self.fail(line, message);
        }
        self.timing.slugs += t0.elapsed() - url_time;
        let entries = inserts.exec(self.txn, &mut self.timing).await?;
        self.report.created.articles += entries.len() as u64;
        self.log_changes(entries).await
    }

    async fn event(&mut self, l: EventLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let mut am = match validate_event(&l) {
            Ok(am) => am,
            Err(e) => return Ok(Err(e)),
        };
        let slug = value_of(&am.slug);
        if l.slug.is_none() {
            // The title's slug, or with the next free suffix.
            let base = Slug::from_text(&slug);
            let free = slug_rule::claim::<event::Entity>(self.txn, event::Column::Slug, &base);
            am.slug = Set(free.await?.into_string());
        } else if super::events::slug_taken(self.txn, &slug).await? {
            return Ok(Err(vec![FieldError::new(
                "slug",
                format!("an event with slug {slug:?} already exists"),
            )]));
        }
        let public = changes::event_public(&value_of(&am.status));
        let slug = value_of(&am.slug);
        self.insert::<event::Entity>("event", &slug, public, am)
            .await?;
        self.report.created.events += 1;
        Ok(Ok(()))
    }

    async fn site(&mut self, mut l: SiteLine) -> AppResult<Result<(), Vec<FieldError>>> {
        let existing = site::Entity::find_by_id(1).one(self.txn).await?;
        authorize_write::<site::Model>(self.actor, existing.as_ref(), &mut l)?;
        let mut am = match validate_site(&l) {
            Ok(am) => am,
            Err(e) => return Ok(Err(e)),
        };
        let version = existing.as_ref().map_or(1, |s| s.version + 1);
        am.version = Set(version);
        am.updated_at = Set(self.now);
        if existing.is_some() {
            site::Entity::update(am).exec(self.txn).await?;
        } else {
            site::Entity::insert(am).exec(self.txn).await?;
        }
        self.log_changes([Entry {
            kind: "site",
            object_id: 1,
            slug: "site".into(),
            op: if existing.is_some() {
                ChangeOp::Update
            } else {
                ChangeOp::Create
            },
            version,
            was_public: existing.is_some(),
            is_public: true,
            refs: None,
            due: None,
        }])
        .await?;
        self.report.created.site += 1;
        Ok(Ok(()))
    }
}

/// The canonical source URLs of `batch` that articles in the database have.
async fn taken_urls(
    db: &impl ConnectionTrait,
    batch: &[PendingArticle],
) -> AppResult<HashSet<String>> {
    let urls: Vec<String> = batch
        .iter()
        .filter_map(|p| p.url.as_ref().map(|u| u.canonical().to_owned()))
        .collect();
    if urls.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(article::Entity::find()
        .select_only()
        .column(article::Column::UrlKey)
        .filter(article::Column::UrlKey.is_in(urls))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The three multi-row inserts of one batch: articles, their experts (in
/// order) and their topics; and the articles' change log entries.
struct Inserts {
    articles: InsertStatement,
    experts: InsertStatement,
    topics: InsertStatement,
    ids: Vec<i32>,
    entries: Vec<Entry>,
    expert_rows: u64,
    topic_rows: u64,
}

impl Inserts {
    fn new() -> Self {
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
            article::Column::CreatedBy,
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
        Inserts {
            articles,
            experts,
            topics,
            ids: Vec::with_capacity(BATCH),
            entries: Vec::with_capacity(BATCH),
            expert_rows: 0,
            topic_rows: 0,
        }
    }

    /// Adds an article, stored under `slug`, and its links.
    fn push(&mut self, mut p: PendingArticle, slug: String) {
        self.entries.push(Entry {
            kind: "article",
            object_id: p.id,
            slug: slug.clone(),
            op: ChangeOp::Create,
            version: 1,
            was_public: false,
            is_public: p.public,
            refs: Some(changes::article_refs(
                p.outlet_id,
                &p.expert_ids,
                &p.topic_ids,
            )),
            due: p.due,
        });
        p.values[1] = slug.into();
        self.articles
            .values_panic(p.values.into_iter().map(Into::into));
        self.ids.push(p.id);
        for (pos, e) in p.expert_ids.iter().enumerate() {
            self.experts.values_panic([
                p.id.into(),
                (*e).into(),
                (pos as i32).into(),
                p.published_at.into(),
            ]);
            self.expert_rows += 1;
        }
        for t in &p.topic_ids {
            self.topics
                .values_panic([p.id.into(), (*t).into(), p.published_at.into()]);
            self.topic_rows += 1;
        }
    }

    /// Runs the inserts and indexes the articles for search; the articles'
    /// change log entries.
    async fn exec(self, db: &impl ConnectionTrait, timing: &mut Timing) -> AppResult<Vec<Entry>> {
        let t = std::time::Instant::now();
        exec_if(db, &self.articles, self.ids.len() as u64).await?;
        exec_if(db, &self.experts, self.expert_rows).await?;
        exec_if(db, &self.topics, self.topic_rows).await?;
        timing.insert += t.elapsed();
        let t = std::time::Instant::now();
        super::search::index_articles(db, &self.ids).await?;
        timing.index += t.elapsed();
        Ok(self.entries)
    }
}

async fn exec_if(db: &impl ConnectionTrait, stmt: &InsertStatement, rows: u64) -> AppResult<()> {
    if rows > 0 {
        db.execute(stmt).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_bad_ones_named() {
        assert!(matches!(parse_line(b"  \n"), Ok(None)));
        assert!(matches!(
            parse_line(b"{\"type\":\"topic\",\"name\":\"Defence\"}\n"),
            Ok(Some(Line::Topic(_)))
        ));
        assert!(parse_line(b"{\"type\":\"planet\"}").is_err());
        assert!(matches!(parse_line(&[0xff, 0xfe]), Err(e) if e.contains("UTF-8")));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_a_line_or_a_reason_never_a_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)
        ) {
            let _ = parse_line(&bytes);
        }

        #[test]
        fn any_json_is_a_line_or_a_reason_never_a_panic(
            kind in "(outlet|expert|topic|article|event|site|other)",
            key in "[a-z_]{1,12}",
            value in "\\PC{0,40}",
        ) {
            let text = serde_json::json!({ "type": kind, key: value, "name": value }).to_string();
            let _ = parse_line(text.as_bytes());
        }

        #[test]
        fn a_topic_line_round_trips(name in "\\PC{0,80}", slug in proptest::option::of("[a-z0-9-]{1,30}")) {
            let text = serde_json::json!({ "type": "topic", "name": name, "slug": slug }).to_string();
            match parse_line(text.as_bytes()) {
                Ok(Some(Line::Topic(t))) => {
                    proptest::prop_assert_eq!(t.name, name);
                    proptest::prop_assert_eq!(t.slug, slug);
                }
                _ => proptest::prop_assert!(false, "not a topic line: {text}"),
            }
        }
    }
}
