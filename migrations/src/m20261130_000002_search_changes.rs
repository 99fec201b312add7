//! The search change log: `services::search` appends the ids of the articles
//! whose search documents it changed, in the writing transaction, and each
//! server's derived relevance index (`services::search_index`) tails it. Rows
//! are kept a day (`changed_at`, seconds since the epoch).
//!
//! Engine-specific SQL: SQLite needs `AUTOINCREMENT` so that a sequence number is
//! never reused after a prune; PostgreSQL records the writing transaction's id
//! (`txid`), because sequence numbers there are drawn before commit and may
//! become visible out of order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DbBackend::Sqlite => &[
                "CREATE TABLE search_changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    article_id INTEGER NOT NULL,
                    txid BIGINT,
                    changed_at BIGINT NOT NULL
                )",
                "CREATE INDEX idx_search_changes_changed_at ON search_changes (changed_at)",
            ],
            _ => &[
                "CREATE TABLE search_changes (
                    seq BIGSERIAL PRIMARY KEY,
                    article_id INTEGER NOT NULL,
                    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
                    changed_at BIGINT NOT NULL
                )",
                "CREATE INDEX idx_search_changes_txid ON search_changes (txid)",
                "CREATE INDEX idx_search_changes_changed_at ON search_changes (changed_at)",
            ],
        };
        for s in statements {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS search_changes")
            .await?;
        Ok(())
    }
}
