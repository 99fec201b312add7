//! Full-text search. Text is folded here (lowercase, accents removed, punctuation
//! dropped: `domain::name_key`) before it reaches either engine, and queries are
//! reduced to plain tokens, so SQLite FTS5 and PostgreSQL tsvector match the same
//! things and no user input can break the engines' query syntax.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryTrait, Select, Statement, Value,
};

use crate::auth::Actor;
use crate::domain::{
    ArticleFilter, ArticleOrder, Cursor, Direction, EventFilter, EventOrder, ExpertFilter,
    OutletFilter, Page, PageRequest, name_key,
};
use crate::entities::{article, event, expert, outlet};
use crate::error::{AppError, AppResult};
use crate::services::search_index::SearchIndex;

/// At most this many tokens of a query are used.
const MAX_TOKENS: usize = 12;

/// The searchable tokens of a user query (empty: nothing to search for).
fn tokens(query: &str) -> Vec<String> {
    name_key(query)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect())
        .take(MAX_TOKENS)
        .collect()
}

/// How one database engine holds, matches and ranks the search documents: the
/// only place where the two engines differ. Both hold folded text, one document
/// per article, with the title weighted above the rest.
struct Engine {
    /// The search table's column that holds the article id.
    key: &'static str,
    /// Joins the search table to `articles`.
    join: &'static str,
    /// Keeps the matches of the query text (bound once, as `$1` or `?`).
    matches: &'static str,
    /// The query text that `matches` and `rank` are given.
    query_text: fn(&TextQuery) -> String,
    /// The relevance of a matched row, higher is better; `rank_binds_query`:
    /// whether it is given the query text too.
    rank: &'static str,
    rank_binds_query: bool,
    /// The columns a document is written to, and one row of values in which
    /// `{id}`, `{title}` and `{rest}` stand for the engine's placeholders.
    columns: &'static str,
    row: &'static str,
    placeholder: fn(usize) -> String,
}

/// An FTS5 table whose rowid is the article id; bm25 is lower-is-better, and
/// titles weigh ten times the rest.
const SQLITE: Engine = Engine {
    key: "rowid",
    join: "article_search.rowid = articles.id",
    matches: "article_search MATCH ?",
    query_text: TextQuery::fts5,
    rank: "(-bm25(article_search, 10.0, 1.0))",
    rank_binds_query: false,
    columns: "rowid, title, rest",
    row: "({id}, {title}, {rest})",
    placeholder: |_| "?".to_owned(),
};

/// A GIN-indexed tsvector table, the title as weight A and the rest as B.
const POSTGRES: Engine = Engine {
    key: "article_id",
    join: "article_search.article_id = articles.id",
    matches: "article_search.tsv @@ plainto_tsquery('simple', $1)",
    query_text: TextQuery::plain,
    rank: "ts_rank_cd(article_search.tsv, plainto_tsquery('simple', $1))::float8",
    rank_binds_query: true,
    columns: "article_id, tsv",
    row: "({id}, setweight(to_tsvector('simple', {title}), 'A') || setweight(to_tsvector('simple', {rest}), 'B'))",
    placeholder: |n| format!("${n}"),
};

fn engine(backend: DbBackend) -> &'static Engine {
    match backend {
        DbBackend::Sqlite => &SQLITE,
        _ => &POSTGRES,
    }
}

/// A parsed text query, ready for either engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextQuery {
    tokens: Vec<String>,
}

impl TextQuery {
    /// `None` when the query has no searchable token.
    pub fn parse(query: &str) -> Option<Self> {
        let tokens = tokens(query);
        (!tokens.is_empty()).then_some(Self { tokens })
    }

