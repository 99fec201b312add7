//! The statistics' rollups: per calendar month (`m`) and ISO week (`w`), the
//! published articles counted in all and by outlet, language, expert and topic
//! (table `stats_rollups`, migration `m20261205_000001_stats_rollups`).
//!
//! Which buckets a write made stale the database records itself: triggers on
//! the articles and link tables mark the bucket of every row written, before
//! and after (`stats_dirty`), whatever the path (REST, GraphQL, mentions,
//! import, a script with SQL). A query reads the rollups for the whole buckets
//! of its range that are not stale, and counts the rest (partial buckets at
//! either end, stale ones) from the tables, so an answer never waits for a
//! recount and never lags a write. [`refresh`] recounts stale buckets (the
//! server runs it after its own commits and others' heard through `NOTIFY`:
//! [`run_refresher`]).
//!
//! The rollups count `status = published` whatever the publish time; the
//! articles scheduled ahead (few) are taken off at read time ([`ahead`]), so a
//! scheduled article counts from its time on with no write at all.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};

use crate::domain::{ArticleStatus, MentionGroup};
use crate::entities::{article, article_expert, article_topic};
use crate::error::AppResult;

use super::{Row, SubjectKey};

/// How long a bucket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Grain {
    Month,
    Week,
}

impl Grain {
    /// The grain a query reads: weeks for a weekly grouping, else months.
    pub(super) fn of(period: Option<MentionGroup>) -> Self {
        match period {
            Some(MentionGroup::Week) => Grain::Week,
            _ => Grain::Month,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Grain::Month => "m",
            Grain::Week => "w",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "m" => Some(Grain::Month),
            "w" => Some(Grain::Week),
            _ => None,
        }
    }

    /// The first day of the bucket `day` falls in.
    fn first_day(self, day: NaiveDate) -> NaiveDate {
        match self {
            Grain::Month => day.with_day(1).unwrap_or(day),
            Grain::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        }
    }

    /// The bucket's name as the tables' SQL names it: `2026-03`, or the
    /// week's Monday `2026-03-02`.
    fn name(self, first_day: NaiveDate) -> String {
        match self {
            Grain::Month => first_day.format("%Y-%m").to_string(),
            Grain::Week => first_day.format("%Y-%m-%d").to_string(),
        }
    }

    /// The name of the bucket `t` falls in (UTC).
    pub(super) fn bucket_of(self, t: DateTime<Utc>) -> String {
        self.name(self.first_day(t.date_naive()))
    }

    /// The start of the bucket `t` falls in.
    fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        midnight(self.first_day(t.date_naive()))
    }

    /// The start of the bucket after the one starting at `start`.
    fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        let day = start.date_naive();
        midnight(match self {
            Grain::Month => day
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(day),
            Grain::Week => day + Duration::days(7),
        })
    }

    /// A bucket's start and end, from its name; `None` for a name that is not one.
    fn span(self, bucket: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let day = match self {
            Grain::Month => NaiveDate::parse_from_str(&format!("{bucket}-01"), "%Y-%m-%d").ok()?,
            Grain::Week => NaiveDate::parse_from_str(bucket, "%Y-%m-%d").ok()?,
        };
        let start = midnight(self.first_day(day));
        (self.name(self.first_day(day)) == bucket).then(|| (start, self.next(start)))
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// A range of publication dates (`from` included, `to` excluded; `None` open).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// How a query's range is read: the whole buckets `[lo, hi)` by name from
/// the rollups (open ends unbounded), but the stale ones; the rest (partial
/// buckets at the ends, the stale ones) from the tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    pub covered: Option<(Option<String>, Option<String>)>,
    pub stale: Vec<String>,
    pub raw: Vec<Span>,
}

impl Plan {
    /// Whether a bucket is read from the rollups.
    fn reads(&self, bucket: &str) -> bool {
        match &self.covered {
            Some((lo, hi)) => {
                lo.as_deref().is_none_or(|lo| bucket >= lo)
                    && hi.as_deref().is_none_or(|hi| bucket < hi)
                    && !self.stale.iter().any(|s| s == bucket)
            }
            None => false,
        }
    }
}

