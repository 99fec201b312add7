//! The derived relevance index: a tantivy index of the articles' search
//! documents, one per server process, that answers relevance-ordered article
//! searches with a top-k (BM25, the title weighted ten times the rest) instead of
//! ranking every match in SQL. The same index, fed the same documents, ranks the
//! same way on SQLite and PostgreSQL.
//!
//! The database stays the source of truth. `search::index_articles` and
//! `search::remove_articles` (the only places search documents change) append the
//! ids they touched to `search_changes` in the writing transaction; this index
//! tails that log:
//! - at start-up it is built in the background from the database (the SQL path
//!   answers until it is ready), after noting the log's position;
//! - before it answers, if the content stamp (`content::StampWatch`) moved since
//!   its last catch-up, it reads the log past its position and re-indexes those
//!   articles from their database documents. The writing node therefore sees its
//!   own write at once, other nodes within the stamp's bound (one second, or the
//!   `NOTIFY` on PostgreSQL); the server also catches up once a minute;
//! - the log keeps a day ([`KEEP`]); a node whose last catch-up is older than
//!   that (it cannot have missed less) rebuilds.
//!
//! The index holds every article, drafts too: each hit is fetched again from the
//! database under the caller's visibility rule, so what it may not see drops out.
//! Position in the log: on SQLite writes are serialized, so sequence numbers
//! become visible in order and "past the last one applied" is enough. On
//! PostgreSQL a transaction draws its number before it commits, so the position
//! is the oldest transaction still running when the log was last read
//! (`pg_snapshot_xmin`): rows of later transactions are read again until that
//! horizon passes them, and those already applied are skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{SimpleTokenizer, TextAnalyzer};
use tantivy::{DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, TantivyDocument, Term};

use super::content::StampWatch;
use super::search::TextQuery;
use crate::error::{AppError, AppResult};

/// How much more a title match weighs than a match in the rest (as the
/// database engines weigh it).
pub const TITLE_BOOST: f32 = 10.0;
/// The indexing heap (tantivy's minimum for one thread): the index itself lives
/// in memory-mapped files.
const WRITER_HEAP: usize = 15_000_000;
/// Articles read from the database per batch when building.
const BATCH: usize = 500;
/// How long the change log keeps a row.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// A catch-up with more changes than this rebuilds instead (a large import).
const REBUILD_ABOVE: usize = 50_000;
/// A first build of at most this many articles is waited for by searches, at
/// most [`READY_WAIT`].
const SMALL: u64 = 20_000;
const READY_WAIT: Duration = Duration::from_secs(5);
/// Text is folded by `search` before it comes here: split it on spaces only.
const TOKENIZER: &str = "folded";

fn index_error(e: tantivy::TantivyError) -> AppError {
    AppError::Internal(anyhow::anyhow!("search index: {e}"))
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    rest: Field,
}

/// Where the index has read the change log up to.
#[derive(Default)]
struct Position {
    /// SQLite: every row up to this sequence number is applied.
    seq: i64,
    /// PostgreSQL: every transaction below this id is applied...
    xmin: i64,
    /// ...and these rows of later ones.
    applied: HashSet<i64>,
}

/// A ranked hit: the article and its score.
pub type Hit = (f64, i32);