    /// FTS5 MATCH text: every token, quoted (tokens are alphanumeric, so safe).
    fn fts5(&self) -> String {
        self.tokens
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The folded tokens, every one of which a match contains.
    pub(crate) fn tokens(&self) -> &[String] {
        &self.tokens
    }

    fn plain(&self) -> String {
        self.tokens.join(" ")
    }

    /// Restricts an article query to matches (joins the search table).
    pub(crate) fn restrict(
        &self,
        backend: DbBackend,
        mut q: Select<article::Entity>,
    ) -> Select<article::Entity> {
        let e = engine(backend);
        let s: &mut SelectStatement = QueryTrait::query(&mut q);
        s.join(
            JoinType::InnerJoin,
            Alias::new("article_search"),
            Expr::cust(e.join),
        )
        .and_where(Expr::cust_with_values(e.matches, [(e.query_text)(self)]));
        q
    }

    /// The relevance of a matched row (higher is better); use with [`Self::restrict`].
    pub(crate) fn rank(&self, backend: DbBackend) -> Expr {
        let e = engine(backend);
        if e.rank_binds_query {
            Expr::cust_with_values(e.rank, [(e.query_text)(self)])
        } else {
            Expr::cust(e.rank)
        }
    }
}

/// (Re)builds the search documents of `article_ids`: title, summary, body,
/// bylines, dateline, programme, expert names and aliases, outlet names and aliases.
pub async fn index_articles(db: &impl ConnectionTrait, article_ids: &[i32]) -> AppResult<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let docs = documents(db, article_ids).await?;
    drop_documents(db, article_ids).await?;
    log_changes(db, article_ids).await?;
    let e = engine(db.get_database_backend());
    let mut sql = format!("INSERT INTO article_search ({}) VALUES ", e.columns);
    let mut values: Vec<Value> = Vec::with_capacity(docs.len() * 3);
    for (i, (id, title, rest)) in docs.into_iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        let n = i * 3;
        sql.push_str(
            &e.row
                .replace("{id}", &(e.placeholder)(n + 1))
                .replace("{title}", &(e.placeholder)(n + 2))
                .replace("{rest}", &(e.placeholder)(n + 3)),
        );
        values.extend([id.into(), title.into(), rest.into()]);
    }
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// Removes the search documents of `article_ids` (FTS5 rows have no foreign key
/// to cascade from).
pub async fn remove_articles(db: &impl ConnectionTrait, article_ids: &[i32]) -> AppResult<()> {
    drop_documents(db, article_ids).await?;
    log_changes(db, article_ids).await
}

/// Appends `article_ids` to the search change log that every server's derived
/// index tails (`search_index`): in the caller's transaction, so a write that
/// rolls back leaves nothing to apply. PostgreSQL fills in the transaction id.
async fn log_changes(db: &impl ConnectionTrait, article_ids: &[i32]) -> AppResult<()> {
    let at = chrono::Utc::now().timestamp();
    for chunk in article_ids.chunks(1000) {
        let mut ins = Query::insert()
            .into_table(Alias::new("search_changes"))
            .columns([Alias::new("article_id"), Alias::new("changed_at")])
            .to_owned();
        for id in chunk {
            ins.values_panic([(*id).into(), at.into()]);
        }
        db.execute(&ins).await?;
    }
    Ok(())
}

/// Deletes the database engine's documents of `article_ids`.
async fn drop_documents(db: &impl ConnectionTrait, article_ids: &[i32]) -> AppResult<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let e = engine(db.get_database_backend());
    let ids: Vec<Value> = article_ids.iter().map(|i| (*i).into()).collect();
    let del = Query::delete()
        .from_table(Alias::new("article_search"))
        .and_where(Expr::col(Alias::new(e.key)).is_in(ids))
        .to_owned();
    db.execute(&del).await?;
    Ok(())
}