/// Splits `range` into what the rollups answer and what the tables do.
pub(super) fn plan(grain: Grain, range: Span, stale: &[String]) -> Plan {
    let lo = range.from.map(|f| {
        let s = grain.floor(f);
        if s == f { s } else { grain.next(s) }
    });
    let hi = range.to.map(|t| grain.floor(t));
    if let (Some(lo), Some(hi)) = (lo, hi)
        && lo >= hi
    {
        return Plan {
            raw: vec![range],
            ..Plan::default()
        };
    }
    let mut raw = Vec::new();
    if let (Some(from), Some(lo)) = (range.from, lo)
        && from < lo
    {
        raw.push(Span {
            from: Some(from),
            to: Some(lo),
        });
    }
    if let (Some(to), Some(hi)) = (range.to, hi)
        && hi < to
    {
        raw.push(Span {
            from: Some(hi),
            to: Some(to),
        });
    }
    let mut inside = Vec::new();
    for b in stale {
        if let Some((s, e)) = grain.span(b)
            && lo.is_none_or(|lo| s >= lo)
            && hi.is_none_or(|hi| e <= hi)
        {
            raw.push(Span {
                from: Some(s),
                to: Some(e),
            });
            inside.push(b.clone());
        }
    }
    Plan {
        covered: Some((
            lo.map(|t| grain.bucket_of(t)),
            hi.map(|t| grain.bucket_of(t)),
        )),
        stale: inside,
        raw,
    }
}

/// The stale buckets of a grain.
pub(super) async fn stale(db: &impl ConnectionTrait, grain: Grain) -> AppResult<Vec<String>> {
    let mut s = Query::select();
    s.distinct()
        .column(Alias::new("bucket"))
        .from(Alias::new("stats_dirty"))
        .and_where(Expr::col(Alias::new("grain")).eq(grain.code()));
    let mut out = Vec::new();
    for row in db.query_all(&s).await? {
        out.push(row.try_get::<String>("", "bucket")?);
    }
    Ok(out)
}

/// The rollups' dimension of a grouping's subject (`all` without one).
fn dim(subject: Option<MentionGroup>) -> &'static str {
    match subject {
        Some(MentionGroup::Expert) => "expert",
        Some(MentionGroup::Topic) => "topic",
        Some(MentionGroup::Outlet) => "outlet",
        Some(MentionGroup::Language) => "language",
        _ => "all",
    }
}

fn subject_key(subject: Option<MentionGroup>, k: String) -> Option<SubjectKey> {
    match subject {
        None | Some(MentionGroup::Month | MentionGroup::Week) => None,
        Some(MentionGroup::Language) => Some(SubjectKey::Code(k)),
        Some(_) => k.parse().ok().map(SubjectKey::Id),
    }
}

