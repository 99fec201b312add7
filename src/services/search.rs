//! Full-text search. Text is folded here (lowercase, accents removed, punctuation
//! dropped: `domain::name_key`) before it reaches either engine, and queries are
//! reduced to plain tokens, so SQLite FTS5 and PostgreSQL tsvector match the same
//! things and no user input can break the engines' query syntax.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Select, Statement, Value};

use crate::domain::name_key;
use crate::entities::article;
use crate::error::AppResult;

/// At most this many tokens of a query are used.
const MAX_TOKENS: usize = 12;

/// The searchable tokens of a user query (empty: nothing to search for).
pub fn tokens(query: &str) -> Vec<String> {
    name_key(query)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect())
        .take(MAX_TOKENS)
        .collect()
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

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// FTS5 MATCH text: every token, quoted (tokens are alphanumeric, so safe).
    fn fts5(&self) -> String {
        self.tokens
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" ")
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
        let s: &mut SelectStatement = QueryTrait::query(&mut q);
        match backend {
            DbBackend::Sqlite => {
                s.join(
                    JoinType::InnerJoin,
                    Alias::new("article_search"),
                    Expr::cust("article_search.rowid = articles.id"),
                )
                .and_where(Expr::cust_with_values(
                    "article_search MATCH ?",
                    [self.fts5()],
                ));
            }
            _ => {
                s.join(
                    JoinType::InnerJoin,
                    Alias::new("article_search"),
                    Expr::cust("article_search.article_id = articles.id"),
                )
                .and_where(Expr::cust_with_values(
                    "article_search.tsv @@ plainto_tsquery('simple', $1)",
                    [self.plain()],
                ));
            }
        }
        q
    }

    /// The relevance of a matched row (higher is better); use with [`restrict`].
    pub(crate) fn rank(&self, backend: DbBackend) -> Expr {
        match backend {
            // bm25 is lower-is-better; titles weigh ten times the rest.
            DbBackend::Sqlite => Expr::cust("(-bm25(article_search, 10.0, 1.0))"),
            _ => Expr::cust_with_values(
                "ts_rank_cd(article_search.tsv, plainto_tsquery('simple', $1))::float8",
                [self.plain()],
            ),
        }
    }
}

/// (Re)builds the search documents of `article_ids`: title, summary, body,
/// bylines, dateline, programme, expert names and aliases, outlet names and aliases.
pub async fn index_articles(db: &impl ConnectionTrait, article_ids: &[i32]) -> AppResult<()> {
    if article_ids.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let articles = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        article::Entity::find()
            .filter(article::Column::Id.is_in(article_ids.to_vec()))
            .all(db)
            .await?
    };
    let experts = super::articles::experts_of(db, article_ids).await?;
    let mut outlet_ids: Vec<i32> = articles.iter().filter_map(|a| a.outlet_id).collect();
    outlet_ids.sort_unstable();
    outlet_ids.dedup();
    let outlets: HashMap<i32, String> = super::outlets::by_ids(db, &outlet_ids)
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
        .collect();
    let mut rows: Vec<(i32, String, String)> = Vec::with_capacity(articles.len());
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
    let ids: Vec<Value> = article_ids.iter().map(|i| (*i).into()).collect();
    match backend {
        DbBackend::Sqlite => {
            let del = Query::delete()
                .from_table(Alias::new("article_search"))
                .and_where(Expr::col(Alias::new("rowid")).is_in(ids))
                .to_owned();
            db.execute(&del).await?;
            let mut ins = Query::insert();
            ins.into_table(Alias::new("article_search")).columns([
                Alias::new("rowid"),
                Alias::new("title"),
                Alias::new("rest"),
            ]);
            for (id, title, rest) in rows {
                ins.values_panic([id.into(), title.into(), rest.into()]);
            }
            db.execute(&ins).await?;
        }
        _ => {
            let mut sql = String::from("INSERT INTO article_search (article_id, tsv) VALUES ");
            let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 3);
            for (i, (id, title, rest)) in rows.into_iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let n = i * 3;
                sql.push_str(&format!(
                    "(${}, setweight(to_tsvector('simple', ${}), 'A') || setweight(to_tsvector('simple', ${}), 'B'))",
                    n + 1,
                    n + 2,
                    n + 3
                ));
                values.extend([id.into(), title.into(), rest.into()]);
            }
            sql.push_str(" ON CONFLICT (article_id) DO UPDATE SET tsv = EXCLUDED.tsv");
            db.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .await?;
        }
    }
    Ok(())
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

