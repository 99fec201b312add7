//! Rollups for the coverage statistics (`services::stats`): per calendar month
//! and per ISO week, the published articles counted by outlet, language, expert
//! and topic (and in all), so a year's grouping reads a few hundred rows
//! instead of every mention of the year.
//!
//! Which buckets a write made stale is kept by the database itself, so that no
//! write path can forget it: triggers on `articles`, `article_experts` and
//! `article_topics` add the month and week of every row they insert, delete or
//! change (before and after) to `stats_dirty`. Statistics read a stale bucket
//! from the tables themselves until `services::stats::refresh` has recounted
//! it. A mark is keyed by its transaction on PostgreSQL (`txid_current()`), so
//! concurrent writers never wait on one another's marks and a refresh deletes
//! only the marks it saw (a writer still running keeps its own); on SQLite,
//! where writers take turns, it is 0.
//!
//! Triggers are the one part written as SQL text: sea-query has no builder for
//! them. Every existing bucket starts stale; the server's refresh fills them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StatsRollups {
    Table,
    Grain,
    Bucket,
    Dim,
    K,
    N,
}

#[derive(DeriveIden)]
enum StatsDirty {
    Table,
    Grain,
    Bucket,
    Tx,
}

/// The tables whose rows are counted, with the columns whose change moves a
/// count (all of them for the link tables).
const WATCHED: [(&str, &str); 3] = [
    ("articles", "published_at, status, outlet_id, language"),
    ("article_experts", "published_at, article_id, expert_id"),
    ("article_topics", "published_at, article_id, topic_id"),
];

fn sqlite_marks(row: &str) -> String {
    format!(
        "INSERT OR IGNORE INTO stats_dirty (grain, bucket, tx) VALUES \
         ('m', strftime('%Y-%m', {row}.published_at), 0), \
         ('w', date({row}.published_at, 'weekday 0', '-6 days'), 0);"
    )
}

fn sqlite_up() -> Vec<String> {
    let mut out = Vec::new();
    for (table, cols) in WATCHED {
        out.push(format!(
            "CREATE TRIGGER stats_{table}_ins AFTER INSERT ON {table} BEGIN {} END",
            sqlite_marks("NEW")
        ));
        out.push(format!(
            "CREATE TRIGGER stats_{table}_del AFTER DELETE ON {table} BEGIN {} END",
            sqlite_marks("OLD")
        ));
        out.push(format!(
            "CREATE TRIGGER stats_{table}_upd AFTER UPDATE OF {cols} ON {table} BEGIN {} {} END",
            sqlite_marks("OLD"),
            sqlite_marks("NEW")
        ));
    }
    out
}

/// The marks of the rows of `rows` (a transition table), one per bucket.
fn pg_marks(rows: &str) -> String {
    format!(
        "SELECT v.g, v.b, txid_current() FROM {rows} r, LATERAL (VALUES \
         ('m', to_char(r.published_at AT TIME ZONE 'UTC', 'YYYY-MM')), \
         ('w', to_char(date_trunc('week', r.published_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'))) v(g, b)"
    )
}

fn pg_up() -> Vec<String> {
    let insert = "INSERT INTO stats_dirty (grain, bucket, tx)";
    let conflict = "ON CONFLICT DO NOTHING";
    let mut out = vec![
        format!(
            "CREATE FUNCTION stats_mark_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             {insert} {} {conflict}; RETURN NULL; END $$",
            pg_marks("new_rows")
        ),
        format!(
            "CREATE FUNCTION stats_mark_old() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             {insert} {} {conflict}; RETURN NULL; END $$",
            pg_marks("old_rows")
        ),
    ];
    for (table, cols) in WATCHED {
        // Transition tables do not go with a column list: on `articles` the
        // function keeps the rows whose counted columns changed; on the link
        // tables every column counts.
        let (old, new) = if table == "articles" {
            let o = format!("o.{}", cols.replace(", ", ", o."));
            let n = format!("n.{}", cols.replace(", ", ", n."));
            let changed = |side: &str| {
                format!(
                    "(SELECT {side}.* FROM old_rows o JOIN new_rows n ON o.id = n.id \
                     WHERE ({o}) IS DISTINCT FROM ({n}))"
                )
            };
            (pg_marks(&changed("o")), pg_marks(&changed("n")))
        } else {
            (pg_marks("old_rows"), pg_marks("new_rows"))
        };
        out.push(format!(
            "CREATE FUNCTION stats_mark_{table}_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             {insert} {old} UNION {new} {conflict}; RETURN NULL; END $$"
        ));
        out.push(format!(
            "CREATE TRIGGER stats_{table}_ins AFTER INSERT ON {table} \
             REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_new()"
        ));
        out.push(format!(
            "CREATE TRIGGER stats_{table}_del AFTER DELETE ON {table} \
             REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_old()"
        ));
        out.push(format!(
            "CREATE TRIGGER stats_{table}_upd AFTER UPDATE ON {table} \
             REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
             FOR EACH STATEMENT EXECUTE FUNCTION stats_mark_{table}_upd()"
        ));
    }
    out
}

/// Every bucket that holds an article starts stale.
fn initial_marks(backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "INSERT INTO stats_dirty (grain, bucket, tx) SELECT DISTINCT g, b, 0 FROM ({}) AS m(g, b, t)",
            pg_marks("articles")
        ),
        _ => "INSERT OR IGNORE INTO stats_dirty (grain, bucket, tx) \
              SELECT DISTINCT 'm', strftime('%Y-%m', published_at), 0 FROM articles \
              UNION SELECT DISTINCT 'w', date(published_at, 'weekday 0', '-6 days'), 0 FROM articles"
            .into(),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(StatsRollups::Table)
                .col(ColumnDef::new(StatsRollups::Grain).string().not_null())
                .col(ColumnDef::new(StatsRollups::Bucket).string().not_null())
                .col(ColumnDef::new(StatsRollups::Dim).string().not_null())
                .col(ColumnDef::new(StatsRollups::K).string().not_null())
                .col(ColumnDef::new(StatsRollups::N).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(StatsRollups::Grain)
                        .col(StatsRollups::Dim)
                        .col(StatsRollups::Bucket)
                        .col(StatsRollups::K),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(StatsDirty::Table)
                .col(ColumnDef::new(StatsDirty::Grain).string().not_null())
                .col(ColumnDef::new(StatsDirty::Bucket).string().not_null())
                .col(ColumnDef::new(StatsDirty::Tx).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(StatsDirty::Grain)
                        .col(StatsDirty::Bucket)
                        .col(StatsDirty::Tx),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = m.get_database_backend();
        let statements = match backend {
            DbBackend::Postgres => pg_up(),
            _ => sqlite_up(),
        };
        for s in statements {
            db.execute_unprepared(&s).await?;
        }
        db.execute_unprepared(&initial_marks(backend)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (table, _) in WATCHED {
            for op in ["ins", "del", "upd"] {
                let on = if m.get_database_backend() == DbBackend::Postgres {
                    format!(" ON {table}")
                } else {
                    String::new()
                };
                db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS stats_{table}_{op}{on}"))
                    .await?;
            }
            if m.get_database_backend() == DbBackend::Postgres {
                db.execute_unprepared(&format!("DROP FUNCTION IF EXISTS stats_mark_{table}_upd()"))
                    .await?;
            }
        }
        if m.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP FUNCTION IF EXISTS stats_mark_new(), stats_mark_old()")
                .await?;
        }
        m.drop_table(Table::drop().table(StatsDirty::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(StatsRollups::Table).to_owned())
            .await
    }
}