/// The rollups' rows for the covered buckets: subject key, bucket (when
/// `by_bucket`), count.
pub(super) async fn rows(
    db: &impl ConnectionTrait,
    grain: Grain,
    subject: Option<MentionGroup>,
    plan: &Plan,
    by_bucket: bool,
) -> AppResult<Vec<Row>> {
    let Some((lo, hi)) = &plan.covered else {
        return Ok(vec![]);
    };
    let (k, b) = (Alias::new("k"), Alias::new("bucket"));
    let mut s = Query::select();
    s.column(k.clone())
        .expr_as(Expr::cust("CAST(SUM(n) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new("stats_rollups"))
        .and_where(Expr::col(Alias::new("grain")).eq(grain.code()))
        .and_where(Expr::col(Alias::new("dim")).eq(dim(subject)))
        .group_by_col(k.clone());
    if let Some(lo) = lo {
        s.and_where(Expr::col(b.clone()).gte(lo.as_str()));
    }
    if let Some(hi) = hi {
        s.and_where(Expr::col(b.clone()).lt(hi.as_str()));
    }
    if !plan.stale.is_empty() {
        s.and_where(Expr::col(b.clone()).is_not_in(plan.stale.iter().map(String::as_str)));
    }
    if by_bucket {
        s.column(b.clone()).group_by_col(b);
    }
    let mut out = Vec::new();
    for row in db.query_all(&s).await? {
        let bucket = if by_bucket {
            Some(row.try_get::<String>("", "bucket")?)
        } else {
            None
        };
        let key = subject_key(subject, row.try_get::<String>("", "k")?);
        out.push((key, bucket, row.try_get::<i64>("", "n")?));
    }
    Ok(out)
}

/// How many published articles the covered buckets hold.
pub(super) async fn total(db: &impl ConnectionTrait, grain: Grain, plan: &Plan) -> AppResult<i64> {
    Ok(rows(db, grain, None, plan, false)
        .await?
        .iter()
        .map(|(_, _, n)| n)
        .sum())
}

/// What the rollups count that the public may not see yet: the published
/// articles of the covered buckets whose publish time is ahead, as negative
/// rows, and their number.
pub(super) async fn ahead(
    db: &impl ConnectionTrait,
    grain: Grain,
    subject: Option<MentionGroup>,
    plan: &Plan,
    by_bucket: bool,
) -> AppResult<(Vec<Row>, i64)> {
    let articles: Vec<article::Model> = article::Entity::find()
        .filter(article::Column::Status.eq(ArticleStatus::Published.as_str()))
        .filter(article::Column::PublishAt.gt(super::super::now()))
        .all(db)
        .await?
        .into_iter()
        .filter(|a| plan.reads(&grain.bucket_of(a.published_at)))
        .collect();
    if articles.is_empty() {
        return Ok((vec![], 0));
    }
    let ids: Vec<i32> = articles.iter().map(|a| a.id).collect();
    let links: Vec<(i32, i32)> = match subject {
        Some(MentionGroup::Expert) => article_expert::Entity::find()
            .filter(article_expert::Column::ArticleId.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.article_id, l.expert_id))
            .collect(),
        Some(MentionGroup::Topic) => article_topic::Entity::find()
            .filter(article_topic::Column::ArticleId.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.article_id, l.topic_id))
            .collect(),
        _ => vec![],
    };
    let mut out = Vec::new();
    for a in &articles {
        let bucket = by_bucket.then(|| grain.bucket_of(a.published_at));
        let keys: Vec<Option<SubjectKey>> = match subject {
            Some(MentionGroup::Expert | MentionGroup::Topic) => links
                .iter()
                .filter(|(article, _)| *article == a.id)
                .map(|(_, id)| Some(SubjectKey::Id(*id)))
                .collect(),
            Some(MentionGroup::Outlet) => vec![a.outlet_id.map(SubjectKey::Id)],
            Some(MentionGroup::Language) => vec![Some(SubjectKey::Code(a.language.clone()))],
            _ => vec![None],
        };
        for key in keys {
            if subject.is_some() && key.is_none() {
                continue;
            }
            out.push((key, bucket.clone(), -1));
        }
    }
    Ok((out, -(articles.len() as i64)))
}

/// The recount of one bucket (or, with `None`, of every bucket) of a grain:
/// one `SELECT grain, bucket, dim, k, n` per dimension.
fn recounts(backend: DbBackend, grain: Grain, bucket: Option<&str>) -> Vec<SelectStatement> {
    let published = ArticleStatus::Published.as_str();
    let span = bucket.and_then(|b| grain.span(b));
    let period = match grain {
        Grain::Month => MentionGroup::Month,
        Grain::Week => MentionGroup::Week,
    };
    let text = |e: &str| Expr::cust(format!("CAST({e} AS TEXT)"));
    let mut out = Vec::new();
    for (dim, table, key) in [
        ("all", "articles", None),
        ("outlet", "articles", Some("outlet_id")),
        ("language", "articles", Some("language")),
        ("expert", "article_experts", Some("expert_id")),
        ("topic", "article_topics", Some("topic_id")),
    ] {
        let t = Alias::new(table);
        let mut s = Query::select();
        let bucket_expr = match (bucket, span) {
            // Trusted: a name that parsed as a bucket, written back by us.
            (Some(_), Some((start, _))) => Expr::cust(format!("'{}'", grain.bucket_of(start))),
            _ => super::bucket(backend, period, table),
        };
        s.expr_as(
            Expr::cust(format!("'{}'", grain.code())),
            Alias::new("grain"),
        )
        .expr_as(bucket_expr.clone(), Alias::new("bucket"))
        .expr_as(Expr::cust(format!("'{dim}'")), Alias::new("dim"));
        let key_col = key.map(|k| Expr::col((t.clone(), Alias::new(k))));
        match &key_col {
            Some(_) => s.expr_as(
                text(&format!("\"{table}\".\"{}\"", key.unwrap_or_default())),
                Alias::new("k"),
            ),
            None => s.expr_as(Expr::cust("''"), Alias::new("k")),
        };
        s.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
            .from(t.clone());
        let date = Expr::col((t.clone(), Alias::new("published_at")));
        if let Some((start, end)) = span {
            s.and_where(date.clone().gte(start)).and_where(date.lt(end));
        }
        if table == "articles" {
            s.and_where(Expr::col((t.clone(), Alias::new("status"))).eq(published));
        } else {
            // Links of articles not published: the same range's, few.
            let mut hidden = Query::select();
            hidden
                .column((article::Entity, article::Column::Id))
                .from(article::Entity)
                .and_where(Expr::col((article::Entity, article::Column::Status)).ne(published));
            if let Some((start, end)) = span {
                let d = Expr::col((article::Entity, article::Column::PublishedAt));
                hidden.and_where(d.clone().gte(start)).and_where(d.lt(end));
            }
            s.and_where(Expr::col((t.clone(), Alias::new("article_id"))).not_in_subquery(hidden));
        }
        if let Some(k) = key_col {
            if key == Some("outlet_id") {
                s.and_where(k.clone().is_not_null());
            }
            s.add_group_by([k]);
        } else {
            // Constant in the rows kept: makes the count one row per bucket
            // and none for an empty one.
            s.add_group_by([Expr::col((t.clone(), Alias::new("status")))]);
        }
        if bucket.is_none() {
            s.add_group_by([bucket_expr]);
        }
        out.push(s);
    }
    out
}

