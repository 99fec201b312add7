//! Indexes for the coverage statistics (`services::stats`): each grouping over a
//! date range is one range scan of an index that holds every column it reads
//! (articles: date, visibility, outlet, language; the link tables: date, key,
//! article), so no article row is read for it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str, &[&str]); 3] = [
    (
        "idx_articles_stats",
        "articles",
        &[
            "published_at",
            "status",
            "publish_at",
            "outlet_id",
            "language",
            "id",
        ],
    ),
    (
        "idx_article_experts_published",
        "article_experts",
        &["published_at", "expert_id", "article_id"],
    ),
    (
        "idx_article_topics_published",
        "article_topics",
        &["published_at", "topic_id", "article_id"],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, cols) in INDEXES {
            let mut idx = Index::create();
            idx.name(name).table(Alias::new(table));
            for c in cols {
                idx.col(Alias::new(*c));
            }
            m.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in INDEXES {
            let mut idx = Index::drop();
            idx.name(name).table(Alias::new(table));
            m.drop_index(idx).await?;
        }
        Ok(())
    }
}