/// The folded (id, title, rest) search documents of `article_ids` (those that
/// still exist).
pub(crate) async fn documents(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> AppResult<Vec<(i32, String, String)>> {
    let articles = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        article::Entity::find()
            .filter(article::Column::Id.is_in(article_ids.to_vec()))
            .all(db)
            .await?
    };
    let experts = super::articles::experts_of(db, article_ids).await?;
    let outlets = outlet_names(db, &articles).await?;
    let mut rows = Vec::with_capacity(articles.len());
    for a in &articles {
        let mut rest = String::new();
        let mut push = |s: &str| {
            rest.push_str(s);
            rest.push(' ');
        };
        for s in [&a.summary, &a.body, &a.dateline, &a.program]
            .into_iter()
            .flatten()
        {
            push(s);
        }
        let authors: Vec<String> = serde_json::from_value(a.authors.clone()).unwrap_or_default();
        for s in &authors {
            push(s);
        }
        for e in experts.get(&a.id).into_iter().flatten() {
            push(&e.name);
            for alias in super::experts::aliases(&e.aliases) {
                push(&alias);
            }
        }
        if let Some(o) = a.outlet_id.and_then(|id| outlets.get(&id)) {
            push(o);
        }
        rows.push((a.id, name_key(&a.title), name_key(&rest)));
    }
    Ok(rows)
}

/// The name and aliases of each outlet of `articles`, as one text.
async fn outlet_names(
    db: &impl ConnectionTrait,
    articles: &[article::Model],
) -> AppResult<HashMap<i32, String>> {
    let mut outlet_ids: Vec<i32> = articles.iter().filter_map(|a| a.outlet_id).collect();
    outlet_ids.sort_unstable();
    outlet_ids.dedup();
    Ok(super::outlets::by_ids(db, &outlet_ids)
        .await?
        .into_iter()
        .map(|o| {
            let mut names = o.name.clone();
            for a in super::experts::aliases(&o.aliases) {
                names.push(' ');
                names.push_str(&a);
            }
            (o.id, names)
        })
        .collect())
}

/// One result of a site-wide search.
#[derive(Clone, Debug)]
pub enum Hit {
    Expert(expert::Model),
    Outlet(outlet::Model),
    Event(event::Model),
    Article(article::Model),
}

impl Hit {
    /// The cursor of this hit: its section (its place in [`SECTIONS`]) and its
    /// place in that section.
    pub fn cursor(&self) -> Cursor {
        let (mut c, k) = match self {
            Hit::Expert(m) => (super::experts::cursor_of(m), 0),
            Hit::Outlet(m) => (super::outlets::cursor_of(m), 1),
            Hit::Event(m) => (super::events::cursor_of(m), 2),
            Hit::Article(m) => (super::articles::cursor_of(m), 3),
        };
        c.kind = Some(k);
        c
    }
}

type Found<'a, T> = BoxFuture<'a, AppResult<T>>;

/// A page of one kind's matches for a query, after a cursor of its own.
type PageOf = for<'a> fn(
    &'a DatabaseConnection,
    Option<&'a std::sync::Arc<SearchIndex>>,
    &'a Actor,
    &'a str,
    &'a PageRequest,
) -> Found<'a, Vec<Hit>>;

/// One kind of result in a site-wide search: a page of its matches for a query
/// (after a cursor of its own), and how many there are.
struct Section {
    page: PageOf,
    count: for<'a> fn(&'a DatabaseConnection, &'a Actor, &'a str) -> Found<'a, u64>,
}

fn q(query: &str) -> Option<String> {
    Some(query.to_owned())
}