/// Recounts one stale bucket (one transaction) after the marks it read, and
/// drops those marks. Returns false when nothing was stale or another node is
/// recounting.
async fn refresh_one(db: &DatabaseConnection) -> AppResult<bool> {
    let backend = db.get_database_backend();
    let txn = super::super::begin_write(db).await?;
    if backend == DbBackend::Postgres {
        // One recount at a time across nodes; a busy one is left to the other.
        let got = txn
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT pg_try_advisory_xact_lock(7302250617) AS got",
            ))
            .await?
            .map(|r| r.try_get::<bool>("", "got"))
            .transpose()?
            .unwrap_or(false);
        if !got {
            txn.rollback().await?;
            return Ok(false);
        }
    }
    let dirty = Alias::new("stats_dirty");
    let (grain_col, bucket_col, tx_col) =
        (Alias::new("grain"), Alias::new("bucket"), Alias::new("tx"));
    let mut first = Query::select();
    first
        .columns([grain_col.clone(), bucket_col.clone()])
        .from(dirty.clone())
        .order_by(grain_col.clone(), sea_orm::Order::Asc)
        .order_by(bucket_col.clone(), sea_orm::Order::Asc)
        .limit(1);
    let Some(row) = txn.query_one(&first).await? else {
        txn.commit().await?;
        return Ok(false);
    };
    let code: String = row.try_get("", "grain")?;
    let bucket: String = row.try_get("", "bucket")?;
    // The marks seen now: a writer still running keeps its own, so its bucket
    // stays stale until it is recounted again.
    let mut marks = Query::select();
    marks
        .column(tx_col.clone())
        .from(dirty.clone())
        .and_where(Expr::col(grain_col.clone()).eq(code.as_str()))
        .and_where(Expr::col(bucket_col.clone()).eq(bucket.as_str()));
    let mut seen = Vec::new();
    for r in txn.query_all(&marks).await? {
        seen.push(r.try_get::<i64>("", "tx")?);
    }
    if let Some(grain) = Grain::from_code(&code)
        && grain.span(&bucket).is_some()
    {
        let mut clear = Query::delete();
        clear
            .from_table(Alias::new("stats_rollups"))
            .and_where(Expr::col(grain_col.clone()).eq(grain.code()))
            .and_where(Expr::col(bucket_col.clone()).eq(bucket.as_str()));
        txn.execute(&clear).await?;
        for select in recounts(backend, grain, Some(&bucket)) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("stats_rollups"))
                .columns(["grain", "bucket", "dim", "k", "n"].map(Alias::new))
                .select_from(select)
                .map_err(|e| crate::error::AppError::Internal(e.into()))?;
            txn.execute(&insert).await?;
        }
    }
    let mut done = Query::delete();
    done.from_table(dirty)
        .and_where(Expr::col(grain_col).eq(code.as_str()))
        .and_where(Expr::col(bucket_col).eq(bucket.as_str()))
        .and_where(Expr::col(tx_col).is_in(seen));
    txn.execute(&done).await?;
    txn.commit().await?;
    Ok(true)
}

/// Recounts every stale bucket, one transaction each (a writer waits for one
/// bucket's recount at most). Returns how many it recounted.
pub async fn refresh(db: &DatabaseConnection) -> AppResult<usize> {
    // Nothing stale (the usual case): one read, no write transaction (on
    // SQLite, no turn of the one write lock).
    let mut any = Query::select();
    any.expr(Expr::val(1))
        .from(Alias::new("stats_dirty"))
        .limit(1);
    if db.query_one(&any).await?.is_none() {
        return Ok(0);
    }
    let mut n = 0;
    while refresh_one(db).await? {
        n += 1;
    }
    Ok(n)
}