/// One result of a site-wide search.
#[derive(Clone, Debug)]
pub enum Hit {
    Expert(crate::entities::expert::Model),
    Outlet(crate::entities::outlet::Model),
    Event(crate::entities::event::Model),
    Article(crate::entities::article::Model),
}

impl Hit {
    /// The cursor of this hit: its section and its place in that section.
    pub fn cursor(&self) -> crate::domain::Cursor {
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

/// Searches experts and outlets (names and aliases), events (title, venue, city)
/// and articles (full text, by relevance), in that order: a reader typing a name
/// wants the person or outlet before the articles that mention it.
pub async fn search(
    db: &impl ConnectionTrait,
    actor: &crate::auth::Actor,
    query: &str,
    page: &crate::domain::PageRequest,
) -> AppResult<crate::domain::Page<Hit>> {
    use crate::domain::{
        ArticleFilter, ArticleOrder, Direction, EventFilter, EventOrder, ExpertFilter,
        OutletFilter, Page, PageRequest,
    };
    if page.direction == Direction::Backward {
        return Err(crate::error::AppError::invalid(
            "last",
            "search pages forward only",
        ));
    }
    let empty = Page {
        items: vec![],
        has_next: false,
        has_previous: false,
    };
    if TextQuery::parse(query).is_none() {
        return Ok(empty);
    }
    let start = page.cursor.as_ref().and_then(|c| c.kind).unwrap_or(0);
    let want = page.limit as usize + 1;
    let mut hits: Vec<Hit> = Vec::with_capacity(want);
    for kind in start..4 {
        let remaining = want - hits.len();
        if remaining == 0 {
            break;
        }
        let sub = PageRequest {
            limit: remaining as u64,
            direction: Direction::Forward,
            cursor: if kind == start {
                page.cursor.clone()
            } else {
                None
            },
        };
        let q = Some(query.to_owned());
        match kind {
            0 => hits.extend(
                super::experts::list(
                    db,
                    &ExpertFilter {
                        query: q,
                        topic: None,
                    },
                    &sub,
                )
                .await?
                .items
                .into_iter()
                .map(Hit::Expert),
            ),
            1 => hits.extend(
                super::outlets::list(
                    db,
                    &OutletFilter {
                        query: q,
                        kind: None,
                    },
                    &sub,
                )
                .await?
                .items
                .into_iter()
                .map(Hit::Outlet),
            ),
            2 => hits.extend(
                super::events::list(
                    db,
                    actor,
                    &EventFilter {
                        query: q,
                        ..Default::default()
                    },
                    Some(EventOrder::Latest),
                    &sub,
                )
                .await?
                .items
                .into_iter()
                .map(Hit::Event),
            ),
            _ => hits.extend(
                super::articles::list(
                    db,
                    actor,
                    &ArticleFilter {
                        query: q,
                        ..Default::default()
                    },
                    ArticleOrder::Relevance,
                    &sub,
                )
                .await?
                .items
                .into_iter()
                .map(Hit::Article),
            ),
        }
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
pub async fn count(
    db: &impl ConnectionTrait,
    actor: &crate::auth::Actor,
    query: &str,
) -> AppResult<u64> {
    use crate::domain::{ArticleFilter, EventFilter, ExpertFilter, OutletFilter};
    if TextQuery::parse(query).is_none() {
        return Ok(0);
    }
    let q = Some(query.to_owned());
    Ok(super::experts::count(
        db,
        &ExpertFilter {
            query: q.clone(),
            topic: None,
        },
    )
    .await?
        + super::outlets::count(
            db,
            &OutletFilter {
                query: q.clone(),
                kind: None,
            },
        )
        .await?
        + super::events::count(
            db,
            actor,
            &EventFilter {
                query: q.clone(),
                ..Default::default()
            },
        )
        .await?
        + super::articles::count(
            db,
            actor,
            &ArticleFilter {
                query: q,
                ..Default::default()
            },
        )
        .await?)
}