/// The kinds a site-wide search covers, in the order they are shown: a reader
/// typing a name wants the person or outlet before the articles that mention
/// it. Adding a kind to the search is one entry here (and its [`Hit`]).
const SECTIONS: [Section; 4] = [
    Section {
        page: |db, _, _, query, page| {
            let f = ExpertFilter {
                query: q(query),
                topic: None,
            };
            Box::pin(async move {
                let p = super::experts::list(db, &f, page).await?;
                Ok(p.items.into_iter().map(Hit::Expert).collect())
            })
        },
        count: |db, _, query| {
            let f = ExpertFilter {
                query: q(query),
                topic: None,
            };
            Box::pin(async move { super::experts::count(db, &f).await })
        },
    },
    Section {
        page: |db, _, _, query, page| {
            let f = OutletFilter {
                query: q(query),
                kind: None,
            };
            Box::pin(async move {
                let p = super::outlets::list(db, &f, page).await?;
                Ok(p.items.into_iter().map(Hit::Outlet).collect())
            })
        },
        count: |db, _, query| {
            let f = OutletFilter {
                query: q(query),
                kind: None,
            };
            Box::pin(async move { super::outlets::count(db, &f).await })
        },
    },
    Section {
        page: |db, _, actor, query, page| {
            let f = EventFilter {
                query: q(query),
                ..Default::default()
            };
            Box::pin(async move {
                let p = super::events::list(db, actor, &f, Some(EventOrder::Latest), page).await?;
                Ok(p.items.into_iter().map(Hit::Event).collect())
            })
        },
        count: |db, actor, query| {
            let f = EventFilter {
                query: q(query),
                ..Default::default()
            };
            Box::pin(async move { super::events::count(db, actor, &f).await })
        },
    },
    Section {
        page: |db, index, actor, query, page| {
            let f = ArticleFilter {
                query: q(query),
                ..Default::default()
            };
            Box::pin(async move {
                let order = ArticleOrder::Relevance;
                let p = super::articles::list_ranked(db, index, actor, &f, order, page).await?;
                Ok(p.items.into_iter().map(Hit::Article).collect())
            })
        },
        count: |db, actor, query| {
            let f = ArticleFilter {
                query: q(query),
                ..Default::default()
            };
            Box::pin(async move { super::articles::count(db, actor, &f).await })
        },
    },
];

/// Searches every kind in [`SECTIONS`] in turn: experts and outlets (names and
/// aliases), events (title, venue, city), then articles (full text, by relevance:
/// from the server's relevance index when it has one).
pub async fn search(
    db: &DatabaseConnection,
    index: Option<&std::sync::Arc<SearchIndex>>,
    actor: &Actor,
    query: &str,
    page: &PageRequest,
) -> AppResult<Page<Hit>> {
    if page.direction == Direction::Backward {
        return Err(AppError::invalid("last", "search pages forward only"));
    }
    if TextQuery::parse(query).is_none() {
        return Ok(Page {
            items: vec![],
            has_next: false,
            has_previous: false,
        });
    }
    let start = page.cursor.as_ref().and_then(|c| c.kind).unwrap_or(0) as usize;
    let want = page.limit as usize + 1;
    let mut hits: Vec<Hit> = Vec::with_capacity(want);
    for (kind, section) in SECTIONS.iter().enumerate().skip(start) {
        let remaining = want - hits.len();
        if remaining == 0 {
            break;
        }
        let sub = PageRequest {
            limit: remaining as u64,
            direction: Direction::Forward,
            cursor: page.cursor.clone().filter(|_| kind == start),
        };
        hits.extend((section.page)(db, index, actor, query, &sub).await?);
    }
    let has_next = hits.len() > page.limit as usize;
    hits.truncate(page.limit as usize);
    Ok(Page {
        items: hits,
        has_next,
        has_previous: page.cursor.is_some(),
    })
}

/// How many results [`search`] has in all.
pub async fn count(db: &DatabaseConnection, actor: &Actor, query: &str) -> AppResult<u64> {
    if TextQuery::parse(query).is_none() {
        return Ok(0);
    }
    let mut n = 0;
    for section in &SECTIONS {
        n += (section.count)(db, actor, query).await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_plain_folded_tokens() {
        assert_eq!(tokens("Renforcée  ALLIANCE"), vec!["renforcee", "alliance"]);
        assert_eq!(tokens("\""), Vec::<String>::new());
        assert_eq!(tokens("NEAR(oil"), vec!["near", "oil"]);
        assert!(TextQuery::parse("\" * ( )").is_none());
        assert_eq!(
            TextQuery::parse("oil prices").unwrap().fts5(),
            "\"oil\" \"prices\""
        );
    }
    proptest::proptest! {
        #[test]
        fn any_query_gives_bounded_plain_tokens(q in "\\PC{0,400}") {
            let t = tokens(&q);
            proptest::prop_assert!(t.len() <= MAX_TOKENS);
            for token in &t {
                proptest::prop_assert!(!token.is_empty() && token.chars().count() <= 64);
                proptest::prop_assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token:?}");
            }
            proptest::prop_assert_eq!(TextQuery::parse(&q).is_some(), !t.is_empty());
        }
    }
}
