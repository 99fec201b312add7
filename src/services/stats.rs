//! Coverage statistics: how many mentions the public may see, grouped by a
//! subject (expert, outlet, topic, language) and/or a period (UTC calendar
//! month, ISO week).
//!
//! What is counted is exactly what the anonymous article list shows
//! (`articles::visible`: published, publish time passed, so a scheduled article
//! counts from its time on) and, with a filter, what it shows for that filter
//! (`articles::public_ids`). An article counts once in each group it belongs
//! to: once for each expert it quotes, each topic it has; an article without an
//! outlet is in no outlet group (it is in `total`). Rolled up, an outlet counts
//! under its top parent.
//!
//! Speed: one `GROUP BY` over an index that holds every column it reads (the
//! migration `m20261203_000001_stats_indexes`): the articles' date, status,
//! publish time, outlet and language; the link tables' date, key and article.
//! The link tables carry no status, so a grouping by expert or topic takes the
//! links in the range minus those of the range's articles the public may not
//! see (drafts, archived, scheduled ahead: few), in the same statement.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait};

use crate::auth::Actor;
use crate::domain::{MentionGroup, MentionStatsQuery};
use crate::entities::{article, outlet};
use crate::error::AppResult;

use super::{articles, experts, topics};

mod rollup;

use rollup::{Grain, Span};
pub use rollup::{refresh, run_refresher, verify};

/// One group's key part: its value (a slug, a language code, `2026-03`,
/// `2026-W09`) and, for experts, outlets, topics and weeks, a label (the name;
/// the week's Monday).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub group: MentionGroup,
    pub value: String,
    pub label: Option<String>,
}

/// One group: its keys in the order asked for, and its count.
#[derive(Clone, Debug)]
pub struct Group {
    pub keys: Vec<Key>,
    pub count: i64,
}

/// The answer: the groups (largest first, at most the query's limit), how many
/// groups there were before the limit, and how many distinct articles matched.
#[derive(Clone, Debug)]
pub struct MentionStats {
    pub groups: Vec<Group>,
    pub group_count: usize,
    pub total: i64,
}

/// A raw row: subject id or code, period bucket, count.
type Row = (Option<SubjectKey>, Option<String>, i64);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum SubjectKey {
    Id(i32),
    Code(String),
}

/// Counts the public's mentions for `q`.
pub async fn mentions(db: &impl ConnectionTrait, q: &MentionStatsQuery) -> AppResult<MentionStats> {
    let only = if has_conditions(q) {
        match articles::public_ids(db, &q.filter).await? {
            Some(ids) => Some(ids),
            None => {
                return Ok(MentionStats {
                    groups: vec![],
                    group_count: 0,
                    total: 0,
                });
            }
        }
    } else {
        None
    };
    let backend = db.get_database_backend();
    let range = Span {
        from: q.filter.published_after,
        to: q.filter.published_before,
    };
    let (rows, matched) = match only {
        // A filter: counted from the tables.
        Some(ids) => (
            grouped_rows(db, backend, q, range, Some(ids.clone())).await?,
            total(db, range, Some(ids)).await?,
        ),
        // A date range alone: the rollups' whole fresh buckets, the rest
        // from the tables.
        None => {
            let grain = Grain::of(q.period());
            let plan = rollup::plan(grain, range, &rollup::stale(db, grain).await?);
            let by_bucket = q.period().is_some();
            let mut rows = rollup::rows(db, grain, q.subject(), &plan, by_bucket).await?;
            let (ahead, ahead_total) =
                rollup::ahead(db, grain, q.subject(), &plan, by_bucket).await?;
            rows.extend(ahead);
            let mut n = rollup::total(db, grain, &plan).await? + ahead_total;
            for span in &plan.raw {
                rows.extend(grouped_rows(db, backend, q, *span, None).await?);
                n += total(db, *span, None).await?;
            }
            (rows, n)
        }
    };
    let mut groups = label(db, q, rows).await?;
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| key_order(a, b)));
    let group_count = groups.len();
    groups.truncate(q.limit);
    Ok(MentionStats {
        groups,
        group_count,
        total: matched,
    })
}

/// Whether the filter says more than a date range.
fn has_conditions(q: &MentionStatsQuery) -> bool {
    let f = &q.filter;
    f.expert.is_some()
        || f.outlet.is_some()
        || f.topic.is_some()
        || f.language.is_some()
        || f.query.is_some()
}

fn key_order(a: &Group, b: &Group) -> std::cmp::Ordering {
    let ka = a.keys.iter().map(|k| k.value.as_str());
    let kb = b.keys.iter().map(|k| k.value.as_str());
    ka.cmp(kb)
}

/// The table a grouping counts rows of, its key column and its article column.
struct Driver {
    table: &'static str,
    key: Option<&'static str>,
    article: &'static str,
}

