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
//! is the snapshot the log (or, for a build, every article) was last read under
//! (`pg_current_snapshot()`): the next read takes exactly the rows of
//! transactions that snapshot did not see (`pg_visible_in_snapshot`), so
//! nothing is missed and nothing already applied is read again — however long
//! an unrelated transaction elsewhere on the cluster keeps running.
//!
//! Tantivy's indexing and commits block: they run on the blocking pool, never on
//! a server worker. A rebuild a search asks for runs in the background; searches
//! meanwhile answer from the index as it was.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::content::StampWatch;
use super::search::TextQuery;
use crate::error::{AppError, AppResult};

mod topk;

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
#[derive(Default, Clone)]
enum Position {
    /// Nothing read yet.
    #[default]
    Start,
    /// SQLite: every row up to this sequence number is applied.
    Seq(i64),
    /// PostgreSQL: the rows of every transaction this snapshot (its text form,
    /// `xmin:xmax:xip,...`) sees are applied.
    Snapshot(String),
}

/// A ranked hit: the article and its score.
pub type Hit = (f64, i32);

/// One process's relevance index (see the module header).
pub struct SearchIndex {
    reader: IndexReader,
    writer: Arc<Mutex<IndexWriter<TantivyDocument>>>,
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
    /// A rebuild runs (searches do not wait for it).
    rebuilding: AtomicBool,
    /// The content version of the last catch-up (`i64::MIN`: none yet).
    version: AtomicI64,
    position: tokio::sync::Mutex<(Position, Option<Instant>)>,
    /// A folder this process made and removes when done.
    owned: Option<PathBuf>,
    /// Upper bounds of the terms searched lately ([`topk`]).
    bounds: topk::Bounds,
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
            writer: Arc::new(Mutex::new(writer)),
            fields,
            stamps,
            primary,
            ready: AtomicBool::new(false),
            built: tokio::sync::watch::Sender::new(false),
            small_build: AtomicBool::new(false),
            rebuilding: AtomicBool::new(false),
            version: AtomicI64::new(i64::MIN),
            position: tokio::sync::Mutex::new((Position::default(), None)),
            owned,
            bounds: topk::Bounds::default(),
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
    /// ready. Searches use the SQL path meanwhile (the first build) or the index
    /// as it was (a rebuild).
    pub async fn build(&self) -> AppResult<()> {
        let mut guard = self.position.lock().await;
        self.rebuilding.store(true, Ordering::SeqCst);
        let built = self.build_locked(&mut guard).await;
        self.rebuilding.store(false, Ordering::SeqCst);
        built
    }

    async fn build_locked(&self, guard: &mut (Position, Option<Instant>)) -> AppResult<()> {
        use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
        let started = Instant::now();
        // The stamp first, then the position and the articles: whatever commits
        // later is applied by the next catch-up. On PostgreSQL the articles are
        // read in one snapshot, which is the position; on SQLite the log's last
        // number (read in the same transaction).
        let version = self.stamps.current(&self.primary).await?.stamp.version;
        let txn = if self.primary.get_database_backend() == DbBackend::Postgres {
            let snapshot = (IsolationLevel::RepeatableRead, AccessMode::ReadOnly);
            self.primary
                .begin_with_config(Some(snapshot.0), Some(snapshot.1))
                .await?
        } else {
            self.primary.begin().await?
        };
        let db = &txn;
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
            self.add(docs).await?;
        }
        txn.commit().await?;
        self.commit().await?;
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
    /// for a very large batch (an import): in the background when a search
    /// asked (`force` false), which, like every search during a rebuild, then
    /// answers from the index as it was.
    pub async fn catch_up(self: &Arc<Self>, force: bool) -> AppResult<()> {
        let db = &self.primary;
        if !self.is_ready() || (!force && self.rebuilding.load(Ordering::SeqCst)) {
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
        let stale = guard
            .1
            .is_none_or(|at| at.elapsed() > KEEP - Duration::from_secs(3600));
        let changes = if stale {
            None
        } else {
            Some(read_changes(db, &guard.0).await?).filter(|(c, _)| c.len() <= REBUILD_ABOVE)
        };
        let Some((mut ids, next)) = changes else {
            drop(guard);
            tracing::info!("the search index rebuilds (log too old or a large batch)");
            if force {
                return self.build().await;
            }
            if self.rebuilding.swap(true, Ordering::SeqCst) {
                return Ok(());
            }
            let index = self.clone();
            tokio::spawn(async move {
                if let Err(e) = index.build().await {
                    tracing::warn!(error = %e, "the search index was not rebuilt");
                }
            });
            return Ok(());
        };
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
            self.add(docs).await?;
            self.commit().await?;
        }
        *guard = (next, Some(Instant::now()));
        self.version.store(version, Ordering::SeqCst);
        Ok(())
    }