/// One process's relevance index (see the module header).
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    stamps: Arc<StampWatch>,
    /// The primary database: the stamp, the change log and the documents are
    /// read there (public searches may fetch their hits from a read replica).
    primary: sea_orm::DatabaseConnection,
    /// Built and caught up at least once: until then the SQL path answers.
    ready: AtomicBool,
    /// Told when the index becomes ready; a small build is waited for
    /// ([`Self::wait_small_build`]).
    built: tokio::sync::watch::Sender<bool>,
    small_build: AtomicBool,
    /// The content version of the last catch-up (`i64::MIN`: none yet).
    version: AtomicI64,
    position: tokio::sync::Mutex<(Position, Option<Instant>)>,
    /// A folder this process made and removes when done.
    owned: Option<PathBuf>,
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        if let Some(dir) = &self.owned {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl SearchIndex {
    /// Creates an empty index in `dir` (a folder of this process's own under the
    /// system's temporary folder when `None`). The caller then runs [`Self::build`].
    pub fn create(
        dir: Option<&Path>,
        stamps: Arc<StampWatch>,
        primary: sea_orm::DatabaseConnection,
    ) -> anyhow::Result<Self> {
        let (path, owned) = match dir {
            Some(d) => (d.join("articles"), None),
            None => {
                let p = std::env::temp_dir().join(format!(
                    "mediadesk-search-{}-{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                ));
                (p.clone(), Some(p))
            }
        };
        // A derived index: whatever an earlier run left is rebuilt.
        if path.join("meta.json").exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        let mut sb = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            id: sb.add_i64_field("id", NumericOptions::default().set_indexed().set_fast()),
            title: sb.add_text_field("title", text.clone()),
            rest: sb.add_text_field("rest", text),
        };
        let index = Index::create_in_dir(&path, sb.build()).map_err(|e| {
            anyhow::anyhow!("cannot create the search index in {}: {e}", path.display())
        })?;
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(SimpleTokenizer::default()).build(),
        );
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            fields,
            stamps,
            primary,
            ready: AtomicBool::new(false),
            built: tokio::sync::watch::Sender::new(false),
            small_build: AtomicBool::new(false),
            version: AtomicI64::new(i64::MIN),
            position: tokio::sync::Mutex::new((Position::default(), None)),
            owned,
        })
    }

    /// Whether searches may use the index.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// While a first build of a small database ([`SMALL`] articles at most)
    /// runs, waits for it (a few seconds at most): a server answers searches by
    /// the same ranking from its first request. A large build is not waited for.
    pub async fn wait_small_build(&self) {
        if self.is_ready() || !self.small_build.load(Ordering::SeqCst) {
            return;
        }
        let mut rx = self.built.subscribe();
        let _ = tokio::time::timeout(READY_WAIT, rx.wait_for(|b| *b)).await;
    }

    /// (Re)builds the index from every article in the database, then marks it
    /// ready. Searches use the SQL path meanwhile.
    pub async fn build(&self) -> AppResult<()> {
        let db = &self.primary;
        let mut guard = self.position.lock().await;
        let started = Instant::now();
        // The stamp first, then the log's position, then the articles: whatever
        // commits after the position was read is applied by the next catch-up.
        let version = self.stamps.current(db).await?.stamp.version;
        let position = position_now(db).await?;
        if !self.is_ready() {
            let n = article_count(db).await?;
            self.small_build.store(n <= SMALL, Ordering::SeqCst);
        }
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .delete_all_documents()
            .map_err(index_error)?;
        let mut after = 0;
        let mut n = 0usize;
        loop {
            let ids = article_ids_after(db, after, BATCH).await?;
            let Some(last) = ids.last() else { break };
            after = *last;
            let docs = super::search::documents(db, &ids).await?;
            n += docs.len();
            self.add(docs)?;
        }
        self.commit()?;
        *guard = (position, Some(Instant::now()));
        self.version.store(version, Ordering::SeqCst);
        self.ready.store(true, Ordering::SeqCst);
        self.small_build.store(false, Ordering::SeqCst);
        self.built.send_replace(true);
        tracing::info!(
            articles = n,
            seconds = started.elapsed().as_secs_f64(),
            "search index built"
        );
        Ok(())
    }

    /// Applies the changes logged since the last catch-up, if the content stamp
    /// says there may be any (`force`: read the log anyway, as the server does
    /// once a minute so that an idle node never falls behind the pruned log).
    /// Rebuilds when the last catch-up is older than the log reaches back, or
    /// for a very large batch (an import).
    pub async fn catch_up(&self, force: bool) -> AppResult<()> {
        let db = &self.primary;
        if !self.is_ready() {
            return Ok(());
        }
        let version = self.stamps.current(db).await?.stamp.version;
        if !force && self.version.load(Ordering::SeqCst) == version {
            return Ok(());
        }
        let mut guard = self.position.lock().await;
        // Another request may have caught up while this one waited.
        if !force && self.version.load(Ordering::SeqCst) == version {
            return Ok(());
        }
        // The stamp before the log: a write in between is read again next time.
        let version = self.stamps.current(db).await?.stamp.version;
        if guard
            .1
            .is_none_or(|at| at.elapsed() > KEEP - Duration::from_secs(3600))
        {
            drop(guard);
            return self.build().await;
        }
        let (changes, next) = read_changes(db, &guard.0).await?;
        if changes.len() > REBUILD_ABOVE {
            drop(guard);
            return self.build().await;
        }
        let mut ids: Vec<i32> = changes;
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            let mut docs = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(BATCH) {
                docs.extend(super::search::documents(db, chunk).await?);
            }
            {
                let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
                for id in &ids {
                    w.delete_term(Term::from_field_i64(self.fields.id, i64::from(*id)));
                }
            }
            self.add(docs)?;
            self.commit()?;
        }
        *guard = (next, Some(Instant::now()));
        self.version.store(version, Ordering::SeqCst);
        Ok(())
    }

    fn add(&self, docs: Vec<(i32, String, String)>) -> AppResult<()> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for (id, title, rest) in docs {
            let mut d = TantivyDocument::default();
            d.add_i64(self.fields.id, i64::from(id));
            d.add_text(self.fields.title, &title);
            d.add_text(self.fields.rest, &rest);
            w.add_document(d).map_err(index_error)?;
        }
        Ok(())
    }

    fn commit(&self) -> AppResult<()> {
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .commit()
            .map_err(index_error)?;
        self.reader.reload().map_err(index_error)
    }

    /// The query: every token, in the title (weighted [`TITLE_BOOST`]) or the rest.
    fn query(&self, text: &TextQuery) -> BooleanQuery {
        let f = self.fields;
        let term = |field: Field, t: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, t),
                IndexRecordOption::WithFreqs,
            ))
        };
        BooleanQuery::new(
            text.tokens()
                .iter()
                .map(|t| {
                    let either = BooleanQuery::new(vec![
                        (
                            Occur::Should,
                            Box::new(BoostQuery::new(term(f.title, t), TITLE_BOOST))
                                as Box<dyn Query>,
                        ),
                        (Occur::Should, term(f.rest, t)),
                    ]);
                    (Occur::Must, Box::new(either) as Box<dyn Query>)
                })
                .collect(),
        )
    }

    /// The best `limit` matches of `text` ranked after `after` (a previous hit's
    /// score and id), best first; ties by descending id. `backward`: the
    /// `limit` ranked just before `after`, nearest first.
    pub fn top(
        &self,
        text: &TextQuery,
        after: Option<Hit>,
        backward: bool,
        limit: usize,
    ) -> AppResult<Vec<Hit>> {
        let query = self.query(text);
        let sink = (f64::NEG_INFINITY, i64::MIN);
        let keep = move |score: f64, id: i64| -> bool {
            match after {
                None => true,
                Some((s, i)) if backward => (score, id) > (s, i64::from(i)),
                Some((s, i)) => (score, id) < (s, i64::from(i)),
            }
        };
        let collector = TopDocs::with_limit(limit.max(1)).tweak_score(
            move |segment: &tantivy::SegmentReader| {
                let ids = segment
                    .fast_fields()
                    .i64("id")
                    .ok()
                    .map(|c| c.first_or_default_col(0));
                move |doc: DocId, score: Score| {
                    let Some(ids) = &ids else { return sink };
                    let (score, id) = (f64::from(score), ids.get_val(doc));
                    match (keep(score, id), backward) {
                        (false, _) => sink,
                        (true, false) => (score, id),
                        (true, true) => (-score, -id),
                    }
                }
            },
        );
        let found = self
            .reader
            .searcher()
            .search(&query, &collector)
            .map_err(index_error)?;
        Ok(found
            .into_iter()
            .filter(|(k, _)| *k != sink)
            .map(|((score, id), _)| {
                let (score, id) = if backward { (-score, -id) } else { (score, id) };
                (score, i32::try_from(id).unwrap_or_default())
            })
            .collect())
    }

    /// How many indexed articles match `text` (drafts included).
    pub fn count(&self, text: &TextQuery) -> AppResult<usize> {
        self.reader
            .searcher()
            .search(&self.query(text), &tantivy::collector::Count)
            .map_err(index_error)
    }
}

