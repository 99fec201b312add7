//! Full-text search over articles, in each database's own engine: an FTS5 table
//! on SQLite, a GIN-indexed tsvector table on PostgreSQL. Both hold text that the
//! service layer has already folded (lowercase, accents removed), so matching
//! behaves the same on both. This is the one migration that needs engine-specific
//! SQL: neither FTS5 nor tsvector can be expressed with the sea-query builder.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                // rowid = articles.id; `title` is weighted above `rest` when ranking.
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE article_search USING fts5(title, rest, tokenize = 'unicode61 remove_diacritics 2')",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TABLE article_search (
                        article_id integer PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
                        tsv tsvector NOT NULL
                    )",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_article_search_tsv ON article_search USING GIN (tsv)",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS article_search")
            .await?;
        Ok(())
    }
}