    /// Hands documents to the writer (on the blocking pool: the writer's queue
    /// blocks while its indexing thread is behind).
    async fn add(&self, docs: Vec<(i32, String, String)>) -> AppResult<()> {
        let (writer, f) = (self.writer.clone(), self.fields);
        blocking(move || {
            let w = writer.lock().unwrap_or_else(|e| e.into_inner());
            for (id, title, rest) in docs {
                let mut d = TantivyDocument::default();
                d.add_i64(f.id, i64::from(id));
                d.add_text(f.title, &title);
                d.add_text(f.rest, &rest);
                w.add_document(d)?;
            }
            Ok(())
        })
        .await
    }

    /// Commits what was added and shows it to searches (on the blocking pool).
    async fn commit(&self) -> AppResult<()> {
        let (writer, reader) = (self.writer.clone(), self.reader.clone());
        blocking(move || {
            writer.lock().unwrap_or_else(|e| e.into_inner()).commit()?;
            reader.reload()
        })
        .await
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
    /// `limit` ranked just before `after`, nearest first. Exact, without scoring
    /// every match where a floor allows ([`topk`]).
    pub fn top(
        &self,
        text: &TextQuery,
        after: Option<Hit>,
        backward: bool,
        limit: usize,
    ) -> AppResult<Vec<Hit>> {
        topk::top(
            &self.reader.searcher(),
            (self.fields.title, self.fields.rest),
            &self.bounds,
            text.tokens(),
            after,
            backward,
            limit,
        )
        .map_err(index_error)
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

/// Runs blocking index work on the blocking pool.
async fn blocking(work: impl FnOnce() -> tantivy::Result<()> + Send + 'static) -> AppResult<()> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("search index: {e}")))?
        .map_err(index_error)
}

/// The log's position now: on PostgreSQL the snapshot `db` reads under.
async fn position_now(db: &impl ConnectionTrait) -> AppResult<Position> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT pg_current_snapshot()::text AS p",
        _ => "SELECT CAST(COALESCE(MAX(seq), 0) AS TEXT) AS p FROM search_changes",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no position row")))?;
    let p: String = row.try_get("", "p")?;
    Ok(match backend {
        DbBackend::Postgres => Position::Snapshot(p),
        _ => Position::Seq(p.parse().unwrap_or_default()),
    })
}

/// The article ids logged past `from`, and the position after them.
async fn read_changes(
    db: &impl ConnectionTrait,
    from: &Position,
) -> AppResult<(Vec<i32>, Position)> {
    let backend = db.get_database_backend();
    let rows = match (backend, from) {
        // One statement, one snapshot: the rows it returns are exactly those of
        // the transactions it sees and `from` did not, and it is the next position.
        (DbBackend::Postgres, Position::Snapshot(snap)) => {
            db.query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT x.p, s.article_id \
                 FROM (SELECT pg_current_snapshot()::text AS p) x \
                 LEFT JOIN search_changes s \
                   ON s.txid >= pg_snapshot_xmin($1::pg_snapshot)::text::bigint \
                  AND NOT pg_visible_in_snapshot(s.txid::text::xid8, $1::pg_snapshot) \
                 ORDER BY s.seq",
                [snap.clone().into()],
            ))
            .await?
        }
        (_, Position::Seq(seq)) => {
            db.query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT CAST(seq AS TEXT) AS p, article_id FROM search_changes \
                 WHERE seq > ? ORDER BY seq",
                [(*seq).into()],
            ))
            .await?
        }
        _ => return Err(AppError::Internal(anyhow::anyhow!("no log position"))),
    };
    let mut next = from.clone();
    let mut ids = Vec::with_capacity(rows.len());
    for row in &rows {
        let p: String = row.try_get("", "p")?;
        next = match backend {
            DbBackend::Postgres => Position::Snapshot(p),
            _ => Position::Seq(p.parse().unwrap_or_default()),
        };
        if let Some(id) = row.try_get::<Option<i32>>("", "article_id")? {
            ids.push(id);
        }
    }
    Ok((ids, next))
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