/// Article ids above `after`, in order, at most `limit`.
async fn article_ids_after(
    db: &impl ConnectionTrait,
    after: i32,
    limit: usize,
) -> AppResult<Vec<i32>> {
    use crate::entities::article;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    Ok(article::Entity::find()
        .select_only()
        .column(article::Column::Id)
        .filter(article::Column::Id.gt(after))
        .order_by_asc(article::Column::Id)
        .limit(limit as u64)
        .into_tuple()
        .all(db)
        .await?)
}

async fn article_count(db: &impl ConnectionTrait) -> AppResult<u64> {
    use crate::entities::article;
    use sea_orm::{EntityTrait, PaginatorTrait};
    Ok(article::Entity::find().count(db).await?)
}

/// The log's position now: what a build that starts now will have seen.
async fn position_now(db: &impl ConnectionTrait) -> AppResult<Position> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS p",
        _ => "SELECT COALESCE(MAX(seq), 0) AS p FROM search_changes",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no position row")))?;
    let p: i64 = row.try_get("", "p")?;
    Ok(match backend {
        DbBackend::Postgres => Position {
            xmin: p,
            ..Default::default()
        },
        _ => Position {
            seq: p,
            ..Default::default()
        },
    })
}

/// The article ids logged past `from`, and the position after them.
async fn read_changes(
    db: &impl ConnectionTrait,
    from: &Position,
) -> AppResult<(Vec<i32>, Position)> {
    let backend = db.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            // One statement, one snapshot: its xmin and the rows it sees agree.
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT x.xmin, s.seq, s.article_id, s.txid \
                     FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) x \
                     LEFT JOIN search_changes s ON s.txid >= $1 ORDER BY s.seq",
                    [from.xmin.into()],
                ))
                .await?;
            let mut next = Position {
                xmin: from.xmin,
                ..Default::default()
            };
            let mut ids = Vec::new();
            let mut later = Vec::new();
            for row in &rows {
                next.xmin = row.try_get("", "xmin")?;
                let seq: Option<i64> = row.try_get("", "seq")?;
                let (Some(seq), Some(id), Some(txid)) = (
                    seq,
                    row.try_get::<Option<i32>>("", "article_id")?,
                    row.try_get::<Option<i64>>("", "txid")?,
                ) else {
                    continue;
                };
                if !from.applied.contains(&seq) {
                    ids.push(id);
                }
                later.push((seq, txid));
            }
            next.applied = later
                .into_iter()
                .filter(|(_, txid)| *txid >= next.xmin)
                .map(|(seq, _)| seq)
                .collect();
            Ok((ids, next))
        }
        _ => {
            let rows = db
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT seq, article_id FROM search_changes WHERE seq > ? ORDER BY seq",
                    [from.seq.into()],
                ))
                .await?;
            let mut next = Position {
                seq: from.seq,
                ..Default::default()
            };
            let mut ids = Vec::with_capacity(rows.len());
            for row in &rows {
                next.seq = row.try_get("", "seq")?;
                ids.push(row.try_get("", "article_id")?);
            }
            Ok((ids, next))
        }
    }
}

/// Deletes log rows older than [`KEEP`].
pub async fn prune(db: &impl ConnectionTrait) -> AppResult<()> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let horizon = chrono::Utc::now().timestamp() - KEEP.as_secs() as i64;
    let del = Query::delete()
        .from_table(Alias::new("search_changes"))
        .and_where(Expr::col(Alias::new("changed_at")).lt(horizon))
        .to_owned();
    db.execute(&del).await?;
    Ok(())
}
