//! The global content version: every write bumps it inside its own transaction, so
//! ETags derived from it change on every node that shares the database.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::entities::content_state;
use crate::error::AppResult;

/// Records that content changed. Call inside the writing transaction.
pub async fn bump(db: &impl ConnectionTrait) -> AppResult<()> {
    let now = super::now();
    let stmt = Query::insert()
        .into_table(content_state::Entity)
        .columns([
            content_state::Column::Id,
            content_state::Column::Version,
            content_state::Column::UpdatedAt,
        ])
        .values_panic([1.into(), 1i64.into(), now.into()])
        .on_conflict(
            OnConflict::column(content_state::Column::Id)
                .value(
                    content_state::Column::Version,
                    Expr::col((content_state::Entity, content_state::Column::Version)).add(1),
                )
                .value(content_state::Column::UpdatedAt, now)
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// What cached public reads depend on: the content version, when it changed, and
/// the two ways the public view changes with the passage of time alone: the
/// latest scheduled publication that has come due, and the latest event start
/// that has passed (`upcoming` listings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub version: i64,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_due: Option<chrono::DateTime<chrono::Utc>>,
    pub last_started: Option<chrono::DateTime<chrono::Utc>>,
}

impl Stamp {
    /// When the public view of the content last changed.
    pub fn last_modified(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        [self.changed_at, self.last_due, self.last_started]
            .into_iter()
            .flatten()
            .max()
    }

    /// A short value that changes whenever the stamp does.
    pub fn key(&self) -> [i64; 3] {
        [
            self.version,
            self.last_due.map_or(0, |t| t.timestamp_micros()),
            self.last_started.map_or(0, |t| t.timestamp_micros()),
        ]
    }
}

/// Reads the stamp in one statement (three indexed single-row lookups).
pub async fn stamp(db: &impl ConnectionTrait) -> AppResult<Stamp> {
    use sea_orm::{Statement, TryGetable};
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "SELECT (SELECT version FROM content_state WHERE id = 1) AS v, \
                    (SELECT updated_at FROM content_state WHERE id = 1) AS c, \
                    (SELECT MAX(publish_at) FROM articles WHERE publish_at <= $1) AS d, \
                    (SELECT MAX(starts_at) FROM events WHERE starts_at <= $1) AS s"
        }
        _ => {
            "SELECT (SELECT version FROM content_state WHERE id = 1) AS v, \
                    (SELECT updated_at FROM content_state WHERE id = 1) AS c, \
                    (SELECT MAX(publish_at) FROM articles WHERE publish_at <= ?1) AS d, \
                    (SELECT MAX(starts_at) FROM events WHERE starts_at <= ?1) AS s"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [super::now().into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Stamp {
            version: 0,
            changed_at: None,
            last_due: None,
            last_started: None,
        });
    };
    type Ts = Option<chrono::DateTime<chrono::Utc>>;
    let get_ts = |col: &str| -> Ts { Ts::try_get(&row, "", col).ok().flatten() };
    Ok(Stamp {
        version: Option::<i64>::try_get(&row, "", "v")
            .ok()
            .flatten()
            .unwrap_or(0),
        changed_at: get_ts("c"),
        last_due: get_ts("d"),
        last_started: get_ts("s"),
    })
}