/// Recounts stale buckets for as long as the server runs: at start, after
/// this process's content commits, when another node's write is heard, and at
/// least every minute (a CLI import on SQLite).
pub async fn run_refresher(
    db: DatabaseConnection,
    stamps: std::sync::Arc<super::super::content::StampWatch>,
) {
    let commits = super::super::content::LocalCommits::of(&db);
    loop {
        let committed = commits.next_commit();
        if let Err(e) = refresh(&db).await {
            tracing::warn!(error = %e, "the statistics' rollups were not recounted; retrying");
        }
        tokio::select! {
            () = committed => {}
            () = stamps.next_heard() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
        }
        // A burst of writes is recounted once.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The rollups that differ from a recount of the tables (none when they are
/// right): for tests, with no bucket stale.
pub async fn verify(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    let backend = db.get_database_backend();
    type Entry = (String, String, String, String, i64);
    let read = |row: sea_orm::QueryResult| -> AppResult<Entry> {
        Ok((
            row.try_get("", "grain")?,
            row.try_get("", "bucket")?,
            row.try_get("", "dim")?,
            row.try_get("", "k")?,
            row.try_get("", "n")?,
        ))
    };
    let mut want = HashSet::new();
    for grain in [Grain::Month, Grain::Week] {
        for s in recounts(backend, grain, None) {
            for row in db.query_all(&s).await? {
                want.insert(read(row)?);
            }
        }
    }
    let mut s = Query::select();
    s.columns(["grain", "bucket", "dim", "k", "n"].map(Alias::new))
        .from(Alias::new("stats_rollups"));
    let mut have = HashSet::new();
    for row in db.query_all(&s).await? {
        have.insert(read(row)?);
    }
    let mut out: Vec<String> = want
        .difference(&have)
        .map(|e| format!("missing {e:?}"))
        .chain(have.difference(&want).map(|e| format!("wrong {e:?}")))
        .collect();
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn buckets_are_named_as_the_sql_names_them() {
        assert_eq!(Grain::Month.bucket_of(t("2024-12-31T23:59:59Z")), "2024-12");
        // 2024-12-30 is the Monday of ISO week 2025-W01.
        assert_eq!(
            Grain::Week.bucket_of(t("2025-01-05T12:00:00Z")),
            "2024-12-30"
        );
        assert_eq!(
            Grain::Week.span("2024-12-30"),
            Some((t("2024-12-30T00:00:00Z"), t("2025-01-06T00:00:00Z")))
        );
        assert_eq!(Grain::Week.span("2024-12-31"), None, "not a Monday");
        assert_eq!(
            Grain::Month.span("2024-12"),
            Some((t("2024-12-01T00:00:00Z"), t("2025-01-01T00:00:00Z")))
        );
    }

    #[test]
    fn a_range_reads_whole_fresh_buckets_from_the_rollups_and_the_rest_from_the_tables() {
        let range = Span {
            from: Some(t("2024-01-15T00:00:00Z")),
            to: Some(t("2024-06-10T00:00:00Z")),
        };
        let p = plan(Grain::Month, range, &["2024-03".into(), "2023-01".into()]);
        assert_eq!(
            p.covered,
            Some((Some("2024-02".into()), Some("2024-06".into())))
        );
        assert_eq!(p.stale, vec!["2024-03".to_owned()]);
        assert_eq!(
            p.raw,
            vec![
                Span {
                    from: range.from,
                    to: Some(t("2024-02-01T00:00:00Z"))
                },
                Span {
                    from: Some(t("2024-06-01T00:00:00Z")),
                    to: range.to
                },
                Span {
                    from: Some(t("2024-03-01T00:00:00Z")),
                    to: Some(t("2024-04-01T00:00:00Z"))
                },
            ]
        );
        assert!(p.reads("2024-05") && !p.reads("2024-03") && !p.reads("2024-06"));
        // Within one bucket: all from the tables.
        let short = Span {
            from: Some(t("2024-01-15T00:00:00Z")),
            to: Some(t("2024-01-20T00:00:00Z")),
        };
        assert_eq!(plan(Grain::Month, short, &[]).raw, vec![short]);
        // Open ends: every fresh bucket.
        let all = plan(Grain::Week, Span::default(), &[]);
        assert_eq!(all.covered, Some((None, None)));
        assert!(all.raw.is_empty());
    }
}