fn driver(subject: Option<MentionGroup>) -> Driver {
    let on_articles = |key| Driver {
        table: "articles",
        key,
        article: "id",
    };
    match subject {
        Some(MentionGroup::Expert) => Driver {
            table: "article_experts",
            key: Some("expert_id"),
            article: "article_id",
        },
        Some(MentionGroup::Topic) => Driver {
            table: "article_topics",
            key: Some("topic_id"),
            article: "article_id",
        },
        Some(MentionGroup::Outlet) => on_articles(Some("outlet_id")),
        Some(MentionGroup::Language) => on_articles(Some("language")),
        _ => on_articles(None),
    }
}

/// The period bucket of a row, as text: `YYYY-MM`, or the Monday of its ISO
/// week as `YYYY-MM-DD` (UTC on both databases).
fn bucket(backend: DbBackend, period: MentionGroup, table: &str) -> Expr {
    let col = format!("\"{table}\".\"published_at\"");
    let sql = match (backend, period) {
        (DbBackend::Postgres, MentionGroup::Month) => {
            format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
        (DbBackend::Postgres, _) => {
            format!("to_char(date_trunc('week', {col} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')")
        }
        (_, MentionGroup::Month) => format!("strftime('%Y-%m', {col})"),
        (_, _) => format!("date({col}, 'weekday 0', '-6 days')"),
    };
    Expr::cust(sql)
}

/// The subject's key column. On SQLite, an article column is grouped as
/// `+column`, which keeps the planner from walking the key-leading listing
/// index (whose rows lack the status: a row read per article) to spare the
/// sort; it then scans the range of the covering stats index.
fn subject_key(backend: DbBackend, d: &Driver, k: &'static str) -> Expr {
    if backend == DbBackend::Sqlite && d.table == "articles" {
        Expr::cust(format!("+\"{}\".\"{k}\"", d.table))
    } else {
        Expr::col((Alias::new(d.table), Alias::new(k)))
    }
}

/// The date range of the filter on `table`'s copy of the publication date.
fn in_range(range: Span, table: &'static str, s: &mut SelectStatement) {
    let col = Expr::col((Alias::new(table), Alias::new("published_at")));
    if let Some(from) = range.from {
        s.and_where(col.clone().gte(from));
    }
    if let Some(to) = range.to {
        s.and_where(col.lt(to));
    }
}

/// The condition on the articles table that keeps what the public may see.
fn public() -> sea_orm::Condition {
    articles::visible(&Actor::Anonymous).unwrap_or_else(sea_orm::Condition::all)
}

/// The ids of the range's articles the public may not see.
fn hidden(range: Span) -> SelectStatement {
    let mut s = Query::select();
    s.column((article::Entity, article::Column::Id))
        .from(article::Entity)
        .cond_where(public().not());
    in_range(range, "articles", &mut s);
    s
}

async fn grouped_rows(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    q: &MentionStatsQuery,
    range: Span,
    only: Option<SelectStatement>,
) -> AppResult<Vec<Row>> {
    let d = driver(q.subject());
    let mut s = Query::select();
    s.from(Alias::new(d.table));
    if let Some(k) = d.key {
        let key = subject_key(backend, &d, k);
        s.expr_as(key.clone(), Alias::new("k")).add_group_by([key]);
    }
    if let Some(p) = q.period() {
        let b = bucket(backend, p, d.table);
        s.expr_as(b.clone(), Alias::new("b")).add_group_by([b]);
    }
    s.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
    in_range(range, d.table, &mut s);
    let article_col = Expr::col((Alias::new(d.table), Alias::new(d.article)));
    if d.table == "articles" {
        s.cond_where(public());
    } else {
        s.and_where(article_col.clone().not_in_subquery(hidden(range)));
    }
    if let Some(ids) = only {
        s.and_where(article_col.in_subquery(ids));
    }
    let mut out = Vec::new();
    for row in db.query_all(&s).await? {
        let key = match (d.key, q.subject()) {
            (None, _) => None,
            (Some(_), Some(MentionGroup::Language)) => row
                .try_get::<Option<String>>("", "k")?
                .map(SubjectKey::Code),
            (Some(_), _) => row.try_get::<Option<i32>>("", "k")?.map(SubjectKey::Id),
        };
        if d.key.is_some() && key.is_none() {
            // An article without an outlet is in no outlet group.
            continue;
        }
        let b = match q.period() {
            Some(_) => row.try_get::<Option<String>>("", "b")?,
            None => None,
        };
        out.push((key, b, row.try_get::<i64>("", "n")?));
    }
    Ok(out)
}

/// How many distinct articles the public may see match the query.
async fn total(
    db: &impl ConnectionTrait,
    range: Span,
    only: Option<SelectStatement>,
) -> AppResult<i64> {
    let mut s = Query::select();
    s.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from(article::Entity)
        .cond_where(public());
    in_range(range, "articles", &mut s);
    if let Some(ids) = only {
        s.and_where(Expr::col((article::Entity, article::Column::Id)).in_subquery(ids));
    }
    Ok(match db.query_one(&s).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

/// Turns raw rows into labelled groups (outlets rolled up to their top parent
/// when asked), merging rows whose keys became equal.
async fn label(
    db: &impl ConnectionTrait,
    q: &MentionStatsQuery,
    rows: Vec<Row>,
) -> AppResult<Vec<Group>> {
    let names = subject_names(db, q, &rows).await?;
    let mut merged: HashMap<(Option<Key>, Option<String>), i64> = HashMap::new();
    for (k, b, n) in rows {
        let subject = match (&k, q.subject()) {
            (Some(k), Some(g)) => names.get(k).map(|(value, label)| Key {
                group: g,
                value: value.clone(),
                label: label.clone(),
            }),
            _ => None,
        };
        if k.is_some() && subject.is_none() {
            continue;
        }
        *merged.entry((subject, b)).or_default() += n;
    }
    Ok(merged
        .into_iter()
        .map(|((subject, b), count)| {
            let period = q.period().zip(b).map(|(g, b)| period_key(g, b));
            let keys = q
                .group_by
                .iter()
                .filter_map(|g| {
                    if g.is_period() {
                        period.clone()
                    } else {
                        subject.clone()
                    }
                })
                .collect();
            Group { keys, count }
        })
        // A group made only of articles scheduled ahead.
        .filter(|g| g.count > 0)
        .collect())
}

fn period_key(g: MentionGroup, bucket: String) -> Key {
    match (g, NaiveDate::parse_from_str(&bucket, "%Y-%m-%d")) {
        (MentionGroup::Week, Ok(monday)) => {
            let w = monday.iso_week();
            Key {
                group: g,
                value: format!("{}-W{:02}", w.year(), w.week()),
                label: Some(bucket),
            }
        }
        _ => Key {
            group: g,
            value: bucket,
            label: None,
        },
    }
}

/// Each subject key's value and label: slug and name (of the top parent when
/// outlets roll up), or the language code.
async fn subject_names(
    db: &impl ConnectionTrait,
    q: &MentionStatsQuery,
    rows: &[Row],
) -> AppResult<HashMap<SubjectKey, (String, Option<String>)>> {
    let ids: Vec<i32> = rows
        .iter()
        .filter_map(|(k, _, _)| match k {
            Some(SubjectKey::Id(id)) => Some(*id),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let named = |pairs: Vec<(i32, String, String)>| {
        pairs
            .into_iter()
            .map(|(id, slug, name)| (SubjectKey::Id(id), (slug, Some(name))))
            .collect()
    };
    Ok(match q.subject() {
        Some(MentionGroup::Expert) => named(
            experts::by_ids(db, &ids)
                .await?
                .into_iter()
                .map(|e| (e.id, e.slug, e.name))
                .collect(),
        ),
        Some(MentionGroup::Topic) => named(
            topics::by_ids(db, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t.slug, t.name))
                .collect(),
        ),
        Some(MentionGroup::Outlet) => named(outlet_names(db, &ids, q.roll_up_outlets).await?),
        _ => rows
            .iter()
            .filter_map(|(k, _, _)| match k {
                Some(SubjectKey::Code(c)) => Some((SubjectKey::Code(c.clone()), (c.clone(), None))),
                _ => None,
            })
            .collect(),
    })
}

/// Each outlet's id with the slug and name it is counted under: its own, or
/// rolled up, its top parent's.
async fn outlet_names(
    db: &impl ConnectionTrait,
    ids: &[i32],
    roll_up: bool,
) -> AppResult<Vec<(i32, String, String)>> {
    if !roll_up {
        return Ok(super::outlets::by_ids(db, ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o.slug, o.name))
            .collect());
    }
    let all: HashMap<i32, outlet::Model> = outlet::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(ids
        .iter()
        .filter_map(|id| {
            let mut o = all.get(id)?;
            // Bounded: a cycle in the parents (which writes refuse) cannot loop.
            for _ in 0..all.len() {
                match o.parent_id.and_then(|p| all.get(&p)) {
                    Some(parent) => o = parent,
                    None => break,
                }
            }
            Some((*id, o.slug.clone(), o.name.clone()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_is_named_by_its_iso_week_and_labelled_by_its_monday() {
        let k = period_key(MentionGroup::Week, "2024-12-30".into());
        assert_eq!(k.value, "2025-W01");
        assert_eq!(k.label.as_deref(), Some("2024-12-30"));
        let m = period_key(MentionGroup::Month, "2025-03".into());
        assert_eq!((m.value.as_str(), m.label), ("2025-03", None));
    }
}
